"""The T-BPTT learner: exact truncated gradients, TD(lambda) traces, determinism, paths, checkpoints.

Gradient checks freeze the weights with ``alpha=1e-300`` and SGD (every update is far
below half an ulp of the weights) and read the gradient off the eligibility trace: with
``gamma = 0`` at a step the trace restarts there, so it *is* dy_t/dtheta.
"""
import numpy as np
import pytest

from rtrlbench.agents.registry import make_learner
from rtrlbench.agents.tbptt import TBPTTLearner
from rtrlbench.envs.trace_patterning import RELEASED_CODE_KWARGS
from rtrlbench.run import make_env, run
from torch_lstm_reference import torch_lstm_output_and_gradient

FROZEN = {"alpha": 1e-300, "optimizer": "sgd"}


def _random_learner(n, d, k, seed=0, scale=1.0, **hp):
    """A learner with all weights (output weights too) ~ U(-scale, scale)."""
    learner = TBPTTLearner(n, n_hidden=d, truncation=k, seed=seed, **{**FROZEN, **hp})
    learner.theta[:] = np.random.default_rng(seed + 100).uniform(-scale, scale, learner.theta.size)
    return learner


def _inputs(kind, steps, n, rng):
    """float64[steps, n]: dense normal, sparse binary, or a mix of both row by row."""
    dense = rng.normal(size=(steps, n))
    sparse = (rng.random((steps, n)) < 0.1).astype(float)
    if kind == "dense":
        return dense
    if kind == "sparse":
        return sparse
    return np.where(rng.random((steps, 1)) < 0.5, dense, sparse)


def _traces(learner, xs, gammas, cumulants=None):
    """Per-step API over xs; returns the eligibility trace after each step."""
    cumulants = np.zeros(len(xs)) if cumulants is None else cumulants
    out = []
    for t, x in enumerate(xs):
        learner.step(x, cumulants[t], gammas[t])
        out.append(learner.trace.copy())
    return out


# --------------------------------------------------------------------- references
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _numpy_truncated_output(theta_live, theta_old, xs, t, k, n, d):
    """y_t with theta_live in steps t-k+1..t and theta_old before them (held constant)."""
    def unpack(theta):
        ou, ob, ow = 4 * d * n, 4 * d * n + 4 * d * d, 4 * d * n + 4 * d * d + 4 * d
        return theta[:ou].reshape(4 * d, n), theta[ou:ob].reshape(4 * d, d), theta[ob:ow], theta[ow:]

    h, c = np.zeros(d), np.zeros(d)
    for s in range(t + 1):
        W, U, b, w = unpack(theta_live if s > t - k else theta_old)
        z = W @ xs[s] + U @ h + b
        i, f, g, o = _sigmoid(z[:d]), _sigmoid(z[d:2 * d]), np.tanh(z[2 * d:3 * d]), _sigmoid(z[3 * d:])
        c = f * c + i * g
        h = o * np.tanh(c)
    return float(unpack(theta_live)[3] @ h)


def _torch_gradient(torch, learner, xs, t, k):
    """dy_t/dtheta by PyTorch float64 autodiff: nn.LSTMCell unrolled, detached k steps back."""
    return torch_lstm_output_and_gradient(torch, learner.parameters(), xs, t, truncation=k)[1]


