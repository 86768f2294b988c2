"""The compiled loop of a population of Williams-Zipser networks (:mod:`rtrlbench.agents.population_rtrl`):
R runs of one shape stepped together on prediction streams, every array of
:class:`~rtrlbench.agents.rtrl_kernels.RTRLArrays` with the run as an extra last (innermost,
contiguous) axis.

Each function here is the single-run kernel of :mod:`rtrlbench.agents.rtrl_kernels`
(:func:`~rtrlbench.agents.rtrl_kernels.td_stream` and what it calls) with a loop over the runs
``r`` inside every scalar statement, in the same expression order (the sensitivity rows in
groups of four units, the sums from 0.0 in the same sequence, no contraction to FMA), so that
every run computes exactly the IEEE operations of its single-run learner: bit-identical
predictions (the tests check it). The loops over ``r`` carry no dependence between runs, so
LLVM can vectorise them across runs; ``exp`` and ``tanh`` stay libm's scalar calls.

Shapes (single-run shape + ``[R]``), n units, M = m + n inputs per unit, W = n M weights:
``w, trace_w, grad_w, alpha_w, rms_w [W, R]``, ``p, pn [n, W, R]``, ``y [n, R]``, ``z [M, R]``,
``v, trace_v, grad_v, alpha_v, rms_v [n + 1, R]``, ``memory [2, R]``. Per-run settings:
:class:`PopulationSettings` (float64[R] each); shared ones: :class:`SharedSettings`; scratch of
one step: :class:`PopulationScratch`.
"""
from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from rtrlbench.agents.rtrl_kernels import LINEAR, LOGISTIC, UNIT
from rtrlbench.agents.td_lambda import OBGD, OBGD_KAPPA, SGD, obgd_delta


class SharedSettings(NamedTuple):
    """The settings every run shares (:class:`~rtrlbench.agents.rtrl_kernels.StreamSettings` without lam)."""

    activation: int        # LOGISTIC or TANH
    bias: bool
    readout: int           # UNIT or LINEAR
    teacher_forcing: bool
    optimizer: int         # td_lambda.SGD, RMSPROP or OBGD
    beta2: float           # RMSProp decay
    eps: float             # RMSProp offset


class PopulationSettings(NamedTuple):
    """The float hyperparameters each run has for itself, float64[R] each (alpha lives in
    ``alpha_w`` / ``alpha_v``, per weight, as in the single-run learner)."""

    lam: np.ndarray


class PopulationScratch(NamedTuple):
    """Per-step temporaries, float64[R] each (not part of a checkpoint)."""

    pre: np.ndarray         # a unit's pre-activation s_k
    slope: np.ndarray       # f'(s_k)
    acc: np.ndarray         # one sensitivity being summed
    prediction: np.ndarray  # this step's predictions
    delta: np.ndarray       # TD errors
    decay: np.ndarray       # lambda * gamma
    l1_w: np.ndarray        # ObGD: sum alpha |trace| over W
    l1_v: np.ndarray        # ObGD: the same over the readout


def new_scratch(n_runs: int) -> PopulationScratch:
    return PopulationScratch(*(np.zeros(n_runs) for _ in PopulationScratch._fields))


@nb.njit(cache=True)
def load_inputs(z, obs, row, stream_of, bias):
    """:func:`rtrlbench.agents.rtrl_kernels.load_inputs` for every run, each from its own stream."""
    offset = 1 if bias else 0
    for r in range(stream_of.shape[0]):
        s = stream_of[r]
        if bias:
            z[0, r] = 1.0
        for j in range(obs.shape[2]):
            z[offset + j, r] = obs[s, row, j]


