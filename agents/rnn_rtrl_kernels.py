"""Compiled step of the dense tanh-RNN learners (:mod:`rtrlbench.agents.rnn_rtrl`): exact RTRL,
UORO and RFLO over one leaky tanh RNN.

Parameters theta = (W [d, n], U [d, d], b [d], w [d]), each block row-major (:func:`rnn_offsets`);
the first P_r = d(n + d + 1) of them (W, U, b) are *recurrent*. One step, with leak a in (0, 1]
(a = 1: the plain tanh RNN h_t = tanh(z_t); a < 1: Murray's and Marschall et al.'s leaky rate
network with a = dt / tau):

    z_t = W x_t + U h_{t-1} + b,     h_t = (1 - a) h_{t-1} + a tanh(z_t),     y_t = w . h_t

Exact sensitivities J_t = dh_t/dtheta_r [d, P_r] (Williams & Zipser's RTRL):

    J_t[q] = (1 - a) J_{t-1}[q] + a phi'_q (sum_j U[q, j] J_{t-1}[j] + D_t[q]),   phi'_q = 1 - tanh^2 z_q

(D_t[q]: dz_q/dtheta_r with h_{t-1} fixed: x_t for W[q, :], h_{t-1} for U[q, :], 1 for b[q];
zero outside row q). dy/dtheta_r = w^T J_t, dy/dw = h_t.

RFLO (Murray 2019) keeps only each parameter's influence on the unit it feeds and drops the
recurrent term U J_{t-1}: the eligibility P_t[p] of a parameter p in row q,

    P_t[p] = (1 - a) P_{t-1}[p] + a phi'_q D_t[p],        dy/dp ~ beta_q P_t[p]

with beta a fixed random feedback vector in place of the readout w (``feedback="random"``, the
paper's) or beta = w (``feedback="readout"``, vanilla-rtrl's default). UORO (Tallec & Ollivier
2018) is the LSTM family's (:func:`lstm_rtrl_kernels.lstm_step_with_uoro`) with the state s = h.
"""
from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from rtrlbench.agents.lstm_rtrl_kernels import random_sign, record_agreement, sensitivity_rows, td_step, uoro_parameter_rows

#: ``RNNSettings.approximation`` codes.
EXACT, UORO, RFLO = 0, 2, 3
#: ``RNNSettings.feedback`` codes (RFLO): a fixed random vector, or the readout weights w.
RANDOM_FEEDBACK, READOUT_FEEDBACK = 0, 1


class RNNState(NamedTuple):
    """Everything a checkpoint must hold (float64 arrays unless said).

    theta, trace, v: [P] weights, eligibility trace, RMSProp accumulator.
    h:               [d] RNN state after the last step.
    jh:              exact: [d, P_r] dh/dtheta_r; RFLO: [1, P_r] each parameter's eligibility on its
                     own unit; UORO: [0, P_r].
    u_tilde:         UORO: [d], the state factor of J ~ u_tilde theta_tilde^T; [0] otherwise.
    theta_tilde:     UORO: [P_r], its parameter factor; [0] otherwise.
    feedback:        RFLO: [d], the fixed random feedback vector beta; [0] otherwise.
    rng:             uint64[1], UORO's xorshift64* generator of the random signs.
    clock:           int64[1], steps since the stream (re)start.
    last_y:          [1], the last prediction.
    """

    theta: np.ndarray
    trace: np.ndarray
    v: np.ndarray
    h: np.ndarray
    jh: np.ndarray
    u_tilde: np.ndarray
    theta_tilde: np.ndarray
    feedback: np.ndarray
    rng: np.ndarray
    clock: np.ndarray
    last_y: np.ndarray


class RNNScratch(NamedTuple):
    """Per-step work arrays (not state): pre-activations z [d], h_{t-1} [d], dz (exact: [d, P_r];
    UORO: [2, d], the tangent's and the signs' dz) and the gradient dy/dtheta [P]."""

    z: np.ndarray
    h_prev: np.ndarray
    dz: np.ndarray
    grad: np.ndarray


