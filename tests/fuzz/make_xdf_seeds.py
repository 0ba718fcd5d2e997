#!/usr/bin/env python3
"""Writes the seed corpus of the XDF reader's harness (tests/fuzz/corpus/xdf_import/): small XDF 1.0 files
(https://github.com/sccn/xdf/wiki/Specifications) in the layout of tests/analysis/xdf_import_test.cpp's
writer (a LabRecorder-like session: int32 EMG, float32 accelerometer and string markers on offset clocks,
in interleaved chunks), and edge cases: every channel_format, 1-, 4- and 8-byte length fields, an empty
samples chunk, a stream without channel labels, a multi-channel string stream. Seeds named finding_* are
reproducers of fixed findings and are kept.

Usage: tests/fuzz/make_xdf_seeds.py   (standard library only)
"""
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fuzz" / "corpus" / "xdf_import"
FORMATS = {"int8": "b", "int16": "h", "int32": "i", "int64": "q", "float32": "f", "double64": "d"}


def varlen(n: int, width: int = 0) -> bytes:
    """NumLengthBytes + Length: the shortest that holds n, or `width` (1, 4 or 8) bytes."""
    width = width or (1 if n <= 0xFF else 4 if n <= 0xFFFFFFFF else 8)
    return bytes([width]) + n.to_bytes(width, "little")


class Xdf:
    def __init__(self, width: int = 0):
        self.bytes = bytearray(b"XDF:")
        self.width = width  # length field of every chunk and count (0: the shortest)

    def chunk(self, tag: int, content: bytes) -> None:
        self.bytes += varlen(len(content) + 2, self.width) + struct.pack("<H", tag) + content

    def file_header(self) -> None:
        self.chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')

    def header(self, stream: int, name: str, kind: str, fmt: str, rate: float, labels, count: int = 0) -> None:
        xml = (f'<?xml version="1.0"?><info><name>{name}</name><type>{kind}</type>'
               f"<channel_count>{count or len(labels)}</channel_count><nominal_srate>{rate:g}</nominal_srate>"
               f"<channel_format>{fmt}</channel_format><desc><channels>")
        xml += "".join(f"<channel><label>{label}</label></channel>" for label in labels)
        self.chunk(2, struct.pack("<I", stream) + (xml + "</channels></desc></info>").encode())

    def samples(self, stream: int, fmt: str, rows, stamps) -> None:
        """rows: one list of values per sample; stamps: a time stamp or None per sample."""
        c = struct.pack("<I", stream) + varlen(len(rows), self.width)
        for row, stamp in zip(rows, stamps):
            c += b"\x00" if stamp is None else b"\x08" + struct.pack("<d", stamp)
            if fmt == "string":
                c += b"".join(varlen(len(v), self.width) + v.encode() for v in row)
            else:
                c += struct.pack("<" + FORMATS[fmt] * len(row), *row)
        self.chunk(3, c)

    def clock_offset(self, stream: int, when: float, offset: float) -> None:
        self.chunk(4, struct.pack("<Idd", stream, when, offset))

    def boundary(self) -> None:
        self.chunk(5, bytes(range(16)))

    def footer(self, stream: int, samples: int) -> None:
        self.chunk(6, struct.pack("<I", stream) + f"<info><sample_count>{samples}</sample_count></info>".encode())


def session(width: int = 0) -> bytes:
    """EMG (int32, 4 ch, 100 Hz), accelerometer (float32, 3 ch, 25 Hz, clock 3.25 s behind) and markers
    (string, clock 1.5 s ahead), two interleaved chunks of each; EMG chunks stamp only their first sample."""
    x = Xdf(width)
    x.file_header()
    x.header(1, "Wearable EMG", "EMG", "int32", 100, ["GMax_L", "GMax_R", "ES_L", "ES_R"])
    x.header(2, "Sacrum IMU", "Accelerometer", "float32", 25, ["ax", "ay", "az"])
    x.header(3, "Operator", "Markers", "string", 0, ["marker"])
    for stream, offset in ((1, 0.0), (2, 3.25), (3, -1.5)):
        x.clock_offset(stream, 1000.0 - offset, offset)
    for part in range(2):
        e0 = part * 10
        x.samples(1, "int32", [[(i * 37 + k * 11) % 200 - 100 for k in range(4)] for i in range(e0, e0 + 10)],
                  [1000.0 + e0 / 100] + [None] * 9)
        x.samples(2, "float32", [[0.0, 0.125 * i, 1.0] for i in range(3)],
                  [1000.0 + part * 0.12 + i / 25 - 3.25 for i in range(3)])
        x.samples(3, "string", [["squat start" if part == 0 else "squat end"]], [1000.05 + part * 0.1 + 1.5])
        x.boundary()
    for stream, offset in ((1, 0.0), (2, 3.25), (3, -1.5)):
        x.clock_offset(stream, 1005.0 - offset, offset + 0.001)
    x.footer(1, 20)
    x.footer(2, 6)
    x.footer(3, 2)
    return bytes(x.bytes)


def every_format() -> bytes:
    x = Xdf()
    x.file_header()
    for stream, fmt in enumerate(FORMATS, start=1):
        x.header(stream, fmt, "Test", fmt, 50, ["a", "b"])
        x.samples(stream, fmt, [[-1, 2], [3, -4], [5, 6]], [10.0, None, 10.04])
    return bytes(x.bytes)


def edge_cases() -> bytes:
    """An empty samples chunk, a stream whose labels do not match its channel count (numbered instead), a
    two-channel string stream with an empty string, a single clock offset."""
    x = Xdf()
    x.file_header()
    x.header(7, "unlabelled", "EMG", "double64", 2000, [], count=2)
    x.samples(7, "double64", [], [])
    x.samples(7, "double64", [[0.5, -0.5], [1e-6, 1e6]], [None, None])
    x.header(9, "notes", "Markers", "string", 0, ["who", "what"])
    x.samples(9, "string", [["", "start"], ["operator", "stop"]], [2.0, 3.5])
    x.clock_offset(9, 2.0, -0.25)
    return bytes(x.bytes)


def main() -> None:
    CORPUS.mkdir(parents=True, exist_ok=True)
    x = Xdf()
    x.file_header()
    seeds = {
        "file_header_only": bytes(x.bytes),
        "session_3_streams": session(),
        "session_4_byte_lengths": session(4),
        "session_8_byte_lengths": session(8),
        "every_format": every_format(),
        "edge_cases": edge_cases(),
    }
    for name, data in seeds.items():
        assert len(data) < 10_000, name
        (CORPUS / name).write_bytes(data)
    print(f"seeds: {len(seeds)} in {CORPUS}, {sum(len(d) for d in seeds.values())} bytes")


if __name__ == "__main__":
    main()
