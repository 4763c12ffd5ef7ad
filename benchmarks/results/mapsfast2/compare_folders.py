"""Compare two output folders file by file (bytes); manifest.json compared with its keys' values masked
when they differ only because of run-specific digests. Prints the differing files."""
import sys, re, json
from pathlib import Path
a, b = Path(sys.argv[1]), Path(sys.argv[2])
fa = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
fb = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
print(f"{len(fa)} files vs {len(fb)}; only in A: {sorted(map(str, fa - fb))[:5]}; only in B: {sorted(map(str, fb - fa))[:5]}")
diff = []
for rel in sorted(fa & fb):
    x, y = (a / rel).read_bytes(), (b / rel).read_bytes()
    if rel.name == "manifest.json":   # digests of the code and of run-specific inputs: compare the structure
        mx, my = json.loads(x), json.loads(y)
        for m in (mx, my):
            m["renderer"] = m["overview"] = "-"
            m["units"] = sorted(m["units"])
        x, y = json.dumps(mx).encode(), json.dumps(my).encode()
    if x != y:
        diff.append(str(rel))
print("identical" if not diff else f"{len(diff)} differ: {diff[:10]}")
