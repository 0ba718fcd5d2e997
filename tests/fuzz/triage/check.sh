#!/bin/sh
# ctest fuzz_triage: run_fuzzer.sh's triage on the kept sanitizer reports of this folder must give the lines
# of expected.txt (report<TAB>outcome), and with no THIRD_PARTY library every report is a finding.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
status=0
while IFS="$(printf '\t')" read -r report expected; do
  got=$(sh ../run_fuzzer.sh --triage libhdf5 "$report")
  if [ "$got" != "$expected" ]; then
    echo "fuzz_triage: $report: got '$got', expected '$expected'"
    status=1
  fi
  got=$(sh ../run_fuzzer.sh --triage "" "$report")
  if [ "$got" != "FINDING" ]; then
    echo "fuzz_triage: $report without a third-party library: got '$got', expected 'FINDING'"
    status=1
  fi
done <expected.txt
[ "$status" -eq 0 ] && echo "fuzz_triage: $(wc -l <expected.txt) reports triaged as expected"
exit "$status"
