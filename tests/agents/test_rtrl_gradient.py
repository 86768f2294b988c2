"""RTRL sensitivities and epochwise weight changes against finite differences of a plain
NumPy re-implementation of the Williams & Zipser dynamics (float64)."""
import numpy as np
import pytest

from rtrlbench.agents.rtrl import RTRL

EPS = 1e-6


def unit_outputs(w, inputs, activation, forced=None, forced_mask=None):
    """y(t) for t = 0..T of eqs. 2.1-2.3 / 2.17 (bias line first, y(0) = 0): float64[T + 1, n]."""
    n = w.shape[0]
    y = np.zeros(n)
    out = [y]
    for t, x in enumerate(inputs):
        shown = y.copy()
        if forced is not None:
            k = forced.shape[1]
            shown[:k] = np.where(forced_mask[t], forced[t], shown[:k])
        s = w @ np.concatenate([[1.0], x, shown])
        y = 1.0 / (1.0 + np.exp(-s)) if activation == "logistic" else np.tanh(s)
        out.append(y)
    return np.array(out)


def numeric_jacobian(fn, w):
    """d fn(w) / d w by central differences: float64[*fn.shape, *w.shape]."""
    base = fn(w)
    jac = np.zeros(base.shape + w.shape)
    for idx in np.ndindex(w.shape):
        up, down = w.copy(), w.copy()
        up[idx] += EPS
        down[idx] -= EPS
        jac[(...,) + idx] = (fn(up) - fn(down)) / (2 * EPS)
    return jac


def relative_error(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


def random_problem(seed, n_units, n_inputs, steps, n_targets):
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(steps, n_inputs))
    targets = rng.uniform(size=(steps, n_targets))
    mask = rng.uniform(size=(steps, n_targets)) < 0.6
    return inputs, targets, mask


@pytest.mark.parametrize("activation", ["logistic", "tanh"])
@pytest.mark.parametrize("teacher_forcing", [False, True])
def test_sensitivities_equal_the_derivatives_of_the_unit_outputs(activation, teacher_forcing):
    n, m, steps = 4, 3, 12
    inputs, targets, mask = random_problem(1, n, m, steps, n_targets=2)
    net = RTRL(m, n_units=n, alpha=0.0, activation=activation, init_scale=1.0, seed=2)
    net.train_supervised(inputs, targets, mask, teacher_forcing=teacher_forcing)
    forced = (targets, mask) if teacher_forcing else (None, None)
    w = net.weights.copy()
    np.testing.assert_allclose(net.outputs, unit_outputs(w, inputs, activation, *forced)[-1], rtol=1e-12)
    numeric = numeric_jacobian(lambda v: unit_outputs(v, inputs, activation, *forced)[-1], w)
    assert relative_error(net.sensitivities, numeric) < 1e-6


def test_teacher_forcing_changes_the_sensitivities():
    inputs, targets, mask = random_problem(3, 3, 2, 10, n_targets=1)
    free, forced = (RTRL(2, n_units=3, alpha=0.0, init_scale=1.0, seed=0) for _ in range(2))
    free.train_supervised(inputs, targets, np.ones_like(mask), teacher_forcing=False)
    forced.train_supervised(inputs, targets, np.ones_like(mask), teacher_forcing=True)
    assert relative_error(free.sensitivities, forced.sensitivities) > 1e-3


def test_stream_path_sensitivities_match_with_teacher_forced_unit_zero():
    """run_chunk with gamma = 0 and teacher forcing forces unit 0 to the cumulant c_t at rows t >= 1."""
    n, m, steps = 3, 2, 9
    rng = np.random.default_rng(4)
    obs = rng.normal(size=(steps, m)).astype(np.float32)
    cumulant = rng.uniform(size=steps)
    net = RTRL(m, n_units=n, alpha=0.0, init_scale=1.0, teacher_forcing=True, seed=5)
    net.run_chunk(obs, cumulant, np.zeros(steps))
    mask = np.arange(steps)[:, None] >= 1
    fn = lambda v: unit_outputs(v, obs.astype(np.float64), "logistic", cumulant[:, None], mask)[-1]  # noqa: E731
    w = net.weights.copy()
    np.testing.assert_allclose(net.outputs, fn(w), rtol=1e-12)
    assert relative_error(net.sensitivities, numeric_jacobian(fn, w)) < 1e-6


@pytest.mark.parametrize("teacher_forcing", [False, True])
def test_epochwise_change_is_the_exact_gradient_of_the_epoch_error(teacher_forcing):
    n, m, epoch, alpha = 3, 2, 8, 0.5
    inputs, targets, mask = random_problem(6, n, m, epoch + 1, n_targets=2)
    net = RTRL(m, n_units=n, alpha=alpha, init_scale=1.0, seed=7)
    w0 = net.weights.copy()
    forced = (targets, mask) if teacher_forcing else (None, None)

    def total_error(v):  # J_total(0, L) of eq. 2.6
        y = unit_outputs(v, inputs[:epoch], "logistic", *forced)[1:, :2]
        return 0.5 * np.sum(np.where(mask[1:], targets[1:] - y, 0.0) ** 2)

    net.train_supervised(inputs[:epoch], targets[:epoch], mask[:epoch], teacher_forcing=teacher_forcing,
                         epoch_length=epoch)
    np.testing.assert_array_equal(net.weights, w0)  # nothing changes inside an epoch
    net.train_supervised(inputs[epoch:], targets[epoch:], mask[epoch:], teacher_forcing=teacher_forcing,
                         epoch_length=epoch)
    gradient = numeric_jacobian(total_error, w0)
    assert relative_error(net.weights - w0, -alpha * gradient) < 1e-6
    # p restarted at 0 for the next epoch (eq. 2.13): one step later only d y_k / d w_kj is nonzero
    off_diagonal = ~np.eye(3, dtype=bool)
    assert not net.sensitivities[off_diagonal].any() and net.sensitivities[~off_diagonal].any()


def test_real_time_change_is_alpha_error_times_sensitivity():
    inputs, targets, mask = random_problem(8, 3, 2, 6, n_targets=2)
    net = RTRL(2, n_units=3, alpha=0.0, init_scale=1.0, seed=9)
    net.train_supervised(inputs[:5], targets[:5], mask[:5])
    p, y, w0 = net.sensitivities.copy(), net.outputs.copy(), net.weights.copy()
    net.alpha = 0.25
    net.train_supervised(inputs[5:], targets[5:], np.ones((1, 2), dtype=bool))
    expected = 0.25 * np.einsum("k,kij->ij", targets[5] - y[:2], p[:2])  # eq. 2.15
    np.testing.assert_allclose(net.weights - w0, expected, rtol=1e-12, atol=1e-15)
