"""Compiled step of the dense-LSTM RTRL learner (:mod:`rtrlbench.agents.lstm_rtrl`).

Parameters theta = (W [4d, n], U [4d, d], b [4d], w [d]) in the layout of the T-BPTT learner
(PyTorch ``LSTMCell`` gate order i, f, g, o; :func:`tbptt_kernels.offsets`); the first
P_r = 4d(n + d + 1) of them (W, U, b) are *recurrent*: they shape h. One step, with
z = W x_t + U h_{t-1} + b:

    i, f, o = sigmoid(z_i, z_f, z_o),  g = tanh(z_g)
    c_t = f * c_{t-1} + i * g,         h_t = o * tanh(c_t),      y_t = w . h_t

and the exact sensitivities (influence matrices) Jh_t = dh_t/dtheta_r, Jc_t = dc_t/dtheta_r,
each [d, P_r], carried forward (Williams & Zipser's RTRL, Hochreiter & Schmidhuber's LSTM):

    dz      = D_t + U Jh_{t-1}              D_t: dz/dtheta_r with h_{t-1} held fixed
                                            (x_t for W's row, h_{t-1} for U's row, 1 for b)
    Jc_t[q] = f_q Jc_{t-1}[q] + c_{t-1,q} f'_q dz_f[q] + g_q i'_q dz_i[q] + i_q g'_q dz_g[q]
    Jh_t[q] = tanh(c_{t,q}) o'_q dz_o[q] + o_q (1 - tanh^2 c_{t,q}) Jc_t[q]
    dy_t/dtheta_r = w^T Jh_t,               dy_t/dw = h_t

(i' = i(1 - i), g' = 1 - g^2, ...). Cost per step O(d^2 P_r): the full RTRL of a dense
network, the exact reference of the approximations (UORO, SnAp) and of T-BPTT.
:func:`lstm_step_with_snap1` is SnAp-1's masked version of the same recursion, O(P_r).
"""
from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from rtrlbench.agents.td_lambda import NO_UPDATE, update_then_accumulate
from rtrlbench.agents.tbptt_kernels import offsets


class LSTMRTRLState(NamedTuple):
    """Everything a checkpoint must hold (float64 arrays unless said).

    theta, trace, v: [P] weights, eligibility trace, RMSProp accumulator.
    h, c:            [d] LSTM state after the last step.
    jh, jc:          [d, P_r] influence matrices dh/dtheta_r, dc/dtheta_r after the last step.
    clock:           int64[1], steps since the stream (re)start (0: the next row is x_0).
    last_y:          [1], the last prediction (V(S_t) of the TD error).
    """

    theta: np.ndarray
    trace: np.ndarray
    v: np.ndarray
    h: np.ndarray
    c: np.ndarray
    jh: np.ndarray
    jc: np.ndarray
    clock: np.ndarray
    last_y: np.ndarray


class LSTMRTRLScratch(NamedTuple):
    """Per-step work arrays (not state): gate pre-activations and activations [4d],
    the previous state [d] and [d], dz [4d, P_r] and the gradient dy/dtheta [P]."""

    z: np.ndarray
    h_prev: np.ndarray
    c_prev: np.ndarray
    dz: np.ndarray
    grad: np.ndarray


class LSTMRTRLSettings(NamedTuple):
    """Sizes, gradient (EXACT or SNAP1), optimiser code (td_lambda.SGD / RMSPROP) and the update's scalars."""

    n_inputs: int
    n_hidden: int
    approximation: int
    optimizer: int
    alpha: float
    lam: float
    beta2: float
    eps: float


@nb.njit(cache=True)
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@nb.njit(cache=True)
def _preactivations(theta, x, state, scratch, n, d):
    """Keep h_{t-1}, c_{t-1} in scratch and fill ``scratch.z`` = W x + U h_{t-1} + b."""
    ou, ob, _, _ = offsets(n, d)
    z, h_prev = scratch.z, scratch.h_prev
    h_prev[:] = state.h
    scratch.c_prev[:] = state.c
    for r in range(4 * d):
        acc = theta[ob + r]
        for j in range(n):
            acc += theta[r * n + j] * x[j]
        for j in range(d):
            acc += theta[ou + r * d + j] * h_prev[j]
        z[r] = acc


