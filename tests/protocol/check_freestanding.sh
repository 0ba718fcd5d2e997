#!/bin/sh
# The codec must build as freestanding, pedantic C99 and need nothing from libc but memcpy/memset/memmove,
# so firmware (nRF52, ESP32; arm-none-eabi-gcc works the same way) can compile it unchanged.
# Usage: check_freestanding.sh <c-compiler> <glutescope_protocol.c> <work-dir>
set -eu
cc="$1"; src="$2"; work="$3"
mkdir -p "$work"
obj="$work/glutescope_protocol_freestanding.o"
"$cc" -std=c99 -pedantic -pedantic-errors -ffreestanding -fno-builtin -Wall -Wextra -Wconversion \
  -Wsign-conversion -Werror -O2 -c "$src" -o "$obj"
undefined=$(nm -u "$obj" | awk '{print $NF}' | sort -u)
bad=$(printf '%s\n' "$undefined" | grep -v -E '^(memcpy|memset|memmove)?$' || true)
if [ -n "$bad" ]; then
  echo "unexpected undefined symbols in the codec object:" >&2
  printf '%s\n' "$bad" >&2
  exit 1
fi
echo "freestanding C99 object OK; undefined: $(printf '%s ' $undefined)"
