"""Region.partition: the same parts, row for row, as grouping every layer with pandas groupby."""

from __future__ import annotations

import pandas as pd
import pytest

from planner import regions
from planner.region import CONTEXT_LEVELS, Region


def _reference_partition(region: Region, groups: list[list[str]], *, villages: bool, context: bool,
                         staff: bool) -> list[Region]:
    """The earlier implementation (groupby frames concatenated), kept here as the reference."""
    towns_by = dict(tuple(region.townships.groupby("county_code", sort=False)))
    fac_by = dict(tuple(region.facilities.groupby("county_code", sort=False)))
    staff_by = dict(tuple(region.staff.groupby("facility_id", sort=False))) if (staff and len(region.staff)) else {}
    vill_by = dict(tuple(region.villages.groupby(region.villages["code"].str[:6], sort=False))) if villages else {}
    city_of = {**region.context_counties["city_code"].to_dict(), **region.counties["city_code"].to_dict()}
    in_city: dict[str, list[str]] = {}
    for c, city in sorted(city_of.items()):
        in_city.setdefault(city, []).append(c)
    parts = []
    for group in groups:
        keep = sorted(set(group))
        cities = {city_of.get(c) for c in keep}
        others = sorted(c for city in cities for c in in_city.get(city, []) if c not in keep) if context else []
        own = [fac_by[c] for c in keep if c in fac_by]
        ctx = [f[f["admin_level"].isin(CONTEXT_LEVELS)].assign(context=True) for c in others if (f := fac_by.get(c)) is not None]
        facilities = pd.concat(own + ctx) if own or ctx else region.facilities.iloc[0:0]
        st = [staff_by[f] for f in facilities.index if f in staff_by]
        vparts = [vill_by[c] for c in keep if c in vill_by]
        parts.append(Region(region.name, region.counties.loc[keep], pd.concat([towns_by[c] for c in keep if c in towns_by]),
                            pd.concat(vparts) if vparts else region.villages.iloc[0:0], facilities,
                            pd.concat(st, ignore_index=True) if st else region.staff.iloc[0:0]))
    return parts


@pytest.fixture(scope="module")
def jinhua() -> Region:
    return regions.load("金华市")


@pytest.mark.parametrize("context,staff,villages", [(True, True, False), (False, False, True)])
def test_partition_equals_groupby_reference(jinhua: Region, context: bool, staff: bool, villages: bool) -> None:
    counties = sorted(jinhua.counties.index)
    # Single counties, a pair (given unsorted, with a repeat), the whole city.
    groups = [[c] for c in counties] + [[counties[1], counties[0], counties[1]], counties]
    got = jinhua.partition(groups, context=context, staff=staff, villages=villages)
    want = _reference_partition(jinhua, groups, villages=villages, context=context, staff=staff)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        pd.testing.assert_frame_equal(g.townships, w.townships)
        pd.testing.assert_frame_equal(g.facilities, w.facilities)
        pd.testing.assert_frame_equal(g.villages, w.villages, check_index_type=False)
        pd.testing.assert_frame_equal(g.staff.reset_index(drop=True), w.staff.reset_index(drop=True),
                                      check_index_type=False)
        pd.testing.assert_frame_equal(g.counties, w.counties)
    if staff:
        assert sum(len(p.staff) for p in got[: len(counties)]) > 0
    if villages:
        assert sum(len(p.villages) for p in got[: len(counties)]) == len(jinhua.villages)
