"""A derived columnar copy of the embedded GeoPackages' layers in the user's cache folder, keyed by each file's SHA-256."""

from __future__ import annotations

import glob
import hashlib
import json
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

STORE_FORMAT = 2  # 2: the header names the source file's SHA-256
"""Bump when the stored layout changes: older entries are then misses (and replaced)."""

MAGIC = b"PLANNER-GEOSTORE\n"
CACHE_ENV = "PLANNER_GEODATA_CACHE"
"""A folder for the store; empty, "0" or "off" turns the store off (every run reads the GeoPackages)."""

_SEP = "\x00"  # joins a text column's values; a file whose text holds it is not stored


def store_folder() -> Path | None:
    """Where the store lives: $PLANNER_GEODATA_CACHE, else the user's cache folder (XDG); None when turned off."""
    override = os.environ.get(CACHE_ENV)
    if override is not None:
        return None if override.strip().lower() in ("", "0", "off", "no", "false") else Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "medcommunity-planner" / "geodata"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (the store's key: a changed source file is never served from an old entry)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _written_here(path: Path) -> bool:
    """True when the file starts as the store writes its entries (only those are ever replaced)."""
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def _entry_path(folder: Path, source: Path, sha: str) -> Path:
    # The decoding is pyogrio's: its version is part of the key, as is the store's format.
    tag = hashlib.sha256(f"{STORE_FORMAT}|{pyogrio.__version__}|{pd.__version__}".encode()).hexdigest()[:8]
    return folder / f"{source.name}.{sha[:32]}.{tag}.store"


def read_source(source: Path, layers: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """Every row of the named layers of a GeoPackage (zipped or not), as pyogrio decodes them."""
    return {layer: pyogrio.read_dataframe(source, layer=layer, use_arrow=False) for layer in layers}


def load_layers(source: Path, layers: tuple[str, ...], folder: Path | None) -> dict[str, pd.DataFrame]:
    """The layers of `source`: from the store when it holds this exact file, else read and stored.

    The entry is found by the SHA-256 of the source's bytes, and its own payload carries a
    SHA-256 checked on every read: a changed source is a miss, and a damaged, truncated or
    foreign entry is a miss too (the source is read and the entry rewritten). A folder that
    cannot be written only costs the next run its speed. Frames equal pyogrio's (values,
    dtypes, index, geometry and CRS): each entry is read back and compared when written.
    """
    if folder is None:
        return read_source(source, layers)
    try:
        sha = file_sha256(source)
    except OSError:
        return read_source(source, layers)  # pyogrio names the unreadable file
    entry = _entry_path(folder, source, sha)
    frames = _read_entry(entry, layers, sha)
    if frames is not None:
        return frames
    frames = read_source(source, layers)
    _write_entry(entry, frames, source.name, sha)
    return frames


# --- the entry: a JSON header (columns, dtypes, buffer offsets, payload digest) and one payload ---------


def _encode(frames: dict[str, pd.DataFrame], source_sha: str) -> bytes | None:
    """The layers as one entry, or None when a frame holds something the store does not keep exactly."""
    buffers: list[bytes] = []
    offset = 0
    layers = {}

    def add(data: bytes) -> list[int]:
        nonlocal offset
        buffers.append(data)
        span = [offset, len(data)]
        offset += len(data)
        return span

    for layer, frame in frames.items():
        if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0 or frame.index.step != 1:
            return None
        geo = isinstance(frame, gpd.GeoDataFrame)
        geom_name = frame.geometry.name if geo else None
        crs = frame.crs.to_string() if geo and frame.crs is not None else None
        cols = []
        for name in frame.columns:
            series = frame[name]
            if name == geom_name:
                values = np.asarray(series.values, dtype=object)
                missing = shapely.is_missing(values)
                wkb = shapely.to_wkb(values)
                lengths = np.array([0 if m else len(w) for w, m in zip(wkb, missing)], dtype=np.int64)
                cols.append({"name": name, "kind": "geometry", "missing": add(np.packbits(missing).tobytes()),
                             "lengths": add(lengths.tobytes()), "data": add(b"".join(w for w in wkb if w is not None))})
            elif series.dtype.kind in "biuf" and not isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
                array = np.ascontiguousarray(series.to_numpy())
                cols.append({"name": name, "kind": "array", "dtype": array.dtype.str, "data": add(array.tobytes())})
            elif str(series.dtype) in ("str", "object"):
                values = series.to_numpy(dtype=object)
                missing = pd.isna(values)
                # A str-dtype column holds only str and NaN; an object one is looked at value by value.
                if not isinstance(series.dtype, pd.StringDtype) and \
                        not all(isinstance(v, str) for v, m in zip(values, missing) if not m):
                    return None
                text = _SEP.join(np.where(missing, "", values).tolist())
                if text.count(_SEP) != max(len(values) - 1, 0):
                    return None  # a value holds the separator
                cols.append({"name": name, "kind": "text", "dtype": str(series.dtype),
                             "missing": add(np.packbits(missing).tobytes()), "data": add(text.encode("utf-8"))})
            else:
                return None
        layers[layer] = {"rows": len(frame), "geometry": geom_name, "crs": crs, "columns": cols}
    payload = b"".join(buffers)
    header = json.dumps({"format": STORE_FORMAT, "source_sha256": source_sha, "sha256": hashlib.sha256(payload).hexdigest(),
                         "layers": layers},
                        ensure_ascii=False).encode("utf-8")
    return MAGIC + len(header).to_bytes(8, "little") + header + payload


def _decode(blob: bytes, layers: tuple[str, ...], source_sha: str) -> dict[str, pd.DataFrame]:
    """The layers an entry holds (ValueError / KeyError / ... when it is not a sound entry)."""
    if not blob.startswith(MAGIC):
        raise ValueError("not a geodata store entry")
    start = len(MAGIC) + 8
    size = int.from_bytes(blob[len(MAGIC):start], "little")
    header = json.loads(blob[start:start + size].decode("utf-8"))
    payload = memoryview(blob)[start + size:]
    if header["format"] != STORE_FORMAT or header["source_sha256"] != source_sha \
            or hashlib.sha256(payload).hexdigest() != header["sha256"]:
        raise ValueError("damaged or foreign entry (or of another source file)")

    def buf(span: list[int]) -> memoryview:
        a, n = span
        if a < 0 or n < 0 or a + n > len(payload):
            raise ValueError("span outside the payload")
        return payload[a:a + n]

    out = {}
    for layer in layers:
        spec = header["layers"][layer]
        rows = int(spec["rows"])
        data: dict[str, object] = {}
        geometry = None
        for col in spec["columns"]:
            if col["kind"] == "array":
                array = np.frombuffer(buf(col["data"]), dtype=np.dtype(col["dtype"])).copy()
            elif col["kind"] == "text":
                missing = np.unpackbits(np.frombuffer(buf(col["missing"]), dtype=np.uint8), count=rows).astype(bool)
                values = bytes(buf(col["data"])).decode("utf-8").split(_SEP) if rows else []
                array = np.array(values, dtype=object)
                array[missing] = None
            else:
                missing = np.unpackbits(np.frombuffer(buf(col["missing"]), dtype=np.uint8), count=rows).astype(bool)
                lengths = np.frombuffer(buf(col["lengths"]), dtype=np.int64)
                raw = bytes(buf(col["data"]))
                ends = np.cumsum(lengths)
                if len(lengths) != rows or (rows and ends[-1] != len(raw)):
                    raise ValueError("geometry lengths do not match")
                starts = (ends - lengths).tolist()
                wkb = np.array([None if m else raw[a:b] for a, b, m in zip(starts, ends.tolist(), missing)], dtype=object)
                geometry = gpd.GeoSeries(shapely.from_wkb(wkb), crs=spec["crs"], name=col["name"])
                continue
            if len(array) != rows:
                raise ValueError("column length does not match")
            data[col["name"]] = array
        names = [c["name"] for c in spec["columns"] if c["kind"] != "geometry"]
        frame = pd.DataFrame(data, columns=names)
        for col in spec["columns"]:  # a text column keeps the dtype it was read with (str, or object when empty)
            if col["kind"] == "text" and str(frame[col["name"]].dtype) != col["dtype"]:
                frame[col["name"]] = frame[col["name"]].astype(col["dtype"])
        if spec["geometry"] is not None:
            frame = gpd.GeoDataFrame(frame, geometry=geometry, crs=spec["crs"])
        out[layer] = frame
    return out


def _read_entry(entry: Path, layers: tuple[str, ...], source_sha: str) -> dict[str, pd.DataFrame] | None:
    try:
        blob = entry.read_bytes()
    except OSError:
        return None
    try:
        return _decode(blob, layers, source_sha)
    except Exception:  # a damaged or foreign entry is a miss: the source is read again and the entry replaced
        return None


def _same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> bool:
    try:
        for layer, frame in a.items():
            other = b[layer]
            if type(frame) is not type(other):
                return False
            if isinstance(frame, gpd.GeoDataFrame):
                if frame.crs != other.crs or frame.geometry.name != other.geometry.name:
                    return False
                g1, g2 = np.asarray(frame.geometry.values, dtype=object), np.asarray(other.geometry.values, dtype=object)
                if not np.array_equal(shapely.to_wkb(g1), shapely.to_wkb(g2)):
                    return False
            pd.testing.assert_frame_equal(pd.DataFrame(frame).drop(columns=[frame.geometry.name]) if isinstance(frame, gpd.GeoDataFrame) else frame,
                                          pd.DataFrame(other).drop(columns=[other.geometry.name]) if isinstance(other, gpd.GeoDataFrame) else other,
                                          check_exact=True)
    except (AssertionError, KeyError):
        return False
    return True


def _write_entry(entry: Path, frames: dict[str, pd.DataFrame], source_name: str, source_sha: str) -> None:
    """Store the frames when they come back equal; a folder that cannot be written is skipped."""
    from . import io

    blob = _encode(frames, source_sha)
    if blob is None:
        return
    try:
        if not _same(frames, _decode(blob, tuple(frames), source_sha)):
            return
    except Exception:
        return
    try:
        io.write_bytes(entry, blob)
        for old in entry.parent.glob(f"{glob.escape(source_name)}.*.store"):
            if old != entry and _written_here(old):
                old.unlink(missing_ok=True)  # entries of other versions of this file
    except OSError:
        return
