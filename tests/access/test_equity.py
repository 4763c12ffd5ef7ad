"""Gini and Lorenz curves: against the pairwise formula and at the extremes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.access.equity import gini, lorenz, share_below


def _pairwise(v, w):
    v, w = np.asarray(v, float), np.asarray(w, float)
    mean = (v * w).sum() / w.sum()
    return (w[:, None] * w[None, :] * np.abs(v[:, None] - v[None, :])).sum() / (2 * w.sum() ** 2 * mean)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0.01, 100), st.integers(1, 10_000)), min_size=1, max_size=30))
def test_gini_equals_the_pairwise_formula(rows):
    v, w = zip(*rows)
    assert gini(np.array(v), np.array(w)) == pytest.approx(_pairwise(v, w), abs=1e-9)


def test_extremes_and_lorenz_endpoints():
    assert gini(np.array([3.0, 3.0, 3.0]), np.array([1, 5, 9])) == pytest.approx(0.0, abs=1e-12)
    assert gini(np.array([0.0, 0.0, 10.0]), np.array([1, 1, 1])) == pytest.approx(2 / 3)
    x, y = lorenz(np.array([1.0, 2.0]), np.array([1, 1]))
    assert (x[0], y[0], x[-1], y[-1]) == (0.0, 0.0, 1.0, 1.0) and y[1] == pytest.approx(1 / 3)
    assert share_below(np.array([1.0, 5.0, 9.0]), np.array([10, 20, 70]), 6.0) == pytest.approx(0.3)
