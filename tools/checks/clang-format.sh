#!/bin/sh
# The committed .clang-format over every tracked C/C++ file: clang-format --dry-run -Werror (no change made).
# usage: tools/checks/clang-format.sh        (from anywhere; a tree without git checks src/ tests/ tools/
#                                            firmware-protocol/ by name)
set -eu
cd "$(dirname "$0")/../.."
if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  git ls-files -z '*.c' '*.h' '*.cpp' '*.hpp' | xargs -0 clang-format --dry-run -Werror
else
  find src tests tools firmware-protocol -name '*.[ch]' -o -name '*.[ch]pp' | xargs clang-format --dry-run -Werror
fi
