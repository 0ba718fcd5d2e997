#!/usr/bin/env bash
# A real one-node Slurm cluster on localhost runs the documented job array (docs/ANALYSIS.md, docs/SCALING.md)
# over simulated sessions; `glutescope cohort` merges the shards; the result must be the same bytes as one
# `glutescope analyze` run on the same files. Everything lives in a temporary folder: its own munge key and
# socket, its own slurm.conf (SLURM_CONF, -f), state and spool folders and free TCP ports; no system service or
# system-wide configuration is used or touched. Every daemon started here is stopped on any exit (trap).
#
# Usage: slurm_test.sh /path/to/glutescope [sessions] [shards]
# Exit: 0 pass, 1 fail, 77 skipped (not root: slurmd must run jobs as root here, SlurmUser=root).
set -euo pipefail

G=${1:?usage: slurm_test.sh /path/to/glutescope [sessions] [shards]}
SESSIONS=${2:-24}
SHARDS=${3:-6}
HERE=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: the Slurm test needs root (slurmd runs the jobs with SlurmUser=root); run ctest as root" >&2
  exit 77
fi
for tool in munged slurmctld slurmd sbatch squeue sinfo; do
  if ! command -v "$tool" >/dev/null; then
    echo "FAIL: $tool not installed (tools/install-deps.sh installs slurm-wlm and munge)" >&2
    exit 1
  fi
done

T=$(mktemp -d "${TMPDIR:-/tmp}/glutescope-slurm.XXXXXX")
chmod 0711 "$T"  # munged: every folder above its socket must be searchable by all
PIDS=()
cleanup() {
  local rc=$?
  # Jobs first (their steps are children of slurmd), then the daemons, newest first; only our own PIDs.
  if [ -f "$T/slurm.conf" ] && [ ${#PIDS[@]} -gt 0 ]; then
    SLURM_CONF="$T/slurm.conf" timeout 10 scancel --full --quiet -u root 2>/dev/null || true
  fi
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[i]}" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [ $rc -ne 0 ]; then
    echo "--- logs ($T) ---" >&2
    tail -n 20 "$T"/*.log 2>/dev/null >&2 || true
  fi
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT INT TERM

START=$(date +%s)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- munge: a generated key, its own socket, pid, seed and log files -------------------------------------
mkdir -m 0711 "$T/munge"
dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
chmod 0400 "$T/munge/munge.key"
SOCK="$T/munge/munge.socket"
munged -F -S "$SOCK" --key-file="$T/munge/munge.key" --pid-file="$T/munge/munged.pid" \
  --seed-file="$T/munge/munged.seed" --log-file="$T/munged.log" &
PIDS+=($!)
for _ in $(seq 100); do [ -S "$SOCK" ] && break; kill -0 "${PIDS[0]}" 2>/dev/null || break; sleep 0.1; done
munge -S "$SOCK" -n | unmunge -S "$SOCK" >/dev/null

# --- slurm.conf for one node: the machine's real CPUs and memory ------------------------------------------
CPUS=$(nproc)
MEM_MB=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
mkdir -p "$T/state" "$T/spool" "$T/jobs"
cat >"$T/slurm.conf" <<EOF
ClusterName=glutescope-test
SlurmctldHost=localhost
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=batch Nodes=localhost Default=YES MaxTime=10 State=UP
EOF
export SLURM_CONF="$T/slurm.conf"
slurmctld -D -c -f "$SLURM_CONF" >"$T/slurmctld.out" 2>&1 &
PIDS+=($!)
slurmd -D -N localhost -f "$SLURM_CONF" >"$T/slurmd.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 150); do
  state=$(timeout 5 sinfo -h -N -o '%T' 2>/dev/null || true)
  [ "$state" = "idle" ] && break
  sleep 0.2
done
[ "$state" = "idle" ] || { echo "FAIL: the node did not come up idle (state '$state')" >&2; exit 1; }

# --- the cohort: short simulated sessions of several subjects and weeks -----------------------------------
bash "$HERE/make_cohort.sh" "$G" "$T/cohort" "$SESSIONS"
ls "$T"/cohort/*.h5 | grep -v '\.analysis\.h5$' >"$T/list"

# --- the documented job array ------------------------------------------------------------------------------
cat >"$T/jobs/analyze.sbatch" <<EOF
#!/bin/bash
#SBATCH --array=1-$SHARDS
#SBATCH --cpus-per-task=1
#SBATCH --time=5
#SBATCH --output=$T/jobs/slurm-%A_%a.out
"$G" analyze \$(cat "$T/list") --shard \${SLURM_ARRAY_TASK_ID}/$SHARDS --jobs \${SLURM_CPUS_PER_TASK} \\
  --summary "$T/jobs/summary-\${SLURM_ARRAY_TASK_ID}.csv" >/dev/null
EOF
SUBMIT=$(date +%s)
# --wait returns when every array task has ended, with the highest exit code; bounded by timeout.
set +e
timeout 150 sbatch --wait --chdir="$T/jobs" "$T/jobs/analyze.sbatch" >"$T/sbatch.out" 2>&1
rc=$?
set -e
cat "$T/sbatch.out"
[ $rc -eq 0 ] || { echo "FAIL: the job array ended with status $rc" >&2; tail -n 5 "$T"/jobs/slurm-*.out >&2 || true; exit 1; }
DONE=$(date +%s)

# --- merge and compare with one machine --------------------------------------------------------------------
shard_files=()
for k in $(seq 1 "$SHARDS"); do shard_files+=("$T/jobs/summary-$k.csv"); done
"$G" cohort "${shard_files[@]}" --summary "$T/merged.csv"
"$G" analyze $(cat "$T/list") --jobs 2 --summary "$T/single.csv" >/dev/null
if ! cmp "$T/single.csv" "$T/merged.csv"; then
  echo "FAIL: the merged Slurm shards differ from the one-machine run" >&2
  exit 1
fi
rows=$(($(wc -l <"$T/merged.csv") - 1))
echo "PASS: $SESSIONS sessions, $SHARDS array tasks on Slurm ($(sbatch --version)), merged $rows rows identical" \
  "to one run; job array $((DONE - SUBMIT)) s, whole test $(($(date +%s) - START)) s"