@nb.njit(cache=True, inline="always")
def _unit(z, c_prev, q, d):
    """Unit q's gates and new cell: (i, f, g, o, c_t, tanh c_t)."""
    i, f = _sigmoid(z[q]), _sigmoid(z[d + q])
    g, o = np.tanh(z[2 * d + q]), _sigmoid(z[3 * d + q])
    c = f * c_prev[q] + i * g
    return i, f, g, o, c, np.tanh(c)


@nb.njit(cache=True)
def lstm_step_with_sensitivities(theta, x, state, scratch, n, d):
    """One LSTM step and its exact influence matrices, in place; returns y_t, fills ``scratch.grad``."""
    ou, ob, ow, size = offsets(n, d)
    h, c, jh, jc = state.h, state.c, state.jh, state.jc
    z, h_prev, c_prev, dz, grad = scratch.z, scratch.h_prev, scratch.c_prev, scratch.dz, scratch.grad
    _preactivations(theta, x, state, scratch, n, d)
    # dz = U Jh_{t-1} + D_t (Jh_{t-1} is still the previous step's)
    p_r = ow
    for r in range(4 * d):
        row = dz[r]
        row[:] = 0.0
        for j in range(d):
            u = theta[ou + r * d + j]
            jrow = jh[j]
            for p in range(p_r):
                row[p] += u * jrow[p]
        for j in range(n):
            row[r * n + j] += x[j]
        for j in range(d):
            row[ou + r * d + j] += h_prev[j]
        row[ob + r] += 1.0
    y = 0.0
    for q in range(d):
        i, f, g, o, cq, tc = _unit(z, c_prev, q, d)
        c[q], h[q] = cq, o * tc
        y += theta[ow + q] * h[q]
        di, df, dg, do = i * (1.0 - i), f * (1.0 - f), 1.0 - g * g, o * (1.0 - o)
        row_i, row_f, row_g, row_o = dz[q], dz[d + q], dz[2 * d + q], dz[3 * d + q]
        jcq, jhq = jc[q], jh[q]
        a, b_ = c_prev[q] * df, g * di
        e, k = i * dg, o * (1.0 - tc * tc)
        s = tc * do
        for p in range(p_r):
            jcq[p] = f * jcq[p] + a * row_f[p] + b_ * row_i[p] + e * row_g[p]
            jhq[p] = s * row_o[p] + k * jcq[p]
    for p in range(p_r):
        acc = 0.0
        for q in range(d):
            acc += theta[ow + q] * jh[q, p]
        grad[p] = acc
    for q in range(d):
        grad[ow + q] = h[q]
    return y


