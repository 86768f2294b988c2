"""Populations of online LRUs: every run bit-identical to its single-run learner (same seed,
hyperparameters and stream) across chunk boundaries and episode ends, for every mixing, both GELUs,
with and without gamma-normalisation and for every optimiser. What every population must do
(checkpoints, divergence, errors): test_population_conformance.py."""
import pytest

from rtrlbench.agents.online_lru import OnlineLRULearner
from rtrlbench.agents.population_lru import LRUPopulation

from population_streams import assert_population_matches_single_runs

N_IN = 4
#: Per-run float hyperparameters (five runs, all different; alpha = 0 freezes a run).
PER_RUN = [{"alpha": 1e-2, "lam": 0.9},
           {"alpha": 3e-3, "lam": 0.99, "r_min": 0.5, "r_max": 0.99},
           {"alpha": 3e-2, "lam": 0.0, "max_phase": 0.5},
           {"alpha": 0.0, "lam": 1.0, "r_min": 0.9},
           {"alpha": 1e-1, "lam": 0.5, "r_max": 0.7, "max_phase": 3.0}]
SEEDS = [0, 1, 0, 2, 1]  # runs 0 and 2, 1 and 4 read the same stream
BOUNDS = [0, 1, 2, 57, 58, 140, 199, 200]
SHAPES = [{"n_hidden": 1, "n_model": 1}, {"n_hidden": 3, "n_model": 2, "gelu": "tanh", "optimizer": "sgd"},
          {"n_hidden": 2, "n_model": 3, "mixing": "gelu", "optimizer": "obgd"},
          {"n_hidden": 3, "n_model": 2, "mixing": "none", "gamma_norm": False, "beta2": 0.9},
          {"n_hidden": 2, "n_model": 2, "gamma_norm": False, "optimizer": "obgd"}]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_every_run_is_bit_identical_to_its_single_run_learner(shape):
    """np.array_equal predictions and final state (complex sensitivities included) per run over 200
    steps in uneven chunks (one-step chunks, episode ends)."""
    hps = [{**shape, **per_run} for per_run in PER_RUN]
    assert_population_matches_single_runs(LRUPopulation, OnlineLRULearner, N_IN, hps, SEEDS, BOUNDS, cumulant_scale=5.0)


def test_runs_must_share_the_layer_and_the_optimiser_constants():
    for key, value in (("mixing", "gelu"), ("gamma_norm", False), ("gelu", "tanh"), ("eps", 1e-4)):
        with pytest.raises(ValueError, match=f"share {key}"):
            LRUPopulation([OnlineLRULearner(N_IN), OnlineLRULearner(N_IN, **{key: value})])
