"""Aggregate statistics of normalised errors: mean with standard error over seeds, and the
interquartile mean (IQM) with stratified-bootstrap confidence intervals (Agarwal et al. 2021).

Scores are a float64 matrix ``[n_seeds, n_envs]`` of normalised errors (lower is better).
"""
from __future__ import annotations

import math

import numpy as np

#: Bootstrap resamples and confidence level used for every published interval.
BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95
BOOTSTRAP_SEED = 0


def mean_and_se(scores: np.ndarray) -> tuple[float, float]:
    """Mean over envs, then mean and standard error over seeds (the paper's Figure 9).

    Returns ``(mean, se)``; ``se`` is NaN with a single seed.
    """
    per_seed = _matrix(scores).mean(axis=1)
    se = float(per_seed.std(ddof=1) / math.sqrt(len(per_seed))) if len(per_seed) > 1 else math.nan
    return float(per_seed.mean()), se


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean of all runs: the mean of the middle 50% (fractional ends weighted)."""
    values = np.sort(_matrix(scores).ravel())
    return float(_iqm_sorted(values[None, :])[0])


def iqm_bootstrap_ci(scores: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES, confidence: float = CONFIDENCE,
                     seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile confidence interval of the IQM under the stratified bootstrap: seeds are
    resampled with replacement independently within each env. Deterministic for a ``seed``."""
    scores = _matrix(scores)
    n_seeds, n_envs = scores.shape
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, n_seeds, size=(resamples, n_seeds, n_envs))
    samples = np.take_along_axis(np.broadcast_to(scores, (resamples, n_seeds, n_envs)), rows, axis=1)
    values = np.sort(samples.reshape(resamples, -1), axis=1)
    estimates = _iqm_sorted(values)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(estimates, [tail, 1.0 - tail])
    return float(low), float(high)


def _iqm_sorted(values: np.ndarray) -> np.ndarray:
    """IQM of each row of sorted ``values[R, n]``: the mean over the quantile range [0.25, 0.75]
    of the empirical distribution, counting a partly covered run by the covered fraction."""
    n = values.shape[1]
    edges = np.arange(n + 1) / n
    weight = np.clip(np.minimum(edges[1:], 0.75) - np.maximum(edges[:-1], 0.25), 0.0, None)
    return values @ (weight / weight.sum())


def _matrix(scores) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[:, None]
    if scores.ndim != 2 or scores.size == 0:
        raise ValueError(f"scores must be a non-empty [n_seeds, n_envs] matrix, got shape {scores.shape}")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or inf")
    return scores
