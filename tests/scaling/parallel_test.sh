#!/usr/bin/env bash
# The GNU parallel recipe of docs/ANALYSIS.md over simulated sessions, by index and by size: the shards merged
# with `glutescope cohort` must be the same bytes as one `glutescope analyze` run.
# Usage: parallel_test.sh /path/to/glutescope [sessions] [shards]
set -euo pipefail
G=${1:?usage: parallel_test.sh /path/to/glutescope [sessions] [shards]}
SESSIONS=${2:-20}
SHARDS=${3:-8}
HERE=$(cd "$(dirname "$0")" && pwd)
command -v parallel >/dev/null || { echo "FAIL: GNU parallel not installed (tools/install-deps.sh)" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/glutescope-parallel.XXXXXX")
trap 'rm -rf "$T"' EXIT
START=$(date +%s)
bash "$HERE/make_cohort.sh" "$G" "$T/cohort" "$SESSIONS"
ls "$T"/cohort/*.h5 | grep -v '\.analysis\.h5$' >"$T/list"
"$G" analyze $(cat "$T/list") --summary "$T/single.csv" >/dev/null
for by in index size; do
  "$G" analyze $(cat "$T/list") --shard-by "$by" --summary "$T/single-$by.csv" >/dev/null
  # The recipe, as documented (one shard per job slot, two at a time on this machine).
  parallel --will-cite -j 2 "$G" analyze $(cat "$T/list") --shard {}/"$SHARDS" --shard-by "$by" \
    --summary "$T/s-$by-{}.csv" '>/dev/null' ::: $(seq 1 "$SHARDS")
  "$G" cohort "$T"/s-"$by"-*.csv --summary "$T/merged-$by.csv"
  cmp "$T/single-$by.csv" "$T/merged-$by.csv" || { echo "FAIL: merged shards by $by differ from one run" >&2; exit 1; }
done
cmp "$T/single.csv" "$T/merged-index.csv"
echo "PASS: $SESSIONS sessions, $SHARDS GNU parallel shards by index and by size, merged identical to one run;" \
  "$(($(date +%s) - START)) s"
