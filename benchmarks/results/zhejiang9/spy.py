"""Summarise py-spy raw (collapsed) output: inclusive and self shares per function, optionally under a filter."""
import sys, collections, re
path = sys.argv[1]; top = int(sys.argv[2]) if len(sys.argv) > 2 else 40
under = sys.argv[3] if len(sys.argv) > 3 else None
incl = collections.Counter(); selfc = collections.Counter(); total = 0
for line in open(path, encoding="utf-8"):
    stack, _, n = line.rstrip("\n").rpartition(" ")
    n = int(n)
    frames = stack.split(";")
    if under:
        idx = [i for i, f in enumerate(frames) if under in f]
        if not idx: continue
        frames = frames[idx[0]:]
    total += n
    seen = set()
    for f in frames:
        key = re.sub(r":\d+\)$", ")", f)
        if key not in seen:
            incl[key] += n; seen.add(key)
    selfc[frames[-1]] += n
print("total samples", total)
print("--- inclusive")
for k, v in incl.most_common(top): print(f"{100*v/total:6.2f}% {v:6d} {k}")
print("--- self (by line)")
for k, v in selfc.most_common(top): print(f"{100*v/total:6.2f}% {v:6d} {k}")
