"""The Region: counties, townships, villages, facilities and staff of one planning area, validated."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from .vocabulary import FacilityKind, Grade


# Admin levels of the context facilities: the hospitals of a city's other counties that send experts.
CONTEXT_LEVELS = ("city", "provincial")


@dataclass
class Region:
    """Validated geodata of a planning area, every geometry in WGS84 (EPSG:4326).

    Frames are indexed by their code (counties by `adcode`, townships and villages by `code`,
    facilities by `facility_id`); codes are strings. Facility `kind` holds FacilityKind values,
    `grade` holds Grade integers (三甲 = 33 ... 一级 = 10, 未定级 = 0).

    Parameters
    ----------
    name
        What the region is called in reports (浙江省, 玉溪市, or a user file name).
    counties, townships, villages, facilities
        The layers; see planner.schema for the columns.
    staff
        Physicians by facility, title and specialty (long table).
    notes
        What was normalised on read (grades respelled, encodings guessed, CRS converted).
    about
        Provenance of the data (sources, licenses, what is estimated or synthesized).
    context_counties
        Counties of the region's cities that are not part of the region (adcode, name,
        city_code): their city and provincial hospitals are in `facilities` with
        `context=True`, because they send experts to the region and may lead where county
        hospitals are too weak, but they are not the region's own facilities.
    warnings
        What the user's files lack that the plan will feel (columns ignored, facilities
        without staff, townships without a health center, no eligible lead, no city
        hospitals for experts); filled by planner.roster.roster_warnings.
    """

    name: str
    counties: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    staff: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    about: dict[str, str] = field(default_factory=dict)
    context_counties: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["adcode", "name", "city_code"]))
    warnings: list[str] = field(default_factory=list)

    # --- lookups -----------------------------------------------------------------------

    @property
    def population(self) -> int:
        """Total resident population of the counties."""
        return int(self.counties["population"].sum())

    def village_counties(self) -> pd.Series:
        """Each village's county code: its township's county, else its code's first six digits.

        A village code's prefix is not always a county: 6,219 of the country's villages carry a
        development-zone prefix (e.g. 410173) while their townships lie in a county."""
        v = self.villages
        prefix = v["code"].astype(str).str[:6]
        if "township_code" not in v.columns or self.townships.empty:
            return prefix
        town = self.townships["county_code"].astype(str).to_dict()
        return v["township_code"].astype(str).map(town).fillna(prefix)

    def county_name(self, adcode: str) -> str:
        """The county's name, e.g. 义乌市 (also for the context counties of the region's cities)."""
        if adcode in self.counties.index:
            return str(self.counties.at[adcode, "name"])
        if adcode in self.context_counties.index:
            return str(self.context_counties.at[adcode, "name"])
        return str(adcode)

    def city_of(self, adcode: str) -> str:
        """The prefecture-level city code of a county (region or context county)."""
        if adcode in self.counties.index:
            return str(self.counties.at[adcode, "city_code"])
        if adcode in self.context_counties.index:
            return str(self.context_counties.at[adcode, "city_code"])
        return ""

    def city_counties(self, city_code: str) -> list[str]:
        """Adcodes of every county of a city, the region's and its context counties."""
        own = self.counties.index[self.counties["city_code"] == city_code]
        ctx = self.context_counties.index[self.context_counties["city_code"] == city_code] if len(self.context_counties) else []
        return sorted(set(own) | set(ctx))

    @property
    def own_facilities(self) -> gpd.GeoDataFrame:
        """Facilities located in the region (without the context hospitals of its cities)."""
        if "context" in self.facilities.columns:
            return self.facilities[~self.facilities["context"].astype(bool)]
        return self.facilities

    def townships_of(self, adcode: str) -> gpd.GeoDataFrame:
        """Townships of one county, ordered by code."""
        return self.townships[self.townships["county_code"] == adcode].sort_index()

    def facilities_of(self, adcode: str) -> gpd.GeoDataFrame:
        """Facilities located in one county, ordered by id."""
        return self.facilities[self.facilities["county_code"] == adcode].sort_index()

    @property
    def cities(self) -> list[str]:
        """Codes of the prefecture-level cities in the region, ordered."""
        return sorted(set(self.counties["city_code"]))

    def city_name(self, city_code: str) -> str:
        """Name of a prefecture-level city."""
        names = self.counties.loc[self.counties["city_code"] == city_code, "city_name"]
        return str(names.iloc[0]) if len(names) else city_code

    def seats(self) -> gpd.GeoSeries:
        """Township seat points (the township government), indexed by township code."""
        return gpd.GeoSeries(gpd.points_from_xy(self.townships["seat_lon"], self.townships["seat_lat"]),
                             index=self.townships.index, crs="EPSG:4326")

    def facility_counts(self) -> pd.DataFrame:
        """Facilities by kind (rows) and grade (columns), for summaries."""
        f = self.own_facilities
        if f.empty:
            return pd.DataFrame()
        kinds = f["kind"].map(lambda k: FacilityKind(k).zh)
        grades = f["grade"].map(lambda g: Grade(int(g)).zh)
        table = pd.crosstab(kinds, grades)
        order = [Grade(g).zh for g in sorted({int(g) for g in f["grade"]}, reverse=True)]
        return table[order]

    def subset(self, county_codes: list[str] | set[str], name: str | None = None) -> Region:
        """The region restricted to some counties (their townships, villages, facilities, staff)."""
        return self.partition([list(county_codes)], villages=True, names=[name or self.name])[0]

    def partition(self, groups: list[list[str]], *, villages: bool = False, context: bool = True, staff: bool = True,
                  names: list[str] | None = None) -> list[Region]:
        """One sub-region per group of counties, grouping every layer once (fast for thousands).

        Each part keeps the city and provincial hospitals of its cities (from the region or
        its context) as context facilities, so experts and fallback leads stay available.
        Villages are left out unless asked for (dispatch and dialysis do not need them);
        `context=False` and `staff=False` leave out what a task does not use, to keep the
        parts small to build and to send to worker processes.
        """
        cut = self.cutter(villages=villages, context=context, staff=staff)
        return [cut.part(group, names[k] if names else self.name) for k, group in enumerate(groups)]

    def cutter(self, *, villages: bool = False, context: bool = True, staff: bool = True) -> RegionCutter:
        """What `partition` finds once for all its parts (each layer's row positions per key), to cut parts
        one at a time later: `cutter().part(group)` is `partition([group])[0]` (the options as there)."""
        return RegionCutter(self, villages=villages, context=context, staff=staff)

    def estimated_flags(self) -> dict[str, int]:
        """How many rows are estimated or synthesized, by kind, for the honesty panel of reports."""
        t, v = self.townships, self.villages
        return {
            "township_population_estimated": int(np.asarray(t.get("population_estimated", False), dtype=bool).sum()),
            "township_polygon_estimated": int(np.asarray(t.get("polygon_estimated", False), dtype=bool).sum()),
            "township_seat_synthesized": int((t.get("seat_source", pd.Series(dtype=str)) == "synthesized").sum()),
            "village_point_estimated": int(np.asarray(v.get("point_estimated", False), dtype=bool).sum()),
            "facilities_synthesized": int(np.asarray(self.own_facilities.get("synthesized", False), dtype=bool).sum()),
        }


