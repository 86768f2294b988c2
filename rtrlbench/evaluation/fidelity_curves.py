"""The gradient-fidelity part of a run's result record: a learner's ``fidelity()`` measurements
(cosine and relative error of its dy/dtheta against the exact RTRL one, every N steps; see
:mod:`rtrlbench.agents.gradient_fidelity`) as a summary and as curves on the learning curve's blocks.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from rtrlbench.agents.gradient_fidelity import fidelity_summary
from rtrlbench.agents.lstm_rtrl_kernels import FIDELITY_COLUMNS


def fidelity_result(record: dict[str, np.ndarray], every: int, curve_window: int, steps: int) -> dict[str, Any]:
    """``{"every", "summary", "curve_cosine", "curve_relative_error", "curve_cosine_recurrent",
    "curve_relative_error_recurrent"}``: the summary of
    :func:`fidelity_summary`, and per block of ``curve_window`` steps (the MSRE curve's blocks) the
    mean of the measurements made in it (None for a block without one, or whose exact gradient was 0).
    JSON-ready (no NaN)."""
    blocks = max(1, math.ceil(steps / curve_window))
    which = np.asarray(record["step"]) // curve_window
    curves = {}
    for key in FIDELITY_COLUMNS:
        values = np.asarray(record[key], dtype=float)
        curve = []
        for block in range(blocks):
            inside = values[(which == block) & np.isfinite(values)]
            curve.append(float(inside.mean()) if len(inside) else None)
        curves[f"curve_{key}"] = curve
    return {"every": every, "summary": fidelity_summary(record), **curves}


def describe_fidelity(result: dict[str, Any]) -> str:
    """One line for the terminal: the summary of :func:`fidelity_result`."""
    summary = result["summary"]
    if not summary["measurements"] or summary["cosine_mean"] is None:
        return f"gradient fidelity: no measurement (every {result['every']:,} steps)"
    return (f"gradient fidelity vs exact RTRL ({summary['measurements']:,} measurements, every {result['every']:,} "
            f"steps): cosine mean {summary['cosine_mean']:.4f} (median {summary['cosine_median']:.4f}, last "
            f"{summary['cosine_last']:.4f}), relative error mean {summary['relative_error_mean']:.4g}; recurrent "
            f"parameters only: cosine mean {_number(summary['cosine_recurrent_mean'])}, relative error mean "
            f"{_number(summary['relative_error_recurrent_mean'], '.4g')}")


def _number(value, spec: str = ".4f") -> str:
    return "n/a" if value is None else format(value, spec)
