"""Reads a glutescope analysis sidecar (FILE.analysis.h5) with h5py only and prints, as JSON, what a
researcher would read from it: per rep the clinician line and the state of each verdict, and per set the
normalisation and the verdict counts. Independent of glutescope's reader (layout: docs/SESSION_FORMAT.md).

usage: check_sidecar.py FILE.analysis.h5
"""
import json
import sys

import h5py

STATES = {0: "no", 1: "yes", 2: "not_available", 3: "invalid"}

with h5py.File(sys.argv[1], "r") as f:
    assert f.attrs["format"] == "glutescope-analysis", f.attrs["format"]
    reps = f["reps"]
    out = {
        "format_version": f.attrs["format_version"],
        "settings_toml": f.attrs["settings_toml"],
        "labels": [x.decode() if isinstance(x, bytes) else x for x in f["channels/label"][()]],
        "summary": [x.decode() for x in reps["summary"][()]],
        "verdicts": {},
        "mean_pct": reps["mean_pct"][()].tolist() if reps["mean_pct"].size else [],
        "normalisation": [x.decode() for x in f["sets/normalisation"][()]],
        "verdict_counts": f["sets/verdict_counts"][()].tolist(),
        "motion_source": [x.decode() for x in f["sets/motion_source"][()]] if "motion_source" in f["sets"] else [],
        "exercise_name": [x.decode() for x in f["sets/exercise_name"][()]] if "exercise_name" in f["sets"] else [],
    }
    for name in reps["verdicts"]:
        g = reps["verdicts"][name]
        out["verdicts"][name] = [STATES[int(s)] for s in g["state"][()].ravel()]
    print(json.dumps(out, default=float))
