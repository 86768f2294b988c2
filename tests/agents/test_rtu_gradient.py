"""RTU learners: the online gradient d y_t / d theta against PyTorch float64 autodiff of the
same network unrolled from the stream's start, and the real-form recurrence against complex
arithmetic. Weights are frozen (alpha = 0) and random; streams random, with episode resets."""
import numpy as np
import pytest

from rtrlbench.agents.rtu import LinearRTULearner, NonLinearRTULearner

KINDS = {"linear": LinearRTULearner, "nonlinear": NonLinearRTULearner}
FROZEN = {"alpha": 0.0, "optimizer": "sgd"}


def _random_learner(kind, m, n, seed, **hp):
    """A frozen learner with every parameter random: r in (0.3, 0.99), theta in (0.1, 3), weights ~ N(0, 1)."""
    learner = KINDS[kind](m, n_units=n, seed=seed, **{**FROZEN, **hp})
    rng = np.random.default_rng(seed + 1000)
    p = learner.parameters()
    for key in ("W1", "W2", "b", "v1", "v2"):
        p[key][...] = rng.normal(size=p[key].shape)
    p["nu_log"][:] = np.log(-np.log(rng.uniform(0.3, 0.99, n)))
    p["theta_log"][:] = np.log(rng.uniform(0.1, 3.0, n))
    return learner


