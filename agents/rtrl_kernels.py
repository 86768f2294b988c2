"""Compiled kernels of the Williams & Zipser (1989) real-time recurrent learner.

Network (paper eqs. 2.1-2.3): n units, M = m + n inputs to every unit,

    z(t) = [x(t), y(t)]        x: m external lines (line 0 is the bias, 1, when used), y: unit outputs
    s(t) = W z(t)              W: float64[n, M], stored flat (w[i * M + j] = W[i, j])
    y(t+1) = f(s(t))           f logistic or tanh

Sensitivities (eq. 2.12), one row per unit, one column per weight:

    p[k, i * M + j] = d y_k / d w_ij
    p'[k, :] = f'(s_k) * (sum_l W[k, m + l] * p[l, :] + z_j at columns i = k)

Teacher forcing (eqs. 2.17-2.19): a forced unit's z entry is its teacher value and its
p row is zero when the next step is computed.

Cost: n^2 (n + m) sensitivities; n^3 (n + m) multiply-adds per step.
"""
from typing import NamedTuple

import numba as nb
import numpy as np

from rtrlbench.agents.td_lambda import OBGD, OBGD_KAPPA, SGD, accumulate_trace, apply_update, obgd_delta, \
    weighted_trace_l1

LOGISTIC = 0
TANH = 1
UNIT = 0
LINEAR = 1


class RTRLArrays(NamedTuple):
    """The network's arrays (float64 unless said otherwise), n units, M = m + n inputs per unit."""

    w: np.ndarray        # [n M]: W, flat (w[i * M + j] = W[i, j])
    v: np.ndarray        # [n + 1]: linear readout weights, then its bias
    y: np.ndarray        # [n]: unit outputs
    p: np.ndarray        # [n, n M]: sensitivities p[k, i M + j] = d y_k / d w_ij
    pn: np.ndarray       # [n, n M]: the next step's sensitivities (swapped with p every step)
    z: np.ndarray        # [M]: z(t) = [x(t), y(t)]
    acc: np.ndarray      # [n M]: epochwise RTRL's weight changes of the epoch so far
    clock: np.ndarray    # int64[1]: supervised rows seen
    trace_w: np.ndarray  # [n M]: eligibility trace of w (stream API)
    trace_v: np.ndarray  # [n + 1]: eligibility trace of v
    grad_w: np.ndarray   # [n M]: d prediction / d w
    grad_v: np.ndarray   # [n + 1]: d prediction / d v
    alpha_w: np.ndarray  # [n M]: per-weight step sizes (stream API)
    alpha_v: np.ndarray  # [n + 1]
    rms_w: np.ndarray    # [n M]: RMSProp state of w
    rms_v: np.ndarray    # [n + 1]: RMSProp state of v
    memory: np.ndarray   # [2]: started (1.0) and the last prediction (stream API)


class SupervisedRun(NamedTuple):
    """The settings of one :func:`supervised` call."""

    alpha: float
    activation: int        # LOGISTIC or TANH
    bias: bool             # line 0 of x is a bias of 1
    teacher_forcing: bool
    epoch_length: int      # 0: real-time RTRL
    learn: bool            # False: run frozen


class StreamSettings(NamedTuple):
    """The settings of :func:`td_stream`."""

    activation: int        # LOGISTIC or TANH
    bias: bool
    readout: int           # UNIT or LINEAR
    teacher_forcing: bool
    optimizer: int         # td_lambda.SGD, RMSPROP or OBGD
    lam: float
    beta2: float           # RMSProp decay
    eps: float             # RMSProp offset


@nb.njit(cache=True)
def load_inputs(z, x, bias):
    """z[:m] = [1, x] (bias) or x; the unit part z[m:] is left alone."""
    if bias:
        z[0] = 1.0
        for j in range(x.shape[0]):
            z[1 + j] = x[j]
    else:
        for j in range(x.shape[0]):
            z[j] = x[j]


