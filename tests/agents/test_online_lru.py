"""The online LRU learner: its online gradient against PyTorch float64 autodiff of the network
unrolled from the stream's start (written in real arithmetic, so the kernel's complex
arithmetic is checked against the real form), per-step = chunked, checkpoints, bad input, seeds."""
import numpy as np
import pytest
import torch

from rtrlbench.agents.online_lru import OnlineLRULearner
from rtrlbench.agents.registry import make_learner
from rtrlbench.envs.trace_patterning import TraceTaskEnv

from online_gradient_check import assert_online_gradient_matches, random_stream, randomise_weights


def torch_predictions(params, obs, mixing, gelu, gamma_norm):
    """y_t for every row of ``obs``, the LRU in real form (h = h_re + i h_im kept as two real vectors)."""
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    n_hidden = p["nu_log"].shape[0]
    h_re, h_im = torch.zeros(n_hidden, dtype=torch.float64), torch.zeros(n_hidden, dtype=torch.float64)
    modulus = torch.exp(-torch.exp(p["nu_log"]))
    phase = torch.exp(p["theta_log"])
    lam_re, lam_im = modulus * torch.cos(phase), modulus * torch.sin(phase)
    gam = torch.exp(p["gamma_log"]) if gamma_norm else torch.ones(n_hidden, dtype=torch.float64)
    approximate = "tanh" if gelu == "tanh" else "none"
    ys = []
    for row in obs:
        x = torch.tensor(row, dtype=torch.float64)
        bx_re, bx_im = p["B_re"] @ x, p["B_im"] @ x
        h_re, h_im = lam_re * h_re - lam_im * h_im + gam * bx_re, lam_re * h_im + lam_im * h_re + gam * bx_im
        z = p["C_re"] @ h_re - p["C_im"] @ h_im + p["D"] @ x
        if mixing == "none":
            f = z
        else:
            a = torch.nn.functional.gelu(z, approximate=approximate)
            f = a if mixing == "gelu" else (p["W1"] @ a + p["b1"]) * torch.sigmoid(p["W2"] @ a + p["b2"])
        ys.append(p["w"] @ f + p["b"][0])
    return p, ys


@pytest.mark.parametrize("hp", [
    {"mixing": "full_glu", "gelu": "exact"},
    {"mixing": "full_glu", "gelu": "tanh", "gamma_norm": False},
    {"mixing": "gelu", "gelu": "exact", "r_min": 0.5, "max_phase": 3.14},
    {"mixing": "none", "gelu": "exact"},
])
def test_online_gradient_equals_autodiff_of_the_unrolled_network(hp):
    n_inputs, steps = 3, 26
    learner = randomise_weights(OnlineLRULearner(n_inputs, n_hidden=4, n_model=3, alpha=0.0, seed=2, **hp), 5, 0.3)
    stream = random_stream(steps, n_inputs, seed=1)
    p, ys = torch_predictions(learner.parameters(), stream[0], hp["mixing"], hp["gelu"], hp.get("gamma_norm", True))
    assert_online_gradient_matches(learner, stream, p, ys)


@pytest.mark.parametrize("hp", [{"optimizer": "rmsprop", "alpha": 1e-3}, {"optimizer": "sgd", "alpha": 1e-2,
                                                                           "mixing": "gelu"}])
def test_chunked_and_per_step_predictions_are_identical(hp):
    chunk = TraceTaskEnv().stream(0).next_chunk(1200)
    a = OnlineLRULearner(chunk.obs.shape[1], seed=3, **hp)
    b = OnlineLRULearner(chunk.obs.shape[1], seed=3, **hp)
    chunked = np.concatenate([a.run_chunk(chunk.obs[:500], chunk.cumulant[:500], chunk.gamma[:500]),
                              a.run_chunk(chunk.obs[500:], chunk.cumulant[500:], chunk.gamma[500:])])
    per_step = [b.step(chunk.obs[t], chunk.cumulant[t], chunk.gamma[t]) for t in range(len(chunk))]
    np.testing.assert_array_equal(chunked, per_step)
    for name, value in a.parameters().items():
        np.testing.assert_array_equal(value, b.parameters()[name])
        if name != "gamma_log":
            assert not np.array_equal(value, OnlineLRULearner(chunk.obs.shape[1], seed=3, **hp).parameters()[name]), name


def test_checkpoint_continues_the_run_exactly():
    obs, cumulant, gamma = random_stream(600, 4, seed=3, resets=(100, 350))
    net = OnlineLRULearner(4, n_hidden=5, n_model=3, alpha=1e-3, seed=1)
    net.run_chunk(obs[:300], cumulant[:300], gamma[:300])
    state = net.get_state()
    first = net.run_chunk(obs[300:], cumulant[300:], gamma[300:])
    other = OnlineLRULearner(4, n_hidden=5, n_model=3, alpha=1e-3, seed=99)
    other.set_state(state)
    np.testing.assert_array_equal(other.run_chunk(obs[300:], cumulant[300:], gamma[300:]), first)
    with pytest.raises(ValueError, match="other hyperparameters"):
        OnlineLRULearner(4, n_hidden=6, n_model=3, alpha=1e-3).set_state(state)


def test_same_seed_same_learner_other_seed_other_weights():
    obs, cumulant, gamma = random_stream(200, 3, seed=0)
    runs = [make_learner("lru", 3, seed=s, alpha=1e-3).run_chunk(obs, cumulant, gamma) for s in (4, 4, 5)]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_initialisation_follows_the_authors_scheme():
    net = OnlineLRULearner(5, n_hidden=400, n_model=2, r_min=0.4, r_max=0.9, max_phase=3.0, seed=0)
    p = net.parameters()
    modulus = np.exp(-np.exp(p["nu_log"]))
    assert modulus.min() >= 0.4 and modulus.max() <= 0.9
    assert np.exp(p["theta_log"]).max() <= 3.0
    np.testing.assert_allclose(np.exp(p["gamma_log"]), np.sqrt(1 - modulus**2), rtol=1e-12)
    assert not p["w"].any() and not p["b"].any()
    assert 0.8 < np.std(p["B_re"]) * np.sqrt(2 * 5) < 1.2


@pytest.mark.parametrize("kwargs, message", [
    ({"n_hidden": 0}, "n_hidden must be a positive integer"),
    ({"n_model": 2.5}, "n_model must be a positive integer"),
    ({"mixing": "half_glu"}, "mixing must be one of"),
    ({"gelu": "erf"}, "gelu must be one of"),
    ({"gamma_norm": "yes"}, "gamma_norm must be True or False"),
    ({"r_min": 0.9, "r_max": 0.5}, "r_min must be below r_max"),
    ({"r_max": 1.5}, "r_max must lie in"),
    ({"max_phase": 0}, "max_phase must be a positive"),
    ({"optimizer": "adam"}, "optimizer must be one of"),
    ({"alpha": -1.0}, "alpha"),
    ({"lam": 2.0}, "lam"),
    ({"seed": -1}, "seed"),
])
def test_bad_hyperparameters_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OnlineLRULearner(3, **kwargs)
