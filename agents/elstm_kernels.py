"""Compiled loop of the eLSTM learner (:mod:`rtrlbench.agents.elstm`): the element-wise-recurrent
LSTM of Irie, Gopalakrishnan & Schmidhuber (2023), exact RTRL and the TD(lambda) step of
:mod:`rtrlbench.agents.td_lambda`.

Network, d units (k, m < d), n inputs (j < n):

    z_t = tanh(Z x_t + w_z (.) c_{t-1} + b_z)          f_t = sigmoid(F x_t + w_f (.) c_{t-1} + b_f)
    c_t = f_t (.) c_{t-1} + (1 - f_t) (.) z_t
    o_t = sigmoid(O_x x_t + O_c c_t + b_o)             h_t = o_t (.) c_t      (output_gate; else h_t = c_t)
    y_t = w . h_t + b

The recurrence is element-wise, so d c_k / d p is non-zero only for the parameters p of unit k
(its rows Z_k, F_k and w_z,k, w_f,k, b_z,k, b_f,k): one sensitivity per recurrent parameter,
O(|theta|) per step. With (the authors' ``zf_tmp``, ``fz_tmp``, ``common_tmp``)

    a_k = (1 - f_k)(1 - z_k^2)     b_k = (c_{t-1,k} - z_k) f_k (1 - f_k)     g_k = f_k + a_k w_z,k + b_k w_f,k

each sensitivity S_p = d c_k / d p advances as S_p <- g_k S_p + a_k u_p (p of the z gate) or
g_k S_p + b_k u_p (f gate), where u_p is the parameter's direct input: x_j, c_{t-1,k} or 1.
Then d y / d p = e_k S_p with e_k = d y / d c_k = w_k o_k + sum_m w_m c_m o_m (1 - o_m) O_c[m, k]
(w_k without the output gate); the output gate and readout, after the recurrence, get their
instantaneous gradient. Parameter layout (flat): Z, F (d x n each), w_z, w_f, b_z, b_f, then
O_x (d x n), O_c (d x d), b_o (absent without the output gate), w (d), b.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from rtrlbench.agents.flat_td_step import td_step


def parameter_count(n_inputs: int, n_units: int, output_gate: bool) -> tuple[int, int]:
    """(recurrent parameters, all parameters)."""
    recurrent = 2 * n_units * n_inputs + 4 * n_units
    gate = n_units * n_inputs + n_units * n_units + n_units if output_gate else 0
    return recurrent, recurrent + gate + n_units + 1


class ELSTMConfig(NamedTuple):
    """The fixed settings the compiled loop reads."""

    n_inputs: int
    n_units: int
    output_gate: bool
    optimizer: int     # td_lambda.SGD, RMSPROP or OBGD
    alpha: float
    lam: float
    beta2: float
    eps: float
    n_recurrent: int   # parameters with sensitivities (the first block of theta)
    size: int          # all parameters


class ELSTMState(NamedTuple):
    """Every array of the learner (float64); its checkpoint. P parameters, R recurrent ones, d units."""

    theta: np.ndarray   # [P]: parameters (layout in the module docstring)
    trace: np.ndarray   # [P]: eligibility trace
    v: np.ndarray       # [P]: RMSProp state (starts at 1)
    grad: np.ndarray    # [P]: d y_t / d theta of the last prediction
    sens: np.ndarray    # [R]: S_p = d c_k / d p, aligned with theta[:R]
    c: np.ndarray       # [d]: cell state c_t
    c_prev: np.ndarray  # [d]: c_{t-1}
    gate_z: np.ndarray  # [d]: z_t
    gate_f: np.ndarray  # [d]: f_t
    gate_o: np.ndarray  # [d]: o_t
    err: np.ndarray     # [d]: e = d y / d c_t
    y_prev: np.ndarray  # [1]: the last prediction


@nb.njit(cache=True, inline="always")
def _sigmoid(a):
    return 1.0 / (1.0 + math.exp(-a))


@nb.njit(cache=True, inline="always")
def _forward(x, cfg, s):
    """One step of the cell and the readout, with the sensitivities advanced; returns y."""
    th, n, d = s.theta, cfg.n_inputs, cfg.n_units
    o_wz, o_wf, o_bz, o_bf = 2 * d * n, 2 * d * n + d, 2 * d * n + 2 * d, 2 * d * n + 3 * d
    for k in range(d):
        az = th[o_wz + k] * s.c[k] + th[o_bz + k]
        af = th[o_wf + k] * s.c[k] + th[o_bf + k]
        for j in range(n):
            az += th[k * n + j] * x[j]
            af += th[d * n + k * n + j] * x[j]
        z, f = math.tanh(az), _sigmoid(af)
        cp = s.c[k]
        a = (1.0 - f) * (1.0 - z * z)
        b = (cp - z) * f * (1.0 - f)
        g = f + a * th[o_wz + k] + b * th[o_wf + k]
        for j in range(n):  # Z_k and F_k rows: direct input x_j
            s.sens[k * n + j] = g * s.sens[k * n + j] + a * x[j]
            s.sens[d * n + k * n + j] = g * s.sens[d * n + k * n + j] + b * x[j]
        s.sens[o_wz + k] = g * s.sens[o_wz + k] + a * cp
        s.sens[o_wf + k] = g * s.sens[o_wf + k] + b * cp
        s.sens[o_bz + k] = g * s.sens[o_bz + k] + a
        s.sens[o_bf + k] = g * s.sens[o_bf + k] + b
        s.c_prev[k] = cp
        s.c[k] = f * cp + (1.0 - f) * z
        s.gate_z[k], s.gate_f[k] = z, f
    o_w = cfg.size - d - 1
    y = th[cfg.size - 1]
    if cfg.output_gate:
        o_ox, o_oc = cfg.n_recurrent, cfg.n_recurrent + d * n
        o_bo = o_oc + d * d
        for m in range(d):
            ao = th[o_bo + m]
            for j in range(n):
                ao += th[o_ox + m * n + j] * x[j]
            for l in range(d):
                ao += th[o_oc + m * d + l] * s.c[l]
            s.gate_o[m] = _sigmoid(ao)
            y += th[o_w + m] * s.gate_o[m] * s.c[m]
    else:
        for m in range(d):
            y += th[o_w + m] * s.c[m]
    return y


@nb.njit(cache=True, inline="always")
def _gradient(x, cfg, s):
    """d y / d theta of the prediction just made, into ``s.grad`` (module docstring)."""
    th, g, n, d = s.theta, s.grad, cfg.n_inputs, cfg.n_units
    o_w = cfg.size - d - 1
    g[cfg.size - 1] = 1.0
    if cfg.output_gate:
        o_ox, o_oc = cfg.n_recurrent, cfg.n_recurrent + d * n
        o_bo = o_oc + d * d
        for k in range(d):
            s.err[k] = th[o_w + k] * s.gate_o[k]
        for m in range(d):
            om = s.gate_o[m]
            g[o_w + m] = om * s.c[m]
            go = th[o_w + m] * s.c[m] * om * (1.0 - om)
            g[o_bo + m] = go
            for j in range(n):
                g[o_ox + m * n + j] = go * x[j]
            for l in range(d):
                g[o_oc + m * d + l] = go * s.c[l]
                s.err[l] += go * th[o_oc + m * d + l]
    else:
        for k in range(d):
            g[o_w + k] = s.c[k]
            s.err[k] = th[o_w + k]
    o_wz = 2 * d * n
    for k in range(d):
        e = s.err[k]
        for j in range(n):
            g[k * n + j] = e * s.sens[k * n + j]
            g[d * n + k * n + j] = e * s.sens[d * n + k * n + j]
        for q in range(4):
            g[o_wz + q * d + k] = e * s.sens[o_wz + q * d + k]


@nb.njit(cache=True)
def run_rows(obs, cumulant, gamma, predictions, first, cfg, s):
    """Learn from the rows of a chunk in order (the step order of :mod:`rtrlbench.agents.td_lambda`),
    writing each prediction into ``predictions``; ``first``: row 0 starts a new stream (c = 0, S = 0)."""
    x = np.empty(cfg.n_inputs)
    for row in range(obs.shape[0]):
        is_first = first and row == 0
        if is_first:
            s.c[:] = 0.0
            s.sens[:] = 0.0
        for j in range(cfg.n_inputs):
            x[j] = obs[row, j]
        y = _forward(x, cfg, s)
        predictions[row] = y
        _gradient(x, cfg, s)
        td_step(s, cfg, y, cumulant[row], gamma[row], is_first)
