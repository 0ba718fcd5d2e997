#!/usr/bin/env python3
"""Golden vectors for glutescope wire protocol v1 (../PROTOCOL.md).

An independent reference: plain Python 3 standard library, its own bitwise CRC-32C and COBS, written from
the specifications (CRC-32C: Castagnoli et al. 1993, RFC 3720 §12.1; COBS: Cheshire & Baker 1999), not from
the C codec. Writes vectors.json next to this file (or to stdout with --stdout):

  {"protocol_version": 1, "vectors": [{"name", "type", "header": {...}, "fields": {...}, "wire_hex"}, ...],
   "invalid": [{"name", "wire_hex", "error"}, ...]}

`fields` use the C struct member names of glutescope_protocol.h. float32 fields hold the value after
rounding to float32, so comparisons can be exact.
"""
import json
import struct
import sys
from pathlib import Path

VERSION = 1
MSG = {"DEVICE_INFO": 0x01, "EMG_BLOCK": 0x02, "IMU_BLOCK": 0x03, "EVENT": 0x04, "STATUS": 0x05,
       "COMMAND": 0x10, "ACK": 0x11}
MAX_FRAME = 1024


def crc32c(data: bytes) -> int:
    """Bitwise CRC-32C: reflected polynomial 0x82F63B78, init and xorout 0xFFFFFFFF."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def cobs_encode(data: bytes) -> bytes:
    """COBS: split at zeros into blocks of at most 254 data bytes, each led by (length + 1); a full block
    (code 0xFF) implies no zero. A run of 254 non-zero bytes at the very end gets no empty trailing block."""
    out = bytearray()
    block = bytearray()
    last_block_full = False
    for byte in data:
        last_block_full = False
        if byte == 0:
            out.append(len(block) + 1)
            out += block
            block = bytearray()
        else:
            block.append(byte)
            if len(block) == 254:
                out.append(0xFF)
                out += block
                block = bytearray()
                last_block_full = True
    if not last_block_full:
        out.append(len(block) + 1)
        out += block
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        code = data[i]
        assert code != 0 and i + code <= len(data)
        out += data[i + 1:i + code]
        assert 0 not in data[i + 1:i + code]
        i += code
        if code != 0xFF and i < len(data):
            out.append(0)
    return bytes(out)


def f32(x: float) -> float:
    """The value a float32 field carries."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def frame(msg_type: int, device_id: int, sequence: int, timestamp_us: int, payload: bytes,
          version: int = VERSION) -> bytes:
    header = struct.pack("<BBHIQH", version, msg_type, device_id, sequence, timestamp_us, len(payload))
    raw = header + payload
    raw += struct.pack("<I", crc32c(raw))
    assert len(raw) <= MAX_FRAME
    wire = cobs_encode(raw) + b"\x00"
    assert cobs_decode(wire[:-1]) == raw
    return wire


def lstr(text: str) -> bytes:
    data = text.encode("utf-8")
    return bytes([len(data)]) + data


# ---- payload encoders (layouts as in PROTOCOL.md §4) ------------------------------------------------

def device_info_payload(f: dict) -> bytes:
    p = struct.pack("<BBBBf", f["protocol_minor"], f["emg_format"], len(f["emg"]), len(f["imu"]), f["emg_rate_hz"])
    p += lstr(f["firmware_version"]) + lstr(f["serial_number"])
    for c in f["emg"]:
        p += lstr(c["label"]) + struct.pack("<Bff", c["kind"], c["gain"], c["microvolts_per_count"])
    for m in f["imu"]:
        p += lstr(m["label"]) + struct.pack("<Bffffff", m["flags"], m["rate_hz"], m["accel_range_g"],
                                            m["gyro_range_dps"], m["accel_g_per_count"], m["gyro_dps_per_count"],
                                            m["mag_ut_per_count"])
    return p


