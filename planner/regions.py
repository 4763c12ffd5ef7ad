"""Find and load the embedded regions (provinces, cities, counties) shipped with the planner."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ._gc import fewer_collections

with fewer_collections():   # the data stack's import (see `_gc.fewer_collections`)
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import pyogrio

    from . import geostore
    from ._errors import InputDataError, Problem
    from .region import CONTEXT_LEVELS, Region
    from .schema import FACILITIES, STAFF, TOWNSHIPS, VILLAGES
    from .vocabulary import parse_grade

DEFAULT_REGION = "浙江省"
NATIONAL_NAMES = ("全国", "中国", "china", "000000", "all")


def data_dir() -> Path:
    """Where the built region files are: $PLANNER_DATA_DIR, the checkout's geodata/built, or the installed copy."""
    here = Path(__file__).resolve().parent
    override = os.environ.get("PLANNER_DATA_DIR")
    for candidate in ([Path(override)] if override else []) + [here.parent / "geodata" / "built", here / "_geodata"]:
        if (candidate / "catalog.csv").exists():
            return candidate
    msg = "the embedded region data is missing (geodata/built/catalog.csv); reinstall the planner"
    raise InputDataError(Problem("planner", "", msg, "pip install --force-reinstall medcommunity-planner"))


def catalog() -> pd.DataFrame:
    """One row per embedded county-level unit: codes, names, population, file, plannable."""
    path = data_dir() / "catalog.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["population"] = pd.to_numeric(frame["population"], errors="coerce").fillna(0).astype("int64")
    frame["n_townships"] = pd.to_numeric(frame["n_townships"], errors="coerce").fillna(0).astype("int64")
    frame["plannable"] = frame["plannable"].str.lower().isin(["true", "1"])
    return frame


@dataclass(frozen=True)
class RegionSpec:
    """A resolved region name: what it is called and which county-level units it holds."""

    name: str
    level: str
    code: str
    counties: tuple[str, ...]
    files: tuple[str, ...]
    excluded: tuple[str, ...] = ()


