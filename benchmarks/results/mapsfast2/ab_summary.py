import re, sys, statistics, collections
d = collections.defaultdict(list); loads = []
cur = None
for line in open(sys.argv[1]):
    m = re.match(r"== (\S+) (\S+) (\S+) \S+ load ([\d.]+)", line)
    if m:
        cur = (m.group(1), m.group(2) + ("" if m.group(3).startswith("rep") else " " + m.group(3))); loads.append(float(m.group(4))); continue
    m = re.search(r"maps ([\d.]+) s wall ([\d.]+) s CPU; reports ([\d.]+) s wall ([\d.]+) s CPU; total CPU ([\d.]+)", line)
    if m and cur:
        d[cur].append((float(m.group(2)), float(m.group(4)), float(m.group(5)), float(m.group(1))))
for k in sorted(d):
    v = d[k]
    print(k, "runs", len(v), "maps CPU", [x[0] for x in v], "reports CPU", [x[1] for x in v], "total CPU median", statistics.median(x[2] for x in v), "wall", [x[3] for x in v])
for r in sorted({k[1] for k in d}):
    a, b = d.get(("A", r)), d.get(("B2", r))
    if a and b:
        print(r, "ratio of median total CPU A/B", round(statistics.median(x[2] for x in a) / statistics.median(x[2] for x in b), 2))
print("load at starts", min(loads), "-", max(loads))