def _stream(m, steps, seed, kind="mixed"):
    rng = np.random.default_rng(seed)
    dense = rng.normal(size=(steps, m))
    sparse = (rng.random((steps, m)) < 0.2).astype(float)
    obs = np.where(rng.random((steps, 1)) < 0.5, dense, sparse) if kind == "mixed" else dense
    gamma = np.full(steps, 0.9)
    gamma[0] = gamma[steps // 2] = 0.0  # an episode reset in the middle
    return obs, rng.random(steps), gamma


def _torch_gradient(torch, learner, kind, xs, t, activation, input_scale="sqrt_one_minus_r2"):
    """d y_t / d theta by autodiff: the network unrolled from h = 0 at step 0 through step t,
    the rotation written as a block-diagonal 2n x 2n matrix acting on [h1, h2]."""
    p = {key: torch.tensor(value.copy(), dtype=torch.float64, requires_grad=True)
         for key, value in learner.parameters().items()}
    f = {"relu": torch.relu, "tanh": torch.tanh, "linear": lambda a: a}[activation]
    n = p["nu_log"].shape[0]
    nu = torch.exp(p["nu_log"])
    r = torch.exp(-nu)
    theta = torch.exp(p["theta_log"])
    g, phi = r * torch.cos(theta), r * torch.sin(theta)
    eta = torch.sqrt(1.0 - r * r) if input_scale == "sqrt_one_minus_r2" else torch.ones(n, dtype=torch.float64)
    A = torch.cat([torch.cat([torch.diag(g), -torch.diag(phi)], 1), torch.cat([torch.diag(phi), torch.diag(g)], 1)], 0)
    B = torch.cat([p["W1"], p["W2"]], 0)
    scale = torch.cat([eta, eta])
    h = torch.zeros(2 * n, dtype=torch.float64)
    x = torch.from_numpy(np.asarray(xs, dtype=np.float64))
    for s in range(t + 1):
        a = A @ h + scale * (B @ x[s])
        h = f(a) if kind == "nonlinear" else a
    features = h if kind == "nonlinear" else f(h)
    y = p["b"][0] + features @ torch.cat([p["v1"], p["v2"]])
    keys = list(p)
    grads = torch.autograd.grad(y, [p[key] for key in keys])
    return float(y.detach()), {key: grad.numpy() for key, grad in zip(keys, grads)}


def _flat(parts):
    return np.concatenate([np.ravel(parts[key]) for key in ("W1", "W2", "nu_log", "theta_log", "b", "v1", "v2")])


def _rel_error(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("activation,m,n,seed", [("tanh", 3, 2, 0), ("relu", 5, 3, 1), ("linear", 4, 2, 2),
                                                 ("tanh", 12, 4, 3)])
def test_gradient_equals_torch_autodiff_from_the_stream_start(kind, activation, m, n, seed):
    torch = pytest.importorskip("torch")
    steps = 30
    obs, cumulant, gamma = _stream(m, steps, seed)
    learner = _random_learner(kind, m, n, seed, activation=activation)
    theta = learner.theta.copy()
    checked = {0, 1, 2, steps // 2 - 1, steps // 2, steps // 2 + 1, steps - 1}  # around the reset too
    for t in range(steps):
        y = learner.step(obs[t], cumulant[t], gamma[t])
        if t in checked:
            y_ref, reference = _torch_gradient(torch, learner, kind, obs, t, activation)
            assert y == pytest.approx(y_ref, rel=1e-12, abs=1e-12), f"t={t}"
            assert _rel_error(_flat(learner.prediction_gradient()), _flat(reference)) <= 1e-6, f"t={t}"
            if gamma[t] == 0.0:  # the trace restarts: it is the gradient itself
                assert np.array_equal(learner.trace, _flat(learner.prediction_gradient()))
    assert np.array_equal(learner.theta, theta), "alpha = 0 must freeze the weights"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_gradient_without_input_normalisation(kind):
    torch = pytest.importorskip("torch")
    obs, cumulant, gamma = _stream(4, 12, 7, kind="dense")
    learner = _random_learner(kind, 4, 3, 7, activation="tanh", input_scale="one")
    for t in range(12):
        learner.step(obs[t], cumulant[t], gamma[t])
    _, reference = _torch_gradient(torch, learner, kind, obs, 11, "tanh", input_scale="one")
    assert _rel_error(_flat(learner.prediction_gradient()), _flat(reference)) <= 1e-6


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_code_theta_gradient_is_the_gradient_with_respect_to_theta(kind):
    """theta_gradient="code" (the authors' d/d theta for theta_log): with frozen weights its theta_log
    entries are the exact ones divided by theta = exp(theta_log); every other entry is unchanged."""
    obs, cumulant, gamma = _stream(3, 20, 4)
    exact, code = (_random_learner(kind, 3, 3, 4, activation="tanh", theta_gradient=v) for v in ("exact", "code"))
    for t in range(20):
        exact.step(obs[t], cumulant[t], gamma[t])
        code.step(obs[t], cumulant[t], gamma[t])
    ge, gc = exact.prediction_gradient(), code.prediction_gradient()
    np.testing.assert_allclose(gc["theta_log"], ge["theta_log"] / np.exp(exact.parameters()["theta_log"]), rtol=1e-10)
    for key in ("W1", "W2", "nu_log", "b", "v1", "v2"):
        assert np.array_equal(gc[key], ge[key])


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_real_form_equals_complex_arithmetic(kind, activation):
    """z_t = lambda z_{t-1} + eta (W1 + i W2) x_t with lambda = r e^{i theta} (linear RTU), and
    z_t = f(Re w) + i f(Im w) of that w (non-linear RTU): the learner's (h1, h2) = (Re z, Im z)."""
    m, n, steps = 5, 4, 40
    obs, cumulant, gamma = _stream(m, steps, 11)
    learner = _random_learner(kind, m, n, 11, activation=activation)
    p = {key: value.copy() for key, value in learner.parameters().items()}
    f = np.tanh if activation == "tanh" else (lambda a: np.maximum(a, 0.0))
    r = np.exp(-np.exp(p["nu_log"]))
    lam = r * np.exp(1j * np.exp(p["theta_log"]))
    eta = np.sqrt(1.0 - np.abs(lam) ** 2)
    B = p["W1"] + 1j * p["W2"]
    z = np.zeros(n, dtype=complex)
    for t in range(steps):
        y = learner.step(obs[t], cumulant[t], gamma[t])
        w = lam * z + eta * (B @ obs[t])
        z = f(w.real) + 1j * f(w.imag) if kind == "nonlinear" else w
        np.testing.assert_allclose(learner.unit_state(), np.stack([z.real, z.imag]), rtol=1e-12, atol=1e-12)
        features = np.concatenate([z.real, z.imag]) if kind == "nonlinear" else f(np.concatenate([z.real, z.imag]))
        assert y == pytest.approx(p["b"][0] + features @ np.concatenate([p["v1"], p["v2"]]), rel=1e-12, abs=1e-12)
