"""Populations of column networks: every run bit-identical to its single-run learner (same seed,
hyperparameters and stream), across chunk, stage and episode boundaries; checkpoints; divergence
kept to its run; and the arithmetic exp the gates use."""
import numba as nb
import numpy as np
import pytest

from rtrlbench.agents.ccn import CCNLearner, ColumnarLearner, ConstructiveLearner
from rtrlbench.agents.population_ccn import ColumnNetworkPopulation
from rtrlbench.agents.vector_exp import exp as vector_exp

from population_streams import chunked, synthetic_streams

N_IN = 5
#: Small shapes with short stages, so that a few hundred steps cross every stage boundary.
SHAPES = {
    "columnar": (ColumnarLearner, {"n_features": 3}),
    "constructive": (ConstructiveLearner, {"n_features": 3, "steps_per_stage": 70}),
    "ccn": (CCNLearner, {"n_features": 6, "features_per_stage": 2, "steps_per_stage": 90}),
}
#: Per-run float hyperparameters (five runs, all different).
PER_RUN = [{"alpha": 1e-2, "lam": 0.9, "norm_eps": 0.1, "norm_beta": 0.99, "init_scale": 0.1},
           {"alpha": 3e-3, "lam": 0.99, "norm_eps": 0.01, "norm_beta": 0.999, "init_scale": 0.01},
           {"alpha": 1e-3, "lam": 0.0, "norm_eps": 0.5, "norm_beta": 0.9, "init_scale": 0.3},
           {"alpha": 0.0, "lam": 1.0, "norm_eps": 0.01, "norm_beta": 0.99999, "init_scale": 0.01},
           {"alpha": 2e-2, "lam": 0.5, "norm_eps": 0.001, "norm_beta": 0.95, "init_scale": 0.05}]
SEEDS = [0, 1, 0, 2, 1]  # runs 0 and 2, 1 and 4 read the same stream


def single_run(cls, hp, seed, obs, cumulant, gamma, bounds):
    learner = cls(N_IN, seed=seed, **hp)
    out = [learner.run_chunk(o[0], c[0], g[0]) for o, c, g in chunked(obs[None], cumulant[None], gamma[None], bounds)]
    return learner, np.concatenate([p for p in out])


OPTIONS = [{}, {"optimizer": "sgd"}, {"normalisation_gradient": "exact"},
           {"output_step_size": "released", "norm_floor": "var"}]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "defaults")
@pytest.mark.parametrize("name", SHAPES)
def test_every_run_is_bit_identical_to_its_single_run_learner(name, options):
    """Bit-identical (np.array_equal) predictions and final state, per run, over 300 steps in
    uneven chunks: chunk boundaries, every stage boundary and episode ends (gamma = 0)."""
    cls, shape = SHAPES[name]
    hps = [{**shape, **options, **per_run} for per_run in PER_RUN]
    obs, cumulant, gamma = synthetic_streams(3, 300, N_IN)
    bounds = [0, 1, 2, 89, 90, 91, 181, 250, 300]
    population = ColumnNetworkPopulation.build(cls, N_IN, SEEDS, hps)
    predictions = np.concatenate([population.run_chunk(o, c, g, stream_of=SEEDS)
                                  for o, c, g in chunked(obs, cumulant, gamma, bounds)], axis=1)
    assert predictions.shape == (len(SEEDS), 300)
    for run, (seed, hp) in enumerate(zip(SEEDS, hps)):
        learner, expected = single_run(cls, hp, seed, obs[seed], cumulant[seed], gamma[seed], bounds)
        assert np.array_equal(predictions[run], expected), f"run {run}: max diff {np.abs(predictions[run] - expected).max()}"
        mine = population.learner(run)
        assert mine.stage == learner.stage == learner.n_stages - 1
        for key in ("theta", "out_w", "h", "c", "e_c", "e_o", "v_c", "v_o", "out_mu", "out_var", "packed", "in_mu"):
            assert np.array_equal(getattr(mine._arrays, key), getattr(learner._arrays, key)), (run, key)
    assert not population.diverged.any()


def test_a_run_taken_out_continues_as_its_single_run_learner():
    cls, shape = SHAPES["ccn"]
    hps = [{**shape, **p} for p in PER_RUN[:3]]
    obs, cumulant, gamma = synthetic_streams(3, 200, N_IN)
    population = ColumnNetworkPopulation.build(cls, N_IN, [0, 1, 2], hps)
    population.run_chunk(obs[:, :120], cumulant[:, :120], gamma[:, :120])
    alone = population.learner(1)
    rest = population.run_chunk(obs[:, 120:], cumulant[:, 120:], gamma[:, 120:])
    assert np.array_equal(alone.run_chunk(obs[1, 120:], cumulant[1, 120:], gamma[1, 120:]), rest[1])


