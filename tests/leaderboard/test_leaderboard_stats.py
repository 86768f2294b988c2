"""Aggregate statistics: analytic answers for the mean/SE and IQM, and bootstrap properties."""
from __future__ import annotations

import math

import numpy as np
import pytest

from rtrlbench.leaderboard import stats
from rtrlbench.leaderboard.scoring import aggregate


def test_mean_over_envs_then_se_over_seeds():
    scores = np.array([[1.0, 3.0], [2.0, 4.0], [3.0, 5.0]])  # per-seed means 2, 3, 4
    mean, se = stats.mean_and_se(scores)
    assert mean == 3.0 and se == pytest.approx(1.0 / math.sqrt(3), rel=1e-12)
    assert math.isnan(stats.mean_and_se(np.array([[1.0, 2.0]]))[1])


def test_iqm_of_a_multiple_of_four_is_the_middle_half():
    assert stats.iqm(np.arange(1.0, 9.0).reshape(4, 2)) == pytest.approx(4.5, rel=1e-12)  # mean of 3..6


def test_iqm_weights_partly_covered_runs():
    # six runs: quantiles 0.25..0.75 cover half of run 2, runs 3 and 4, half of run 5
    assert stats.iqm(np.array([6.0, 1, 5, 2, 4, 3])) == pytest.approx((0.5 * 2 + 3 + 4 + 0.5 * 5) / 3, rel=1e-12)
    assert stats.iqm(np.array([[100.0, 1.0, 2.0, 3.0, -50.0]]).T) == pytest.approx(2.0, rel=1e-12)


def test_bootstrap_interval_is_deterministic_and_brackets_the_iqm():
    rng = np.random.default_rng(1)
    scores = rng.lognormal(size=(15, 6))
    low, high = stats.iqm_bootstrap_ci(scores)
    assert (low, high) == stats.iqm_bootstrap_ci(scores)
    assert low < stats.iqm(scores) < high
    assert stats.iqm_bootstrap_ci(np.full((5, 3), 0.7)) == pytest.approx((0.7, 0.7), rel=1e-12)


def test_bootstrap_keeps_every_env_in_each_resample():
    # env 0 always scores 0, env 1 always 10: a resample drawn within each env keeps four of
    # each, so the pooled IQM never moves; resampling the pooled runs would move it.
    scores = np.column_stack([np.zeros(4), np.full(4, 10.0)])
    assert stats.iqm_bootstrap_ci(scores) == pytest.approx((5.0, 5.0), rel=1e-12)


def test_aggregate_and_bad_input():
    summary = aggregate(np.array([[0.5, 1.5], [1.0, 1.0]]))
    assert summary["mean"] == 1.0 and summary["se"] == 0.0 and summary["iqm"] == 1.0
    with pytest.raises(ValueError, match="NaN or inf"):
        stats.iqm(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="non-empty"):
        stats.mean_and_se(np.zeros((0, 2)))
