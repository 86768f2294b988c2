"""SwiftTD: our implementation against updates worked out by hand on tiny streams (the first steps in
closed form, the bound on the rate of learning binding and not, an episode end), per-step = chunked,
checkpoints, bad hyperparameters; and the ``swifttd`` package wrapper against ours where both apply
(skipped when the package is not installed)."""
import math

import numpy as np
import pytest

from rtrlbench.agents.registry import make_learner
from rtrlbench.agents.swift_td import SwiftTDLearner, SwiftTDPackageLearner

LAM, THETA, ETA, DECAY = 0.8, 0.01, 0.5, 0.9


def _learner(n=2, alpha=0.1, **hp):
    return SwiftTDLearner(n, lam=LAM, alpha_init=alpha, eta=ETA, decay=DECAY, meta_step_size=THETA, **hp)


def test_the_first_steps_in_closed_form_when_the_bound_does_not_bind():
    """alpha (phi . phi) <= eta throughout. Worked by hand from the update (module docstring of
    swift_td_kernels): step 0 leaves w = 0 and sets z = z_bar = alpha phi_0; step 1 predicts 0,
    delta_1 = c_1, so w = c_1 alpha phi_0 and beta is unchanged (p = 0); step 2 predicts
    c_1 alpha phi_0 . phi_2 and changes w by delta_2 z_1 - z_delta_1 V_delta_1 with
    z_1 = g l alpha phi_0 + alpha phi_1 (1 - g l alpha phi_0 . phi_1), V_delta_1 = c_1 alpha phi_0 . phi_1;
    beta first moves at step 3, by theta / alpha (delta_3 - V_delta_2) p_2 with p_2 = c_1 alpha phi_0 * phi_2."""
    a, g = 0.1, 0.9
    phi = np.array([[1.0, 0.0], [0.5, 1.0], [1.0, 1.0], [0.0, 1.0]])
    c = np.array([0.0, 2.0, -1.0, 0.5])
    learner = _learner()
    assert learner.step(phi[0]) == 0.0
    assert learner.weights.tolist() == [0.0, 0.0]
    assert learner.step(phi[1], c[1], g) == 0.0
    np.testing.assert_allclose(learner.weights, c[1] * a * phi[0], rtol=1e-15)
    np.testing.assert_allclose(learner.step_sizes, [a, a], rtol=1e-15)
    y2 = learner.step(phi[2], c[2], g)
    assert y2 == pytest.approx(c[1] * a * phi[0] @ phi[2], rel=1e-15)
    gl = g * LAM
    z1 = gl * a * phi[0] + a * phi[1] * (1 - gl * a * phi[0] @ phi[1])
    v_delta1 = c[1] * a * phi[0] @ phi[1]
    delta2 = c[2] + g * y2 - 0.0
    w2 = c[1] * a * phi[0] + delta2 * z1 - a * phi[1] * v_delta1
    np.testing.assert_allclose(learner.weights, w2, rtol=1e-14)
    np.testing.assert_allclose(learner.step_sizes, [a, a], rtol=1e-15)
    y3 = learner.step(phi[3], c[3], g)
    assert y3 == pytest.approx(w2 @ phi[3], rel=1e-14)
    v_delta2 = (w2 - c[1] * a * phi[0]) @ phi[2]
    p2 = c[1] * a * phi[0] * phi[2]
    beta3 = math.log(a) + THETA / a * (c[3] + g * y3 - y2 - v_delta2) * p2
    np.testing.assert_allclose(np.log(learner.step_sizes), beta3, rtol=1e-13)
    assert learner.step_sizes[0] != a  # the meta-gradient moved the step size


