"""ObGD (Elsayed, Vasan & Mahmood 2024, Algorithm 3) as ``optimizer="obgd"``: hand-computed
updates where the bound binds and where it does not, an independent NumPy TD(lambda)+ObGD of a
one-unit Williams-Zipser network over several steps, and, for every learner of the registry that
takes an ``optimizer``: the bound over all its learned parameters, per-step = chunked, checkpoints."""
import numba
import numpy as np
import pytest

from rtrlbench.agents import td_lambda
from rtrlbench.agents.registry import LEARNERS, make_learner
from rtrlbench.agents.rtrl import RTRL

KAPPA = 2.0  # the paper's kappa for value prediction
N_INPUTS = 3


def _takes_optimizer(name: str) -> bool:
    try:
        make_learner(name, N_INPUTS, optimizer="sgd")
    except ValueError as error:
        assert "has no hyperparameter" in str(error)
        return False
    return True


OPTIMISING = [name for name in LEARNERS if _takes_optimizer(name)]
#: Small networks, lambda > 0 (RTRL's default is 0), stages that change within the test streams.
SMALL = {
    "rtrl": {"n_units": 2, "lam": 0.9, "readout": "linear"},
    "columnar": {"n_features": 2},
    "constructive": {"n_features": 3, "steps_per_stage": 15},
    "ccn": {"n_features": 4, "features_per_stage": 2, "steps_per_stage": 15},
    "tbptt": {"n_hidden": 3, "truncation": 4},
    "lstm_rtrl": {"n_hidden": 2}, "snap1": {"n_hidden": 3}, "uoro": {"n_hidden": 3},
    "rtu_linear": {"n_units": 3}, "rtu_nonlinear": {"n_units": 3},
    "lru": {"n_hidden": 4, "n_model": 3}, "elstm": {"n_units": 3},
}
CASES = [pytest.param(name, {}, id=name) for name in OPTIMISING] + [
    pytest.param("tbptt", {"dtype": "float32"}, id="tbptt-float32")]


def _learner(name, extra, **hp):
    return make_learner(name, N_INPUTS, seed=1, **{"lam": 0.9, **SMALL.get(name, {}), **extra, **hp})


def _learned(learner) -> np.ndarray:
    """Every learned parameter, flat (float64)."""
    if isinstance(learner, RTRL):
        return np.concatenate([learner.w, learner.v])
    return np.concatenate([np.ravel(block) for block in learner.parameters().values()]).astype(np.float64)


def _stream(steps, seed=0, scale=0.1):
    rng = np.random.default_rng(seed)
    obs = (rng.random((steps, N_INPUTS)) < 0.4).astype(np.float64)
    return obs, scale * rng.normal(size=steps), np.where(rng.random(steps) < 0.1, 0.0, 0.9)


def test_every_learner_but_zero_and_swifttd_takes_an_optimizer_and_obgd_is_one():
    # The zero predictor learns nothing; SwiftTD is its own step-size rule (bounded, per-weight adaptive).
    assert set(LEARNERS) - set(OPTIMISING) == {"zero", "swifttd", "swifttd_package"}
    assert td_lambda.OPTIMIZERS["obgd"] == td_lambda.OBGD and td_lambda.OBGD_KAPPA == KAPPA
    with pytest.raises(ValueError, match="obgd"):  # the message lists it among the choices
        make_learner("tbptt", N_INPUTS, optimizer="adam")


# ----------------------------------------------------------------------------- hand numbers
def _one_step(trace, delta, alpha, optimizer=td_lambda.OBGD):
    theta, trace, grad = np.zeros(len(trace)), np.array(trace, dtype=float), np.array([1.0, 2.0])
    td_lambda.update_then_accumulate(theta, trace, grad, len(trace), delta, alpha, 0.5, optimizer, np.ones(2),
                                     0.9999, 1e-8)
    return theta, trace


