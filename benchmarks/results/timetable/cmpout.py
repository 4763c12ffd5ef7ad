"""Compare two plan folders: every file's SHA-256 (text) and each workbook sheet's cell values."""
import hashlib, sys
from pathlib import Path
from openpyxl import load_workbook
a, b = Path(sys.argv[1]), Path(sys.argv[2])
def sheets(p):
    wb = load_workbook(p, read_only=True)
    out = {}
    for ws in wb.worksheets:
        h = hashlib.sha256()
        for row in ws.iter_rows(values_only=True):
            row = list(row)
            while row and row[-1] is None:
                row.pop()
            h.update(repr(row).encode())
        out[ws.title] = h.hexdigest()
    return out
names = sorted({p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file()} | {p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file()})
same = 0
for n in names:
    pa, pb = a / n, b / n
    if not pa.exists() or not pb.exists():
        print("only in one:", n); continue
    if n.endswith(".xlsx"):
        sa, sb = sheets(pa), sheets(pb)
        d = [s for s in sorted(set(sa) | set(sb)) if sa.get(s) != sb.get(s)]
        if d: print(f"{n}: sheets differ: {d}")
        else: same += 1
        continue
    if pa.read_bytes() != pb.read_bytes():
        print(f"{n}: differs")
    else:
        same += 1
print(f"{same} of {len(names)} files identical")
