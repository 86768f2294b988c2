"""Populations of Williams-Zipser networks: every run bit-identical to its single-run RTRL learner
(same seed, hyperparameters and stream) across chunk boundaries and episode ends, for every
activation, readout and optimiser, and teacher forcing; RTRL's own errors. What every population
must do (checkpoints, divergence, errors): test_population_conformance.py."""
import numpy as np
import pytest

from rtrlbench.agents.population_registry import population_class, population_pays
from rtrlbench.agents.population_rtrl import RTRLPopulation
from rtrlbench.agents.rtrl import RTRL

from population_streams import assert_population_matches_single_runs, synthetic_streams
from population_streams import population_run as run_population, single_run as run_single

N_IN = 4
#: Per-run float hyperparameters (five runs, all different; alpha = 0 freezes a run).
PER_RUN = [{"alpha": 1e-2, "lam": 0.9, "init_scale": 0.1},
           {"alpha": 3e-3, "lam": 0.99, "init_scale": 0.5},
           {"alpha": 3e-2, "lam": 0.0, "init_scale": 0.3},
           {"alpha": 0.0, "lam": 1.0, "init_scale": 0.01},
           {"alpha": 1e-1, "lam": 0.5, "init_scale": 1.0}]
SEEDS = [0, 1, 0, 2, 1]  # runs 0 and 2, 1 and 4 read the same stream
BOUNDS = [0, 1, 2, 57, 58, 140, 199, 200]


STREAMS = {"p_cumulant": 0.2, "p_end": 0.03, "discount": 0.8, "seed": 7}


def streams(n_streams, steps, dtype=np.float32):
    return synthetic_streams(n_streams, steps, N_IN, dtype=dtype, **STREAMS)


def single_run(hp, seed, obs, cumulant, gamma, bounds):
    return run_single(RTRL, N_IN, hp, seed, obs, cumulant, gamma, bounds)


def population_run(hps, seeds, obs, cumulant, gamma, bounds):
    return run_population(RTRLPopulation, RTRL, N_IN, hps, seeds, obs, cumulant, gamma, bounds)


SHAPES = [{"n_units": 1}, {"n_units": 3, "activation": "tanh", "readout": "linear"},
          {"n_units": 5, "readout": "linear", "optimizer": "rmsprop"},
          {"n_units": 6, "activation": "tanh", "readout": "linear", "optimizer": "obgd", "bias": False},
          {"n_units": 4, "optimizer": "obgd"}]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_every_run_is_bit_identical_to_its_single_run_learner(shape):
    """np.array_equal predictions and final state per run over 200 steps in uneven chunks (one-step
    chunks, episode ends); 5 and 6 units cover the sensitivity sum's groups of four and its rest."""
    hps = [{**shape, **per_run} for per_run in PER_RUN]
    assert_population_matches_single_runs(RTRLPopulation, RTRL, N_IN, hps, SEEDS, BOUNDS, **STREAMS)


def test_teacher_forcing_on_a_supervised_stream_is_bit_identical():
    hps = [{"n_units": 3, "teacher_forcing": True, **per_run} for per_run in PER_RUN[:3]]
    obs, cumulant, gamma = streams(3, 120, dtype=np.float64)
    gamma[:] = 0.0
    population, predictions = population_run(hps, [0, 1, 2], obs, cumulant, gamma, [0, 50, 120])
    for run in range(3):
        _, expected = single_run(hps[run], run, obs[run], cumulant[run], gamma[run], [0, 50, 120])
        assert np.array_equal(predictions[run], expected)
    with pytest.raises(ValueError, match="teacher forcing"):
        population.run_chunk(obs, cumulant, gamma + 0.5)


def test_rtrl_options_a_population_cannot_hold_raise_clear_errors():
    with pytest.raises(ValueError, match="share readout"):
        RTRLPopulation([RTRL(N_IN), RTRL(N_IN, readout="linear")])
    with pytest.raises(ValueError, match="epoch_length"):
        RTRLPopulation([RTRL(N_IN, epoch_length=10)])


def test_the_registry_knows_the_rtrl_population():
    assert population_class("rtrl") is RTRLPopulation
    assert not population_pays("rtrl", 12)  # slower than single runs (speed_population): sweeps run them alone
