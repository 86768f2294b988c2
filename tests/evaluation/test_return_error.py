"""Exact returns, the streaming MSRE tracker and the per-step recorder."""
import gymnasium as gym
import numpy as np
import pytest

import rtrlbench  # noqa: F401
from rtrlbench.evaluation.prediction_recorder import PredictionRecorder, RecordReturnError
from rtrlbench.evaluation.return_error import ReturnErrorTracker, discounted_returns, msre


def brute_force_returns(cumulant, gamma):
    """G_t = sum_{j>t} c_j prod_{t<i<=j-1} ... computed term by term."""
    T = len(cumulant)
    out = np.zeros(T)
    for t in range(T):
        weight = 1.0
        for j in range(t + 1, T):
            out[t] += weight * cumulant[j]
            weight *= gamma[j]
    return out


def random_stream(rng, T, episode_prob=0.01):
    cumulant = rng.normal(size=T)
    gamma = np.where(rng.random(T) < episode_prob, 0.0, rng.uniform(0.5, 0.95, T))
    gamma[0] = 0.0
    return cumulant, gamma


def test_returns_match_a_hand_computed_example():
    # x_0..x_4; c arrives with x_t. G_3 = c_4 = 4; G_2 = c_3 + .5 G_3 = 3 + 2 = 5;
    # G_1 = c_2 + 0 * G_2 = 2 (gamma_2 = 0 ends the episode); G_0 = c_1 + .5 * 2 = 2.
    cumulant = np.array([9.0, 1.0, 2.0, 3.0, 4.0])
    gamma = np.array([0.0, 0.5, 0.0, 0.5, 0.5])
    np.testing.assert_allclose(discounted_returns(cumulant, gamma), [2.0, 2.0, 5.0, 4.0, 0.0])


def test_returns_match_brute_force():
    c, g = random_stream(np.random.default_rng(0), 300)
    np.testing.assert_allclose(discounted_returns(c, g), brute_force_returns(c, g), rtol=1e-12, atol=1e-12)


def test_returns_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="equal length"):
        discounted_returns(np.zeros(3), np.zeros(4))


@pytest.mark.parametrize("chunk_sizes", [[5000], [1, 7, 100, 4892], [999] * 5 + [5]])
def test_tracker_equals_whole_stream_msre_whatever_the_chunking(chunk_sizes):
    rng = np.random.default_rng(1)
    T, lookahead = sum(chunk_sizes), 400
    c, g = random_stream(rng, T + lookahead)
    y = rng.normal(size=T)
    returns = discounted_returns(c, g)[:T]
    tracker = ReturnErrorTracker(final_window=1234, curve_window=500, tolerance=0.0, max_lag=10**9)
    start = 0
    for n in chunk_sizes:
        tracker.add(y[start : start + n], c[start : start + n], g[start : start + n])
        start += n
    tracker.finish(c[T:], g[T:])
    errors = (y - returns) ** 2
    assert tracker.scored == T
    assert tracker.final_msre() == pytest.approx(errors[-1234:].mean(), rel=1e-12)
    np.testing.assert_allclose(tracker.curve, errors[: T // 500 * 500].reshape(-1, 500).mean(axis=1), rtol=1e-12)
    assert tracker.curve_steps[-1] == T // 500 * 500


def test_tracker_memory_stays_bounded_and_truncation_is_within_tolerance():
    rng = np.random.default_rng(2)
    tracker = ReturnErrorTracker(final_window=1000, curve_window=1000, tolerance=1e-10)
    for _ in range(50):
        c = rng.random(2000)
        tracker.add(np.zeros(2000), c, np.full(2000, 0.9))
        assert len(tracker._pending[0]) < 300  # 0.9^n <= 1e-10 needs n ~ 219
    assert tracker.truncation <= 1e-10
    assert tracker.scored > 99_000


def test_tracker_max_lag_bounds_the_pending_buffer_and_reports_the_dropped_weight():
    tracker = ReturnErrorTracker(final_window=10, curve_window=10, max_lag=100)
    tracker.add(np.zeros(1000), np.ones(1000), np.ones(1000))  # gamma = 1: never negligible
    assert len(tracker._pending[0]) == 100
    assert tracker.truncation == 1.0


def test_tracker_rejects_nan_predictions_and_bad_gamma():
    tracker = ReturnErrorTracker()
    with pytest.raises(ValueError, match="NaN"):
        tracker.add(np.array([np.nan]), np.zeros(1), np.zeros(1))
    with pytest.raises(ValueError, match="gamma"):
        tracker.add(np.zeros(1), np.zeros(1), np.array([1.5]))
    with pytest.raises(ValueError, match="equal lengths"):
        tracker.add(np.zeros(2), np.zeros(1), np.zeros(1))
    with pytest.raises(ValueError, match="final_window"):
        ReturnErrorTracker(final_window=0)


def test_in_memory_msre_matches_the_definition():
    c, g = random_stream(np.random.default_rng(3), 500)
    y = np.ones(500)
    assert msre(y, c, g, last=100) == pytest.approx(np.mean((1 - brute_force_returns(c, g)[-100:]) ** 2))


def test_recorder_and_wrapper_score_a_per_step_loop_like_the_chunked_runner():
    from rtrlbench.run import run

    steps = 30_000
    reference = run("TracePatterning-v0", "oracle", steps, seed=4, final_window=10_000, curve_window=10_000,
                    progress=False)

    env = RecordReturnError(gym.make("TracePatterning-v0"), final_window=10_000, curve_window=10_000)
    obs, _ = env.reset(seed=4)
    oracle = env.unwrapped.oracle()
    recorder = PredictionRecorder(final_window=10_000, curve_window=10_000)
    cumulant = gamma = 0.0
    y = oracle.predict(obs)
    for _ in range(steps):
        recorder.record(y, cumulant, gamma)
        obs, cumulant, _, _, info = env.step(y)
        gamma = info["gamma"]
        y = oracle.update(cumulant, gamma, obs)
    by_hand = recorder.result()
    wrapped = env.result()
    assert wrapped["steps"] == by_hand["steps"] == steps
    np.testing.assert_allclose(wrapped["curve"], by_hand["curve"])
    # The loops above stop at `steps`; only the last few returns (truncated there) may differ.
    np.testing.assert_allclose(by_hand["curve"][:-1], reference["curve"][:-1], rtol=1e-12)
    assert by_hand["final_msre"] == pytest.approx(reference["final_msre"], rel=1e-2)


def test_wrapper_refuses_non_finite_predictions():
    env = RecordReturnError(gym.make("TracePatterning-v0"))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="finite"):
        env.step(float("nan"))
