"""Checks an imported session against its CSV, parsed independently with Python's csv module and float().

Usage: check_csv_import.py CSV SESSION.h5 UNIT... where UNIT (V, mV, uV) is each imported column's, in
order, written COLUMN=UNIT[:exact|:rounded]. "exact": every stored value equals float(cell) to double
precision (relative 1e-12); "rounded": within half a count of the stored resolution. Prints one line per
column and exits 1 on the first disagreement.
"""
import csv
import sys

import h5py
import numpy as np

TO_VOLTS = {"V": 1.0, "mV": 1e-3, "uV": 1e-6}


def main() -> int:
    csv_path, h5_path, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(csv_path, newline="") as f:
        rows = [r for r in csv.reader(f) if r and not r[0].startswith("#")]
    header, body = rows[0], rows[1:]
    with h5py.File(h5_path, "r") as h5:
        d = h5["acquisition/emg/data"]
        counts = d[()].astype(np.float64)
        volts_per_count = d.attrs["channel_conversion"] * d.attrs["conversion"]
    if counts.shape != (len(body), len(specs)):
        print(f"shape {counts.shape}, expected {(len(body), len(specs))}")
        return 1
    for c, spec in enumerate(specs):
        column, rest = spec.split("=")
        unit, _, mode = rest.partition(":")
        col = header.index(column)
        expected = np.array([float(r[col]) for r in body]) * TO_VOLTS[unit]
        stored = counts[:, c] * volts_per_count[c]
        err = np.abs(stored - expected)
        if mode == "rounded":
            ok = np.all(err <= 0.5 * volts_per_count[c] * (1 + 1e-9))
        else:
            ok = np.all(err <= 1e-12 * np.abs(expected) + 1e-300)
        print(f"{column}: {mode or 'exact'} resolution {volts_per_count[c]:.3g} V, max error {err.max():.3g} V,"
              f" {'ok' if ok else 'FAILED'}")
        if not ok:
            worst = int(np.argmax(err))
            print(f"  row {worst + 1}: cell {body[worst][col]!r} stored {stored[worst]!r}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
