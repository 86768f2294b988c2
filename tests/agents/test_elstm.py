"""The eLSTM learner: exact RTRL gradient against PyTorch float64 autodiff of the network unrolled
from the stream's start, per-step = chunked, checkpoints, bad input, seeds."""
import numpy as np
import pytest
import torch

from rtrlbench.agents.elstm import ELSTMLearner
from rtrlbench.agents.registry import make_learner
from rtrlbench.envs.trace_patterning import TraceTaskEnv

from online_gradient_check import assert_online_gradient_matches, random_stream, randomise_weights


def torch_predictions(params, obs, output_gate):
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    c = torch.zeros(p["w"].shape[0], dtype=torch.float64)
    ys = []
    for row in obs:
        x = torch.tensor(row, dtype=torch.float64)
        z = torch.tanh(p["Z"] @ x + p["w_z"] * c + p["b_z"])
        f = torch.sigmoid(p["F"] @ x + p["w_f"] * c + p["b_f"])
        c = f * c + (1 - f) * z
        h = torch.sigmoid(p["O_x"] @ x + p["O_c"] @ c + p["b_o"]) * c if output_gate else c
        ys.append(p["w"] @ h + p["b"][0])
    return p, ys


@pytest.mark.parametrize("output_gate", [True, False])
def test_rtrl_gradient_equals_autodiff_of_the_unrolled_network(output_gate):
    n_inputs, steps = 3, 26
    learner = randomise_weights(ELSTMLearner(n_inputs, n_units=4, alpha=0.0, output_gate=output_gate, seed=2), 5, 0.5)
    stream = random_stream(steps, n_inputs, seed=1)
    p, ys = torch_predictions(learner.parameters(), stream[0], output_gate)
    assert_online_gradient_matches(learner, stream, p, ys)


@pytest.mark.parametrize("hp", [{"optimizer": "rmsprop", "alpha": 1e-3}, {"optimizer": "sgd", "alpha": 1e-2,
                                                                           "output_gate": False}])
def test_chunked_and_per_step_predictions_are_identical(hp):
    chunk = TraceTaskEnv().stream(0).next_chunk(1200)
    a = ELSTMLearner(chunk.obs.shape[1], n_units=5, seed=3, **hp)
    b = ELSTMLearner(chunk.obs.shape[1], n_units=5, seed=3, **hp)
    chunked = np.concatenate([a.run_chunk(chunk.obs[:500], chunk.cumulant[:500], chunk.gamma[:500]),
                              a.run_chunk(chunk.obs[500:], chunk.cumulant[500:], chunk.gamma[500:])])
    per_step = [b.step(chunk.obs[t], chunk.cumulant[t], chunk.gamma[t]) for t in range(len(chunk))]
    np.testing.assert_array_equal(chunked, per_step)
    fresh = ELSTMLearner(chunk.obs.shape[1], n_units=5, seed=3, **hp).parameters()
    for name, value in a.parameters().items():
        np.testing.assert_array_equal(value, b.parameters()[name])
        assert not np.array_equal(value, fresh[name]), name


def test_checkpoint_continues_the_run_exactly():
    obs, cumulant, gamma = random_stream(600, 4, seed=3, resets=(100, 350))
    net = ELSTMLearner(4, n_units=5, alpha=1e-3, seed=1)
    net.run_chunk(obs[:300], cumulant[:300], gamma[:300])
    state = net.get_state()
    first = net.run_chunk(obs[300:], cumulant[300:], gamma[300:])
    other = ELSTMLearner(4, n_units=5, alpha=1e-3, seed=99)
    other.set_state(state)
    np.testing.assert_array_equal(other.run_chunk(obs[300:], cumulant[300:], gamma[300:]), first)
    with pytest.raises(ValueError, match="other hyperparameters"):
        ELSTMLearner(4, n_units=6, alpha=1e-3).set_state(state)


def test_same_seed_same_learner_and_the_authors_initialisation():
    obs, cumulant, gamma = random_stream(200, 3, seed=0)
    runs = [make_learner("elstm", 3, seed=s, alpha=1e-3).run_chunk(obs, cumulant, gamma) for s in (4, 4, 5)]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])
    p = ELSTMLearner(5, n_units=300, forget_bias=1.0, seed=0).parameters()
    assert 0.09 < p["Z"].std() < 0.11 and 0.9 < p["b_f"].mean() < 1.1
    assert np.abs(p["O_c"]).max() <= 1 / np.sqrt(305) and not p["w"].any() and not p["b"].any()


@pytest.mark.parametrize("kwargs, message", [
    ({"n_units": 0}, "n_units must be a positive integer"),
    ({"output_gate": "yes"}, "output_gate must be True or False"),
    ({"forget_bias": float("nan")}, "forget_bias must be a finite number"),
    ({"optimizer": "adamw"}, "optimizer must be one of"),
    ({"seed": 1.5}, "seed must be an integer"),
])  # alpha and lam: tests/foundation/test_validation_everywhere.py
def test_bad_hyperparameters_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ELSTMLearner(3, **kwargs)
