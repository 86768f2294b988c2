"""Compiled kernels of the Recurrent Trace Unit learners (Elelimy, White, Bowling & White 2024):
one step of n complex-diagonal units in real form, their exact RTRL sensitivities, and the
per-chunk TD(lambda) loop.

Unit k (k = 0..n-1) holds a complex number h = h1 + i h2 and is parameterised by
``nu_log``, ``theta_log`` and two rows of input weights W1[k], W2[k] (no input bias):

    nu = exp(nu_log),  r = exp(-nu),  theta = exp(theta_log)      (so 0 < r < 1, theta > 0)
    g = r cos(theta),  phi = r sin(theta),  eta = sqrt(1 - r^2)     (eta = 1 with input_scale "one")
    rot1 = g h1(t-1) - phi h2(t-1),   rot2 = g h2(t-1) + phi h1(t-1)     (the 2x2 rotation block)
    a1 = rot1 + eta W1[k].x_t,        a2 = rot2 + eta W2[k].x_t

* linear RTU:     h = a;         features f(h1), f(h2)
* non-linear RTU: h = f(a);      features h1, h2 (the activation sits inside the recurrence)

and the prediction is y = b + sum_k v1_k feature1_k + v2_k feature2_k.

Sensitivities (forward mode, diagonal: unit k's state depends only on unit k's parameters),
with d1 = f'(a1), d2 = f'(a2) for the non-linear RTU and d1 = d2 = 1 for the linear one:

    S^nu:    S1 <- d1 (-nu rot1 + deta u1 + g S1 - phi S2),   S2 <- d2 (-nu rot2 + deta u2 + g S2 + phi S1)
    S^theta: S1 <- d1 (-c rot2 + g S1 - phi S2),              S2 <- d2 ( c rot1 + g S2 + phi S1)
    S^W1_j:  S1 <- d1 (g S1 - phi S2 + eta x_j),              S2 <- d2 (g S2 + phi S1)
    S^W2_j:  S1 <- d1 (g S1 - phi S2),                        S2 <- d2 (g S2 + phi S1 + eta x_j)

with u = W.x, deta = d eta / d nu_log = nu r^2 / eta (0 with input_scale "one"), and c = theta
(the exact chain rule through theta = exp(theta_log)) or c = 1 (the authors' code, which uses
d/d theta for theta_log). The right-hand sides use the state and sensitivities of step t-1
(S1 on the right of S2's update is the old one). For the linear RTU the rotation commutes with
J = [[0, -1], [1, 0]] and the W2 drive is J times the W1 drive, so S^W2 = J S^W1 = (-S2, S1) of
S^W1: only S^W1 is stored (half the memory and work). The gradient is
dy/dp = c1 S1 + c2 S2 with (c1, c2) = (v1 f'(h1), v2 f'(h2)) (linear) or (v1, v2) (non-linear).

Parameter vector theta (float64[P], P = 2nm + 4n + 1, m inputs):
``[W1 (n, m) | W2 (n, m) | nu_log (n) | theta_log (n) | b | v1 (n) | v2 (n)]``.
"""
from typing import NamedTuple

import numba as nb
import numpy as np

from rtrlbench.agents.td_lambda import NO_UPDATE, update_then_accumulate

#: Activation codes (``activation`` hyperparameter).
IDENTITY, RELU, TANH = 0, 1, 2
#: Trace entries smaller than this in magnitude are set to 0 after each step: a dead ReLU unit's
#: trace would otherwise decay into subnormal numbers, whose arithmetic is ~2x slower per step
#: (measured: non-linear RTU 17 on trace patterning, RMSProp). Their share of an update, alpha delta e,
#: is below 1e-290: no parameter of a size that matters can see it.
TRACE_FLUSH = 1e-290
#: Sum reordering and FMA contraction, so that the input projections vectorise (deterministic per machine).
FASTMATH = {"reassoc", "contract"}


