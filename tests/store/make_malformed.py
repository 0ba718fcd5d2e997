#!/usr/bin/env python3
"""Malformed session corpus (issue 11 item 8) and its runner.

generate: from one small valid session (status "complete") and one real crash file (a writer killed with
SIGKILL, status "recording", with its journal) writes >= 100 damaged variants into OUT and OUT/manifest.json:
one entry per file with its damage class and what `glutescope info` must say ("ok", or an "error" whose one
line contains `says`). Classes: rank, dtype, shape, sample_index order, rates 0/-1/NaN/1e308, conversions,
NaN/absurd event times and clock fits, truncation at 10 points, byte flips in metadata (offset 46, the
superblock checksum, included), damaged journals.

run: runs `info`, `analyze`, `report` and `recover` on every file of a generated corpus (each command on its
own copy, so that one cannot repair a file for the next), each under a wall-clock limit, N at a time, and
writes RESULTS (JSON): per file and command the exit status (negative = killed by that signal, "timeout"),
the first stderr line, the number of stderr lines and the longest. Prints the outcome table
(files x commands -> counts). The runner only measures; the ctest (malformed_corpus_test.cpp) asserts.

Uses h5py and numpy from Debian (python3-h5py).
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import struct
import subprocess
import sys
import time

import h5py
import numpy as np

EMG = "/acquisition/emg"


class Corpus:
    def __init__(self, valid, crash, out):
        self.valid, self.crash, self.out = valid, crash, out
        self.entries = []
        self.imu0 = None
        with h5py.File(valid, "r") as f:
            self.imu0 = "/acquisition/imu/" + sorted(f["/acquisition/imu"].keys())[0]

    def _path(self, name):
        return os.path.join(self.out, name + ".h5")

    def add(self, name, klass, expect, says=None, source=None, journal=False):
        """Copies the source (valid by default) to NAME.h5 (and its journal) and records the entry."""
        source = source or self.valid
        path = self._path(name)
        shutil.copyfile(source, path)
        if journal and os.path.exists(source + ".journal"):
            shutil.copyfile(source + ".journal", path + ".journal")
        self.entries.append({"file": os.path.basename(path), "class": klass, "info": expect, "says": says})
        return path

    def edit(self, name, klass, says, change, expect="error"):
        """A valid copy changed with h5py: change(f) gets the open file."""
        path = self.add(name, klass, expect, says)
        with h5py.File(path, "r+") as f:
            change(f)
        return path

    def write(self):
        with open(os.path.join(self.out, "manifest.json"), "w") as f:
            json.dump(self.entries, f, indent=1)


def replace(f, name, data, **kw):
    """Replaces dataset NAME with DATA (copying its attributes)."""
    attrs = dict(f[name].attrs)
    del f[name]
    d = f.create_dataset(name, data=data, **kw)
    for k, v in attrs.items():
        d.attrs[k] = v


def set_attr(f, obj, name, value):
    a = f[obj].attrs
    if isinstance(value, float):
        a.create(name, value, dtype="f8")
    else:
        a[name] = value


def reshape_rank(f, name, rank):
    data = f[name][()]
    replace(f, name, data.reshape(data.shape + (1,) * (rank - data.ndim)))


def edit_column(f, name, fn):
    data = f[name][()].copy()
    fn(data)
    f[name][...] = data


def h5py_classes(c):
    imu0 = c.imu0
    # rank: dims read into hsize_t[2] used to overwrite the stack at rank >= 3
    for target, short in [(EMG + "/data", "emg_data"), (EMG + "/sample_index", "emg_index"),
                          (imu0 + "/accelerometer", "imu_accel"), (EMG + "/block_first_row", "block_first_row")]:
        for rank in (3, 8, 32):
            c.edit(f"rank{rank}_{short}", "rank", "rank", lambda f, t=target, r=rank: reshape_rank(f, t, r))
    c.edit("rank2_events_time", "rank", "rank", lambda f: reshape_rank(f, "/intervals/events/time_s", 2))
    c.edit("rank2_channel_gain", "rank", "rank", lambda f: reshape_rank(f, "/general/channels/gain", 2))
    c.edit("array_attr_conversion", "rank", "values, expected one",
           lambda f: f[EMG + "/data"].attrs.create("conversion", np.ones(1000), dtype="f8"))
    c.edit("array_attr_emg_rate", "rank", "values, expected one",
           lambda f: f["/general/device"].attrs.create("emg_rate_hz", np.full(64, 2000.0), dtype="f8"))

    # dtype
    c.edit("dtype_emg_data_float", "dtype", "floating-point",
           lambda f: replace(f, EMG + "/data", f[EMG + "/data"][()].astype("f4"), maxshape=(None, None), chunks=True))
    c.edit("dtype_emg_data_int64", "dtype", "8-byte elements",
           lambda f: replace(f, EMG + "/data", f[EMG + "/data"][()].astype("i8"), maxshape=(None, None), chunks=True))
    c.edit("dtype_emg_index_float", "dtype", "floating-point",
           lambda f: replace(f, EMG + "/sample_index", f[EMG + "/sample_index"][()].astype("f8")))
    c.edit("dtype_emg_index_string", "dtype", "string",
           lambda f: replace(f, EMG + "/sample_index", np.array([b"x"] * f[EMG + "/sample_index"].shape[0])))
    c.edit("dtype_block_host_time_int", "dtype", "integer",
           lambda f: replace(f, EMG + "/block_host_time", f[EMG + "/block_host_time"][()].astype("i8")))
    c.edit("dtype_events_time_string", "dtype", "string",
           lambda f: replace(f, "/intervals/events/time_s", np.array([b"t"] * f["/intervals/events/time_s"].shape[0])))
    c.edit("dtype_gain_string", "dtype", "string",
           lambda f: replace(f, "/general/channels/gain", np.array([b"1000"] * 8)))
    c.edit("dtype_rate_attr_string", "dtype", "expected a number",
           lambda f: f["/general/device"].attrs.__setitem__("emg_rate_hz", "2000"))
    c.edit("dtype_imu_accel_int32", "dtype", "4-byte elements",
           lambda f: replace(f, imu0 + "/accelerometer", f[imu0 + "/accelerometer"][()].astype("i4"),
                             maxshape=(None, 3), chunks=True))

    # shape: 7 or 9 data columns vs 8 channels, IMU axes, table lengths
    for cols in (7, 9, 1):
        def change(f, cols=cols):
            d = f[EMG + "/data"][()]
            new = d[:, :cols] if cols <= d.shape[1] else np.concatenate([d, d[:, :cols - d.shape[1]]], axis=1)
            replace(f, EMG + "/data", new, maxshape=(None, None), chunks=True)
        c.edit(f"shape_emg_{cols}_columns", "shape", "columns, expected 8", change)
    for cols in (2, 4):
        c.edit(f"shape_imu_{cols}_axes", "shape", "columns, expected 3",
               lambda f, n=cols: replace(f, imu0 + "/accelerometer", np.zeros((f[imu0 + "/accelerometer"].shape[0], n), "i2"),
                                         maxshape=(None, n), chunks=True))
    c.edit("shape_gain_7_rows", "shape", "rows, expected 8",
           lambda f: replace(f, "/general/channels/gain", f["/general/channels/gain"][:7]))
    c.edit("shape_events_kind_short", "shape", "rows, expected",
           lambda f: replace(f, "/intervals/events/kind", f["/intervals/events/kind"][:1]))
    c.edit("shape_imu_rate_short", "shape", "rows, expected",
           lambda f: replace(f, "/general/imu_sensors/rate_hz", f["/general/imu_sensors/rate_hz"][:1]))
    c.edit("shape_imu_label_path", "shape", "not a group name",
           lambda f: replace(f, "/general/imu_sensors/label",
                             np.array(["../../general"] + [s.decode() if isinstance(s, bytes) else s
                                                          for s in f["/general/imu_sensors/label"][1:]],
                                      dtype=h5py.string_dtype())))
    c.edit("shape_huge_extent", "shape", "more than a",
           lambda f: f[EMG + "/sample_index"].resize((10**12,)))
    c.edit("shape_no_channels", "shape", "EMG channels",
           lambda f: [f["/general/channels"].__delitem__(k) or
                      f["/general/channels"].create_dataset(k, shape=(0,), dtype=h5py.string_dtype() if k in
                      ("label", "device_label", "muscle", "side", "electrode_site") else "f8")
                      for k in list(f["/general/channels"].keys())])

    # sample_index order (analyze/report sized a buffer from the last value)
    def index_edit(name, fn, target=EMG):
        c.edit(name, "sample_index", "sample_index", lambda f: edit_column(f, target + "/sample_index", fn))
    n = 0
    with h5py.File(c.valid, "r") as f:
        n = f[EMG + "/sample_index"].shape[0]
    index_edit("index_decreasing_middle", lambda d: d.__setitem__(n // 2, d[n // 2] - 5))
    index_edit("index_last_zero", lambda d: d.__setitem__(-1, 0))
    index_edit("index_duplicate", lambda d: d.__setitem__(10, d[9]))
    index_edit("index_all_zero", lambda d: d.__setitem__(slice(None), 0))
    index_edit("index_reversed", lambda d: d.__setitem__(slice(None), d[::-1].copy()))
    index_edit("index_last_max", lambda d: d.__setitem__(-1, np.uint64(2**64 - 1)))
    index_edit("index_last_huge", lambda d: d.__setitem__(-1, np.uint64(10**15)))
    index_edit("index_first_huge", lambda d: d.__setitem__(0, np.uint64(10**18)))
    index_edit("imu_index_decreasing", lambda d: d.__setitem__(3, 0), target=imu0)
    index_edit("imu_index_last_zero", lambda d: d.__setitem__(-1, 0), target=imu0)

    # rates 0 / -1 / NaN / 1e308 / inf / 1e-30 (were accepted and analysed into nonsense)
    for label, v in [("0", 0.0), ("minus1", -1.0), ("nan", float("nan")), ("1e308", 1e308), ("inf", float("inf")),
                     ("1e-30", 1e-30)]:
        c.edit(f"rate_emg_{label}", "rate", "Hz", lambda f, v=v: set_attr(f, "/general/device", "emg_rate_hz", v))
    for label, v in [("0", 0.0), ("minus1", -1.0), ("nan", float("nan")), ("1e308", 1e308)]:
        c.edit(f"rate_imu_{label}", "rate", "Hz",
               lambda f, v=v: edit_column(f, "/general/imu_sensors/rate_hz", lambda d: d.__setitem__(0, v)))

    # conversions
    c.edit("conv_emg_nan", "conversion", "conversion",
           lambda f: set_attr(f, EMG + "/data", "conversion", float("nan")))
    c.edit("conv_emg_channel_short", "conversion", "channel_conversion",
           lambda f: f[EMG + "/data"].attrs.create("channel_conversion", np.ones(7), dtype="f8"))
    c.edit("conv_imu_zero", "conversion", "conversion",
           lambda f: set_attr(f, imu0 + "/accelerometer", "conversion", 0.0))
    c.edit("conv_uv_per_count_negative", "conversion", "microvolts_per_count",
           lambda f: edit_column(f, "/general/channels/microvolts_per_count", lambda d: d.__setitem__(2, -1.0)))
    c.edit("conv_gain_inf", "conversion", "gain",
           lambda f: edit_column(f, "/general/channels/gain", lambda d: d.__setitem__(0, float("inf"))))
    c.edit("conv_accel_scale_nan", "conversion", "accel_g_per_count",
           lambda f: edit_column(f, "/general/imu_sensors/accel_g_per_count", lambda d: d.__setitem__(0, float("nan"))))

    # event times and the clock fit (set times were printed as "nan-nan s")
    for label, v in [("nan", float("nan")), ("inf", float("inf"))]:
        c.edit(f"event_time_{label}", "event", "time_s",
               lambda f, v=v: edit_column(f, "/intervals/events/time_s", lambda d: d.__setitem__(0, v)))
    # finite but far outside the recording: info lists it, analyze / report refuse it
    c.edit("event_time_minus1e300", "event", None, expect="ok",
           change=lambda f: edit_column(f, "/intervals/events/time_s", lambda d: d.__setitem__(0, -1e300)))
    c.edit("event_time_1e9", "event", "event", expect="ok",
           change=lambda f: edit_column(f, "/intervals/events/time_s", lambda d: d.__setitem__(0, 1e9)))
    for label, attr, v in [("drift_nan", "drift_ppm", float("nan")), ("drift_minus2e6", "drift_ppm", -2e6),
                           ("offset_inf", "offset_s", float("inf"))]:
        c.edit(f"fit_{label}", "clock fit", "clock fit",
               lambda f, a=attr, v=v: set_attr(f, "/general/timing_fit", a, v))
    def absurd_gap(f):
        for k, v, dt in [("stream", 0, "u1"), ("sensor", 0, "u1"), ("start_sample", 100, "u8"),
                         ("count", 2**64 - 1, "u8"), ("host_time_s", 1.0, "f8")]:
            replace(f, "/intervals/gaps/" + k, np.array([v], dt))
    c.edit("gap_count_max", "gap", "not a gap", absurd_gap)


def superblock_and_headers(path, limit):
    """Offsets of metadata signatures (object headers, B-trees, heaps) in the first LIMIT bytes."""
    data = open(path, "rb").read()[:limit]
    out = []
    for sig in (b"OHDR", b"OCHK", b"BTHD", b"BTLF", b"FRHP", b"FHDB", b"FHIB", b"FSHD", b"FSSE", b"TREE",
                b"HEAP", b"SNOD", b"GCOL", b"EAHD", b"EADB", b"FAHD", b"FADB"):
        start = 0
        while True:
            i = data.find(sig, start)
            if i < 0:
                break
            out.append((sig.decode(), i))
            start = i + 1
    return sorted(out, key=lambda t: t[1])


def flip(path, offset, mask=0xFF):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        if not b:
            return
        f.seek(offset)
        f.write(bytes([b[0] ^ mask]))


def byte_classes(c):
    # superblock v3 (48 bytes): version, sizes, flags, base/EOF/root addresses, checksum at 44-47
    for off in (8, 9, 10, 11, 12, 20, 28, 36, 44, 46):
        c.add(f"flip_superblock_{off}", "flip", "error", None)
        flip(c._path(f"flip_superblock_{off}"), off)
    c.add("flip_superblock_46_crash", "flip", "error", None, source=c.crash, journal=True)
    flip(c._path("flip_superblock_46_crash"), 46)
    # object headers and indices: one byte in the first 64 KiB's metadata structures, spread over them
    sigs = superblock_and_headers(c.valid, 1 << 16)
    step = max(1, len(sigs) // 16)
    for k, (sig, off) in enumerate(sigs[::step][:16]):
        name = f"flip_{sig.lower()}_{off}"
        c.add(name, "flip", "any", None)
        flip(c._path(name), off + 4 + (k % 8))
    for k, (sig, off) in enumerate(superblock_and_headers(c.crash, 1 << 16)[:6]):
        name = f"flip_crash_{sig.lower()}_{off}"
        c.add(name, "flip", "any", None, source=c.crash, journal=True)
        flip(c._path(name), off + 5 + k)
    # truncation at 10 points of the real kill -9 file (its journal kept), and at 5 of the complete file
    size = os.path.getsize(c.crash)
    for k in range(10):
        cut = [48, 512, 2048][k] if k < 3 else size * (k - 2) // 8
        name = f"truncated_crash_{k}_{cut}"
        c.add(name, "truncation", "any", None, source=c.crash, journal=True)
        with open(c._path(name), "r+b") as f:
            f.truncate(cut)
    vsize = os.path.getsize(c.valid)
    for k, frac in enumerate((0.01, 0.25, 0.5, 0.75, 0.999)):
        cut = int(vsize * frac)
        name = f"truncated_complete_{k}_{cut}"
        c.add(name, "truncation", "error", None)
        with open(c._path(name), "r+b") as f:
            f.truncate(cut)


def journal_records(path):
    """(offset, length) of each record of a journal: magic(8), then u32 length, u32 crc, u8 type, payload."""
    data = open(path, "rb").read()
    pos, out = 8, []
    while pos + 9 <= len(data):
        length = struct.unpack_from("<I", data, pos)[0]
        if pos + 9 + length > len(data):
            break
        out.append((pos, length))
        pos += 9 + length
    return out


def journal_classes(c):
    records = journal_records(c.crash + ".journal")
    jsize = os.path.getsize(c.crash + ".journal")

    def damaged(name, fn):
        path = c.add(name, "journal", "ok", None, source=c.crash, journal=True)
        with open(path + ".journal", "r+b") as f:
            fn(f)

    def flip_at(off):
        return lambda f: (f.seek(off), b := f.read(1), f.seek(off), f.write(bytes([b[0] ^ 0x01])))
    damaged("journal_flip_checkpoint", flip_at(records[0][0] + 12))
    mid = records[len(records) // 2]
    damaged("journal_flip_middle_record", flip_at(mid[0] + 9 + mid[1] // 2))
    damaged("journal_flip_middle_length", flip_at(mid[0] + 1))
    damaged("journal_flip_second_record", flip_at(records[1][0] + 20))
    damaged("journal_bad_magic", flip_at(0))
    damaged("journal_torn_tail", lambda f: f.truncate(jsize - 3))
    damaged("journal_empty", lambda f: f.truncate(0))
    damaged("journal_only_magic", lambda f: f.truncate(8))
    # a journal beside a file of another session: the complete valid file cannot be recovered at all
    path = c.add("journal_of_other_session", "journal", "ok", None)
    shutil.copyfile(c.crash + ".journal", path + ".journal")
    c.add("crash_intact", "journal", "ok", None, source=c.crash, journal=True)
    c.add("valid_copy", "valid", "ok", None)


def known_hdf5_classes(c, known):
    """Files on which HDF5 1.10.8 itself faults or loops (tests/fuzz/known_hdf5, README there): the
    command's HDF5 watchdog must end it with one line naming HDF5 (store/hdf5_watchdog.hpp)."""
    if not known:
        return
    for name in sorted(os.listdir(known)):
        if name.endswith(".md"):
            continue
        c.add("libhdf5_" + name, "libhdf5", "error", "HDF5", source=os.path.join(known, name))


