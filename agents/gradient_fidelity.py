"""Bookkeeping of the gradient-fidelity measurement shared by the learners that run an exact-RTRL
shadow beside themselves (the dense-LSTM and tanh-RNN families, T-BPTT): the log of measurements
(``learner.fidelity()``), its summary, and the shadow's part of a checkpoint.

A measurement at stream step t is (cosine, relative error) of the learner's dy_t/dtheta g against
the exact g* on the same weights and stream: cos = g.g* / (|g| |g*|), rel = |g - g*| / |g*|, over
all parameters and over the recurrent ones only (all but the readout w, whose gradient h is exact for
every learner here and can dominate dy/dtheta while w is small).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rtrlbench.agents.lstm_rtrl_kernels import FIDELITY_COLUMNS
from rtrlbench.learner_interface import restore_arrays


class FidelityLog:
    """The measurements so far, in stream order."""

    def __init__(self, every: int) -> None:
        self.every = every
        self._blocks: list[np.ndarray] = []

    def record(self, first: int, rows: np.ndarray) -> None:
        """Keep the measured rows of a chunk whose row 0 was stream step ``first`` (``rows`` [T, 4]:
        :data:`FIDELITY_COLUMNS`)."""
        if self.every:
            measured = np.flatnonzero((first + np.arange(len(rows))) % self.every == 0)
            self._blocks.append(np.column_stack([first + measured, rows[measured]]))

    def as_dict(self) -> dict[str, np.ndarray]:
        """``step`` (int64[M], steps since the stream start) and the :data:`FIDELITY_COLUMNS` (float64[M]):
        ``cosine``, ``relative_error``, ``cosine_recurrent``, ``relative_error_recurrent``."""
        log = np.concatenate(self._blocks) if self._blocks else np.zeros((0, 1 + len(FIDELITY_COLUMNS)))
        return {"step": log[:, 0].astype(np.int64), **{key: log[:, 1 + k] for k, key in enumerate(FIDELITY_COLUMNS)}}


def fidelity_summary(record: dict[str, np.ndarray]) -> dict[str, Any]:
    """Mean, median and last of each column of a ``fidelity()`` record (NaN rows, where the exact
    gradient was 0, left out), and the count: plain floats (or None) for a result JSON."""
    summary: dict[str, Any] = {"measurements": int(len(record["step"]))}
    for key in FIDELITY_COLUMNS:
        values = np.asarray(record[key], dtype=float)
        values = values[np.isfinite(values)]
        summary[f"{key}_mean"] = float(values.mean()) if len(values) else None
        summary[f"{key}_median"] = float(np.median(values)) if len(values) else None
        summary[f"{key}_last"] = float(values[-1]) if len(values) else None
    return summary


def shadow_checkpoint(shadow) -> dict[str, np.ndarray]:
    """Copies of the shadow's arrays for ``get_state()`` (theta is the learner's own)."""
    return {name: array.copy() for name, array in zip(shadow._fields, shadow) if name != "theta"}


def restore_shadow(shadow, state: dict[str, Any], learner: str) -> None:
    """Restore the shadow from ``state["fidelity_shadow"]``, refusing a checkpoint taken with or
    without the measurement when this learner is the other way."""
    if "fidelity_shadow" not in state and any(array.size for array in shadow[1:]):
        raise ValueError(f"this checkpoint of {learner} was taken without the fidelity measurement: build the "
                         "learner with fidelity_every=0 to restore it")
    saved = {**state.get("fidelity_shadow", {}), "theta": state["theta"], "started": state["started"]}
    restore_arrays(shadow, saved, learner, "n_inputs, n_hidden or fidelity_every")