class RTUConfig(NamedTuple):
    """The fixed settings the compiled loop reads."""

    n_inputs: int         # m
    n_units: int          # n (complex units; 2n features)
    nonlinear: bool       # activation inside the recurrence (non-linear RTU) or on its output (linear RTU)
    activation: int       # IDENTITY, RELU or TANH
    normalise_input: bool  # scale the input drive by eta = sqrt(1 - r^2)
    theta_chain: bool     # exact d/d theta_log (True) or the authors' code's d/d theta (False)
    optimizer: int        # td_lambda.SGD, RMSPROP or OBGD
    alpha: float          # step size
    lam: float            # trace decay lambda
    beta2: float          # RMSProp decay
    eps: float            # RMSProp offset


class RTUState(NamedTuple):
    """Every array of an RTU learner (float64); the learner's checkpoint. n units, m inputs, P parameters."""

    theta: np.ndarray   # [P]: parameters (layout in the module docstring)
    trace: np.ndarray   # [P]: eligibility trace e
    grad: np.ndarray    # [P]: d y_t / d theta of the last prediction
    v: np.ndarray       # [P]: RMSProp state (starts at 1)
    h: np.ndarray       # [2, n]: the units' state (h1, h2)
    s_rec: np.ndarray   # [4, n]: d(h1, h2)/d nu_log, then d(h1, h2)/d theta_log
    s_in: np.ndarray    # [2, n, m] (linear: S1, S2 of W1) or [4, n, m] (non-linear: S1, S2 of W1, then of W2)
    x: np.ndarray       # [m]: the current observation in float64 (scratch)
    y_prev: np.ndarray  # [1]: the last prediction


def n_parameters(n_inputs: int, n_units: int) -> int:
    return 2 * n_units * n_inputs + 4 * n_units + 1


@nb.njit(cache=True)
def offsets(n, m):
    """Starts of the W2, nu_log, theta_log, b, v1 and v2 blocks of theta (W1 starts at 0)."""
    o_w2 = n * m
    o_nu = 2 * n * m
    o_th = o_nu + n
    o_b = o_th + n
    return o_w2, o_nu, o_th, o_b, o_b + 1, o_b + 1 + n


@nb.njit(cache=True, inline="always")
def activate(a, kind):
    """(f(a), f'(a)); ReLU's slope at 0 is 0 (as in the authors' code and PyTorch)."""
    if kind == RELU:
        return (a, 1.0) if a > 0.0 else (0.0, 0.0)
    if kind == TANH:
        t = np.tanh(a)
        return t, 1.0 - t * t
    return a, 1.0


