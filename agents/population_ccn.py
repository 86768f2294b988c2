"""Populations of column networks: R runs of one columnar, constructive or CCN shape (each with
its own seed, step size alpha, lambda and normaliser parameters, each reading its own stream)
learned together by one compiled call per chunk (:mod:`rtrlbench.agents.population_ccn_kernels`).

A population is built from R single-run learners (:class:`~rtrlbench.agents.ccn.ColumnNetworkLearner`
of the same class and shape), so that initial weights, hyperparameter checks and defaults are
theirs; every array of their :class:`~rtrlbench.agents.ccn.ColumnNetworkState` is stacked on a
new last axis (the run, innermost and contiguous). Run r's predictions are bit-identical to
those of its single-run learner on the same stream: the population kernel does each run's
arithmetic in the single-run kernel's order. :meth:`learner` gives run r back as a single-run
learner in its present state.

Shared by all runs (the *shape*, :data:`SHAPE_KEYS`): the class, n_features,
features_per_stage, steps_per_stage, optimizer, norm_floor, output_step_size,
normalisation_gradient. Per run (:mod:`rtrlbench.agents.population_registry`): alpha, lam, norm_beta,
norm_eps and init_scale (which only shapes the initial weights).

Divergence, checkpoints and chunk checks: :mod:`rtrlbench.agents.population_base`.
"""
from __future__ import annotations

from rtrlbench.agents import population_ccn_kernels as kernels
from rtrlbench.agents.ccn import RMSPROP_BETA2, RMSPROP_EPS, ColumnNetworkLearner, ColumnNetworkState
from rtrlbench.agents.population_base import PopulationLearner

#: Hyperparameters every run of a population shares (they fix the arrays' shapes or the code path).
SHAPE_KEYS = ("n_features", "features_per_stage", "steps_per_stage", "optimizer", "norm_floor", "output_step_size",
              "normalisation_gradient")


class ColumnNetworkPopulation(PopulationLearner):
    """R column networks of one shape, learned together (:class:`PopulationLearner`).

    A run given back by :meth:`learner` has a stale ``prediction_gradient()`` until its next step:
    the population fuses d y / dp into the trace pass and does not keep it."""

    shape_keys = SHAPE_KEYS

    @staticmethod
    def _state_of(learner: ColumnNetworkLearner) -> ColumnNetworkState:
        return learner._arrays

    def _setup(self, first: ColumnNetworkLearner) -> None:
        self._config, self._stage_offsets = first._config, first._stage_offsets
        self.settings = kernels.PopulationSettings(*(self.per_run(key) for key in kernels.PopulationSettings._fields))
        self._scratch = kernels.new_scratch(self.n_runs)

    def _run_kernel(self, obs, cumulant, gamma, stream_of, predictions) -> None:
        kernels.run_kernel(obs, cumulant, gamma, stream_of, predictions, not self.started, self._config,
                           self._stage_offsets, self.arrays, self.settings, self._scratch, RMSPROP_BETA2, RMSPROP_EPS)
