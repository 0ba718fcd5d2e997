#!/usr/bin/env python3
"""Writes the committed seed corpora of the protocol harnesses (tests/fuzz/corpus/{codec,stream}/) from
firmware-protocol/vectors/vectors.json, tests/recorder/reliability/ and a short simulated session, and of
the device-decoder harnesses (corpus/{cyton,bitalino,trigno}/) from the golden vectors of tests/devices/
and a few KB of each device emulator's output (`glutescope simulate --device NAME`, read over its
pseudo-terminal or TCP ports as the recorder would). Seeds named finding_* are reproducers of fixed
findings and are kept.

Usage: tests/fuzz/make_seeds.py GLUTESCOPE_BINARY   (standard library only; re-run after a protocol change)
"""
import json
import os
import pathlib
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import tty

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fuzz" / "corpus"


def cobs_decode(data: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(data):
        code = data[i]
        block = data[i + 1:i + code]
        out += block
        i += code
        if code < 0xFF and i < len(data):
            out.append(0)
    return bytes(out)


def record(wire_frame: bytes) -> bytes:
    """u16 LE length + the raw frame without CRC (support/frame_records.hpp)."""
    raw = cobs_decode(wire_frame)[:-4]
    return len(raw).to_bytes(2, "little") + raw


# ---- Device decoders: layout of tests/fuzz/device_fuzz.hpp -----------------------------------------

def device_seed(options: int, records, seed: int = 0, away_10ms: int = 0) -> bytes:
    """Header (chunking seed, options, away time) + records [tag][u16 LE length][bytes]."""
    out = bytes([seed, options, away_10ms])
    for tag, data in records:
        out += bytes([tag]) + struct.pack("<H", len(data)) + data
    return out


def read_exactly(fd: int, n: int, timeout_s: float = 20.0) -> bytes:
    data, end = b"", time.monotonic() + timeout_s
    while len(data) < n and time.monotonic() < end:
        if select.select([fd], [], [], 0.5)[0]:
            data += os.read(fd, n - len(data))
    return data


def read_until(fd: int, marker: bytes, timeout_s: float = 10.0) -> bytes:
    data, end = b"", time.monotonic() + timeout_s
    while marker not in data and time.monotonic() < end:
        if select.select([fd], [], [], 0.5)[0]:
            data += os.read(fd, 1)
    return data


def emulator(binary: str, device: str, *faults: str) -> subprocess.Popen:
    # --speed 10, not 0: the Cyton emulator at speed 0 starts its 'b' at the session's end (sends nothing).
    return subprocess.Popen([binary, "simulate", "--device", device, "--reps", "1", "--duration-limit", "2",
                             "--speed", "10", "--reader-timeout", "5", *faults],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def capture_serial(binary: str, device: str, commands, size: int, *faults: str) -> bytes:
    """`size` bytes of a serial emulator's stream after `commands` [(bytes, reply end or None)]."""
    proc = emulator(binary, device, "--pty", *faults)
    try:
        path = proc.stdout.readline().split()[-1]  # "pty: /dev/pts/N"
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd)
        for command, reply_end in commands:
            os.write(fd, command)
            if reply_end:
                read_until(fd, reply_end)
        data = read_exactly(fd, size)
        os.close(fd)
        return data
    finally:
        proc.kill()
        proc.wait()


TRIGNO_STEPS = (["ENDIANNESS?", "FRAME INTERVAL?", "MAX SAMPLES EMG?", "MAX SAMPLES AUX?"] +
                [f"SENSOR {n} PAIRED?" for n in range(1, 17)] + ["START"])


def capture_trigno(binary: str, port: int, emg_size: int, acc_size: int):
    """The base's replies (greeting first) as one byte string, and the first bytes of both data ports."""
    proc = emulator(binary, "trigno", "--listen", f"127.0.0.1:{port}", "--garbage", "5@1")
    try:
        for _ in range(100):
            try:
                cmd = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                time.sleep(0.1)
        replies = read_until(cmd.fileno(), b"\r\n\r\n")
        data = [socket.create_connection(("127.0.0.1", port + k), timeout=10) for k in (1, 2)]
        for step in TRIGNO_STEPS:
            cmd.sendall(step.encode() + b"\r\n\r\n")
            replies += read_until(cmd.fileno(), b"\r\n\r\n")
        emg = read_exactly(data[0].fileno(), emg_size)
        acc = read_exactly(data[1].fileno(), acc_size)
        for s in [cmd] + data:
            s.close()
        return replies, emg, acc
    finally:
        proc.kill()
        proc.wait()


def device_seeds(binary: str) -> None:
    for name in ("cyton", "bitalino", "trigno"):
        d = CORPUS / name
        d.mkdir(parents=True, exist_ok=True)
        for f in d.iterdir():
            if not f.name.startswith("finding_"):
                f.unlink()
    cyton, bitalino, trigno = CORPUS / "cyton", CORPUS / "bitalino", CORPUS / "trigno"

    # Cyton: tests/devices/cyton_golden_test.cpp kPacket (sample number 5) with counters 5, 6, 7, and a
    # jump; then the emulator (plain and Daisy) after 'v' ... '$$$' and 'b', with garbage and a drop.
    golden = bytes.fromhex("a005000001ffffff7fffff800000123456edcbaa001000fff0001f40ff380000c0")
    packets = [golden[:1] + bytes([n]) + golden[2:] for n in (5, 6, 7, 9, 10)]
    (cyton / "golden_counter_jump").write_bytes(device_seed(0x0C, [(0, b"".join(packets))]))
    (cyton / "golden_daisy_reset").write_bytes(
        device_seed(0x01, [(0, b"".join(packets[:3])), (0x80, b"".join(packets[3:]))], away_10ms=50))
    reset = (b"v", b"$$$")
    for device, options, extra in (("cyton", 0x0C, [(b"b", None)]),
                                   ("cyton-daisy", 0x0D, [(b"C", b"$$$"), (b"b", None)])):
        stream = capture_serial(binary, device, [reset] + extra, 33 * 60, "--garbage", "7@20",
                                "--drop-packets", "30-31")
        (cyton / f"emulator_{device}").write_bytes(device_seed(options, [(0, stream)]))
        (cyton / f"emulator_{device}_reconnect").write_bytes(
            device_seed(options, [(0, stream[:33 * 25]), (0x80, stream[33 * 40:])], seed=3, away_10ms=20))

    # BITalino: tests/devices/bitalino_codec_test.cpp golden frames (1, 2 and 6 channels; options bits
    # 2-7 are the input mask, bits 0-1 the rate 1000 Hz), then the emulator's A1-A5 frames at 1000 Hz.
    for name, mask, frame in (("golden_one_channel", 0x01, "00880f"), ("golden_two_channels", 0x03, "aa565515")):
        (bitalino / name).write_bytes(device_seed((mask << 2) | 3, [(0, bytes.fromhex(frame) * 4)]))
    frames = capture_serial(binary, "bitalino", [(b"\x07", b"\n"), (b"\xc3", None), (b"\x7d", None)], 8 * 250,
                            "--garbage", "3@100", "--drop-packets", "150-152")
    (bitalino / "emulator_a1_a5").write_bytes(device_seed(0x03, [(0, frames)]))
    (bitalino / "emulator_a1_a5_reconnect").write_bytes(
        device_seed(0x83, [(0, frames[:8 * 80]), (0x80, frames[8 * 90:])], seed=0x85, away_10ms=10))

    # Trigno: the emulator's greeting and replies, then 20 EMG samples (with 5 garbage bytes in frame 1)
    # and 4 accelerometer samples on their ports, and the same again after a reconnect.
    replies, emg, acc = capture_trigno(binary, 47310, 64 * 30, 192 * 4)
    (trigno / "emulator").write_bytes(device_seed(0, []) + replies + device_seed(0, [(1, emg), (2, acc)])[3:])
    (trigno / "emulator_reconnect").write_bytes(
        bytes([7, 0, 30]) + replies +
        device_seed(0, [(1, emg[:640]), (2, acc[:192]), (0x81, emg[640:]), (0x82, acc[192:])])[3:])


def main() -> None:
    binary = sys.argv[1]
    vectors = json.loads((ROOT / "firmware-protocol" / "vectors" / "vectors.json").read_text())
    codec = CORPUS / "codec"
    stream = CORPUS / "stream"
    for d in (codec, stream):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    for v in vectors["vectors"] + vectors["invalid"]:
        wire = bytes.fromhex(v["wire_hex"])
        frame = wire[:-1] if wire.endswith(b"\0") else wire
        (codec / f"frame_{v['name']}").write_bytes(b"\0" + frame)       # mode 0: wire frame
        (codec / f"cobs_{v['name']}").write_bytes(b"\2" + frame)        # mode 2: COBS
        if "type" in v:
            raw = cobs_decode(frame)
            (codec / f"payload_{v['name']}").write_bytes(b"\1" + raw[1:2] + raw[18:-4])  # mode 1
    # The device-input reproducers (frame records already), and 0.1 s of a simulated session.
    for f in (ROOT / "tests" / "recorder" / "reliability").glob("*.bin"):
        shutil.copy(f, stream / f.name)
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "s.bin"
        subprocess.run([binary, "simulate", "--reps", "1", "--duration-limit", "0.1", "--emg-frame", "10",
                        "--out", str(out)], check=True, stdout=subprocess.DEVNULL)
        frames = [f for f in out.read_bytes().split(b"\0") if f]
    recs = b"".join(record(f) for f in frames)
    (stream / "simulated_0.1s").write_bytes(b"\x05" + recs)
    (stream / "simulated_0.1s_raw").write_bytes(b"\x85" + b"\0".join(frames) + b"\0")  # raw wire mode
    device_seeds(binary)
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    print(f"seeds: {len(list(codec.iterdir()))} codec, {len(list(stream.iterdir()))} stream, {total} bytes")


if __name__ == "__main__":
    main()
