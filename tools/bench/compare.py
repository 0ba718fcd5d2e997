#!/usr/bin/python3
"""glutescope performance as ratios measured side by side in one run (docs/PERFORMANCE.md, issue 17).

Usage (Debian's python3 with its numpy, scipy and h5py; build the release preset first):
  /usr/bin/python3 tools/bench/compare.py [--build build/release] [--baseline build/baseline]
                                          [--repeats N] [--quick] [--check] [--work DIR]

One run prints:
  * the machine: CPU model, vector extensions, the SOS kernel the runtime dispatch picked, load average;
  * the machine's limit for this kernel (tools/bench/machine_limits): peak multiply-add flop/s of one core and
    its triad memory bandwidth; with the flops and bytes per channel-sample of each chain (from the forms of its
    SOS sections, docs/DSP.md) they bound channel-samples/s, and every chain is also shown as a fraction of that bound;
  * scipy.signal.sosfilt / sosfiltfilt against glutescope's live (causal) and offline (zero-phase) chains at
    8, 16, 64 and 256 channels (bench_dsp; CPU time of the calling thread on both sides);
  * a numpy/scipy re-implementation of the analysis chain per channel (band-pass, 50 Hz notch + harmonics,
    RMS envelope, TKEO onset) against `glutescope analyze` on the same simulated session;
  * a 1-hour session (bench_analysis's: 8 EMG at 2 kHz, 3 IMUs at 200 Hz, 200 reps) analysed by
    `glutescope analyze` as whole processes, with peak RSS against the raw data size; the new build also with
    GLUTESCOPE_HUGE_PAGES=0 (4-KiB pages only), alternating with the others in each repeat.
With --baseline (a build of the commit before the change, same preset) the same benchmarks of that build run
in the same invocation, so "before" and "after" share the machine's state. Every figure is the median of
--repeats runs with min and max. Absolute figures move with the machine and its load; ratios measured in the
same run are what to compare. --quick uses tiny sizes and two repeats (ctest Bench.CompareQuickPrintsEveryRow
runs it with --check, which fails if a row has no value): its figures mean nothing.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import scipy
from scipy import signal

RATE_HZ = 2000.0
CHANNELS = (8, 16, 64, 256)
MAINS_HZ = 50.0
NOTCH_Q = 20.0


# ------------------------------------------------------------------------------------------------ helpers

class Stat:
    """Median, min and max of repeated measurements (any unit)."""

    def __init__(self, values):
        self.values = list(values)
        self.median = statistics.median(self.values)
        self.min = min(self.values)
        self.max = max(self.values)


class Table:
    """Rows of (label, Stat or None, unit, notes); printed aligned. None = not measured (n/a)."""

    def __init__(self):
        self.rows = []

    def add(self, label, stat, unit, note=""):
        self.rows.append((label, stat, unit, note))

    def print(self, title):
        print(f"\n== {title}")
        width = max(len(r[0]) for r in self.rows)
        for label, stat, unit, note in self.rows:
            if stat is None:
                figure = f"{'n/a':>10} {'':>23}"
            else:
                figure = f"{stat.median:10.4g} [{stat.min:10.4g}, {stat.max:10.4g}]"
            print(f"  {label:<{width}}  {figure} {unit:<14} {note}")


def ratio(a, b):
    """Ratio of two Stats' medians (None if either is missing)."""
    if a is None or b is None:
        return None
    return a.median / b.median


def fmt_ratio(r, suffix="x"):
    return "n/a" if r is None else f"{r:.2f}{suffix}"


def cpu_description():
    model, flags = platform.processor() or "?", set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    vector = [x for x in ("sse2", "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512vl") if x in flags]
    return model, vector


