"""Populations of online LRUs (:class:`~rtrlbench.agents.online_lru.OnlineLRULearner`): R runs of one
shape (each with its own seed, alpha, lambda and initial ring r_min, r_max, max_phase, each reading
its own stream) learned together by one compiled call per chunk
(:mod:`rtrlbench.agents.population_lru_kernels`).

Built from R single-run learners (their initial weights, checks and defaults); every array of their
:class:`~rtrlbench.agents.online_lru_kernels.LRUState` is stacked on a new last axis, the run. Run
r's predictions and state are bit-identical to its single-run learner's on the same stream.
Shared (:data:`SHAPE_KEYS`): n_hidden, n_model, mixing, gelu, gamma_norm, optimizer and RMSProp's
beta2 and eps. Per run (:mod:`rtrlbench.agents.population_registry`): alpha, lam and the
initialisation's r_min, r_max, max_phase. Divergence, checkpoints and chunk checks:
:mod:`rtrlbench.agents.population_base`.
"""
from __future__ import annotations

from rtrlbench.agents import population_lru_kernels as kernels
from rtrlbench.agents.online_lru import OnlineLRULearner
from rtrlbench.agents.population_flat import FlatParameterPopulation

#: Hyperparameters every run of a population shares (they fix the arrays' shapes or the code path).
SHAPE_KEYS = ("n_hidden", "n_model", "mixing", "gelu", "gamma_norm", "optimizer", "beta2", "eps")


class LRUPopulation(FlatParameterPopulation):
    """R online LRUs of one shape, learned together
    (:class:`~rtrlbench.agents.population_flat.FlatParameterPopulation`)."""

    shape_keys = SHAPE_KEYS

    _kernel = kernels.run_rows

    def _new_scratch(self, first: OnlineLRULearner):
        return kernels.new_scratch(self.n_inputs, first._config.n_hidden, self.n_runs)
