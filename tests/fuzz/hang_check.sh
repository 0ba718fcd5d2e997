#!/bin/sh
# ctest fuzz_hang_catcher: the session_reader harness's hang limit (GLUTESCOPE_FUZZ_HANG_MS), end to end on
# the clang build, with run_fuzzer.sh's triage reading what it printed.
# 1. An endless loop inside libhdf5 (known_hdf5/global_heap_endless_loop) is stopped inside libhdf5 and
#    triaged as KNOWN.
# 2. A loop in the harness's own code (GLUTESCOPE_FUZZ_HANG_SELFTEST=1) is let run on once, past the limit,
#    then stopped in that code, and triaged as a FINDING.
# 4. A busy machine does not stop an input: the harness at nice 19 on one CPU beside three busy loops for 6 s
#    (the input it is in then takes hundreds of times its CPU time in wall-clock time, past ten times the
#    limit) is not stopped (before, a fork run beside a build had such an input stopped and reported).
# 5. An input that sleeps (GLUTESCOPE_FUZZ_HANG_SELFTEST=sleep: no CPU time, so only the wall-clock limit
#    sees it) is still stopped, after running on once, and triaged as a FINDING.
# 3. The same loop in run_fuzzer.sh's fork mode (GLUTESCOPE_FUZZ_JOBS=1, one seed, a few seconds): the run
#    fails, and each finding's report is kept with the input its process was stopped on (the seed, which the
#    first process reads first, or the empty input a job starts from) and the outcome of that input run
#    again alone (a FINDING again).
# 6. A stop that does not repeat alone is not a finding: GLUTESCOPE_FUZZ_HANG_SELFTEST=after-first spins on
#    every input but a process's first, so fork mode's jobs are stopped on their second input, and each such
#    input run again alone (its process's first) ends normally. The run passes, lists no finding, counts the
#    stops on its summary line and keeps each with its input in unrepeated/.
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

# stopped_in_harness MODE INPUT FUNCTION WHAT: GLUTESCOPE_FUZZ_HANG_SELFTEST=MODE on INPUT ends non-zero, with
# one line letting it run on and then the stop (in that order), FUNCTION in the stop's stack, and the triage
# says FINDING.
stopped_in_harness() {
  rc=0
  GLUTESCOPE_FUZZ_HANG_SELFTEST=$1 GLUTESCOPE_FUZZ_HANG_MS=100 "$fuzzer" "$2" >"$log" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] || fail "$4 ended with status 0"
  order=$(grep -o -E 'glutescope_fuzz: (past GLUTESCOPE_FUZZ_HANG_MS outside libhdf5|input ran longer)' "$log" | tr '\n' '|')
  [ "$order" = "glutescope_fuzz: past GLUTESCOPE_FUZZ_HANG_MS outside libhdf5|glutescope_fuzz: input ran longer|" ] ||
    fail "$4: expected one 'running on' line and then the stop, got '$order'"
  grep -q " in (anonymous namespace)::$3() " "$log" || fail "the stop's stack does not show $3 ($4)"
  got=$(sh "$here/run_fuzzer.sh" --triage libhdf5 "$log")
  [ "$got" = "FINDING" ] || fail "$4 triaged as '$got'"
}
stopped_in_harness 1 "$here/known_hdf5/global_heap_endless_loop" selftest_spin "the loop in the harness"

seed="$here/corpus/session_reader/imported_3_samples"
# The harness runs the seed over and over (no count: it is interrupted below); once it is running, three busy
# loops share CPU 0 with it for 6 s, so the input it is in is starved: at nice 19 it gets about 0.5 % of
# the CPU, and an input of 15 ms of CPU time takes about 3 s, past ten times the limit (2 s). Then it is
# interrupted (libFuzzer exits 72). Its own start is waited for (at most 60 s), not its end: beside other
# tests at nice 0 (ctest -j), a fixed number of inputs at nice 19 once took longer than the test's timeout.
# The limit is the long runs' 200 ms: beside a fork-mode run on both CPUs, memory traffic made this seed's
# inputs take 30-120 ms of CPU time (15 ms alone), so a 30-ms limit stopped them by CPU time.
GLUTESCOPE_FUZZ_HANG_MS=200 taskset -c 0 nice -n 19 "$fuzzer" -runs=100000000 "$seed" >"$log" 2>&1 &
harness=$!
waited=0
until grep -q '^Running: ' "$log" || [ "$waited" -ge 600 ] || ! kill -0 "$harness" 2>/dev/null; do
  sleep 0.1
  waited=$((waited + 1))
