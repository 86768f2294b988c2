"""Supervised streams for the Williams & Zipser (1989) tasks, and their prediction-env view.

A W-Z task is a sequence of rows ``(x(t), d(t), mask(t))`` in the paper's time: ``x(t)``
is the input at step t and ``d_k(t)`` the target of unit k's output ``y_k(t)``, which
the network computes from ``x(0..t-1)`` (an input first affects the outputs one step
later, eq. 2.3). ``mask[t, k]`` marks ``k in T(t)``: whether unit k has a target at t.

The same rows make the suite's prediction stream: ``x_t = x(t)``, cumulant ``c_t =
d_0(t)`` (0 where unit 0 has no target) and ``gamma_t = 0``. A prediction ``y_t``
(made after ``x_t``) then targets ``G_t = c_{t+1} = d_0(t+1)``: exactly the W-Z output
``y_0(t+1)``. Both views read one generator, so they continue each other.
"""
from __future__ import annotations

import abc
from typing import NamedTuple

import gymnasium as gym
import numpy as np

from rtrlbench.envs import _rng
from rtrlbench.envs.stream import _STEP_BUFFER, PredictionEnv, Stream, StreamChunk
from rtrlbench.validation import positive_int


class SupervisedChunk(NamedTuple):
    """Consecutive rows of a W-Z task.

    inputs:  float32[T, m], x(t).
    targets: float64[T, K], d_k(t) (0 where masked out).
    mask:    bool[T, K], k in T(t).
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray

    def __len__(self) -> int:
        return len(self.inputs)


def prediction_view(rows: SupervisedChunk) -> StreamChunk:
    """The rows as a prediction stream: c_t = d_0(t) (0 outside T(t)), gamma_t = 0."""
    cumulant = np.where(rows.mask[:, 0], rows.targets[:, 0], 0.0)
    return StreamChunk(rows.inputs, cumulant, np.zeros(len(rows)))


class SupervisedStream(Stream):
    """A seeded W-Z task. Subclasses set ``obs_dim``, ``n_targets`` and implement :meth:`_fill`."""

    obs_dim: int
    n_targets: int

    def __init__(self, seed: int) -> None:
        self._rng = _rng.new_state(np.random.SeedSequence(seed))

    @abc.abstractmethod
    def _fill(self, inputs: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> None:
        """Write the next rows into the zeroed arrays (continuing the generator's state)."""

    def next_supervised_chunk(self, num_steps: int) -> SupervisedChunk:
        """The next ``num_steps`` rows ``(x(t), d(t), mask(t))``."""
        positive_int("num_steps", num_steps)
        inputs = np.zeros((num_steps, self.obs_dim), dtype=np.float32)
        targets = np.zeros((num_steps, self.n_targets))
        mask = np.zeros((num_steps, self.n_targets), dtype=np.bool_)
        self._fill(inputs, targets, mask)
        return SupervisedChunk(inputs, targets, mask)

    def next_chunk(self, num_steps: int) -> StreamChunk:
        return prediction_view(self.next_supervised_chunk(num_steps))


class SupervisedEnv(PredictionEnv):
    """A :class:`PredictionEnv` whose ``info`` also carries the full supervised view:
    ``info["targets"]`` (float64[K], d(t)) and ``info["target_mask"]`` (bool[K], T(t))."""

    def __init__(self, obs_dim: int) -> None:
        super().__init__()
        self.observation_space = gym.spaces.Box(0.0, 1.0, (obs_dim,), np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = super().reset(seed=seed, options=options)
        return obs, {**info, **self._targets_info()}

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated, truncated, {**info, **self._targets_info()}

    def _refill(self) -> None:
        self._rows = self._stream.next_supervised_chunk(_STEP_BUFFER)
        self._buffer = prediction_view(self._rows)
        self._position = 0

    def _targets_info(self) -> dict:
        i = self._position - 1
        return {"targets": self._rows.targets[i].copy(), "target_mask": self._rows.mask[i].copy()}
