"""Gradient fidelity of T-BPTT: the T-BPTT loop (:func:`tbptt_kernels.loop_with`) with an exact
dense-LSTM RTRL shadow (:func:`lstm_rtrl_kernels.lstm_step_with_sensitivities`) stepped on the same
weights and stream, and every N steps the cosine and relative error of the truncated gradient
dy_t/dtheta (formed in full for the measurement only) against the untruncated one.

The two networks are the same LSTM: T-BPTT's parameter layout (:func:`tbptt_kernels.offsets`), gate
order i, f, g, o, one bias per gate and y = w . h are the dense-LSTM RTRL learner's, so the shadow
reads T-BPTT's theta directly.
"""
from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from rtrlbench.agents.lstm_rtrl_kernels import lstm_step_with_sensitivities, record_agreement
from rtrlbench.agents.tbptt_kernels import loop_with, truncated_gradient


class TBPTTFidelity(NamedTuple):
    """The measurement's arrays: the exact shadow (``lstm_rtrl_kernels.LSTMRTRLState`` and scratch,
    float64), ``every`` (int64[1], N), ``full_grad`` [P] (T-BPTT's gradient, the learner's dtype) and
    ``fidelity`` [T, 4] (lstm_rtrl_kernels.FIDELITY_COLUMNS per row; NaN on unmeasured rows)."""

    shadow: tuple
    shadow_scratch: tuple
    every: np.ndarray
    full_grad: np.ndarray
    fidelity: np.ndarray


@nb.njit(cache=True, inline="always")
def _measure(row, obs, t, window, state, scratch, consts, shape, extra):
    lstm_step_with_sensitivities(state.theta, obs[row], extra.shadow, extra.shadow_scratch, shape.n_inputs,
                                 shape.n_hidden)
    measured = t % extra.every[0] == 0
    if measured:
        truncated_gradient(window, state, scratch, consts, shape, extra.full_grad)
    record_agreement(extra.fidelity, row, measured, extra.full_grad, extra.shadow_scratch.grad, shape.n_hidden)


#: ``run_steps_measured(obs, cumulant, gamma, out, state, scratch, consts, shape, fidelity)``: T-BPTT's
#: run_steps with the measurement (``fidelity``: a :class:`TBPTTFidelity`).
run_steps_measured = loop_with(_measure)
