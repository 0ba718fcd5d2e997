#!/bin/sh
# clang-tidy with the committed .clang-tidy over the project's C++ sources (docs/ARCHITECTURE.md, "Checks").
#
# usage: tools/checks/clang-tidy.sh BUILD_DIR [--all] [--analyzer]
#   default     the .cpp files changed by the last commit (git diff HEAD~1), as the test suite runs it
#   --all       every .cpp file in BUILD_DIR/compile_commands.json under src/, tools/ and tests/
#   --analyzer  also the clang-analyzer-* checks (about 4x the time of all other checks together: 23 of
#               30 CPU-seconds on src/pipeline/analysis_file.cpp), for the full run by hand
# Any warning fails (exit 1). Headers are checked through the sources that include them.
set -eu
build=$1
shift
all=0
checks=-clang-analyzer-*
for arg in "$@"; do
  case $arg in
    --all) all=1 ;;
    --analyzer) checks= ;;
    *) echo "clang-tidy.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
cd "$source_dir"
db=$build/compile_commands.json
[ -f "$db" ] || { echo "clang-tidy.sh: no $db (configure first)" >&2; exit 2; }
list=$(mktemp)
trap 'rm -f "$list"' EXIT
# The sources the build compiles (so every file has its flags), relative to the source folder.
sed -n 's/^ *"file": "\(.*\)",\{0,1\}$/\1/p' "$db" | sed "s|^$source_dir/||" | grep -E '^(src|tools|tests)/.*\.cpp$' |
  sort -u > "$list.db"
if [ "$all" -eq 1 ]; then
  cp "$list.db" "$list"
elif git rev-parse --verify -q HEAD~1 > /dev/null; then
  git diff --name-only --diff-filter=AM HEAD~1 -- '*.cpp' | sort -u | comm -12 - "$list.db" > "$list"
else
  : > "$list"  # a single-commit or non-git tree: nothing changed relative to a parent
fi
rm -f "$list.db"
count=$(wc -l < "$list")
echo "clang-tidy: $count file(s)${checks:+ (without clang-analyzer-*)}"
[ "$count" -eq 0 ] && exit 0
# Two jobs: the build machine has two cores. clang-tidy exits non-zero on any (error-promoted) warning.
out=$(mktemp)
trap 'rm -f "$list" "$out"' EXIT
status=0
xargs -P 2 -n 1 clang-tidy -p "$build" --quiet --warnings-as-errors='*' ${checks:+--checks=$checks} \
  < "$list" > "$out" 2>&1 || status=1
grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter' \
  "$out" || true
exit $status
