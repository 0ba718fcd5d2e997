#!/usr/bin/env bash
# Builds and runs recorder_bench (see recorder_bench.cpp). Usage: tools/bench/recorder_bench.sh [args...]
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
cmake --build --preset release --target glutescope recorder_bench -j2 >/dev/null
exec "$here/build/release/tools/bench/recorder_bench" "$@"
