#!/bin/sh
# run_fuzzer.sh FUZZER SEED_DIR WORK_DIR SECONDS [THIRD_PARTY_LIBRARY]
# run_fuzzer.sh --triage THIRD_PARTY_LIBRARY REPORT...   (the triage below, alone)
# Runs one libFuzzer harness for SECONDS from a fresh copy of its committed seeds (the seeds are never
# modified) and exits non-zero on any finding: sanitizer report, crash, leak, invariant failure, per-input
# timeout of 10 s, one allocation over 1 GB, or more than 2 GB in all. Crashing inputs stay in WORK_DIR/artifacts/.
#
# THIRD_PARTY_LIBRARY (e.g. libhdf5): a finding whose innermost frames (the first three of the report)
# are all inside that shared library is a bug of the library, which glutescope cannot fix but contains
# (docs/RELIABILITY.md "Fuzzing"): it is listed as KNOWN, kept in WORK_DIR/known/, and fuzzing resumes for
# the remaining time (at most 100 restarts). Every other finding fails the run; leaks inside that library are
# suppressed (LSan). Harnesses that read GLUTESCOPE_FUZZ_HANG_MS (session_reader) stop an input that runs
# longer than that many milliseconds (default here 500 with THIRD_PARTY) inside the library with its stack,
# so an endless loop there costs a fraction of a second instead of the 10-s timeout; an input past the limit
# outside the library is let run to ten times it before it is stopped (a hang of glutescope's is a finding).
#
# GLUTESCOPE_FUZZ_JOBS=N (long runs): libFuzzer's fork mode with N jobs (GLUTESCOPE_FUZZ_FLAGS: more libFuzzer
# options for it), which keeps fuzzing past every crash, hang and out-of-memory instead of restarting; every
# job's sanitizer report is collected while the run goes on and triaged as above (an out-of-memory or
# timeout without one: its input run again alone). The run fails if any is glutescope's: each such report is
# kept in WORK_DIR/findings/ with the input its process crashed on (file harnesses) and the outcome of that
# input run again alone; a stop by the hang limit counts only if it repeats alone (else it is kept in
# WORK_DIR/unrepeated/ and counted on the summary line), and one that alone is stopped inside the third-party
# library counts as known. The inputs of known faults are deleted, and the
# first report of each kind is kept.
set -eu

# is_hang_stop REPORT: the report is the harness's hang limit stopping an input (not a sanitizer's crash).
is_hang_stop() {
  grep -q -E 'glutescope_fuzz: input ran longer| in glutescope_fuzz_hang_signal ' "$1"
}

# known_third_party LOG: prints "KIND in FRAME" and succeeds when the report in LOG is the third-party
# library's: its innermost three frames, without the sanitizers' and libFuzzer's own (interceptors such as
# __interceptor_memcpy or malloc for a leak; for a timeout, the alarm handler and libc's signal frame) nor
# libc's (named by /libc.so, or by its source path, sysdeps/..., when libc's symbols resolve: a SEGV inside
# memcpy called by libhdf5 was reported as glutescope's finding) nor zlib's (HDF5's deflate filter), are all
# inside it: the frames that called them decide. For a hang stopped by the harness
# (glutescope_fuzz_hang_signal) only the frames below its signal handler count.
known_third_party() {
  [ -n "$third_party" ] || return 1
  # Frames of the harness executable without a source location are the sanitizer runtime's (its interceptors
  # may be named plainly, e.g. "strdup") or libFuzzer's: glutescope's code is built with -g.
  frames=$(grep -E '^ +#[0-9]+ 0x' "$1" |
           awk '/ in glutescope_fuzz_hang_signal /{n=0; next}
                match($0, /\([^ ()]+\+0x[0-9a-f]+\)/) && substr($0, RSTART, RLENGTH) !~ /\.so[.+]/ {next}
                {a[n++]=$0} END{for(i=0;i<n;i++) print a[i]}' |
           grep -v -E '__interceptor_|__asan|__sanitizer|fuzzer::|/libc\.so|sysdeps/|/libz\.so| in (malloc|calloc|realloc|free) ' |
           head -n 3)
  [ -n "$frames" ] || return 1
  echo "$frames" | grep -v -q "$third_party" && return 1
  kind=$(grep -m 1 -o -E 'ERROR: [A-Za-z]+: [A-Za-z-]+' "$1" || echo "crash")
  is_hang_stop "$1" && kind="hang"
  # The innermost frame's function, or its library when unsymbolised ("(/lib/.../libhdf5_serial.so.103+0x..."
  # becomes "libhdf5_serial.so.103"), so that inputs stopped at different points of one loop count together.
  echo "$kind in $(echo "$frames" | head -n 1 | sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ +//; s/^in ([^ ]+).*/\1/; s/^\(.*\/([^/+]+)\+.*/\1/')"
}

