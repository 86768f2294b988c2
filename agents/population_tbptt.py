"""Populations of T-BPTT learners: R runs of one LSTM shape (each with its own seed, step size alpha,
lambda and RMSProp parameters, each reading its own stream) learned together by one compiled call
per chunk (:mod:`rtrlbench.agents.population_tbptt_kernels`).

A population is built from R single-run learners (:class:`~rtrlbench.agents.tbptt.TBPTTLearner`
of the same shape), so that initial weights, hyperparameter checks and defaults are theirs; every
array of their :class:`~rtrlbench.agents.tbptt_kernels.TBPTTState` is stacked on a new last axis
(the run, innermost and contiguous). :meth:`learner` gives run r back as a single-run learner in
its present state.

Shared by all runs (the *shape*, :data:`SHAPE_KEYS`): n_inputs, n_hidden, truncation, optimizer,
dtype. Per run (:mod:`rtrlbench.agents.population_registry`): alpha, lam, beta2 and eps (RMSProp's;
seeds too). ``fidelity_every`` must be 0 (a population does not measure gradient fidelity).

Exactness: run r's predictions equal those of its single-run learner on the same stream to
rounding, not always bit for bit: the population does each run's arithmetic in the single-run
kernel's source order, but that kernel is compiled with fast-math reassociation, which lets LLVM
reorder a few of its sums (a gate's sum over a dense input, the sums over hidden units from d = 4,
RMSProp's ``(1 - beta2) (delta e)^2``; :mod:`rtrlbench.agents.population_tbptt_kernels`). The tests
check bit-identity where none of those applies (SGD and ObGD on sparse inputs, d <= 3) and else a
difference of at most 1e-12 relative at every step in float64 (1e-5 in float32), relative to
max(|y|, 1e-3).

Divergence, checkpoints and chunk checks: :mod:`rtrlbench.agents.population_base`.
"""
from __future__ import annotations

import numpy as np

from rtrlbench.agents import population_tbptt_kernels as kernels
from rtrlbench.agents.population_base import PopulationLearner
from rtrlbench.agents.tbptt import MEMORY_ARRAYS, TBPTTLearner
from rtrlbench.agents.tbptt_kernels import TBPTTState

#: Hyperparameters every run of a population shares (they fix the arrays' shapes or the code path).
SHAPE_KEYS = ("n_hidden", "truncation", "optimizer", "dtype")
#: Hyperparameters each run has for itself (besides its seed).
PER_RUN = ("alpha", "lam", "beta2", "eps")


class TBPTTPopulation(PopulationLearner):
    """R T-BPTT learners of one shape, learned together (:class:`PopulationLearner`)."""

    shape_keys = SHAPE_KEYS

    @staticmethod
    def _state_of(learner: TBPTTLearner) -> TBPTTState:
        return learner._state

    def _setup(self, first: TBPTTLearner) -> None:
        if any(hp.get("fidelity_every") for hp in self._hyperparameters):
            raise ValueError("a T-BPTT population does not measure gradient fidelity; run learners with "
                             "fidelity_every > 0 alone")
        self.dtype = first.dtype
        self._shape = kernels.PopulationShape(first.n_inputs, first.n_hidden, first.truncation, first._optimizer,
                                              first._scratch.grad.shape[0])
        self._consts = first._consts
        alpha, lam, beta2, eps = (self.per_run(key) for key in PER_RUN)
        self.settings = kernels.PopulationSettings(*(np.ascontiguousarray(a, dtype=self.dtype)
                                                     for a in (alpha, lam, beta2, 1.0 - beta2, eps)))
        self._scratch = kernels.new_scratch(self._shape, self.n_runs, self.dtype)

    def _run_kernel(self, obs, cumulant, gamma, stream_of, predictions) -> None:
        if not self.started:  # new streams: as TBPTTLearner._reset_memory
            for name in MEMORY_ARRAYS:
                getattr(self.arrays, name).fill(0)
        run_steps = kernels.shape_kernel(self.n_inputs, self._shape.n_hidden)
        run_steps(obs, cumulant.astype(self.dtype), gamma.astype(self.dtype), stream_of, predictions, self.arrays,
                  self._scratch, self.settings, self._consts, self._shape)
