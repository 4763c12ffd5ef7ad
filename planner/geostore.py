"""A derived columnar copy of the embedded GeoPackages' layers in the user's cache folder, keyed by each file's SHA-256."""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

STORE_FORMAT = 3  # 2: the header names the source file's SHA-256; 3: pyogrio's raw arrays and GDAL's WKB
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


Raw = tuple[list[str], "str | None", "np.ndarray | None", list[np.ndarray]]
"""A layer as pyogrio's raw reader gives it: field names, CRS, WKB (None: no geometry) and one array per field."""


def _unzipped(source: Path, data: bytes) -> bytes | None:
    """The GeoPackage inside a zipped source (its only member), decompressed once; None when it is not such a zip.

    GDAL reads a zipped file through /vsizip and opens it again for every layer (about 50 ms
    each on this machine's 浙江省: 0.25 s of its 1.3 s); the same bytes from memory read alike."""
    if source.suffix.lower() != ".zip":
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = z.infolist()
            if len(members) != 1 or not members[0].filename.lower().endswith(".gpkg"):
                return None
            return z.read(members[0])
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError):
        return None  # GDAL reads (or names the trouble with) the file itself


def _read_raw(source: Path | bytes, layer: str) -> Raw | None:
    """The raw arrays `read_dataframe` builds its frame from, or None when its frame needs more than `_frame` does."""
    with warnings.catch_warnings():
        # pyogrio hands bytes to GDAL as a /vsimem file without a suffix: GDAL still knows it by its GPKG id
        warnings.filterwarnings("ignore", message=".*non conformant file extension", category=RuntimeWarning)
        meta, _index, geometry, field_data = pyogrio.raw.read(source, layer=layer, datetime_as_string=True)
    if any(str(d).startswith("datetime") for d in meta["dtypes"]) or any(s == "OFSTJSON" for s in meta["ogr_subtypes"]):
        return None  # read_dataframe parses these columns further
    return meta["fields"].tolist(), meta["crs"], geometry, list(field_data)


def _frame(raw: Raw) -> pd.DataFrame:
    """The frame `pyogrio.read_dataframe(use_arrow=False)` makes of these arrays (its own steps, for the cases
    `_read_raw` lets through): the cold read and the store's entries give equal frames because both come from here."""
    columns, crs, geometry, field_data = raw
    df = pd.DataFrame({columns[i]: field_data[i] for i in range(len(columns))}, columns=columns, index=None)
    if geometry is None:
        return df
    return gpd.GeoDataFrame(df, geometry=shapely.from_wkb(geometry, on_invalid="raise"), crs=crs)


def load_layers(source: Path, layers: tuple[str, ...], folder: Path | None) -> dict[str, pd.DataFrame]:
    """The layers of `source`: from the store when it holds this exact file, else read and stored.

    The entry is found by the SHA-256 of the source's bytes, and its own payload carries a
    SHA-256 checked on every read: a changed source is a miss, and a damaged, truncated or
    foreign entry is a miss too (the source is read and the entry rewritten). A folder that
    cannot be written only costs the next run its speed. The entry keeps pyogrio's raw arrays
    (the fields' values and the WKB exactly as GDAL gave them), and both the cold read and a
    stored entry make their frames with `_frame` from those arrays, so the frames are equal to
    `read_dataframe`'s (values, dtypes, index, geometry and CRS).
    """
    if folder is None:
        return read_source(source, layers)
    try:
        data = source.read_bytes()  # read once: hashed here, unzipped below on a miss
    except OSError:
        return read_source(source, layers)  # pyogrio names the unreadable file
    sha = hashlib.sha256(data).hexdigest()
    entry = _entry_path(folder, source, sha)
    raws = _read_entry(entry, layers, sha)
    if raws is not None:
        return {layer: _frame(raw) for layer, raw in raws.items()}
    frames = {}
    for layer, raw in _store_miss(source, data, layers, entry, sha).items():
        # a layer the store does not keep (None): read_dataframe's own frame
        frames[layer] = pyogrio.read_dataframe(source, layer=layer, use_arrow=False) if raw is None else _frame(raw)
    return frames


