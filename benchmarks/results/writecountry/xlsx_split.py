"""villages.xlsx of a pickled VillageResult: CPU seconds of each sheet's XML encoding, UTF-8, deflate and CRC (one thread).

usage: python xlsx_split.py VILLAGES.pkl"""
import pickle, sys, time, zlib
from planner import io
from planner.villages.outputs import center_sheets
from planner.villages.run import TABLES

with open(sys.argv[1], "rb") as f:
    v = pickle.load(f)
sheets = {name: v.table(name) for name in TABLES}
sheets.update(center_sheets(v.tables))
tot = [0.0] * 4
for name, frame in sheets.items():
    c = time.process_time()
    pieces = list(io._xlsx_sheet_parts(io.XlsxSheet(frame)))
    c1 = time.process_time()
    data = [p.encode("utf-8") for p in pieces]
    c2 = time.process_time()
    z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    out = sum(len(z.compress(d)) for d in data) + len(z.flush())
    c3 = time.process_time()
    crc = 0
    for d in data:
        crc = zlib.crc32(d, crc)
    c4 = time.process_time()
    mb = sum(map(len, data)) / 1e6
    row = [c1 - c, c2 - c1, c3 - c2, c4 - c3]
    tot = [a + b for a, b in zip(tot, row)]
    print(f"{name:22s} {len(frame):8d} rows {mb:7.1f} MB -> {out / 1e6:6.1f} MB: encode {row[0]:5.2f} utf8 {row[1]:5.2f} "
          f"deflate {row[2]:5.2f} crc {row[3]:5.2f} s CPU", flush=True)
print(f"{'total':22s} encode {tot[0]:5.2f} utf8 {tot[1]:5.2f} deflate {tot[2]:5.2f} crc {tot[3]:5.2f} s CPU")
