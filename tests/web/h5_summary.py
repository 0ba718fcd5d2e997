"""Prints a session file's datasets (SHA-256 of their raw bytes, shape, dtype) and its events as JSON, for
the web tests (tests/web/support.mjs h5Summary): they compare recordings and look for page-made events."""
import hashlib
import json
import sys

import h5py
import numpy as np


def main(path):
    datasets = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                value = obj[()]
                raw = np.asarray(value).tobytes() if obj.dtype.kind != "O" else repr(value.tolist()).encode()
                datasets[name] = {"sha256": hashlib.sha256(raw).hexdigest(), "shape": list(obj.shape),
                                  "dtype": str(obj.dtype)}
        f.visititems(visit)
        events = []
        if "intervals/events" in f:
            e = f["intervals/events"]
            for i in range(e["kind"].shape[0]):
                text = e["text"][i]
                events.append({"time_s": float(e["time_s"][i]), "kind": int(e["kind"][i]),
                               "exercise": int(e["exercise"][i]), "muscle": int(e["muscle"][i]),
                               "side": int(e["side"][i]), "channel": int(e["channel"][i]),
                               "text": text.decode() if isinstance(text, bytes) else str(text)})
    json.dump({"datasets": datasets, "events": events}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
