"""The exact maximal-covering model: optimal where greedy is not, marginal gains, nesting."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.access.covering import cover_path, max_cover
from planner.milp import Status


def test_exact_beats_greedy_and_reports_optimal():
    # Candidate 0 covers the middle (60); 1 and 2 cover the ends (50 + 10 and 10 + 50 overlapping with 0).
    # Greedy takes 0 first (60) then gains 40 at most; the optimum for k = 2 is {1, 2}: 110.
    w = np.array([50, 30, 30, 50])
    reach = np.array([[0, 1, 0], [1, 1, 0], [1, 0, 1], [0, 0, 1]], dtype=bool)
    one = max_cover(w, reach, 1)
    two = max_cover(w, reach, 2)
    assert (one.gained, one.status) == (80, Status.OPTIMAL)
    assert set(two.chosen) == {1, 2} and two.gained == 160 and two.status is Status.OPTIMAL
    path = cover_path(w, reach, 3)
    assert [s.marginal for s in path.steps] == [80, 80]  # stops once every coverable resident is covered
    assert not path.nested or set(path.steps[0].chosen) <= set(path.steps[1].chosen)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(2, 5), st.integers(1, 3), st.randoms(use_true_random=False))
def test_max_cover_equals_enumeration(n, c, k, rnd):
    w = np.array([rnd.randint(1, 100) for _ in range(n)])
    reach = np.array([[rnd.random() < 0.4 for _ in range(c)] for _ in range(n)], dtype=bool)
    best = max(int(w[reach[:, list(s)].any(axis=1)].sum()) if s else 0
               for r in range(0, min(k, c) + 1) for s in itertools.combinations(range(c), r))
    step = max_cover(w, reach, k)
    assert step.status is Status.OPTIMAL and step.gained == best and len(step.chosen) <= k
