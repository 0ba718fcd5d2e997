#!/bin/sh
# ctest fuzz_fork_collect: run_fuzzer.sh's fork mode keeps every job's report and input when the kernel gives
# a later job the PID of one that crashed (a long run starts more processes than there are PIDs), and a run
# stopped with TERM still triages what it collected. Needs no clang build: FUZZER below stands for
# libFuzzer's fork mode and writes what crashing jobs write (a sanitizer report at ASan's log_path.PID, the
# input left at GLUTESCOPE_FUZZ_TMP/session_fuzz_PID.h5), under a PID no process can have (above Linux's
# PID_MAX_LIMIT of 2^22), twice:
#   job 1 crashes inside libhdf5 (a kept KNOWN report), job 2, with the same PID once job 1's report has
#   been moved away (or after 20 s), is a finding with an input of its own. Before, job 2's report
#   overwrote job 1's: one report, not two.
# It also leaves an input without a report (an out-of-memory job), which must be gone before the run ends,
# then waits to be stopped: run_fuzzer.sh gets TERM and must still end with job 2 as its finding.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
status=0
fail() { echo "fuzz_fork_collect: $*"; status=1; }

mkdir "$dir/seeds"
printf 'seed' >"$dir/seeds/seed"
cat >"$dir/fuzzer" <<'EOF'
#!/bin/sh
# Run alone on one input (run_fuzzer.sh does so with a finding's input): "crashes" again.
case "$*" in *-fork=*) ;; *) echo "fake fuzzer: crashed again"; exit 1 ;; esac
reports=$(echo "$ASAN_OPTIONS" | tr ':' '\n' | sed -n 's/^log_path=//p' | tail -n 1)
pid=4999999
trap 'echo "#40: cov: 1 ft: 1 corp: 1 exec/s 10 oom/timeout/crash: 0/0/2 time: 9s job: 3 dft_time: 0"; exit 0' TERM
echo "#20: cov: 1 ft: 1 corp: 1 exec/s 10 oom/timeout/crash: 0/0/0 time: 1s job: 1 dft_time: 0"
# gone FILE: waits (at most 20 s) until run_fuzzer.sh has moved FILE away; a later job with the same PID then
# writes its own. (Without the collector the report stays, and job 2 overwrites it after the 20 s.)
gone() { i=0; while [ -e "$1" ] && [ "$i" -lt 200 ]; do sleep 0.1; i=$((i + 1)); done; }
printf 'input of job 1' >"$GLUTESCOPE_FUZZ_TMP/session_fuzz_$pid.h5"
cp "$HERE/triage/known_segv_H5HG_read.txt" "$reports.$pid"
gone "$reports.$pid"
printf 'input of job 2' >"$GLUTESCOPE_FUZZ_TMP/session_fuzz_$pid.h5"
cp "$HERE/triage/finding_attribute_overread_via_reader.txt" "$reports.$pid"
printf 'input of an out-of-memory job' >"$GLUTESCOPE_FUZZ_TMP/session_fuzz_4999998.h5"
gone "$reports.$pid"
gone "$GLUTESCOPE_FUZZ_TMP/session_fuzz_4999998.h5"
[ -e "$GLUTESCOPE_FUZZ_TMP/session_fuzz_4999998.h5" ] && echo "fake fuzzer: the out-of-memory job's input is still there"
echo "#30: cov: 1 ft: 1 corp: 1 exec/s 10 oom/timeout/crash: 0/0/2 time: 7s job: 3 dft_time: 0"
i=0
while [ "$i" -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
echo "fake fuzzer: never stopped"
EOF
chmod +x "$dir/fuzzer"

HERE=$here GLUTESCOPE_FUZZ_JOBS=2 sh "$here/run_fuzzer.sh" "$dir/fuzzer" "$dir/seeds" "$dir/run" 600 libhdf5 \
  >"$dir/log" 2>&1 &
run=$!
# Stopped once the fake fuzzer has written both jobs and seen them collected (at most 60 s).
i=0
until grep -q '^#30: ' "$dir/run/log-fork.txt" 2>/dev/null || [ "$i" -ge 600 ]; do
  sleep 0.1
  i=$((i + 1))
done
kill -TERM "$run"
rc=0
wait "$run" || rc=$?
log=$(cat "$dir/log")
[ "$rc" -ne 0 ] || fail "the run passed with a finding in job 2"
grep -q 'never stopped' "$dir/run/log-fork.txt" && fail "TERM did not stop the fuzzer"
grep -q 'is still there' "$dir/run/log-fork.txt" && fail "an input without a report was not removed"
echo "$log" | grep -q 'run_fuzzer: .* 1 finding(s), 1 known libhdf5 reports, .* 2 job reports collected, libFuzzer counted 0/0/2 (oom/timeout/crash)' ||
  fail "expected 1 finding, 1 known report and 2 collected of 2 counted"
[ -f "$dir/run/known/job-1.4999999.txt" ] || fail "job 1's known report was not kept"
[ "$(cat "$dir/run/findings/job-2.4999999.input" 2>/dev/null)" = "input of job 2" ] ||
  fail "job 2's finding does not have its own input"
echo "$log" | grep -q 'job-2.4999999.input; alone (exit 1): FINDING' || fail "job 2's input was not run again alone"
if [ "$status" -ne 0 ]; then echo "$log" | tail -n 20; exit 1; fi
echo "fuzz_fork_collect: two crashes under one PID gave two reports, each with its own input; TERM ended the run with its triage"
