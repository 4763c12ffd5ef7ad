"""The embedded GeoPackages read straight through sqlite3 against pyogrio.raw.read: arrays compared, CPU of each."""
import sqlite3, time, glob, zipfile, io
import numpy as np, pyogrio, warnings
from pathlib import Path

_ENVELOPE = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}

def read_layer(con, gpkg_bytes, layer):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*non conformant file extension", category=RuntimeWarning)
        info = pyogrio.read_info(gpkg_bytes, layer=layer)
    fields = list(info["fields"]); dtypes = list(info["dtypes"]); geom = info["geometry_name"]; fid = info["fid_column"]
    names = ([geom] if geom else []) + fields
    q = ", ".join('"' + n.replace('"', '""') + '"' for n in names)
    rows = con.execute(f'SELECT {q} FROM "{layer}" ORDER BY "{fid}"').fetchall()
    if len(rows) != info["features"]:
        return None
    cols = list(zip(*rows)) if rows else [() for _ in names]
    wkb = None
    if geom:
        g = cols.pop(0)
        out = []
        for b in g:
            if b is None:
                out.append(None); continue
            if type(b) is not bytes or b[:2] != b"GP" or b[2] != 0:
                return None
            flags = b[3]
            env = (flags >> 1) & 7
            if flags & 0x30 or env not in _ENVELOPE:
                return None
            w = b[8 + _ENVELOPE[env]:]
            if not w or w[0] != 1:
                return None
            out.append(w)
        wkb = np.array(out, dtype=object)
    data = []
    for col, dt in zip(cols, dtypes):
        types = set(map(type, col))
        nulls = type(None) in types
        types.discard(type(None))
        if dt == "object":
            if types - {str}: return None
            a = np.empty(len(col), dtype=object); a[:] = col
        elif dt in ("int64", "int32"):
            if types - {int}: return None
            a = np.array([np.nan if v is None else v for v in col], dtype=np.float64) if nulls else np.array(col, dtype=dt)
        elif dt == "bool":
            if types - {int} or set(col) - {0, 1, None}: return None
            a = np.array([np.nan if v is None else v for v in col], dtype=np.float64) if nulls else np.array(col, dtype=bool)
        elif dt == "float64":
            if types - {int, float}: return None
            a = np.array([np.nan if v is None else v for v in col], dtype=np.float64)
        else:
            return None
        data.append(a)
    return fields, info["crs"], wkb, data

LAYERS = ("counties", "townships", "villages", "facilities", "staff", "about")

def same(a, b):
    fa, ca, wa, da = a; fb, cb, wb, db = b
    if fa != fb or ca != cb: return "fields/crs"
    if (wa is None) != (wb is None): return "geomnone"
    if wa is not None:
        if len(wa) != len(wb) or any(x != y for x, y in zip(wa, wb)): return "wkb"
    for i, (x, y) in enumerate(zip(da, db)):
        if x.dtype != y.dtype or x.shape != y.shape: return f"dtype {fa[i]} {x.dtype} {y.dtype}"
        if x.dtype == object:
            if any(type(p) is not type(q) or p != q for p, q in zip(x, y)): return f"vals {fa[i]}"
        elif not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"): return f"vals {fa[i]}"
    return None

if __name__ == "__main__":
    from planner.regions import data_dir
    files = sorted(glob.glob(str(data_dir() / "*.gpkg.zip")))
    tf = tg = 0.0
    for f in files:
        data = Path(f).read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as z: g = z.read(z.infolist()[0])
        t0 = time.process_time()
        con = sqlite3.connect(":memory:"); con.deserialize(g)
        mine = {l: read_layer(con, g, l) for l in LAYERS}
        t1 = time.process_time()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore")
            theirs = {}
            for l in LAYERS:
                meta, _i, geometry, fd = pyogrio.raw.read(g, layer=l, datetime_as_string=True)
                theirs[l] = (meta["fields"].tolist(), meta["crs"], geometry, list(fd))
        t2 = time.process_time()
        tf += t1 - t0; tg += t2 - t1
        bad = {l: (same(mine[l], theirs[l]) if mine[l] is not None else "fallback") for l in LAYERS}
        bad = {k: v for k, v in bad.items() if v}
        print(Path(f).name, f"mine {t1-t0:.2f} gdal {t2-t1:.2f}", bad or "IDENTICAL", flush=True)
    print(f"total mine {tf:.2f} gdal {tg:.2f}")