done
hogs=""
for _ in 1 2 3; do
  taskset -c 0 timeout 6 sh -c 'while :; do :; done' &
  hogs="$hogs $!"
done
for hog in $hogs; do wait "$hog" || true; done
kill -INT "$harness" 2>/dev/null || true
rc=0
wait "$harness" || rc=$?
[ "$rc" -eq 72 ] || fail "the harness starved of CPU time ended with status $rc before it was interrupted (72)"
if grep -q 'glutescope_fuzz:' "$log"; then fail "an input starved of CPU time met the hang limit"; fi

stopped_in_harness sleep "$seed" selftest_sleep "the sleeping input"

seed_dir=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -f "$log"; rm -rf "$seed_dir" "$work"' EXIT
cp "$here/known_hdf5/global_heap_endless_loop" "$seed_dir/seed"
rc=0
GLUTESCOPE_FUZZ_HANG_SELFTEST=1 GLUTESCOPE_FUZZ_HANG_MS=100 GLUTESCOPE_FUZZ_JOBS=1 \
  sh "$here/run_fuzzer.sh" "$fuzzer" "$seed_dir" "$work/run" 3 libhdf5 >"$log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "fork mode passed on a harness that loops in its own code"
reports=0 seeds_kept=0
for report in "$work"/run/findings/job-*[0-9].txt; do
  [ -e "$report" ] || continue
  reports=$((reports + 1))
  base=${report%.txt}
  [ -f "$base.input" ] || { fail "no input kept beside $(basename "$report")"; continue; }
  # The seed (the parent's first merge reads it), or the empty input a job starts from when the merge kept
  # nothing (the seed crashed it).
  if cmp -s "$base.input" "$seed_dir/seed"; then
    seeds_kept=$((seeds_kept + 1))
  elif [ -s "$base.input" ]; then
    fail "$(basename "$base").input is neither the seed nor the empty input"
  fi
  grep -q "$(basename "$base").input; alone (exit [1-9][0-9]*): FINDING" "$log" ||
    fail "no 'run again alone: FINDING' line for $(basename "$base")"
done
[ "$reports" -ge 1 ] || fail "fork mode kept no finding report"
[ "$seeds_kept" -ge 1 ] || fail "no finding kept the seed as its input"

# A valid seed this time (read in milliseconds): each job's first input ends normally.
rm -f "$seed_dir/seed"
cp "$seed" "$seed_dir/seed"
rc=0
GLUTESCOPE_FUZZ_HANG_SELFTEST=after-first GLUTESCOPE_FUZZ_HANG_MS=100 GLUTESCOPE_FUZZ_JOBS=1 \
  sh "$here/run_fuzzer.sh" "$fuzzer" "$seed_dir" "$work/unrepeated-run" 3 libhdf5 >"$log" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "fork mode failed on stops that do not repeat alone (status $rc)"
if grep -q 'run_fuzzer: FINDING' "$log"; then fail "a stop that did not repeat alone was listed as a finding"; fi
counted=$(sed -n -E 's/^run_fuzzer: .* 0 finding\(s\), .*; ([0-9]+) stop\(s\) not repeated alone$/\1/p' "$log")
[ "${counted:-0}" -ge 1 ] || fail "the summary line counted no stop that did not repeat alone"
unrepeated=0
for report in "$work"/unrepeated-run/unrepeated/job-*[0-9].txt; do
  [ -e "$report" ] || continue
  unrepeated=$((unrepeated + 1))
  base=${report%.txt}
  grep -q -E 'glutescope_fuzz: input ran longer| in glutescope_fuzz_hang_signal ' "$report" ||
    fail "$(basename "$report") is not a hang stop"
  [ -f "$base.input" ] || fail "no input kept beside unrepeated $(basename "$report")"
  grep -q "$(basename "$base").input; alone (exit 0): no fault" "$log" ||
    fail "no 'alone: no fault' line for $(basename "$base")"
done
[ "$unrepeated" -eq "${counted:-0}" ] || fail "$unrepeated unrepeated stops kept, the summary counted ${counted:-0}"

[ "$status" -eq 0 ] && echo "fuzz_hang_catcher: a loop in libhdf5 stopped at once (KNOWN), one in glutescope's code after running on (FINDING); inputs starved of CPU run to the end, a sleeping one is stopped (FINDING); fork mode kept $reports such report(s), each with its input; $unrepeated stop(s) that ended normally alone were kept apart, not findings"
exit "$status"