def _store_miss(source: Path, data: bytes, layers: tuple[str, ...], entry: Path, sha: str) -> dict[str, Raw | None]:
    """Each layer's raw arrays read from the source's bytes (None: one the store does not keep), and the
    entry written when it keeps them all."""
    gpkg = _unzipped(source, data)
    del data
    raws: dict[str, Raw | None] = {layer: _read_raw(source if gpkg is None else gpkg, layer) for layer in layers}
    if all(raw is not None for raw in raws.values()):
        _write_entry(entry, raws, source.name, sha)  # type: ignore[arg-type]
    return raws


def has_entry(source: Path, folder: Path) -> bool:
    """Whether the store holds an entry of a file by this name in the current layout (its bytes not hashed:
    a hint of what a read will find, not a promise; `load_layers` decides)."""
    tag = _entry_path(folder, source, "0" * 64).name.rsplit(".", 2)[-2]
    return any(folder.glob(f"{glob.escape(source.name)}.*.{tag}.store"))


def fill(sources: list[Path], layers: tuple[str, ...], folder: Path) -> int:
    """Make the store's entries of these files where it lacks them, without building their frames; the number
    of files read.

    Run in a worker forked beside the first read of several files (`planner.regions.load` with jobs):
    the worker reads some files into the store while the reader reads the others, then reads the
    worker's from the store. Whatever the worker could not store, the reader reads from its file.
    """
    read = 0
    for source in sources:
        try:
            data = source.read_bytes()
        except OSError:
            continue  # the reader names it
        sha = hashlib.sha256(data).hexdigest()
        try:
            _store_miss(source, data, layers, _entry_path(folder, source, sha), sha)
        except Exception:  # a file GDAL cannot read: the reader reads it again and names the trouble
            continue
        read += 1
    return read


# --- the entry: a JSON header (fields, dtypes, buffer offsets, payload digest) and one payload ---------


def _encode(raws: dict[str, Raw], source_sha: str) -> bytes | None:
    """The layers' raw arrays as one entry, or None when an array holds something the store does not keep exactly."""
    buffers: list[bytes] = []
    offset = 0
    layers = {}

    def add(data: bytes) -> list[int]:
        nonlocal offset
        buffers.append(data)
        span = [offset, len(data)]
        offset += len(data)
        return span

    for layer, (fields, crs, geometry, field_data) in raws.items():
        rows = len(geometry) if geometry is not None else (len(field_data[0]) if field_data else 0)
        if crs is not None and not isinstance(crs, str):
            return None
        cols = []
        for name, array in zip(fields, field_data, strict=True):
            if not isinstance(array, np.ndarray) or array.ndim != 1 or len(array) != rows:
                return None
            if array.dtype.kind in "biuf":
                cols.append({"kind": "array", "dtype": array.dtype.str, "data": add(np.ascontiguousarray(array).tobytes())})
            elif array.dtype == object:
                if not set(map(type, array.tolist())) <= {str, type(None)}:
                    return None
                missing = np.equal(array, None)  # exact: only str and None are left
                filled = array.copy()
                filled[missing] = ""
                text = _SEP.join(filled.tolist())
                if text.count(_SEP) != max(rows - 1, 0):
                    return None  # a value holds the separator
                cols.append({"kind": "text", "missing": add(np.packbits(missing).tobytes()), "data": add(text.encode("utf-8"))})
            else:
                return None
        geom = None
        if geometry is not None:
            if not isinstance(geometry, np.ndarray) or geometry.dtype != object:
                return None
            wkb = geometry.tolist()
            if not set(map(type, wkb)) <= {bytes, type(None)}:
                return None
            missing = np.equal(geometry, None)
            present = [w for w in wkb if w is not None]
            lengths = np.zeros(rows, dtype=np.int64)
            lengths[~missing] = np.fromiter(map(len, present), dtype=np.int64, count=len(present))
            geom = {"missing": add(np.packbits(missing).tobytes()), "lengths": add(lengths.tobytes()),
                    "data": add(b"".join(present))}
        layers[layer] = {"rows": rows, "fields": list(fields), "crs": crs, "geometry": geom, "columns": cols}
    payload = b"".join(buffers)
    header = json.dumps({"format": STORE_FORMAT, "source_sha256": source_sha, "sha256": hashlib.sha256(payload).hexdigest(),
                         "layers": layers},
                        ensure_ascii=False).encode("utf-8")
    return MAGIC + len(header).to_bytes(8, "little") + header + payload


