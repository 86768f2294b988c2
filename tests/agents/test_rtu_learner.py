"""RTU learners: TD(lambda) steps by hand, per-step = chunked, checkpoints, seeding,
initialisation and bad hyperparameters."""
import numpy as np
import pytest

from rtrlbench.agents.registry import make_learner
from rtrlbench.agents.rtu import LinearRTULearner, NonLinearRTULearner
from rtrlbench.envs.trace_patterning import RELEASED_CODE_KWARGS
from rtrlbench.run import make_env

NAMES = ["rtu_linear", "rtu_nonlinear"]


def _trace_stream(steps, seed=0):
    chunk = make_env("TracePatterning-v0", RELEASED_CODE_KWARGS).stream(seed).next_chunk(steps)
    return chunk.obs, chunk.cumulant, chunk.gamma


def _dense_stream(steps, n, seed=0):
    rng = np.random.default_rng(seed)
    gamma = np.full(steps, 0.9)
    gamma[0] = gamma[steps // 3] = 0.0
    return rng.normal(size=(steps, n)).astype(np.float32), rng.random(steps), gamma


def _moving(name, n_inputs, **hp):
    """A learner whose output weights start non-zero, so that every parameter moves from step 1."""
    learner = make_learner(name, n_inputs, **{"n_units": 3, "alpha": 1e-2, **hp})
    p = learner.parameters()
    p["v1"][:], p["v2"][:] = 0.5, -0.3
    return learner


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop"])
def test_per_step_equals_chunked(name, optimizer):
    for obs, cumulant, gamma in [_trace_stream(2000), _dense_stream(400, 30)]:
        n = obs.shape[1]
        single, chunked = _moving(name, n, optimizer=optimizer, seed=3), _moving(name, n, optimizer=optimizer, seed=3)
        per_step = np.array([single.step(obs[t], cumulant[t], gamma[t]) for t in range(len(obs))])
        cuts = [0, 1, 2, 150, len(obs)]
        batched = np.concatenate([chunked.run_chunk(obs[a:b], cumulant[a:b], gamma[a:b])
                                  for a, b in zip(cuts, cuts[1:])])
        assert np.array_equal(per_step, batched)
        assert np.array_equal(single.get_state()["arrays"]["theta"], chunked.get_state()["arrays"]["theta"])
        assert np.abs(np.diff(per_step)).max() > 0


def _two_steps(name, **hp):
    """Steps 0 and 1 (c_1 = 0.7, gamma_1 = 0.9) of a moving learner, and of a frozen probe that gives
    y_1 with theta_0: (learner, theta_0, e_0, delta = c_1 + gamma_1 y_1 - y_0, probe)."""
    learner = _moving(name, 4, **hp)
    probe = _moving(name, 4, **{**hp, "alpha": 0.0})
    theta0 = learner.theta.copy()
    x0, x1 = np.array([1.0, 0.0, -0.5, 0.3]), np.array([0.2, 0.4, 0.0, -1.0])
    y0 = learner.predict(x0)
    e0 = learner.trace.copy()
    probe.predict(x0)
    y1 = probe.update(0.0, 0.0, x1)
    assert learner.update(0.7, 0.9, x1) == y1
    return learner, theta0, e0, 0.7 + 0.9 * y1 - y0, probe


@pytest.mark.parametrize("name", NAMES)
def test_td_update_sgd_matches_hand_step(name):
    """theta_1 = theta_0 + alpha delta e_0, delta = c_1 + gamma_1 y_1 - y_0, y_1 made with theta_0;
    then e_1 = lambda gamma_1 e_0 + grad_1."""
    alpha, lam = 0.05, 0.8
    learner, theta0, e0, delta, probe = _two_steps(name, alpha=alpha, lam=lam, optimizer="sgd", activation="tanh")
    grad1 = np.concatenate([np.ravel(v) for v in probe.prediction_gradient().values()])
    np.testing.assert_allclose(learner.theta, theta0 + alpha * delta * e0, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(learner.trace, lam * 0.9 * e0 + grad1, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_td_update_rmsprop_matches_hand_step(name):
    alpha = 0.05
    learner, theta0, e0, delta, _ = _two_steps(name, alpha=alpha, optimizer="rmsprop")
    g = delta * e0
    v = 0.9999 + 1e-4 * g * g
    np.testing.assert_allclose(learner.get_state()["arrays"]["v"], v, rtol=1e-13)
    np.testing.assert_allclose(learner.theta, theta0 + alpha * g / (np.sqrt(v) + 1e-8), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_checkpoint_round_trip_continues_exactly(name):
    obs, cumulant, gamma = _trace_stream(3000)
    first = _moving(name, 12, seed=0)
    first.run_chunk(obs[:1500], cumulant[:1500], gamma[:1500])
    state = first.get_state()
    expected = first.run_chunk(obs[1500:], cumulant[1500:], gamma[1500:])
    assert not np.array_equal(state["arrays"]["theta"], first.theta)  # a copy, not an alias
    second = make_learner(name, 12, seed=99, n_units=3, alpha=1e-2)
    second.set_state(state)
    assert np.array_equal(second.run_chunk(obs[1500:], cumulant[1500:], gamma[1500:]), expected)
    third = make_learner(name, 12, seed=5, n_units=3, alpha=1e-2)
    third.set_state(state)
    assert np.array_equal([third.step(obs[t], cumulant[t], gamma[t]) for t in range(1500, 3000)], expected)


def test_set_state_refuses_other_learners():
    state = make_learner("rtu_linear", 12, n_units=3).get_state()
    with pytest.raises(ValueError, match="other hyperparameters or input size"):
        make_learner("rtu_linear", 12, n_units=4).set_state(state)
    other = make_learner("rtu_nonlinear", 12, n_units=3)
    state["hyperparameters"] = other.hyperparameters()
    with pytest.raises(ValueError, match="checkpoint array 's_in' has shape"):
        other.set_state(state)


@pytest.mark.parametrize("name", NAMES)
def test_seeded_determinism(name):
    obs, cumulant, gamma = _trace_stream(2000)
    runs = [make_learner(name, 12, seed=s, alpha=1e-2).run_chunk(obs, cumulant, gamma) for s in (3, 3, 4)]
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


@pytest.mark.parametrize("name", NAMES)
def test_restart_forgets_the_stream_not_the_weights(name):
    obs, cumulant, gamma = _trace_stream(500)
    learner = _moving(name, 12)
    learner.run_chunk(obs, cumulant, gamma)
    fresh = _moving(name, 12, alpha=0.0)
    fresh.theta[:] = learner.theta
    assert learner.predict(obs[0]) == fresh.predict(obs[0])
    assert np.array_equal(learner.trace, fresh.trace)
    assert np.array_equal(learner.unit_state(), fresh.unit_state())


def test_initialisation_follows_the_authors_code():
    n, m = 4000, 50
    learner = LinearRTULearner(m, n_units=n, seed=1)
    p = learner.parameters()
    assert learner.n_parameters == 2 * n * m + 4 * n + 1
    r2 = np.exp(-2.0 * np.exp(p["nu_log"]))  # r^2 ~ U(0, 1)
    assert abs(r2.mean() - 0.5) < 0.02 and r2.min() >= 0 and r2.max() < 1
    theta = np.exp(p["theta_log"])  # theta ~ U(0, 6.28)
    assert abs(theta.mean() - 3.14) < 0.1 and theta.max() <= 6.28
    w = np.concatenate([p["W1"].ravel(), p["W2"].ravel()])  # lecun_normal: truncated at 2 sd, variance 1/m
    assert abs(w.var() * m - 1.0) < 0.02 and np.abs(w).max() <= 2 / np.sqrt(m) / 0.87962566103423978
    assert not p["b"].any() and not p["v1"].any() and not p["v2"].any()
    narrow = NonLinearRTULearner(3, n_units=1000, r_min=0.9, r_max=0.99, max_phase=0.5, seed=0).parameters()
    r = np.exp(-np.exp(narrow["nu_log"]))
    assert r.min() >= 0.9 and r.max() <= 0.99 and np.exp(narrow["theta_log"]).max() <= 0.5


def test_defaults_fit_the_trace_budget():
    from rtrlbench.agents import learner_flops

    for name in NAMES:
        units = make_learner(name, 7).hyperparameters()["n_units"]
        assert units == learner_flops.rtu_units(7, learner_flops.PAPER_BUDGETS["trace"], name)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad,match", [
    ({"n_units": 0}, r"^n_units must be a positive integer, got 0$"),
    ({"activation": "sigmoid"}, r"^activation must be one of \['relu', 'tanh', 'linear'\], got 'sigmoid'$"),
    ({"input_scale": "lru"}, r"^input_scale must be one of \['sqrt_one_minus_r2', 'one'\], got 'lru'"),
    ({"theta_gradient": "approx"}, r"^theta_gradient must be one of \['exact', 'code'\], got 'approx'"),
    ({"r_min": -0.1}, r"^r_min \(smallest initial r\) must lie in \[0, 1\], got -0.1$"),
    ({"r_max": 1.5}, r"^r_max \(largest initial r\) must lie in \[0, 1\], got 1.5$"),
    ({"r_min": 0.9, "r_max": 0.5}, r"^r_min must be smaller than r_max"),
    ({"max_phase": 0.0}, r"^max_phase must be a positive finite number, got 0.0$"),
    ({"optimizer": "adam"}, r"^optimizer must be one of"),
    ({"lam": 1.5}, r"^lam \(trace decay lambda\) must lie in \[0, 1\], got 1.5$"),
    ({"alpha": -1.0}, r"^alpha \(step size\) must be a finite number >= 0, got -1.0$"),
])
def test_bad_hyperparameters_raise(name, bad, match):
    with pytest.raises(ValueError, match=match):
        make_learner(name, 7, **bad)


def test_unknown_hyperparameter_names_the_accepted_ones():
    with pytest.raises(ValueError, match="has no hyperparameter"):
        make_learner("rtu_linear", 7, variant="nonlinear")


def test_flop_formula_and_budget_sizes():
    from rtrlbench.agents import learner_flops as F

    assert F.rtu_flops(7, 25, False) == 25 * (15 * 7 + 52) + 3 == 3_928
    assert F.rtu_flops(275, 7, True) == 7 * (24 * 275 + 56) + 3 == 46_595
    for name, nonlinear in [("rtu_linear", False), ("rtu_nonlinear", True)]:
        for m, budget in [(7, 4_000), (275, 50_000)]:
            n = F.rtu_units(m, budget, name)
            assert F.rtu_flops(m, n, nonlinear) <= budget < F.rtu_flops(m, n + 1, nonlinear)
        assert F.flops_per_step(name, 12, n_units=5) == F.rtu_flops(12, 5, nonlinear)
    assert (F.rtu_units(7, 4_000, "rtu_linear"), F.rtu_units(7, 4_000, "rtu_nonlinear")) == (25, 17)
    assert (F.rtu_units(275, 50_000, "rtu_linear"), F.rtu_units(275, 50_000, "rtu_nonlinear")) == (11, 7)
    assert "| rtu_nonlinear | 7 units | 46,595 |" in F.budget_table(275, 50_000)


def test_tiny_trace_entries_are_flushed_to_zero():
    """Entries that would decay below 1e-290 become exactly 0 (no subnormal arithmetic); others decay."""
    learner = make_learner("rtu_nonlinear", 3, n_units=2, alpha=0.0, lam=0.99)
    x = np.array([1.0, -1.0, 0.5])
    learner.predict(x)
    learner.trace[:] = 1.05e-290
    learner.update(0.0, 0.9, x)  # output weights are 0, so the recurrent parameters' gradient is 0
    size = 2 * 2 * 3 + 2 * 2  # W1, W2, nu_log, theta_log; then b, v1, v2
    assert not learner.trace[:size].any()
    features = np.concatenate([learner.prediction_gradient()["v1"], learner.prediction_gradient()["v2"]])
    np.testing.assert_allclose(learner.trace[size + 1:], features, rtol=1e-12)
