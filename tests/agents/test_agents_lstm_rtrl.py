"""The dense-LSTM RTRL learner and its SnAp-1 and UORO variants: exact gradients (PyTorch float64 autodiff of the whole unroll),
TD(lambda), per-step = chunked, checkpoints, bad hyperparameters, FLOPs.

Gradient checks freeze the weights (``alpha=0``) and read dy_t/dtheta off the learner; with
``gamma = 0`` at every step the eligibility trace equals it too.
"""
import numpy as np
import pytest

from rtrlbench.agents import learner_flops
from rtrlbench.agents.lstm_rtrl import LSTMRTRLLearner, SnAp1Learner, UOROLearner
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


# ------------------------------------------------------------------ SnAp-1
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _dense_masked_gradients(parameters, xs, masked: bool):
    """dy_t/dtheta for every t by the matrix form J_t = M * (D_t J_{t-1} + I_t) (M = 1: exact RTRL).

    State s = (h, c), 2d; D_t = ds_t/ds_{t-1}; I_t = ds_t/dtheta_r with s_{t-1} held fixed;
    M keeps the rows of the unit each parameter's gate row feeds."""
    W, U, b, w = (parameters[k] for k in ("W", "U", "b", "w"))
    d, n = U.shape[1], W.shape[1]
    p_r = 4 * d * (n + d + 1)
    unit_of = np.concatenate([np.repeat(np.arange(4 * d) % d, n), np.repeat(np.arange(4 * d) % d, d),
                              np.arange(4 * d) % d])
    mask = np.ones((2 * d, p_r)) if not masked else \
        (np.concatenate([np.arange(d), np.arange(d)])[:, None] == unit_of[None, :]).astype(float)
    h, c, J = np.zeros(d), np.zeros(d), np.zeros((2 * d, p_r))
    out = []
    for x in xs:
        z = W @ x + U @ h + b
        i, f, g, o = _sigmoid(z[:d]), _sigmoid(z[d:2 * d]), np.tanh(z[2 * d:3 * d]), _sigmoid(z[3 * d:])
        c_new = f * c + i * g
        tc = np.tanh(c_new)
        D_z = np.zeros((4 * d, p_r))  # dz/dtheta_r, h_{t-1} fixed
        for r in range(4 * d):
            D_z[r, r * n:(r + 1) * n] = x
            D_z[r, 4 * d * n + r * d:4 * d * n + (r + 1) * d] = h
            D_z[r, 4 * d * (n + d) + r] = 1.0
        gi, gf, gg, go = i * (1 - i), f * (1 - f), 1 - g * g, o * (1 - o)
        blocks = [slice(k * d, (k + 1) * d) for k in range(4)]

        def through_z(M_z):  # (dc, dh) from dz for one source (rows 4d)
            dc = (c * gf)[:, None] * M_z[blocks[1]] + (g * gi)[:, None] * M_z[blocks[0]] + (i * gg)[:, None] * M_z[blocks[2]]
            return dc, (tc * go)[:, None] * M_z[blocks[3]] + (o * (1 - tc * tc))[:, None] * dc
        dc_imm, dh_imm = through_z(D_z)
        dc_dh, dh_dh = through_z(U)
        dc_dc = np.diag(f)
        dh_dc = (o * (1 - tc * tc))[:, None] * dc_dc
        dyn = np.block([[dh_dh, dh_dc], [dc_dh, dc_dc]])  # rows (h, c), columns (h_{t-1}, c_{t-1})
        J = mask * (dyn @ J + np.vstack([dh_imm, dc_imm]))
        h, c = o * tc, c_new
        out.append(np.concatenate([w @ J[:d], h]))
    return out


def _random_pair(n, d, seed, diagonal_u=False):
    exact, snap = _random_learner(n, d, seed=seed, scale=1.2), SnAp1Learner(n, n_hidden=d, **FROZEN)
    if diagonal_u:  # every gate row reads only its own unit's h
        U = exact.parameters()["U"]
        U *= (np.arange(d)[None, :] == (np.arange(4 * d) % d)[:, None])
    snap.theta[:] = exact.theta
    return exact, snap


def test_matrix_form_without_mask_is_the_exact_learner():
    n, d, steps = 4, 3, 20
    xs = np.random.default_rng(7).normal(size=(steps, n))
    exact, _ = _random_pair(n, d, seed=1)
    reference = _dense_masked_gradients(exact.parameters(), xs, masked=False)
    for t, x in enumerate(xs):
        exact.step(x, 0.0, 0.0)
        assert _rel_error(exact.gradient, reference[t]) <= 1e-10


@pytest.mark.parametrize("n,d", [(4, 3), (7, 2), (3, 5)])
def test_snap1_equals_exact_rtrl_with_diagonal_recurrence(n, d):
    xs = np.random.default_rng(n + d).normal(size=(40, n))
    gammas = np.random.default_rng(1).choice([0.0, 0.9], size=40)
    exact, snap = _random_pair(n, d, seed=2, diagonal_u=True)
    for t, x in enumerate(xs):
        exact.step(x, 0.0, gammas[t]), snap.step(x, 0.0, gammas[t])
        assert _rel_error(snap.gradient, exact.gradient) <= 1e-12


