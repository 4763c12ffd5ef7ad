"""The Region: counties, townships, villages, facilities and staff of one planning area, validated."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from .vocabulary import FacilityKind, Grade


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

    # --- lookups -----------------------------------------------------------------------

    @property
    def population(self) -> int:
        """Total resident population of the counties."""
        return int(self.counties["population"].sum())

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
        keep = sorted(set(county_codes))
        counties = self.counties.loc[keep]
        townships = self.townships[self.townships["county_code"].isin(keep)]
        villages = self.villages[self.villages["township_code"].isin(townships.index)]
        facilities = self.facilities[self.facilities["county_code"].isin(keep)]
        staff = self.staff[self.staff["facility_id"].isin(facilities.index)]
        return Region(name or self.name, counties, townships, villages, facilities, staff,
                      list(self.notes), dict(self.about))

    def estimated_flags(self) -> dict[str, int]:
        """How many rows are estimated or synthesized, by kind, for the honesty panel of reports."""
        t, f, v = self.townships, self.facilities, self.villages
        return {
            "township_population_estimated": int(np.asarray(t.get("population_estimated", False), dtype=bool).sum()),
            "township_polygon_estimated": int(np.asarray(t.get("polygon_estimated", False), dtype=bool).sum()),
            "township_seat_synthesized": int((t.get("seat_source", pd.Series(dtype=str)) == "synthesized").sum()),
            "village_point_estimated": int(np.asarray(v.get("point_estimated", False), dtype=bool).sum()),
            "facilities_synthesized": int(np.asarray(self.own_facilities.get("synthesized", False), dtype=bool).sum()),
        }
