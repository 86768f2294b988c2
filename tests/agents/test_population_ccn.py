"""Populations of column networks: every run bit-identical to its single-run learner (same seed,
hyperparameters and stream) for every option, across chunk, stage and episode boundaries; and the
arithmetic exp the gates use. What every population must do (checkpoints, divergence, errors):
test_population_conformance.py."""
import numba as nb
import numpy as np
import pytest

from rtrlbench.agents.ccn import CCNLearner, ColumnarLearner, ConstructiveLearner
from rtrlbench.agents.population_ccn import ColumnNetworkPopulation
from rtrlbench.agents.vector_exp import exp as vector_exp

from population_streams import population_run, single_run as run_single, synthetic_streams

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
    return run_single(cls, N_IN, hp, seed, obs, cumulant, gamma, bounds)


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
    population, predictions = population_run(ColumnNetworkPopulation, cls, N_IN, hps, SEEDS, obs, cumulant, gamma,
                                             bounds)
    assert predictions.shape == (len(SEEDS), 300)
    for run, (seed, hp) in enumerate(zip(SEEDS, hps)):
        learner, expected = single_run(cls, hp, seed, obs[seed], cumulant[seed], gamma[seed], bounds)
        assert np.array_equal(predictions[run], expected), f"run {run}: max diff {np.abs(predictions[run] - expected).max()}"
        mine = population.learner(run)
        assert mine.stage == learner.stage == learner.n_stages - 1
        for key in ("theta", "out_w", "h", "c", "e_c", "e_o", "v_c", "v_o", "out_mu", "out_var", "packed", "in_mu"):
            assert np.array_equal(getattr(mine._arrays, key), getattr(learner._arrays, key)), (run, key)
    assert not population.diverged.any()


def test_column_classes_do_not_mix():
    with pytest.raises(ValueError, match="one learner class"):
        ColumnNetworkPopulation([ColumnarLearner(N_IN, n_features=3), CCNLearner(N_IN)])


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
