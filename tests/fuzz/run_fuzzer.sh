#!/bin/sh
# run_fuzzer.sh FUZZER SEED_DIR WORK_DIR SECONDS [extra libFuzzer flags...]
# Runs one libFuzzer harness from a fresh copy of its committed seeds (the seeds are never modified),
# writes any crashing input to WORK_DIR/artifacts/, and exits non-zero on any finding (libFuzzer's own
# exit status: sanitizer report, crash, leak, per-input timeout of 10 s or out-of-memory above 2 GB).
set -eu
fuzzer=$1 seeds=$2 work=$3 seconds=$4
shift 4
[ -x "$fuzzer" ] || { echo "run_fuzzer: $fuzzer was not built (see the fuzz_build test)"; exit 1; }
[ -d "$seeds" ] || { echo "run_fuzzer: no seed corpus $seeds"; exit 1; }
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts" "$work/tmp"
# Harnesses that need a file (HDF5, EDFlib) write it under GLUTESCOPE_FUZZ_TMP: /dev/shm when present.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  GLUTESCOPE_FUZZ_TMP=$(mktemp -d /dev/shm/glutescope-fuzz.XXXXXX)
else
  GLUTESCOPE_FUZZ_TMP="$work/tmp"
fi
export GLUTESCOPE_FUZZ_TMP
trap 'rm -rf "$GLUTESCOPE_FUZZ_TMP"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$@" "$work/corpus" "$seeds" >"$work/log.txt" 2>&1 || status=$?
tail -n 25 "$work/log.txt"
if [ "$status" -ne 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
  echo "run_fuzzer: FINDING in $(basename "$fuzzer") (exit $status); inputs in $work/artifacts/, log $work/log.txt"
  exit 1
fi
