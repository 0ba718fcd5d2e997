#!/bin/sh
# run_fuzzer.sh FUZZER SEED_DIR WORK_DIR SECONDS [THIRD_PARTY_LIBRARY]
# Runs one libFuzzer harness for SECONDS from a fresh copy of its committed seeds (the seeds are never
# modified) and exits non-zero on any finding: sanitizer report, crash, leak, invariant failure, per-input
# timeout of 10 s, one allocation over 1 GB, or more than 2 GB in all. Crashing inputs stay in WORK_DIR/artifacts/.
#
# THIRD_PARTY_LIBRARY (e.g. libhdf5): a finding whose innermost frames (the first three of the report)
# are all inside that shared library is a bug of the library, which glutescope cannot fix but contains
# (docs/RELIABILITY.md "Fuzzing"): it is listed as KNOWN, kept in WORK_DIR/known/, and fuzzing resumes for
# the remaining time (at most 100 restarts). Every other finding fails the run; leaks inside that library are
# suppressed (LSan).
set -eu
fuzzer=$1 seeds=$2 work=$3 seconds=$4 third_party=${5:-}
[ -x "$fuzzer" ] || { echo "run_fuzzer: $fuzzer was not built (see the fuzz_build test)"; exit 1; }
[ -d "$seeds" ] || { echo "run_fuzzer: no seed corpus $seeds"; exit 1; }
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts" "$work/known" "$work/tmp"
# Harnesses that need a file (HDF5, EDFlib) write it under GLUTESCOPE_FUZZ_TMP: /dev/shm when present.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  GLUTESCOPE_FUZZ_TMP=$(mktemp -d /dev/shm/glutescope-fuzz.XXXXXX)
else
  GLUTESCOPE_FUZZ_TMP="$work/tmp"
fi
export GLUTESCOPE_FUZZ_TMP
trap 'rm -rf "$GLUTESCOPE_FUZZ_TMP"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
# A leak whose allocation stack runs through THIRD_PARTY is that library's (libhdf5 leaks on its own error
# paths, docs/RELIABILITY.md): suppressed, so it neither fails the run nor costs a restart. A leak of
# glutescope's own allocations has no such frame and still fails.
if [ -n "$third_party" ]; then
  echo "leak:$third_party" > "$work/lsan.supp"
  export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$work/lsan.supp:print_suppressions=0"
fi
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

start=$(date +%s)
runs=0
while :; do
  left=$((seconds - ($(date +%s) - start)))
  [ "$left" -gt 0 ] || break
  runs=$((runs + 1))
  status=0
  # -malloc_limit_mb below -rss_limit_mb: one allocation of a gigabyte is reported with its stack (so the
  # triage below can tell libhdf5's from glutescope's), where the RSS limit alone reports no stack at all.
  "$fuzzer" -max_total_time="$left" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" >"$work/log-$runs.txt" 2>&1 || status=$?
  finding=$(ls "$work/artifacts" | head -n 1)
  if [ "$status" -eq 0 ] && [ -z "$finding" ]; then break; fi
  if [ -n "$third_party" ] && [ -n "$finding" ]; then
    # Innermost three frames of the report, without the sanitizers' and libFuzzer's own (interceptors such
    # as __interceptor_memcpy or malloc for a leak; for a timeout, the alarm handler and libc's signal frame)
    # nor libc's (named by /libc.so, or by its source path, sysdeps/..., when libc's symbols resolve: a SEGV
    # inside memcpy called by libhdf5 was reported as glutescope's finding) nor zlib's (HDF5's deflate filter):
    # the frames that called them decide.
    frames=$(grep -E '^ +#[0-9]+ 0x' "$work/log-$runs.txt" |
             grep -v -E '__interceptor_|__asan|__sanitizer|fuzzer::|/libc\.so|sysdeps/|/libz\.so| in (malloc|calloc|realloc|free) ' |
             head -n 3)
    if [ -n "$frames" ] && ! echo "$frames" | grep -v -q "$third_party"; then
      kind=$(grep -m 1 -o -E 'ERROR: [A-Za-z]+: [a-z-]+' "$work/log-$runs.txt" || echo "crash")
      top=$(echo "$frames" | head -n 1 | sed -E 's/.* in ([^ ]+).*/\1/')
      echo "run_fuzzer: KNOWN $third_party bug ($kind in $top), input kept as $work/known/$finding"
      mv "$work/artifacts/$finding" "$work/known/"
      # Bounded by the time left (each restart costs start-up and seed loading) and by 100 restarts: past
      # that the run ends early, having found nothing of glutescope's, and says so below.
      [ "$runs" -lt 100 ] && continue
      echo "run_fuzzer: stopped early after $runs restarts on known $third_party bugs"
      break
    fi
  fi
  tail -n 40 "$work/log-$runs.txt"
  echo "run_fuzzer: FINDING in $(basename "$fuzzer") (exit $status); input $work/artifacts/$finding, log $work/log-$runs.txt"
  exit 1
done
grep -h -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$work"/log-*.txt | tail -n 2
echo "run_fuzzer: $(basename "$fuzzer"): no finding in $seconds s ($runs run(s), $(ls "$work/known" | wc -l) known third-party)"
