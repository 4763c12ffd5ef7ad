"""The plain arrays one county's village tables are computed from, cut from a region's layers once for every county."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..region import Region, positions_by


@dataclass
class CountyData:
    """One county's villages (sorted by code) and the facilities its tasks see (in the region's order), as lists
    and arrays: cheap to cut for thousands of counties and to send to worker processes (a region part of
    GeoDataFrames cost more to build and to pickle than the county's routing).

    `licensed` counts the licensed physicians of those facilities; `town_name` names the county's townships
    and `lead_of_township` gives the lead hospital of each of its townships' communities in the plan.
    """

    county: str
    county_name: str
    village: list[str]
    township: list[str]
    village_name: list[str]
    kind: list[str]
    population: np.ndarray
    vx: np.ndarray
    vy: np.ndarray
    fac_id: list[str]
    fac_kind: list[str]
    fac_county: list[str]
    fac_town: list[str]
    fac_name: list[str]
    fac_context: np.ndarray
    fx: np.ndarray
    fy: np.ndarray
    town_name: dict[str, str]
    licensed: dict[str, int]
    lead_of_township: dict[str, str]


class RegionColumns:
    """A region's village, facility and township columns extracted once (lists and arrays), with the row positions
    of each county; `county(c)` cuts one county's CountyData from them."""

    def __init__(self, region: Region, licensed: dict[str, int], lead_of_township: dict[str, str],
                 *, county_facilities: bool = True) -> None:
        vil, fac, towns = region.villages, region.facilities, region.townships
        self.region = region
        self.licensed = licensed
        self.lead_of = lead_of_township
        self.county_facilities = county_facilities
        n = len(vil)
        self.v_code = vil.index.astype(str).tolist() if n else []
        self.v_town = vil["township_code"].astype(str).tolist() if n else []
        self.v_name = vil["name"].astype(str).tolist() if n else []
        self.v_kind = vil["kind"].astype(str).tolist() if (n and "kind" in vil.columns) else ["村委会"] * n
        self.v_pop = vil["population"].astype("int64").to_numpy() if n else np.zeros(0, dtype=np.int64)
        self.v_x = np.asarray(vil.geometry.x, dtype=float) if n else np.zeros(0)
        self.v_y = np.asarray(vil.geometry.y, dtype=float) if n else np.zeros(0)
        self.v_rows = positions_by(region.village_counties().to_numpy()) if n else {}
        self.f_id = fac.index.astype(str).tolist()
        self.f_kind = fac["kind"].astype(str).tolist()
        self.f_county = fac["county_code"].astype(str).tolist()
        self.f_town = fac["township_code"].astype(str).tolist()
        self.f_name = fac["name"].astype(str).tolist()
        self.f_context = (fac["context"].astype(bool).to_numpy() if "context" in fac.columns
                          else np.zeros(len(fac), dtype=bool))
        self.f_x = np.asarray(fac.geometry.x, dtype=float) if len(fac) else np.zeros(0)
        self.f_y = np.asarray(fac.geometry.y, dtype=float) if len(fac) else np.zeros(0)
        self.f_rows = positions_by(fac["county_code"].to_numpy()) if county_facilities else {}
        self.t_code = towns.index.astype(str).tolist()
        self.t_name = towns["name"].astype(str).tolist()
        self.t_rows = positions_by(towns["county_code"].to_numpy())
        # The region's county names as `region.county_name` gives them (its index look-ups cost ~1 ms a county).
        self.county_names = dict(zip(region.counties.index, (str(x) for x in region.counties["name"].tolist())))

    def county(self, county: str) -> CountyData:
        """The county's villages (its townships' villages, sorted by code) and its facilities (all of the region's
        when built with `county_facilities=False`), with their licensed physicians and leads."""
        rows = self.v_rows.get(county, np.zeros(0, dtype=np.int64))
        codes = [self.v_code[i] for i in rows]
        order = sorted(range(len(rows)), key=codes.__getitem__)
        rows = rows[np.asarray(order, dtype=np.int64)] if len(rows) else rows
        if self.county_facilities:
            frows = self.f_rows.get(county, np.zeros(0, dtype=np.int64)).tolist()
        else:
            frows = list(range(len(self.f_id)))
        fac_id = [self.f_id[i] for i in frows]
        trows = self.t_rows.get(county, np.zeros(0, dtype=np.int64)).tolist()
        town_codes = [self.t_code[i] for i in trows]
        lic = self.licensed
        return CountyData(
            county=county, county_name=self.county_names[county] if county in self.county_names else self.region.county_name(county),
            village=[self.v_code[i] for i in rows], township=[self.v_town[i] for i in rows],
            village_name=[self.v_name[i] for i in rows], kind=[self.v_kind[i] for i in rows],
            population=self.v_pop[rows], vx=self.v_x[rows], vy=self.v_y[rows],
            fac_id=fac_id, fac_kind=[self.f_kind[i] for i in frows], fac_county=[self.f_county[i] for i in frows],
            fac_town=[self.f_town[i] for i in frows], fac_name=[self.f_name[i] for i in frows],
            fac_context=self.f_context[frows], fx=self.f_x[frows], fy=self.f_y[frows],
            town_name=dict(zip(town_codes, (self.t_name[i] for i in trows))),
            licensed={f: lic[f] for f in fac_id if f in lic},
            lead_of_township={t: self.lead_of[t] for t in town_codes if t in self.lead_of})


def county_data(region: Region, county: str, licensed: dict[str, int], lead_of_township: dict[str, str]) -> CountyData:
    """One county's CountyData with all of the region's facilities, township names and the leads as given (a county
    task run on its own, e.g. in tests)."""
    cols = RegionColumns(region, licensed, lead_of_township, county_facilities=False)
    data = cols.county(county)
    data.lead_of_township = dict(lead_of_township)
    data.town_name = dict(zip(cols.t_code, cols.t_name))
    return data
