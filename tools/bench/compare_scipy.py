#!/usr/bin/python3
"""Offline zero-phase chain: glutescope (bench_dsp) vs scipy.signal.sosfiltfilt, side by side.

Usage: /usr/bin/python3 tools/bench/compare_scipy.py build/release/tools/bench/bench_dsp [channels] [seconds]
Same chain as BM_OfflineZeroPhase (Butterworth band-pass 20-450 Hz order 4 + 50 Hz notch Q 20 with
3 harmonics, fs 2000 Hz), same data size, float64. scipy is timed in both layouts ([samples x
channels] along axis 0, and [channels x samples] along the last axis) and its faster median is used.
Both sides are measured in CPU time of the (single) calling thread (time.thread_time for scipy,
Google Benchmark's cpu_time for glutescope), so other load on a shared machine affects both alike.
Prints the medians and the ratio scipy / glutescope.
"""
import json
import statistics
import subprocess
import sys
import time

import numpy as np
from scipy import signal


def main():
    bench = sys.argv[1]
    channels = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    rate = 2000.0
    sos = np.vstack([signal.butter(4, [20.0, 450.0], btype='bandpass', output='sos', fs=rate)] +
                    [np.concatenate(signal.iirnotch(50.0 * h, 20.0, fs=rate))[None, :] for h in (1, 2, 3, 4)])
    x = np.random.default_rng(1).standard_normal((int(seconds * rate), channels))
    xt = np.ascontiguousarray(x.T)

    def median_ms(fn, repeats=7):
        fn()
        times = []
        for _ in range(repeats):
            t0 = time.thread_time()
            fn()
            times.append((time.thread_time() - t0) * 1e3)
        return statistics.median(times)

    scipy_axis0 = median_ms(lambda: signal.sosfiltfilt(sos, x, axis=0))
    scipy_last = median_ms(lambda: signal.sosfiltfilt(sos, xt, axis=-1))
    scipy_ms = min(scipy_axis0, scipy_last)

    out = subprocess.run([bench, f"--benchmark_filter=BM_OfflineZeroPhase/{channels}/{seconds}$",
                          "--benchmark_repetitions=7", "--benchmark_format=json"],
                         check=True, capture_output=True, text=True).stdout
    runs = [b for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"]
    if not runs:
        sys.exit(f"bench_dsp has no BM_OfflineZeroPhase/{channels}/{seconds} case")
    ours_ms = statistics.median(b["cpu_time"] for b in runs)  # benchmark unit: ms

    samples = x.size
    print(f"data: {channels} channels x {seconds} s at {rate:g} Hz, {len(sos)} sections, float64")
    print(f"scipy {signal.__name__} {__import__('scipy').__version__} sosfiltfilt: axis=0 median {scipy_axis0:8.2f} ms, axis=-1 median {scipy_last:8.2f} ms")
    print(f"glutescope sosfiltfilt_interleaved median {ours_ms:8.2f} ms "
          f"({samples / ours_ms / 1e3:.1f} M channel-samples/s)")
    print(f"ratio scipy / glutescope: {scipy_ms / ours_ms:.1f}x")


if __name__ == "__main__":
    main()
