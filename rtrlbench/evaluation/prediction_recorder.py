"""Score your own learner from a per-step loop in a few lines.

Either record by hand::

    recorder = PredictionRecorder(final_window=100_000)
    obs, info = env.reset(seed=0)
    cumulant, gamma = 0.0, 0.0
    for t in range(steps):
        y = my_learner(obs, cumulant, gamma)      # predict from x_t (learning from c_t first)
        recorder.record(y, cumulant, gamma)
        obs, cumulant, _, _, info = env.step(0)
        gamma = info["gamma"]
    result = recorder.result()                    # {"final_msre": ..., "curve": [...], ...}

or wrap the env and pass each prediction as the action::

    env = RecordReturnError(gym.make("TracePatterning-v0"))
    obs, info = env.reset(seed=0)
    for t in range(steps):
        obs, cumulant, _, _, info = env.step(my_prediction(obs))
    env.result()
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np

from rtrlbench.evaluation.return_error import ReturnErrorTracker

_BUFFER = 4096


class PredictionRecorder:
    """Collects (y_t, c_t, gamma_t) one step at a time and scores them with a ReturnErrorTracker.

    ``c_t`` and ``gamma_t`` are the cumulant and discount that arrived with ``x_t``, the
    observation ``y_t`` was predicted from (0 and 0 at the first step).
    """

    def __init__(self, final_window: int = 100_000, curve_window: int = 10_000) -> None:
        self.tracker = ReturnErrorTracker(final_window=final_window, curve_window=curve_window)
        self._rows = np.empty((_BUFFER, 3))
        self._n = 0

    def record(self, prediction: float, cumulant: float, gamma: float) -> None:
        self._rows[self._n] = (prediction, cumulant, gamma)
        self._n += 1
        if self._n == _BUFFER:
            self._flush()

    def result(self, lookahead_cumulant=None, lookahead_gamma=None) -> dict:
        """Close the stream and return the scores. Returns of the last steps are truncated at
        the end of what was recorded unless ``lookahead_*`` (later c and gamma) are given."""
        self._flush()
        self.tracker.finish(lookahead_cumulant, lookahead_gamma)
        return {
            "steps": self.tracker.scored,
            "final_window": min(self.tracker.final_window, self.tracker.scored),
            "final_msre": self.tracker.final_msre(),
            "curve_window": self.tracker.curve_window,
            "curve": list(self.tracker.curve),
            "return_truncation": self.tracker.truncation,
        }

    def _flush(self) -> None:
        if self._n:
            rows = self._rows[: self._n]
            self.tracker.add(rows[:, 0], rows[:, 1], rows[:, 2])
            self._n = 0


class RecordReturnError(gym.Wrapper):
    """A prediction env whose action is your prediction ``y_t`` of the return from the current observation.

    ``step(y_t)`` records ``y_t`` against the stream, then advances it. :meth:`result`
    gives the return error of everything recorded so far (and closes the recording).
    """

    def __init__(self, env: gym.Env, final_window: int = 100_000, curve_window: int = 10_000) -> None:
        super().__init__(env)
        self.action_space = gym.spaces.Box(-np.inf, np.inf, shape=(), dtype=np.float64)
        self._windows = (final_window, curve_window)
        self.recorder: PredictionRecorder | None = None
        self._incoming = (0.0, 0.0)

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.recorder = PredictionRecorder(*self._windows)
        self._incoming = (0.0, 0.0)
        return obs, info

    def step(self, prediction):
        if self.recorder is None:
            raise gym.error.ResetNeeded("Call reset() before step().")
        y = float(np.asarray(prediction).reshape(()))
        if not np.isfinite(y):
            raise ValueError(f"the prediction passed to step() must be a finite number, got {prediction!r}")
        self.recorder.record(y, *self._incoming)
        obs, cumulant, terminated, truncated, info = self.env.step(0)
        self._incoming = (float(cumulant), float(info["gamma"]))
        return obs, cumulant, terminated, truncated, info

    def result(self) -> dict:
        if self.recorder is None:
            raise gym.error.ResetNeeded("Nothing recorded: call reset() and step() first.")
        return self.recorder.result()
