"""What every registered population learner must do, whatever its network (one test over all of
:data:`rtrlbench.agents.population_registry.POPULATIONS`, as Gymnasium checks every env): a run
taken out continues as its single-run learner, checkpoints restore exactly and refuse another
population, a diverging run is reported and leaves the others bit-identical to their single
runs, and bad populations and chunks raise errors that name the problem. Bit-identity over each
learner's options is in its own test file."""
import numpy as np
import pytest

from rtrlbench.agents.population_registry import POPULATIONS, population_class
from rtrlbench.agents.registry import learner_class

from population_streams import population_run, single_run, synthetic_streams

N_IN = 5
#: learner -> (a small shape with short stages, a hyperparameter that differs within the shape keys).
SHAPES = {
    "columnar": ({"n_features": 3, "optimizer": "sgd"}, {"n_features": 4}),
    "constructive": ({"n_features": 3, "steps_per_stage": 60, "optimizer": "sgd"}, {"n_features": 2}),
    "ccn": ({"n_features": 4, "features_per_stage": 2, "steps_per_stage": 70, "optimizer": "sgd"}, {"n_features": 6}),
    "rtrl": ({"n_units": 3, "readout": "linear", "optimizer": "sgd"}, {"n_units": 4}),
    "elstm": ({"n_units": 3, "optimizer": "sgd"}, {"n_units": 2}),
    "lru": ({"n_hidden": 3, "n_model": 2, "optimizer": "sgd"}, {"n_hidden": 2}),
    "tbptt": ({"n_hidden": 3, "truncation": 4, "optimizer": "sgd"}, {"truncation": 5}),
}
#: Populations equal to their single runs to rounding only (their single-run kernel is compiled with
#: fast-math reassociation; test_population_tbptt.py says where and why): 1e-12 relative at every step.
TO_ROUNDING = {"tbptt"}


def assert_same_predictions(name, predictions, expected):
    """Bit-identical, or for TO_ROUNDING within 1e-12 of max(|y|, 1e-3) at every step."""
    if name in TO_ROUNDING:
        assert (np.abs(predictions - expected) <= 1e-12 * np.maximum(np.abs(expected), 1e-3)).all()
    else:
        assert np.array_equal(predictions, expected)
ALPHAS = (1e-2, 3e-3, 1e-3)


def test_every_registered_population_is_covered():
    assert set(SHAPES) == set(POPULATIONS)


def _population(name, alphas, seeds):
    shape = SHAPES[name][0]
    cls = learner_class(name)
    return population_class(name), cls, [{**shape, "alpha": a} for a in alphas], list(seeds)


@pytest.mark.parametrize("name", SHAPES)
def test_a_run_taken_out_continues_as_its_single_run_learner(name):
    population_cls, cls, hps, seeds = _population(name, ALPHAS, range(3))
    obs, cumulant, gamma = synthetic_streams(3, 200, N_IN)
    population = population_cls.build(cls, N_IN, seeds, hps)
    population.run_chunk(obs[:, :110], cumulant[:, :110], gamma[:, :110])
    alone = population.learner(1)
    rest = population.run_chunk(obs[:, 110:], cumulant[:, 110:], gamma[:, 110:])
    assert_same_predictions(name, alone.run_chunk(obs[1, 110:], cumulant[1, 110:], gamma[1, 110:]), rest[1])


@pytest.mark.parametrize("name", SHAPES)
def test_checkpoint_restores_exactly(name):
    population_cls, cls, hps, seeds = _population(name, ALPHAS + (3e-2, 0.0), range(5))
    obs, cumulant, gamma = synthetic_streams(5, 200, N_IN)
    population = population_cls.build(cls, N_IN, seeds, hps)
    population.run_chunk(obs[:, :90], cumulant[:, :90], gamma[:, :90])
    state = population.get_state()
    expected = population.run_chunk(obs[:, 90:], cumulant[:, 90:], gamma[:, 90:])
    restored = population_cls.build(cls, N_IN, seeds, hps)
    restored.set_state(state)
    assert restored.steps_done == 90 and restored.started
    assert np.array_equal(restored.run_chunk(obs[:, 90:], cumulant[:, 90:], gamma[:, 90:]), expected)
    assert restored.steps_done == 200
    other = population_cls.build(cls, N_IN, [9, 1, 2, 3, 4], hps)
    with pytest.raises(ValueError, match="another population"):
        other.set_state(state)


@pytest.mark.parametrize("name", SHAPES)
def test_a_diverging_run_is_reported_and_does_not_touch_the_others(name):
    population_cls, cls, hps, seeds = _population(name, (1e-5, 1e9, 1e-6), range(3))
    obs, cumulant, gamma = synthetic_streams(3, 300, N_IN)
    cumulant *= 1e3  # large returns: alpha = 1e9 blows up within a few steps
    bounds = [0, 100, 300]
    population, predictions = population_run(population_cls, cls, N_IN, hps, seeds, obs, cumulant, gamma, bounds)
    assert population.diverged.tolist() == [False, True, False]
    assert population.diverged_at[1] == int(np.argmax(~np.isfinite(predictions[1])))
    assert population.diverged_at[0] == population.diverged_at[2] == -1
    for run in (0, 2):
        _, expected = single_run(cls, N_IN, hps[run], run, obs[run], cumulant[run], gamma[run], bounds)
        assert_same_predictions(name, predictions[run], expected)


@pytest.mark.parametrize("name", SHAPES)
def test_bad_populations_and_chunks_raise_clear_errors(name):
    population_cls, cls, hps, _ = _population(name, ALPHAS[:2], range(2))
    shape, other_shape = SHAPES[name]
    key = next(iter(other_shape))
    with pytest.raises(ValueError, match=f"share {key}"):
        population_cls([cls(N_IN, **shape), cls(N_IN, **{**shape, **other_shape})])
    with pytest.raises(ValueError, match="at least one"):
        population_cls([])
    with pytest.raises(ValueError, match="one learner class and input size"):
        population_cls([cls(N_IN, **shape), cls(N_IN + 1, **shape)])
    with pytest.raises(ValueError, match="1 seeds for 2 hyperparameter sets"):
        population_cls.build(cls, N_IN, [0], hps)
    population = population_cls.build(cls, N_IN, [0, 1], hps)
    obs, cumulant, gamma = synthetic_streams(2, 10, N_IN)
    with pytest.raises(ValueError, match=f"n_streams, T, {N_IN}"):
        population.run_chunk(obs[0], cumulant[0], gamma[0])
    with pytest.raises(ValueError, match="stream_of"):
        population.run_chunk(obs, cumulant, gamma, stream_of=[0, 2])
    with pytest.raises(ValueError, match="gamma"):
        population.run_chunk(obs, cumulant, gamma * 2)
    bad = obs.copy()
    bad[1, 3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        population.run_chunk(bad, cumulant, gamma)
    assert population.steps_done == 0 and not population.started  # nothing ran