def test_the_bound_binds_scales_the_trace_and_decays_the_step_sizes():
    """alpha (phi . phi) = 0.4 * 2 > eta = 0.5: the trace increment is scaled by eta / tau and every
    active feature's beta drops by ln(decay) phi_i^2; h and z_bar are zeroed. (A step size above eta
    is clipped to eta first: alpha_init = 0.6 starts at 0.5.)"""
    learner = _learner(alpha=0.4)
    learner.step(np.array([1.0, 1.0]))
    tau = 0.4 * 2
    np.testing.assert_allclose(learner._arrays.z, ETA / tau * 0.4 * np.ones(2), rtol=1e-15)
    np.testing.assert_allclose(learner.step_sizes, 0.4 * DECAY * np.ones(2), rtol=1e-14)
    assert not learner._arrays.z_bar.any() and not learner._arrays.h.any()
    learner.step(np.array([0.0, 2.0]), 1.0, 0.9)  # feature 0 inactive: its step size keeps its value
    assert learner.step_sizes[0] == pytest.approx(0.4 * DECAY, rel=1e-14)
    assert learner.step_sizes[1] == pytest.approx(0.4 * DECAY * DECAY ** 4, rel=1e-12)  # tau = 0.36 * 4 > eta
    clipped = _learner(alpha=0.6)
    clipped.step(np.array([0.1, 0.0]))  # tau = 0.005: no decay
    np.testing.assert_allclose(clipped.step_sizes, [ETA, ETA], rtol=1e-14)


def test_an_episode_end_restarts_the_traces_before_the_new_features_enter():
    """gamma_t = 0: z, p, z_bar are zeroed, so z = alpha_i phi_t afterwards (alpha_i: the step size
    after this step's meta update), as at a stream start; p = h_old phi_t."""
    learner = _learner(alpha=0.05)
    for x in ([1.0, 0.0], [0.3, 0.7], [1.0, 1.0]):
        learner.step(np.array(x), 1.0, 0.9)
    assert learner._arrays.z[0] != pytest.approx(0.05 * 0.2)
    learner.step(np.array([0.2, 0.0]), 0.0, 0.0)
    np.testing.assert_allclose(learner._arrays.z, learner.step_sizes * [0.2, 0.0], rtol=1e-14)
    np.testing.assert_allclose(learner._arrays.z_bar, learner.step_sizes * [0.2, 0.0], rtol=1e-14)
    np.testing.assert_allclose(learner._arrays.p, learner._arrays.h_old * [0.2, 0.0], rtol=1e-14)


def _stream(steps, n, seed=0, episode_ends=True):
    rng = np.random.default_rng(seed)
    obs = (rng.random((steps, n)) < 0.4).astype(np.float64) * rng.random((steps, n))
    cumulant = obs[:, 0] + 0.1 * rng.normal(size=steps)
    gamma = np.where(rng.random(steps) < 0.05, 0.0, 0.9) if episode_ends else np.full(steps, 0.9)
    return obs, cumulant, gamma


def test_per_step_equals_chunked_checkpoints_resume_and_it_learns():
    obs, cumulant, gamma = _stream(3000, 6)
    chunked = SwiftTDLearner(6)
    whole = np.concatenate([chunked.run_chunk(obs[:1000], cumulant[:1000], gamma[:1000]),
                            chunked.run_chunk(obs[1000:], cumulant[1000:], gamma[1000:])])
    stepped = SwiftTDLearner(6)
    np.testing.assert_array_equal(whole, [stepped.step(obs[t], cumulant[t], gamma[t]) for t in range(3000)])
    first = SwiftTDLearner(6)
    first.run_chunk(obs[:1500], cumulant[:1500], gamma[:1500])
    restored = SwiftTDLearner(6)
    restored.set_state(first.get_state())
    np.testing.assert_array_equal(restored.run_chunk(obs[1500:], cumulant[1500:], gamma[1500:]), whole[1500:])
    with pytest.raises(ValueError, match="other hyperparameters"):
        SwiftTDLearner(6, eta=0.2).set_state(first.get_state())
    returns = np.zeros(3000)
    for t in range(2998, -1, -1):
        returns[t] = cumulant[t + 1] + gamma[t + 1] * returns[t + 1]
    tail = slice(2000, 2950)  # within 25% of the best fixed linear predictor, fit in hindsight on the window
    best, *_ = np.linalg.lstsq(obs[tail], returns[tail], rcond=None)
    assert np.mean((whole[tail] - returns[tail]) ** 2) < 1.25 * np.mean((obs[tail] @ best - returns[tail]) ** 2)


