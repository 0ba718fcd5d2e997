"""Issue 13 deliverable 4: the UCI lower-limb recordings (../shared/datasets-real/uci_lower_limb_subset) imported
with `glutescope import` as other:knee_extension (seated task `sen`) and other:knee_flexion (standing task `pie`)
with the goniometer FX as the knee angle, analysed with `glutescope analyze --json`; the repetitions are compared
with movements counted independently from FX.

Independent count: FX at its recorded 50 Hz (every 20th row), made relative to its first 0.5 s and signed so that
the task's movement is positive; scipy.signal.find_peaks with prominence = 0.5 x (95th - 5th percentile of that
signal) (a movement must cover half the recording's typical range of motion) and peaks at least 1 s apart.

The goniometer's sign differs between subjects (1N and 5N read flexion positive, 3N and 4N negative); the montage
states it per file as a user would after looking at the data: the task starts at rest, flexed when seated and
extended when standing, so flexion is positive when FX at rest is above (seated) or below (standing) its mean.

Rows holding only FX after the EMG ended (a quirk of these files) are dropped; the text header is replaced by a
row of column names. Prints one JSON line per file and exits 1 when a count differs by more than `--tolerance`.

usage: uci_knee_import.py --glutescope BIN --data DIR --work DIR [--tolerance N]
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
from scipy.signal import find_peaks

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "bench"))
from onset_real_data import LABELS, read_uci_rows  # noqa: E402  (the one reader of the UCI files)


def independent_count(fx, movement_sign):
    a = movement_sign * (fx[::20] - fx[:500].mean())
    prominence = 0.5 * (np.percentile(a, 95) - np.percentile(a, 5))
    peaks, _ = find_peaks(a, prominence=prominence, distance=50)
    return len(peaks)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--glutescope", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--tolerance", type=int, default=0)
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    worst = 0
    for path in sorted(Path(args.data).glob("*N[sp][ei][ne].txt")):
        task = path.stem[-3:]
        rows = read_uci_rows(path)
        fx = np.array([float(r[4]) for r in rows])
        rest_above_mean = fx[:500].mean() > fx.mean()
        flexion_positive = rest_above_mean if task == "sen" else not rest_above_mean
        exercise = "knee_extension" if task == "sen" else "knee_flexion"
        # Sign making the task's movement positive, for the independent count only.
        movement_sign = (1 if flexion_positive else -1) * (1 if exercise == "knee_flexion" else -1)
        csv = work / (path.stem + ".csv")
        csv.write_text("RF,BF,VM,ST,FX\n" + "".join(",".join(r) + "\n" for r in rows))
        montage = work / (path.stem + ".toml")
        montage.write_text(
            "".join(f'[[emg]]\ncolumn = "{m}"\nmuscle = "other"\nside = "right"\nunit = "mV"\n\n' for m in LABELS)
            + '[[angle]]\ncolumn = "FX"\njoint = "knee"\n'
            + f'motion = "{"flexion" if flexion_positive else "extension"}"\nside = "right"\nunit = "deg"\n')
        out = work / (path.stem + ".h5")
        # The seated task names its exercise at import, the standing one at analysis (both paths tested).
        at_import = ["--exercise", "other:" + exercise] if task == "sen" else []
        at_analysis = ["--exercise", "other:" + exercise] if task == "pie" else []
        subprocess.run([args.glutescope, "import", "--from-csv", str(csv), "--montage", str(montage), "--rate",
                        "1000", *at_import, "--subject", path.stem[:2], "--out", str(out), "--force"], check=True,
                       stdout=subprocess.DEVNULL)
        done = subprocess.run([args.glutescope, "analyze", "--json", *at_analysis, str(out)], check=True,
                              capture_output=True, text=True)
        result = json.loads(done.stdout.splitlines()[0])
        sidecar = json.loads(subprocess.run(
            [sys.executable, str(Path(__file__).with_name("check_sidecar.py")), str(out.with_suffix(".analysis.h5"))],
            check=True, capture_output=True, text=True).stdout)
        # The stored angle channel, read with h5py alone (docs/SESSION_FORMAT.md 2.4b): FX averaged over blocks
        # of 10 rows at 100 Hz, in degrees, with the joint and motion of the montage.
        with h5py.File(out, "r") as f:
            g = f["acquisition/angle"]
            stored = g["data_0"][()]
            assert f.attrs["format_version"] == "1.2", f.attrs["format_version"]
            assert [x.decode() for x in g["joint"][()]] == ["knee"] and g["rate_hz"][0] == 100.0
            expect = fx[: stored.size * 10].reshape(-1, 10).mean(axis=1)
            if stored.size != fx.size // 10 or np.max(np.abs(stored - expect)) > 1e-9:
                worst = max(worst, 1000)
        count = independent_count(fx, movement_sign)
        worst = max(worst, abs(result["reps"] - count))
        names = sidecar["exercise_name"]
        if names != ["other:" + exercise]:
            worst = max(worst, 1000)
        print(json.dumps({"file": path.name, "exercise_name": names, "exercise": "other:" + exercise, "fx_flexion_positive": bool(flexion_positive),
                          "glutescope_reps": result["reps"], "fx_peaks": count,
                          "motion_source": sidecar["motion_source"]}))
        if sidecar["motion_source"] != ["angle"]:
            worst = max(worst, 1000)
    return 0 if worst <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
