"""Equity of access over residents: population-weighted Gini, Lorenz curve, share below a threshold."""

from __future__ import annotations

import numpy as np


def lorenz(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Lorenz curve: cumulative share of residents (x) against cumulative share of access (y), from (0, 0)."""
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    order = np.lexsort((np.arange(len(v)), v))  # ascending access, ties by position (stable)
    v, w = v[order], w[order]
    total_w, total = w.sum(), (v * w).sum()
    if total_w <= 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    x = np.concatenate([[0.0], np.cumsum(w) / total_w])
    y = np.concatenate([[0.0], np.cumsum(v * w) / total]) if total > 0 else x.copy()
    return x, y


def gini(values: np.ndarray, weights: np.ndarray) -> float:
    """Population-weighted Gini coefficient (0 = everyone has the same access), 1 - twice the area under the Lorenz curve."""
    x, y = lorenz(values, weights)
    area = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))
    return max(0.0, 1.0 - 2.0 * area)


def share_below(values: np.ndarray, weights: np.ndarray, threshold: float) -> float:
    """Share of residents whose access is below `threshold`."""
    w = np.asarray(weights, dtype=float)
    total = w.sum()
    return float(w[np.asarray(values, dtype=float) < threshold].sum() / total) if total > 0 else 0.0
