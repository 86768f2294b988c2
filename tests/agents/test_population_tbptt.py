"""Populations of T-BPTT learners: every run equal to its single-run learner (same seed,
hyperparameters and stream) across chunk boundaries and episode resets; runs taken out and
checkpoints continue exactly; divergence kept to its run; bad inputs refused.

What "equal" means (see :mod:`rtrlbench.agents.population_tbptt`): the single-run kernel is compiled
with fast-math reassociation, and LLVM reorders two of its sums: a gate's sum over the inputs when a
step's x is dense (more than n // 4 non-zeros) and the sum over the hidden units from d = 4 on
(it vectorises them). The population sums in source order. So on sparse inputs (as trace
patterning's) with d <= 3 the runs are bit-identical (np.array_equal, checked); otherwise the
predictions differ by rounding: checked to 1e-12 relative at every step in float64 (1e-5 in float32,
whose rounding is 6e-8), relative to max(|y|, 1e-3) so that predictions crossing zero are fair.
"""
import numpy as np
import pytest

from rtrlbench.agents.population_registry import population_class, population_pays
from rtrlbench.agents.population_tbptt import TBPTTPopulation
from rtrlbench.agents.tbptt import TBPTTLearner

N_IN = 6
#: Per-run float hyperparameters (five runs, all different).
PER_RUN = [{"alpha": 1e-2, "lam": 0.9, "beta2": 0.9999, "eps": 1e-8},
           {"alpha": 3e-3, "lam": 0.99, "beta2": 0.99, "eps": 1e-6},
           {"alpha": 2e-2, "lam": 0.0, "beta2": 0.999, "eps": 1e-8},
           {"alpha": 0.0, "lam": 1.0, "beta2": 0.9999, "eps": 1e-4},
           {"alpha": 5e-3, "lam": 0.5, "beta2": 0.9, "eps": 1e-8}]
SEEDS = [0, 1, 0, 2, 1]  # runs 0 and 2, 1 and 4 read the same stream
#: Chunk boundaries: chunks of one step, and chunks shorter than the longest truncation.
BOUNDS = [0, 1, 2, 3, 50, 51, 120, 200]
RTOL = {"float64": 1e-12, "float32": 1e-5}


def streams(n_streams: int, steps: int, density: float | None, n_inputs: int = N_IN):
    """obs float32[S, T, n] (each input non-zero with probability ``density``; None: sparse, at most
    one non-zero a step, with probability 1/2), cumulant and gamma float64[S, T] with episode ends
    (gamma = 0) inside."""
    rng = np.random.default_rng(7)
    if density is None:
        obs = np.zeros((n_streams, steps, n_inputs))
        on = rng.random((n_streams, steps)) < 0.5
        obs[on, rng.integers(0, n_inputs, on.sum())] = rng.random(on.sum())
    else:
        obs = ((rng.random((n_streams, steps, n_inputs)) < density) * rng.random((n_streams, steps, n_inputs)))
    cumulant = (rng.random((n_streams, steps)) < 0.1).astype(np.float64)
    gamma = np.where(rng.random((n_streams, steps)) < 0.03, 0.0, 0.9)
    gamma[:, 0] = 0.0
    return obs.astype(np.float32), cumulant, gamma


def chunks(obs, cumulant, gamma, bounds=BOUNDS):
    for start, stop in zip(bounds[:-1], bounds[1:]):
        yield obs[..., start:stop, :], cumulant[..., start:stop], gamma[..., start:stop]


def run_population(population, obs, cumulant, gamma, bounds=BOUNDS):
    return np.concatenate([population.run_chunk(o, c, g, stream_of=SEEDS)
                           for o, c, g in chunks(obs, cumulant, gamma, bounds)], axis=1)


def run_single(hp, seed, obs, cumulant, gamma, bounds=BOUNDS, n_inputs=N_IN):
    learner = TBPTTLearner(n_inputs, seed=seed, **hp)
    out = np.concatenate([learner.run_chunk(o, c, g) for o, c, g in chunks(obs, cumulant, gamma, bounds)])
    return learner, out


def assert_close(mine, expected, dtype, run):
    scale = np.maximum(np.abs(expected), 1e-3)
    worst = float(np.max(np.abs(mine - expected) / scale))
    assert worst <= RTOL[dtype], f"run {run}: relative difference {worst:.2e}"


