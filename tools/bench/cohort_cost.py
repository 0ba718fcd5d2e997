#!/usr/bin/env python3
"""Per-session cost of `glutescope analyze` as a fresh process (docs/SCALING.md): CPU time (user + system),
peak RSS and bytes read/written, measured by the parent: os.wait4's rusage (ru_maxrss is the child's peak
RSS in KiB) and this process's /proc/self/io, which the kernel credits with a reaped child's I/O counters
(rchar/wchar: bytes through read/write calls, page cache included; read_bytes/write_bytes: bytes that hit
storage). Usage: cohort_cost.py GLUTESCOPE SESSION.h5 [RUNS]"""
import os
import statistics
import subprocess
import sys
import time


def io_counters():
    with open("/proc/self/io") as f:
        return {k: int(v) for k, v in (line.split(": ") for line in f)}


def one_run(glutescope, session):
    before = io_counters()
    start = time.monotonic()
    child = subprocess.Popen([glutescope, "analyze", session], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"glutescope analyze {session} exited {child.returncode}")
    after = io_counters()
    delta = {k: after[k] - before[k] for k in after}
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "user_s": usage.ru_utime,
            "sys_s": usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024.0,
            "read_mb": delta["rchar"] / 1e6, "written_mb": delta["wchar"] / 1e6,
            "storage_read_mb": delta["read_bytes"] / 1e6, "storage_written_mb": delta["write_bytes"] / 1e6}


def main():
    glutescope, session = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    results = [one_run(glutescope, session) for _ in range(runs)]
    print(f"session {session}: {os.path.getsize(session) / 1e6:.1f} MB, {runs} runs, load {os.getloadavg()[0]:.1f}")
    for key in results[0]:
        values = [r[key] for r in results]
        print(f"  {key:20s} median {statistics.median(values):9.3f}  (min {min(values):.3f}, max {max(values):.3f})")


if __name__ == "__main__":
    main()
