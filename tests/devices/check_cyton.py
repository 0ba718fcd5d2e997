"""Read a Cyton session with h5py only (no glutescope code) and check units and rates are attributes.

Usage: check_cyton.py SESSION.h5 CHANNELS RATE_HZ GAIN
The expected scale factors are computed here from OpenBCI's documented equations (docs.openbci.com
"Cyton Data Format", Interpreting the EEG Data): 4.5 V / gain / (2^23 - 1) per count and 0.002 / 2^4 g.
Exits 0 when every check passes, 1 listing the failures.
"""
import sys

import h5py

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def main(path, channels, rate, gain):
    f = h5py.File(path, "r")
    dev = f["/general/device"].attrs
    check(dev["device_model"] == ("cyton-daisy" if channels == 16 else "cyton"), f"device_model {dev['device_model']!r}")
    check(dev["loss_detection"] == "counter-wraps", f"loss_detection {dev['loss_detection']!r}")
    check(float(dev["emg_rate_hz"]) == rate, f"emg_rate_hz {dev['emg_rate_hz']}")
    check(dev["emg_format"] == "int24", "emg_format")
    emg = f["/acquisition/emg/data"]
    check(emg.shape[1] == channels, f"EMG shape {emg.shape}")
    check(emg.attrs["unit"] == "volts", "EMG unit")
    check(abs(float(emg.attrs["conversion"]) - 1e-6) < 1e-18, "EMG conversion (uV -> V)")
    expected_uv = 4.5 / gain / (2 ** 23 - 1) * 1e6
    for c, v in enumerate(emg.attrs["channel_conversion"]):
        check(abs(v - expected_uv) < 1e-12, f"channel_conversion[{c}] = {v}, expected {expected_uv}")
    check(float(f["/acquisition/emg"].attrs["rate_hz"]) == rate, "EMG group rate_hz")
    check(float(f["/acquisition/emg/starting_time"].attrs["rate"]) == rate, "starting_time rate")
    imu = f["/acquisition/imu/accel"]
    check(float(imu.attrs["rate_hz"]) == 25.0, f"accelerometer rate {imu.attrs['rate_hz']}")
    acc = imu["accelerometer"]
    check(acc.attrs["unit"] == "g" and abs(float(acc.attrs["conversion"]) - 0.002 / 16) < 1e-15, "accelerometer scale")
    gyro = imu["gyroscope"]
    check(float(gyro.attrs["conversion"]) == 0.0, "gyroscope conversion must be 0 (no gyroscope)")
    check("no gyroscope" in gyro.attrs["description"], f"gyroscope description {gyro.attrs['description']!r}")
    check(not gyro[()].any(), "gyroscope rows must be zeros")
    # 1 g of gravity on the sacrum, whichever way the board lies.
    norm = (acc[()].astype(float) ** 2).sum(axis=1) ** 0.5 * 0.002 / 16
    check(acc.shape[0] > 0 and 0.8 < norm.mean() < 1.2, f"mean |accel| = {norm.mean() if acc.shape[0] else 0} g")
    if failures:
        print("\n".join(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])))
