"""Reads a session recorded from a device emulator with h5py and checks it against the emulator's own
samples (written by the C++ test): every stored row bit-exact at its sample index, the gaps exactly the
expected ones, units and rates as attributes. Exit status 0 = all checks passed; each failure is printed.

usage: check_device_session.py SESSION.h5 SPEC.json
SPEC: {"rate_hz", "emg_channels", "emg_uv_per_count", "emg_expected": FILE (int32 LE, [N x C]),
       "imu": [{"label", "g_per_count", "expected": FILE (int16 LE, [N x 3])}],
       "gaps": [[start, count], ...] exact EMG gaps before "reconnect_after" (or all),
       "reconnect_after": model index at which the emulator unplugs, or null}
"""
import json
import sys

import h5py
import numpy as np

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def compare(index, rows, expected, reconnect_after, name):
    """Rows at their index equal the expectation; after a reconnect, equal with one constant offset."""
    before = index < (reconnect_after if reconnect_after is not None else np.iinfo(np.uint64).max)
    check(np.all(index[before] < len(expected)), f"{name}: index beyond the emulated samples")
    ok = before & (index < len(expected))
    check(np.array_equal(rows[ok], expected[index[ok]]), f"{name}: rows differ from the emulator's samples")
    if reconnect_after is None:
        return None
    after_rows = rows[~before]
    check(len(after_rows) > 100, f"{name}: too few rows after the reconnect ({len(after_rows)})")
    # The model sample the first row after the reconnect is: search a window around its index.
    first = int(index[~before][0])
    best = None
    for model in range(max(0, first - 3000), first + 3000):
        if model + len(after_rows) > len(expected):
            break
        if np.array_equal(expected[model:model + len(after_rows)], after_rows):
            best = model
            break
    check(best is not None, f"{name}: rows after the reconnect are not a contiguous run of emulated samples")
    return None if best is None else first - best


def main():
    path, spec_path = sys.argv[1], sys.argv[2]
    spec = json.load(open(spec_path))
    c = spec["emg_channels"]
    with h5py.File(path, "r") as f:
        emg = f["/acquisition/emg"]
        check(abs(emg.attrs["rate_hz"] - spec["rate_hz"]) < 1e-9, f"rate_hz {emg.attrs['rate_hz']}")
        data = emg["data"]
        check(data.attrs["unit"] == "volts", "EMG unit")
        check(abs(data.attrs["conversion"] - 1e-6) < 1e-18, "EMG conversion")
        check(np.allclose(data.attrs["channel_conversion"], spec["emg_uv_per_count"], rtol=1e-12, atol=0),
              f"channel_conversion {data.attrs['channel_conversion']}")
        index = emg["sample_index"][:]
        check(np.all(np.diff(index.astype(np.int64)) > 0), "EMG sample index not increasing")
        expected = np.fromfile(spec["emg_expected"], dtype="<i4").reshape(-1, c)
        offset = compare(index, data[:].astype(np.int32), expected, spec["reconnect_after"], "EMG")
        gaps = f["/intervals/gaps"]
        stream = gaps["stream"][:]
        starts, counts = gaps["start_sample"][:][stream == 0], gaps["count"][:][stream == 0]
        exact = [[int(s), int(n)] for s, n in zip(starts, counts)]
        if spec["reconnect_after"] is not None:
            # The unplug happens at model sample reconnect_after; the last samples before it may be lost
            # with the link (in flight when it went: reconnect_slack, default 3).
            near = spec["reconnect_after"] - spec.get("reconnect_slack", 3)
            cut = [g for g in exact if g[0] >= near]
            exact = [g for g in exact if g[0] < near]
            if spec.get("reconnect_gap", True):
                check(len(cut) == 1, f"expected one gap over the reconnect, got {cut}")
            else:
                check(cut == [], f"expected no gap (loss undetectable), got {cut}")
        check(exact == spec["gaps"], f"EMG gaps {exact}, expected {spec['gaps']}")
        # Rows + gaps cover the index range without overlap.
        covered = len(index) + int(counts.sum())
        check(covered == int(index[-1]) + 1 - int(index[0]), f"rows {len(index)} + gaps {counts.sum()} "
              f"!= span {int(index[-1]) + 1 - int(index[0])}")
        for imu in spec["imu"]:
            g = f["/acquisition/imu"][imu["label"]]
            check(abs(g.attrs["rate_hz"] - imu.get("rate_hz", spec["rate_hz"])) < 1e-9, "IMU rate_hz")
            acc = g["accelerometer"]
            check(acc.attrs["unit"] == "g", "IMU unit")
            check(abs(acc.attrs["conversion"] - imu["g_per_count"]) < 1e-15, f"IMU conversion {acc.attrs['conversion']}")
            exp = np.fromfile(imu["expected"], dtype="<i2").reshape(-1, 3)
            compare(g["sample_index"][:], acc[:].astype(np.int16), exp, imu.get("reconnect_after", spec["reconnect_after"]),
                    imu["label"])
    for f_ in failures:
        print("FAIL:", f_)
    if "offset" in spec and offset is not None:
        check(offset == spec["offset"], f"rows after the loss are {offset} samples off, expected {spec['offset']}")
    print(json.dumps({"rows": int(len(index)), "reconnect_offset": offset}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
