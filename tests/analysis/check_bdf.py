"""Independent check of a glutescope BDF+ export with MNE (Debian python3-mne).

usage: check_bdf.py FILE.bdf SESSION.h5
Compares channel names, rate, sample count and values (within one quantisation step) with the session's raw
EMG read by h5py (counts x microvolts_per_count), and lists the annotations. Exit 0 = all match.
"""
import sys

import h5py
import mne
import numpy as np

bdf, session = sys.argv[1], sys.argv[2]
raw = mne.io.read_raw_bdf(bdf, preload=True, verbose="error")
with h5py.File(session, "r") as f:
    ch = f["/general/channels"]
    labels = [x.decode() if isinstance(x, bytes) else x for x in ch["label"][()]]
    uvpc = ch["microvolts_per_count"][()]
    emg = f["/acquisition/emg"]
    counts = emg["data"][()]
    rate = float(f["/general/device"].attrs["emg_rate_hz"])
expected_uv = counts * uvpc[np.newaxis, :]
errors = []
if raw.ch_names != labels:
    errors.append(f"channel names {raw.ch_names} != {labels}")
if abs(raw.info["sfreq"] - rate) > 1e-9:
    errors.append(f"rate {raw.info['sfreq']} != {rate}")
n = expected_uv.shape[0]
got = raw.get_data()  # volts
padded = int(np.ceil(n / rate) * rate)
if got.shape[1] != padded:
    errors.append(f"{got.shape[1]} samples != {padded} (whole 1-s records of {n})")
for c in range(len(labels)):
    # Quantisation step of the BDF channel, from MNE's own calibration (volts per digital unit).
    step_v = abs(raw._raw_extras[0]["cal"][c]) if "cal" in raw._raw_extras[0] else 0
    diff = np.max(np.abs(got[c, :n] * 1e6 - expected_uv[:, c]))
    tol_uv = max(step_v * 1e6, uvpc[c]) * 1.01
    if diff > tol_uv:
        errors.append(f"{labels[c]}: max |diff| {diff} uV > step {tol_uv} uV")
print("annotations:", len(raw.annotations), [a["description"] for a in raw.annotations][:5])
if errors:
    print("\n".join(errors))
    sys.exit(1)
print("ok")