def test_a_new_stream_keeps_weights_and_step_sizes_and_forgets_the_traces():
    obs, cumulant, gamma = _stream(200, 3, seed=1)
    learner = SwiftTDLearner(3)
    learner.run_chunk(obs, cumulant, gamma)
    w, steps = learner.weights.copy(), learner.step_sizes
    assert learner.predict(obs[0]) == pytest.approx(w @ obs[0], rel=1e-15)
    np.testing.assert_array_equal(learner.weights, w)
    np.testing.assert_array_equal(learner.step_sizes, steps)


@pytest.mark.parametrize("bad, match", [
    ({"lam": 1.5}, "lam"), ({"alpha_init": 0.0}, "alpha_init"), ({"eta": -1.0}, "eta"), ({"decay": 0.0}, "decay"),
    ({"decay": 1.5}, "decay"), ({"meta_step_size": -1e-3}, "meta_step_size"), ({"eta_min": 1.0}, "eta_min"),
    ({"alpha": 0.1}, "unexpected keyword"),
])
def test_bad_hyperparameters_raise(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        SwiftTDLearner(4, **bad)


# ------------------------------------------------------------------ the package wrapper
def test_the_package_wrapper_equals_ours_on_a_fixed_gamma_stream():
    pytest.importorskip("swifttd")
    obs, cumulant, gamma = _stream(2000, 5, seed=2, episode_ends=False)
    for hp in ({}, {"alpha_init": 0.5}):  # the bound not binding, and binding (float32 in the package)
        ours = SwiftTDLearner(5, **hp).run_chunk(obs, cumulant, gamma)
        package = make_learner("swifttd_package", 5, gamma=0.9, **hp)
        theirs = np.concatenate([package.run_chunk(obs[:700], cumulant[:700], gamma[:700]),
                                 package.run_chunk(obs[700:], cumulant[700:], gamma[700:])])
        np.testing.assert_allclose(theirs, ours, rtol=1e-4, atol=1e-5 * np.abs(ours).max())


def test_the_package_wrapper_refuses_what_the_package_cannot_do():
    pytest.importorskip("swifttd")
    obs, cumulant, gamma = _stream(100, 3, seed=3)
    learner = SwiftTDPackageLearner(3, gamma=0.9)
    with pytest.raises(ValueError, match="fixed gamma=0.9, but this stream's gamma is 0.0 at row"):
        learner.run_chunk(obs, cumulant, gamma)
    learner = SwiftTDPackageLearner(3, gamma=0.9)
    learner.run_chunk(obs[:5], cumulant[:5], np.full(5, 0.9))
    with pytest.raises(RuntimeError, match="cannot restart a stream"):
        learner.predict(obs[0])
    with pytest.raises(RuntimeError, match="no checkpoints"):
        learner.get_state()
    with pytest.raises(ValueError, match="gamma"):
        SwiftTDPackageLearner(3, gamma=1.5)


def test_the_package_wrapper_says_how_to_install_the_package(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_swifttd(name, *args, **kwargs):
        if name == "swifttd":
            raise ImportError("no swifttd")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_swifttd)
    with pytest.raises(RuntimeError, match=r"pip install 'rtrl-bench\[swifttd\]'"):
        SwiftTDPackageLearner(3)


def test_flops_and_registry():
    from rtrlbench.agents import learner_flops

    assert learner_flops.flops_per_step("swifttd", 7) == 33 * 7 + 5
    assert type(make_learner("swifttd", 7, lam=0.5)) is SwiftTDLearner
