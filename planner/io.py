"""Read and write geodata files (GeoPackage, GeoJSON, Shapefile, CSV, XLSX) atomically and by encoding."""

from __future__ import annotations

import contextlib
import csv
import errno
import io as _io
import os
import re
import secrets
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from . import gcj02
from ._errors import InputDataError, Problem

SPATIAL_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".zip")
TABLE_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")
SUPPORTED_SUFFIXES = SPATIAL_SUFFIXES + TABLE_SUFFIXES

LON_NAMES = ("lon", "lng", "longitude", "x", "经度", "seat_lon")
LAT_NAMES = ("lat", "latitude", "y", "纬度", "seat_lat")

CRS_CHOICES = ("auto", "wgs84", "cgcs2000", "gcj02")
"""Coordinate systems a user can declare: auto (read from the file, WGS84 when absent), or a fixed one."""


@dataclass
class RawTable:
    """A table as read from a file, before validation: text cells, geometry in WGS84.

    Parameters
    ----------
    path
        The file it came from.
    layer
        The layer name inside the file (GeoPackage layer, Excel sheet), or the file stem.
    frame
        Every column as text (`object` dtype, `None` for blank cells) plus `geometry` when the
        file has one; row 0 is the first data row.
    row_offset
        Number to add to a frame position to get the row number a user sees in the file
        (1 for feature files); used when `row_numbers` is empty.
    notes
        What was done on read (encoding guessed, CRS converted), for the report.
    row_numbers
        The line (CSV) or sheet row (XLSX) of each frame row, counting blank lines, so that
        problems point at the row a user sees in a text editor or Excel.
    """

    path: Path
    layer: str
    frame: pd.DataFrame
    row_offset: int
    notes: list[str]
    row_numbers: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        """How problems name this table: the file, plus the layer when a file holds several."""
        if self.path.suffix.lower() in (".gpkg", ".xlsx", ".xlsm") and self.layer != self.path.stem:
            return f"{self.path}[{self.layer}]"
        return str(self.path)

    def row_number(self, position: int) -> int:
        """The row number a user sees in the file, for frame position `position`."""
        if self.row_numbers:
            return self.row_numbers[position]
        return position + self.row_offset

    def row(self, position: int) -> str:
        """The row label a user can find in the file, for frame position `position`."""
        return f"row {self.row_number(position)}"


def list_layers(path: Path) -> list[str]:
    """Names of the layers (or sheets) in a GeoPackage or workbook; the stem for single-layer files."""
    suffix = path.suffix.lower()
    if suffix == ".gpkg":
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True)
        try:
            return list(wb.sheetnames)
        finally:
            wb.close()
    return [path.stem]


def read_tables(path: str | Path, *, encoding: str | None = None, crs: str = "auto") -> list[RawTable]:
    """Read every layer (or sheet) of a file as raw text tables with geometry in WGS84.

    Parameters
    ----------
    path
        A .gpkg, .geojson/.json, .shp (or zipped shapefile), .csv/.txt or .xlsx file.
    encoding
        Text encoding of CSV and Shapefile attributes; None guesses UTF-8 (with or without BOM),
        then GB18030 (a superset of GBK and GB2312).
    crs
        What the coordinates are: "auto" reads the file's CRS (WGS84 when it has none),
        "wgs84", "cgcs2000" (EPSG:4490), or "gcj02" (the shifted datum of Amap/Tencent maps,
        converted to WGS84 on read).

    Raises
    ------
    InputDataError
        When the file is missing, unreadable, truncated or of an unsupported kind.
    """
    p = Path(path)
    problems = _file_problems(p, crs)
    if problems:
        raise InputDataError(problems)
    suffix = ".gpkg" if p.name.lower().endswith(".gpkg.zip") else p.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            return [_read_csv(p, encoding, crs)]
        if suffix in (".xlsx", ".xlsm"):
            return _read_xlsx(p, crs)
        return _read_features(p, encoding, crs)
    except InputDataError:
        raise
    except Exception as exc:  # GDAL, openpyxl and pandas raise many kinds on damaged files
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise InputDataError(
            Problem(str(p), "", f"cannot be read as {_kind_name(suffix)} ({reason})",
                    "check the file is complete and not damaged; re-export it from the source system")
        ) from None


def _kind_name(suffix: str) -> str:
    return {".gpkg": "a GeoPackage", ".geojson": "GeoJSON", ".json": "GeoJSON", ".shp": "a Shapefile",
            ".zip": "a zipped Shapefile", ".csv": "CSV", ".txt": "CSV", ".xlsx": "an Excel workbook",
            ".xlsm": "an Excel workbook"}.get(suffix, suffix)


def _file_problems(p: Path, crs: str) -> list[Problem]:
    if crs not in CRS_CHOICES:
        return [Problem(str(p), "", f"unknown coordinate system {crs!r}", f"use one of {', '.join(CRS_CHOICES)}")]
    if not p.exists():
        return [Problem(str(p), "", "no such file", "check the path")]
    if p.is_dir():
        return [Problem(str(p), "", "is a folder, not a file", "name the files inside it")]
    if p.suffix.lower() not in SUPPORTED_SUFFIXES:
        return [Problem(str(p), "", f"unsupported file type {p.suffix!r}",
                        f"use one of {', '.join(SUPPORTED_SUFFIXES)}")]
    if p.stat().st_size == 0:
        return [Problem(str(p), "", "is empty (0 bytes)", "re-export the file")]
    return []


def decode_text(data: bytes, encoding: str | None, label: str) -> tuple[str, list[str]]:
    """Decode file bytes: the given encoding, else UTF-8 (BOM stripped), else GB18030."""
    notes: list[str] = []
    if encoding:
        if encoding.lower().replace("_", "-") in ("utf-8", "utf8") and data.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8-sig"  # a BOM is not part of the first column's name
        try:
            return data.decode(encoding), notes
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputDataError(
                Problem(label, "", f"cannot be decoded as {encoding} ({exc.__class__.__name__})",
                        "omit --encoding to let the planner guess, or give the file's real encoding (utf-8, gbk)")
            ) from None
    if data.startswith(b"\xef\xbb\xbf"):
        notes.append("UTF-8 byte-order mark removed")
        return data[3:].decode("utf-8", errors="strict"), notes
    try:
        return data.decode("utf-8"), notes
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise InputDataError(
            Problem(label, "", "is neither UTF-8 nor GBK/GB18030 text",
                    "save it as UTF-8 (Excel: 另存为 'CSV UTF-8')")
        ) from None
    notes.append("read as GBK/GB18030 (not UTF-8)")
    return text, notes