class RNNSettings(NamedTuple):
    """Sizes, gradient (EXACT, UORO or RFLO), optimiser code and the update's scalars."""

    n_inputs: int
    n_hidden: int
    approximation: int
    optimizer: int
    alpha: float
    lam: float
    beta2: float
    eps: float
    uoro_eps: float
    leak: float            # a in (0, 1]
    feedback: int          # RFLO: RANDOM_FEEDBACK or READOUT_FEEDBACK
    fidelity_every: int    # 0: off; N: compare the gradient with the exact one every N steps


@nb.njit(cache=True)
def rnn_offsets(n, d):
    """Start of the U, b and w blocks in theta (W starts at 0), and P (the total size)."""
    ou = d * n
    ob = ou + d * d
    ow = ob + d
    return ou, ob, ow, ow + d


@nb.njit(cache=True)
def _forward(theta, x, state, scratch, n, d, leak):
    """z = W x + U h_{t-1} + b and h_t, in place (h_{t-1} kept in scratch); returns y_t."""
    ou, ob, ow, _ = rnn_offsets(n, d)
    z, h_prev, h = scratch.z, scratch.h_prev, state.h
    h_prev[:] = h
    y = 0.0
    for q in range(d):
        acc = theta[ob + q]
        for j in range(n):
            acc += theta[q * n + j] * x[j]
        for j in range(d):
            acc += theta[ou + q * d + j] * h_prev[j]
        z[q] = acc
        h[q] = (1.0 - leak) * h_prev[q] + leak * np.tanh(acc)
        y += theta[ow + q] * h[q]
    return y


@nb.njit(cache=True)
def rnn_step_exact(theta, x, state, scratch, n, d, leak):
    """One step and the exact influence matrix J_t, in place; returns y_t, fills ``scratch.grad``."""
    ou, ob, ow, _ = rnn_offsets(n, d)
    jh, z, h_prev, dz, grad = state.jh, scratch.z, scratch.h_prev, scratch.dz, scratch.grad
    y = _forward(theta, x, state, scratch, n, d, leak)
    p_r = ow
    sensitivity_rows(dz, theta, jh, d, x, h_prev, n, d, ou, ob, p_r)  # dz = U J_{t-1} + D_t
    for q in range(d):
        tz = np.tanh(z[q])
        gain, row, jq = leak * (1.0 - tz * tz), dz[q], jh[q]
        for p in range(p_r):
            jq[p] = (1.0 - leak) * jq[p] + gain * row[p]
    for p in range(p_r):
        acc = 0.0
        for q in range(d):
            acc += theta[ow + q] * jh[q, p]
        grad[p] = acc
    for q in range(d):
        grad[ow + q] = state.h[q]
    return y


@nb.njit(cache=True)
def rnn_step_rflo(theta, x, state, scratch, n, d, leak, feedback):
    """One step and RFLO's eligibilities P_t (module docstring), in place; returns y_t and fills
    ``scratch.grad`` with beta_q P_t[p] (beta = ``state.feedback`` or, with READOUT_FEEDBACK, w)."""
    ou, ob, ow, _ = rnn_offsets(n, d)
    elig, z, h_prev, grad = state.jh[0], scratch.z, scratch.h_prev, scratch.grad
    y = _forward(theta, x, state, scratch, n, d, leak)
    keep = 1.0 - leak
    for q in range(d):
        tz = np.tanh(z[q])
        gain = leak * (1.0 - tz * tz)
        beta = theta[ow + q] if feedback == READOUT_FEEDBACK else state.feedback[q]
        for j in range(n):
            p = q * n + j
            elig[p] = keep * elig[p] + gain * x[j]
            grad[p] = beta * elig[p]
        for j in range(d):
            p = ou + q * d + j
            elig[p] = keep * elig[p] + gain * h_prev[j]
            grad[p] = beta * elig[p]
        p = ob + q
        elig[p] = keep * elig[p] + gain
        grad[p] = beta * elig[p]
    for q in range(d):
        grad[ow + q] = state.h[q]
    return y


