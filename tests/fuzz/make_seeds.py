#!/usr/bin/env python3
"""Writes the committed seed corpora of the protocol harnesses (tests/fuzz/corpus/{codec,stream}/) from
firmware-protocol/vectors/vectors.json, tests/recorder/reliability/ and a short simulated session.

Usage: tests/fuzz/make_seeds.py GLUTESCOPE_BINARY   (standard library only; re-run after a protocol change)
"""
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

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
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    print(f"seeds: {len(list(codec.iterdir()))} codec, {len(list(stream.iterdir()))} stream, {total} bytes")


if __name__ == "__main__":
    main()