def test_checkpoint_restores_exactly():
    cls, shape = SHAPES["ccn"]
    hps = [{**shape, **p} for p in PER_RUN]
    obs, cumulant, gamma = synthetic_streams(5, 240, N_IN)
    population = ColumnNetworkPopulation.build(cls, N_IN, list(range(5)), hps)
    population.run_chunk(obs[:, :100], cumulant[:, :100], gamma[:, :100])
    state = population.get_state()
    expected = population.run_chunk(obs[:, 100:], cumulant[:, 100:], gamma[:, 100:])
    restored = ColumnNetworkPopulation.build(cls, N_IN, list(range(5)), hps)
    restored.set_state(state)
    assert restored.steps_done == 100 and restored.started
    assert np.array_equal(restored.run_chunk(obs[:, 100:], cumulant[:, 100:], gamma[:, 100:]), expected)
    other = ColumnNetworkPopulation.build(cls, N_IN, [9, 1, 2, 3, 4], hps)
    with pytest.raises(ValueError, match="another population"):
        other.set_state(state)


def test_a_diverging_run_is_reported_and_does_not_touch_the_others():
    cls, shape = SHAPES["columnar"]
    hps = [{**shape, "optimizer": "sgd", "alpha": a} for a in (1e-2, 1e9, 1e-3)]
    obs, cumulant, gamma = synthetic_streams(3, 400, N_IN)
    cumulant *= 1e3  # large returns: alpha = 1e9 blows up within a few steps
    population = ColumnNetworkPopulation.build(cls, N_IN, [0, 1, 2], hps)
    predictions = np.concatenate([population.run_chunk(o, c, g) for o, c, g in
                                  chunked(obs, cumulant, gamma, [0, 150, 400])], axis=1)
    assert population.diverged.tolist() == [False, True, False]
    first_bad = int(np.argmax(~np.isfinite(predictions[1])))
    assert population.diverged_at[1] == first_bad and population.diverged_at[0] == -1
    for run in (0, 2):
        _, expected = single_run(cls, hps[run], run, obs[run], cumulant[run], gamma[run], [0, 150, 400])
        assert np.array_equal(predictions[run], expected)


def test_bad_populations_and_chunks_raise_clear_errors():
    with pytest.raises(ValueError, match="share n_features"):
        ColumnNetworkPopulation([ColumnarLearner(N_IN, n_features=3), ColumnarLearner(N_IN, n_features=4)])
    with pytest.raises(ValueError, match="one learner class"):
        ColumnNetworkPopulation([ColumnarLearner(N_IN, n_features=3), CCNLearner(N_IN)])
    with pytest.raises(ValueError, match="at least one"):
        ColumnNetworkPopulation([])
    population = ColumnNetworkPopulation.build(ColumnarLearner, N_IN, [0, 1], [{"n_features": 3}] * 2)
    obs, cumulant, gamma = synthetic_streams(2, 10, N_IN)
    with pytest.raises(ValueError, match="n_streams, T, 5"):
        population.run_chunk(obs[0], cumulant[0], gamma[0])
    with pytest.raises(ValueError, match="stream_of"):
        population.run_chunk(obs, cumulant, gamma, stream_of=[0, 2])
    with pytest.raises(ValueError, match="gamma"):
        population.run_chunk(obs, cumulant, gamma * 2)


@nb.njit
def _exp_all(x, out):
    for i in range(x.shape[0]):
        out[i] = vector_exp(x[i])


def test_arithmetic_exp_is_within_one_ulp_of_libm_and_handles_the_edges():
    x = np.concatenate([np.random.default_rng(0).uniform(-708, 709, 200_000),
                        np.random.default_rng(1).normal(0, 3, 200_000), [0.0, -0.0, 1e-300, -1e-300, 709.0, -708.0]])
    out = np.empty_like(x)
    _exp_all(x, out)
    reference = np.exp(x)
    assert (np.abs(out - reference) <= np.spacing(reference)).all()
    edges = np.array([np.nan, np.inf, -np.inf, 1e4, -1e4, -708.5])
    out = np.empty_like(edges)
    _exp_all(edges, out)
    assert np.isnan(out[0]) and out[1] == np.inf and out[2] == 0.0 and out[3] == np.inf and out[4] == 0.0
    assert out[5] == 0.0  # below -708: 0, never a subnormal
