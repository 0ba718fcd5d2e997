#!/usr/bin/python3
"""Generate the DSP reference vectors checked by tests/dsp (GoogleTest, no Python needed at test time).

Run with Debian's Python (python3-scipy, python3-numpy):  /usr/bin/python3 tests/dsp/reference/generate.py
Writes reference.bin (little-endian float64, concatenated arrays) and reference.json (index: name ->
offset in doubles, shape, parameters, versions). Deterministic: fixed seed, no timestamps.
"""
import json
import os
import sys

import numpy as np
import scipy
from scipy import signal

HERE = os.path.dirname(os.path.abspath(__file__))

entries = {}
chunks = []
offset = 0


def add(name, array, **params):
    global offset
    a = np.ascontiguousarray(np.asarray(array, dtype='<f8'))
    entries[name] = {"offset": offset, "shape": list(a.shape), "params": params}
    chunks.append(a.tobytes())
    offset += a.size


# 1. Butterworth SOS: 4 types x orders 1..10 x several rates and cut-offs.
butter_cases = {
    "lowpass": [(1000.0, 50.0, 0.0), (2000.0, 450.0, 0.0), (2048.0, 6.0, 0.0)],
    "highpass": [(1000.0, 100.0, 0.0), (2000.0, 20.0, 0.0), (2048.0, 30.0, 0.0)],
    "bandpass": [(2000.0, 20.0, 450.0), (1000.0, 10.0, 400.0), (2048.0, 30.0, 300.0)],
    "bandstop": [(2000.0, 45.0, 55.0), (1000.0, 58.0, 62.0), (2048.0, 100.0, 400.0)],
}
for kind, cases in butter_cases.items():
    for rate, low, high in cases:
        for order in range(1, 11):
            wn = low if kind in ("lowpass", "highpass") else [low, high]
            sos = signal.butter(order, wn, btype=kind, output='sos', fs=rate)
            add(f"butter/{kind}/{order}/{rate:g}/{low:g}/{high:g}", sos, kind=kind, order=order, low_hz=low,
                high_hz=high, rate_hz=rate)

# 2. iirnotch at 50/60 Hz and harmonics.
for rate in (1000.0, 2000.0):
    for mains in (50.0, 60.0):
        for quality in (20.0, 30.0):
            h = 1
            while mains * h < rate / 2 and h <= 8:
                b, a = signal.iirnotch(mains * h, quality, fs=rate)
                add(f"iirnotch/{rate:g}/{mains * h:g}/{quality:g}", np.concatenate([b, a]), notch_hz=mains * h,
                    quality=quality, rate_hz=rate)
                h += 1

# 3. A test signal: EMG-like noise bursts + 50 Hz mains + DC offset, 2000 samples at 2000 Hz.
rate = 2000.0
n = 2000
rng = np.random.default_rng(20240501)
t = np.arange(n) / rate
burst = np.where((t > 0.3) & (t < 0.7), 1.0, 0.1)
x = 0.5 + burst * rng.standard_normal(n) + 0.3 * np.sin(2 * np.pi * 50.0 * t)
add("signal", x, rate_hz=rate)

chain = np.vstack([signal.butter(4, [20.0, 450.0], btype='bandpass', output='sos', fs=rate),
                   np.array([np.concatenate(signal.iirnotch(50.0 * h, 20.0, fs=rate)) for h in (1, 2, 3)])])
add("chain_sos", chain, rate_hz=rate)
add("sosfilt/chain", signal.sosfilt(chain, x))
add("sosfiltfilt/chain", signal.sosfiltfilt(chain, x))
add("sosfilt_zi/chain", signal.sosfilt_zi(chain))
hp1 = signal.butter(1, 30.0, btype='highpass', output='sos', fs=rate)   # odd order: zero b2/a2 padding
add("sosfiltfilt/highpass1", signal.sosfiltfilt(hp1, x), order=1, cutoff_hz=30.0)
lp3 = signal.butter(3, 100.0, btype='lowpass', output='sos', fs=rate)
add("sosfiltfilt/lowpass3", signal.sosfiltfilt(lp3, x), order=3, cutoff_hz=100.0)

# 4. Envelopes: linear envelope (|x| -> zero-phase Butterworth low-pass), moving RMS (np.convolve), TKEO.
bandpassed = signal.sosfiltfilt(signal.butter(4, [20.0, 450.0], btype='bandpass', output='sos', fs=rate), x)
add("bandpassed", bandpassed)
lp_env = signal.butter(2, 6.0, btype='lowpass', output='sos', fs=rate)
add("linear_envelope_causal/6hz", signal.sosfilt(lp_env, np.abs(bandpassed)), order=2, cutoff_hz=6.0)
add("linear_envelope/6hz", signal.sosfiltfilt(lp_env, np.abs(bandpassed)), order=2, cutoff_hz=6.0)
window = int(round(50.0 * rate / 1000.0))
add("moving_rms_centered/50ms", np.sqrt(np.convolve(bandpassed ** 2, np.ones(window) / window, mode='same')),
    window_ms=50.0)
window_odd = int(round(25.5 * rate / 1000.0))  # 51 samples: the odd-window centring
add("moving_rms_centered/25.5ms",
    np.sqrt(np.convolve(bandpassed ** 2, np.ones(window_odd) / window_odd, mode='same')), window_ms=25.5)
psi = np.empty_like(bandpassed)
psi[1:-1] = bandpassed[1:-1] ** 2 - bandpassed[:-2] * bandpassed[2:]
psi[0], psi[-1] = psi[1], psi[-2]
add("tkeo", psi)

# 5. Welch PSD (scipy defaults with explicit nperseg) and spectral indices (independent numpy code).
for nperseg in (256, 1000):
    f, pxx = signal.welch(bandpassed, fs=rate, window='hann', nperseg=nperseg, noverlap=nperseg // 2,
                          detrend='constant', scaling='density')
    add(f"welch/{nperseg}/f", f, segment_samples=nperseg)
    add(f"welch/{nperseg}/psd", pxx, segment_samples=nperseg)
    band = (f >= 20.0) & (f <= 450.0)
    fb, pb = f[band], pxx[band]
    mean_hz = np.sum(fb * pb) / np.sum(pb)
    median_hz = fb[np.nonzero(np.cumsum(pb) > np.sum(pb) / 2)[0][0]]
    finsm5 = np.sum(pb / fb) / np.sum(pb * fb ** 5)
    add(f"indices/{nperseg}", [mean_hz, median_hz, finsm5], segment_samples=nperseg, low_hz=20.0, high_hz=450.0)

with open(os.path.join(HERE, "reference.bin"), "wb") as out:
    for c in chunks:
        out.write(c)
with open(os.path.join(HERE, "reference.json"), "w") as out:
    json.dump({"generator": "tests/dsp/reference/generate.py", "scipy": scipy.__version__, "numpy": np.__version__,
               "python": sys.version.split()[0], "entries": entries}, out, separators=(",", ":"), sort_keys=True)
print(f"{len(entries)} entries, {offset} doubles ({offset * 8 / 1024:.0f} KiB)")
