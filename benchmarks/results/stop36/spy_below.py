"""Samples below a frame (by function name substring), grouped by the next N frames."""
import sys, collections
target = sys.argv[2]; depth = int(sys.argv[3]) if len(sys.argv) > 3 else 1
c = collections.Counter(); tot = 0
for line in open(sys.argv[1]):
    stack, _, n = line.rstrip("\n").rpartition(" ")
    fr = [f.split(" (")[0] for f in stack.split(";") if not f.startswith("process ")]
    for i, f in enumerate(fr):
        if f == target:
            c[">".join(fr[i+1:i+1+depth]) or "(self)"] += int(n); tot += int(n); break
print(tot, "samples under", target)
for k, v in c.most_common(int(sys.argv[4]) if len(sys.argv) > 4 else 30): print(v, k)