@nb.njit(cache=True)
def rnn_step_uoro(theta, x, state, scratch, n, d, leak, eps):
    """One step and UORO's rank-one update (Tallec & Ollivier 2018, Algorithm 1) with the state
    s = h, in place; returns y_t and fills ``scratch.grad`` with (w . u_tilde) theta_tilde (h for w).

    F_s u = (1 - a) u + a phi' * (U u) (the exact tangent), nu in {-1, 1}^d, and
    delta_theta = nu^T dh_t/dtheta_r (h_{t-1} fixed): row q is nu_q a phi'_q (x, h_{t-1}, 1);

        rho0 = sqrt(|theta_tilde| / (|F_s u_tilde| + eps)) + eps,  rho1 = sqrt(|delta_theta| / (|nu| + eps)) + eps
        u_tilde <- rho0 F_s u_tilde + rho1 nu,      theta_tilde <- theta_tilde / rho0 + delta_theta / rho1
    """
    ou, ob, ow, _ = rnn_offsets(n, d)
    u, tt, z, h_prev, grad = state.u_tilde, state.theta_tilde, scratch.z, scratch.h_prev, scratch.grad
    tangent, back = scratch.dz[0], scratch.dz[1]
    for q in range(d):  # U u_tilde, before the forward pass overwrites nothing it needs
        acc = 0.0
        for j in range(d):
            acc += theta[ou + q * d + j] * u[j]
        tangent[q] = acc
    y = _forward(theta, x, state, scratch, n, d, leak)
    tangent_norm2, nu_norm2 = 0.0, 0.0
    for q in range(d):
        tz = np.tanh(z[q])
        gain = leak * (1.0 - tz * tz)
        u[q] = (1.0 - leak) * u[q] + gain * tangent[q]  # F_s u_tilde, scaled below
        tangent_norm2 += u[q] * u[q]
        nu = random_sign(state.rng)
        nu_norm2 += 1.0
        tangent[q], back[q] = nu, nu * gain  # keep nu; back[q]: delta_theta's row factor
    inputs_norm2 = 1.0
    for j in range(n):
        inputs_norm2 += x[j] * x[j]
    for j in range(d):
        inputs_norm2 += h_prev[j] * h_prev[j]
    back_norm2, tt_norm2 = 0.0, 0.0
    for q in range(d):
        back_norm2 += back[q] * back[q] * inputs_norm2
    for p in range(ow):
        tt_norm2 += tt[p] * tt[p]
    rho0 = np.sqrt(np.sqrt(tt_norm2) / (np.sqrt(tangent_norm2) + eps)) + eps
    rho1 = np.sqrt(np.sqrt(back_norm2) / (np.sqrt(nu_norm2) + eps)) + eps
    out_h = 0.0
    for q in range(d):
        u[q] = rho0 * u[q] + rho1 * tangent[q]
        out_h += theta[ow + q] * u[q]
    uoro_parameter_rows(tt, grad, back, d, x, h_prev, n, d, ou, ob, rho0, rho1, out_h)
    for q in range(d):
        grad[ow + q] = state.h[q]
    return y


@nb.njit(cache=True)
def run_steps(obs, cumulant, gamma, out, state, scratch, settings, shadow, shadow_scratch, fidelity):
    """Process the rows of a chunk in order; ``out[i]`` = the prediction made at row i.

    As :func:`lstm_rtrl_kernels.run_steps` (TD(lambda) order, the exact shadow and ``fidelity``
    rows every ``settings.fidelity_every`` steps), for the tanh RNN.
    """
    n, d, leak = settings.n_inputs, settings.n_hidden, settings.leak
    for row in range(obs.shape[0]):
        t = state.clock[0]
        if settings.fidelity_every > 0:
            rnn_step_exact(state.theta, obs[row], shadow, shadow_scratch, n, d, leak)
        if settings.approximation == RFLO:
            y = rnn_step_rflo(state.theta, obs[row], state, scratch, n, d, leak, settings.feedback)
        elif settings.approximation == UORO:
            y = rnn_step_uoro(state.theta, obs[row], state, scratch, n, d, leak, settings.uoro_eps)
        else:
            y = rnn_step_exact(state.theta, obs[row], state, scratch, n, d, leak)
        record_agreement(fidelity, row, settings.fidelity_every > 0 and t % settings.fidelity_every == 0,
                         scratch.grad, shadow_scratch.grad, d)
        td_step(state, scratch.grad, y, cumulant[row], gamma[row], settings)
        out[row] = y
