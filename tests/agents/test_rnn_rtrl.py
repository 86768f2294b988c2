"""The dense tanh-RNN learners: exact RTRL (PyTorch float64 autodiff of the whole unroll), RFLO (an
independent matrix-form implementation of Murray's recursion with its TD(lambda) updates; exact RTRL
when U = 0 and the feedback is the readout), UORO (unbiased), per-step = chunked, checkpoints,
bad hyperparameters, FLOPs and budget sizes, gradient fidelity.

Gradient checks freeze the weights (``alpha=0``) and read dy_t/dtheta off the learner.
"""
import numpy as np
import pytest

from rtrlbench.agents import learner_flops
from rtrlbench.agents.registry import make_learner
from rtrlbench.agents.rnn_rtrl import RFLOLearner, TanhRNNRTRLLearner, TanhRNNUOROLearner

FROZEN = {"alpha": 0.0, "optimizer": "sgd"}


def _rel_error(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


def _random_weights(learner, seed, scale=1.0):
    learner.theta[:] = np.random.default_rng(seed + 100).uniform(-scale, scale, learner.theta.size)
    return learner


def _torch_rnn_output_and_gradient(torch, parameters, xs, t, leak):
    """(y_t, dy_t/dtheta) of h_s = (1 - a) h_{s-1} + a tanh(W x_s + U h_{s-1} + b), unrolled over
    xs[0..t] from h = 0, y_t = w . h_t; flat in the learner's layout (W, U, b, w)."""
    leaves = [torch.tensor(parameters[k], requires_grad=True) for k in ("W", "U", "b", "w")]
    W, U, b, w = leaves
    x = torch.from_numpy(np.asarray(xs, dtype=np.float64))
    h = torch.zeros(U.shape[0], dtype=torch.float64)
    for s in range(t + 1):
        h = (1 - leak) * h + leak * torch.tanh(W @ x[s] + U @ h + b)
    y = (w * h).sum()
    return y.item(), np.concatenate([g.numpy().ravel() for g in torch.autograd.grad(y, leaves)])


@pytest.mark.parametrize("n,d,leak", [(5, 3, 1.0), (7, 4, 0.3), (2, 6, 0.8), (9, 1, 1.0)])
def test_rtrl_gradient_equals_torch_autodiff_across_episode_resets(n, d, leak):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10 * n + d)
    steps = 40
    xs = np.where(rng.random((steps, 1)) < 0.5, rng.normal(size=(steps, n)), rng.random((steps, n)) < 0.2)
    learner = _random_weights(TanhRNNRTRLLearner(n, n_hidden=d, leak=leak, **FROZEN), seed=n, scale=1.2)
    gammas = rng.choice([0.0, 0.9], size=steps)  # episode ends (gamma = 0) do not cut the network's gradient
    assert (gammas[1:20] == 0).any()
    for t in range(steps):
        y = learner.step(xs[t], 0.0, gammas[t])
        if t in (0, 1, 7, 23, steps - 1):
            y_torch, grad = _torch_rnn_output_and_gradient(torch, learner.parameters(), xs, t, leak)
            assert abs(y - y_torch) <= 1e-12 * max(1.0, abs(y_torch))
            assert _rel_error(learner.gradient, grad) <= 1e-6


# ------------------------------------------------------------------ RFLO
def _rflo_reference(parameters, beta, xs, cumulants, gammas, leak, alpha, lam, readout_feedback=False):
    """A straightforward RFLO learner in matrix form (Murray 2019; Marschall et al.'s B_t), SGD TD(lambda):
    E_t = (1 - a) E_{t-1} + a phi'(z_t) a_hat_t^T with a_hat_t = [x_t, h_{t-1}, 1] (rows: units),
    dy/d[W U b] ~ diag(beta) E_t, dy/dw = h_t; delta = c + gamma y_{t+1} - y_t, theta += alpha delta e,
    e = lam gamma e + grad. Returns the predictions and the final (W, U, b, w)."""
    W, U, b, w = (parameters[k].copy() for k in ("W", "U", "b", "w"))
    d, n = U.shape[0], W.shape[1]
    h, E = np.zeros(d), np.zeros((d, n + d + 1))
    trace_r, trace_w = np.zeros((d, n + d + 1)), np.zeros(d)
    predictions, y_last = [], 0.0
    for t, x in enumerate(xs):
        z = W @ x + U @ h + b
        a_hat = np.concatenate([x, h, [1.0]])
        h = (1 - leak) * h + leak * np.tanh(z)
        E = (1 - leak) * E + leak * np.outer(1 - np.tanh(z) ** 2, a_hat)
        y = w @ h
        fb = w.copy() if readout_feedback else beta
        if t > 0:
            delta = cumulants[t] + gammas[t] * y - y_last
            step = alpha * delta * trace_r
            W += step[:, :n]
            U += step[:, n:n + d]
            b += step[:, -1]
            w += alpha * delta * trace_w
            decay = lam * gammas[t]
        else:
            decay = 0.0
        trace_r = decay * trace_r + fb[:, None] * E   # the feedback of the weights the gradient was made with
        trace_w = decay * trace_w + h
        predictions.append(y)
        y_last = y
    return np.array(predictions), (W, U, b, w)


