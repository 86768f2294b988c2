"""A learner whose per-step and chunked paths are one compiled loop: ``predict`` and ``update``
run it on a single row, so both paths give identical predictions by construction."""
from __future__ import annotations

import abc

import numpy as np

from rtrlbench.learner_interface import Learner


class KernelLoopLearner(Learner):
    """Subclasses implement :meth:`_run`, the compiled loop over rows of a chunk."""

    @abc.abstractmethod
    def _run(self, obs: np.ndarray, cumulant: np.ndarray, gamma: np.ndarray, first: bool) -> np.ndarray:
        """Predictions float64[T] for the rows; ``first``: row 0 is x_0 of a new stream."""

    def _predict_first(self, x: np.ndarray) -> float:
        return float(self._run(x[None, :], np.zeros(1), np.zeros(1), True)[0])

    def _update(self, cumulant: float, gamma: float, x: np.ndarray) -> float:
        return float(self._run(x[None, :], np.array([cumulant]), np.array([gamma]), False)[0])

    def _run_chunk(self, obs: np.ndarray, cumulant: np.ndarray, gamma: np.ndarray) -> np.ndarray:
        return self._run(obs, cumulant, gamma, not self.started)


class ResettingKernelLearner(KernelLoopLearner):
    """A kernel-loop learner whose kernel tells x_0 by its own clock: a new stream first forgets
    the old one (``_reset_memory``), then every row goes through ``_steps``."""

    def _run(self, obs: np.ndarray, cumulant: np.ndarray, gamma: np.ndarray, first: bool) -> np.ndarray:
        if first:
            self._reset_memory()  # row 0 plays predict(x_0): the kernel sees clock 0
        return self._steps(obs, cumulant, gamma)

    @abc.abstractmethod
    def _reset_memory(self) -> None:
        """Forget the stream (state, trace, clock); keep the weights and optimiser state."""

    @abc.abstractmethod
    def _steps(self, obs: np.ndarray, cumulant: np.ndarray, gamma: np.ndarray) -> np.ndarray:
        """Run the kernel over the rows; float64[T] predictions."""
