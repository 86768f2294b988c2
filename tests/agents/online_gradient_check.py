"""Shared by the exact-gradient tests of the online LRU and the eLSTM: a random stream with episode
resets, and the step-by-step comparison of a learner's online gradient with PyTorch autodiff."""
import numpy as np
import pytest
import torch

#: Steps at which the gradient is compared: around the resets of :func:`random_stream`'s default.
CHECKED_STEPS = (1, 6, 7, 8, 19, 25)


def random_stream(steps, n_inputs, seed, resets=(7, 19)):
    """(obs, cumulant, gamma) with gamma = 0 at step 0 and at the given resets."""
    rng = np.random.default_rng(seed)
    gamma = np.full(steps, 0.9)
    gamma[[0, *resets]] = 0.0
    return rng.normal(size=(steps, n_inputs)), rng.normal(size=steps), gamma


def randomise_weights(learner, seed, scale):
    """Add N(0, scale^2) noise to every parameter (the readout starts at 0, which would make every
    other gradient vanish)."""
    state = learner.get_state()
    state["arrays"]["theta"] += scale * np.random.default_rng(seed).normal(size=state["arrays"]["theta"].shape)
    learner.set_state(state)
    return learner


def assert_online_gradient_matches(learner, stream, params, ys):
    """Step ``learner`` (alpha = 0) through ``stream``; its predictions must equal ``ys`` (torch
    scalars computed from the tensors ``params``) and, at CHECKED_STEPS, every block of its
    ``prediction_gradient()`` must equal autodiff of y_t to a relative error of 1e-6."""
    obs, cumulant, gamma = stream
    for t in range(len(obs)):
        y = learner.step(obs[t], cumulant[t], gamma[t])
        assert y == pytest.approx(ys[t].item(), rel=1e-12, abs=1e-12)
        if t not in CHECKED_STEPS:
            continue
        grads = torch.autograd.grad(ys[t], list(params.values()), retain_graph=True)
        ours = learner.prediction_gradient()
        assert set(ours) == set(params)
        for name, g in zip(params, grads):
            g = g.numpy()
            error = np.abs(ours[name] - g).max() / max(np.abs(g).max(), 1e-300)
            assert error <= 1e-6, (t, name, error)
    assert all(np.abs(v).max() > 0 for v in learner.prediction_gradient().values())  # no block is trivially 0