def _blank_to_none(frame: pd.DataFrame) -> pd.DataFrame:
    # A shallow copy: every column is replaced below (a deep copy of a million-row table costs its size again).
    out = frame.copy(deep=False) if all(dt == object for dt in frame.dtypes) else frame.astype(object)
    for col in out.columns:
        if col == "geometry":
            continue
        values = out[col].to_numpy(dtype=object)
        if all(type(v) is str for v in values):  # a CSV column: strip once, blanks to None
            stripped = [v.strip() for v in values]
            cleaned = [v if v else None for v in stripped]
        else:
            cleaned = [None if (v is None or (isinstance(v, float) and np.isnan(v)) or
                                (isinstance(v, str) and not v.strip())) else (v.strip() if isinstance(v, str) else v)
                       for v in values]
        out[col] = pd.Series(cleaned, index=out.index, dtype=object)
    return out


def _read_csv(p: Path, encoding: str | None, crs: str) -> RawTable:
    text, notes = decode_text(p.read_bytes(), encoding, str(p))
    delimiter = _delimiter(text)
    if delimiter != ",":
        notes.append(f"columns separated by {'a tab' if delimiter == chr(9) else repr(delimiter)}")
    reader = csv.reader(_lines(text), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[list[str]] = []
    numbers: list[int] = []
    problems: list[Problem] = []
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue  # blank lines keep their number for the rows after them
        # A cell the planner neutralised on write ('=1+1) reads back as its text (=1+1).
        record = [spreadsheet_text(c) for c in record]
        if header is None:
            header = [c.strip() for c in record]
            continue
        if len(record) != len(header):
            problems.append(Problem(str(p), f"row {line}", f"has {len(record)} fields but the header has {len(header)}",
                                    "quote cells that contain the separator, or fix the missing/extra separators"))
            continue
        rows.append(record)
        numbers.append(line)
        if len(rows) > MAX_ROWS:
            raise InputDataError(Problem(str(p), "", f"has more than {MAX_ROWS:,} rows", "split the table"))
    if header is None:
        raise InputDataError(Problem(str(p), "", "has no header line", "put column names on the first line"))
    if problems:
        raise InputDataError(problems)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    del rows, text  # the table holds the cells now; a million-row file is not kept three times over
    frame = _blank_to_none(frame)
    table = RawTable(p, p.stem, frame, 2, notes, numbers)
    return _wkt_geometry(_points_from_columns(table, crs), crs)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _lines(text: str) -> Iterator[str]:
    """The lines of a text with their endings (\\n, \\r\\n or \\r), as io.StringIO(newline="") gives them,
    without its copy of the whole text at four bytes a character."""
    for m in _LINE.finditer(text):
        yield m.group()


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _wkt_geometry(table: RawTable, crs: str) -> RawTable:
    """Read a WKT `geometry` (or `wkt`) column, as the planner's own CSV output writes it."""
    if isinstance(table.frame, gpd.GeoDataFrame):
        return table
    from .schema import header_name

    column = next((c for c in table.frame.columns if header_name(str(c)).lower() in ("geometry", "wkt")), None)
    if column is None:
        return table
    geoms, problems = [], []
    for i, text in enumerate(table.frame[column]):
        if text is None:
            geoms.append(None)
            continue
        try:
            geoms.append(shapely.from_wkt(str(text)))
        except shapely.errors.GEOSException:
            geoms.append(None)
            problems.append(Problem(str(table.path), table.row(i), f"{column} {str(text)[:40]!r} is not WKT geometry",
                                    "write geometry as WKT, e.g. POINT (120.1 30.2), or use lon/lat columns"))
    if problems:
        raise InputDataError(problems)
    frame = table.frame.drop(columns=[column])
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index), crs="EPSG:4326")
    if crs == "gcj02":
        gdf = _to_wgs84(gdf, crs, table.label)[0]
        table.notes.append("GCJ-02 coordinates converted to WGS84")
    table.frame = gdf
    return table


MAX_ROWS = 2_000_000
"""Most rows read from one table (a national facility roster has about a million)."""
EXCEL_MAX_ROWS = 1_048_576
"""Rows of an Excel sheet (Excel's own limit): a workbook claiming more was not made by Excel."""
MAX_EXPANDED_BYTES = 4 * 2**30
"""Most bytes an archive (a zipped shapefile, a workbook) may expand to."""
MAX_EXPANSION_RATIO = 200
"""Most an archive may expand relative to its size (a zip bomb expands thousands of times)."""


def _check_expansion(p: Path, z: zipfile.ZipFile) -> None:
    """Refuse an archive that would expand beyond MAX_EXPANDED_BYTES or MAX_EXPANSION_RATIO times its size."""
    total = sum(i.file_size for i in z.infolist())
    size = max(p.stat().st_size, 1)
    if total > MAX_EXPANDED_BYTES or (total > 64 * 2**20 and total / size > MAX_EXPANSION_RATIO):
        raise InputDataError(Problem(str(p), "", f"expands to {total:,} bytes from {size:,} ({total / size:,.0f} times): "
                                     "more than a table this planner reads", "give the table uncompressed, or split it"))


def _read_xlsx(p: Path, crs: str) -> list[RawTable]:
    import openpyxl

    with zipfile.ZipFile(p) as z:
        _check_expansion(p, z)
    wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    tables = []
    try:
        for ws in wb.worksheets:
            rows = []
            for n, r in enumerate(ws.iter_rows(values_only=True), start=1):
                if n > EXCEL_MAX_ROWS:
                    raise InputDataError(Problem(str(p), f"sheet {ws.title}", f"has more than {EXCEL_MAX_ROWS:,} rows, "
                                                 "more than Excel itself holds", "give the table as CSV"))
                if any(v is not None and str(v).strip() for v in r):
                    rows.append((n, list(r)))
            if not rows:
                continue
            header = ["" if h is None else str(h).strip() for h in rows[0][1]]
            while header and not header[-1]:
                header.pop()
            body = [r[: len(header)] + [None] * (len(header) - len(r)) for _, r in rows[1:]]
            frame = pd.DataFrame(body, columns=header, dtype=object)
            # Excel stores numbers; keep their text form so codes can be checked for mangling.
            for col in frame.columns:
                frame[col] = [None if v is None else _excel_text(v) for v in frame[col]]
            frame = _blank_to_none(frame)
            layer = ws.title if len(wb.worksheets) > 1 else p.stem
            table = RawTable(p, layer, frame, 2, [], [n for n, _ in rows[1:]])
            tables.append(_wkt_geometry(_points_from_columns(table, crs), crs))
    finally:
        wb.close()
    return tables


