"""Exact discounted returns and the mean squared return error (MSRE) of predictions.

Alignment (see :mod:`rtrlbench.envs.stream`): ``prediction[t]`` is made from ``x_t``;
``cumulant[t]`` and ``gamma[t]`` arrive with ``x_t``. The target of ``prediction[t]`` is

    G_t = cumulant[t+1] + gamma[t+1] * G_{t+1}.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np


@nb.njit(cache=True)
def _backward_returns(cumulant, gamma, tail, out):
    g = tail
    for t in range(cumulant.shape[0] - 1, 0, -1):
        g = cumulant[t] + gamma[t] * g
        out[t - 1] = g
    out[cumulant.shape[0] - 1] = tail


def discounted_returns(cumulant: np.ndarray, gamma: np.ndarray, tail: float = 0.0) -> np.ndarray:
    """Returns float64[T]: ``G_t`` for every step of a finite stream.

    The return of the last step, which would need data beyond the array, is ``tail``
    (0 by default); earlier returns include ``tail`` discounted accordingly.
    """
    cumulant = np.ascontiguousarray(cumulant, dtype=np.float64)
    gamma = np.ascontiguousarray(gamma, dtype=np.float64)
    if cumulant.ndim != 1 or cumulant.shape != gamma.shape:
        raise ValueError(f"cumulant and gamma must be 1-d arrays of equal length, got {cumulant.shape} and {gamma.shape}")
    out = np.empty_like(cumulant)
    if len(out):
        _backward_returns(cumulant, gamma, float(tail), out)
    return out


@nb.njit(cache=True)
def _discount_to_end(gamma, out):
    """out[t] = prod(gamma[t+1:]): the weight of whatever follows the array in G_t."""
    p = 1.0
    for t in range(gamma.shape[0] - 1, -1, -1):
        out[t] = p
        p *= gamma[t]


class ReturnErrorTracker:
    """Streaming MSRE: feed chunks of (prediction, cumulant, gamma), read errors at any time.

    Memory is bounded whatever the stream's length: a step is scored as soon as the
    rest of its return is negligible, i.e. once the product of the discounts after it
    falls to ``tolerance`` (or a ``gamma = 0`` ends the episode, which is exact). Its
    return is then truncated there, with absolute error at most ``tolerance * max|G|``.
    If no such point comes within ``max_lag`` steps (for example gamma = 1 without
    episode ends), the step is scored with its return truncated at ``max_lag`` steps;
    :attr:`truncation` records the largest discount weight ever dropped, so the bound
    ``|error in G_t| <= truncation * max|G|`` always holds.

    Two summaries:
    * :meth:`final_msre` - mean over the last ``final_window`` scored steps;
    * :attr:`curve` - means over consecutive blocks of ``curve_window`` steps.
    """

    def __init__(self, final_window: int = 100_000, curve_window: int = 10_000,
                 tolerance: float = 1e-10, max_lag: int = 1_000_000) -> None:
        for name, value in (("final_window", final_window), ("curve_window", curve_window), ("max_lag", max_lag)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0.0 <= tolerance < 1.0:
            raise ValueError(f"tolerance must lie in [0, 1), got {tolerance!r}")
        self.final_window, self.curve_window = int(final_window), int(curve_window)
        self.tolerance, self.max_lag = float(tolerance), int(max_lag)
        self.truncation = 0.0
        self.scored = 0
        self.curve: list[float] = []
        self._pending = (np.zeros(0), np.zeros(0), np.zeros(0))  # predictions, cumulants, gammas
        self._pending_lookahead = 0  # trailing pending steps that have no prediction
        self._block_sum, self._block_count = 0.0, 0
        self._ring = np.zeros(self.final_window)
        self._ring_count = 0

    # ------------------------------------------------------------------ input
    def add(self, prediction: np.ndarray, cumulant: np.ndarray, gamma: np.ndarray) -> None:
        """Append a chunk of aligned steps (1-d arrays of equal length)."""
        if self._pending_lookahead:
            raise RuntimeError("add() after finish(): the stream was already closed")
        prediction, cumulant, gamma = (np.asarray(a, dtype=np.float64).ravel() for a in (prediction, cumulant, gamma))
        if not (len(prediction) == len(cumulant) == len(gamma)):
            raise ValueError(f"prediction, cumulant and gamma must have equal lengths, got "
                             f"{len(prediction)}, {len(cumulant)}, {len(gamma)}")
        if not np.isfinite(prediction).all():
            raise ValueError("predictions contain NaN or inf (did the learner diverge?)")
        if not np.isfinite(cumulant).all() or not np.isfinite(gamma).all() or (gamma < 0).any() or (gamma > 1).any():
            raise ValueError("cumulant must be finite and gamma must lie in [0, 1]")
        self._pending = tuple(np.concatenate([p, a]) for p, a in zip(self._pending, (prediction, cumulant, gamma)))
        self._score_ready(final=False)

    def finish(self, cumulant: np.ndarray | None = None, gamma: np.ndarray | None = None) -> None:
        """Close the stream; optional lookahead ``cumulant``/``gamma`` (steps after the last
        prediction) complete the pending returns. Whatever is still incomplete is scored
        with its return truncated at the end, and the weight dropped enters :attr:`truncation`."""
        if cumulant is not None:
            cumulant, gamma = np.asarray(cumulant, np.float64).ravel(), np.asarray(gamma, np.float64).ravel()
            preds = np.full(len(cumulant), np.nan)
            self._pending = tuple(np.concatenate([p, a]) for p, a in zip(self._pending, (preds, cumulant, gamma)))
            self._pending_lookahead = len(cumulant)
        self._score_ready(final=True)

    # ----------------------------------------------------------------- output
    def final_msre(self) -> float:
        """MSRE over the last ``final_window`` scored steps (fewer if fewer were scored)."""
        n = min(self._ring_count, self.final_window)
        if n == 0:
            return math.nan
        return float(self._ring.sum() / n) if n == self.final_window else float(self._ring[:n].sum() / n)

    @property
    def curve_steps(self) -> list[int]:
        """The step count at the end of each block of :attr:`curve`."""
        return [(i + 1) * self.curve_window for i in range(len(self.curve))]

    # --------------------------------------------------------------- internals
    def _score_ready(self, final: bool) -> None:
        predictions, cumulants, gammas = self._pending
        n_pred = len(predictions) - self._pending_lookahead
        if n_pred == 0:
            return
        weight = np.empty(len(gammas))
        _discount_to_end(gammas, weight)
        if final:
            ready = n_pred
        else:
            ready = int(np.searchsorted(weight[:n_pred] > self.tolerance, True))  # weights never decrease
            ready = max(ready, len(predictions) - self.max_lag)
        if ready <= 0:
            return
        returns = discounted_returns(cumulants, gammas)
        self.truncation = max(self.truncation, float(weight[:ready].max()))
        self._record(np.square(predictions[:ready] - returns[:ready]))
        self._pending = tuple(a[ready:] for a in self._pending)
        if final:
            self._pending = (np.zeros(0),) * 3
            self._pending_lookahead = 0

    def _record(self, squared_errors: np.ndarray) -> None:
        self.scored += len(squared_errors)
        self._record_ring(squared_errors)
        self._record_curve(squared_errors)

    def _record_ring(self, errors: np.ndarray) -> None:
        errors = errors[-self.final_window :]
        start = self._ring_count % self.final_window
        first = min(len(errors), self.final_window - start)
        self._ring[start : start + first] = errors[:first]
        self._ring[: len(errors) - first] = errors[first:]
        self._ring_count += len(errors)

    def _record_curve(self, errors: np.ndarray) -> None:
        i = 0
        while i < len(errors):
            take = min(self.curve_window - self._block_count, len(errors) - i)
            self._block_sum += float(errors[i : i + take].sum())
            self._block_count += take
            i += take
            if self._block_count == self.curve_window:
                self.curve.append(self._block_sum / self.curve_window)
                self._block_sum, self._block_count = 0.0, 0


def msre(prediction: np.ndarray, cumulant: np.ndarray, gamma: np.ndarray, last: int | None = None) -> float:
    """MSRE of a whole (finite) stream held in memory, over its ``last`` steps (default: all).

    The final step's return is truncated at the end of the arrays; prefer
    :class:`ReturnErrorTracker` with lookahead when that matters.
    """
    returns = discounted_returns(cumulant, gamma)
    errors = np.square(np.asarray(prediction, dtype=np.float64) - returns)
    return float(errors[-last:].mean() if last else errors.mean())
