"""Courier trips: exact on small cases (against brute force), within the limit, every stop once."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from planner.access.routing import plan_trips, trip_minutes


def _matrix(points):
    xy = np.array(points, dtype=float)
    return np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))


def test_one_trip_is_the_shortest_tour():
    t = _matrix([(0, 0), (10, 0), (10, 10), (0, 10), (5, 20), (-5, 5)])
    res = plan_trips(t, 500, 2)
    best = min(trip_minutes(t, p, 2) for p in itertools.permutations(range(1, 6)))
    assert res.status == "OPTIMAL" and len(res.trips) == 1 and res.minutes[0] == pytest.approx(best)


def test_a_tight_limit_splits_the_trips_and_serves_every_stop_once():
    t = _matrix([(0, 0), (30, 0), (-30, 0), (0, 30), (0, -30), (25, 25)])
    res = plan_trips(t, 80, 5)
    stops = sorted(s for trip in res.trips for s in trip)
    assert stops == [1, 2, 3, 4, 5] and len(res.trips) >= 2
    assert all(m <= 80 + 1e-9 for m in res.minutes) and not res.over_limit


def test_a_stop_too_far_gets_its_own_trip_marked_over_the_limit():
    t = _matrix([(0, 0), (5, 0), (200, 0)])
    res = plan_trips(t, 60, 5)
    assert res.over_limit == (2,) and (2,) in res.trips and (1,) in res.trips
