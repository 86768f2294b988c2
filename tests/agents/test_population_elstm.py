"""Populations of eLSTMs: every run bit-identical to its single-run learner (same seed,
hyperparameters and stream) across chunk boundaries and episode ends, with and without the output
gate, for every optimiser. What every population must do (checkpoints, divergence, errors):
test_population_conformance.py."""
import pytest

from rtrlbench.agents.elstm import ELSTMLearner
from rtrlbench.agents.population_elstm import ELSTMPopulation
from rtrlbench.agents.population_registry import population_class

from population_streams import assert_population_matches_single_runs

N_IN = 5
#: Per-run float hyperparameters (five runs, all different; alpha = 0 freezes a run).
PER_RUN = [{"alpha": 1e-2, "lam": 0.9, "forget_bias": 0.0},
           {"alpha": 3e-3, "lam": 0.99, "forget_bias": 1.0},
           {"alpha": 3e-2, "lam": 0.0, "forget_bias": -0.5},
           {"alpha": 0.0, "lam": 1.0, "forget_bias": 2.0},
           {"alpha": 1e-1, "lam": 0.5, "forget_bias": 0.3}]
SEEDS = [0, 1, 0, 2, 1]  # runs 0 and 2, 1 and 4 read the same stream
BOUNDS = [0, 1, 2, 57, 58, 140, 199, 200]
SHAPES = [{"n_units": 1}, {"n_units": 2, "beta2": 0.9, "eps": 1e-4}, {"n_units": 3, "optimizer": "sgd"},
          {"n_units": 4, "optimizer": "obgd"},
          {"n_units": 3, "output_gate": False}, {"n_units": 2, "output_gate": False, "optimizer": "obgd"}]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_every_run_is_bit_identical_to_its_single_run_learner(shape):
    """np.array_equal predictions and final state per run over 200 steps in uneven chunks (one-step
    chunks, episode ends); ObGD with a step size large enough that its bound binds."""
    hps = [{**shape, **per_run} for per_run in PER_RUN]
    assert_population_matches_single_runs(ELSTMPopulation, ELSTMLearner, N_IN, hps, SEEDS, BOUNDS, cumulant_scale=5.0)


def test_runs_must_share_the_optimiser_constants_and_the_gate():
    with pytest.raises(ValueError, match="share beta2"):
        ELSTMPopulation([ELSTMLearner(N_IN), ELSTMLearner(N_IN, beta2=0.9)])
    with pytest.raises(ValueError, match="share output_gate"):
        ELSTMPopulation([ELSTMLearner(N_IN), ELSTMLearner(N_IN, output_gate=False)])
    assert population_class("elstm") is ELSTMPopulation