def _strip(name: str) -> str:
    for suffix in ("省", "市", "自治区", "壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def resolve(spec: str) -> RegionSpec:
    """Resolve a region name or code (浙江省, 浙江, 330000, 杭州市, 330100, 义乌市, 330782, 全国).

    A county name shared by several places (朝阳区) must be qualified: 吉林省/长春市/朝阳区
    or given by adcode. Raises InputDataError naming the candidates when the name is unknown
    or ambiguous.
    """
    cat = catalog()
    text = spec.strip()
    if text.lower() in NATIONAL_NAMES:
        return _spec(cat, "全国", "country", "000000", cat)
    parts = [p for p in text.replace("\\", "/").split("/") if p]
    rows = cat
    level, code, name = "country", "000000", text
    for part in parts:
        found = None
        for lvl, code_col, name_col in (("province", "province_code", "province_name"),
                                        ("city", "city_code", "city_name"), ("county", "adcode", "name")):
            if part.isdigit():
                hit = rows[rows[code_col] == part]
            else:
                hit = rows[(rows[name_col] == part) | (rows[name_col].map(_strip) == _strip(part))]
            if len(hit):
                if lvl == "county" and hit["adcode"].nunique() > 1:
                    places = ", ".join(f"{r.province_name}/{r.city_name}/{r.name} ({r.adcode})"
                                       for r in hit.drop_duplicates("adcode").itertuples())
                    raise InputDataError(Problem("region", repr(spec), f"is ambiguous: {places}",
                                                 "give the adcode or qualify it as 省/市/县"))
                found = (lvl, code_col, name_col, hit)
                break
        if found is None:
            raise InputDataError(Problem("region", repr(spec), f"no embedded province, city or county is called {part!r}",
                                         "run `planner regions` to list them; use a name like 浙江省 or an adcode like 330782"))
        level, code_col, name_col, rows = found
        code, name = str(rows[code_col].iloc[0]), str(rows[name_col].iloc[0])
    return _spec(cat, name, level, code, rows)


def _spec(cat: pd.DataFrame, name: str, level: str, code: str, rows: pd.DataFrame) -> RegionSpec:
    plannable = rows[rows["plannable"]]
    excluded = tuple(f"{r.name} ({r.adcode}): {r.note}" for r in rows[~rows["plannable"]].itertuples())
    return RegionSpec(name, level, code, tuple(sorted(plannable["adcode"])), tuple(sorted(set(plannable["file"]))), excluded)


def _read(path: Path, layer: str, where: str | None) -> pd.DataFrame:
    return pyogrio.read_dataframe(path, layer=layer, where=where, use_arrow=False)


def _in_clause(column: str, values: list[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


_LAYERS = ("counties", "townships", "villages", "facilities", "staff", "about")
_CODE_PREFIX = "substr(code, 1, 6)"
"""A village's county: the first six digits of its code (what the files are filtered by)."""

Reader = Callable[[str, "str | None", "list[str] | None"], pd.DataFrame]


def _source_reader(path: Path) -> Reader:
    """Rows of a layer read from the GeoPackage, filtered by GDAL (`column IN codes`; every row when codes is None)."""
    def read(layer: str, column: str | None, codes: list[str] | None) -> pd.DataFrame:
        return _read(path, layer, None if codes is None or column is None else _in_clause(column, codes))
    return read


def _store_reader(path: Path, store: Path) -> Reader:
    """The same rows, from the file's layers decoded once (planner.geostore) and filtered here.

    A boolean mask keeps the file's row order and a fresh RangeIndex, as GDAL's filter does; a
    filter that keeps no row is GDAL's (its empty frame's dtypes differ from an empty slice's)."""
    layers = geostore.load_layers(path, _LAYERS, store)

    def read(layer: str, column: str | None, codes: list[str] | None) -> pd.DataFrame:
        frame = layers[layer]
        if codes is None or column is None:
            return frame.copy(deep=False)
        keys = frame["code"].str[:6] if column == _CODE_PREFIX else frame[column]
        mask = keys.isin(codes).to_numpy()
        if not mask.any():
            # GDAL's empty answer has its own dtypes (object columns), which concat passes on: ask it
            return _read(path, layer, _in_clause(column, codes))
        return frame[mask].reset_index(drop=True)
    return read


EXTRACT_MAX_COUNTIES = 40
"""Regions up to this many counties (a city, a county) are kept as a small extract when a cache folder is given."""

EXTRACT_FORMAT = 1


def load(spec: str | RegionSpec = DEFAULT_REGION, *, cache_dir: str | Path | None = None, jobs: int = 1) -> Region:
    """Load an embedded region by name or code as a Region (trusted data: validated when built).

    Parameters
    ----------
    spec
        A province, city or county by name or adcode.
    cache_dir
        A folder for small extracts of the region's layers: a county or city read from its
        province's zipped GeoPackage takes about ten times longer than from its extract (the
        CLI passes its cache folder, so a one-county re-solve does not re-read the province).
        The extract is keyed by the data files' size and time and the planner version.
    jobs
        With more than one, a region of several files that the store (planner.geostore) lacks
        is read in two processes: a forked worker fills the store with some of the files while
        this process reads the others, then reads the worker's from the store. The region is
        the same as with one.
    """
    rs = spec if isinstance(spec, RegionSpec) else resolve(spec)
    base = data_dir()
    extract = _extract_path(rs, base, cache_dir)
    if extract is not None and extract.exists() and _extract_intact(extract):
        try:
            return _assemble(rs, *_read_extract(extract))
        except Exception:  # a damaged or foreign extract is a miss: read the embedded data again
            pass
    wanted = set(rs.counties)
    store = geostore.store_folder()
    paths = [base / file for file in rs.files]
    mine, theirs, filled = paths, [], None
    if store is not None and jobs > 1:
        mine, theirs = _fill_split(paths, store)
        if theirs:
            from .executor import fork_call

            filled = fork_call(geostore.fill, theirs, _LAYERS, store)
    from .executor import joined_on_error

    pieces = {}
    with joined_on_error([filled]):
        for path in mine:
            pieces[path] = _file_parts(_store_reader(path, store) if store is not None else _source_reader(path), wanted)
    if filled is not None:
        try:
            filled()
        except Exception:  # the worker died (memory): what it stored is read from the store, the rest from the files
            pass
    for path in theirs:
        pieces[path] = _file_parts(_store_reader(path, store), wanted)  # type: ignore[arg-type]
    parts: dict[str, list[pd.DataFrame]] = {k: [] for k in ("counties", "townships", "villages", "facilities", "staff")}
    about: dict[str, str] = {}
    context_counties: list[pd.DataFrame] = []
    for path in paths:  # in the files' order, however they were read
        got = pieces[path]
        if got is None:
            continue
        for key in parts:
            parts[key].extend(got[key])
        context_counties.extend(got["context_counties"])
        about.update(got["about"])
    ctx = pd.concat(context_counties, ignore_index=True) if context_counties else None
    if extract is not None:
        _write_extract(extract, parts, about, ctx)
    return _assemble(rs, parts, about, ctx)


def _fill_split(paths: list[Path], store: Path) -> tuple[list[Path], list[Path]]:
    """The files this process reads, and those a forked worker stores first (none when forking does not pay:
    fewer than two files missing from the store, or no fork on this system).

    Halves by size, the largest files first, each to the lighter side: this process reads the
    worker's files from the store once both are done, so the two should end together."""
    import multiprocessing

    missing = [p for p in paths if not geostore.has_entry(p, store)]
    if len(missing) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return paths, []
    sizes = {}
    for p in missing:
        try:
            sizes[p] = p.stat().st_size
        except OSError:
            sizes[p] = 0  # read here: the reader names it
    here = there = 0
    theirs = set()
    for p in sorted(missing, key=lambda q: (-sizes[q], str(q))):
        if sizes[p] and there < here:
            theirs.add(p)
            there += sizes[p]
        else:
            here += sizes[p]
    return [p for p in paths if p not in theirs], [p for p in paths if p in theirs]


def _file_parts(read: Reader, wanted: set[str]) -> dict | None:
    """The region's rows of one file (None: the file holds none of its counties)."""
    all_counties = read("counties", None, None)
    counties = all_counties[all_counties["adcode"].isin(wanted)]
    codes = sorted(counties["adcode"])
    if not codes:
        return None
    got: dict = {k: [] for k in ("counties", "townships", "villages", "facilities", "staff", "context_counties")}
    only = None if len(counties) == len(all_counties) else codes
    # The rest of the region's cities: their hospitals send experts and may lead as a fallback.
    rest = all_counties[all_counties["city_code"].isin(set(counties["city_code"])) & ~all_counties["adcode"].isin(wanted)]
    if len(rest):
        got["context_counties"].append(pd.DataFrame(rest.drop(columns="geometry")))
        context = read("facilities", "county_code", sorted(rest["adcode"]))
        context = context[context["admin_level"].isin(CONTEXT_LEVELS)]
        context["context"] = True
        got["facilities"].append(context)
    got["counties"].append(counties)
    got["townships"].append(read("townships", "county_code", only))
    got["villages"].append(read("villages", _CODE_PREFIX, only))
    facilities = read("facilities", "county_code", only)
    facilities["context"] = False
    got["facilities"].append(facilities)
    staff = read("staff", None, None)
    # A file's staff rows name only that file's facilities (ids carry the city code), so this
    # file's facilities are enough: the ids of every file read so far made loading the country
    # quadratic in its 31 files (7.6 s of 24.7 s).
    ids = facilities["facility_id"].to_numpy()
    if len(rest):
        ids = np.concatenate([ids, context["facility_id"].to_numpy()])
    got["staff"].append(staff[staff["facility_id"].isin(ids)])  # (a set() of a str Series iterates in Python)
    got["about"] = dict(zip(*read("about", None, None)[["key", "value"]].to_numpy().T))
    return got


def _assemble(rs: RegionSpec, parts: dict[str, list[pd.DataFrame]], about: dict[str, str],
              context_counties: pd.DataFrame | None) -> Region:
    frames = [_frame(parts, key) for key in ("counties", "townships", "villages", "facilities")]
    region = Region(rs.name, *frames,
                    _staff(pd.concat(parts["staff"], ignore_index=True) if parts["staff"] else pd.DataFrame(), frames[3]),
                    [f"not plannable: {e}" for e in rs.excluded], about)
    if context_counties is not None and len(context_counties):
        region.context_counties = context_counties.set_index("adcode", drop=False)
    return region


# --- extracts: a small region's layers, as read, in one uncompressed GeoPackage ----------------------


def _extract_path(rs: RegionSpec, base: Path, cache_dir: str | Path | None) -> Path | None:
    if cache_dir is None or not rs.counties or len(rs.counties) > EXTRACT_MAX_COUNTIES:
        return None
    import hashlib
    import json

    from . import __version__

    files = []
    for f in rs.files:
        st = (base / f).stat()
        files.append([f, st.st_size, st.st_mtime_ns])
    key = json.dumps({"format": EXTRACT_FORMAT, "version": __version__, "data": str(base.resolve()), "files": files,
                      "counties": list(rs.counties), "name": rs.name}, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return Path(cache_dir) / "regions" / f"{rs.level}_{rs.code}_{digest}.gpkg"


_EXTRACT_LAYERS = ("counties", "townships", "villages", "facilities", "staff")


def _write_extract(path: Path, parts: dict[str, list[pd.DataFrame]], about: dict[str, str],
                   ctx: pd.DataFrame | None) -> None:
    """Store the layers as read; a folder that cannot be written only costs the next run its speed."""
    from . import io

    try:
        with io.atomic_path(path) as tmp:
            for layer in _EXTRACT_LAYERS:
                frame = pd.concat(parts[layer], ignore_index=True) if parts[layer] else pd.DataFrame()
                if "geometry" in frame.columns:
                    frame = gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
                pyogrio.write_dataframe(frame, tmp, layer=layer, append=tmp.exists())
            pyogrio.write_dataframe(pd.DataFrame({"key": list(about), "value": [str(v) for v in about.values()]}),
                                    tmp, layer="about", append=True)
            if ctx is not None and len(ctx):
                pyogrio.write_dataframe(ctx, tmp, layer="context_counties", append=True)
        # The extract's own checksum: an edited or damaged extract is never read as the region.
        from .planfile import file_sha256

        io.write_text(_digest_path(path), file_sha256(path) + "\n")
        for old in path.parent.glob(path.name.rsplit("_", 1)[0] + "_*.gpkg"):
            if old != path:
                old.unlink(missing_ok=True)  # extracts of older data or planner versions
                _digest_path(old).unlink(missing_ok=True)
    except OSError:
        return


def _digest_path(extract: Path) -> Path:
    return extract.with_name(extract.name + ".sha256")


def _extract_intact(path: Path) -> bool:
    """True when an extract's bytes are those its checksum file records."""
    from .planfile import file_sha256

    try:
        return _digest_path(path).read_text(encoding="utf-8").strip() == file_sha256(path)
    except OSError:
        return False


def _read_extract(path: Path) -> tuple[dict[str, list[pd.DataFrame]], dict[str, str], pd.DataFrame | None]:
    layers = {str(name) for name, _ in pyogrio.list_layers(path)}
    parts: dict[str, list[pd.DataFrame]] = {}
    for layer in _EXTRACT_LAYERS:
        frame = _read(path, layer, None)
        if layer == "facilities" and "context" in frame.columns:
            frame["context"] = frame["context"].astype(bool)
        parts[layer] = [frame]
    about_frame = _read(path, "about", None)
    about = dict(zip(about_frame["key"], about_frame["value"]))
    ctx = _read(path, "context_counties", None) if "context_counties" in layers else None
    return parts, about, ctx


def _frame(parts: dict[str, list[pd.DataFrame]], key: str) -> gpd.GeoDataFrame:
    frames = parts[key]
    out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs="EPSG:4326")
    index_col = {"counties": "adcode", "townships": "code", "villages": "code", "facilities": "facility_id"}[key]
    out = _sorted_by_code(out.set_index(index_col, drop=False))
    out.index.name = None
    if key == "facilities":
        grades = {g: int(parse_grade(g).value) for g in out["grade"].unique()}
        out["grade"] = out["grade"].map(grades).astype(int)
    return _typed(out, key)


def _sorted_by_code(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The frame ordered by its (string) index: `sort_index()`'s order, by numpy's fixed-width sort.

    Python compares str by code point, and so does numpy's unicode dtype; with unique codes the
    orders are the same, and numpy's sort of the country's 600,000 village codes is several times
    faster than pandas' sort of str objects. Anything else takes `sort_index()`."""
    index = frame.index
    # A str-dtype index without NaN holds only str (an object index, or one with NaN, takes sort_index).
    if len(index) < 2 or not isinstance(index.dtype, pd.StringDtype) or index.hasnans or not index.is_unique:
        return frame.sort_index()
    order = np.argsort(index.to_numpy().astype(str), kind="stable")
    return frame.iloc[order]


def _staff(frame: pd.DataFrame, facilities: pd.DataFrame) -> pd.DataFrame:
    """Staff rows with every column of the layer.

    Files built before recipe 1.1 hold physicians only (profession medicine) and label staff
    rows only through their facility: such a row is synthesized when its facility is.
    """
    if "synthesized" not in frame.columns:
        flags = facilities["synthesized"].astype(bool).to_dict() if "synthesized" in facilities.columns else {}
        frame["synthesized"] = [flags.get(f, False) for f in frame.get("facility_id", [])]
    for col in STAFF.columns:
        if col.name not in frame.columns:
            frame[col.name] = pd.Series([col.default] * len(frame), index=frame.index, dtype=object)
    frame["synthesized"] = frame["synthesized"].fillna(False).astype(bool)
    frame["profession"] = frame["profession"].fillna("medicine").astype(str)
    frame["qualification"] = frame["qualification"].fillna("licensed").astype(str)
    if len(frame):
        frame["title"] = frame["title"].fillna("")
    return frame


def _typed(frame: gpd.GeoDataFrame, key: str) -> gpd.GeoDataFrame:
    layer = {"townships": TOWNSHIPS, "villages": VILLAGES, "facilities": FACILITIES}.get(key)
    if layer is None:
        return frame
    for col in layer.columns:
        if col.name not in frame.columns:
            frame[col.name] = col.default
        elif col.dtype == "bool":
            frame[col.name] = frame[col.name].fillna(False).astype(bool)
    return frame