# run_fuzzer.sh --triage THIRD_PARTY REPORT...: the triage alone, one line per (symbolised) report, "KNOWN
# kind in frame" or "FINDING" (tests/fuzz/triage/ and the ctest fuzz_triage check it on kept reports).
if [ "${1:-}" = "--triage" ]; then
  third_party=$2
  shift 2
  for report in "$@"; do
    if what=$(known_third_party "$report"); then echo "KNOWN $what"; else echo "FINDING"; fi
  done
  exit 0
fi

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

if [ -n "$third_party" ]; then
  GLUTESCOPE_FUZZ_HANG_MS=${GLUTESCOPE_FUZZ_HANG_MS:-500}
  export GLUTESCOPE_FUZZ_HANG_MS
fi
# -malloc_limit_mb below -rss_limit_mb: one allocation of a gigabyte is reported with its stack (so the
# triage can tell the library's from glutescope's), where the RSS limit alone reports no stack at all. With a
# THIRD_PARTY library 64 MB (glutescope's reader allocates at most what a file stores, and the seeds are
# 33 KB): libhdf5 allocates (and clears) what a damaged variable-length string claims, up to gigabytes, and
# such an input is then a quick KNOWN report instead of tens of milliseconds to seconds of clearing memory.
malloc_limit_mb=1024
[ -n "$third_party" ] && malloc_limit_mb=64
memory_limits="-rss_limit_mb=2048 -malloc_limit_mb=$malloc_limit_mb"
limits="-timeout=10 $memory_limits"
# The same bound in ASan, which refuses such a request before mapping it, with its stack. libFuzzer's malloc
# hook sees an allocation only after ASan has mapped it and poisoned its shadow (an eighth of its size): a
# 21-GB request by libhdf5 took 1.7 s and 2.6 GB of shadow, so the RSS limit struck first and the report had
# no stack, not even when run again alone (session 9's long run).
export ASAN_OPTIONS="$ASAN_OPTIONS:max_allocation_size_mb=$malloc_limit_mb"

# symbolize_report REPORT: a sanitizer report written unsymbolised (fork mode below) symbolised as the
# sanitizers would have: "#7 0x... (MODULE+0x1f0)" becomes "#7 0x... in FUNCTION FILE:LINE:COLUMN" where the
# code has debug information (glutescope's), else "#7 0x... in FUNCTION (MODULE+0x1f0)" (libhdf5's exported and
# internal names, the sanitizer runtime). One llvm-symbolizer run per report.
symbolize_report() {
  grep -o -E '\(/[^ ()]+\+0x[0-9a-f]+\)' "$1" | sed -E 's/^\((.*)\+(0x[0-9a-f]+)\)$/\1 \2/' | sort -u >"$work/frames.txt"
  if [ ! -s "$work/frames.txt" ] || ! command -v "$symbolizer" >/dev/null 2>&1; then cat "$1"; return; fi
  # llvm-symbolizer answers each "MODULE OFFSET" line with a function line, a location line and a blank line.
  "$symbolizer" --inlining=false <"$work/frames.txt" | awk 'NR % 3 == 1 { f = $0 } NR % 3 == 2 { print f "\t" $0 }' |
    paste "$work/frames.txt" - >"$work/functions.txt"
  awk -F '\t' 'FNR == NR { split($1, f, " "); k = "(" f[1] "+" f[2] ")"; if ($2 != "??") name[k] = $2
                           if ($3 !~ /^\?\?/) where[k] = $3; next }
       { if ($0 !~ / in / && match($0, /\(\/[^ ()]+\+0x[0-9a-f]+\)/)) { k = substr($0, RSTART, RLENGTH)
           if (k in name) {
             if (k in where) { line = substr($0, 1, RSTART - 1); sub(/ +$/, "", line); $0 = line " in " name[k] " " where[k] }
             else { n = name[k]; gsub(/&/, "\\\\&", n); sub(/ +\(/, " in " n " (") } } }
         print }' "$work/functions.txt" "$1"
}