@pytest.mark.parametrize("n,d", [(4, 3), (6, 4)])
def test_snap1_equals_the_dense_masked_recursion_and_differs_from_exact(n, d):
    xs = np.random.default_rng(3).normal(size=(30, n))
    exact, snap = _random_pair(n, d, seed=4)
    reference = _dense_masked_gradients(snap.parameters(), xs, masked=True)
    for t, x in enumerate(xs):
        exact.step(x, 0.0, 0.0), snap.step(x, 0.0, 0.0)
        assert _rel_error(snap.gradient, reference[t]) <= 1e-10
    assert _rel_error(snap.gradient, exact.gradient) > 1e-3  # a dense U: SnAp-1 drops real influence


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop"])
def test_snap1_per_step_equals_chunked_and_checkpoints_resume(optimizer):
    obs, cumulant, gamma = _stream(300, 7, seed=2)
    chunked = SnAp1Learner(7, seed=1, n_hidden=5, alpha=0.01, optimizer=optimizer)
    whole = np.concatenate([chunked.run_chunk(obs[:120], cumulant[:120], gamma[:120]),
                            chunked.run_chunk(obs[120:], cumulant[120:], gamma[120:])])
    stepped = SnAp1Learner(7, seed=1, n_hidden=5, alpha=0.01, optimizer=optimizer)
    np.testing.assert_array_equal(whole, [stepped.step(obs[t], cumulant[t], gamma[t]) for t in range(300)])
    first = SnAp1Learner(7, seed=1, n_hidden=5, alpha=0.01, optimizer=optimizer)
    first.run_chunk(obs[:150], cumulant[:150], gamma[:150])
    restored = SnAp1Learner(7, seed=8, n_hidden=5, alpha=0.01, optimizer=optimizer)
    restored.set_state(first.get_state())
    np.testing.assert_array_equal(restored.run_chunk(obs[150:], cumulant[150:], gamma[150:]), whole[150:])
    with pytest.raises(ValueError, match=r"state\['jh'\] has shape"):  # an exact learner's checkpoint
        SnAp1Learner(7, n_hidden=5).set_state(LSTMRTRLLearner(7, n_hidden=5).get_state())


def test_snap1_registry_flops_and_budget_sizes():
    learner = make_learner("snap1", 7, seed=1, n_hidden=5)
    assert isinstance(learner, SnAp1Learner) and learner.hyperparameters()["n_hidden"] == 5
    assert learner_flops.flops_per_step("snap1", 7, n_hidden=5) == 260 + 11 * 260
    assert learner_flops.snap1_hidden(7, learner_flops.PAPER_BUDGETS["trace"]) == 5
    assert learner_flops.snap1_hidden(275, learner_flops.PAPER_BUDGETS["atari"]) == 3
    with pytest.raises(ValueError, match="n_hidden must be"):
        SnAp1Learner(7, n_hidden=0)


# ------------------------------------------------------------------ UORO
def test_uoro_is_unbiased():
    """The mean of u_tilde theta_tilde^T over independent sign streams converges to the exact
    d(h, c)/dtheta_r: every entry within 6 standard errors (from the sample variance) of it."""
    n, d, steps, runs = 3, 2, 8, 4000
    xs = np.random.default_rng(11).normal(size=(steps, n))
    exact = _random_learner(n, d, seed=5, scale=1.0)
    for x in xs:
        exact.step(x, 0.0, 0.0)
    target = np.vstack([exact._state.jh, exact._state.jc])
    estimates = np.empty((runs, *target.shape))
    for k in range(runs):
        uoro = UOROLearner(n, n_hidden=d, seed=k, **FROZEN)
        uoro.theta[:] = exact.theta
        for x in xs:
            uoro.step(x, 0.0, 0.0)
        estimates[k] = uoro.influence_estimate()
    mean, se = estimates.mean(axis=0), estimates.std(axis=0, ddof=1) / np.sqrt(runs)
    assert se.max() > 0 and np.abs(target).max() > 1e-2
    assert np.all(np.abs(mean - target) <= 6 * se + 1e-12)
    # and the estimate is a real one: a single run is far from the target
    assert _rel_error(estimates[0], target) > 0.1


