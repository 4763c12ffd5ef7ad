import sys, hashlib
from pathlib import Path
a, b = Path(sys.argv[1]), Path(sys.argv[2])
def sums(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}
sa, sb = sums(a), sums(b)
diff = sorted(k for k in sa.keys() | sb.keys() if sa.get(k) != sb.get(k))
print(f"{len(sa)} vs {len(sb)} files; {len(diff)} differ: {diff[:8]}")