@nb.njit(cache=True, error_model="numpy")
def forward(w, z, y, p, pn, activation, scratch):
    """:func:`rtrlbench.agents.rtrl_kernels.forward` (with sensitivities) for every run: y <- f(W z)
    and pn <- p(t+1). Per sensitivity the sum runs 0.0, then the groups of four units
    ``w0 p0 + w1 p1 + w2 p2 + w3 p3``, then the remaining units one by one, then z_j, then the
    slope: the single-run order (its passes over the row fused into one here)."""
    n, width, n_runs = p.shape
    big_m = z.shape[0]
    m = big_m - n
    pre, slope, acc = scratch.pre, scratch.slope, scratch.acc
    n_groups = n // 4
    for k in range(n):
        base = k * big_m
        for r in range(n_runs):
            pre[r] = 0.0
        for j in range(big_m):
            for r in range(n_runs):
                pre[r] += w[base + j, r] * z[j, r]
        if activation == LOGISTIC:
            for r in range(n_runs):
                yk = 1.0 / (1.0 + np.exp(-pre[r]))
                slope[r] = yk * (1.0 - yk)
                y[k, r] = yk
        else:
            for r in range(n_runs):
                yk = np.tanh(pre[r])
                slope[r] = 1.0 - yk * yk
                y[k, r] = yk
        recurrent = base + m
        row = pn[k]
        for q in range(width):
            for r in range(n_runs):
                acc[r] = 0.0
            for group in range(n_groups):
                l = 4 * group
                w0, w1, w2, w3 = w[recurrent + l], w[recurrent + l + 1], w[recurrent + l + 2], w[recurrent + l + 3]
                p0, p1, p2, p3 = p[l, q], p[l + 1, q], p[l + 2, q], p[l + 3, q]
                for r in range(n_runs):
                    acc[r] += w0[r] * p0[r] + w1[r] * p1[r] + w2[r] * p2[r] + w3[r] * p3[r]
            for l in range(4 * n_groups, n):
                wl, pl = w[recurrent + l], p[l, q]
                for r in range(n_runs):
                    acc[r] += wl[r] * pl[r]
            if base <= q < base + big_m:
                zq = z[q - base]
                for r in range(n_runs):
                    acc[r] += zq[r]
            out = row[q]
            for r in range(n_runs):
                out[r] = acc[r] * slope[r]


@nb.njit(cache=True)
def readout(y, v, mode, prediction):
    """:func:`rtrlbench.agents.rtrl_kernels.readout` for every run, into ``prediction`` [R]."""
    n, n_runs = y.shape
    if mode == UNIT:
        for r in range(n_runs):
            prediction[r] = y[0, r]
        return
    for r in range(n_runs):
        prediction[r] = v[n, r]
    for k in range(n):
        for r in range(n_runs):
            prediction[r] += v[k, r] * y[k, r]


@nb.njit(cache=True)
def readout_gradient(y, v, p, mode, grad_w, grad_v):
    """:func:`rtrlbench.agents.rtrl_kernels.readout_gradient` for every run (a unit whose readout
    weight is 0 adds nothing, as in the single run, where it is skipped)."""
    n, width, n_runs = p.shape
    if mode == UNIT:
        grad_w[:, :] = p[0]
        return
    grad_w[:, :] = 0.0
    for k in range(n):
        vk = v[k]
        for q in range(width):
            pkq, gq = p[k, q], grad_w[q]
            for r in range(n_runs):
                gq[r] = gq[r] + vk[r] * pkq[r] if vk[r] != 0.0 else gq[r]
        for r in range(n_runs):
            grad_v[k, r] = y[k, r]
    for r in range(n_runs):
        grad_v[n, r] = 1.0


@nb.njit(cache=True)
def weighted_trace_l1(trace, alpha, total):
    """:func:`rtrlbench.agents.td_lambda.weighted_trace_l1` for every run, into ``total`` [R]."""
    total[:] = 0.0
    for i in range(trace.shape[0]):
        for r in range(total.shape[0]):
            total[r] += alpha[i, r] * abs(trace[i, r])


@nb.njit(cache=True, error_model="numpy")
def apply_update(theta, trace, delta, alpha, optimizer, v, beta2, eps):
    """:func:`rtrlbench.agents.td_lambda.apply_update` for every run (``delta`` [R])."""
    n_runs = delta.shape[0]
    if optimizer == SGD:
        for i in range(theta.shape[0]):
            for r in range(n_runs):
                theta[i, r] += alpha[i, r] * delta[r] * trace[i, r]
    else:
        for i in range(theta.shape[0]):
            for r in range(n_runs):
                g = delta[r] * trace[i, r]
                vi = beta2 * v[i, r] + (1.0 - beta2) * g * g
                v[i, r] = vi
                theta[i, r] += alpha[i, r] * g / (np.sqrt(vi) + eps)


