#!/usr/bin/env python3
"""Error of a time-blocked zero-phase filter against scipy.signal.sosfiltfilt (docs/PERFORMANCE.md, "What the
last two targets need").

The forward pass runs over the whole (odd-extended) record as sosfiltfilt's does. The backward pass runs block
by block: block [k0, k0 + B) starts M rows later, at k0 + B + M, from zero state or from sosfilt_zi scaled
by the forward output there (the record's true end starts as sosfiltfilt does). The transient of that
starting state decays like |largest pole|^m. Prints the largest error for several margins M on a 10-minute
EMG-like record (noise bursts, 50 Hz mains, slow drift) at 2 kHz through glutescope's band-pass (20-450 Hz,
order 4). Run: python3 tools/bench/blocked_zero_phase_error.py
"""
import numpy as np
from scipy import signal

FS = 2000.0
BLOCK = 65536


def emg_like(n, seed=7):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FS
    bursts = 50 + 200 * (np.sin(2 * np.pi * 0.2 * t) > 0.5)
    return (rng.standard_normal(n) * bursts + 30 * np.sin(2 * np.pi * 50 * t)
            + 500 * np.sin(2 * np.pi * 0.05 * t))


def blocked_filtfilt(sos, x, block, margin, start):
    pad = 3 * (2 * len(sos) + 1)
    zi = signal.sosfilt_zi(sos)
    ext = np.concatenate([2 * x[0] - x[pad:0:-1], x, 2 * x[-1] - x[-2:-(pad + 2):-1]])
    forward, _ = signal.sosfilt(sos, ext, zi=zi * ext[0])
    out = np.empty(len(ext))
    for k0 in range(0, len(ext), block):
        end = min(len(ext), k0 + block + margin)
        seg = forward[k0:end][::-1]
        state = zi * seg[0] if (end == len(ext) or start == "zi") else np.zeros_like(zi)
        y, _ = signal.sosfilt(sos, seg, zi=state)
        stop = min(len(ext), k0 + block)
        out[k0:stop] = y[::-1][:stop - k0]
    return out[pad:pad + len(x)]


def main():
    sos = signal.butter(4, [20, 450], btype="bandpass", fs=FS, output="sos")
    poles = np.concatenate([np.roots([1.0, s[4], s[5]]) for s in sos])
    radius = np.max(np.abs(poles))
    print(f"band-pass 20-450 Hz order 4 at {FS:.0f} Hz: largest |pole| {radius:.6f}; "
          f"|p|^M < 1e-16 from M = {np.log(1e-16) / np.log(radius):.0f}")
    x = emg_like(600 * int(FS))
    ref = signal.sosfiltfilt(sos, x)
    scale = np.max(np.abs(ref))
    for margin in (512, 1024, 1620, 2048, 4096):
        for start in ("zero", "zi"):
            err = np.max(np.abs(blocked_filtfilt(sos, x, BLOCK, margin, start) - ref))
            print(f"block {BLOCK}, margin {margin:5d}, start {start:4s}: largest error {err:.2e} uV "
                  f"= {err / scale:.1e} of the largest output ({scale:.0f} uV)")


if __name__ == "__main__":
    main()
