"""The dense-LSTM RTRL learner: exact gradients (PyTorch float64 autodiff of the whole unroll),
TD(lambda), per-step = chunked, checkpoints, bad hyperparameters, FLOPs.

Gradient checks freeze the weights (``alpha=0``) and read dy_t/dtheta off the learner; with
``gamma = 0`` at every step the eligibility trace equals it too.
"""
import numpy as np
import pytest

from rtrlbench.agents import learner_flops
from rtrlbench.agents.lstm_rtrl import LSTMRTRLLearner
from rtrlbench.agents.registry import make_learner
from rtrlbench.agents.tbptt import TBPTTLearner
from torch_lstm_reference import torch_lstm_output_and_gradient

FROZEN = {"alpha": 0.0, "optimizer": "sgd"}


def _random_learner(n, d, seed=0, scale=1.0, **hp):
    learner = LSTMRTRLLearner(n, n_hidden=d, seed=seed, **{**FROZEN, **hp})
    learner.theta[:] = np.random.default_rng(seed + 100).uniform(-scale, scale, learner.theta.size)
    return learner


def _rel_error(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


@pytest.mark.parametrize("n,d", [(5, 3), (7, 2), (12, 1), (4, 5)])
def test_gradient_equals_torch_autodiff_of_the_whole_unroll(n, d):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10 * n + d)
    steps = 40
    xs = np.where(rng.random((steps, 1)) < 0.5, rng.normal(size=(steps, n)), rng.random((steps, n)) < 0.2)
    learner = _random_learner(n, d, scale=1.2)
    gammas = rng.choice([0.0, 0.9], size=steps)  # episode resets (gamma = 0) do not cut the gradient
    for t in range(steps):
        y = learner.step(xs[t], 0.0, gammas[t])
        if t in (0, 1, 7, 23, steps - 1):
            y_torch, grad = torch_lstm_output_and_gradient(torch, learner.parameters(), xs, t)
            assert abs(y - y_torch) <= 1e-12 * max(1.0, abs(y_torch))
            assert _rel_error(learner.gradient, grad) <= 1e-6


def test_gradient_is_full_bptt_not_truncated():
    """The same stream and weights: RTRL equals T-BPTT whose window covers the stream, not a short one."""
    n, d, steps = 6, 3, 25
    xs = np.random.default_rng(2).normal(size=(steps, n))
    rtrl = _random_learner(n, d, seed=4)
    window = TBPTTLearner(n, n_hidden=d, truncation=steps, alpha=1e-300, optimizer="sgd")
    short = TBPTTLearner(n, n_hidden=d, truncation=3, alpha=1e-300, optimizer="sgd")
    window.theta[:] = short.theta[:] = rtrl.theta
    for x in xs:
        rtrl.step(x, 0.0, 0.0), window.step(x, 0.0, 0.0), short.step(x, 0.0, 0.0)
    assert _rel_error(rtrl.trace, window.trace) <= 1e-10
    assert _rel_error(rtrl.trace, short.trace) > 1e-3