@nb.njit(cache=True)
def forward(w, z, y, p, pn, activation, sensitivities):
    """One network step in place: y <- f(W z), and (if ``sensitivities``) pn <- p(t+1).

    ``z`` must hold [x(t), y(t)] (teacher values substituted); ``p`` holds p(t) with the
    rows of forced units already zeroed. Returns nothing; the caller swaps p and pn.
    """
    n = y.shape[0]
    big_m = z.shape[0]
    m = big_m - n
    width = n * big_m
    for k in range(n):
        s = 0.0
        base = k * big_m
        for j in range(big_m):
            s += w[base + j] * z[j]
        if activation == LOGISTIC:
            yk = 1.0 / (1.0 + np.exp(-s))
            slope = yk * (1.0 - yk)
        else:
            yk = np.tanh(s)
            slope = 1.0 - yk * yk
        y[k] = yk
        if not sensitivities:
            continue
        row = pn[k]
        for q in range(width):
            row[q] = 0.0
        recurrent = base + m
        l = 0
        while l + 4 <= n:  # four rows of p per pass: a quarter of the loads and stores of row
            w0, w1, w2, w3 = w[recurrent + l], w[recurrent + l + 1], w[recurrent + l + 2], w[recurrent + l + 3]
            p0, p1, p2, p3 = p[l], p[l + 1], p[l + 2], p[l + 3]
            for q in range(width):
                row[q] += w0 * p0[q] + w1 * p1[q] + w2 * p2[q] + w3 * p3[q]
            l += 4
        while l < n:
            wkl = w[recurrent + l]
            pl = p[l]
            for q in range(width):
                row[q] += wkl * pl[q]
            l += 1
        for j in range(big_m):
            row[base + j] += z[j]
        for q in range(width):
            row[q] *= slope


@nb.njit(cache=True)
def supervised(inputs, targets, mask, outputs, arrays, run):
    """Train (or, with ``learn`` false, just run) on rows t of a supervised chunk.

    Row t: inputs x(t) float[T, m_ext], targets d(t) float64[T, K] for units 0..K-1,
    mask bool[T, K] (the set T(t)). On entry ``y`` holds y(t) of the first row.
    outputs[t, k] receives y_k(t), the output judged against d_k(t).
    ``clock[0]`` counts rows seen; with ``epoch_length`` L > 0 the weight changes of
    rows t with errors in (t0, t0 + L] accumulate in ``acc`` and are applied at row
    t0 + L, where p is reset to 0 (exact gradient of J_total over the epoch); with
    L = 0 each row's change is applied at once (real-time RTRL).
    ``arrays``: :class:`RTRLArrays`; ``run``: :class:`SupervisedRun`.
    Returns the (possibly swapped) sensitivity buffers (p, pn).
    """
    w, y, p, pn, z, acc, clock = arrays.w, arrays.y, arrays.p, arrays.pn, arrays.z, arrays.acc, arrays.clock
    alpha, activation, bias, teacher_forcing = run.alpha, run.activation, run.bias, run.teacher_forcing
    epoch_length, learn = run.epoch_length, run.learn
    n = y.shape[0]
    big_m = z.shape[0]
    m = big_m - n
    n_targets = targets.shape[1]
    for t in range(inputs.shape[0]):
        for k in range(n_targets):
            outputs[t, k] = y[k]
        if learn:
            dst = acc if epoch_length > 0 else w
            for k in range(n_targets):
                if mask[t, k]:
                    scale = alpha * (targets[t, k] - y[k])
                    if scale != 0.0:
                        pk = p[k]
                        for q in range(dst.shape[0]):
                            dst[q] += scale * pk[q]
            if epoch_length > 0 and clock[0] > 0 and clock[0] % epoch_length == 0:
                for q in range(w.shape[0]):
                    w[q] += acc[q]
                    acc[q] = 0.0
                p[:, :] = 0.0
        clock[0] += 1
        load_inputs(z, inputs[t], bias)
        for k in range(n):
            z[m + k] = y[k]
        if teacher_forcing:
            for k in range(n_targets):
                if mask[t, k]:
                    z[m + k] = targets[t, k]
                    if learn:
                        p[k, :] = 0.0
        forward(w, z, y, p, pn, activation, learn)
        if learn:
            p, pn = pn, p
    return p, pn


