#!/usr/bin/env bash
# Writes N short simulated session files (3 subjects, one session a week each, bridge scenarios mixed) to DIR
# with `glutescope simulate --session`, for the scheduler tests. Same N => same files.
# Usage: make_cohort.sh /path/to/glutescope DIR N
set -euo pipefail
G=$1
DIR=$2
N=$3
mkdir -p "$DIR"
scenarios=(good lumbar-dominant late-glute good)
for i in $(seq 0 $((N - 1))); do
  subject=$(printf 'S%02d' $((i % 3 + 1)))
  week=$((i / 3))
  day=$(date -u -d "2024-03-04 +$((7 * week)) days" +%Y-%m-%d)
  "$G" simulate --session "$DIR/$subject-week$(printf '%02d' "$week").h5" --subject "$subject" \
    --start-time "${day}T09:00:00+01:00" --reps 2 --seed $((i + 1)) --scenario "${scenarios[$((i % 4))]}" \
    --mvc --imu-rate 100 --emg-rate 1000
done