@nb.njit(cache=True)
def accumulate_trace(trace, grad, decay):
    """:func:`rtrlbench.agents.td_lambda.accumulate_trace` for every run (``decay`` [R])."""
    for i in range(trace.shape[0]):
        for r in range(decay.shape[0]):
            trace[i, r] = decay[r] * trace[i, r] + grad[i, r]


@nb.njit(cache=True)
def td_update(arrays, shared, scratch, linear):
    """The TD step of :func:`rtrlbench.agents.rtrl_kernels.td_stream` after the first row: ObGD's
    bound over W and the readout (one per run), then the update of W (and v)."""
    delta, rule = scratch.delta, shared.optimizer
    if rule == OBGD:
        weighted_trace_l1(arrays.trace_w, arrays.alpha_w, scratch.l1_w)
        if linear:
            weighted_trace_l1(arrays.trace_v, arrays.alpha_v, scratch.l1_v)
        for r in range(delta.shape[0]):
            alpha_l1 = scratch.l1_w[r]
            if linear:
                alpha_l1 += scratch.l1_v[r]
            delta[r] = obgd_delta(delta[r], alpha_l1, OBGD_KAPPA, 1.0)
        rule = SGD
    apply_update(arrays.w, arrays.trace_w, delta, arrays.alpha_w, rule, arrays.rms_w, shared.beta2, shared.eps)
    if linear:
        apply_update(arrays.v, arrays.trace_v, delta, arrays.alpha_v, rule, arrays.rms_v, shared.beta2, shared.eps)


@nb.njit(cache=True)
def td_stream(obs, cumulant, gamma, stream_of, predictions, arrays, shared, settings, scratch):
    """:func:`rtrlbench.agents.rtrl_kernels.td_stream` for R runs at once.

    ``obs`` float32/64[n_streams, T, n_inputs], ``cumulant, gamma`` float64[n_streams, T]: the chunk
    of each distinct stream; ``stream_of`` int64[R]: the stream run r reads; ``predictions``
    float64[R, T] (written). ``arrays``: RTRLArrays, every array ``[..., R]`` (all runs are at the
    same step, so ``memory[0]``, "started", is the same in every run); ``shared``:
    :class:`SharedSettings`; ``settings``: :class:`PopulationSettings`; ``scratch``:
    :class:`PopulationScratch`. Returns the (possibly swapped) sensitivity buffers (p, pn).
    """
    w, v, y, p, pn, z = arrays.w, arrays.v, arrays.y, arrays.p, arrays.pn, arrays.z
    trace_w, trace_v, grad_w, grad_v, memory = arrays.trace_w, arrays.trace_v, arrays.grad_w, arrays.grad_v, \
        arrays.memory
    mode, lam = shared.readout, settings.lam
    linear = mode == LINEAR
    prediction, delta, decay = scratch.prediction, scratch.delta, scratch.decay
    n, n_runs = y.shape[0], stream_of.shape[0]
    m = z.shape[0] - n
    for t in range(obs.shape[1]):
        started = memory[0, 0] > 0.0
        if not started:
            y[:] = 0.0
            p[:] = 0.0
            trace_w[:] = 0.0
            trace_v[:] = 0.0
        elif shared.teacher_forcing:
            for r in range(n_runs):
                y[0, r] = cumulant[stream_of[r], t]
            p[0] = 0.0
        load_inputs(z, obs, t, stream_of, shared.bias)
        for k in range(n):
            for r in range(n_runs):
                z[m + k, r] = y[k, r]
        forward(w, z, y, p, pn, shared.activation, scratch)
        p, pn = pn, p
        readout(y, v, mode, prediction)
        readout_gradient(y, v, p, mode, grad_w, grad_v)
        for r in range(n_runs):
            s = stream_of[r]
            delta[r] = cumulant[s, t] + gamma[s, t] * prediction[r] - memory[1, r] if started else 0.0
            decay[r] = lam[r] * gamma[s, t] if started else 0.0
        if started:
            td_update(arrays, shared, scratch, linear)
        accumulate_trace(trace_w, grad_w, decay)
        if linear:
            accumulate_trace(trace_v, grad_v, decay)
        for r in range(n_runs):
            memory[0, r] = 1.0
            memory[1, r] = prediction[r]
            predictions[r, t] = prediction[r]
    return p, pn
