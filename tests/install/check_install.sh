#!/bin/sh
# `cmake --install` into a fresh temporary prefix, then the installed binary does real work: its version,
# the default settings round trip through `config --config`, and an import with an installed montage file.
# usage: check_install.sh CMAKE BUILD_DIR SOURCE_DIR VERSION
set -eu
cmake=$1 build=$2 source=$3 version=$4
prefix=$(mktemp -d "${TMPDIR:-/tmp}/glutescope-install-XXXXXX")
trap 'rm -rf "$prefix"' EXIT
"$cmake" --install "$build" --prefix "$prefix" > "$prefix/install.log"
exe=$prefix/bin/glutescope
fail() { echo "check_install: $*" >&2; exit 1; }
[ -x "$exe" ] || fail "no $exe"
[ "$("$exe" --version)" = "glutescope $version" ] || fail "installed --version: $("$exe" --version)"
for doc in README.md LICENSE ARCHITECTURE.md SESSION_FORMAT.md; do
  [ -f "$prefix/share/doc/glutescope/$doc" ] || fail "missing share/doc/glutescope/$doc"
done
montages=$prefix/share/glutescope/montages
for m in montage-default.toml elderly_vl.montage.toml biosppy_emg.montage.toml; do
  [ -f "$montages/$m" ] || fail "missing $montages/$m"
done
"$exe" config --print-defaults > "$prefix/defaults.toml"
"$exe" config --config "$prefix/defaults.toml" | cmp -s - "$prefix/defaults.toml" || fail "config round trip"
"$exe" import --from-csv "$source/datasets/real/ID_1_EMG_VL_first_0.5s.csv" --montage "$montages/elderly_vl.montage.toml" \
  --rate 2000 --subject ID_1 --out "$prefix/vl.h5" > "$prefix/import.log" || fail "import: $(cat "$prefix/import.log")"
"$exe" info "$prefix/vl.h5" | grep -q "VL" || fail "info of the imported session does not list channel VL"
echo "check_install: ok ($prefix)"