@nb.njit(cache=True)
def lstm_step_with_snap1(theta, x, state, scratch, n, d):
    """One LSTM step and SnAp-1's influences, in place; returns y_t, fills ``scratch.grad``.

    ``state.jh[0, p]`` and ``state.jc[0, p]`` hold recurrent parameter p's influence on the h and
    c of the unit q(p) its gate row feeds (row r = gate * d + q); the others are masked out:

        dz_r[p]  = U[r, q] jh[p] + [r = row(p)] D[p]      for the 4 gate rows r of unit q
        jc[p]    = f_q jc[p] + c_{t-1,q} f'_q dz_f[p] + g_q i'_q dz_i[p] + i_q g'_q dz_g[p]
        jh[p]    = tanh(c_q) o'_q dz_o[p] + o_q (1 - tanh^2 c_q) jc[p],     dy/dp = w_q jh[p]

    (D[p]: x_j for W[row, j], h_{t-1,j} for U[row, j], 1 for b[row]). O(|theta|) per step.
    """
    ou, ob, ow, size = offsets(n, d)
    h, c, jh, jc = state.h, state.c, state.jh[0], state.jc[0]
    z, h_prev, c_prev, grad = scratch.z, scratch.h_prev, scratch.c_prev, scratch.grad
    _preactivations(theta, x, state, scratch, n, d)
    y = 0.0
    for q in range(d):
        i, f, g, o, cq, tc = _unit(z, c_prev, q, d)
        c[q], h[q] = cq, o * tc
        y += theta[ow + q] * h[q]
        w = theta[ow + q]
        di, df, dg, do = i * (1.0 - i), f * (1.0 - f), 1.0 - g * g, o * (1.0 - o)
        # U[r, q] for the four gate rows of unit q: the masked recurrence through h_q
        u_i, u_f = theta[ou + q * d + q], theta[ou + (d + q) * d + q]
        u_g, u_o = theta[ou + (2 * d + q) * d + q], theta[ou + (3 * d + q) * d + q]
        a, b_, e, k, s = c_prev[q] * df, g * di, i * dg, o * (1.0 - tc * tc), tc * do
        for gate in range(4):
            r = gate * d + q
            for j in range(n + d + 1):  # W[r, :], U[r, :], b[r]
                if j < n:
                    p, direct = r * n + j, x[j]
                elif j < n + d:
                    p, direct = ou + r * d + (j - n), h_prev[j - n]
                else:
                    p, direct = ob + r, 1.0
                jh_p = jh[p]
                dz_i, dz_f, dz_g, dz_o = u_i * jh_p, u_f * jh_p, u_g * jh_p, u_o * jh_p
                if gate == 0:
                    dz_i += direct
                elif gate == 1:
                    dz_f += direct
                elif gate == 2:
                    dz_g += direct
                else:
                    dz_o += direct
                jc_p = f * jc[p] + a * dz_f + b_ * dz_i + e * dz_g
                jc[p] = jc_p
                jh[p] = s * dz_o + k * jc_p
                grad[p] = w * jh[p]
    for q in range(d):
        grad[ow + q] = h[q]
    return y


#: ``LSTMRTRLSettings.approximation`` codes.
EXACT, SNAP1 = 0, 1


@nb.njit(cache=True)
def run_steps(obs, cumulant, gamma, out, state, scratch, settings):
    """Process the rows of a chunk in order; ``out[i]`` = the prediction made at row i.

    Order per step, as in :mod:`rtrlbench.agents.td_lambda`: forward and dy/dtheta with
    theta_t -> y_{t+1}; delta = c + gamma y_{t+1} - y_t; theta += step(delta e_t);
    e_{t+1} = lambda gamma e_t + grad. At ``clock = 0`` (stream start) there is no update and
    the trace starts afresh. A ``gamma = 0`` restarts the trace only: the LSTM state and its
    influence matrices run on, as in the T-BPTT learner.
    """
    theta, trace, v, clock, last_y = state.theta, state.trace, state.v, state.clock, state.last_y
    n, d = settings.n_inputs, settings.n_hidden
    size = theta.shape[0]
    for row in range(obs.shape[0]):
        t = clock[0]
        if settings.approximation == SNAP1:
            y = lstm_step_with_snap1(theta, obs[row], state, scratch, n, d)
        else:
            y = lstm_step_with_sensitivities(theta, obs[row], state, scratch, n, d)
        if t > 0:
            delta = cumulant[row] + gamma[row] * y - last_y[0]
            update_then_accumulate(theta, trace, scratch.grad, size, delta, settings.alpha, settings.lam * gamma[row],
                                   settings.optimizer, v, settings.beta2, settings.eps)
        else:
            update_then_accumulate(theta, trace, scratch.grad, size, 0.0, settings.alpha, 0.0, NO_UPDATE, v,
                                   settings.beta2, settings.eps)
        last_y[0] = y
        clock[0] = t + 1
        out[row] = y