def generate(args):
    os.makedirs(args.out, exist_ok=True)
    c = Corpus(args.valid, args.crash, args.out)
    h5py_classes(c)
    byte_classes(c)
    journal_classes(c)
    known_hdf5_classes(c, args.known)
    c.write()
    print(f"{len(c.entries)} files in {args.out}")


def run_one(binary, command, path, timeout):
    argv = [binary, command, path] if command != "analyze" else [binary, command, path]
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        status = p.returncode
        err = p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        status = "timeout"
        err = (e.stderr or b"").decode("utf-8", "replace")
    lines = [l for l in err.splitlines() if l.strip()]
    return {"status": status, "seconds": round(time.monotonic() - t0, 3), "stderr_lines": len(lines),
            "longest_line": max((len(l) for l in lines), default=0), "first_line": lines[0][:400] if lines else ""}


def run_file(binary, corpus, entry, work, timeout):
    """info, analyze, report on one copy; recover on another (recover renames and rewrites)."""
    src = os.path.join(corpus, entry["file"])
    base = os.path.join(work, entry["file"][:-3])
    os.makedirs(base, exist_ok=True)
    results = {}
    for command in ("info", "analyze", "report", "recover"):
        copy = os.path.join(base, command + ".h5")
        shutil.copyfile(src, copy)
        if os.path.exists(src + ".journal"):
            shutil.copyfile(src + ".journal", copy + ".journal")
        results[command] = run_one(binary, command, copy, timeout)
    shutil.rmtree(base, ignore_errors=True)
    return entry["file"], results


