"""Summarise a `py-spy record --subprocesses --idle -f raw` file: inclusive seconds per frame, main process vs workers.

    python benchmarks/results/accessdispatch/spysum.py RAW RATE_HZ [FRAME_FILTER] [TOP]

Only stacks passing through a frame containing FRAME_FILTER (e.g. "dispatch_region") are counted.
"""

from __future__ import annotations

import collections
import sys


def main() -> None:
    path, rate = sys.argv[1], float(sys.argv[2])
    want = sys.argv[3] if len(sys.argv) > 3 else ""
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 40
    incl = {"main": collections.Counter(), "workers": collections.Counter()}
    selft = {"main": collections.Counter(), "workers": collections.Counter()}
    total = collections.Counter()
    for line in open(path, encoding="utf-8"):
        stack, _, n = line.rstrip("\n").rpartition(" ")
        frames = stack.split(";")
        role = "workers" if len(frames) > 1 and frames[1].startswith("process ") else "main"
        frames = [f for f in frames if not f.startswith("process ")]
        if want and not any(want in f for f in frames):
            continue
        k = int(n) / rate
        total[role] += k
        for f in set(frames):
            incl[role][f] += k
        if frames:
            selft[role][frames[-1]] += k
    for role in ("main", "workers"):
        print(f"== {role}: {total[role]:.1f} s of samples (idle included)")
        for f, s in incl[role].most_common(top):
            print(f"  {s:7.2f}  {f}")
        print(f"-- {role} self")
        for f, s in selft[role].most_common(top // 2):
            print(f"  {s:7.2f}  {f}")


if __name__ == "__main__":
    main()
