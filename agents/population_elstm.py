"""Populations of eLSTMs (:class:`~rtrlbench.agents.elstm.ELSTMLearner`): R runs of one shape (each
with its own seed, alpha, lambda and forget_bias, each reading its own
stream) learned together by one compiled call per chunk (:mod:`rtrlbench.agents.population_elstm_kernels`).

Built from R single-run learners (their initial weights, checks and defaults); every array of their
:class:`~rtrlbench.agents.elstm_kernels.ELSTMState` is stacked on a new last axis, the run. Run r's
predictions and state are bit-identical to its single-run learner's on the same stream (the
kernels keep the single-run expression order). Shared (:data:`SHAPE_KEYS`): n_units, output_gate,
optimizer and RMSProp's beta2 and eps. Per run (:mod:`rtrlbench.agents.population_registry`): alpha,
lam and forget_bias (which only shapes the initial weights). Divergence, checkpoints and chunk checks:
:mod:`rtrlbench.agents.population_base`.
"""
from __future__ import annotations

from rtrlbench.agents import population_elstm_kernels as kernels
from rtrlbench.agents.elstm import ELSTMLearner
from rtrlbench.agents.population_flat import FlatParameterPopulation

#: Hyperparameters every run of a population shares (they fix the arrays' shapes or the code path).
SHAPE_KEYS = ("n_units", "output_gate", "optimizer", "beta2", "eps")


class ELSTMPopulation(FlatParameterPopulation):
    """R eLSTMs of one shape, learned together (:class:`~rtrlbench.agents.population_flat.FlatParameterPopulation`)."""

    shape_keys = SHAPE_KEYS

    _kernel = kernels.run_rows

    def _new_scratch(self, first: ELSTMLearner):
        return kernels.new_scratch(self.n_inputs, self.n_runs)