def emg_block_payload(f: dict) -> bytes:
    n, c, fmt = f["sample_count"], f["channel_count"], f["format"]
    assert len(f["counts"]) == n * c
    p = struct.pack("<IHBB", f["first_sample"], n, c, fmt)
    width = 2 if fmt == 0 else 3
    for v in f["counts"]:
        p += (v & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
    return p


def imu_block_payload(f: dict) -> bytes:
    has_mag = f["flags"] & 1
    p = struct.pack("<BBHI", f["sensor"], f["flags"], f["sample_count"], f["first_sample"])
    for i in range(f["sample_count"]):
        axes = f["accel"][3 * i:3 * i + 3] + f["gyro"][3 * i:3 * i + 3]
        if has_mag:
            axes += f["mag"][3 * i:3 * i + 3]
        p += struct.pack("<" + "h" * len(axes), *axes)
    return p


# EVENT kinds SET_START / SET_STOP and their codes, written from the tables of PROTOCOL.md §4.4 (the same
# numbers as glutescope::Exercise / Muscle / Side, src/core/montage.hpp).
EVENT_SET_START = 5
EVENT_SET_STOP = 6
EXERCISE = {"bridge": 0, "clamshell": 1, "mvc": 2, "other": 255}
MUSCLE = {"gluteus_maximus": 0, "gluteus_medius": 1, "erector_spinae_lumbar": 2, "biceps_femoris": 3,
          "tensor_fasciae_latae": 4, "other": 255}
SIDE = {"left": 0, "right": 1, "midline": 2, "unknown": 3}


def mvc_target(muscle: str, side: str) -> int:
    return MUSCLE[muscle] | SIDE[side] << 8


def event_payload(f: dict) -> bytes:
    return struct.pack("<BBHI", f["kind"], 0, f["arg"], f["value"])


def status_payload(f: dict) -> bytes:
    return struct.pack("<BBHII", f["battery_percent"], f["state"], f["battery_mv"], f["overflow_count"], f["uptime_s"])


def command_payload(f: dict) -> bytes:
    return struct.pack("<HBBI", f["command_id"], f["opcode"], f["target"], f["argument"])


def ack_payload(f: dict) -> bytes:
    return struct.pack("<HBB", f["command_id"], f["opcode"], f["result"])


ENCODERS = {"DEVICE_INFO": device_info_payload, "EMG_BLOCK": emg_block_payload, "IMU_BLOCK": imu_block_payload,
            "EVENT": event_payload, "STATUS": status_payload, "COMMAND": command_payload, "ACK": ack_payload}


def vector(name, msg, header, fields):
    wire = frame(MSG[msg], header["device_id"], header["sequence"], header["timestamp_us"], ENCODERS[msg](fields))
    return {"name": name, "type": msg, "header": header, "fields": fields, "wire_hex": wire.hex()}


def hdr(device_id=0x0102, sequence=0, timestamp_us=0):
    return {"device_id": device_id, "sequence": sequence, "timestamp_us": timestamp_us}


def build() -> dict:
    emg_channels = [
        {"label": "GMax_L", "kind": 0, "gain": f32(24.0), "microvolts_per_count": f32(4.5e6 / 24 / (2**23 - 1))},
        {"label": "GMax_R", "kind": 0, "gain": f32(24.0), "microvolts_per_count": f32(4.5e6 / 24 / (2**23 - 1))},
        {"label": "ES_L3_L", "kind": 0, "gain": f32(12.0), "microvolts_per_count": f32(4.5e6 / 12 / (2**23 - 1))},
        {"label": "test", "kind": 2, "gain": f32(1.0), "microvolts_per_count": f32(0.5)},
    ]
    imus = [
        {"label": "imu_sacrum", "flags": 0, "rate_hz": f32(200.0), "accel_range_g": f32(8.0),
         "gyro_range_dps": f32(2000.0), "accel_g_per_count": f32(8.0 / 32768), "gyro_dps_per_count": f32(2000.0 / 32768),
         "mag_ut_per_count": f32(0.0)},
        {"label": "imu_thigh_L", "flags": 1, "rate_hz": f32(100.0), "accel_range_g": f32(16.0),
         "gyro_range_dps": f32(1000.0), "accel_g_per_count": f32(16.0 / 32768),
         "gyro_dps_per_count": f32(1000.0 / 32768), "mag_ut_per_count": f32(0.15)},
    ]
    device_info = {"protocol_minor": 0, "firmware_version": "gs-fw 1.2.3", "serial_number": "GS-000042",
                   "emg_format": 1, "emg_rate_hz": f32(2000.0), "emg": emg_channels, "imu": imus}
    long_run = [0x0101 + i for i in range(130)]  # 260 non-zero payload bytes: exercises the 0xFF COBS code
    vectors = [
        vector("device_info", "DEVICE_INFO", hdr(sequence=0, timestamp_us=1_000), device_info),
        vector("device_info_empty", "DEVICE_INFO", hdr(device_id=7, sequence=1, timestamp_us=0),
               {"protocol_minor": 0, "firmware_version": "", "serial_number": "", "emg_format": 0,
                "emg_rate_hz": f32(1000.0), "emg": [], "imu": []}),
        vector("emg_int16", "EMG_BLOCK", hdr(sequence=2, timestamp_us=1_500_000),
               {"first_sample": 3000, "sample_count": 3, "channel_count": 4, "format": 0,
                "counts": [0, 1, -1, 32767, -32768, 256, -256, 12345, 0, 0, 7, -7]}),
        vector("emg_int24", "EMG_BLOCK", hdr(sequence=3, timestamp_us=1_500_500),
               {"first_sample": 0xFFFFFFFF, "sample_count": 2, "channel_count": 2, "format": 1,
                "counts": [8388607, -8388608, 0x123456, -1]}),
        vector("emg_zero_samples", "EMG_BLOCK", hdr(sequence=4, timestamp_us=2_000_000),
               {"first_sample": 17, "sample_count": 0, "channel_count": 8, "format": 0, "counts": []}),
        vector("emg_long_nonzero_run", "EMG_BLOCK", hdr(device_id=0x0101, sequence=0x01010101, timestamp_us=0x0101010101010101),
               {"first_sample": 0x01010101, "sample_count": 130, "channel_count": 1, "format": 0, "counts": long_run}),
        vector("imu_six_axis", "IMU_BLOCK", hdr(sequence=5, timestamp_us=1_505_000),
               {"sensor": 0, "flags": 0, "sample_count": 2, "first_sample": 300,
                "accel": [0, 0, 4096, -1, 2, -32768], "gyro": [10, -10, 0, 32767, 0, -1], "mag": []}),
        vector("imu_nine_axis", "IMU_BLOCK", hdr(sequence=6, timestamp_us=1_510_000),
               {"sensor": 1, "flags": 1, "sample_count": 1, "first_sample": 150,
                "accel": [100, -200, 300], "gyro": [-1, 1, 0], "mag": [250, -250, 0]}),
        vector("event_lead_off", "EVENT", hdr(sequence=7, timestamp_us=1_600_000),
               {"kind": 0, "arg": 2, "value": 0}),
        vector("event_marker", "EVENT", hdr(sequence=8, timestamp_us=1_700_000),
               {"kind": 3, "arg": 513, "value": 0}),
        vector("event_battery_low", "EVENT", hdr(sequence=9, timestamp_us=1_800_000),
               {"kind": 4, "arg": 0, "value": 3400}),
        # Set events (PROTOCOL.md §4.4): arg = exercise code, value = MVC muscle | side << 8.
        vector("event_set_start_bridge", "EVENT", hdr(sequence=11, timestamp_us=2_100_000),
               {"kind": EVENT_SET_START, "arg": EXERCISE["bridge"], "value": 0}),
        vector("event_set_start_mvc", "EVENT", hdr(sequence=12, timestamp_us=2_200_000),
               {"kind": EVENT_SET_START, "arg": EXERCISE["mvc"],
                "value": mvc_target("gluteus_maximus", "left")}),
        vector("event_set_stop_mvc", "EVENT", hdr(sequence=13, timestamp_us=5_200_000),
               {"kind": EVENT_SET_STOP, "arg": EXERCISE["mvc"],
                "value": mvc_target("gluteus_maximus", "left")}),
        vector("event_set_start_mvc_gmed_right", "EVENT", hdr(sequence=14, timestamp_us=8_200_000),
               {"kind": EVENT_SET_START, "arg": EXERCISE["mvc"],
                "value": mvc_target("gluteus_medius", "right")}),
        vector("status", "STATUS", hdr(sequence=10, timestamp_us=2_000_000),
               {"battery_percent": 87, "state": 1, "battery_mv": 3987, "overflow_count": 5, "uptime_s": 3600}),
        vector("command_set_emg_rate", "COMMAND", hdr(sequence=0, timestamp_us=0),
               {"command_id": 42, "opcode": 3, "target": 0, "argument": 2000}),
        vector("command_request_device_info", "COMMAND", hdr(sequence=1, timestamp_us=0),
               {"command_id": 43, "opcode": 5, "target": 0, "argument": 0}),
        vector("ack", "ACK", hdr(sequence=0xFFFFFFFF, timestamp_us=0xFFFFFFFFFFFFFFFF),
               {"command_id": 42, "opcode": 3, "result": 3}),
    ]
    # Frames a v1 decoder must reject (or skip), with the result it must report.
    good = bytes.fromhex(next(v for v in vectors if v["name"] == "event_battery_low")["wire_hex"])
    raw = cobs_decode(good[:-1])
    bad_crc = bytearray(raw)
    bad_crc[-1] ^= 0x01
    short_raw = raw[:10]
    wrong_len = bytearray(raw[:-4])
    wrong_len[16] += 1  # payload_length one too large, CRC recomputed so only the length is wrong
    wrong_len += struct.pack("<I", crc32c(bytes(wrong_len)))
    invalid = [
        {"name": "bad_crc", "wire_hex": (cobs_encode(bytes(bad_crc)) + b"\x00").hex(), "error": "BAD_CRC"},
        {"name": "too_short", "wire_hex": (cobs_encode(short_raw) + b"\x00").hex(), "error": "TOO_SHORT"},
        {"name": "bad_length", "wire_hex": (cobs_encode(bytes(wrong_len)) + b"\x00").hex(), "error": "BAD_LENGTH"},
        {"name": "bad_cobs_code_past_end", "wire_hex": "0511223300", "error": "BAD_COBS"},
        {"name": "version_2", "wire_hex": frame(0x04, 1, 1, 1, b"\x00" * 8, version=2).hex(),
         "error": "UNSUPPORTED_VERSION"},
        {"name": "unknown_type_0x7e", "wire_hex": frame(0x7E, 1, 1, 1, b"\x01\x02\x03").hex(), "error": "OK",
         "note": "intact frame of an unknown type: decodes, then is skipped and counted by the host"},
    ]
    return {"protocol_version": VERSION, "crc32c_check": {"input_ascii": "123456789", "crc": crc32c(b"123456789")},
            # CRC-32C of each single byte 0x00..0xFF: touches every entry of a 256-entry lookup table.
            "crc32c_single_bytes": [crc32c(bytes([i])) for i in range(256)],
            "vectors": vectors, "invalid": invalid}


def main() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # RFC 3720 / Castagnoli check value
    assert cobs_encode(b"\x00") == b"\x01\x01"
    assert cobs_encode(b"\x11\x22\x00\x33") == b"\x03\x11\x22\x02\x33"
    assert cobs_encode(bytes(range(1, 255))) == b"\xff" + bytes(range(1, 255))
    text = json.dumps(build(), indent=1) + "\n"
    if "--stdout" in sys.argv:
        sys.stdout.write(text)
    else:
        (Path(__file__).resolve().parent / "vectors.json").write_text(text)


if __name__ == "__main__":
    main()
