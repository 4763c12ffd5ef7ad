"""Digests of a loaded region's frames (index, dtypes, values, geometry WKB, CRS), to compare two checkouts' loads.

    PLANNER_GEODATA_CACHE=<empty temp folder> python benchmarks/frame_digest.py --region 浙江省 > a.json
    python benchmarks/frame_digest.py --compare a.json b.json

With --layers the raw layers of every file of the region are digested too (geostore.load_layers
against pyogrio.read_dataframe in the same process).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys


def frame_digest(frame) -> dict[str, object]:
    import geopandas as gpd
    import numpy as np
    import shapely

    out: dict[str, object] = {"type": type(frame).__name__, "shape": list(frame.shape),
                              "index": f"{type(frame.index).__name__}:{frame.index.dtype}:"
                                       + hashlib.sha256(repr(frame.index.tolist()).encode()).hexdigest()}
    cols = {}
    geom = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame else None
    for name in frame.columns:
        s = frame[name]
        h = hashlib.sha256()
        if name == geom:
            h.update(b"".join(b"\x00" if w is None else w for w in shapely.to_wkb(np.asarray(s.values, dtype=object))))
            h.update(repr(shapely.is_missing(np.asarray(s.values, dtype=object)).tolist()).encode())
            cols[str(name)] = f"geometry:{s.crs}:{h.hexdigest()}"
            continue
        if s.dtype.kind in "biuf" and not isinstance(s.dtype, __import__("pandas").api.extensions.ExtensionDtype):
            h.update(s.to_numpy().tobytes())
        else:
            values = s.tolist()  # repr tells 1 from "1" from True, None from nan
            h.update(repr(values).encode())
            h.update(repr(sorted(t.__name__ for t in set(map(type, values)))).encode())
        cols[str(name)] = f"{s.dtype}:{h.hexdigest()}"
    out["columns"] = cols
    out["column_order"] = [str(c) for c in frame.columns]
    if geom is not None:
        out["crs"] = str(frame.crs)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--region", default="浙江省")
    ap.add_argument("--layers", action="store_true")
    ap.add_argument("--compare", nargs=2)
    args = ap.parse_args()
    if args.compare:
        a, b = (json.load(open(p)) for p in args.compare)
        diffs = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        print(f"{len(a)} / {len(b)} frames: " + ("IDENTICAL" if not diffs else "DIFFER: " + ", ".join(diffs)))
        sys.exit(1 if diffs else 0)
    from planner import regions

    reg = regions.load(args.region)
    out = {k: frame_digest(getattr(reg, k)) for k in ("counties", "townships", "villages", "facilities", "staff")}
    ctx = getattr(reg, "context_counties", None)
    if ctx is not None:
        out["context_counties"] = frame_digest(ctx)
    out["about"] = hashlib.sha256(repr(sorted(reg.about.items())).encode()).hexdigest()
    if args.layers:
        import pyogrio

        from planner import geostore

        folder = geostore.store_folder()
        for file in regions.resolve(args.region).files:
            path = regions.data_dir() / file
            got = geostore.load_layers(path, regions._LAYERS, folder)
            for layer in regions._LAYERS:
                want = pyogrio.read_dataframe(path, layer=layer, use_arrow=False)
                out[f"{file}:{layer}"] = frame_digest(got[layer])
                out[f"{file}:{layer}:pyogrio"] = frame_digest(want)
                if out[f"{file}:{layer}"] != out[f"{file}:{layer}:pyogrio"]:
                    print(f"{file}:{layer}: store != read_dataframe", file=sys.stderr)
    json.dump(out, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
