"""The compiled loop of a population of T-BPTT learners (:mod:`rtrlbench.agents.population_tbptt`):
R runs of one shape (n inputs, d hidden units, truncation k, optimiser, dtype) stepped together,
every array of :class:`~rtrlbench.agents.tbptt_kernels.TBPTTState` with the run as an extra last
(innermost, contiguous) axis: ``theta, trace, v [P, R]``, ``hist_x [k + 1, n, R]``,
``hist_gate [k + 1, 4d, R]``, ``clock [1, R]`` and so on.

Each function here is a function of :mod:`rtrlbench.agents.tbptt_kernels` with a loop over the
runs ``r`` inside every scalar statement, in the same expression order (the same sums in the same
order per run, the same RMSProp pairing of parameter i with i + span // 2), so that the loops over
``r`` carry no dependence between runs and LLVM vectorises them across runs. All runs share the
clock (they are at the same step), hence the window and its history slots. The parts are inlined
into one loop per shape, :func:`shape_kernel`, compiled with n and d as constants (so that short
sums over the inputs and hidden units unroll inside the loops over the runs; cached on disk).

Differences from the single-run kernel that leave the numbers alone: W's gradient sums only the
inputs some run has non-zero in a step (``active``; the single run skips its own zeros: the terms
left out are ``a * 0``), and ``exp`` / ``tanh`` are libm's, as there. The single-run kernel's
fast-math flags (``reassoc``, ``contract``, kept here) let LLVM reorder a few of its sums: a gate's
sum over a dense input, the sums over the hidden units from d = 4 (it vectorises them), and
RMSProp's ``(1 - beta2) (delta e)^2``, whose delta is loop-invariant there (per run here). So
predictions agree to rounding, bit for bit only where none of these applies (SGD and ObGD on sparse
inputs with d <= 3); ``tests/agents/test_population_tbptt.py`` checks both.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numba as nb
import numpy as np

from rtrlbench.agents.tbptt_kernels import FASTMATH, FUSED_TERMS, KAPPA, ONE, ZERO, _sigmoid, offsets, \
    rmsprop_pair, window_slots
from rtrlbench.agents.td_lambda import OBGD, SGD, obgd_delta


#: Hidden sizes up to which the sums over the hidden units are unrolled inside the loops over the runs
#: (register sums); wider layers loop over the units outside (more memory traffic, but each loop over
#: the runs touches few arrays, so LLVM vectorises it: 2-2.5x faster at d = 10, slower at d = 2).
UNROLL_HIDDEN = 4


class PopulationSettings(NamedTuple):
    """The float hyperparameters each run has for itself, float[R] in the learners' dtype
    (rounded from float64 as :func:`rtrlbench.agents.tbptt_kernels.constants` rounds them)."""

    alpha: np.ndarray            # step size
    lam: np.ndarray              # trace decay lambda
    beta2: np.ndarray            # RMSProp decay
    one_minus_beta2: np.ndarray  # 1 - beta2, rounded once from float64
    eps: np.ndarray              # RMSProp denominator offset


class PopulationScratch(NamedTuple):
    """Work arrays of :func:`run_steps`, overwritten every step (float = the learners' dtype)."""

    grad: np.ndarray       # float[rows n, R]: a block of W's rows' gradient
    tail_grad: np.ndarray  # float[4d(d + 1) + d, R]: gradient of U, b, w
    older: np.ndarray      # float[n, R]: a W row's gradient terms past FUSED_TERMS (wide inputs, RMSProp)
    dz: np.ndarray         # float[k, 4d, R]: d y / d(pre-activations) of the window's steps
    dh: np.ndarray         # float[d, R]: dh of the backward recurrence
    dc: np.ndarray         # float[d, R]: dc of the backward recurrence
    slots: np.ndarray      # int64[k + 1]: history slots of the window's steps (shared: one clock)
    y: np.ndarray          # float[R]: this step's predictions
    delta: np.ndarray      # float[R]: TD errors
    decay: np.ndarray      # float[R]: lambda gamma
    step: np.ndarray       # float[R]: alpha delta (SGD)
    l1: np.ndarray         # float[4, R]: ObGD's four running sums of |e|
    count: np.ndarray      # int64[R]: non-zeros of this step's x
    active: np.ndarray     # int64[k + 1, n + 1]: per slot, how many and which inputs some run has non-zero


class PopulationShape(NamedTuple):
    """The runs' shared sizes and optimiser (scalars)."""

    n_inputs: int
    n_hidden: int
    truncation: int
    optimizer: int         # td_lambda.SGD, RMSPROP or OBGD
    rows: int              # W rows per update block (the single run's ``TBPTTScratch.grad.shape[0]``)


def new_scratch(shape: PopulationShape, n_runs: int, dtype) -> PopulationScratch:
    n, d, k = shape.n_inputs, shape.n_hidden, shape.truncation
    size = offsets(n, d)[3]

    def zeros(*dims, kind=dtype):
        return np.zeros((*dims, n_runs), kind)

    return PopulationScratch(grad=zeros(shape.rows * n), tail_grad=zeros(size - 4 * d * n), older=zeros(n),
                             dz=zeros(k, 4 * d), dh=zeros(d), dc=zeros(d), slots=np.zeros(k + 1, np.int64),
                             y=zeros(), delta=zeros(), decay=zeros(), step=zeros(), l1=zeros(4),
                             count=zeros(kind=np.int64), active=np.zeros((k + 1, n + 1), np.int64))


# --------------------------------------------------------------------------- input
@nb.njit(cache=True, error_model="numpy")
def store_input(obs, row, stream_of, slot, hist_x, hist_nz, count, zero):
    """hist_x[slot, :, r] = x of run r's stream at ``row`` (cast to the dtype), and its non-zeros'
    count and indices into ``hist_nz[slot, :, r]`` (-1: dense), as the single-run kernel keeps them
    (the population itself reads x dense; a run taken out by ``learner(r)`` reads them)."""
    n, n_runs = hist_x.shape[1], stream_of.shape[0]
    capacity = hist_nz.shape[1] - 1
    for m in range(n):
        for r in range(n_runs):
            hist_x[slot, m, r] = obs[stream_of[r], row, m]
    count[:] = 0
    for m in range(n):
        for r in range(n_runs):
            count[r] += hist_x[slot, m, r] != zero
    for r in range(n_runs):
        if count[r] > capacity:
            hist_nz[slot, 0, r] = -1
            continue
        hist_nz[slot, 0, r] = count[r]
        q = 0
        for m in range(n):
            if hist_x[slot, m, r] != zero:
                q += 1
                hist_nz[slot, q, r] = m


@nb.njit(cache=True, error_model="numpy")
def index_active(hist_x, active, zero):
    """active[s, 0] = how many inputs m are non-zero in slot s of *some* run, active[s, 1:] = those m
    (every slot: called at the start of each chunk, so that it always matches ``hist_x``)."""
    for s in range(hist_x.shape[0]):
        index_active_slot(hist_x, active, s, zero)


@nb.njit(cache=True, inline="always")
def index_active_slot(hist_x, active, s, zero):
    """:func:`index_active` for slot s."""
    n, n_runs = hist_x.shape[1], hist_x.shape[2]
    p = 0
    for m in range(n):
        nonzero = False
        for r in range(n_runs):
            nonzero |= hist_x[s, m, r] != zero
        if nonzero:
            p += 1
            active[s, p] = m
    active[s, 0] = p


# --------------------------------------------------------------------------- forward and backward
@nb.njit(cache=True, inline="always")
def lstm_forward(theta, n, d, slot, prev, hist_x, hist_h, hist_c, hist_gate, hist_tc, y, zero, one):
    """:func:`rtrlbench.agents.tbptt_kernels.lstm_forward` for every run: the pre-activations
    ``b + W x_t + U h_{t-1}`` (summed in that order) and the gates, c, tanh c and h of slot
    ``slot`` from the state in slot ``prev``; ``y`` float[R] = w . h (summed over u in order)."""
    ou, ob, ow, _ = offsets(n, d)
    n_runs = y.shape[0]
    for q in range(4 * d):
        for r in range(n_runs):
            a = theta[ob + q, r]
            for m in range(n):
                a += theta[q * n + m, r] * hist_x[slot, m, r]
            for u in range(d):
                a += theta[ou + q * d + u, r] * hist_h[prev, u, r]
            hist_gate[slot, q, r] = a
    for u in range(d):  # libm's exp and tanh, as the single run's (scalar calls)
        for r in range(n_runs):
            ig = _sigmoid(hist_gate[slot, u, r], one)
            fg = _sigmoid(hist_gate[slot, d + u, r], one)
            gg = np.tanh(hist_gate[slot, 2 * d + u, r])
            og = _sigmoid(hist_gate[slot, 3 * d + u, r], one)
            c = fg * hist_c[prev, u, r] + ig * gg
            tc = np.tanh(c)
            hist_gate[slot, u, r], hist_gate[slot, d + u, r] = ig, fg
            hist_gate[slot, 2 * d + u, r], hist_gate[slot, 3 * d + u, r] = gg, og
            hist_c[slot, u, r] = c
            hist_tc[slot, u, r] = tc
            hist_h[slot, u, r] = og * tc
    for r in range(n_runs):
        s = zero
        for u in range(d):
            s += theta[ow + u, r] * hist_h[slot, u, r]
        y[r] = s


@nb.njit(cache=True, inline="always")
def backward_deltas(theta, n, d, window, slots, hist_c, hist_gate, hist_tc, dz, dh, dc, zero, one):
    """:func:`rtrlbench.agents.tbptt_kernels.backward_deltas` for every run: dz[j, :, r] =
    d y_t / d(pre-activations of step t - j) for j < window, with each run's current U and w."""
    ou, _, ow, _ = offsets(n, d)
    n_runs = dh.shape[1]
    for u in range(d):
        for r in range(n_runs):
            dh[u, r] = theta[ow + u, r]
            dc[u, r] = zero
    for j in range(window):
        slot = slots[j]
        prev = slots[j + 1]
        for u in range(d):
            for r in range(n_runs):
                ig, fg = hist_gate[slot, u, r], hist_gate[slot, d + u, r]
                gg, og = hist_gate[slot, 2 * d + u, r], hist_gate[slot, 3 * d + u, r]
                tc = hist_tc[slot, u, r]
                dcu = dc[u, r] + dh[u, r] * og * (one - tc * tc)
                dz[j, u, r] = dcu * gg * ig * (one - ig)
                dz[j, d + u, r] = dcu * hist_c[prev, u, r] * fg * (one - fg)
                dz[j, 2 * d + u, r] = dcu * ig * (one - gg * gg)
                dz[j, 3 * d + u, r] = dh[u, r] * tc * og * (one - og)
                dc[u, r] = dcu * fg
        if j == window - 1:
            break  # the window's oldest step: nothing further back needs dh
        if d <= UNROLL_HIDDEN:  # d is a constant here: the branch is folded away
            for u in range(d):
                for r in range(n_runs):
                    s = zero
                    for q in range(4 * d):
                        s += theta[ou + q * d + u, r] * dz[j, q, r]
                    dh[u, r] = s
        else:
            for u in range(d):
                for r in range(n_runs):
                    dh[u, r] = zero
            for q in range(4 * d):
                for u in range(d):
                    for r in range(n_runs):
                        dh[u, r] += theta[ou + q * d + u, r] * dz[j, q, r]


# --------------------------------------------------------------------------- gradients
@nb.njit(cache=True, inline="always")
def input_gradient(grad, q0, q1, n, window, slots, dz, hist_x, active, zero):
    """grad[(q - q0) n + m, r] = sum_{j < window} dz[j, q, r] x_{t-j}[m, r] for q0 <= q < q1, summed
    in order of j over the inputs some run has non-zero in that step (``active``): the terms the
    single run skips or adds are zero (``a * 0``), so the sums are its sums."""
    n_runs = grad.shape[1]
    for i in range((q1 - q0) * n):
        for r in range(n_runs):
            grad[i, r] = zero
    for j in range(window):
        slot = slots[j]
        for p in range(1, active[slot, 0] + 1):
            m = active[slot, p]
            for q in range(q0, q1):
                i = (q - q0) * n + m
                for r in range(n_runs):
                    grad[i, r] += dz[j, q, r] * hist_x[slot, m, r]


@nb.njit(cache=True, inline="always")
def input_gradient_rows(grad, q0, q1, j0, n, window, slots, dz, hist_x):
    """grad[(q - q0) n + m, r] = sum_{j0 <= j < window} dz[j, q, r] x_{t-j}[m, r] for q0 <= q < q1,
    summed in order of j (:func:`rtrlbench.agents.tbptt_kernels.input_gradient_rows`, x dense): the
    terms past the fourth of :func:`fused_row_gradient`."""
    n_runs = grad.shape[1]
    for j in range(j0, window):
        slot = slots[j]
        for q in range(q0, q1):
            i0 = (q - q0) * n
            if j == j0:
                for m in range(n):
                    for r in range(n_runs):
                        grad[i0 + m, r] = dz[j, q, r] * hist_x[slot, m, r]
            else:
                for m in range(n):
                    for r in range(n_runs):
                        grad[i0 + m, r] += dz[j, q, r] * hist_x[slot, m, r]


@nb.njit(cache=True, inline="always")
def fused_row_gradient(grad, older, q, n, window, slots, dz, hist_x, zero):
    """Row q of dy/dW into grad[:n] in the order of the single run's fused RMSProp pass (inputs
    > 256: :func:`rtrlbench.agents.tbptt_kernels._fused_rmsprop_rows`): ``(a0 x0 + a1 x1)``, then
    ``+ (a2 x2 + a3 x3)`` for windows over 2 steps, then ``+ older``, the terms past the fourth
    summed in order (windows over FUSED_TERMS steps)."""
    n_runs = grad.shape[1]
    terms = 2 if window <= 2 else FUSED_TERMS
    if window > FUSED_TERMS:
        input_gradient_rows(older, q, q + 1, FUSED_TERMS, n, window, slots, dz, hist_x)
    s0 = slots[0]
    s1 = slots[1] if window > 1 else s0
    s2 = slots[2] if window > 2 else s0
    s3 = slots[3] if window > 3 else s0
    for m in range(n):
        for r in range(n_runs):
            a1 = dz[1, q, r] if window > 1 else zero
            grad[m, r] = dz[0, q, r] * hist_x[s0, m, r] + a1 * hist_x[s1, m, r]
    if terms > 2:
        for m in range(n):
            for r in range(n_runs):
                a2 = dz[2, q, r] if window > 2 else zero
                a3 = dz[3, q, r] if window > 3 else zero
                grad[m, r] += a2 * hist_x[s2, m, r] + a3 * hist_x[s3, m, r]
    if window > FUSED_TERMS:
        for m in range(n):
            for r in range(n_runs):
                grad[m, r] += older[m, r]


@nb.njit(cache=True, inline="always")
def recurrent_gradient(grad, d, window, slots, dz, hist_h, zero):
    """:func:`rtrlbench.agents.tbptt_kernels.recurrent_gradient` for every run: grad
    float[4d d + 4d + d, R] = dy_t/d(U, b, w), each entry summed over the window in order."""
    ob = 4 * d * d
    ow = ob + 4 * d
    n_runs = grad.shape[1]
    for i in range(ow):
        for r in range(n_runs):
            grad[i, r] = zero
    for j in range(window):
        prev = slots[j + 1]
        for q in range(4 * d):
            if d <= UNROLL_HIDDEN:
                for r in range(n_runs):
                    a = dz[j, q, r]
                    grad[ob + q, r] += a
                    for u in range(d):
                        grad[q * d + u, r] += a * hist_h[prev, u, r]
            else:
                for r in range(n_runs):
                    grad[ob + q, r] += dz[j, q, r]
                for u in range(d):
                    for r in range(n_runs):
                        grad[q * d + u, r] += dz[j, q, r] * hist_h[prev, u, r]
    for u in range(d):
        for r in range(n_runs):
            grad[ow + u, r] = hist_h[slots[0], u, r]


# --------------------------------------------------------------------------- TD(lambda)
@nb.njit(cache=True, inline="always")
def td_span(theta, trace, v, grad, lo, hi, learn, optimizer, settings, delta, decay, step):
    """:func:`rtrlbench.agents.tbptt_kernels.td_span` for every run on parameters lo..hi - 1
    (their gradient in grad[:hi - lo]): SGD ``theta += step e`` (step = alpha delta); RMSProp
    pairing i with i + (hi - lo) // 2 (:func:`~rtrlbench.agents.tbptt_kernels.rmsprop_pair`);
    then ``e = decay e + grad``. ``delta, decay, step`` float[R]."""
    n_runs = delta.shape[0]
    alpha, beta2, one_minus_beta2, eps = settings.alpha, settings.beta2, settings.one_minus_beta2, settings.eps
    size = hi - lo
    if not learn:
        for i in range(size):
            for r in range(n_runs):
                trace[lo + i, r] = decay[r] * trace[lo + i, r] + grad[i, r]
    elif optimizer == SGD:
        for i in range(size):
            for r in range(n_runs):
                e = trace[lo + i, r]
                theta[lo + i, r] += step[r] * e
                trace[lo + i, r] = decay[r] * e + grad[i, r]
    else:
        half = size // 2
        for a in range(half):
            b = a + half
            for r in range(n_runs):
                ea, eb = trace[lo + a, r], trace[lo + b, r]
                va, vb, step_a, step_b = rmsprop_pair(delta[r] * ea, delta[r] * eb, v[lo + a, r], v[lo + b, r],
                                                      alpha[r], beta2[r], one_minus_beta2[r], eps[r])
                v[lo + a, r], v[lo + b, r] = va, vb
                theta[lo + a, r] += step_a
                theta[lo + b, r] += step_b
                trace[lo + a, r] = decay[r] * ea + grad[a, r]
                trace[lo + b, r] = decay[r] * eb + grad[b, r]
        for i in range(2 * half, size):
            for r in range(n_runs):
                e = trace[lo + i, r]
                vi, _, step_i, _ = rmsprop_pair(delta[r] * e, delta[r] * e, v[lo + i, r], v[lo + i, r], alpha[r],
                                                beta2[r], one_minus_beta2[r], eps[r])
                v[lo + i, r] = vi
                theta[lo + i, r] += step_i
                trace[lo + i, r] = decay[r] * e + grad[i, r]


@nb.njit(cache=True, error_model="numpy")
def td_errors(cumulant, gamma, row, stream_of, learn, state, scratch, settings, consts, optimizer):
    """delta, decay (and ObGD's bounded delta, SGD's step) of every run into the scratch; returns
    the update rule (ObGD is SGD with the bounded delta). Not fast-math, like the single run's
    loop: ObGD's sum of |e| keeps :func:`rtrlbench.agents.td_lambda.trace_l1`'s four chains."""
    zero, one = consts[ZERO], consts[ONE]
    delta, decay, y, last_y, trace, l1 = scratch.delta, scratch.decay, scratch.y, state.last_y, state.trace, scratch.l1
    n_runs = stream_of.shape[0]
    for r in range(n_runs):
        s = stream_of[r]
        delta[r] = cumulant[s, row] + gamma[s, row] * y[r] - last_y[0, r] if learn else zero
        decay[r] = settings.lam[r] * gamma[s, row] if learn else zero
    rule = optimizer
    if learn and optimizer == OBGD:
        rule = SGD
        size = trace.shape[0]
        top = size - size % 4
        l1[:] = zero
        for i in range(0, top, 4):
            for c in range(4):
                for r in range(n_runs):
                    l1[c, r] += abs(trace[i + c, r])
        for i in range(top, size):
            for r in range(n_runs):
                l1[0, r] += abs(trace[i, r])
        for r in range(n_runs):
            total = (l1[0, r] + l1[1, r]) + (l1[2, r] + l1[3, r])
            delta[r] = obgd_delta(delta[r], settings.alpha[r] * total, consts[KAPPA], one)
    if rule == SGD:
        for r in range(n_runs):
            scratch.step[r] = settings.alpha[r] * delta[r]
    return rule


@nb.njit(cache=True, inline="always")
def update(state, scratch, settings, n, d, rows, window, learn, rule, zero):
    """The TD(lambda) step on W, in the single run's blocks of ``rows`` rows (RMSProp pairs lie
    within a block; wide inputs with RMSProp make each row's gradient in the single run's fused
    order), then on U, b and w (one span)."""
    theta, trace, v, hist_x = state.theta, state.trace, state.v, state.hist_x
    grad, slots, dz, delta, decay, step = (scratch.grad, scratch.slots, scratch.dz, scratch.delta, scratch.decay,
                                           scratch.step)
    fused = rows == 1 and learn and rule != SGD
    for q0 in range(0, 4 * d, rows):
        q1 = min(4 * d, q0 + rows)
        if fused:
            fused_row_gradient(grad, scratch.older, q0, n, window, slots, dz, hist_x, zero)
        else:
            input_gradient(grad, q0, q1, n, window, slots, dz, hist_x, scratch.active, zero)
        td_span(theta, trace, v, grad, q0 * n, q1 * n, learn, rule, settings, delta, decay, step)
    recurrent_gradient(scratch.tail_grad, d, window, slots, dz, state.hist_h, zero)
    td_span(theta, trace, v, scratch.tail_grad, 4 * d * n, offsets(n, d)[3], learn, rule, settings, delta, decay,
            step)


# --------------------------------------------------------------------------- one shape's loop
@functools.lru_cache(maxsize=None)
def shape_kernel(n: int, d: int):
    """The loop :func:`run_steps` for populations of n inputs and d hidden units, compiled with n
    and d as constants (its parts are inlined), so that LLVM unrolls the short sums over the inputs,
    hidden units and gate rows *inside* the loops over the runs, which keeps them in registers.
    numba caches each shape's build on disk (keyed by n and d)."""

    @nb.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
    def run_steps(obs, cumulant, gamma, stream_of, predictions, state, scratch, settings, consts, shape):
        """:func:`rtrlbench.agents.tbptt_kernels.run_steps` for R runs at once.

        ``obs`` float32/64[n_streams, T, n], ``cumulant, gamma`` float[n_streams, T] (the
        learners' dtype): the chunk of each distinct stream; ``stream_of`` int64[R]: the stream
        run r reads; ``predictions`` float64[R, T] (written). ``state``: a TBPTTState with every
        array ``[..., R]``; ``scratch``: :class:`PopulationScratch`; ``settings``:
        :class:`PopulationSettings`; ``consts``: run 0's ``consts`` (its ZERO, ONE and KAPPA are
        everyone's); ``shape``: :class:`PopulationShape` (n_inputs = n, n_hidden = d).
        Fast-math as the single run's parts; the TD errors are computed without (:func:`td_errors`).
        """
        k = shape.truncation
        zero, one = consts[ZERO], consts[ONE]
        clock, last_y, y, slots = state.clock, state.last_y, scratch.y, scratch.slots
        n_runs = stream_of.shape[0]
        index_active(state.hist_x, scratch.active, zero)
        for row in range(obs.shape[1]):
            t = clock[0, 0]
            window = window_slots(t, k, slots)
            store_input(obs, row, stream_of, slots[0], state.hist_x, state.hist_nz, scratch.count, zero)
            index_active_slot(state.hist_x, scratch.active, slots[0], zero)
            lstm_forward(state.theta, n, d, slots[0], slots[1], state.hist_x, state.hist_h, state.hist_c,
                         state.hist_gate, state.hist_tc, y, zero, one)
            backward_deltas(state.theta, n, d, window, slots, state.hist_c, state.hist_gate, state.hist_tc,
                            scratch.dz, scratch.dh, scratch.dc, zero, one)
            learn = t > 0
            rule = td_errors(cumulant, gamma, row, stream_of, learn, state, scratch, settings, consts,
                             shape.optimizer)
            update(state, scratch, settings, n, d, shape.rows, window, learn, rule, zero)
            for r in range(n_runs):
                last_y[0, r] = y[r]
                clock[0, r] = t + 1
                predictions[r, row] = y[r]

    return run_steps