def _excel_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def _find_column(columns: list[str], names: tuple[str, ...]) -> str | None:
    from .schema import header_name

    lowered = {header_name(c).lower(): c for c in columns}
    for n in names:
        if n in lowered:
            return lowered[n]
    return None


def _points_from_columns(table: RawTable, crs: str) -> RawTable:
    """Give a CSV/XLSX table point geometry from its longitude/latitude columns, if it has them."""
    cols = [str(c) for c in table.frame.columns]
    lon_col, lat_col = _find_column(cols, LON_NAMES), _find_column(cols, LAT_NAMES)
    if lon_col is None or lat_col is None or _find_column(cols, ("geometry", "wkt")) is not None:
        return table  # no coordinates, or shapes as WKT (a township's seat_lon/seat_lat are not its shape)
    lon = pd.to_numeric(pd.Series(table.frame[lon_col], dtype=object), errors="coerce").to_numpy(dtype=float, copy=True)
    lat = pd.to_numeric(pd.Series(table.frame[lat_col], dtype=object), errors="coerce").to_numpy(dtype=float, copy=True)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if crs == "gcj02":
        lon[ok], lat[ok] = gcj02.gcj02_to_wgs84(lon[ok], lat[ok])
        table.notes.append("GCJ-02 coordinates converted to WGS84")
    geoms = np.asarray(shapely.points(np.where(ok, lon, 0.0), np.where(ok, lat, 0.0)), dtype=object)  # vectorised
    geoms[~ok] = None
    frame = gpd.GeoDataFrame(table.frame, geometry=gpd.GeoSeries(geoms, index=table.frame.index), crs="EPSG:4326")
    table.frame = frame
    return table


def _read_features(p: Path, encoding: str | None, crs: str) -> list[RawTable]:
    target: Path | str = p
    zipped_gpkg = p.name.lower().endswith(".gpkg.zip")
    if p.suffix.lower() == ".gpkg":
        _check_sqlite(p)
    if p.suffix.lower() == ".shp" and not p.with_suffix(".dbf").exists() and not p.with_suffix(".DBF").exists():
        raise InputDataError(Problem(str(p), "", "has no .dbf file beside it, so no attributes",
                                     "copy the whole shapefile: .shp, .shx, .dbf, .prj and .cpg"))
    if p.suffix.lower() == ".zip" and not zipped_gpkg:
        if not zipfile.is_zipfile(p):
            raise InputDataError(Problem(str(p), "", "is not a valid zip archive", "re-create the zip of the shapefile"))
        # A str: Path() would collapse the // of an absolute path. Point at the .shp inside,
        # wherever the archive keeps it ("compress folder" puts it in a sub-folder).
        with zipfile.ZipFile(p) as z:
            _check_expansion(p, z)
            inner = sorted(n for n in z.namelist() if n.lower().endswith(".shp") and not n.startswith("__MACOSX"))
        if len(inner) > 1:
            # Reading the first alone would drop the others without a word.
            raise InputDataError(Problem(str(p), "", f"holds {len(inner)} shapefiles ({', '.join(inner[:5])})",
                                         "zip one shapefile per archive, or put the layers in one GeoPackage"))
        target = "/vsizip/" + str(p.resolve()) + (f"/{inner[0]}" if inner else "")
    layers = [str(name) for name, _ in pyogrio.list_layers(target)]
    if not layers:
        raise InputDataError(Problem(str(p), "", "holds no layers", "export the data again"))
    tables = []
    for layer in layers:
        kwargs: dict[str, object] = {"layer": layer}
        if encoding and p.suffix.lower() in (".shp", ".zip"):
            kwargs["encoding"] = encoding
        info = pyogrio.read_info(target, layer=layer)
        if info.get("geometry_type") is None:
            frame = pyogrio.read_dataframe(target, read_geometry=False, **kwargs)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # GDAL warnings on odd files; problems are checked later
                frame = pyogrio.read_dataframe(target, **kwargs)
        notes: list[str] = []
        if isinstance(frame, gpd.GeoDataFrame):
            frame, crs_notes = _to_wgs84(frame, crs, f"{p}[{layer}]")
            notes.extend(crs_notes)
        text = _as_text(frame)
        if p.suffix.lower() in (".shp", ".zip"):
            from .schema import SHAPEFILE_NAMES

            back = {short: long for long, short in SHAPEFILE_NAMES.items()}
            text = text.rename(columns={c: back[c] for c in text.columns if c in back and back[c] not in text.columns})
        if p.suffix.lower() in (".shp", ".zip") and not encoding:
            text, fixed = _repair_latin1(text)
            if fixed:
                notes.append(f"attributes had no declared encoding (.cpg); read as {fixed}")
        label_layer = layer if (p.suffix.lower() == ".gpkg" or zipped_gpkg) else p.stem
        tables.append(RawTable(p, label_layer, text, 1, notes))
    return tables


def _check_sqlite(p: Path) -> None:
    """Refuse a damaged GeoPackage (SQLite) before GDAL reads half of it."""
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"file:{p}?mode=ro", uri=True)) as con:
            result = con.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise InputDataError(Problem(str(p), "", f"is not a readable GeoPackage ({exc})",
                                     "re-export it; a copy may have been cut short")) from None
    if not result or result[0] != "ok":
        raise InputDataError(Problem(str(p), "", f"is a damaged GeoPackage ({result[0] if result else 'no answer'})",
                                     "re-export it; a copy may have been cut short"))