@nb.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def forward_and_gradient(state, config):
    """One step from ``state.x``: the units' new state and sensitivities, d y / d theta into
    ``state.grad``; returns y. Uses theta as it stands (before this step's TD update)."""
    n, m = config.n_units, config.n_inputs
    theta, grad, h, s_rec, s_in, x = state.theta, state.grad, state.h, state.s_rec, state.s_in, state.x
    o_w2, o_nu, o_th, o_b, o_v1, o_v2 = offsets(n, m)
    y = theta[o_b]
    grad[o_b] = 1.0
    for k in range(n):
        nu = np.exp(theta[o_nu + k])
        r = np.exp(-nu)
        th = np.exp(theta[o_th + k])
        g, ph = r * np.cos(th), r * np.sin(th)
        if config.normalise_input:
            eta = np.sqrt(-np.expm1(-2.0 * nu))
            deta = nu * r * r / eta
        else:
            eta, deta = 1.0, 0.0
        c_th = th if config.theta_chain else 1.0
        w1, w2 = k * m, o_w2 + k * m
        u1 = 0.0
        u2 = 0.0
        for j in range(m):
            u1 += theta[w1 + j] * x[j]
            u2 += theta[w2 + j] * x[j]
        rot1 = g * h[0, k] - ph * h[1, k]
        rot2 = g * h[1, k] + ph * h[0, k]
        a1, a2 = rot1 + eta * u1, rot2 + eta * u2
        sn1, sn2, st1, st2 = s_rec[0, k], s_rec[1, k], s_rec[2, k], s_rec[3, k]
        dn1 = -nu * rot1 + deta * u1 + g * sn1 - ph * sn2
        dn2 = -nu * rot2 + deta * u2 + g * sn2 + ph * sn1
        dt1 = -c_th * rot2 + g * st1 - ph * st2
        dt2 = c_th * rot1 + g * st2 + ph * st1
        v1, v2 = theta[o_v1 + k], theta[o_v2 + k]
        if config.nonlinear:
            f1, d1 = activate(a1, config.activation)
            f2, d2 = activate(a2, config.activation)
            h[0, k], h[1, k] = f1, f2
            dn1, dt1, dn2, dt2 = d1 * dn1, d1 * dt1, d2 * dn2, d2 * dt2
            c1, c2 = v1, v2
        else:
            h[0, k], h[1, k] = a1, a2
            f1, slope1 = activate(a1, config.activation)
            f2, slope2 = activate(a2, config.activation)
            c1, c2 = v1 * slope1, v2 * slope2
        s_rec[0, k], s_rec[1, k], s_rec[2, k], s_rec[3, k] = dn1, dn2, dt1, dt2
        y += v1 * f1 + v2 * f2
        grad[o_v1 + k], grad[o_v2 + k] = f1, f2
        grad[o_nu + k] = c1 * dn1 + c2 * dn2
        grad[o_th + k] = c1 * dt1 + c2 * dt2
        if config.nonlinear:
            for j in range(m):
                p1, p2, q1, q2 = s_in[0, k, j], s_in[1, k, j], s_in[2, k, j], s_in[3, k, j]
                drive = eta * x[j]
                p1, p2 = d1 * (g * p1 - ph * p2 + drive), d2 * (g * p2 + ph * p1)
                q1, q2 = d1 * (g * q1 - ph * q2), d2 * (g * q2 + ph * q1 + drive)
                s_in[0, k, j], s_in[1, k, j], s_in[2, k, j], s_in[3, k, j] = p1, p2, q1, q2
                grad[w1 + j] = c1 * p1 + c2 * p2
                grad[w2 + j] = c1 * q1 + c2 * q2
        else:
            for j in range(m):
                p1, p2 = s_in[0, k, j], s_in[1, k, j]
                p1, p2 = g * p1 - ph * p2 + eta * x[j], g * p2 + ph * p1
                s_in[0, k, j], s_in[1, k, j] = p1, p2
                grad[w1 + j] = c1 * p1 + c2 * p2
                grad[w2 + j] = c2 * p1 - c1 * p2  # S^W2 = (-S2, S1) of S^W1
    return y


@nb.njit(cache=True)
def flush_tiny(values):
    """values[i] = 0 where |values[i]| < TRACE_FLUSH (a branch-free select: the loop vectorises)."""
    for i in range(values.shape[0]):
        v = values[i]
        values[i] = v if abs(v) >= TRACE_FLUSH else 0.0


@nb.njit(cache=True)
def run_kernel(obs, cumulant, gamma, predictions, first, state, config):
    """TD(lambda) over the rows of a chunk, in the order of :mod:`rtrlbench.agents.td_lambda`,
    writing each row's prediction into ``predictions`` (float64[T]); ``first``: row 0 is x_0
    of a new stream (state and sensitivities start at 0, no update); trace entries below
    TRACE_FLUSH are flushed to 0 after each update. ``state``: :class:`RTUState`,
    ``config``: :class:`RTUConfig`. A gamma = 0 restarts the trace only; the units' state runs on."""
    x = state.x
    size = state.theta.shape[0]
    for row in range(obs.shape[0]):
        is_first = first and row == 0
        if is_first:
            state.h[:, :] = 0.0
            state.s_rec[:, :] = 0.0
            state.s_in[:, :, :] = 0.0
        for j in range(x.shape[0]):
            x[j] = obs[row, j]
        y = forward_and_gradient(state, config)
        predictions[row] = y
        delta = 0.0 if is_first else cumulant[row] + gamma[row] * y - state.y_prev[0]
        decay = 0.0 if is_first else config.lam * gamma[row]
        step_rule = NO_UPDATE if is_first else config.optimizer
        update_then_accumulate(state.theta, state.trace, state.grad, size, delta, config.alpha, decay, step_rule,
                               state.v, config.beta2, config.eps)
        flush_tiny(state.trace)
        state.y_prev[0] = y