def test_td_update_sgd_and_rmsprop_match_a_hand_step():
    n, d = 4, 2
    xs = np.random.default_rng(5).normal(size=(3, n))
    for optimizer in ("sgd", "rmsprop"):
        learner = _random_learner(n, d, alpha=0.01, lam=0.8, optimizer=optimizer)
        learner.step(xs[0])                                   # x_0: trace = grad_0, no update
        e0, theta0, y0 = learner.trace.copy(), learner.theta.copy(), learner._state.last_y[0]
        probe = _random_learner(n, d)                        # y_1 and grad_1 with theta_0
        probe.theta[:] = theta0
        probe.step(xs[0]), probe.step(xs[1], 0.0, 0.0)
        y1, grad1 = probe._state.last_y[0], probe.gradient
        learner.step(xs[1], 0.5, 0.9)
        delta = 0.5 + 0.9 * y1 - y0
        if optimizer == "sgd":
            expected = theta0 + 0.01 * delta * e0
        else:
            v = 0.9999 + 1e-4 * (delta * e0) ** 2
            expected = theta0 + 0.01 * delta * e0 / (np.sqrt(v) + 1e-8)
        np.testing.assert_allclose(learner.theta, expected, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(learner.trace, 0.8 * 0.9 * e0 + grad1, rtol=1e-12, atol=1e-15)


def _stream(steps, n, seed=0):
    rng = np.random.default_rng(seed)
    obs = (rng.random((steps, n)) < 0.3).astype(np.float32)
    return obs, rng.normal(size=steps) * 0.1, np.where(rng.random(steps) < 0.05, 0.0, 0.9)


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop"])
def test_per_step_equals_chunked_and_checkpoints_resume_exactly(optimizer):
    obs, cumulant, gamma = _stream(300, 7)
    chunked = LSTMRTRLLearner(7, seed=3, alpha=0.01, optimizer=optimizer)
    whole = np.concatenate([chunked.run_chunk(obs[:100], cumulant[:100], gamma[:100]),
                            chunked.run_chunk(obs[100:], cumulant[100:], gamma[100:])])
    stepped = LSTMRTRLLearner(7, seed=3, alpha=0.01, optimizer=optimizer)
    per_step = [stepped.step(obs[t], cumulant[t], gamma[t]) for t in range(300)]
    np.testing.assert_array_equal(whole, per_step)
    first = LSTMRTRLLearner(7, seed=3, alpha=0.01, optimizer=optimizer)
    first.run_chunk(obs[:150], cumulant[:150], gamma[:150])
    restored = LSTMRTRLLearner(7, seed=99, alpha=0.01, optimizer=optimizer)
    restored.set_state(first.get_state())
    np.testing.assert_array_equal(restored.run_chunk(obs[150:], cumulant[150:], gamma[150:]), whole[150:])


def test_seeded_initialisation_is_the_tbptt_learners():
    a, b = LSTMRTRLLearner(7, seed=5, n_hidden=3), TBPTTLearner(7, seed=5, n_hidden=3)
    np.testing.assert_array_equal(a.theta, b.theta)
    assert not np.array_equal(a.theta, LSTMRTRLLearner(7, seed=6, n_hidden=3).theta)
    assert (a.parameters()["w"] == 0).all() and np.abs(a.theta).max() <= 1 / np.sqrt(3)


def test_set_state_rejects_other_shapes():
    state = LSTMRTRLLearner(7, n_hidden=2).get_state()
    with pytest.raises(ValueError, match=r"state\['theta'\] has shape .* other n_inputs or n_hidden"):
        LSTMRTRLLearner(7, n_hidden=3).set_state(state)
    with pytest.raises(ValueError, match=r"state lacks \['jh'\]"):
        LSTMRTRLLearner(7, n_hidden=2).set_state({k: v for k, v in state.items() if k != "jh"})


@pytest.mark.parametrize("bad, match", [
    ({"n_hidden": 0}, "n_hidden must be"), ({"alpha": -1.0}, "alpha"), ({"alpha": float("nan")}, "alpha"),
    ({"lam": 1.5}, "lam"), ({"optimizer": "adam"}, "optimizer"), ({"beta2": 1.0}, "beta2"), ({"eps": 0.0}, "eps"),
])
def test_bad_hyperparameters_raise(bad, match):
    with pytest.raises(ValueError, match=match):
        LSTMRTRLLearner(7, **bad)


def test_registry_flops_and_budget_sizes():
    learner = make_learner("lstm_rtrl", 7, seed=1, n_hidden=2)
    assert isinstance(learner, LSTMRTRLLearner) and learner.hyperparameters()["n_hidden"] == 2
    # 80 recurrent parameters; 80 forward + (16 + 14) * 80
    assert learner_flops.flops_per_step("lstm_rtrl", 7, n_hidden=2) == 2480
    assert learner_flops.lstm_rtrl_hidden(7, learner_flops.PAPER_BUDGETS["trace"]) == 2
    assert learner_flops.lstm_rtrl_hidden(275, learner_flops.PAPER_BUDGETS["atari"]) == 1
    assert "| lstm_rtrl | 2 hidden | 2,480 |" in learner_flops.budget_table(7, 4000)


def test_learns_a_fixed_delay_prediction():
    """Predicting a cue's discounted future reward 5 steps on: RTRL must beat predicting 0."""
    steps, delay = 30_000, 5
    rng = np.random.default_rng(0)
    cue = rng.random(steps) < 0.05
    obs = cue[:, None].astype(np.float32)
    cumulant = np.zeros(steps)
    rewarded = np.flatnonzero(cue) + delay
    cumulant[rewarded[rewarded < steps]] = 1.0
    gamma = np.full(steps, 0.9)
    learner = LSTMRTRLLearner(1, n_hidden=2, alpha=3e-3, seed=0)
    predictions = learner.run_chunk(obs, cumulant, gamma)
    returns = np.zeros(steps)
    for t in range(steps - 2, -1, -1):
        returns[t] = cumulant[t + 1] + gamma[t + 1] * returns[t + 1]
    tail = slice(steps - 5000, steps - 50)
    assert np.mean((predictions[tail] - returns[tail]) ** 2) < 0.5 * np.mean(returns[tail] ** 2)