def _repair_latin1(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Undo GDAL's Latin-1 reading of a shapefile without .cpg: re-decode as UTF-8, else GB18030."""
    cols = [c for c in frame.columns if c != "geometry"]
    texts = [v for c in cols for v in frame[c] if isinstance(v, str)]
    if not any(any("\x80" <= ch <= "\xff" for ch in v) for v in texts):
        return frame, ""
    for codec in ("utf-8", "gb18030"):
        try:
            for v in texts:
                v.encode("latin-1").decode(codec)
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        out = frame.copy()
        for c in cols:
            out[c] = [v.encode("latin-1").decode(codec) if isinstance(v, str) else v for v in out[c]]
        return out, "GBK/GB18030" if codec == "gb18030" else "UTF-8"
    return frame, ""


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every attribute column as text, keeping what the file wrote (codes keep their zeros)."""
    out = {}
    for col in frame.columns:
        if col == "geometry":
            continue
        s = frame[col]
        if pd.api.types.is_float_dtype(s):
            out[col] = [None if pd.isna(v) else (str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v)))
                        for v in s]
        elif pd.api.types.is_bool_dtype(s):
            out[col] = [None if pd.isna(v) else ("true" if v else "false") for v in s]
        else:
            out[col] = [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in s]
    text = pd.DataFrame(out, index=frame.index, dtype=object)
    text = _blank_to_none(text)
    if isinstance(frame, gpd.GeoDataFrame):
        return gpd.GeoDataFrame(text, geometry=frame.geometry.values, crs=frame.crs)
    return text


def _to_wgs84(frame: gpd.GeoDataFrame, crs: str, label: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    notes = []
    if crs == "gcj02":
        if frame.crs is not None and not CRS(frame.crs).is_geographic:
            raise InputDataError(Problem(label, "", f"declared GCJ-02 but the file is in the projected CRS {frame.crs.name!r}",
                                         "GCJ-02 is geographic (degrees); drop the GCJ-02 option or re-export in degrees"))
        geoms = shapely.transform(frame.geometry.values, lambda xy: np.column_stack(gcj02.gcj02_to_wgs84(xy[:, 0], xy[:, 1])))
        notes.append("GCJ-02 coordinates converted to WGS84")
        return gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=geoms, crs="EPSG:4326"), notes
    if crs in ("wgs84", "cgcs2000") or frame.crs is None:
        declared = "EPSG:4490" if crs == "cgcs2000" else "EPSG:4326"
        if frame.crs is None:
            frame = frame.set_crs(declared)
            if crs == "auto":
                notes.append("no CRS in the file; read as WGS84")
        elif crs != "auto" and not CRS(frame.crs).equals(CRS(declared)):
            raise InputDataError(Problem(label, "", f"declared {crs} but the file says its CRS is {frame.crs.name!r}",
                                         "drop the --crs option to use the file's own CRS, or fix the file's CRS"))
    src = CRS(frame.crs)
    if src.equals(CRS("EPSG:4326")):
        return frame, notes
    out = frame.to_crs("EPSG:4326")
    notes.append(f"converted from {src.name} to WGS84")
    return out, notes


# --- writing -------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success move it into place in one step.

    A crash or kill before the move leaves the previous file untouched; the temporary file
    is removed on failure.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _unused_name(target)
    try:
        yield tmp
        if tmp.exists():
            os.replace(tmp, target)
    except OSError as exc:
        if exc.filename is None:  # a write that failed (disk full) names no file: name the one being written
            raise OSError(exc.errno, exc.strerror, str(target)) from exc
        raise
    finally:
        if tmp.exists():
            tmp.unlink()


def _unused_name(target: Path) -> Path:
    """A name beside `target` that no file has, `.<stem>.tmp.<16 random hex digits><suffix>` (the real suffix
    last: GDAL picks drivers by it).

    Random and checked, not reserved by creating the file (`tempfile.mkstemp`, then removed for the writer
    to create again): creating a file is most of the cost of writing a small one (about 150 us of CPU on
    this project's machine, and a plan folder and its maps are 230 files), and the writer creates it anyway.
    """
    for _ in range(100):
        tmp = target.parent / f".{target.stem}.tmp.{secrets.token_hex(8)}{target.suffix}"
        if not os.path.lexists(tmp):
            return tmp
    raise FileExistsError(errno.EEXIST, "no unused temporary name", str(target))


def write_text(path: str | Path, text: str, *, bom: bool = False) -> Path:
    """Write text (UTF-8, with a BOM when Excel users will open it) atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return Path(path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write bytes atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


# --- spreadsheet-safe cells ---------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet reads as the start of a formula (the OWASP CSV-injection list)."""


def spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet would run as a formula, made inert; every other value unchanged.

    A string that begins with = + - @ tab or CR gets a leading single quote (the OWASP rule for
    CSV: Excel and LibreOffice show it as text). Numbers, negative ones included, stay numbers.
    Every CSV the planner writes goes through this (write_csv); workbooks keep the text as it
    is and mark the cells as text instead (text_cells).
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def spreadsheet_text(value: object) -> object:
    """Undo spreadsheet_safe on a cell read back from a CSV the planner wrote."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with every text cell (and column name) passed through spreadsheet_safe."""
    out = pd.DataFrame(frame).copy(deep=False)   # copy-on-write: the caller's frame is never changed
    for k, col in enumerate(out.columns):
        column = out.iloc[:, k]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            # to_numpy(object) holds the cells iterating the column yields, without pandas' per-cell boxing
            # (a string column's iteration was most of the time of writing a county's tables).
            values = column.to_numpy(dtype=object)
            cells = values if not _formula_cells(values) else [spreadsheet_safe(v) for v in values]
            out.isetitem(k, pd.Series(cells, index=out.index, dtype=object))
    return out.rename(columns={c: spreadsheet_safe(c) for c in out.columns if isinstance(c, str)})


# A line feed, then one of FORMULA_START (derived from it, so the two cannot drift apart); the literal
# first lets re scan for it, not test every position.
_FORMULA_LINE = re.compile("\n[" + "".join(re.escape(c) for c in FORMULA_START) + "]")


def _formula_cells(values: np.ndarray) -> bool:
    """Whether any text cell of `values` starts like a formula (False is certain; True may be a text's inner line).

    One regular-expression pass over the column's texts joined by line feeds, instead of a test
    per cell: most columns hold none, and then the column is written as it is.
    """
    try:   # a column of texts only (most are): joined as it is, without a type test per cell
        joined = "\n".join(values.tolist())
    except TypeError:   # blanks (NaN, None) or other objects among the texts: the texts alone
        joined = "\n".join([v for v in values if isinstance(v, str)])
    return _FORMULA_LINE.search("\n" + joined) is not None


def text_cells(workbook: object) -> object:
    """Mark every cell of an openpyxl workbook whose text starts like a formula as text, never a formula.

    The cell keeps its text (a facility named `=1+1` reads `=1+1`), is stored as a string
    (data type "s", not "f") and carries Excel's quote prefix, so editing it does not turn it
    into a formula either. The planner writes no formulas of its own. Returns the workbook.
    """
    for ws in workbook.worksheets:  # type: ignore[attr-defined]
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith(FORMULA_START)):
                    cell.data_type = "s"
                    cell.quotePrefix = True
    return workbook


def read_csv_text(path: str | Path) -> pd.DataFrame:
    """A CSV the planner wrote, every cell as text (blank as ""), with spreadsheet_safe undone."""
    frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    frame.columns = [spreadsheet_text(c) for c in frame.columns]
    for col in frame.columns:
        frame[col] = [spreadsheet_text(v) for v in frame[col]]
    return frame


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as UTF-8 CSV with a BOM (so Excel shows Chinese), geometry as WKT if any.

    Text cells that a spreadsheet would read as a formula are neutralised (spreadsheet_safe).
    """
    out = pd.DataFrame(frame).copy(deep=False)   # safe_frame copies what it changes (copy-on-write)
    if isinstance(frame, gpd.GeoDataFrame):
        out["geometry"] = shapely.to_wkt(frame.geometry.values, rounding_precision=6)
    safe = safe_frame(out)
    text = csv_text(safe)
    return write_text(path, text if text is not None else safe.to_csv(index=False, lineterminator="\n"), bom=True)


# What makes the csv module quote a field (QUOTE_MINIMAL, "," and '"', the line terminator "\n"), and CR
# (quoted by some Python versions): such fields are written by the csv module itself, whatever its version.
_CSV_SPECIAL = re.compile('[,"\r\n]')


def csv_text(frame: pd.DataFrame) -> str | None:
    """`frame.to_csv(index=False, lineterminator="\\n")`'s text, from its columns as lists; None where it may differ.

    pandas gives the csv module one row at a time after converting every block (Python ints for
    integer columns, numpy's `astype(str)` for floats, "" for missing values): about 1.5x the time
    of joining the same cells column-wise (浙江省's village CSVs). Columns of integers, floats,
    booleans (numpy dtypes) and texts with blanks are written here the way pandas writes them; a
    field the csv module would quote goes through it. Any other column (dates, nullable
    integers, mixed objects) or a one-column table (the csv module writes a lone blank as "")
    returns None, and the caller writes the frame with pandas.
    """
    if frame.shape[1] < 2:
        return None
    columns = []
    for k in range(frame.shape[1]):
        column = frame.iloc[:, k]
        dtype = column.dtype
        if isinstance(dtype, np.dtype) and dtype.kind in "biu":
            texts = list(map(str, column.tolist()))
        elif isinstance(dtype, np.dtype) and dtype.kind == "f":
            values = column.to_numpy()
            cells = values.astype(str)   # as pandas: numpy's shortest round-trip text, blanks for NaN
            cells[np.isnan(values)] = ""
            texts = cells.tolist()
        elif dtype == object or pd.api.types.is_string_dtype(dtype):
            values = column.tolist()
            kinds = set(map(type, values))
            numbers = float in kinds and any(v == v for v in values if type(v) is float)   # not only NaN
            if numbers or not kinds <= _TEXT_TYPES | {type(pd.NA)}:
                return None
            texts = values if kinds == {str} else [v if type(v) is str else "" for v in values]
        else:
            return None
        columns.append(texts)
    header = [str(c) for c in frame.columns]
    for texts in [header, *columns]:
        if _CSV_SPECIAL.search("".join(texts)):
            texts[:] = [_csv_field(t) if _CSV_SPECIAL.search(t) else t for t in texts]
    return "\n".join([",".join(header), *map(",".join, zip(*columns))]) + "\n"


def _csv_field(text: str) -> str:
    """One field as the csv module writes it (quoted, quotes doubled) in a row of several."""
    buffer = _io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([text, ""])
    return buffer.getvalue()[:-2]   # without the empty field's separator and the line terminator


def write_xlsx(sheets: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """Write one sheet per table to an Excel workbook atomically (geometry dropped).

    The workbook holds no timestamps, so the same tables always give the same bytes.
    """
    return write_bytes(path, xlsx_table_bytes(sheets))


# The parts of a workbook that do not depend on its tables. Cells are written as inline
# strings and numbers by hand: openpyxl (through pandas) builds an object per cell and took
# most of the time of writing a province's plan folder; this writes the same values and
# sheets, headers bold with thin borders like pandas' own, about 10x faster.
_XLSX_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_XLSX_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XLSX_STYLES = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet {_XLSX_NS}>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="4"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="00DDE7F0"/><bgColor indexed="64"/></patternFill></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="00FFF3CD"/><bgColor indexed="64"/></patternFill></fill></fills>'
    '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
    '<border><left style="thin"/><right style="thin"/><top style="thin"/><bottom style="thin"/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="10">' + "".join(
        f'<xf numFmtId="0" fontId="{font}" fillId="{fill}" borderId="{border}" xfId="0"{extra}{quote}>{inner}</xf>'
        if inner else f'<xf numFmtId="0" fontId="{font}" fillId="{fill}" borderId="{border}" xfId="0"{extra}{quote}/>'
        # Styles 5-9 are 0-4 with Excel's quote prefix: text that starts like a formula stays text.
        for quote in ("", ' quotePrefix="1"')
        for font, fill, border, extra, inner in (
            (0, 0, 0, "", ""),
            (1, 0, 1, ' applyFont="1" applyBorder="1" applyAlignment="1"', '<alignment horizontal="center" vertical="top"/>'),
            (1, 2, 0, ' applyFont="1" applyFill="1"', ""),
            (1, 3, 0, ' applyFont="1" applyFill="1"', ""),
            (0, 0, 0, ' applyAlignment="1"', '<alignment vertical="top" wrapText="1"/>'))) + '</cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
XLSX_HEADER, XLSX_REPORT_HEADER, XLSX_WARNING, XLSX_WRAP = 1, 2, 3, 4
_XLSX_QUOTED = 5
"""Cell styles of `xlsx_table_bytes` sheets: pandas' header (bold, thin borders, centred), a report
header (bold on light blue), a warning (bold on light yellow), wrapped text at the top."""
# Characters XML 1.0 forbids (openpyxl refuses them; a workbook must still be written).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xlsx_column(k: int) -> str:
    name = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        name = chr(65 + r) + name
    return name


def _xlsx_escape(text: str) -> str:
    """XML text of a cell (illegal characters already removed): a raw CR would be read back as a line feed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _xlsx_text(value: str) -> str:
    text = _xlsx_escape(_XML_ILLEGAL.sub("", value))
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"<is><t{space}>{text}</t></is>"


def _xlsx_cell(ref: str, value: object, style: str = "") -> str:
    """One cell's XML: numbers as numbers, booleans as booleans, blanks empty, the rest as text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return f'<c r="{ref}"{style}/>'
    if isinstance(value, (bool, np.bool_)):
        return f'<c r="{ref}"{style} t="b"><v>{int(bool(value))}</v></c>'
    if isinstance(value, (int, np.integer)):
        return f'<c r="{ref}"{style}><v>{int(value)}</v></c>'
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if f != f:
            return f'<c r="{ref}"{style}/>'
        if f in (float("inf"), float("-inf")):
            return f'<c r="{ref}"{style} t="inlineStr">{_xlsx_text("inf" if f > 0 else "-inf")}</c>'
        return f'<c r="{ref}"{style}><v>{f:.16g}</v></c>'   # as openpyxl writes floats
    text = str(value)
    if not text:
        return f'<c r="{ref}"{style}/>'   # openpyxl leaves an empty string blank too
    if text.startswith(FORMULA_START):
        # Always text here (inline strings are never formulas); the quote prefix keeps it text
        # when someone edits the cell in Excel too (what io.text_cells does to openpyxl cells).
        base = int(style[4:-1]) if style else 0
        style = f' s="{base + _XLSX_QUOTED}"'
    return f'<c r="{ref}"{style} t="inlineStr">{_xlsx_text(text)}</c>'


def _xlsx_column_cells(column: pd.Series, col: str, style: str) -> list[str]:
    """The cells of one column (rows 2, 3, ...) as _xlsx_cell writes them, typed once per column."""
    return _xlsx_cells(column.tolist(), _xlsx_kind(column), col, style)


def _xlsx_kind(column: pd.Series) -> str:
    # Only plain numpy dtypes have one type throughout; nullable ones (Int64, boolean) hold pd.NA.
    return column.dtype.kind if isinstance(column.dtype, np.dtype) else "O"


def _xlsx_cells(values: list, kind: str, col: str, style: str, first_row: int = 2) -> list[str]:
    """The cells of `values` (one column's, from row `first_row` down) as _xlsx_cell writes them."""
    rows = range(first_row, first_row + len(values))
    if kind == "b":
        return [f'<c r="{col}{r}"{style} t="b"><v>{int(v)}</v></c>' for r, v in zip(rows, values)]
    if kind in "iu":
        return [f'<c r="{col}{r}"{style}><v>{v}</v></c>' for r, v in zip(rows, values)]
    if kind == "f":
        return [f'<c r="{col}{r}"{style}><v>{v:.16g}</v></c>' if v == v and v not in _INFINITIES
                else _xlsx_cell(f"{col}{r}", v, style) for r, v in zip(rows, values)]
    return [f'<c r="{col}{r}"{b}' for r, b in zip(rows, _xlsx_tails(values, style))]


def _xlsx_tails(values: list, style: str) -> list[str] | map:
    """Each value's cell XML after its reference (`_xlsx_cell(ref, v, style)` without `<c r="ref"`)."""
    # Text with blanks (None, NaN) only: each distinct value's XML is found once. Other mixes go cell
    # by cell, since equal keys can write differently (1 and True, 0.0 and -0.0).
    types = set(map(type, values))
    if types <= _TEXT_TYPES and (float not in types or all(v != v for v in values if type(v) is float)):
        return map(_xlsx_bodies(dict.fromkeys(values), style).__getitem__, values)
    return [_xlsx_cell("", v, style)[7:] for v in values]


def _xlsx_rows(columns: list[tuple[list, str, bool]], cols: list[str], styles: list[str], start: int, stop: int) -> str:
    """Rows `start + 2` .. `stop + 1` of a sheet's body (its columns' values [start, stop)), as _xlsx_cells writes
    them interleaved with the row tags.

    The block is one join of a flat list, row after row: the texts every row shares (tags, a cell's
    reference up to its row number) and, per column, one text per row (the row numbers, once for
    all columns; a number's digits; a text cell's XML from `_xlsx_tails`, made once per distinct
    value). Each per-row piece is placed with one slice assignment, so no Python code runs per row
    or per cell beyond making the pieces: 浙江省's village sheets encode in about 0.75x the time of a
    format call per row (which parsed a template of the row's cells for every row), the same text.
    Numbers are written as the f-strings of _xlsx_cells write them (`str(int)`, `{:.16g}`).
    """
    n = stop - start
    numbers = list(map(str, range(start + 2, stop + 2)))
    pieces: list[str | list[str]] = ['<row r="', numbers]   # alternately: shared by every row, one per row
    after = '">'
    for (values, kind, finite), c, st in zip(columns, cols, styles):
        part = values[start:stop]
        if kind in "biu" or (kind == "f" and finite):
            digits = (list(map(str, map(int, part))) if kind == "b" else list(map(str, part)) if kind in "iu"
                      else list(map("{:.16g}".format, part)))
            typed = ' t="b"' if kind == "b" else ""
            pieces += [f'{after}<c r="{c}', numbers, f'"{st}{typed}><v>', digits]
            after = "</v></c>"
        else:
            # A blank (NaN) float cell is `_xlsx_cell`'s empty cell: made once, not per cell (the country's
            # village_modes.base_min is blank in 422,000 rows).
            blank = f"{st}/>"
            tails = ([f'{st}><v>{v:.16g}</v></c>' if v == v and v not in _INFINITIES
                      else blank if v != v else _xlsx_cell("", v, st)[7:] for v in part]
                     if kind == "f" else list(_xlsx_tails(part, st)))
            pieces += [f'{after}<c r="{c}', numbers, '"', tails]
            after = ""
    pieces.append(f"{after}</row>")
    stride = len(pieces)
    flat = [p if type(p) is str else "" for p in pieces] * n
    for k in range(1, stride, 2):
        flat[k::stride] = pieces[k]
    return "".join(flat)


_TEXT_TYPES = {str, float, type(None)}


_SEPARATOR = "\ue000"   # a private-use character: joins a column's texts to escape them in one pass


# In a column's escaped texts joined by _SEPARATOR, where a text is not written plainly: it starts like a
# formula (FORMULA_START as escaped: CR is "&#13;"), or starts or ends with whitespace (\s is what str.strip
# strips). Lookarounds: a separator is never consumed, so a text's end and the next one's start both match.
_XLSX_SPECIAL = re.compile(
    f"(?:\\A|(?<={_SEPARATOR}))(?:" + "|".join(re.escape(_xlsx_escape(c)) for c in FORMULA_START)
    + f"|\\s)|\\s(?={_SEPARATOR}|\\Z)")


def _xlsx_bodies(values: dict, style: str) -> dict[object, str]:
    """Each distinct value's cell XML after its reference (`_xlsx_cell(ref, v, style)` without `<c r="ref"`).

    A column's texts (the bulk of a workbook: codes and names) are escaped and wrapped in their
    cell's XML in a few passes over the column joined (each distinct value once), with the same
    result as _xlsx_cell gives text by text; only the texts _XLSX_SPECIAL finds (formula starts,
    whitespace at an end: rare) are written one by one. 浙江省's village sheets: about 2x faster
    than a format call per text, which was about 3x faster than _xlsx_cell per cell.
    """
    texts = [v for v in values if type(v) is str and v]   # exact str: a subclass may print otherwise
    bodies = {v: _xlsx_cell("", v, style)[7:] for v in values if not (type(v) is str and v)}
    joined = _SEPARATOR.join(texts)
    if texts and joined.count(_SEPARATOR) == len(texts) - 1 and not _XML_ILLEGAL.search(joined):
        escaped = _xlsx_escape(joined)
        head, tail = f'{style} t="inlineStr"><is><t>', "</t></is></c>"
        cells = (head + escaped.replace(_SEPARATOR, tail + _SEPARATOR + head) + tail).split(_SEPARATOR)
        special, k, at = [], 0, 0
        for m in _XLSX_SPECIAL.finditer(escaped):   # a text's index: the separators before it
            k += escaped.count(_SEPARATOR, at, m.start())
            at = m.start()
            if not special or special[-1] != k:
                special.append(k)
        for k in special:
            cells[k] = _xlsx_cell("", texts[k], style)[7:]
        bodies.update(zip(texts, cells))
    else:  # a text holding the separator itself, or characters XML forbids: one by one
        bodies.update((v, _xlsx_cell("", v, style)[7:]) for v in texts)
    return bodies


_INFINITIES = (float("inf"), float("-inf"))


@dataclass
class XlsxSheet:
    """A table for `xlsx_table_bytes` with its layout.

    `header` holds the header row's labels (default: the column names) and `header_style` its
    style; `widths` the column widths in characters (default: Excel's); `freeze_header`
    keeps the header row in view; `column_styles` styles a column's body cells (by position);
    `tail` rows follow the table, each (values, style), an empty list for a blank row.
    """

    frame: pd.DataFrame
    header: list[str] | None = None
    header_style: int = XLSX_HEADER
    widths: list[float] | None = None
    freeze_header: bool = False
    column_styles: dict[int, int] = field(default_factory=dict)
    tail: list[tuple[list, int]] = field(default_factory=list)


XLSX_CHUNK_ROWS = 20_000
"""Rows of a sheet encoded at a time: each block is compressed (in a thread) while the next is encoded."""


def _xlsx_values(column: pd.Series) -> tuple[list, str, bool]:
    """A column's cells as Python values, its kind (_xlsx_kind) and whether a float column is finite throughout."""
    kind = _xlsx_kind(column)
    finite = kind == "f" and bool(np.isfinite(column.to_numpy()).all())
    return column.tolist(), kind, finite


def _xlsx_sheet(sheet: XlsxSheet) -> str:
    return "".join(_xlsx_sheet_parts(sheet))


def _xlsx_sheet_parts(sheet: XlsxSheet) -> Iterator[str]:
    """A sheet's XML in pieces (head, blocks of XLSX_CHUNK_ROWS rows, tail): joined, the worksheet part."""
    frame = sheet.frame
    header = sheet.header if sheet.header is not None else [str(c) for c in frame.columns]
    width = max(len(frame.columns), len(header), *(len(v) for v, _ in sheet.tail)) if sheet.tail else len(frame.columns)
    cols = [_xlsx_column(k) for k in range(width)]
    hs = f' s="{sheet.header_style}"' if sheet.header_style else ""
    styles = [f' s="{sheet.column_styles[k]}"' if k in sheet.column_styles else "" for k in range(len(frame.columns))]
    n = len(frame) if len(frame.columns) else 0   # no columns: no body rows (as the row-by-row loop wrote it)
    last = n + 1 + len(sheet.tail)
    view = ('<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
            'state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            if sheet.freeze_header else "")
    widths = ("<cols>" + "".join(f'<col min="{k + 1}" max="{k + 1}" width="{w:g}" customWidth="1"/>'
                                 for k, w in enumerate(sheet.widths)) + "</cols>") if sheet.widths else ""
    # The used range, as openpyxl writes it: readers pad every row to its width (blank rows too).
    dimension = f'<dimension ref="A1:{cols[-1] if cols else "A"}{last}"/>'
    yield (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {_XLSX_NS}>{dimension}{view}{widths}'
           '<sheetData><row r="1">' + "".join(_xlsx_cell(f"{c}1", str(name), hs) for c, name in zip(cols, header))
           + "</row>")
    # Cells are encoded a column at a time (one type test per column where its dtype allows):
    # the same XML as _xlsx_cell gives cell by cell, about 1.5x faster (a 600,000-cell sheet: 1.6 s -> 1.1 s CPU).
    columns = [_xlsx_values(frame.iloc[:, k]) for k in range(len(frame.columns))]
    for start in range(0, n, XLSX_CHUNK_ROWS):
        yield _xlsx_rows(columns, cols, styles, start, min(n, start + XLSX_CHUNK_ROWS))
    rows = []
    r = n + 1
    for values, style in sheet.tail:
        r += 1
        if values:
            st = f' s="{style}"' if style else ""
            rows.append(f'<row r="{r}">' + "".join(_xlsx_cell(f"{c}{r}", v, st) for c, v in zip(cols, values)) + "</row>")
    yield "".join(rows) + "</sheetData></worksheet>"


def xlsx_table_bytes(sheets: dict[str, pd.DataFrame | XlsxSheet]) -> bytes:
    """An XLSX workbook of tables (one sheet each, header row bold, geometry dropped), as bytes.

    A sheet is a frame (laid out as pandas would) or an XlsxSheet. Sheet names are cut to
    Excel's 31 characters. Every zip entry is dated 1980-01-01, so the same tables give the
    same bytes.
    """
    names = [str(name)[:31] for name in sheets]
    frames = [s if isinstance(s, XlsxSheet) else XlsxSheet(pd.DataFrame(s.drop(columns="geometry", errors="ignore")))
              for s in sheets.values()]
    esc = [n.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;") for n in names]
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{k + 1}.xml" '
                      'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                      for k in range(len(names))) + "</Types>"),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_XLSX_REL}/officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
            'core-properties" Target="docProps/core.xml"/></Relationships>'),
        # Fixed dates (as the openpyxl workbooks had): the same tables give the same bytes.
        "docProps/core.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>planner</dc:creator>'
            '<dcterms:created xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:created>'
            '<dcterms:modified xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:modified></cp:coreProperties>'),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook {_XLSX_NS} xmlns:r="{_XLSX_REL}"><sheets>'
            + "".join(f'<sheet name="{n}" sheetId="{k + 1}" r:id="rId{k + 1}"/>' for k, n in enumerate(esc))
            + "</sheets></workbook>"),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(f'<Relationship Id="rId{k + 1}" Type="{_XLSX_REL}/worksheet" Target="worksheets/sheet{k + 1}.xml"/>'
                      for k in range(len(names)))
            + f'<Relationship Id="rId{len(names) + 1}" Type="{_XLSX_REL}/styles" Target="styles.xml"/></Relationships>'),
        "xl/styles.xml": _XLSX_STYLES,
    }
    out = _io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z, ThreadPoolExecutor(1) as deflater:
        for name, text in parts.items():
            z.writestr(_xlsx_entry(name), text.encode("utf-8"))
        for k, frame in enumerate(frames):
            # Streamed: the same entry as writestr gives (deflate's output does not depend on how its
            # input is cut), a block compressed in the thread (zlib releases the GIL) while the next
            # is encoded here.
            with z.open(_xlsx_entry(f"xl/worksheets/sheet{k + 1}.xml"), "w") as dest:
                pending: Future | None = None
                try:
                    for piece in _xlsx_sheet_parts(frame):
                        data = piece.encode("utf-8")
                        if pending is not None:
                            pending.result()
                        pending = deflater.submit(dest.write, data)
                finally:   # the entry is closed only when its last block is in
                    if pending is not None:
                        pending.result()
    return out.getvalue()


XLSX_DEFLATE_LEVEL = 1
"""zlib level of the workbooks' entries. Level 1 deflates sheet XML about 3x faster than the default 6 for
files about a quarter larger (measured on 36 MB of sheet XML: 0.10 s and 5.1 MB against 0.33 s and 4.1 MB);
the country's workbooks spent ~18 s of CPU in deflate at level 6."""


def _xlsx_entry(name: str) -> zipfile.ZipInfo:
    """A workbook entry: fixed date (the same tables give the same bytes), deflated at XLSX_DEFLATE_LEVEL."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    # ZipFile.open(info, "w") takes the level from the entry (`_compresslevel`; Python 3.13 also names it
    # `compress_level` and keeps this name as its alias).
    info._compresslevel = XLSX_DEFLATE_LEVEL
    return info


def fixed_zip_times(data: bytes) -> bytes:
    """Re-pack a zip (an XLSX) with every entry dated 1980-01-01 and the workbook's own dates fixed."""
    out = _io.BytesIO()
    with zipfile.ZipFile(_io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps the save time here whatever the workbook says.
                body = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                              rb"\g<1>2000-01-01T00:00:00Z\g<3>", body)
            dst.writestr(fixed, body)
    return out.getvalue()


def write_layers(layers: dict[str, pd.DataFrame], path: str | Path) -> list[Path]:
    """Write tables as the layers of one GeoPackage or workbook, or one GeoJSON/Shapefile/CSV per layer.

    Single-file formats get one file per layer, named `<stem>_<layer><suffix>` when there are
    several layers. Every file is written to a temporary name and moved into place, so readers
    never see a half-written file. Returns the files written (for a Shapefile, its .shp).
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".gpkg":
        with atomic_path(target) as tmp, _sqlite_unsynced():
            for name, frame in layers.items():
                _write_one(frame, tmp, name, "GPKG", append=tmp.exists())
        return [target]
    if suffix == ".xlsx":
        return [write_xlsx(layers, target)]
    driver = {".geojson": "GeoJSON", ".json": "GeoJSON", ".shp": "ESRI Shapefile", ".csv": "CSV"}.get(suffix)
    if driver is None:
        msg = f"cannot write {suffix!r} files; use .gpkg, .geojson, .shp, .csv or .xlsx"
        raise ValueError(msg)
    written = []
    for name, frame in layers.items():
        out = target.with_name(f"{target.stem}_{name}{target.suffix}") if len(layers) > 1 else target
        written.append(out)
        if driver == "CSV":
            write_csv(frame, out)
        elif driver == "ESRI Shapefile":
            # A shapefile is several files; write them in a temporary folder, then move each.
            with tempfile.TemporaryDirectory(dir=out.parent) as tmpdir:
                tmp = Path(tmpdir) / out.name
                _write_one(_short_names(frame), tmp, name, driver, append=False)
                for part in sorted(Path(tmpdir).iterdir()):
                    os.replace(part, out.with_suffix(part.suffix))
        else:
            with atomic_path(out) as tmp:
                _write_one(frame, tmp, name, driver, append=False)
    return written


def _short_names(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename columns to unique names of at most 10 characters (the Shapefile limit)."""
    from .schema import SHAPEFILE_NAMES

    taken: set[str] = set()
    names = {}
    for col in frame.columns:
        if col == "geometry":
            continue
        short = SHAPEFILE_NAMES.get(str(col), str(col))[:10]
        base, n = short, 1
        while short in taken:
            short = f"{base[:8]}_{n}"
            n += 1
        taken.add(short)
        names[col] = short
    return frame.rename(columns=names)


# GeoPackages record the time of writing; a fixed time makes the same plan give the same bytes.
pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2000-01-01T00:00:00Z"})


@contextlib.contextmanager
def _sqlite_unsynced() -> Iterator[None]:
    """GDAL's SQLite (GeoPackage) writes without waiting for the disk at each commit, then as before.

    A GeoPackage is written to a temporary name and moved into place (`atomic_path`), like every
    other file the planner writes, none of which waits for the disk: SQLite's own syncs (several per
    file, one per layer and index) only made plan.gpkg's write wait, 0.37 -> 0.10 s wall for 浙江省 on
    this machine (CPU 0.07 either way), and the file's bytes are the same (SQLite's synchronous mode
    decides when data reaches the disk, not what is written).
    """
    before = pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS")
    pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "OFF"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": before})


def _write_one(frame: pd.DataFrame, path: Path, layer: str, driver: str, append: bool) -> None:
    kwargs: dict[str, object] = {"driver": driver}
    if driver == "ESRI Shapefile":
        kwargs["encoding"] = "UTF-8"
    if driver == "GPKG":
        kwargs["layer"] = layer
        kwargs["append"] = append
    if driver == "GeoJSON":
        kwargs["layer"] = layer  # the collection's "name", instead of the temporary file's
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry is not None:
        pyogrio.write_dataframe(frame, path, **kwargs)
    else:
        if driver != "GPKG":
            msg = f"layer {layer!r} has no geometry; write it as .gpkg, .csv or .xlsx"
            raise ValueError(msg)
        pyogrio.write_dataframe(pd.DataFrame(frame), path, **kwargs)
