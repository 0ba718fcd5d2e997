"""Check a glutescope session file (format v1) the way a researcher would read it: with h5py only.

Usage: check_session.py SESSION.h5   (the reference session of tests/store/session_fixture.hpp)
Exits 0 when every check passes, 1 with the failures listed otherwise.
The test signal is re-implemented here from its definition, independently of the C++ writer.
"""
import sys

import h5py
import numpy as np

MASK = (1 << 64) - 1
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def emg_value(s, c):
    x = (s * 0x9E3779B97F4A7C15 + c * 0xBF58476D1CE4E5B9 + 1) & MASK
    x ^= x >> 31
    x = (x * 0x94D049BB133111EB) & MASK
    x ^= x >> 29
    return int(x % 65536) - 32768


def imu_value(s, sensor, axis):
    v = emg_value(s * 7 + sensor, axis + 100)
    return (v + 32768) % 65536 - 32768  # int16 wrap, as the C++ static_cast


def main(path):
    f = h5py.File(path, "r")
    for name, expected in [("format", "glutescope-session"), ("format_version", "1.2"), ("status", "complete")]:
        value = f.attrs[name]
        check(isinstance(value, str), f"/@{name} is {type(value).__name__}, not str")
        check(value == expected, f"/@{name} = {value!r}, expected {expected!r}")
    start = f.attrs["session_start_time"]
    check(isinstance(start, str) and start[10] == "T" and start[-3] == ":" and start[-6] in "+-",
          f"session_start_time {start!r} is not ISO 8601 with a UTC offset")
    check(f.attrs["software_version"].startswith("glutescope "), "software_version")
    check(f["/general/subject"].attrs["subject_id"] == "S017", "subject_id")
    check(set(f["/general/subject"].attrs.keys()) == {"subject_id"}, "subject group holds more than subject_id")
    dev = f["/general/device"].attrs
    check(dev["serial_number"] == "GS-000123" and dev["emg_format"] == "int16", "device attributes")
    check(float(dev["emg_rate_hz"]) == 2000.0, "emg_rate_hz")

    # Channel table: column datasets named by colnames.
    ch = f["/general/channels"]
    colnames = list(ch.attrs["colnames"])
    check(all(isinstance(c, str) for c in colnames), "colnames are not str")
    for c in colnames:
        check(ch[c].shape == (8,), f"channel column {c} has shape {ch[c].shape}")
    labels = [x.decode() for x in ch["label"][()]]
    check(labels == [f"M{i}" for i in range(8)], f"channel labels {labels}")
    sites = list(ch["electrode_site"].asstr()[()])
    check(sites[3] == "site é 3", f"UTF-8 electrode site {sites[3]!r}")
    muscles = list(ch["muscle"].asstr()[()])
    check(muscles[:3] == ["gluteus_maximus", "gluteus_medius", "erector_spinae_lumbar"], f"muscles {muscles}")
    uv_per_count = ch["microvolts_per_count"][()]
    check(np.allclose(uv_per_count, 0.1 + 0.05 * np.arange(8)), "microvolts_per_count")

    # EMG data: int16 counts [samples x channels], NWB-style scaling.
    emg = f["/acquisition/emg"]
    data = emg["data"]
    rows = 6000 - 40
    check(data.dtype == np.int16, f"EMG dtype {data.dtype}")
    check(data.shape == (rows, 8), f"EMG shape {data.shape}")
    check(data.attrs["unit"] == "volts", "EMG unit")
    check(data.chunks is not None and data.maxshape[0] is None, "EMG not chunked/extendible")
    sample_index = emg["sample_index"][()]
    check(sample_index.dtype == np.uint64, "sample_index dtype")
    expected_samples = np.array([s for s in range(6000) if not 2000 <= s < 2040], dtype=np.uint64)
    check(np.array_equal(sample_index, expected_samples), "sample_index")
    counts = data[()]
    expected = np.array([[emg_value(int(s), c) for c in range(8)] for s in expected_samples], dtype=np.int64)
    check(np.array_equal(counts.astype(np.int64), expected), "EMG counts differ from the test signal")
    volts = counts * data.attrs["conversion"] * data.attrs["channel_conversion"][np.newaxis, :] + data.attrs["offset"]
    check(np.allclose(volts * 1e6, expected * (0.1 + 0.05 * np.arange(8))[np.newaxis, :], rtol=1e-12, atol=1e-9),
          "counts x conversion x channel_conversion != expected microvolts")
    check(emg["starting_time"].attrs["rate"] == 2000.0 and emg["starting_time"][()] == 0.0, "starting_time/rate")
    # Time of each row on the device's nominal clock: sample_index / rate.
    t = sample_index / emg["starting_time"].attrs["rate"]
    check(abs(t[2000] - 2040 / 2000.0) < 1e-12, "row after the gap does not map to its sample time")
    first_row = emg["block_first_row"][()]
    check(np.array_equal(first_row, np.arange(rows // 20, dtype=np.uint64) * 20), "block_first_row")
    check(np.array_equal(emg["block_device_time_us"][()], sample_index[first_row.astype(np.int64)] * 500 + 17),
          "block_device_time_us")
    check(np.allclose(emg["block_host_time"][()], 100.0 + sample_index[first_row.astype(np.int64)] / 2000.0 + 0.003),
          "block_host_time")

    # IMU 1 (thigh_left, with magnetometer): counts x conversion = g, deg/s, µT.
    imu = f["/acquisition/imu/imu_1"]
    check(imu.attrs["segment"] == "thigh_left", "IMU segment")
    acc = imu["accelerometer"]
    check(acc.dtype == np.int16 and acc.shape == (rows // 20, 3), f"accelerometer {acc.dtype} {acc.shape}")
    check(acc.attrs["unit"] == "g" and imu["gyroscope"].attrs["unit"] == "degrees/s", "IMU units")
    s = imu["sample_index"][()]
    check(np.array_equal(s, expected_samples[::20] // 20), "IMU sample_index")
    exp_acc = np.array([[imu_value(int(x), 1, k) for k in range(3)] for x in s])
    check(np.allclose(acc[()] * acc.attrs["conversion"], exp_acc * 4.0 / 32768.0), "accelerometer in g")
    gyro = imu["gyroscope"]
    exp_gyro = np.array([[imu_value(int(x), 1, 3 + k) for k in range(3)] for x in s])
    check(np.allclose(gyro[()] * gyro.attrs["conversion"], exp_gyro * 500.0 / 32768.0), "gyroscope in deg/s")
    check("magnetometer" in imu and "magnetometer" not in f["/acquisition/imu/imu_0"], "magnetometer presence")
    check(list(f["/general/imu_sensors/label"].asstr()[()]) == ["imu_0", "imu_1"], "IMU table labels")

    # Events table.
    ev = f["/intervals/events"]
    check(list(ev.attrs["colnames"]) == ["time_s", "kind", "exercise", "muscle", "side", "channel", "text",
                                         "emg_sample"], "events colnames")
    # Format 1.1: a device-stamped event's EMG sample position, NaN for host-stamped ones (the fixture's
    # set_start is device-stamped at sample 1000.25, the other two are not).
    emg_sample = ev["emg_sample"][()]
    check(emg_sample.dtype == np.float64 and emg_sample[0] == 1000.25 and np.isnan(emg_sample[1:]).all(),
          f"event emg_sample {emg_sample}")
    kind_names = dict(zip(ev["kind"].attrs["label_values"], ev["kind"].attrs["label_names"]))
    kinds = [kind_names[k] for k in ev["kind"][()]]
    check(kinds == ["set_start", "lead_off", "note"], f"event kinds {kinds}")
    check(list(ev["text"].asstr()[()]) == ["bridge set 1", "ES_R électrode", ""], "event texts")
    check(np.allclose(ev["time_s"][()], [0.5, 1.25, 2.75]), "event times")
    check(list(ev["channel"][()]) == [-1, 5, -1], "event channels")
    muscle_names = dict(zip(ev["muscle"].attrs["label_values"], ev["muscle"].attrs["label_names"]))
    check(muscle_names[ev["muscle"][1]] == "erector_spinae_lumbar", "event muscle label")

    # Gaps, timing fit, statistics.
    gaps = f["/intervals/gaps"]
    check(list(gaps["start_sample"][()]) == [2000] and list(gaps["count"][()]) == [40], "gaps")
    stream_names = dict(zip(gaps["stream"].attrs["label_values"], gaps["stream"].attrs["label_names"]))
    check(stream_names[gaps["stream"][0]] == "emg", "gap stream label")
    fit = f["/general/timing_fit"].attrs
    check(fit["drift_ppm"] == -12.5 and fit["points"] == 250, "timing fit")
    stats = f["/general/statistics"].attrs
    check(stats["emg_samples"] == rows and stats["crc_errors"] == 2 and stats["queue_overflow_blocks"] == 0,
          "statistics")
    f.close()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check_session.py SESSION.h5")
    main(sys.argv[1])
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("session layout OK")