def _rel_error(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


# ------------------------------------------------------------------ gradient
@pytest.mark.parametrize("n,d,k,kind", [(5, 3, 4, "dense"), (12, 2, 30, "sparse"), (8, 4, 1, "mixed"),
                                        (6, 2, 3, "mixed"), (40, 5, 7, "mixed")])
def test_gradient_equals_torch_truncated_unroll(n, d, k, kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(n * 100 + d * 10 + k)
    steps = 3 * k + 12
    xs = _inputs(kind, steps, n, rng)
    learner = _random_learner(n, d, k)
    theta = learner.theta.copy()
    traces = _traces(learner, xs, np.zeros(steps))
    assert np.array_equal(learner.theta, theta), "alpha=1e-300 should leave the weights unchanged"
    for t in sorted({0, 1, k - 1, k, k + 1, steps // 2, steps - 1}):
        reference = _torch_gradient(torch, learner, xs, t, k)
        assert _rel_error(traces[t], reference) <= 1e-6, f"t={t}"


@pytest.mark.parametrize("k", [1, 2, 3, 4, 6])
def test_gradient_of_wide_inputs_with_rmsprop(k):
    """Inputs wider than a W block (n > 256) with RMSProp take the fused row path, which
    makes each row's gradient inside the update loop (the window's four newest terms there,
    older ones before it: k = 6); alpha=1e-300 freezes RMSProp too."""
    torch = pytest.importorskip("torch")
    n, d, steps = 300, 2, 3 * k + 5
    xs = _inputs("mixed", steps, n, np.random.default_rng(k))
    learner = _random_learner(n, d, k, scale=0.2, optimizer="rmsprop")
    theta = learner.theta.copy()
    traces = _traces(learner, xs, np.zeros(steps), cumulants=np.ones(steps))
    assert np.array_equal(learner.theta, theta)
    for t in sorted({1, k, steps - 1}):
        assert _rel_error(traces[t], _torch_gradient(torch, learner, xs, t, k)) <= 1e-6, f"t={t}"


def test_gradient_is_truncated_not_full():
    """At t >= k the truncated and full gradients differ, and ours is the truncated one."""
    torch = pytest.importorskip("torch")
    n, d, k, steps = 4, 3, 3, 12
    xs = _inputs("dense", steps, n, np.random.default_rng(1))
    learner = _random_learner(n, d, k, scale=1.5)
    traces = _traces(learner, xs, np.zeros(steps))
    truncated = _torch_gradient(torch, learner, xs, steps - 1, k)
    full = _torch_gradient(torch, learner, xs, steps - 1, steps)
    assert _rel_error(full, truncated) > 1e-3
    assert _rel_error(traces[-1], truncated) <= 1e-6
    # The authors' k-slot ring buffer fed step t-k+1 the newest state instead of h_{t-k}:
    assert _rel_error(traces[-1], full) > 1e-3


def test_window_covering_the_stream_is_full_bptt():
    """With k >= t + 1 the gradient is full BPTT from the stream start (h_{-1} = c_{-1} = 0)."""
    torch = pytest.importorskip("torch")
    n, d, steps = 6, 3, 15
    xs = _inputs("mixed", steps, n, np.random.default_rng(2))
    learner = _random_learner(n, d, k=steps)
    traces = _traces(learner, xs, np.zeros(steps))
    for t in (0, 5, steps - 1):
        full = _torch_gradient(torch, learner, xs, t, t + 1)
        assert _rel_error(traces[t], full) <= 1e-6


@pytest.mark.parametrize("k", [1, 3])
def test_gradient_equals_central_finite_differences(k):
    """Without PyTorch: every component of dy_t/dtheta against central differences in float64."""
    n, d, t = 3, 2, 6
    xs = _inputs("dense", t + 1, n, np.random.default_rng(3))
    learner = _random_learner(n, d, k, seed=4)
    theta = learner.theta.copy()
    trace = _traces(learner, xs, np.zeros(t + 1))[t]
    eps = 1e-6
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[i] += eps
        down[i] -= eps
        numeric[i] = (_numpy_truncated_output(up, theta, xs, t, k, n, d)
                      - _numpy_truncated_output(down, theta, xs, t, k, n, d)) / (2 * eps)
    assert _rel_error(trace, numeric) <= 1e-6


def test_prediction_matches_numpy_lstm():
    n, d, k, steps = 5, 3, 4, 10
    xs = _inputs("mixed", steps, n, np.random.default_rng(5))
    learner = _random_learner(n, d, k)
    theta = learner.theta.copy()
    predictions = [learner.step(x) for x in xs]
    expected = [_numpy_truncated_output(theta, theta, xs, t, k, n, d) for t in range(steps)]
    np.testing.assert_allclose(predictions, expected, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------ TD(lambda)
def test_trace_decays_by_lambda_gamma_and_restarts_at_gamma_zero():
    """n = d = k = 1, only the cell-gate input weight Wg = 1 and output weight w = 1 non-zero:
    i = f = o = 1/2, c_t = c_{t-1}/2 + tanh(x_t)/2, y_t = h_t = tanh(c_t)/2, so
    dy_t/dWg = (1 - tanh^2 c_t)/2 * (1 - tanh^2 x_t)/2 * x_t and dy_t/dw = h_t.
    """
    lam = 0.8
    learner = TBPTTLearner(1, n_hidden=1, truncation=1, lam=lam, **FROZEN)
    learner.theta[:] = 0.0
    p = learner.parameters()
    p["W"][2, 0] = 1.0  # cell gate g (rows: i, f, g, o)
    p["w"][0] = 1.0
    xs = np.array([0.5, -1.0, 2.0, 0.3, -0.7, 1.1])
    gammas = np.array([0.0, 0.9, 0.5, 0.0, 1.0, 0.9])
    traces = _traces(learner, xs[:, None], gammas, cumulants=np.linspace(0, 1, 6))

    c, e_wg, e_w = 0.0, 0.0, 0.0
    for t, x in enumerate(xs):
        c = 0.5 * c + 0.5 * np.tanh(x)
        h = 0.5 * np.tanh(c)
        decay = lam * gammas[t]
        e_wg = decay * e_wg + 0.25 * (1 - np.tanh(c) ** 2) * (1 - np.tanh(x) ** 2) * x
        e_w = decay * e_w + h
        assert traces[t][2] == pytest.approx(e_wg, rel=1e-12, abs=1e-15)  # theta = [W (4x1), U, b, w]
        assert traces[t][-1] == pytest.approx(e_w, rel=1e-12, abs=1e-15)


def test_td_update_sgd_matches_hand_step():
    """One SGD step: theta_1 = theta_0 + alpha * delta * e_0, delta = c_1 + gamma_1 y_1 - y_0."""
    alpha = 0.05
    learner = _random_learner(3, 2, 2, alpha=alpha)
    theta0 = learner.theta.copy()
    x0, x1 = np.array([1.0, 0.0, -0.5]), np.array([0.2, 0.4, 0.0])
    y0 = learner.predict(x0)
    e0 = learner.trace.copy()
    probe = _random_learner(3, 2, 2)
    probe.predict(x0)
    y1 = probe.update(0.0, 0.0, x1)  # y_1 with theta_0 (probe never moves)
    learner.update(0.7, 0.9, x1)
    delta = 0.7 + 0.9 * y1 - y0
    np.testing.assert_allclose(learner.theta, theta0 + alpha * delta * e0, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("n, d", [(3, 2), (3, 3), (300, 2), (301, 3)])
def test_td_update_rmsprop_matches_hand_step(n, d):
    """One RMSProp step: g = delta e_0, v = beta2 + (1 - beta2) g^2, theta += alpha g / (sqrt(v) + eps).
    Odd d makes the U, b, w span odd, odd n each row of W: the kernels pair parameters, and the
    odd one out must get the same step."""
    alpha, beta2, eps = 0.05, 0.9, 1e-3
    hp = dict(alpha=alpha, optimizer="rmsprop", beta2=beta2, eps=eps)
    learner = _random_learner(n, d, 3, scale=0.3, **hp)
    rng = np.random.default_rng(n)
    x0, x1 = rng.normal(size=n), rng.normal(size=n)
    theta0 = learner.theta.copy()
    y0 = learner.predict(x0)
    e0 = learner.trace.copy()
    probe = _random_learner(n, d, 3, scale=0.3)
    probe.predict(x0)
    y1 = probe.update(0.0, 0.0, x1)
    learner.update(0.7, 0.9, x1)
    g = (0.7 + 0.9 * y1 - y0) * e0
    v = beta2 + (1 - beta2) * g * g
    np.testing.assert_allclose(learner.v, v, rtol=1e-13)
    np.testing.assert_allclose(learner.theta, theta0 + alpha * g / (np.sqrt(v) + eps), rtol=1e-13, atol=1e-15)


# ------------------------------------------------------------------ API
def _trace_stream(steps, seed=0):
    env = make_env("TracePatterning-v0", RELEASED_CODE_KWARGS)
    return env.stream(seed).next_chunk(steps)


def _dense_stream(steps, n, seed=0):
    rng = np.random.default_rng(seed)
    gamma = np.full(steps, 0.9)
    gamma[0] = gamma[steps // 3] = 0.0
    return rng.normal(size=(steps, n)).astype(np.float32), rng.random(steps), gamma


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop"])
def test_per_step_equals_chunked(optimizer, dtype):
    for obs, cumulant, gamma in [tuple(_trace_stream(3000)), _dense_stream(600, 40), _dense_stream(300, 300)]:
        n = obs.shape[1]
        hp = dict(alpha=1e-2, optimizer=optimizer, n_hidden=3, truncation=5, seed=7, dtype=dtype)
        single, chunked = TBPTTLearner(n, **hp), TBPTTLearner(n, **hp)
        per_step = np.array([single.step(obs[t], cumulant[t], gamma[t]) for t in range(len(obs))])
        cuts = [0, 1, 2, 250, len(obs)]
        batched = np.concatenate([chunked.run_chunk(obs[a:b], cumulant[a:b], gamma[a:b])
                                  for a, b in zip(cuts, cuts[1:])])
        assert np.array_equal(per_step, batched)
        assert np.array_equal(single.theta, chunked.theta)
        assert np.array_equal(single.v, chunked.v)
        assert np.abs(np.diff(per_step)).max() > 0  # it did predict something


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_seeded_determinism(dtype):
    obs, cumulant, gamma = _trace_stream(2000)
    runs = [TBPTTLearner(12, seed=s, alpha=1e-2, dtype=dtype).run_chunk(obs, cumulant, gamma) for s in (3, 3, 4)]
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])
    assert np.array_equal(TBPTTLearner(12, seed=3).theta, TBPTTLearner(12, seed=3).theta)


def test_float32_tracks_float64():
    """Same seed and stream: float32 predictions stay within 1e-4 (relative) of float64 ones,
    and are not bit-identical (the learner really computes in float32)."""
    for obs, cumulant, gamma in [tuple(_trace_stream(3000)), _dense_stream(600, 40), _dense_stream(300, 300)]:
        n = obs.shape[1]
        learners = {dtype: TBPTTLearner(n, n_hidden=3, truncation=5, alpha=1e-2, seed=7, dtype=dtype)
                    for dtype in ("float64", "float32")}
        p64, p32 = (learners[dtype].run_chunk(obs, cumulant, gamma) for dtype in ("float64", "float32"))
        assert np.abs(p32 - p64).max() <= 1e-4 * np.abs(p64).max()
        assert not np.array_equal(p32, p64)
        assert all(value.dtype == np.float32 for key, value in learners["float32"].get_state().items()
                   if key in ("theta", "trace", "v", "hist_x", "hist_h", "last_y"))


def test_initialisation():
    learner = TBPTTLearner(12, n_hidden=4, seed=1)
    p = learner.parameters()
    assert learner.n_parameters == 4 * 4 * (12 + 4 + 1) + 4
    assert p["W"].shape == (16, 12) and p["U"].shape == (16, 4) and p["b"].shape == (16,)
    assert np.all(p["w"] == 0)
    lstm = learner.theta[:-4]
    assert np.abs(lstm).max() <= 0.5 and np.abs(lstm).max() > 0.45  # U(+-1/sqrt(4))
    assert np.all(learner.v == 1.0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_checkpoint_round_trip_continues_exactly(dtype):
    obs, cumulant, gamma = _trace_stream(4000)
    hp = dict(alpha=1e-2, n_hidden=3, truncation=6, dtype=dtype)
    first = TBPTTLearner(12, seed=0, **hp)
    first.run_chunk(obs[:2000], cumulant[:2000], gamma[:2000])
    state = first.get_state()
    expected = first.run_chunk(obs[2000:], cumulant[2000:], gamma[2000:])
    assert not np.array_equal(state["theta"], first.theta)  # get_state copied, did not alias

    second = TBPTTLearner(12, seed=99, **hp)
    second.set_state(state)
    assert np.array_equal(second.run_chunk(obs[2000:], cumulant[2000:], gamma[2000:]), expected)

    third = TBPTTLearner(12, seed=5, **hp)
    third.set_state(state)
    assert np.array_equal([third.step(obs[t], cumulant[t], gamma[t]) for t in range(2000, 4000)], expected)


def test_set_state_rejects_other_shapes():
    state = TBPTTLearner(12, n_hidden=2, truncation=30).get_state()
    with pytest.raises(ValueError, match="n_hidden or truncation"):
        TBPTTLearner(12, n_hidden=3, truncation=30).set_state(state)
    with pytest.raises(ValueError, match="dtype='float64'"):
        TBPTTLearner(12, n_hidden=2, truncation=30, dtype="float32").set_state(state)


def test_restart_forgets_the_stream_not_the_weights():
    obs, cumulant, gamma = _trace_stream(500)
    learner = TBPTTLearner(12, alpha=1e-2)
    learner.run_chunk(obs, cumulant, gamma)
    theta = learner.theta.copy()
    fresh = TBPTTLearner(12, alpha=1e-2)
    fresh.theta[:] = theta
    assert learner.predict(obs[0]) == fresh.predict(obs[0])
    assert np.array_equal(learner.trace, fresh.trace)


@pytest.mark.parametrize("bad,match", [
    ({"alpha": -1e-3}, "alpha"), ({"alpha": float("nan")}, "alpha"),
    ({"lam": -0.1}, "lam"), ({"lam": 1.5}, "lam"), ({"truncation": 0}, "truncation"),
    ({"truncation": 2.5}, "truncation"), ({"n_hidden": 0}, "n_hidden"), ({"optimizer": "adam"}, "optimizer"),
    ({"beta2": 1.0}, "beta2"), ({"eps": 0.0}, "eps"),
    ({"dtype": "float16"}, r"dtype must be one of \['float32', 'float64'\]"), ({"dtype": np.float32}, "dtype"),
])
def test_bad_hyperparameters_raise(bad, match):
    with pytest.raises(ValueError, match=match):
        TBPTTLearner(12, **bad)


def test_registry_and_hyperparameters_rebuild():
    learner = make_learner("tbptt", 12, seed=2, alpha=3e-4, lam=0.9, optimizer="sgd", n_hidden=5, truncation=8,
                           dtype="float32")
    hp = learner.hyperparameters()
    assert hp["n_hidden"] == 5 and hp["truncation"] == 8 and hp["optimizer"] == "sgd" and hp["dtype"] == "float32"
    rebuilt = make_learner("tbptt", 12, seed=2, **hp)
    assert np.array_equal(rebuilt.theta, learner.theta)
    assert rebuilt.hyperparameters() == hp
    with pytest.raises(ValueError, match="no hyperparameter"):
        make_learner("tbptt", 12, hidden=3)


def test_learns_trace_patterning():
    steps = 300_000
    zero = run("TracePatterning-v0", "zero", steps, seed=0, progress=False)
    learned = run("TracePatterning-v0", "tbptt", steps, seed=0, hyperparameters={"alpha": 3e-3}, progress=False)
    assert learned["final_msre"] < 0.9 * zero["final_msre"]
