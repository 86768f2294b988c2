"""The base of learners whose hyperparameters are keywords with one table of defaults and whose
whole state is a NamedTuple of arrays (the kernels' named state): keyword checking, the
constructor signature ``inspect`` reports, ``hyperparameters()`` and exact checkpoints."""
from __future__ import annotations

import inspect
from typing import Any, ClassVar, Mapping, NamedTuple

import numpy as np

from rtrlbench.agents.array_checkpoint import array_checkpoint, restore_arrays
from rtrlbench.agents.kernel_loop_learner import KernelLoopLearner
from rtrlbench.validation import int_at_least


def constructor_signature(defaults: Mapping[str, Any]) -> inspect.Signature:
    """``(n_inputs, *, seed=0, <every default as a keyword>)``: what ``inspect.signature`` (and so
    :func:`rtrlbench.agents.registry.make_learner`) reports for a keyword learner class."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    return inspect.Signature([inspect.Parameter("n_inputs", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=int),
                              inspect.Parameter("seed", keyword, default=0),
                              *(inspect.Parameter(name, keyword, default=value) for name, value in defaults.items())])


class KeywordArrayLearner(KernelLoopLearner):
    """Subclasses set ``defaults`` (every hyperparameter with its default), implement
    ``_checked(hp) -> hp`` (checked, plain values) and ``_run_rows`` (their compiled loop over a
    chunk's rows, the per-step path being a chunk of one row), and keep their state in
    ``self._arrays`` (a NamedTuple of arrays, every one of them part of the checkpoint)."""

    defaults: ClassVar[Mapping[str, Any]] = {}
    _arrays: NamedTuple

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.__signature__ = constructor_signature(cls.defaults)

    def __init__(self, n_inputs: int, *, seed: int = 0, **hyperparameters) -> None:
        super().__init__(n_inputs)
        unknown = sorted(set(hyperparameters) - set(self.defaults))
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected keyword argument(s) {unknown}; "
                            f"it takes: seed, {', '.join(self.defaults)}")
        self.seed = int_at_least("seed", seed, 0)
        self._hyperparameters = self._checked({**self.defaults, **hyperparameters})

    @classmethod
    def _checked(cls, hp: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _run_rows(self, obs, cumulant, gamma, predictions, first: bool) -> None:
        """Learn from the rows in order, writing each row's prediction into ``predictions``
        (float64[T]); ``first``: row 0 is x_0 of a new stream."""
        raise NotImplementedError

    def _run(self, obs, cumulant, gamma, first: bool) -> np.ndarray:
        predictions = np.empty(len(obs))
        self._run_rows(obs, cumulant, gamma, predictions, first)
        return predictions

    def hyperparameters(self) -> dict[str, Any]:
        return dict(self._hyperparameters)

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), **array_checkpoint(self._arrays, self.hyperparameters(), self.n_inputs)}

    def set_state(self, state: dict[str, Any]) -> None:
        restore_arrays(self._arrays, state, self.hyperparameters(), self.n_inputs)
        super().set_state(state)