@nb.njit(cache=True)
def readout(y, v, mode):
    """The prediction: unit 0's output, or the linear readout v . [y, 1]."""
    if mode == UNIT:
        return y[0]
    n = y.shape[0]
    out = v[n]
    for k in range(n):
        out += v[k] * y[k]
    return out


@nb.njit(cache=True)
def readout_gradient(y, v, p, mode, grad_w, grad_v):
    """d prediction / d (w, v) into grad_w [n M] and grad_v [n + 1]."""
    if mode == UNIT:
        grad_w[:] = p[0]
        return
    n = y.shape[0]
    grad_w[:] = 0.0
    for k in range(n):
        if v[k] != 0.0:
            pk = p[k]
            for q in range(grad_w.shape[0]):
                grad_w[q] += v[k] * pk[q]
        grad_v[k] = y[k]
    grad_v[n] = 1.0


@nb.njit(cache=True)
def td_stream(obs, cumulant, gamma, out, arrays, settings):
    """TD(lambda) on a prediction stream, in the order of :mod:`rtrlbench.agents.td_lambda`.

    memory[0] = 1 once the stream has started (else row 0 resets the network state and
    plays ``predict``); memory[1] = the last prediction y_t. ``y`` holds the unit outputs
    after the last observation (W-Z's y(t+1)). With ``teacher_forcing`` (gamma = 0 streams,
    unit readout) unit 0 is replaced by the arriving cumulant, its p row zeroed.
    ``arrays``: :class:`RTRLArrays`; ``settings``: :class:`StreamSettings`.
    Returns the (possibly swapped) sensitivity buffers (p, pn).
    """
    w, v, y, p, pn, z = arrays.w, arrays.v, arrays.y, arrays.p, arrays.pn, arrays.z
    trace_w, trace_v, grad_w, grad_v = arrays.trace_w, arrays.trace_v, arrays.grad_w, arrays.grad_v
    alpha_w, alpha_v, rms_w, rms_v, memory = arrays.alpha_w, arrays.alpha_v, arrays.rms_w, arrays.rms_v, arrays.memory
    activation, bias, mode, teacher_forcing = settings.activation, settings.bias, settings.readout, \
        settings.teacher_forcing
    optimizer, lam, beta2, eps = settings.optimizer, settings.lam, settings.beta2, settings.eps
    n = y.shape[0]
    big_m = z.shape[0]
    m = big_m - n
    for t in range(obs.shape[0]):
        started = memory[0] > 0.0
        if not started:
            y[:] = 0.0
            p[:, :] = 0.0
            trace_w[:] = 0.0
            trace_v[:] = 0.0
        elif teacher_forcing:
            y[0] = cumulant[t]
            p[0, :] = 0.0
        load_inputs(z, obs[t], bias)
        for k in range(n):
            z[m + k] = y[k]
        forward(w, z, y, p, pn, activation, True)
        p, pn = pn, p
        prediction = readout(y, v, mode)
        readout_gradient(y, v, p, mode, grad_w, grad_v)
        if started:
            delta = cumulant[t] + gamma[t] * prediction - memory[1]
            rule = optimizer
            if optimizer == OBGD:  # one bound over W and the readout: SGD with obgd_delta (td_lambda)
                alpha_l1 = weighted_trace_l1(trace_w, alpha_w)
                if mode == LINEAR:
                    alpha_l1 += weighted_trace_l1(trace_v, alpha_v)
                rule, delta = SGD, obgd_delta(delta, alpha_l1, OBGD_KAPPA, 1.0)
            apply_update(w, trace_w, delta, alpha_w, rule, rms_w, beta2, eps)
            if mode == LINEAR:
                apply_update(v, trace_v, delta, alpha_v, rule, rms_v, beta2, eps)
        decay = lam * gamma[t] if started else 0.0
        accumulate_trace(trace_w, grad_w, decay)
        if mode == LINEAR:
            accumulate_trace(trace_v, grad_v, decay)
        memory[0] = 1.0
        memory[1] = prediction
        out[t] = prediction
    return p, pn
