"""Shared pytest fixtures (the builders live in tests/fixtures.py)."""

from __future__ import annotations

import pytest
from fixtures import Fac, grid_region

from planner.region import Region


@pytest.fixture
def two_hospital_county() -> Region:
    """
    A 3 x 3 county with a people's hospital (二甲) in the north-west corner and a TCM
    hospital (二甲) in the south-east corner; heavy populations at both ends::

        +------+------+------+
        | 50 H |  10  |  10  |
        +------+------+------+
        |  10  |  10  |  10  |
        +------+------+------+
        |  10  |  10  | 50 T |
        +------+------+------+
    """
    pops = [[50_000, 10_000, 10_000], [10_000, 10_000, 10_000], [10_000, 10_000, 50_000]]
    facs = [Fac("H1", "测试县人民医院", "general_hospital", "二甲", (0, 0)),
            Fac("H2", "测试县中医院", "tcm_hospital", "二甲", (2, 2))]
    return grid_region(pops, facs)