def load_average():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_process(args):
    """Run a command to completion and return its standard output (exit with its stderr if it fails)."""
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def timed_process(args, env=None):
    """(wall s, CPU s, peak RSS bytes, minor page faults) of one run of args, output discarded. wait4's usage
    includes the process's own waited-for children (`analyze` runs each file in a child). env: variables
    added to this process's environment for the run."""
    t0 = time.monotonic()
    pid = os.posix_spawn(args[0], args, {**os.environ, **(env or {})}, file_actions=[
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(args)} failed with status {os.waitstatus_to_exitcode(status)}")
    # ru_maxrss is in KiB on Linux.
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, usage.ru_minflt


def thread_cpu_stat(fn, repeats):
    """CPU time of this thread per call of fn (s): one warm-up, then `repeats` timed calls."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.thread_time()
        fn()
        times.append(time.thread_time() - t0)
    return Stat(times)


# ---------------------------------------------------------------------------------------------- machine

def machine_limits(build, quick):
    exe = os.path.join(build, "tools/bench/machine_limits")
    args = [exe, "--json"] + (["--quick"] if quick else [])
    out = run_process(args)
    return json.loads(out)


# ------------------------------------------------------------------------------------------------- DSP

def chain_sos():
    """The benchmarked chain: Butterworth band-pass 20-450 Hz order 4 (4 sections) + 50 Hz notch Q 20 with 3
    harmonics (4 sections), as bench_dsp's chain_sos()."""
    bandpass = signal.butter(4, [20.0, 450.0], btype="bandpass", output="sos", fs=RATE_HZ)
    notches = [np.concatenate(signal.iirnotch(MAINS_HZ * h, NOTCH_Q, fs=RATE_HZ))[None, :] for h in (1, 2, 3, 4)]
    return np.vstack([bandpass] + notches)


def form_flops(row):
    """Flops per channel-sample of one SOS row [b0 b1 b2 a0 a1 a2] in the form glutescope's kernel evaluates it
    (src/dsp/sos_filter.cpp, section_form: the same exact comparisons)."""
    b0, b1, b2, _a0, a1, _a2 = (float(v) for v in row)
    if b2 == b0 and b0 != 0.0:
        if b1 in (2.0 * b0, -2.0 * b0):
            return 8  # butterworth
        if b1 == a1:
            return 7  # notch
    return 9  # general


def gbench(exe, filter_regex, repeats, min_time):
    """Google Benchmark runs of exe matching filter_regex: {name: Stat of channel-samples/s}, plus context."""
    args = [exe, f"--benchmark_filter={filter_regex}", f"--benchmark_repetitions={repeats}",
            f"--benchmark_min_time={min_time}", "--benchmark_format=json"]
    out = run_process(args)
    doc = json.loads(out)
    rates = {}
    for b in doc["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        # Google Benchmark divides a rate counter by the CPU time of the benchmark's thread.
        rates.setdefault(b["run_name"], []).append(b["ch_samples_per_s"])
    return {k: Stat(v) for k, v in rates.items()}, doc.get("context", {})


def dsp_section(args, limits, table_rows):
    sos = chain_sos()
    sections = len(sos)
    seconds = 1 if args.quick else 10
    repeats = 2 if args.quick else args.repeats
    min_time = "0.01" if args.quick else "0.2"
    builds = {"new": args.build}
    if args.baseline:
        builds["baseline"] = args.baseline
    # Flops per channel-sample of one section as the kernel evaluates it (docs/DSP.md, "Section forms"; an FMA
    # counts 2, like the peak): general, scipy's DF2T (y = b0 x + z1; z1 = b1 x - a1 y + z2; z2 = b2 x - a2 y):
    # 5 mul + 4 add = 9; butterworth: 1 mul + 2 fma + 3 add = 8; notch: 1 mul + 2 fma + 2 add = 7. The live
    # chain adds the moving RMS (square, add, subtract, divide, square root: 5 operations counted as flops).
    # Bytes: what must cross memory for data that does not fit in cache: live reads x and writes y (16 B);
    # zero-phase reads x, writes the forward result, reads it back backwards and writes y (32 B). scipy's
    # sosfilt row is the causal filter alone (no RMS): its own bound. The baseline build (before the forms)
    # evaluated 9 flops per section; its rows are shown against the same bound.
    section_flops = sum(form_flops(row) for row in sos)
    flops = {"live": section_flops + 5, "causal": section_flops, "offline": 2 * section_flops}
    bytes_ = {"live": 16, "causal": 16, "offline": 32}
    peak = max(limits["peak_flops"].values())
    bandwidth = limits["triad_bytes_per_s"]
    bound = {k: min(peak / flops[k], bandwidth / bytes_[k]) for k in flops}

    measured = {}
    context = {}
    for tag, build in builds.items():
        exe = os.path.join(build, "tools/bench/bench_dsp")
        regex = f"BM_LiveChain/|BM_OfflineZeroPhase/[0-9]+/{seconds}$"
        stats, ctx = gbench(exe, regex, repeats, min_time)
        measured[tag] = stats
        context[tag] = ctx

    rng = np.random.default_rng(1)
    scipy_rates = {}
    for ch in CHANNELS:
        x = rng.standard_normal((int(seconds * RATE_HZ), ch))
        xt = np.ascontiguousarray(x.T)
        n = x.size
        # scipy in both layouts; the faster median is scipy's figure.
        best = {}
        for name, fn in (("sosfilt", signal.sosfilt), ("sosfiltfilt", signal.sosfiltfilt)):
            a0 = thread_cpu_stat(lambda: fn(sos, x, axis=0), repeats)
            a1 = thread_cpu_stat(lambda: fn(sos, xt, axis=-1), repeats)
            t = a0 if a0.median <= a1.median else a1
            best[name] = Stat([n / v for v in t.values])
        scipy_rates[ch] = best

    t = Table()
    for ch in CHANNELS:
        live_new = measured["new"].get(f"BM_LiveChain/{ch}")
        off_new = measured["new"].get(f"BM_OfflineZeroPhase/{ch}/{seconds}")
        live_old = measured.get("baseline", {}).get(f"BM_LiveChain/{ch}")
        off_old = measured.get("baseline", {}).get(f"BM_OfflineZeroPhase/{ch}/{seconds}")
        sf, sff = scipy_rates[ch]["sosfilt"], scipy_rates[ch]["sosfiltfilt"]
        scale = lambda s: None if s is None else Stat([v / 1e6 for v in s.values])  # noqa: E731
        pct = lambda s, k: "" if s is None else f"{100 * s.median / bound[k]:.1f} % of limit"  # noqa: E731
        t.add(f"{ch:3d} ch scipy sosfilt", scale(sf), "M ch-samples/s", pct(sf, "causal"))
        t.add(f"{ch:3d} ch scipy sosfiltfilt", scale(sff), "M ch-samples/s", pct(sff, "offline"))
        t.add(f"{ch:3d} ch live chain, baseline", scale(live_old), "M ch-samples/s", pct(live_old, "live"))
        t.add(f"{ch:3d} ch live chain, new", scale(live_new), "M ch-samples/s",
              f"{pct(live_new, 'live')}; {fmt_ratio(ratio(live_new, live_old))} baseline; "
              f"{fmt_ratio(ratio(live_new, sf))} scipy sosfilt")
        t.add(f"{ch:3d} ch zero-phase, baseline", scale(off_old), "M ch-samples/s", pct(off_old, "offline"))
        t.add(f"{ch:3d} ch zero-phase, new", scale(off_new), "M ch-samples/s",
              f"{pct(off_new, 'offline')}; {fmt_ratio(ratio(off_new, off_old))} baseline; "
              f"{fmt_ratio(ratio(off_new, sff))} scipy sosfiltfilt (baseline "
              f"{fmt_ratio(ratio(off_old, sff))})")
        table_rows.update({f"live/{ch}": live_new, f"offline/{ch}": off_new})
    limits_text = (f"chain: {sections} sections; flops per channel-sample live {flops['live']} (filter alone "
                   f"{flops['causal']}), zero-phase "
                   f"{flops['offline']}; bytes per channel-sample live {bytes_['live']}, zero-phase "
                   f"{bytes_['offline']};\n  limit (min of peak / flops, bandwidth / bytes): live "
                   f"{bound['live'] / 1e6:.0f} M, zero-phase {bound['offline'] / 1e6:.0f} M channel-samples/s")
    return t, limits_text, context


# ------------------------------------------------------------------------------------------------ analysis

def researcher_analysis(path):
    """The analysis chain as a researcher would write it with numpy/scipy, one channel at a time: µV from the
    counts, DC removed, 50 Hz notch and its harmonics up to the band-pass top (causal, as glutescope runs
    it), band-pass 20-450 Hz order 4 zero-phase, 50 ms centred RMS envelope, TKEO |psi| low-passed at 50 Hz
    zero-phase, onset = first crossing of baseline mean + 5 SD (baseline: 0.5 s from 0.1 s)."""
    with h5py.File(path, "r") as f:
        counts = f["/acquisition/emg/data"][:]
        rate = float(f["/acquisition/emg/starting_time"].attrs["rate"])
        scale = f["/general/channels"]["microvolts_per_count"][:]
    top = min(450.0, 0.45 * rate)
    bandpass = signal.butter(4, [20.0, top], btype="bandpass", output="sos", fs=rate)
    notches = [signal.iirnotch(MAINS_HZ * h, NOTCH_Q, fs=rate) for h in range(1, int(top // MAINS_HZ) + 1)]
    lowpass = signal.butter(2, 50.0, btype="low", output="sos", fs=rate)
    window = int(round(0.050 * rate))
    onsets, envelopes = [], []
    for ch in range(counts.shape[1]):
        x = counts[:, ch] * scale[ch]
        x = x - x.mean()
        for b, a in notches:
            x = signal.lfilter(b, a, x)
        x = signal.sosfiltfilt(bandpass, x)
        rms = np.sqrt(np.convolve(x ** 2, np.ones(window) / window, mode="same"))
        psi = np.empty_like(x)
        psi[1:-1] = np.abs(x[1:-1] ** 2 - x[:-2] * x[2:])
        psi[0], psi[-1] = psi[1], psi[-2]
        psi = signal.sosfiltfilt(lowpass, psi)
        base = psi[int(0.1 * rate):int(0.6 * rate)]
        above = psi > base.mean() + 5 * base.std()
        onsets.append(np.flatnonzero(np.diff(above.astype(np.int8)) == 1) + 1)
        envelopes.append(rms)
    return onsets, envelopes


def raw_bytes(path):
    """Bytes of raw samples in a session file as stored: EMG counts and IMU accelerometer, gyroscope and
    magnetometer counts (docs/SESSION_FORMAT.md; sample indices and block times not counted)."""
    total = 0

    def visit(name, obj):
        nonlocal total
        if isinstance(obj, h5py.Dataset) and name.split("/")[-1] in (
                "data", "accelerometer", "gyroscope", "magnetometer"):
            total += obj.size * obj.dtype.itemsize
    with h5py.File(path, "r") as f:
        f["/acquisition"].visititems(visit)
    return total


def analysis_section(args, work, table_rows):
    repeats = 2 if args.quick else args.repeats
    exe = {"new": os.path.join(args.build, "glutescope")}
    if args.baseline:
        exe["baseline"] = os.path.join(args.baseline, "glutescope")
    session = os.path.join(work, "session.h5")
    reps = "2" if args.quick else "10"
    run_process([exe["new"], "simulate", "--session", session, "--reps", reps, "--mains", "50", "--seed", "1"])
    config = os.path.join(work, "mains50.toml")
    with open(config, "w") as f:
        f.write("[emg]\nmains_hz = 50.0\n")
    with h5py.File(session, "r") as f:
        duration = f["/acquisition/emg/data"].shape[0] / float(f["/acquisition/emg/starting_time"].attrs["rate"])

    t = Table()
    # The researcher's chain: CPU time of this thread, h5py load included.
    py = thread_cpu_stat(lambda: researcher_analysis(session), repeats)
    t.add(f"numpy/scipy chain per channel ({duration:.0f}-s session)", py, "s CPU")
    runs = {}
    for tag, e in exe.items():
        samples = [timed_process([e, "analyze", session, "--config", config]) for _ in range(repeats)]
        runs[tag] = (Stat(s[0] for s in samples), Stat(s[1] for s in samples))
        t.add(f"glutescope analyze ({duration:.0f}-s session), {tag}", runs[tag][1], "s CPU",
              f"wall {runs[tag][0].median:.3f} s; numpy/scipy / glutescope {fmt_ratio(ratio(py, runs[tag][1]))}")
    table_rows["researcher"] = py
    table_rows["analyze/short"] = runs["new"][1]

    # Long session: bench_analysis's 1-hour session (kept in work/), or the short one in --quick mode.
    if args.quick:
        long_path, label = session, f"{duration:.0f}-s session (--quick)"
    else:
        run_process([os.path.join(args.build, "tools/bench/bench_analysis"), "--keep", work, "--hour-only",
                     "--runs", "1"])
        long_path, label = os.path.join(work, "hour.h5"), "1-hour session"
    raw = raw_bytes(long_path)
    # The new build also without transparent huge pages (GLUTESCOPE_HUGE_PAGES=0: src/core/operator_new.cpp),
    # so that what they change is measured on this machine. The variants alternate within each repeat: this
    # guest's page-fault cost drifts from minute to minute, and alternation spreads the drift over all of them.
    variants = [(tag, e, {}) for tag, e in exe.items()]
    variants.insert(1, ("new, 4-KiB pages", exe["new"], {"GLUTESCOPE_HUGE_PAGES": "0"}))
    samples = {tag: [] for tag, _, _ in variants}
    # The order also rotates from one repeat to the next: here a process that starts right after one that
    # freed a GB (the baseline) pays up to 0.5 s more system time for its page faults, so a fixed order
    # would charge that to whichever variant follows the baseline every time.
    for r in range(repeats):
        for tag, e, env in variants[r % len(variants):] + variants[:r % len(variants)]:
            samples[tag].append(timed_process([e, "analyze", long_path], env))
    long_runs = {tag: [Stat(s[i] for s in runs) for i in range(4)] for tag, runs in samples.items()}
    for tag, (wall, cpu, rss, faults) in long_runs.items():
        note = ""
        if tag == "new" and "baseline" in long_runs:
            note = (f"{100 * ratio(wall, long_runs['baseline'][0]):.0f} % of baseline wall, "
                    f"{100 * ratio(cpu, long_runs['baseline'][1]):.0f} % of baseline CPU")
        if tag == "new":
            note += ("; " if note else "") + (
                f"{100 * ratio(cpu, long_runs['new, 4-KiB pages'][1]):.0f} % of its CPU on 4-KiB pages")
        t.add(f"glutescope analyze {label}, {tag}, wall", wall, "s", note)
        t.add(f"glutescope analyze {label}, {tag}, CPU", cpu, "s")
        t.add(f"glutescope analyze {label}, {tag}, peak RSS", Stat(v / 1e6 for v in rss.values), "MB",
              f"{rss.median / raw:.2f}x raw data ({raw / 1e6:.0f} MB)")
        # One minor fault per page touched for the first time: a 4-KiB page, or a 2-MiB one where advised.
        t.add(f"glutescope analyze {label}, {tag}, minor page faults", Stat(v / 1e3 for v in faults.values),
              "thousand")
    table_rows["analyze/long"] = long_runs["new"][0]
    table_rows["rss/long"] = long_runs["new"][2]
    return t


# ---------------------------------------------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default="build/release", help="build directory of the code measured")
    parser.add_argument("--baseline", help="build directory of the commit before the change (same preset)")
    parser.add_argument("--repeats", type=int, default=7, help="runs per figure (median, min, max)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 2 repeats: checks the rows only")
    parser.add_argument("--check", action="store_true", help="exit 1 if any row of the new build is missing")
    parser.add_argument("--work", help="directory for the simulated sessions (default: a temporary one)")
    args = parser.parse_args()

    model, vector = cpu_description()
    print(f"machine: {model}, {os.cpu_count()} logical CPUs, {platform.machine()}, Linux {platform.release()}")
    print(f"vector extensions of the CPU: {' '.join(vector)}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"h5py {h5py.__version__}; load average at start {load_average()}")
    limits = machine_limits(args.build, args.quick)
    peaks = ", ".join(f"{k} {v / 1e9:.1f}" for k, v in limits["peak_flops"].items())
    print(f"one core: peak Gflop/s {peaks}; triad {limits['triad_bytes_per_s'] / 1e9:.1f} GB/s")

    rows = {}
    with tempfile.TemporaryDirectory(prefix="gs-compare-") as tmp:
        work = args.work or tmp
        os.makedirs(work, exist_ok=True)
        dsp_table, limits_text, context = dsp_section(args, limits, rows)
        for tag, ctx in context.items():
            print(f"{tag} build: SOS kernel picked by runtime dispatch: {ctx.get('sos_kernel', 'not reported')}")
        print(limits_text)
        dsp_table.print("DSP chains (CPU time; median [min, max] of repeats)")
        analysis_section(args, work, rows).print("Analysis (whole processes; median [min, max] of repeats)")
    print(f"\nload average at end {load_average()}; "
          f"compare.py CPU {resource.getrusage(resource.RUSAGE_SELF).ru_utime:.0f} s")

    if args.check:
        expected = [f"{k}/{ch}" for k in ("live", "offline") for ch in CHANNELS] + [
            "researcher", "analyze/short", "analyze/long", "rss/long"]
        missing = [k for k in expected if rows.get(k) is None]
        if missing:
            print(f"missing rows: {', '.join(missing)}")
            return 1
        print(f"all {len(expected)} rows present")
    return 0


if __name__ == "__main__":
    sys.exit(main())
