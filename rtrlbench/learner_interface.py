"""The learner interface every reference learner (and a user's own) follows; it sits below
both envs (whose oracles are learners) and agents, so that neither imports the other.

A learner reads a stream ``(x_t, c_t, gamma_t)`` (see :mod:`rtrlbench.envs.stream`)
and makes one prediction ``y_t`` of the return ``G_t`` per step:

* per step:  ``y_0 = learner.predict(x_0)``, then ``y_t = learner.update(c_t, gamma_t, x_t)``
  for t >= 1 (learn from the transition into ``x_t``, then predict from ``x_t``);
* chunked:   ``predictions = learner.run_chunk(obs, cumulant, gamma)``, equivalent to
  calling :meth:`step` on every row; the first row of the first chunk plays ``predict``.

Both paths must give identical predictions. Subclasses implement :meth:`_predict_first`,
:meth:`_update` and, for speed, :meth:`_run_chunk` with a compiled loop.
"""
from __future__ import annotations

import abc
from typing import Any, ClassVar

import numpy as np

from rtrlbench.validation import positive_int


class Learner(abc.ABC):
    """Online predictor of the discounted return of a stream's cumulant."""

    #: Registry name (``rtrlbench run --learner NAME``).
    name: ClassVar[str] = ""

    def __init__(self, n_inputs: int) -> None:
        self.n_inputs = positive_int("n_inputs", n_inputs)
        self.started = False

    # ----------------------------------------------------------------- public API
    def predict(self, x: np.ndarray) -> float:
        """Start (or restart) the stream at ``x_0`` and return ``y_0``."""
        x = self._check_obs(np.asarray(x, dtype=np.float64))
        self.started = True
        return float(self._predict_first(x))

    def update(self, cumulant: float, gamma: float, x: np.ndarray) -> float:
        """Learn from the transition into ``x_t`` (with ``c_t``, ``gamma_t``); return ``y_t``."""
        if not self.started:
            raise RuntimeError("call predict(x_0) before update(...)")
        x = self._check_obs(np.asarray(x, dtype=np.float64))
        cumulant, gamma = float(cumulant), float(gamma)
        _check_transition(np.array([cumulant]), np.array([gamma]))
        return float(self._update(cumulant, gamma, x))

    def step(self, x: np.ndarray, cumulant: float = 0.0, gamma: float = 0.0) -> float:
        """``predict(x)`` on the first call, ``update(cumulant, gamma, x)`` afterwards."""
        if not self.started:
            return self.predict(x)
        return self.update(cumulant, gamma, x)

    def run_chunk(self, obs: np.ndarray, cumulant: np.ndarray, gamma: np.ndarray) -> np.ndarray:
        """Predictions float64[T] for a chunk of T stream steps (see the module docstring)."""
        obs = np.asarray(obs)
        cumulant = np.ascontiguousarray(cumulant, dtype=np.float64)
        gamma = np.ascontiguousarray(gamma, dtype=np.float64)
        if obs.ndim != 2 or obs.shape[1] != self.n_inputs:
            raise ValueError(
                f"obs must have shape (T, {self.n_inputs}) for this learner, got {obs.shape}; "
                "the learner was built for a different observation size"
            )
        if cumulant.shape != (len(obs),) or gamma.shape != (len(obs),):
            raise ValueError(
                f"cumulant and gamma must have shape ({len(obs)},), got {cumulant.shape} and {gamma.shape}"
            )
        if not np.isfinite(obs).all():
            raise ValueError("obs contains NaN or inf; the stream is corrupt")
        _check_transition(cumulant, gamma)
        if len(obs) == 0:
            return np.zeros(0)
        predictions = self._run_chunk(np.ascontiguousarray(obs), cumulant, gamma)
        self.started = True
        return predictions

    def hyperparameters(self) -> dict[str, Any]:
        """Everything needed to rebuild this learner (JSON-serialisable)."""
        return {}

    def get_state(self) -> dict[str, Any]:
        """A checkpoint: restoring it with :meth:`set_state` continues the run exactly."""
        return {"started": self.started}

    def set_state(self, state: dict[str, Any]) -> None:
        self.started = bool(state["started"])

    # ----------------------------------------------------------- for subclasses
    @abc.abstractmethod
    def _predict_first(self, x: np.ndarray) -> float:
        """Reset the per-stream memory, then predict from ``x_0``."""

    @abc.abstractmethod
    def _update(self, cumulant: float, gamma: float, x: np.ndarray) -> float:
        """Learn from the transition into ``x``, then predict from ``x``."""

    def _run_chunk(self, obs: np.ndarray, cumulant: np.ndarray, gamma: np.ndarray) -> np.ndarray:
        """Reference (slow) loop; subclasses override it with a compiled one."""
        out = np.empty(len(obs))
        for t in range(len(obs)):
            x = obs[t].astype(np.float64)
            if self.started:
                out[t] = self._update(cumulant[t], gamma[t], x)
            else:
                self.started = True
                out[t] = self._predict_first(x)
        return out

    def _check_obs(self, x: np.ndarray) -> np.ndarray:
        if x.shape != (self.n_inputs,):
            raise ValueError(f"observation must have shape ({self.n_inputs},), got {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("observation contains NaN or inf")
        return x


def restore_arrays(arrays, state: dict[str, Any], learner: str, sizes: str) -> None:
    """Copy ``state[name]`` into each array of the NamedTuple ``arrays``, all or nothing.

    Raises ValueError naming what is wrong: a missing array or ``started`` flag, another shape
    (a checkpoint from a learner with other ``sizes``, e.g. "n_inputs or n_hidden") or dtype.
    """
    missing = [name for name in (*arrays._fields, "started") if name not in state]
    if missing:
        raise ValueError(f"state lacks {missing}: pass a dict from {learner}.get_state()")
    for name, mine in zip(arrays._fields, arrays):
        theirs = np.asarray(state[name])
        if theirs.shape != mine.shape:
            raise ValueError(f"state[{name!r}] has shape {theirs.shape}, this learner needs {mine.shape}: the "
                             f"checkpoint is from a learner with other {sizes}")
        if theirs.dtype != mine.dtype:
            raise ValueError(f"state[{name!r}] is {theirs.dtype}, this learner computes in {mine.dtype}: rebuild it "
                             f"with dtype={str(theirs.dtype)!r} to restore this checkpoint")
    for name, mine in zip(arrays._fields, arrays):
        np.copyto(mine, state[name], casting="same_kind")


def _check_transition(cumulant: np.ndarray, gamma: np.ndarray) -> None:
    if not np.isfinite(cumulant).all():
        raise ValueError("cumulant contains NaN or inf; the stream is corrupt")
    if not np.isfinite(gamma).all() or (gamma < 0).any() or (gamma > 1).any():
        raise ValueError("gamma must lie in [0, 1] (and not be NaN)")
