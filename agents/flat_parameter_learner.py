"""A learner whose parameters are one flat vector in a NamedTuple of kernel arrays (``theta``, with
``grad`` its d y / d theta beside it): parameter blocks by name and checkpoints (its compiled loop
ends each row with :func:`rtrlbench.agents.flat_td_step.td_step`)."""
from __future__ import annotations

import abc
from typing import Any

import numpy as np

from rtrlbench.agents.array_checkpoint import array_checkpoint, restore_arrays
from rtrlbench.agents.kernel_loop_learner import KernelLoopLearner


class FlatParameterLearner(KernelLoopLearner):
    """Subclasses set ``_state`` (NamedTuple with ``theta`` and ``grad``), ``_config`` and
    ``_hyperparameters``, implement :meth:`_block_shapes` and name their compiled loop ``_kernel``
    (called as ``_kernel(obs, cumulant, gamma, predictions, first, config, state)``)."""

    _kernel = None

    @abc.abstractmethod
    def _block_shapes(self) -> dict[str, tuple]:
        """Shape of each parameter block, in the order of the flat vector (0-size blocks allowed)."""

    def _run(self, obs, cumulant, gamma, first: bool) -> np.ndarray:
        predictions = np.empty(len(obs))
        type(self)._kernel(obs, cumulant, gamma, predictions, first, self._config, self._state)
        return predictions

    def _blocks(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        blocks, start = {}, 0
        for name, shape in self._block_shapes().items():
            size = int(np.prod(shape))
            if size:
                blocks[name] = flat[start:start + size].reshape(shape).copy()
            start += size
        return blocks

    def parameters(self) -> dict[str, np.ndarray]:
        """Copies of the parameter blocks by name (absent, 0-size blocks left out)."""
        return self._blocks(self._state.theta)

    def prediction_gradient(self) -> dict[str, np.ndarray]:
        """d y_t / d theta of the last prediction, block by block as :meth:`parameters`."""
        return self._blocks(self._state.grad)

    @property
    def n_parameters(self) -> int:
        return self._state.theta.shape[0]

    def hyperparameters(self) -> dict[str, Any]:
        return dict(self._hyperparameters)

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), **array_checkpoint(self._state, self.hyperparameters(), self.n_inputs)}

    def set_state(self, state: dict[str, Any]) -> None:
        restore_arrays(self._state, state, self.hyperparameters(), self.n_inputs)
        super().set_state(state)
