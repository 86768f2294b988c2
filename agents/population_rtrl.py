"""Populations of Williams-Zipser networks (:class:`~rtrlbench.agents.rtrl.RTRL`) on prediction
streams: R runs of one shape (each with its own seed, step size alpha, lambda and init_scale,
each reading its own stream) learned together by one compiled call per chunk
(:mod:`rtrlbench.agents.population_rtrl_kernels`).

A population is built from R single-run learners, so that initial weights, hyperparameter checks
and defaults are theirs; every array of their :class:`~rtrlbench.agents.rtrl_kernels.RTRLArrays`
is stacked on a new last axis (the run, innermost and contiguous): ``w [n M, R]``,
``p [n, n M, R]`` and so on. Run r's predictions are bit-identical to those of its single-run
learner's ``run_chunk`` on the same stream (the population kernel does each run's arithmetic in
the single-run kernel's order, TD(lambda) in the order of :mod:`rtrlbench.agents.td_lambda`).
:meth:`learner` gives run r back as a single-run learner in its present state.

Shared by all runs (:data:`SHAPE_KEYS`): n_units, activation, teacher_forcing, readout,
optimizer, bias, epoch_length (which must be None: epochwise RTRL is ``train_supervised`` only,
and a population runs prediction streams only). Per run (:mod:`rtrlbench.agents.population_registry`):
alpha, lam and init_scale (which only shapes the initial weights); RMSProp's beta2 and eps are
the learner's constants.

Divergence, checkpoints and chunk checks: :mod:`rtrlbench.agents.population_base`.
"""
from __future__ import annotations

from rtrlbench.agents import population_rtrl_kernels as kernels
from rtrlbench.agents.population_base import PopulationLearner
from rtrlbench.agents.rtrl import ACTIVATIONS, READOUTS, RMSPROP_BETA2, RMSPROP_EPS, RTRL
from rtrlbench.agents.rtrl_kernels import RTRLArrays

#: Hyperparameters every run of a population shares (they fix the arrays' shapes or the code path).
SHAPE_KEYS = ("n_units", "activation", "teacher_forcing", "readout", "optimizer", "bias", "epoch_length")
#: The arrays the single-run learner's ``_reset_memory`` starts afresh at a new stream.
MEMORY_FIELDS = ("y", "p", "pn", "z", "acc", "clock", "trace_w", "trace_v", "grad_w", "grad_v", "memory")


class RTRLPopulation(PopulationLearner):
    """R fully recurrent RTRL networks of one shape, learned together on prediction streams
    (:class:`PopulationLearner`)."""

    shape_keys = SHAPE_KEYS

    @staticmethod
    def _state_of(learner: RTRL) -> RTRLArrays:
        return learner._arrays()

    def _setup(self, first: RTRL) -> None:
        if first.epoch_length:
            raise ValueError("epoch_length (epochwise RTRL) is available through train_supervised only; a "
                             "population learns from prediction streams: use epoch_length=None")
        self.shared = kernels.SharedSettings(ACTIVATIONS[first.activation], first.bias, READOUTS[first.readout],
                                             first.teacher_forcing, first._optimizer, RMSPROP_BETA2, RMSPROP_EPS)
        self.settings = kernels.PopulationSettings(*(self.per_run(key) for key in kernels.PopulationSettings._fields))
        self._scratch = kernels.new_scratch(self.n_runs)

    def _run_kernel(self, obs, cumulant, gamma, stream_of, predictions) -> None:
        if self.shared.teacher_forcing and (gamma[stream_of] != 0.0).any():
            raise ValueError("teacher forcing feeds the target back into the network, so it needs a supervised "
                             "stream (gamma = 0 everywhere); turn teacher_forcing off for gamma > 0")
        if not self.started:  # a new stream: the single run's _reset_memory
            for name in MEMORY_FIELDS:
                getattr(self.arrays, name)[...] = 0
        p, pn = kernels.td_stream(obs, cumulant, gamma, stream_of, predictions, self.arrays, self.shared,
                                  self.settings, self._scratch)
        self.arrays = self.arrays._replace(p=p, pn=pn)