def _stream(steps, n, seed=0):
    rng = np.random.default_rng(seed)
    obs = (rng.random((steps, n)) < 0.3).astype(np.float64) + 0.1 * rng.normal(size=(steps, n))
    return obs, rng.normal(size=steps) * 0.1, np.where(rng.random(steps) < 0.05, 0.0, 0.9)


@pytest.mark.parametrize("leak,feedback", [(1.0, "random"), (0.2, "random"), (0.5, "readout")])
def test_rflo_equals_a_straightforward_implementation_of_its_recursion(leak, feedback):
    n, d, steps = 4, 5, 120
    obs, cumulant, gamma = _stream(steps, n, seed=3)
    learner = RFLOLearner(n, n_hidden=d, seed=2, leak=leak, feedback=feedback, alpha=0.05, lam=0.8, optimizer="sgd")
    learner.theta[-d:] = np.random.default_rng(4).normal(size=d) * 0.5  # a non-zero readout
    start = {k: v.copy() for k, v in learner.parameters().items()}
    predictions = learner.run_chunk(obs, cumulant, gamma)
    expected, final = _rflo_reference(start, learner.feedback_vector if feedback == "random" else None,
                                      obs, cumulant, gamma, leak, 0.05, 0.8, readout_feedback=feedback == "readout")
    np.testing.assert_allclose(predictions, expected, rtol=1e-10, atol=1e-13)
    for got, want in zip((learner.parameters()[k] for k in ("W", "U", "b", "w")), final):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
    assert np.abs(learner.theta - np.concatenate([v.ravel() for v in start.values()])).max() > 1e-3  # it learned


def test_rflo_with_readout_feedback_is_exact_rtrl_without_recurrent_weights():
    """U = 0 removes the recurrent Jacobian RFLO drops, so with beta = w it is the exact gradient;
    with a dense U it is not."""
    n, d = 3, 4
    xs = np.random.default_rng(5).normal(size=(30, n))
    for dense, check in ((False, lambda e: e <= 1e-12), (True, lambda e: e > 1e-3)):
        exact = _random_weights(TanhRNNRTRLLearner(n, n_hidden=d, leak=0.6, **FROZEN), seed=1)
        rflo = RFLOLearner(n, n_hidden=d, leak=0.6, feedback="readout", **FROZEN)
        if not dense:
            exact.parameters()["U"][:] = 0.0
        rflo.theta[:] = exact.theta
        for x in xs:
            exact.step(x), rflo.step(x)
        assert check(_rel_error(rflo.gradient, exact.gradient))


def test_rflo_feedback_is_random_seeded_and_not_the_readout():
    a, b, c = RFLOLearner(7, n_hidden=6, seed=1), RFLOLearner(7, n_hidden=6, seed=1), RFLOLearner(7, n_hidden=6, seed=2)
    np.testing.assert_array_equal(a.feedback_vector, b.feedback_vector)
    assert not np.array_equal(a.feedback_vector, c.feedback_vector)
    assert np.all(a.feedback_vector != 0) and np.all(a.parameters()["w"] == 0)


# ------------------------------------------------------------------ UORO
def test_uoro_is_unbiased_over_the_tanh_rnn():
    """The mean of u_tilde theta_tilde^T over independent sign streams converges to the exact dh/dtheta_r:
    every entry within 6 standard errors (from the sample variance) of it."""
    n, d, steps, runs = 3, 3, 8, 4000
    xs = np.random.default_rng(11).normal(size=(steps, n))
    exact = _random_weights(TanhRNNRTRLLearner(n, n_hidden=d, leak=0.7, **FROZEN), seed=5)
    for x in xs:
        exact.step(x)
    target = exact._state.jh
    estimates = np.empty((runs, *target.shape))
    for k in range(runs):
        uoro = TanhRNNUOROLearner(n, n_hidden=d, leak=0.7, seed=k, **FROZEN)
        uoro.theta[:] = exact.theta
        for x in xs:
            uoro.step(x)
        estimates[k] = uoro.influence_estimate()
    mean, se = estimates.mean(axis=0), estimates.std(axis=0, ddof=1) / np.sqrt(runs)
    assert se.max() > 0 and np.abs(target).max() > 1e-2
    assert np.all(np.abs(mean - target) <= 6 * se + 1e-12)
    assert _rel_error(estimates[0], target) > 0.1  # a single run is an estimate, not the target
    w = uoro.parameters()["w"]
    np.testing.assert_allclose(uoro.gradient[:-d], w @ uoro.influence_estimate(), rtol=1e-12)


# ------------------------------------------------------------------ shared conventions
LEARNERS = [(TanhRNNRTRLLearner, {"n_hidden": 3}), (TanhRNNUOROLearner, {"n_hidden": 6}),
            (RFLOLearner, {"n_hidden": 6, "leak": 0.5})]


