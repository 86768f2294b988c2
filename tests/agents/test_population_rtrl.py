"""Populations of Williams-Zipser networks: every run bit-identical to its single-run RTRL learner
(same seed, hyperparameters and stream) across chunk boundaries and episode ends, for every
activation, readout and optimiser; a run taken out continues exactly; checkpoints; divergence
kept to its run; clear errors."""
import numpy as np
import pytest

from rtrlbench.agents.population_registry import population_class, population_pays
from rtrlbench.agents.population_rtrl import RTRLPopulation
from rtrlbench.agents.rtrl import RTRL

from population_streams import chunked, synthetic_streams

N_IN = 4
#: Per-run float hyperparameters (five runs, all different; alpha = 0 freezes a run).
PER_RUN = [{"alpha": 1e-2, "lam": 0.9, "init_scale": 0.1},
           {"alpha": 3e-3, "lam": 0.99, "init_scale": 0.5},
           {"alpha": 3e-2, "lam": 0.0, "init_scale": 0.3},
           {"alpha": 0.0, "lam": 1.0, "init_scale": 0.01},
           {"alpha": 1e-1, "lam": 0.5, "init_scale": 1.0}]
SEEDS = [0, 1, 0, 2, 1]  # runs 0 and 2, 1 and 4 read the same stream
BOUNDS = [0, 1, 2, 57, 58, 140, 199, 200]


def streams(n_streams, steps, dtype=np.float32):
    return synthetic_streams(n_streams, steps, N_IN, p_cumulant=0.2, p_end=0.03, discount=0.8, seed=7, dtype=dtype)


def single_run(hp, seed, obs, cumulant, gamma, bounds):
    learner = RTRL(N_IN, seed=seed, **hp)
    return learner, np.concatenate([learner.run_chunk(o, c, g) for o, c, g in chunked(obs, cumulant, gamma, bounds)])


def population_run(hps, seeds, obs, cumulant, gamma, bounds):
    population = RTRLPopulation.build(RTRL, N_IN, seeds, hps)
    predictions = np.concatenate([population.run_chunk(o, c, g, stream_of=seeds)
                                  for o, c, g in chunked(obs, cumulant, gamma, bounds)], axis=1)
    return population, predictions


SHAPES = [{"n_units": 1}, {"n_units": 3, "activation": "tanh", "readout": "linear"},
          {"n_units": 5, "readout": "linear", "optimizer": "rmsprop"},
          {"n_units": 6, "activation": "tanh", "readout": "linear", "optimizer": "obgd", "bias": False},
          {"n_units": 4, "optimizer": "obgd"}]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_every_run_is_bit_identical_to_its_single_run_learner(shape):
    """np.array_equal predictions and final state per run over 200 steps in uneven chunks (one-step
    chunks, episode ends); 5 and 6 units cover the sensitivity sum's groups of four and its rest."""
    hps = [{**shape, **per_run} for per_run in PER_RUN]
    obs, cumulant, gamma = streams(3, 200)
    population, predictions = population_run(hps, SEEDS, obs, cumulant, gamma, BOUNDS)
    assert predictions.shape == (len(SEEDS), 200) and population.steps_done == 200
    for run, (seed, hp) in enumerate(zip(SEEDS, hps)):
        learner, expected = single_run(hp, seed, obs[seed], cumulant[seed], gamma[seed], BOUNDS)
        assert np.array_equal(predictions[run], expected), f"run {run}: max diff {np.abs(predictions[run] - expected).max()}"
        mine = population.learner(run)
        for key in RTRL._STATE:
            assert np.array_equal(getattr(mine, key), getattr(learner, key)), (run, key)
    assert not population.diverged.any()
    assert np.isfinite(predictions).all() and predictions.std() > 0  # the test learns something


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


def test_a_run_taken_out_continues_as_its_single_run_learner():
    hps = [{"n_units": 3, "readout": "linear", **p} for p in PER_RUN[:3]]
    obs, cumulant, gamma = streams(3, 160)
    population = RTRLPopulation.build(RTRL, N_IN, [0, 1, 2], hps)
    population.run_chunk(obs[:, :90], cumulant[:, :90], gamma[:, :90])
    alone = population.learner(1)
    rest = population.run_chunk(obs[:, 90:], cumulant[:, 90:], gamma[:, 90:])
    assert np.array_equal(alone.run_chunk(obs[1, 90:], cumulant[1, 90:], gamma[1, 90:]), rest[1])


def test_checkpoint_restores_exactly():
    hps = [{"n_units": 3, "optimizer": "rmsprop", "readout": "linear", **p} for p in PER_RUN]
    obs, cumulant, gamma = streams(5, 150)
    population = RTRLPopulation.build(RTRL, N_IN, list(range(5)), hps)
    population.run_chunk(obs[:, :70], cumulant[:, :70], gamma[:, :70])
    state = population.get_state()
    expected = population.run_chunk(obs[:, 70:], cumulant[:, 70:], gamma[:, 70:])
    restored = RTRLPopulation.build(RTRL, N_IN, list(range(5)), hps)
    restored.set_state(state)
    assert restored.steps_done == 70 and restored.started
    assert np.array_equal(restored.run_chunk(obs[:, 70:], cumulant[:, 70:], gamma[:, 70:]), expected)
    assert restored.steps_done == 150
    other = RTRLPopulation.build(RTRL, N_IN, [9, 1, 2, 3, 4], hps)
    with pytest.raises(ValueError, match="another population"):
        other.set_state(state)


def test_a_diverging_run_is_reported_and_does_not_touch_the_others():
    hps = [{"n_units": 3, "readout": "linear", "alpha": a} for a in (1e-2, 1e9, 1e-3)]
    obs, cumulant, gamma = streams(3, 300)
    cumulant *= 1e3  # large returns: alpha = 1e9 blows up within a few steps
    population, predictions = population_run(hps, [0, 1, 2], obs, cumulant, gamma, [0, 100, 300])
    assert population.diverged.tolist() == [False, True, False]
    assert population.diverged_at[1] == int(np.argmax(~np.isfinite(predictions[1])))
    assert population.diverged_at[0] == population.diverged_at[2] == -1
    for run in (0, 2):
        _, expected = single_run(hps[run], run, obs[run], cumulant[run], gamma[run], [0, 100, 300])
        assert np.array_equal(predictions[run], expected)


def test_bad_populations_and_chunks_raise_clear_errors():
    with pytest.raises(ValueError, match="share n_units"):
        RTRLPopulation([RTRL(N_IN, n_units=3), RTRL(N_IN, n_units=4)])
    with pytest.raises(ValueError, match="share readout"):
        RTRLPopulation([RTRL(N_IN), RTRL(N_IN, readout="linear")])
    with pytest.raises(ValueError, match="epoch_length"):
        RTRLPopulation([RTRL(N_IN, epoch_length=10)])
    population = RTRLPopulation.build(RTRL, N_IN, [0, 1], [{}] * 2)
    obs, cumulant, gamma = streams(2, 10)
    with pytest.raises(ValueError, match=f"n_streams, T, {N_IN}"):
        population.run_chunk(obs[0], cumulant[0], gamma[0])
    with pytest.raises(ValueError, match="stream_of"):
        population.run_chunk(obs, cumulant, gamma, stream_of=[0, 2])


def test_the_registry_knows_the_rtrl_population():
    assert population_class("rtrl") is RTRLPopulation
    assert not population_pays("rtrl", 12)  # slower than single runs (speed_population): sweeps run them alone