def check_every_run(hps, density, exact, n_inputs=N_IN, steps=BOUNDS[-1]):
    obs, cumulant, gamma = streams(3, steps, density, n_inputs)
    bounds = [b for b in BOUNDS if b < steps] + [steps]
    population = TBPTTPopulation.build(TBPTTLearner, n_inputs, SEEDS, hps)
    predictions = run_population(population, obs, cumulant, gamma, bounds)
    assert predictions.shape == (len(SEEDS), steps) and population.steps_done == steps
    for run, (seed, hp) in enumerate(zip(SEEDS, hps)):
        learner, expected = run_single(hp, seed, obs[seed], cumulant[seed], gamma[seed], bounds, n_inputs)
        if exact:
            assert np.array_equal(predictions[run], expected), f"run {run}"
            mine = population.learner(run)
            for key in ("theta", "trace", "v", "hist_h", "hist_c", "hist_x", "hist_nz", "clock", "last_y"):
                assert np.array_equal(getattr(mine, key), getattr(learner, key)), (run, key)
        else:
            assert_close(predictions[run], expected, hp.get("dtype", "float64"), run)
    assert not population.diverged.any()


SHAPES = [{"truncation": 1, "n_hidden": 2}, {"truncation": 4, "n_hidden": 3}, {"truncation": 40, "n_hidden": 2}]