def test_uoro_gradient_uses_the_estimate_and_is_seeded():
    n, d = 4, 3
    xs = np.random.default_rng(1).normal(size=(12, n))
    runs = []
    for seed in (3, 3, 4):
        uoro = UOROLearner(n, n_hidden=d, seed=seed, **FROZEN)
        uoro.theta[:] = np.random.default_rng(9).uniform(-1, 1, uoro.theta.size)
        for x in xs:
            uoro.step(x, 0.0, 0.0)
        w = uoro.parameters()["w"]
        recurrent = uoro.theta.size - d
        np.testing.assert_allclose(uoro.gradient[:recurrent], w @ uoro.influence_estimate()[:d], rtol=1e-12)
        runs.append(uoro.gradient)
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop"])
def test_uoro_per_step_equals_chunked_and_checkpoints_resume_with_the_sign_stream(optimizer):
    obs, cumulant, gamma = _stream(300, 7, seed=4)
    make = lambda seed: UOROLearner(7, seed=seed, n_hidden=4, alpha=0.01, optimizer=optimizer)  # noqa: E731
    chunked = make(2)
    whole = np.concatenate([chunked.run_chunk(obs[:90], cumulant[:90], gamma[:90]),
                            chunked.run_chunk(obs[90:], cumulant[90:], gamma[90:])])
    stepped = make(2)
    np.testing.assert_array_equal(whole, [stepped.step(obs[t], cumulant[t], gamma[t]) for t in range(300)])
    first = make(2)
    first.run_chunk(obs[:150], cumulant[:150], gamma[:150])
    restored = make(7)  # other weights and signs until restored
    restored.set_state(first.get_state())
    np.testing.assert_array_equal(restored.run_chunk(obs[150:], cumulant[150:], gamma[150:]), whole[150:])
    assert not np.array_equal(make(3).run_chunk(obs, cumulant, gamma), whole)


def test_uoro_registry_flops_and_bad_eps():
    learner = make_learner("uoro", 7, seed=1, n_hidden=5, uoro_eps=1e-6)
    assert isinstance(learner, UOROLearner) and learner.hyperparameters()["uoro_eps"] == 1e-6
    assert learner_flops.flops_per_step("uoro", 7, n_hidden=5) == learner_flops.uoro_flops(7, 5)
    assert learner_flops.uoro_hidden(7, learner_flops.PAPER_BUDGETS["trace"]) >= 1
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="uoro_eps"):
            UOROLearner(7, uoro_eps=bad)


# ------------------------------------------------------------------ gradient fidelity
def test_fidelity_of_the_exact_learner_is_one():
    obs, cumulant, gamma = _stream(200, 7, seed=5)
    learner = LSTMRTRLLearner(7, n_hidden=3, alpha=0.01, seed=2, fidelity_every=25)
    learner.run_chunk(obs[:110], cumulant[:110], gamma[:110])
    learner.run_chunk(obs[110:], cumulant[110:], gamma[110:])
    record = learner.fidelity()
    assert record["step"].tolist() == list(range(0, 200, 25))
    assert np.all(np.abs(record["cosine"] - 1) <= 1e-12) and np.all(record["relative_error"] <= 1e-12)


@pytest.mark.parametrize("cls", [SnAp1Learner, UOROLearner])
def test_fidelity_measures_the_learners_gradient_against_exact_rtrl(cls):
    """Frozen weights: each record equals the agreement of the learner's gradient with a separately
    run exact learner's; measuring changes no prediction."""
    n, d, steps = 5, 3, 60
    xs = np.random.default_rng(6).normal(size=(steps, n))
    measured = cls(n, n_hidden=d, seed=1, fidelity_every=10, **FROZEN)
    plain = cls(n, n_hidden=d, seed=1, **FROZEN)
    exact = LSTMRTRLLearner(n, n_hidden=d, **FROZEN)
    weights = np.random.default_rng(3).uniform(-1, 1, measured.theta.size)
    for learner in (measured, plain, exact):
        learner.theta[:] = weights
    expected = []
    for t, x in enumerate(xs):
        assert measured.step(x) == plain.step(x)
        exact.step(x)
        if t % 10 == 0:
            g, e = measured.gradient, exact.gradient
            expected.append((g @ e / np.linalg.norm(g) / np.linalg.norm(e), np.linalg.norm(g - e) / np.linalg.norm(e)))
    record = measured.fidelity()
    np.testing.assert_allclose(np.column_stack([record["cosine"], record["relative_error"]]), expected, rtol=1e-9)
    assert record["cosine"][-1] < 0.999 and record["relative_error"][-1] > 1e-3  # an approximation, measured


def test_fidelity_resumes_from_a_checkpoint_and_is_checked():
    obs, cumulant, gamma = _stream(200, 7, seed=6)
    whole = SnAp1Learner(7, n_hidden=3, alpha=0.01, seed=2, fidelity_every=20)
    whole.run_chunk(obs, cumulant, gamma)
    first = SnAp1Learner(7, n_hidden=3, alpha=0.01, seed=2, fidelity_every=20)
    first.run_chunk(obs[:100], cumulant[:100], gamma[:100])
    restored = SnAp1Learner(7, n_hidden=3, alpha=0.01, seed=5, fidelity_every=20)
    restored.set_state(first.get_state())
    restored.run_chunk(obs[100:], cumulant[100:], gamma[100:])
    np.testing.assert_array_equal(restored.fidelity()["cosine"], whole.fidelity()["cosine"][5:])
    with pytest.raises(ValueError, match="fidelity_every"):
        SnAp1Learner(7, n_hidden=3).set_state(first.get_state())  # a checkpoint with a shadow, a learner without
    with pytest.raises(ValueError, match="fidelity_every"):
        SnAp1Learner(7, fidelity_every=-1)
