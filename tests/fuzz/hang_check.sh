#!/bin/sh
# ctest fuzz_hang_catcher: the session_reader harness's hang limit (GLUTESCOPE_FUZZ_HANG_MS), end to end on
# the clang build, with run_fuzzer.sh's triage reading what it printed.
# 1. An endless loop inside libhdf5 (known_hdf5/global_heap_endless_loop) is stopped inside libhdf5 and
#    triaged as KNOWN.
# 2. A loop in the harness's own code (GLUTESCOPE_FUZZ_HANG_SELFTEST=1) is let run on once, past the limit,
#    then stopped in that code, and triaged as a FINDING.
set -eu
fuzzer=$1
here=$(cd "$(dirname "$0")" && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
fail() { echo "fuzz_hang_catcher: $*"; sed -n '1,40p' "$log"; status=1; }

rc=0
GLUTESCOPE_FUZZ_HANG_MS=100 "$fuzzer" "$here/known_hdf5/global_heap_endless_loop" >"$log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "the endless loop in libhdf5 ended with status 0"
grep -q 'glutescope_fuzz: input ran longer than GLUTESCOPE_FUZZ_HANG_MS (hang)' "$log" ||
  fail "the endless loop in libhdf5 was not stopped by the hang limit"
got=$(sh "$here/run_fuzzer.sh" --triage libhdf5 "$log")
[ "$got" = "KNOWN hang in libhdf5_serial.so.103" ] || fail "libhdf5's loop triaged as '$got'"

rc=0
GLUTESCOPE_FUZZ_HANG_SELFTEST=1 GLUTESCOPE_FUZZ_HANG_MS=100 "$fuzzer" "$here/known_hdf5/global_heap_endless_loop" \
  >"$log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "the loop in the harness ended with status 0"
# One line letting it run on, then the stop; in that order.
order=$(grep -o -E 'glutescope_fuzz: (past GLUTESCOPE_FUZZ_HANG_MS outside libhdf5|input ran longer)' "$log" | tr '\n' '|')
[ "$order" = "glutescope_fuzz: past GLUTESCOPE_FUZZ_HANG_MS outside libhdf5|glutescope_fuzz: input ran longer|" ] ||
  fail "the loop in the harness: expected one 'running on' line and then the stop, got '$order'"
grep -q ' in (anonymous namespace)::selftest_spin() ' "$log" || fail "the stop's stack does not show the harness's loop"
got=$(sh "$here/run_fuzzer.sh" --triage libhdf5 "$log")
[ "$got" = "FINDING" ] || fail "the loop in the harness triaged as '$got'"

[ "$status" -eq 0 ] && echo "fuzz_hang_catcher: a loop in libhdf5 stopped at once (KNOWN), one in glutescope's code after running on (FINDING)"
exit "$status"
