"""The rtrl learner: stream API contract, checkpoints, bad input, and tiny seeded reproductions."""
from dataclasses import replace

import numpy as np
import pytest

from rtrlbench.agents.registry import make_learner
from rtrlbench.agents.rtrl import RTRL
from rtrlbench.benchmarks.reproductions.wz_reproduction import TASKS, train_to_criterion
from rtrlbench.envs.trace_patterning import TraceTaskEnv
from rtrlbench.envs.wz_oscillation import OscillationEnv
from rtrlbench.envs.wz_pipelined_xor import PipelinedXOREnv


def trace_chunk(steps=3000, seed=0):
    return TraceTaskEnv().stream(seed).next_chunk(steps)


@pytest.mark.parametrize("hp", [
    {"readout": "unit", "lam": 0.0},
    {"readout": "linear", "lam": 0.9},
    {"readout": "linear", "lam": 0.5, "optimizer": "rmsprop", "activation": "tanh"},
])
def test_chunked_and_per_step_predictions_are_identical(hp):
    chunk = trace_chunk(1500)
    a = make_learner("rtrl", chunk.obs.shape[1], seed=3, n_units=4, alpha=0.05, **hp)
    b = make_learner("rtrl", chunk.obs.shape[1], seed=3, n_units=4, alpha=0.05, **hp)
    chunked = np.concatenate([a.run_chunk(chunk.obs[:700], chunk.cumulant[:700], chunk.gamma[:700]),
                              a.run_chunk(chunk.obs[700:], chunk.cumulant[700:], chunk.gamma[700:])])
    per_step = [b.step(chunk.obs[t], chunk.cumulant[t], chunk.gamma[t]) for t in range(len(chunk))]
    np.testing.assert_array_equal(chunked, per_step)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert not np.array_equal(a.weights, RTRL(chunk.obs.shape[1], n_units=4, seed=3).weights)  # it learned


def test_checkpoint_continues_the_run_exactly():
    chunk = trace_chunk(2000)
    net = RTRL(chunk.obs.shape[1], n_units=3, alpha=0.05, lam=0.8, readout="linear", seed=1)
    net.run_chunk(chunk.obs[:1000], chunk.cumulant[:1000], chunk.gamma[:1000])
    state = net.get_state()
    first = net.run_chunk(chunk.obs[1000:], chunk.cumulant[1000:], chunk.gamma[1000:])
    other = RTRL(chunk.obs.shape[1], n_units=3, alpha=0.05, lam=0.8, readout="linear", seed=99)
    other.set_state(state)
    np.testing.assert_array_equal(other.run_chunk(chunk.obs[1000:], chunk.cumulant[1000:], chunk.gamma[1000:]),
                                  first)


def test_hyperparameters_rebuild_the_same_learner():
    net = make_learner("rtrl", 2, seed=4, n_units=5, alpha=0.3, activation="tanh", epoch_length=10)
    again = RTRL(2, **net.hyperparameters())
    np.testing.assert_array_equal(again.weights, net.weights)
    assert net.weights.shape == (5, 1 + 2 + 5) and net.sensitivities.shape == (5, 5, 8)


def test_frozen_run_changes_no_weight_and_restarts_the_sensitivities():
    rows = PipelinedXOREnv().stream(0).next_supervised_chunk(200)
    net = RTRL(2, n_units=3, alpha=1.0, seed=0)
    net.train_supervised(rows.inputs[:100], rows.targets[:100], rows.mask[:100])
    w = net.weights.copy()
    net.train_supervised(rows.inputs[100:], rows.targets[100:], rows.mask[100:], learn=False)
    np.testing.assert_array_equal(net.weights, w)
    assert not net.sensitivities.any()


@pytest.mark.parametrize("kwargs, message", [
    ({"n_units": 0}, "n_units"),
    ({"activation": "relu"}, "activation"),
    ({"readout": "softmax"}, "readout"),
    ({"teacher_forcing": True, "readout": "linear"}, "readout='unit'"),
    ({"epoch_length": 0}, "epoch_length"),
    ({"lam": 1.5}, "lam"),
    ({"alpha": -1.0}, "alpha"),
])
def test_bad_hyperparameters_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RTRL(2, **kwargs)


def test_bad_supervised_input_is_rejected():
    net = RTRL(2, n_units=2)
    x = np.zeros((5, 2))
    with pytest.raises(ValueError, match="inputs"):
        net.train_supervised(np.zeros((5, 3)), np.zeros((5, 1)))
    with pytest.raises(ValueError, match="n_units"):
        net.train_supervised(x, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="mask"):
        net.train_supervised(x, np.zeros((5, 1)), np.ones((5, 2), dtype=bool))
    with pytest.raises(ValueError, match="NaN"):
        net.train_supervised(x, np.full((5, 1), np.nan))


def test_teacher_forcing_needs_a_supervised_stream():
    chunk = trace_chunk(100)
    net = RTRL(chunk.obs.shape[1], teacher_forcing=True)
    with pytest.raises(ValueError, match="gamma = 0"):
        net.run_chunk(chunk.obs, chunk.cumulant, chunk.gamma)


def test_pipelined_xor_delay_2_is_learned_by_3_units_in_most_seeds():
    task = replace(TASKS["xor2"], n_units=3, alpha=3.0, max_steps=20_000)
    runs = [train_to_criterion(task, seed) for seed in range(5)]
    assert sum(r["success"] for r in runs) >= 4
    assert all(r["final_mse"] < 0.02 for r in runs if r["success"])


def test_sequence_recognition_is_learned_by_2_units_in_most_seeds():
    task = replace(TASKS["seqrec"], n_units=2, alpha=3.0, max_steps=20_000)
    runs = [train_to_criterion(task, seed) for seed in range(5)]
    assert sum(r["success"] for r in runs) >= 4


def test_oscillation_is_learned_with_teacher_forcing_and_not_without():
    forced = train_to_criterion(replace(TASKS["osc01-tf"], alpha=3.0), seed=0)
    free = train_to_criterion(replace(TASKS["osc01"], alpha=3.0), seed=0)
    assert forced["success"] and forced["final_mse"] < 0.01
    assert not free["success"] and free["final_mse"] > 0.1


def test_td_learning_on_a_gamma_zero_stream_predicts_the_next_target():
    stream = OscillationEnv("alternating").stream(0)
    net = RTRL(1, n_units=1, alpha=3.0, teacher_forcing=True, bias=False, seed=0)
    chunk = stream.next_chunk(5000)
    predictions = net.run_chunk(chunk.obs, chunk.cumulant, chunk.gamma)
    np.testing.assert_array_less(np.abs(predictions[-100:-1] - chunk.cumulant[-99:]), 0.1)