def outcome(r):
    s = r["status"]
    if s == "timeout":
        return "hang"
    if s < 0:
        return "signal"
    if s == 0:
        return "ok"
    if r["stderr_lines"] == 1 and r["longest_line"] <= 200:
        return "error-1line"
    return "error-long"


def run(args):
    with open(os.path.join(args.corpus, "manifest.json")) as f:
        manifest = json.load(f)
    work = os.path.join(args.corpus, "work")
    os.makedirs(work, exist_ok=True)
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_file, args.binary, args.corpus, e, work, args.timeout) for e in manifest]
        for fut in concurrent.futures.as_completed(futures):
            name, r = fut.result()
            results[name] = r
    with open(args.results, "w") as f:
        json.dump({"manifest": manifest, "results": results}, f, indent=1)
    kinds = ["ok", "error-1line", "error-long", "signal", "hang"]
    print(f"{len(manifest)} files x 4 commands")
    print("| command | " + " | ".join(kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for command in ("info", "analyze", "report", "recover"):
        counts = {k: 0 for k in kinds}
        for r in results.values():
            counts[outcome(r[command])] += 1
        print(f"| {command} | " + " | ".join(str(counts[k]) for k in kinds) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--valid", required=True)
    g.add_argument("--crash", required=True)
    g.add_argument("--out", required=True)
    g.add_argument("--known", help="folder of files that fault or loop inside HDF5 itself")
    r = sub.add_parser("run")
    r.add_argument("--binary", required=True)
    r.add_argument("--corpus", required=True)
    r.add_argument("--results", required=True)
    r.add_argument("--timeout", type=float, default=10.0)
    r.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    generate(args) if args.mode == "generate" else run(args)


if __name__ == "__main__":
    sys.exit(main())