def _decode(blob: bytes, layers: tuple[str, ...], source_sha: str) -> dict[str, Raw]:
    """The raw arrays of the layers an entry holds (ValueError / KeyError / ... when it is not a sound entry)."""
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

    def missing_of(span: list[int], rows: int) -> np.ndarray:
        return np.unpackbits(np.frombuffer(buf(span), dtype=np.uint8), count=rows).astype(bool)

    out: dict[str, Raw] = {}
    for layer in layers:
        spec = header["layers"][layer]
        rows = int(spec["rows"])
        field_data = []
        for col in spec["columns"]:
            if col["kind"] == "array":
                array = np.frombuffer(buf(col["data"]), dtype=np.dtype(col["dtype"])).copy()
            elif col["kind"] == "text":
                values = bytes(buf(col["data"])).decode("utf-8").split(_SEP) if rows else []
                array = np.empty(len(values), dtype=object)
                array[:] = values
                array[missing_of(col["missing"], rows)] = None
            else:
                raise ValueError("unknown column kind")
            if len(array) != rows:
                raise ValueError("column length does not match")
            field_data.append(array)
        if len(field_data) != len(spec["fields"]):
            raise ValueError("fields and columns do not match")
        geometry = None
        if spec["geometry"] is not None:
            g = spec["geometry"]
            missing = missing_of(g["missing"], rows)
            lengths = np.frombuffer(buf(g["lengths"]), dtype=np.int64)
            raw = bytes(buf(g["data"]))
            ends = np.cumsum(lengths)
            if len(lengths) != rows or (rows and ends[-1] != len(raw)):
                raise ValueError("geometry lengths do not match")
            starts = (ends - lengths).tolist()
            geometry = np.empty(rows, dtype=object)
            geometry[:] = [None if m else raw[a:b] for a, b, m in zip(starts, ends.tolist(), missing.tolist())]
        out[layer] = (list(spec["fields"]), spec["crs"], geometry, field_data)
    return out


def _read_entry(entry: Path, layers: tuple[str, ...], source_sha: str) -> dict[str, Raw] | None:
    try:
        blob = entry.read_bytes()
    except OSError:
        return None
    try:
        return _decode(blob, layers, source_sha)
    except Exception:  # a damaged or foreign entry is a miss: the source is read again and the entry replaced
        return None


def _write_entry(entry: Path, raws: dict[str, Raw], source_name: str, source_sha: str) -> None:
    """Store the raw arrays; a folder that cannot be written is skipped.

    Not read back: each kind of array is kept exactly by construction (numbers as their bytes;
    text only when every value is a str or None and none holds the separator; WKB only as bytes
    or None), which `_encode` checks, and the tests read entries back and compare them. (Main's
    store decoded every entry and compared frames: 40 % of the country's cold store cost.)
    """
    from . import io as planner_io

    try:
        blob = _encode(raws, source_sha)
    except (UnicodeError, ValueError, TypeError):
        return  # e.g. a text value utf-8 cannot hold (a lone surrogate)
    if blob is None:
        return
    try:
        planner_io.write_bytes(entry, blob)
        for old in entry.parent.glob(f"{glob.escape(source_name)}.*.store"):
            if old != entry and _written_here(old):
                old.unlink(missing_ok=True)  # entries of other versions of this file
    except OSError:
        return
