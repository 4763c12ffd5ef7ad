"""SHA-256 of the CSV files the access and dispatch tables of a `services_ab.py run` output would be written as.

    python benchmarks/results/accessdispatch/sha.py /tmp/a.pkl [/tmp/b.pkl ...]

Each saved frame is written through planner.io.write_csv (the plan folder's writer) into a temporary
folder and hashed; one line per table and output, then IDENTICAL or DIFFERENT across the outputs.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
import tempfile
from pathlib import Path

from planner import io


def digests(path: str) -> dict[str, str]:
    with open(path, "rb") as f:
        saved, _ = pickle.load(f)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for key, frame in sorted(saved.items()):
            if key.startswith("villages/"):
                continue
            target = Path(tmp) / (key.replace("/", "__") + ".csv")
            io.write_csv(frame, target)
            out[key] = hashlib.sha256(target.read_bytes()).hexdigest()
    return out


def main() -> None:
    all_d = [digests(p) for p in sys.argv[1:]]
    keys = sorted(set().union(*all_d))
    same = True
    for k in keys:
        vals = [d.get(k, "-") for d in all_d]
        same &= len(set(vals)) == 1
        print(f"{k:32s} " + " ".join(v[:16] for v in vals))
    print("IDENTICAL" if same else "DIFFERENT")


if __name__ == "__main__":
    main()
