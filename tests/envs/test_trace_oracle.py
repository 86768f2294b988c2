"""The trace tasks' Bayes-optimal predictor: floor below the zero predictor, Monte-Carlo agreement."""
import gymnasium as gym
import numpy as np
import pytest

import rtrlbench  # noqa: F401
from rtrlbench.evaluation.return_error import discounted_returns
from rtrlbench.run import run


def oracle_and_returns(env_id, steps, seed=0, **kwargs):
    stream = gym.make(env_id, **kwargs).unwrapped.stream(seed)
    chunk = stream.next_chunk(steps + 3000)
    predictions = stream.oracle().run_chunk(chunk.obs, chunk.cumulant, chunk.gamma)
    return predictions[:steps], discounted_returns(chunk.cumulant, chunk.gamma)[:steps]


def test_deterministic_timing_gives_zero_oracle_error():
    # One CS, always reinforced, fixed ISI and ITI: the return is a known function of time since CS.
    y, g = oracle_and_returns("TraceConditioning-v0", 20_000, isi=(20, 20), iti=(100, 100))
    assert np.max(np.abs(y - g)) < 1e-9
    cs_to_us = y[0]
    assert cs_to_us == pytest.approx(0.9**19 / (1 - 0.9**120), rel=1e-9)


@pytest.mark.parametrize("env_id", ["TracePatterning-v0", "NoisyPatterning-v0", "TraceConditioning-v0"])
def test_oracle_is_the_conditional_mean_of_the_return(env_id):
    # Steps with the same oracle value share the same information state; there the average
    # return must equal the prediction (a Monte-Carlo estimate of the conditional expectation).
    y, g = oracle_and_returns(env_id, 1_500_000, seed=1)
    keys = np.round(y, 12)
    values, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    residual = g - y
    checked = 0
    for k in np.flatnonzero(counts >= 2000):
        r = residual[inverse == k]
        assert abs(r.mean()) <= 5 * r.std() / np.sqrt(len(r)) + 1e-12, f"state with prediction {values[k]}"
        checked += 1
    assert checked >= 10
    assert abs(residual.mean()) <= 5 * residual.std() / np.sqrt(len(residual))


def test_oracle_beats_the_zero_predictor_by_a_wide_margin():
    oracle = run("TracePatterning-v0", "oracle", 600_000, seed=2, progress=False)["final_msre"]
    zero = run("TracePatterning-v0", "zero", 600_000, seed=2, progress=False)["final_msre"]
    assert oracle < 0.2 * zero
    assert 0.001 < oracle < 0.004 and 0.015 < zero < 0.03  # the order of magnitude derived in the README


def test_oracle_per_step_equals_chunked_and_survives_a_checkpoint():
    stream = gym.make("TracePatterning-v0").unwrapped.stream(3)
    chunk = stream.next_chunk(2000)
    chunked = stream.oracle().run_chunk(chunk.obs, chunk.cumulant, chunk.gamma)
    oracle = stream.oracle()
    per_step = [oracle.step(chunk.obs[t], chunk.cumulant[t], chunk.gamma[t]) for t in range(1000)]
    state = oracle.get_state()
    restored = stream.oracle()
    restored.set_state(state)
    per_step += [restored.step(chunk.obs[t], chunk.cumulant[t], chunk.gamma[t]) for t in range(1000, 2000)]
    np.testing.assert_array_equal(per_step, chunked)


def test_learner_input_checks_name_the_problem():
    stream = gym.make("TracePatterning-v0").unwrapped.stream(0)
    oracle = stream.oracle()
    with pytest.raises(ValueError, match=r"shape \(T, 7\)"):
        oracle.run_chunk(np.zeros((3, 5), np.float32), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        oracle.run_chunk(np.full((3, 7), np.nan, np.float32), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="gamma"):
        oracle.run_chunk(np.zeros((3, 7), np.float32), np.zeros(3), np.full(3, 2.0))
    with pytest.raises(RuntimeError, match="predict"):
        stream.oracle().update(0.0, 0.9, np.zeros(7))