@pytest.mark.parametrize("cls,hp", LEARNERS)
@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop"])
def test_per_step_equals_chunked_and_checkpoints_resume_exactly(cls, hp, optimizer):
    obs, cumulant, gamma = _stream(300, 7, seed=1)
    make = lambda seed, **more: cls(7, seed=seed, alpha=0.01, optimizer=optimizer, **hp, **more)  # noqa: E731
    chunked = make(3)
    whole = np.concatenate([chunked.run_chunk(obs[:100], cumulant[:100], gamma[:100]),
                            chunked.run_chunk(obs[100:], cumulant[100:], gamma[100:])])
    stepped = make(3)
    np.testing.assert_array_equal(whole, [stepped.step(obs[t], cumulant[t], gamma[t]) for t in range(300)])
    first = make(3)
    first.run_chunk(obs[:150], cumulant[:150], gamma[:150])
    restored = make(99)  # other weights, signs and feedback until restored
    restored.set_state(first.get_state())
    np.testing.assert_array_equal(restored.run_chunk(obs[150:], cumulant[150:], gamma[150:]), whole[150:])
    assert not np.array_equal(make(4).run_chunk(obs, cumulant, gamma), whole)
    measured = make(3, fidelity_every=7)  # measuring changes no prediction
    np.testing.assert_array_equal(measured.run_chunk(obs, cumulant, gamma), whole)


def test_fidelity_is_one_for_exact_rtrl_and_below_for_rflo_and_uoro():
    obs, cumulant, gamma = _stream(400, 7, seed=2)
    cosines = {}
    for cls, hp in LEARNERS:
        learner = cls(7, seed=1, alpha=0.01, fidelity_every=20, **hp)
        learner.run_chunk(obs, cumulant, gamma)
        record = learner.fidelity()
        assert record["step"].tolist() == list(range(0, 400, 20))
        cosines[cls.name] = record["cosine"]
    assert np.all(np.abs(cosines["rnn_rtrl"] - 1) <= 1e-12)
    assert cosines["rflo"].min() < 0.999 and cosines["rnn_uoro"].min() < 0.999


def test_a_checkpoint_of_another_network_is_refused():
    with pytest.raises(ValueError, match=r"state\['jh'\] has shape"):
        RFLOLearner(7, n_hidden=4).set_state(TanhRNNRTRLLearner(7, n_hidden=4).get_state())
    with pytest.raises(ValueError, match="state lacks"):
        RFLOLearner(7, n_hidden=4).set_state(make_learner("snap1", 7, n_hidden=4).get_state())


@pytest.mark.parametrize("cls,bad,match", [
    (TanhRNNRTRLLearner, {"leak": 0.0}, "leak"), (TanhRNNRTRLLearner, {"leak": 1.5}, "leak"),
    (TanhRNNRTRLLearner, {"leak": float("nan")}, "leak"), (TanhRNNRTRLLearner, {"n_hidden": 0}, "n_hidden"),
    (TanhRNNRTRLLearner, {"alpha": -1.0}, "alpha"), (TanhRNNRTRLLearner, {"lam": 2.0}, "lam"),
    (TanhRNNRTRLLearner, {"optimizer": "adam"}, "optimizer"), (TanhRNNRTRLLearner, {"fidelity_every": -1}, "fidelity"),
    (RFLOLearner, {"feedback": "symmetric"}, "feedback"), (RFLOLearner, {"leak": -0.1}, "leak"),
    (TanhRNNUOROLearner, {"uoro_eps": 0.0}, "uoro_eps"),
])
def test_bad_hyperparameters_raise(cls, bad, match):
    with pytest.raises(ValueError, match=match):
        cls(7, **bad)


def test_registry_flops_and_budget_sizes():
    for name, cls in (("rnn_rtrl", TanhRNNRTRLLearner), ("rnn_uoro", TanhRNNUOROLearner), ("rflo", RFLOLearner)):
        learner = make_learner(name, 7, seed=1, n_hidden=4, leak=0.5)
        assert type(learner) is cls and learner.hyperparameters()["leak"] == 0.5
    # d = 4, n = 7: P_r = 48; forward 4 * (7 + 4 + 3) = 56
    assert learner_flops.flops_per_step("rnn_rtrl", 7, n_hidden=4) == 56 + (16 + 12) * 48
    assert learner_flops.flops_per_step("rflo", 7, n_hidden=4) == 56 + 3 * 48
    assert learner_flops.flops_per_step("rnn_uoro", 7, n_hidden=4) == 56 + 16 + 10 * 4 + 6 * 48
    budget = learner_flops.PAPER_BUDGETS["trace"]
    for name in ("rnn_rtrl", "rnn_uoro", "rflo"):
        d = learner_flops.tanh_rnn_hidden(name, 7, budget)
        assert learner_flops.flops_per_step(name, 7, n_hidden=d) <= budget
        assert learner_flops.flops_per_step(name, 7, n_hidden=d + 1) > budget
        assert f"| {name} | {d} hidden |" in learner_flops.budget_table(7, budget)
