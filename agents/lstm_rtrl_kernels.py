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
    jh, jc:          [d, P_r] influence matrices dh/dtheta_r, dc/dtheta_r after the last step
                     (SnAp-1: [1, P_r], each parameter's influence on its own unit; UORO: [0, P_r]).
    u_tilde:         UORO: [2d], the state factor (h part, then c part) of the rank-one estimate
                     J ~ u_tilde theta_tilde^T; [0] otherwise.
    theta_tilde:     UORO: [P_r], its parameter factor; [0] otherwise.
    rng:             uint64[1], UORO's xorshift64* generator of the random signs (unused otherwise).
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
    u_tilde: np.ndarray
    theta_tilde: np.ndarray
    rng: np.ndarray
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
    uoro_eps: float
    fidelity_every: int    # 0: off; N: compare the gradient with the exact one every N steps


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
    sensitivity_rows(dz, theta, jh, 4 * d, x, h_prev, n, d, ou, ob, p_r)
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


@nb.njit(cache=True)
def random_sign(rng):
    """+1 or -1 with probability 1/2 each, from the xorshift64* generator whose state is ``rng[0]``."""
    x = rng[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    rng[0] = x
    return 1.0 if ((x * np.uint64(2685821657736338717)) >> np.uint64(63)) == np.uint64(1) else -1.0


@nb.njit(cache=True)
def lstm_step_with_uoro(theta, x, state, scratch, n, d, eps):
    """One LSTM step and UORO's rank-one update (Tallec & Ollivier 2018, Algorithm 1), in place;
    returns y_t and fills ``scratch.grad`` with the estimate (w . u_h) theta_tilde (and h for w).

    With s = (h, c), the tangent F_s u_tilde (the dynamics' Jacobian applied to u_tilde, exact,
    by forward differentiation), random signs nu in {-1, 1}^{2d} and
    delta_theta = nu^T ds_t/dtheta_r (s_{t-1} fixed; W: dz x^T, U: dz h_{t-1}^T, b: dz):

        rho0 = sqrt(|theta_tilde| / (|F_s u_tilde| + eps)) + eps
        rho1 = sqrt(|delta_theta| / (|nu| + eps)) + eps
        u_tilde     <- rho0 F_s u_tilde + rho1 nu
        theta_tilde <- theta_tilde / rho0 + delta_theta / rho1

    so that E[u_tilde theta_tilde^T] = ds_t/dtheta_r exactly. O(|theta|) per step.
    """
    ou, ob, ow, size = offsets(n, d)
    h, c, u, tt = state.h, state.c, state.u_tilde, state.theta_tilde
    z, h_prev, c_prev, grad = scratch.z, scratch.h_prev, scratch.c_prev, scratch.grad
    jvp, vjp = scratch.dz[0], scratch.dz[1]  # dz of the tangent and of the signs, [4d] each
    _preactivations(theta, x, state, scratch, n, d)
    for r in range(4 * d):  # U u_h: the tangent of the pre-activations
        acc = 0.0
        for j in range(d):
            acc += theta[ou + r * d + j] * u[j]
        jvp[r] = acc
    y, tangent_norm2, nu_norm2, vjp_norm2 = 0.0, 0.0, 0.0, 0.0
    for q in range(d):
        i, f, g, o, cq, tc = _unit(z, c_prev, q, d)
        c[q], h[q] = cq, o * tc
        y += theta[ow + q] * h[q]
        di, df, dg, do, dtc = i * (1.0 - i), f * (1.0 - f), 1.0 - g * g, o * (1.0 - o), 1.0 - tc * tc
        dc = f * u[d + q] + c_prev[q] * df * jvp[d + q] + g * di * jvp[q] + i * dg * jvp[2 * d + q]
        dh = tc * do * jvp[3 * d + q] + o * dtc * dc
        u[q], u[d + q] = dh, dc  # F_s u_tilde, scaled below
        tangent_norm2 += dh * dh + dc * dc
        nu_h, nu_c = random_sign(state.rng), random_sign(state.rng)
        nu_norm2 += 2.0
        back_c = nu_h * o * dtc + nu_c  # nu^T ds/dc_t
        vjp[q], vjp[d + q] = back_c * g * di, back_c * c_prev[q] * df
        vjp[2 * d + q], vjp[3 * d + q] = back_c * i * dg, nu_h * tc * do
        jvp[q], jvp[d + q] = nu_h, nu_c  # keep nu (the tangent of z is no longer needed)
    inputs_norm2 = 1.0
    for j in range(n):
        inputs_norm2 += x[j] * x[j]
    for j in range(d):
        inputs_norm2 += h_prev[j] * h_prev[j]
    for r in range(4 * d):
        vjp_norm2 += vjp[r] * vjp[r] * inputs_norm2  # |delta_theta|^2: row r is vjp[r] (x, h_{t-1}, 1)
    tt_norm2 = 0.0
    for p in range(ow):
        tt_norm2 += tt[p] * tt[p]
    rho0 = np.sqrt(np.sqrt(tt_norm2) / (np.sqrt(tangent_norm2) + eps)) + eps
    rho1 = np.sqrt(np.sqrt(vjp_norm2) / (np.sqrt(nu_norm2) + eps)) + eps
    for q in range(d):
        u[q] = rho0 * u[q] + rho1 * jvp[q]
        u[d + q] = rho0 * u[d + q] + rho1 * jvp[d + q]
    out_h = 0.0
    for q in range(d):
        out_h += theta[ow + q] * u[q]
    uoro_parameter_rows(tt, grad, vjp, 4 * d, x, h_prev, n, d, ou, ob, rho0, rho1, out_h)
    for q in range(d):
        grad[ow + q] = h[q]
    return y


@nb.njit(cache=True, inline="always")
def sensitivity_rows(dz, theta, jh, rows, x, h_prev, n, d, ou, ob, p_r):
    """dz[r] = sum_j U[r, j] Jh[j] + D_t[r] for each of the ``rows`` pre-activation rows (over the first
    ``p_r`` recurrent parameters; U at ``ou``, the immediate term D_t: x at r n, h_prev at ``ou`` + r d,
    1 at ``ob`` + r). ``jh`` is still the previous step's. Shared by the dense LSTM (4d rows) and the
    tanh RNN (d rows)."""
    for r in range(rows):
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


@nb.njit(cache=True, inline="always")
def uoro_parameter_rows(tt, grad, back, rows, x, h_prev, n, d, ou, ob, rho0, rho1, out_h):
    """UORO's rank-one update of the parameter side, row by row of the pre-activations: theta_tilde
    <- theta_tilde / rho0 + (back_r / rho1) [x, h_prev, 1] for each of the ``rows`` rows (input weights at
    r n, recurrent at ``ou`` + r d, bias at ``ob`` + r), and grad = out_h * theta_tilde. Shared by the
    dense LSTM (4d rows) and the tanh RNN (d rows)."""
    for r in range(rows):
        a = back[r] / rho1
        for j in range(n):
            p = r * n + j
            tt[p] = tt[p] / rho0 + a * x[j]
            grad[p] = out_h * tt[p]
        for j in range(d):
            p = ou + r * d + j
            tt[p] = tt[p] / rho0 + a * h_prev[j]
            grad[p] = out_h * tt[p]
        p = ob + r
        tt[p] = tt[p] / rho0 + a
        grad[p] = out_h * tt[p]


#: ``LSTMRTRLSettings.approximation`` codes.
EXACT, SNAP1, UORO = 0, 1, 2


@nb.njit(cache=True)
def gradient_agreement(grad, exact):
    """(cosine similarity, relative error |grad - exact| / |exact|) of two gradients (NaN for a zero exact one)."""
    dot, norm_g, norm_e, diff = 0.0, 0.0, 0.0, 0.0
    for p in range(grad.shape[0]):
        dot += grad[p] * exact[p]
        norm_g += grad[p] * grad[p]
        norm_e += exact[p] * exact[p]
        diff += (grad[p] - exact[p]) ** 2
    if norm_e == 0.0:
        return np.nan, np.nan
    cosine = dot / np.sqrt(norm_g * norm_e) if norm_g > 0.0 else 0.0
    return cosine, np.sqrt(diff / norm_e)


#: Columns of a fidelity row: cosine and relative error over all parameters, then over the recurrent ones.
FIDELITY_COLUMNS = ("cosine", "relative_error", "cosine_recurrent", "relative_error_recurrent")


@nb.njit(cache=True)
def record_agreement(fidelity, row, measured, grad, exact, n_readout):
    """``fidelity[row]`` = the :data:`FIDELITY_COLUMNS` of ``grad`` against ``exact`` (the recurrent
    part: all but the last ``n_readout`` entries, the readout w), or NaN when not ``measured``."""
    if not measured:
        fidelity[row, :] = np.nan
        return
    fidelity[row, 0], fidelity[row, 1] = gradient_agreement(grad, exact)
    p_r = grad.shape[0] - n_readout
    fidelity[row, 2], fidelity[row, 3] = gradient_agreement(grad[:p_r], exact[:p_r])


@nb.njit(cache=True)
def td_step(state, grad, y, cumulant, gamma, settings):
    """The TD(lambda) tail of a step, after the forward pass gave y = y_{t+1} and its ``grad``:
    delta = c + gamma y - y_t; theta += step(delta e); e = lambda gamma e + grad; then the clock
    and last prediction move on. At clock 0 (stream start) the trace starts afresh, no update.
    ``state`` and ``settings`` are any NamedTuples with the fields used here (the dense-LSTM and
    tanh-RNN learners' share them)."""
    t, size = state.clock[0], state.theta.shape[0]
    if t > 0:
        delta = cumulant + gamma * y - state.last_y[0]
        update_then_accumulate(state.theta, state.trace, grad, size, delta, settings.alpha, settings.lam * gamma,
                               settings.optimizer, state.v, settings.beta2, settings.eps)
    else:
        update_then_accumulate(state.theta, state.trace, grad, size, 0.0, settings.alpha, 0.0, NO_UPDATE, state.v,
                               settings.beta2, settings.eps)
    state.last_y[0] = y
    state.clock[0] = t + 1


@nb.njit(cache=True)
def run_steps(obs, cumulant, gamma, out, state, scratch, settings, shadow, shadow_scratch, fidelity):
    """Process the rows of a chunk in order; ``out[i]`` = the prediction made at row i.

    With ``settings.fidelity_every = N > 0``, ``shadow`` (an exact-RTRL state on the same theta and
    stream) is stepped too, and every N-th step (clock t = 0, N, 2N, ...) ``fidelity[i]`` gets the
    cosine and relative error of the learner's dy/dtheta against the exact one, on the same weights
    (else NaN). The shadow never changes the learner's arithmetic.

    Order per step, as in :mod:`rtrlbench.agents.td_lambda`: forward and dy/dtheta with
    theta_t -> y_{t+1}; delta = c + gamma y_{t+1} - y_t; theta += step(delta e_t);
    e_{t+1} = lambda gamma e_t + grad. At ``clock = 0`` (stream start) there is no update and
    the trace starts afresh. A ``gamma = 0`` restarts the trace only: the LSTM state and its
    influence matrices run on, as in the T-BPTT learner.
    """
    theta = state.theta
    n, d = settings.n_inputs, settings.n_hidden
    for row in range(obs.shape[0]):
        t = state.clock[0]
        if settings.fidelity_every > 0:
            lstm_step_with_sensitivities(theta, obs[row], shadow, shadow_scratch, n, d)
        if settings.approximation == SNAP1:
            y = lstm_step_with_snap1(theta, obs[row], state, scratch, n, d)
        elif settings.approximation == UORO:
            y = lstm_step_with_uoro(theta, obs[row], state, scratch, n, d, settings.uoro_eps)
        else:
            y = lstm_step_with_sensitivities(theta, obs[row], state, scratch, n, d)
        record_agreement(fidelity, row, settings.fidelity_every > 0 and t % settings.fidelity_every == 0,
                         scratch.grad, shadow_scratch.grad, d)
        td_step(state, scratch.grad, y, cumulant[row], gamma[row], settings)
        out[row] = y