def test_the_bound_binds_by_hand():
    # e = (0.5, -1.5): |e|_1 = 2; delta = 3 -> delta_bar = 3; alpha = 0.1: M = 2 * 3 * 0.1 * 2 = 1.2 > 1,
    # so the step is alpha / M = 1/12 and theta = (1/12) * 3 * e = 0.25 e.
    theta, trace = _one_step([0.5, -1.5], 3.0, 0.1)
    np.testing.assert_allclose(theta, [0.125, -0.375], rtol=1e-15)
    np.testing.assert_allclose(trace, [0.5 * 0.5 + 1.0, -0.5 * 1.5 + 2.0], rtol=1e-15)  # the trace step as SGD's
    # |delta| < 1 still bounds: delta_bar = max(|delta|, 1) = 1; alpha = 0.5: M = 2 * 1 * 0.5 * 2 = 2,
    # theta = (0.5 / 2) * (-0.4) * e = -0.1 e.
    theta, _ = _one_step([0.5, -1.5], -0.4, 0.5)
    np.testing.assert_allclose(theta, [-0.05, 0.15], rtol=1e-15)


def test_the_bound_does_not_bind_by_hand_and_is_then_sgd_exactly():
    # alpha = 0.05, delta = 0.5: M = 2 * 1 * 0.05 * 2 = 0.2 <= 1: theta = alpha delta e = 0.025 e.
    theta, trace = _one_step([0.5, -1.5], 0.5, 0.05)
    np.testing.assert_allclose(theta, [0.0125, -0.0375], rtol=1e-15)
    sgd = _one_step([0.5, -1.5], 0.5, 0.05, td_lambda.SGD)
    np.testing.assert_array_equal(theta, sgd[0])
    np.testing.assert_array_equal(trace, sgd[1])
    # M = 1 exactly (alpha = 0.25, delta = 1) is the edge: max(M, 1) = 1, the full SGD step.
    np.testing.assert_array_equal(_one_step([0.5, -1.5], 1.0, 0.25)[0], [0.125, -0.375])
    # A zero trace (M = 0) gives a zero step, no division by zero.
    np.testing.assert_array_equal(_one_step([0.0, 0.0], 5.0, 1.0)[0], [0.0, 0.0])


def test_obgd_delta_in_float32_stays_float32():
    f32 = np.float32
    out = td_lambda.obgd_delta(f32(3.0), f32(0.2), f32(KAPPA), f32(1.0))
    assert out == f32(3.0) / (f32(KAPPA) * f32(3.0) * f32(0.2))
    returns = {sig.args: sig.return_type for sig in td_lambda.obgd_delta.nopython_signatures}
    assert str(returns[(numba.float32,) * 4]) == "float32"  # no float64 constant promotes the T-BPTT float32 path


# ------------------------------------------------- an independent TD(lambda) + ObGD, several steps
def _sigmoid(s):
    return 1.0 / (1.0 + np.exp(-s))


def _reference_wz_obgd(w, v, obs, cumulant, gamma, alpha, lam):
    """One logistic unit with a bias line and a linear readout y = v0 h + v1, learned by TD(lambda)
    with ObGD over (W, v): W = (w_bias, w_x, w_rec), sensitivities p = dh/dW (W-Z eq. 2.12).
    Returns the predictions and, per update, whether the bound bound."""
    w, v = w.copy(), v.copy()
    h, p = 0.0, np.zeros(3)
    e_w, e_v = np.zeros(3), np.zeros(2)
    y_prev, predictions, bound = None, [], []
    for x, c, g in zip(obs, cumulant, gamma):
        z = np.array([1.0, x[0], h])
        s = w @ z
        h_new = _sigmoid(s)
        p = h_new * (1.0 - h_new) * (w[2] * p + z)
        h = h_new
        y = v[0] * h + v[1]
        grad_w, grad_v = v[0] * p, np.array([h, 1.0])
        if y_prev is not None:
            delta = c + g * y - y_prev
            m = KAPPA * max(abs(delta), 1.0) * alpha * (np.abs(e_w).sum() + np.abs(e_v).sum())
            bound.append(m > 1.0)
            w += alpha / max(m, 1.0) * delta * e_w
            v += alpha / max(m, 1.0) * delta * e_v
            decay = lam * g
        else:
            decay = 0.0
        e_w, e_v = decay * e_w + grad_w, decay * e_v + grad_v
        y_prev = y
        predictions.append(y)
    return np.array(predictions), np.array(bound)