# run_alone INPUT LOG [ENV_OPTION...]: one input run alone with the run's limits (env options such as
# "-u GLUTESCOPE_FUZZ_HANG_MS" first), its output in LOG; sets `again` to its exit status and `alone` to
# "no fault", "KNOWN <kind> in <frame>" or "FINDING".
run_alone() {
  alone_input=$1 alone_log=$2
  shift 2
  again=0
  # shellcheck disable=SC2086  # $limits is a list of options
  env "$@" "$fuzzer" $limits "$alone_input" >"$alone_log" 2>&1 || again=$?
  alone="no fault"
  if [ "$again" -ne 0 ]; then
    if what=$(known_third_party "$alone_log"); then alone="KNOWN $what"; else alone="FINDING"; fi
  fi
}

if [ -n "${GLUTESCOPE_FUZZ_JOBS:-}" ]; then
  # Every crashing job writes its sanitizer report to reports/report.PID (ASan's log_path), unsymbolised
  # (symbolising in each job was slow), and libFuzzer's fork mode keeps fuzzing. The triage reads the reports,
  # not the saved inputs run again: some of HDF5's faults depend on what earlier inputs left in the library's
  # global state (a heap-use-after-free inside H5O__attr_exists that the same input alone does not repeat),
  # and only the job's own report shows where they were.
  mkdir -p "$work/reports" "$work/jobs"
  symbolizer=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || echo llvm-symbolizer)
  # -timeout: with THIRD_PARTY the harness bounds each input itself (CPU time, and the time it sleeps or
  # blocks), so libFuzzer's wall-clock timeout is only a backstop, 60 s here: at 10 s a job starved of CPU
  # beside other work was stopped with an input that ends alone in under a second (session 10, run 3).
  fork_limits=$limits
  [ -n "$third_party" ] && fork_limits="-timeout=60 $memory_limits"
  # GLUTESCOPE_FUZZ_FLAGS: more libFuzzer options for the fork run (docs/RELIABILITY.md, session 11).
  fork_limits="$fork_limits ${GLUTESCOPE_FUZZ_FLAGS:-}"
  # shellcheck disable=SC2086  # $fork_limits is a list of options
  ASAN_OPTIONS="$ASAN_OPTIONS:symbolize=0:log_path=$work/reports/report" \
  UBSAN_OPTIONS="$UBSAN_OPTIONS:symbolize=0:log_path=$work/reports/report" \
  LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}symbolize=0:log_path=$work/reports/report" \
  "$fuzzer" -fork="$GLUTESCOPE_FUZZ_JOBS" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_total_time="$seconds" $fork_limits -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    "$work/corpus" "$seeds" >"$work/log-fork.txt" 2>&1 &
  fork_pid=$!
  # TERM or INT ends the fuzzing early; the reports so far are still collected and triaged.
  trap 'kill -TERM "$fork_pid" 2>/dev/null || true' TERM INT
  # A report is named by its process's PID, and so is the input file the process left: a long run starts
  # more processes than the kernel has PIDs (pid_max 32768 here; session 10's run reused 414 of them), and a
  # later job with a PID that crashed before overwrote that report (the sanitizers open log_path with
  # O_TRUNC) and its input. So, while the run goes on, each report whose process has ended is moved with its
  # input to a name of its own (jobs/job-N.PID), within about a second.
  collected=0
  collect_ended_jobs() {
    for report in "$work"/reports/report.*; do
      [ -e "$report" ] || continue
      pid=${report##*.}
      [ -d "/proc/$pid" ] && continue
      collected=$((collected + 1))
      # The input first: once the report has gone from reports/, the PID's input has too (fuzz_fork_collect's
      # stand-in, like a later job given the same PID, writes its next input as soon as the report is gone:
      # moved second, the input was sometimes that next job's).
      for input in "$GLUTESCOPE_FUZZ_TMP"/*_fuzz_"$pid".*; do
        [ -e "$input" ] && mv "$input" "$work/jobs/job-$collected.$pid.input"
      done
      mv "$report" "$work/jobs/job-$collected.$pid.report"
      # An input of this PID seen without a report on the last look was this job's (its report came
      # after): forget it, or a later job's input under the same PID and path, seen before its own report,
      # would count as the second sighting and be deleted.
      kept=""
      for seen in $orphans_before; do  # (paths without spaces: mktemp's)
        case "$seen" in *_fuzz_"$pid".*) ;; *) kept="$kept $seen" ;; esac
      done
      orphans_before=$kept
    done
    # An input left by a process that ended without a report (an out-of-memory by RSS or a libFuzzer timeout,
    # whose inputs libFuzzer saves in artifacts/) is deleted, so that no later process with its PID is
    # taken for it: once it has been seen so on two looks in a row (a process writes its report before it
    # ends, but the stand-in of fuzz_fork_collect writes input and report one after the other).
    orphans=""
    for input in "$GLUTESCOPE_FUZZ_TMP"/*_fuzz_*; do
      [ -e "$input" ] || continue
      pid=${input##*_fuzz_}
      pid=${pid%%.*}
      { [ -d "/proc/$pid" ] || [ -e "$work/reports/report.$pid" ]; } && continue
      case " $orphans_before " in
        *" $input "*) rm -f "$input" ;;
        *) orphans="$orphans $input" ;;
      esac
    done
    orphans_before=$orphans
  }
  orphans_before=""
  # triage_jobs N: triages up to N collected reports (each removed with its input once triaged).
  findings=0 known=0 unrepeated=0
  mkdir -p "$work/findings"
  : >"$work/known.txt"
  triage_jobs() {
    triaged=0
    for report in "$work"/jobs/job-*.report; do
      [ "$triaged" -lt "$1" ] || break
      triaged=$((triaged + 1))
      [ -e "$report" ] || continue
      name=$(basename "$report" .report)
      input="$work/jobs/$name.input"
      symbolize_report "$report" >"$work/symbolized.txt"
      if what=$(known_third_party "$work/symbolized.txt"); then
        # Thousands in a long run: the first report of each kind and innermost frame is kept, the rest counted.
        grep -q -x -F "$what" "$work/known.txt" || cp "$work/symbolized.txt" "$work/known/$name.txt"
        echo "$what" >>"$work/known.txt"
        known=$((known + 1))
      else
        cp "$work/symbolized.txt" "$work/findings/$name.txt"
        # Its input: file-reading harnesses write each input to GLUTESCOPE_FUZZ_TMP/<name>_fuzz_<PID>.<ext> and
        # delete it after a normal return, so the file a crashed process left (collected with its report) is
        # the input it crashed on. It is kept and run again alone (same limits; a hang stopped outside the
        # library has already had ten times the limit): whether it repeats is printed. A crash's finding stands
        # either way. A hang stop must repeat: one that ends normally alone, under the same limits, was the
        # run's load (another job beside it, ASan's quarantine full of earlier inputs' blocks), not a loop. It
        # is kept in unrepeated/ with its input and counted, not listed as a finding.
        if [ -f "$input" ]; then
          cp "$input" "$work/findings/$name.input"
          run_alone "$work/findings/$name.input" "$work/findings/$name.alone.txt"
          if [ "$alone" = "no fault" ] && is_hang_stop "$work/findings/$name.txt"; then
            mkdir -p "$work/unrepeated"
            mv "$work/findings/$name.txt" "$work/findings/$name.input" "$work/findings/$name.alone.txt" \
              "$work/unrepeated/"
            echo "run_fuzzer: stop not repeated alone (not a finding): report $work/unrepeated/$name.txt, input $work/unrepeated/$name.input; alone (exit $again): $alone"
            unrepeated=$((unrepeated + 1))
          elif [ "${alone#KNOWN }" != "$alone" ] && is_hang_stop "$work/findings/$name.txt"; then
            # A hang stop whose input, alone, is stopped inside the third-party library: where a time limit
            # found the stack is a sample, and alone the input runs past the limit in the library (the rule
            # that lists a hang there as KNOWN in the first place). Counted and kept as known.
            grep -q -x -F "${alone#KNOWN } (input run again)" "$work/known.txt" ||
              cp "$work/findings/$name.alone.txt" "$work/known/$name.txt"
            echo "${alone#KNOWN } (input run again)" >>"$work/known.txt"
            rm -f "$work/findings/$name.txt" "$work/findings/$name.input" "$work/findings/$name.alone.txt"
            echo "run_fuzzer: hang stop run again alone is $alone: counted as known, not a finding"
            known=$((known + 1))
          else
            echo "run_fuzzer: FINDING, report $work/findings/$name.txt, input $work/findings/$name.input; alone (exit $again): $alone"
            findings=$((findings + 1))
          fi
        else
          echo "run_fuzzer: FINDING, report $work/findings/$name.txt (no input file left by its process)"
          findings=$((findings + 1))
        fi
      fi
      rm -f "$input" "$report"
    done
  }
  # The triage runs beside the fuzzing, a few reports between looks, so that a long run's thousands of
  # reports are not left to the end.
  while kill -0 "$fork_pid" 2>/dev/null; do
    collect_ended_jobs
    triage_jobs 10
    sleep 1
  done
  wait "$fork_pid" || true
  trap - TERM INT
  # Jobs still running when the parent ended (stopped early) end within their own bounds: waited for up to
  # 90 s, so that their reports are complete.
  waited=0
  while [ "$waited" -lt 90 ]; do
    running=0
    for report in "$work"/reports/report.*; do
      [ -e "$report" ] && [ -d "/proc/${report##*.}" ] && running=1
    done
    [ "$running" -eq 0 ] && break
    sleep 1
    waited=$((waited + 1))
  done
  collect_ended_jobs
  triage_jobs 1000000000
  # libFuzzer's exit status in fork mode is that of the last job that failed, which says nothing here: its
  # last progress line (#executions: ...) and the triage below decide.
  progress=$(grep -E '^#[0-9]+: ' "$work/log-fork.txt" | tail -n 1)
  [ -n "$progress" ] || { tail -n 20 "$work/log-fork.txt"; echo "run_fuzzer: fork mode did not run"; exit 1; }
  echo "$progress"
  # An out-of-memory by RSS and a libFuzzer timeout have no sanitizer report: their inputs run again alone
  # (an out-of-memory by one allocation has both, so it is counted twice). Without the hang limit: its 10 x
  # wall-clock bound struck while the symboliser was still writing an out-of-memory report, which then had
  # no stack to triage.
  rerun=0
  for input in "$work"/artifacts/oom-* "$work"/artifacts/timeout-*; do
    [ -e "$input" ] || continue
    name=$(basename "$input")
    run_alone "$input" "$work/findings/$name.txt" -u GLUTESCOPE_FUZZ_HANG_MS
    if [ "$again" -ne 0 ] && [ "$alone" != FINDING ]; then
      echo "${alone#KNOWN } (input run again)" >>"$work/known.txt"
      rerun=$((rerun + 1))
      rm -f "$input" "$work/findings/$name.txt"
    else
      echo "run_fuzzer: FINDING $input (exit $again alone; log $work/findings/$name.txt)"
      findings=$((findings + 1))
    fi
  done
  # The inputs of known faults are not kept (a long run saves tens of thousands); with a finding, all stay.
  [ "$findings" -eq 0 ] && rm -f "$work"/artifacts/crash-*
  sort "$work/known.txt" | uniq -c | sort -r -n | head -n 20
  # libFuzzer counts the jobs that ended abnormally (oom/timeout/crash in its last line): each crash has a
  # report (collected above), so fewer collected reports than crashes would be reports lost.
  echo "run_fuzzer: $(basename "$fuzzer") fork mode, $seconds s: $findings finding(s), $known known ${third_party:+$third_party }reports, $rerun known inputs run again; $collected job reports collected, libFuzzer counted $(echo "$progress" | sed -n -E 's/.* oom\/timeout\/crash: ([0-9]+\/[0-9]+\/[0-9]+).*/\1/p') (oom/timeout/crash); $unrepeated stop(s) not repeated alone"
  [ "$findings" -eq 0 ]
  exit
fi

start=$(date +%s)
runs=0
while :; do
  left=$((seconds - ($(date +%s) - start)))
  [ "$left" -gt 0 ] || break
  runs=$((runs + 1))
  status=0
  # shellcheck disable=SC2086  # $limits is a list of options
  "$fuzzer" -max_total_time="$left" $limits -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" >"$work/log-$runs.txt" 2>&1 || status=$?
  finding=$(ls "$work/artifacts" | head -n 1)
  if [ "$status" -eq 0 ] && [ -z "$finding" ]; then break; fi
  if [ -n "$finding" ] && what=$(known_third_party "$work/log-$runs.txt"); then
    echo "run_fuzzer: KNOWN $third_party bug ($what), input kept as $work/known/$finding"
    mv "$work/artifacts/$finding" "$work/known/"
    # Bounded by the time left (each restart costs start-up and seed loading) and by 100 restarts: past
    # that the run ends early, having found nothing of glutescope's, and says so below.
    [ "$runs" -lt 100 ] && continue
    echo "run_fuzzer: stopped early after $runs restarts on known $third_party bugs"
    break
  fi
  tail -n 40 "$work/log-$runs.txt"
  echo "run_fuzzer: FINDING in $(basename "$fuzzer") (exit $status); input $work/artifacts/$finding, log $work/log-$runs.txt"
  exit 1
done
grep -h -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$work"/log-*.txt | tail -n 2
echo "run_fuzzer: $(basename "$fuzzer"): no finding in $seconds s ($runs run(s), $(ls "$work/known" | wc -l) known third-party)"