@pytest.mark.parametrize("optimizer", ["rmsprop", "sgd", "obgd"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"k{s['truncation']}d{s['n_hidden']}")
def test_every_run_equals_its_single_run_learner_on_sparse_inputs(shape, optimizer):
    """Sparse inputs (at most one non-zero a step) and d <= 3, over chunks of 1 step, chunks
    shorter than the truncation (k = 40), k = 1, and episode ends; runs 0 and 2, 1 and 4 share
    their streams. SGD and ObGD: every run's predictions and state bit-identical to its single-run
    learner's. RMSProp: within RTOL (the single run's loop over the parameters has delta loop-
    invariant, and LLVM reassociates ``(1 - beta2) (delta e)^2`` there; the population's delta is
    per run, so the roundings of v differ once v is small, e.g. with beta2 = 0.9)."""
    exact = optimizer != "rmsprop"
    check_every_run([{**shape, "optimizer": optimizer, **per_run} for per_run in PER_RUN], None, exact=exact)


def test_float32_is_bit_identical_on_sparse_inputs():
    hps = [{"truncation": 5, "n_hidden": 2, "dtype": "float32", "optimizer": "sgd", **per_run} for per_run in PER_RUN]
    check_every_run(hps, None, exact=True)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", ["rmsprop", "sgd", "obgd"])
def test_dense_inputs_within_rounding(optimizer, dtype):
    """Dense inputs (the single run's gate sums reordered by LLVM): within RTOL at every step."""
    hps = [{"truncation": 7, "n_hidden": 2, "optimizer": optimizer, "dtype": dtype, **per_run} for per_run in PER_RUN]
    check_every_run(hps, density=0.6, exact=False)


def test_wider_hidden_layer_within_rounding():
    """d = 5: the single run vectorises its sums over the hidden units: within RTOL at every step."""
    hps = [{"truncation": 3, "n_hidden": 5, **per_run} for per_run in PER_RUN]
    check_every_run(hps, density=0.3, exact=False)


def test_a_run_taken_out_continues_as_the_population_does():
    """Bit for bit (SGD on sparse inputs, where the two kernels' sums agree)."""
    hps = [{"truncation": 6, "n_hidden": 2, "optimizer": "sgd", **per_run} for per_run in PER_RUN]
    obs, cumulant, gamma = streams(3, 160, None)
    population = TBPTTPopulation.build(TBPTTLearner, N_IN, SEEDS, hps)
    population.run_chunk(obs[:, :100], cumulant[:, :100], gamma[:, :100], stream_of=SEEDS)
    taken = [population.learner(run) for run in range(len(SEEDS))]
    assert all(t.steps_done == 100 and t.started for t in taken)
    rest = population.run_chunk(obs[:, 100:], cumulant[:, 100:], gamma[:, 100:], stream_of=SEEDS)
    for run, (seed, learner) in enumerate(zip(SEEDS, taken)):
        assert np.array_equal(learner.run_chunk(obs[seed, 100:], cumulant[seed, 100:], gamma[seed, 100:]), rest[run])


def test_checkpoints_restore_exactly():
    hps = [{"truncation": 9, "n_hidden": 3, "optimizer": "obgd", **per_run} for per_run in PER_RUN]
    obs, cumulant, gamma = streams(3, 130, 0.3)
    population = TBPTTPopulation.build(TBPTTLearner, N_IN, SEEDS, hps)
    population.run_chunk(obs[:, :80], cumulant[:, :80], gamma[:, :80], stream_of=SEEDS)
    state = population.get_state()
    expected = population.run_chunk(obs[:, 80:], cumulant[:, 80:], gamma[:, 80:], stream_of=SEEDS)
    restored = TBPTTPopulation.build(TBPTTLearner, N_IN, SEEDS, hps)
    restored.set_state(state)
    assert restored.steps_done == 80 and restored.started
    assert np.array_equal(restored.run_chunk(obs[:, 80:], cumulant[:, 80:], gamma[:, 80:], stream_of=SEEDS), expected)


def test_a_diverging_run_is_reported_and_leaves_the_others_alone():
    hps = [{"truncation": 4, "n_hidden": 2, "optimizer": "sgd", **per_run} for per_run in PER_RUN]
    hps[1] = {**hps[1], "alpha": 1e6}
    obs, cumulant, gamma = streams(3, 200, 0.3)
    population = TBPTTPopulation.build(TBPTTLearner, N_IN, SEEDS, hps)
    predictions = run_population(population, obs, cumulant, gamma)
    assert population.diverged.tolist() == [False, True, False, False, False]
    first_bad = int(np.argmax(~np.isfinite(predictions[1])))
    assert population.diverged_at[1] == first_bad > 0
    for run in (0, 2, 3, 4):
        seed = SEEDS[run]
        _, expected = run_single(hps[run], seed, obs[seed], cumulant[seed], gamma[seed])
        assert_close(predictions[run], expected, "float64", run)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="must share truncation"):
        TBPTTPopulation([TBPTTLearner(N_IN, truncation=3), TBPTTLearner(N_IN, truncation=4)])
    with pytest.raises(ValueError, match="must share dtype"):
        TBPTTPopulation([TBPTTLearner(N_IN), TBPTTLearner(N_IN, dtype="float32")])
    with pytest.raises(ValueError, match="one learner class and input size"):
        TBPTTPopulation([TBPTTLearner(N_IN), TBPTTLearner(N_IN + 1)])
    with pytest.raises(ValueError, match="gradient fidelity"):
        TBPTTPopulation([TBPTTLearner(N_IN, fidelity_every=10), TBPTTLearner(N_IN, fidelity_every=10)])
    population = TBPTTPopulation([TBPTTLearner(N_IN, seed=s, n_hidden=2, truncation=3) for s in range(2)])
    with pytest.raises(ValueError, match="obs must have shape"):
        population.run_chunk(np.zeros((2, 5, N_IN + 1)), np.zeros((2, 5)), np.zeros((2, 5)))
    with pytest.raises(ValueError, match="stream_of"):
        population.run_chunk(np.zeros((1, 5, N_IN)), np.zeros((1, 5)), np.zeros((1, 5)))


def test_registered_as_the_tbptt_population():
    assert population_class("tbptt") is TBPTTPopulation
    assert population_pays("tbptt", 12) and not population_pays("tbptt", 275)


def test_wide_inputs_follow_the_fused_rmsprop_order():
    """More than 256 inputs: the single run's RMSProp pass makes W's gradient row by row in its own
    order (two terms, two more, then the rest); within RTOL, windows of 1 to 6 steps."""
    wide = 260
    hps = [{"truncation": 6, "n_hidden": 1, **per_run} for per_run in PER_RUN[:2]]
    obs, cumulant, gamma = streams(2, 40, 0.5, wide)
    population = TBPTTPopulation.build(TBPTTLearner, wide, [0, 1], hps)
    predictions = np.concatenate([population.run_chunk(o, c, g) for o, c, g in chunks(obs, cumulant, gamma,
                                                                                      [0, 1, 3, 40])], axis=1)
    for run, hp in enumerate(hps):
        _, expected = run_single(hp, run, obs[run], cumulant[run], gamma[run], [0, 1, 3, 40], wide)
        assert_close(predictions[run], expected, "float64", run)