@pytest.mark.parametrize("alpha, binds", [(0.02, False), (3.0, True)])
def test_wz_unit_matches_an_independent_numpy_obgd(alpha, binds):
    rng = np.random.default_rng(4)
    obs = rng.normal(size=(12, 1))
    cumulant = rng.normal(size=12)
    gamma = np.where(np.arange(12) == 6, 0.0, 0.8)  # an episode start mid-stream restarts the trace
    learner = RTRL(1, n_units=1, alpha=alpha, lam=0.7, readout="linear", optimizer="obgd", seed=2)
    learner.v[:] = [0.8, -0.1]  # a readout that is not zero, so that W's trace is not zero either
    w0, v0 = learner.w.copy(), learner.v.copy()
    expected, bound = _reference_wz_obgd(w0, v0, obs, cumulant, gamma, alpha, 0.7)
    assert bound.all() if binds else not bound.any()
    np.testing.assert_allclose(learner.run_chunk(obs, cumulant, gamma), expected, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------- every learner of the suite
@pytest.mark.parametrize("name, extra", CASES)
def test_bound_is_over_every_learned_parameter(name, extra):
    """Warm-up steps where the bound does not bind (small alpha and TD errors): ObGD is SGD there,
    bit for bit. Then one large TD error: ObGD's step is SGD's divided by M = kappa * |delta| *
    sum_i alpha_i |e_i|, and sum_i alpha_i |e_i| = |SGD's step|_1 / |delta| over all learned parameters."""
    obs, cumulant, gamma = _stream(40)
    cumulant[-1], gamma[-1] = 1e5, 0.9
    sgd, obgd = (_learner(name, extra, alpha=1e-4, optimizer=o) for o in ("sgd", "obgd"))
    y_sgd, y_obgd = sgd.run_chunk(obs[:-1], cumulant[:-1], gamma[:-1]), obgd.run_chunk(obs[:-1], cumulant[:-1],
                                                                                        gamma[:-1])
    np.testing.assert_array_equal(y_obgd, y_sgd)
    np.testing.assert_array_equal(_learned(obgd), _learned(sgd))
    before = _learned(sgd)
    y_last = sgd.run_chunk(obs[-1:], cumulant[-1:], gamma[-1:])
    np.testing.assert_array_equal(obgd.run_chunk(obs[-1:], cumulant[-1:], gamma[-1:]), y_last)
    delta = float(cumulant[-1] + gamma[-1] * y_last[0] - y_sgd[-1])
    sgd_step = _learned(sgd) - before
    bound = KAPPA * abs(delta) * np.abs(sgd_step).sum() / abs(delta)
    assert bound > 10.0  # it binds
    rtol = 1e-4 if extra.get("dtype") == "float32" else 1e-9
    np.testing.assert_allclose(_learned(obgd) - before, sgd_step / bound, rtol=rtol,
                               atol=rtol * np.abs(sgd_step).max() / bound)


@pytest.mark.parametrize("name, extra", CASES)
def test_obgd_per_step_equals_chunked_and_checkpoints_resume(name, extra):
    obs, cumulant, gamma = _stream(70, seed=3, scale=3.0)  # TD errors above 1: the bound binds at times
    chunked = _learner(name, extra, alpha=0.5, optimizer="obgd")
    whole = np.concatenate([chunked.run_chunk(obs[:25], cumulant[:25], gamma[:25]),
                            chunked.run_chunk(obs[25:], cumulant[25:], gamma[25:])])
    assert np.isfinite(whole).all()
    per_step = _learner(name, extra, alpha=0.5, optimizer="obgd")
    steps = [per_step.step(obs[0])] + [per_step.step(obs[t], cumulant[t], gamma[t]) for t in range(1, len(obs))]
    np.testing.assert_array_equal(np.array(steps), whole)
    first = _learner(name, extra, alpha=0.5, optimizer="obgd")
    first.run_chunk(obs[:40], cumulant[:40], gamma[:40])
    restored = _learner(name, extra, alpha=0.5, optimizer="obgd")
    restored.set_state(first.get_state())
    np.testing.assert_array_equal(restored.run_chunk(obs[40:], cumulant[40:], gamma[40:]), whole[40:])
    # the bound did change something: plain SGD at this step size goes elsewhere
    assert not np.array_equal(_learner(name, extra, alpha=0.5, optimizer="sgd").run_chunk(obs, cumulant, gamma), whole)
