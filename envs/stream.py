"""The stream abstraction every task shares, and the Gymnasium env built on it.

A prediction stream is the sequence ``(x_t, c_t, gamma_t)`` for ``t = 0, 1, 2, ...``:
``x_t`` is the observation at step t, and ``c_t``, ``gamma_t`` are the cumulant and
discount received on the transition *into* ``x_t`` (both 0 at ``t = 0``). The
prediction ``y_t`` made from ``x_0..x_t`` targets the return

    G_t = c_{t+1} + gamma_{t+1} * G_{t+1},

so ``gamma = 0`` marks an episode boundary: nothing after it counts.

Two ways to read the same stream:

* :meth:`PredictionEnv.stream` gives a :class:`Stream` that emits chunks of arrays
  (``obs[T, n]`` float32, ``cumulant[T]`` and ``gamma[T]`` float64) from compiled
  code: the fast path used by learners, benchmarks and sweeps.
* The Gymnasium API (``reset`` / ``step``) reads that same stream one step at a time:
  ``reset`` returns ``x_0``, the t-th ``step`` returns ``x_t`` with
  ``reward = c_t`` and ``info["gamma"] = gamma_t``. The action is ignored.

For the same seed both give identical values.
"""
from __future__ import annotations

import abc
from typing import Iterator, NamedTuple

import gymnasium as gym
import numpy as np

from rtrlbench.validation import positive_int

#: Steps the per-step API generates at a time behind the scenes.
_STEP_BUFFER = 1024


class StreamChunk(NamedTuple):
    """Consecutive steps of a stream.

    obs:      float32[T, n], observations x_t.
    cumulant: float64[T], c_t, received with x_t.
    gamma:    float64[T], gamma_t, received with x_t (0 at an episode start).
    """

    obs: np.ndarray
    cumulant: np.ndarray
    gamma: np.ndarray

    def __len__(self) -> int:
        return len(self.cumulant)


class Stream(abc.ABC):
    """One seeded realisation of a task. Successive chunks continue the stream."""

    obs_dim: int

    @abc.abstractmethod
    def next_chunk(self, num_steps: int) -> StreamChunk:
        """The next ``num_steps`` steps of the stream."""

    def chunks(self, num_steps: int, chunk_size: int = 65_536) -> Iterator[StreamChunk]:
        """The next ``num_steps`` steps, as chunks of at most ``chunk_size`` steps."""
        positive_int("chunk_size", chunk_size)
        done = 0
        while done < num_steps:
            size = min(chunk_size, num_steps - done)
            yield self.next_chunk(size)
            done += size

    def oracle(self):
        """The task's Bayes-optimal predictor for this stream, if it has one (a Learner)."""
        raise NotImplementedError(f"{type(self).__name__} has no oracle predictor")


class PredictionEnv(gym.Env, abc.ABC):
    """Gymnasium view of a prediction stream. Subclasses implement :meth:`stream`.

    The stream never terminates: ``terminated`` and ``truncated`` are always False
    (episode boundaries inside the stream are marked by ``gamma = 0``).
    """

    metadata = {"render_modes": []}

    def __init__(self) -> None:
        self.action_space = gym.spaces.Discrete(1)
        self._stream: Stream | None = None
        self._buffer: StreamChunk | None = None
        self._position = 0

    @abc.abstractmethod
    def stream(self, seed: int) -> Stream:
        """A new stream for ``seed``; identical to what ``reset(seed=seed)`` then ``step`` read."""

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is None:
            seed = int(self.np_random.integers(2**63 - 1))
        self._stream = self.stream(seed)
        self._refill()
        return self._emit()[0], {"gamma": 0.0, "cumulant": 0.0}

    def step(self, action):
        if self._stream is None:
            raise gym.error.ResetNeeded("Call reset() before step().")
        if self._position == len(self._buffer):
            self._refill()
        obs, cumulant, gamma = self._emit()
        return obs, cumulant, False, False, {"gamma": gamma}

    def oracle(self):
        """The Bayes-optimal predictor for the stream of the last ``reset``."""
        if self._stream is None:
            raise gym.error.ResetNeeded("Call reset() before oracle().")
        return self._stream.oracle()

    def _refill(self) -> None:
        self._buffer = self._stream.next_chunk(_STEP_BUFFER)
        self._position = 0

    def _emit(self):
        i = self._position
        self._position += 1
        buffer = self._buffer
        return buffer.obs[i], float(buffer.cumulant[i]), float(buffer.gamma[i])