class RegionCutter:
    """A region's layers' row positions per county (and staff per facility), found once, to cut sub-regions
    (Region.partition, Region.cutter): each part is the same whenever and wherever it is cut (a forked
    worker can cut its own task's part)."""

    def __init__(self, region: Region, *, villages: bool = False, context: bool = True, staff: bool = True) -> None:
        # Row positions per key, not groupby frames: iterating a groupby builds one frame per
        # group (21,000 facilities' staff in a province took 6 s); positions are sliced with one
        # `iloc` per part, in the same order pd.concat of the groups gave.
        self.region, self.context = region, context
        self.towns_by = positions_by(region.townships["county_code"])
        self.fac_by = positions_by(region.facilities["county_code"])
        self.staff_by = positions_by(region.staff["facility_id"]) if (staff and len(region.staff)) else {}
        self.vill_by = positions_by(region.village_counties()) if villages else {}
        self.city_of = {**region.context_counties["city_code"].to_dict(), **region.counties["city_code"].to_dict()}
        self.in_city: dict[str, list[str]] = {}
        for c, city in sorted(self.city_of.items()):
            self.in_city.setdefault(city, []).append(c)

    def part(self, group: list[str], name: str | None = None) -> Region:
        """The sub-region of one group of counties (named `name`, else as the region)."""
        region, fac_by, city_of, in_city = self.region, self.fac_by, self.city_of, self.in_city
        keep = sorted(set(group))
        cities = {city_of.get(c) for c in keep}
        others = sorted(c for city in cities for c in in_city.get(city, []) if c not in keep) if self.context else []
        fac = region.facilities
        own = _take(fac, [fac_by[c] for c in keep if c in fac_by])
        ctx_parts = [f[f["admin_level"].isin(CONTEXT_LEVELS)] for c in others if c in fac_by
                     for f in [fac.iloc[fac_by[c]]]]
        ctx = [f.assign(context=True) for f in ctx_parts]
        own_list = [own] if len(own) or not ctx else []
        facilities = pd.concat(own_list + ctx) if ctx else own
        ctx_counties = pd.concat([region.counties.loc[[c for c in others if c in region.counties.index],
                                                      ["adcode", "name", "city_code"]],
                                  region.context_counties.loc[[c for c in others if c in region.context_counties.index]]])
        staff_rows = _take(region.staff, [self.staff_by[f] for f in facilities.index.tolist() if f in self.staff_by])
        part = Region(name if name is not None else region.name, region.counties.loc[keep],
                      _take(region.townships, [self.towns_by[c] for c in keep if c in self.towns_by]),
                      _take(region.villages, [self.vill_by[c] for c in keep if c in self.vill_by]), facilities,
                      staff_rows.reset_index(drop=True), list(region.notes), dict(region.about))
        part.context_counties = ctx_counties
        return part


def positions_by(keys: pd.Series | np.ndarray) -> dict[object, np.ndarray]:
    """Key -> row positions holding it, in row order (what groupby(sort=False) groups, without the frames);
    missing keys (NaN, None) are left out."""
    codes, uniques = pd.factorize(keys, sort=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1)).tolist()
    # One vectorised NA test (pd.isna per key took seconds on the country's staff roster); factorize already
    # codes NaN and None as -1, so no unique is missing unless the keys' dtype keeps one as a value.
    missing = pd.isna(np.asarray(uniques, dtype=object)).tolist()
    # Text keys as a list (the same str objects): pandas 3's string array boxes each element when iterated.
    # Other dtypes iterate as before (a numpy array gives numpy scalars, which tolist would turn into Python's).
    keys = uniques.tolist() if isinstance(uniques.dtype, pd.StringDtype) else uniques
    return {u: order[bounds[i]:bounds[i + 1]] for i, (u, na) in enumerate(zip(keys, missing)) if not na}


def _take(frame: pd.DataFrame, positions: list[np.ndarray]) -> pd.DataFrame:
    """The rows at the given position arrays, concatenated in order (an empty slice of the frame if none)."""
    if not positions:
        return frame.iloc[0:0]
    return frame.iloc[positions[0] if len(positions) == 1 else np.concatenate(positions)]
