"""Compiled kernels of the T-BPTT learner: one LSTM step forward, the backward recurrence
through the last k steps, and the per-step TD(lambda) loop that makes each row's gradient
and applies trace and optimiser step to it in the same pass.

Parameter vector ``theta`` (float[P], P = 4d(n + d + 1) + d), PyTorch ``LSTMCell``
layout and gate order (input i, forget f, cell g, output o), each block row-major:

    W [4d, n]   input weights        U [4d, d]   recurrent weights
    b [4d]      one bias per gate    w [d]       output weights: y_t = w . h_t (no bias)

History: a ring of k + 1 slots; step s lives in slot s % (k + 1). A window of k steps
needs those steps' activations *and* the state just before the oldest of them, k + 1
states in all (the authors' k-slot ring read the newest state there instead). Slot k
holds the zero state h_{-1} = c_{-1} = 0 until step k overwrites it.

Every kernel is generic in the float type: theta, trace, v, the history and the scratch
share one dtype (float64 or float32), and so do the scalars of ``consts`` (see
:func:`run_steps`). A float64 literal in the arithmetic would promote float32 work to
float64 (numba follows NumPy's rules), hence ``one``/``zero`` arguments instead of 1.0/0.0.

The kernels use ``fastmath={"reassoc", "contract"}`` so that LLVM vectorises the dot
products (sums are reordered; results stay deterministic for a given machine).
"""
from typing import NamedTuple

import numba as nb
import numpy as np

from rtrlbench.agents.td_lambda import OBGD, OBGD_KAPPA, SGD, obgd_delta, trace_l1

#: The kernels' fast-math flags (they also apply to the inline="always" helpers inlined into them).
FASTMATH = {"reassoc", "contract"}
#: Layout of the ``consts`` array of :func:`run_steps` (all in the learner's dtype).
ZERO, ONE, ALPHA, LAM, BETA2, ONE_MINUS_BETA2, EPS, KAPPA = range(8)


def constants(dtype, alpha, lam, beta2, eps):
    """The ``consts`` array of :func:`run_steps`: the scalars of the update in ``dtype``
    (1 - beta2 rounded once, from float64; KAPPA is ObGD's, td_lambda.OBGD_KAPPA)."""
    return np.array([0.0, 1.0, alpha, lam, beta2, 1.0 - beta2, eps, OBGD_KAPPA], dtype=dtype)


@nb.njit(cache=True)
def offsets(n, d):
    """Start of the U, b and w blocks in theta (W starts at 0), and P (the total size)."""
    ou = 4 * d * n
    ob = ou + 4 * d * d
    ow = ob + 4 * d
    return ou, ob, ow, ow + d


@nb.njit(cache=True)
def window_slots(t, k, slots):
    """slots[j] = history slot of step t - j for j = 0..window (the last one: the state
    before the window); returns window = min(k, t + 1). Integer division once, not per use."""
    ring = k + 1
    window = min(k, t + 1)
    slot = t % ring
    for j in range(window + 1):
        slots[j] = slot
        slot = slot - 1 if slot > 0 else k
    return window


@nb.njit(cache=True, inline="always")
def _sigmoid(z, one):
    return one / (one + np.exp(-z))


@nb.njit(cache=True)
def split(theta, n, d):
    """2-D views of theta's W [4d, n] and U [4d, d] blocks, and its tail (U, b, w) as one vector."""
    ou, ob, _, size = offsets(n, d)
    return theta[:ou].reshape((4 * d, n)), theta[ou:ob].reshape((4 * d, d)), theta[ou:size]


@nb.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def lstm_forward(W, U, tail, x_row, n, d, slot, prev, hist_x, hist_nz, hist_h, hist_c, hist_gate, hist_tc, zero, one):
    """One LSTM step from the state in slot ``prev``; returns y = w . h.

    ``W``, ``U``, ``tail``: theta's blocks as :func:`split` gives them.
    Writes x, the gate activations (i, f, g, o), c, tanh(c) and h into slot ``slot``,
    and, when x has at most ``hist_nz.shape[1] - 1`` non-zeros, their indices
    (``hist_nz[slot, 0]`` = their count, or -1 for a dense x), so that sparse inputs
    cost only their non-zeros here and in the gradient.
    """
    ob, ow = 4 * d * d, 4 * d * d + 4 * d
    capacity = hist_nz.shape[1] - 1
    count = 0
    for m in range(n):  # 2-D indexing throughout: a row view costs atomic reference counts
        hist_x[slot, m] = x_row[m]  # cast to the learner's dtype
        count += hist_x[slot, m] != zero  # branch-free: this loop vectorises
    sparse = count <= capacity
    if sparse:
        q = 0
        for m in range(n):
            if hist_x[slot, m] != zero:
                q += 1
                hist_nz[slot, q] = m
    hist_nz[slot, 0] = count if sparse else -1
    for r in range(0, 4 * d, 4):  # four rows at a time: four independent sums hide the FMA latency
        a0, a1, a2, a3 = tail[ob + r], tail[ob + r + 1], tail[ob + r + 2], tail[ob + r + 3]
        if sparse:
            for q in range(1, count + 1):
                m = hist_nz[slot, q]
                x = hist_x[slot, m]
                a0 += W[r, m] * x
                a1 += W[r + 1, m] * x
                a2 += W[r + 2, m] * x
                a3 += W[r + 3, m] * x
        else:
            for m in range(n):
                x = hist_x[slot, m]
                a0 += W[r, m] * x
                a1 += W[r + 1, m] * x
                a2 += W[r + 2, m] * x
                a3 += W[r + 3, m] * x
        for u in range(d):
            h = hist_h[prev, u]
            a0 += U[r, u] * h
            a1 += U[r + 1, u] * h
            a2 += U[r + 2, u] * h
            a3 += U[r + 3, u] * h
        hist_gate[slot, r], hist_gate[slot, r + 1], hist_gate[slot, r + 2], hist_gate[slot, r + 3] = a0, a1, a2, a3
    y = zero
    for u in range(d):
        ig = _sigmoid(hist_gate[slot, u], one)
        fg = _sigmoid(hist_gate[slot, d + u], one)
        gg = np.tanh(hist_gate[slot, 2 * d + u])
        og = _sigmoid(hist_gate[slot, 3 * d + u], one)
        c = fg * hist_c[prev, u] + ig * gg
        tc = np.tanh(c)
        h = og * tc
        hist_gate[slot, u], hist_gate[slot, d + u] = ig, fg
        hist_gate[slot, 2 * d + u], hist_gate[slot, 3 * d + u] = gg, og
        hist_c[slot, u] = c
        hist_tc[slot, u] = tc
        hist_h[slot, u] = h
        y += tail[ow + u] * h
    return y


@nb.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def backward_deltas(U, tail, d, window, slots, hist_h, hist_c, hist_gate, hist_tc, dz, dh, dc, zero, one):
    """dz[j] = dy_t / d(pre-activations of step t - j) for j < window = min(k, t + 1): the
    truncated backward recurrence over the stored activations, with the current U and w.

    ``slots[j]``: the history slot of step t - j (j <= window, see :func:`window_slots`).
    ``dz``: float[k, 4d]; ``dh``, ``dc``: float[d] scratch. Cost O(k d^2). The
    parameter gradients follow from dz, x and h alone.
    """
    ow = 4 * d * d + 4 * d
    for u in range(d):
        dh[u] = tail[ow + u]
        dc[u] = zero
    for j in range(window):
        slot = slots[j]
        prev = slots[j + 1]
        for u in range(d):
            ig, fg = hist_gate[slot, u], hist_gate[slot, d + u]
            gg, og = hist_gate[slot, 2 * d + u], hist_gate[slot, 3 * d + u]
            tc = hist_tc[slot, u]
            dcu = dc[u] + dh[u] * og * (one - tc * tc)
            dz[j, u] = dcu * gg * ig * (one - ig)
            dz[j, d + u] = dcu * hist_c[prev, u] * fg * (one - fg)
            dz[j, 2 * d + u] = dcu * ig * (one - gg * gg)
            dz[j, 3 * d + u] = dh[u] * tc * og * (one - og)
            dc[u] = dcu * fg
        if j == window - 1:
            break  # the window's oldest step: nothing further back needs dh
        for u in range(d):
            dh[u] = zero
        for r in range(4 * d):
            a = dz[j, r]
            for u in range(d):
                dh[u] += U[r, u] * a


@nb.njit(cache=True, inline="always")
def input_gradient_rows(grad, r0, r1, j0, n, window, slots, dz, hist_x, hist_nz, zero):
    """grad[r - r0, :n] = sum_{j0 <= j < window} dz[j, r] x_{t-j} for r0 <= r < r1: rows of
    dy_t/dW (j0 = 0), or their older terms; sparse x costs only its non-zeros."""
    for j in range(j0, window):
        slot = slots[j]
        count = hist_nz[slot, 0]
        if j == j0:  # the first term writes: no separate zeroing pass for dense x
            for r in range(r0, r1):
                a = dz[j, r]
                for m in range(n):
                    grad[r - r0, m] = a * hist_x[slot, m] if count < 0 else zero
        if count >= 0:
            for r in range(r0, r1):
                a = dz[j, r]
                for q in range(1, count + 1):
                    m = hist_nz[slot, q]
                    grad[r - r0, m] += a * hist_x[slot, m]
        elif j > j0:
            for r in range(r0, r1):
                a = dz[j, r]
                for m in range(n):
                    grad[r - r0, m] += a * hist_x[slot, m]


@nb.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def recurrent_gradient(grad, d, window, slots, dz, hist_h, zero):
    """grad = dy_t/d(U, b, w) flattened like theta's tail (float[4d d + 4d + d])."""
    ob = 4 * d * d
    ow = ob + 4 * d
    dU = grad[:ob].reshape((4 * d, d))  # 2-D indexing by loop variables vectorises
    for i in range(ow):
        grad[i] = zero
    for j in range(window):
        prev = slots[j + 1]
        for r in range(4 * d):
            a = dz[j, r]
            grad[ob + r] += a
            for u in range(d):
                dU[r, u] += a * hist_h[prev, u]
    for u in range(d):
        grad[ow + u] = hist_h[slots[0], u]


@nb.njit(cache=True, inline="always")
def rmsprop_pair(ua, ub, va, vb, alpha, beta2, one_minus_beta2, eps):
    """RMSProp on two parameters with updates ``ua``, ``ub`` (delta e) and accumulators ``va``, ``vb``:
    returns the new accumulators and the two steps ``alpha u / (sqrt(v) + eps)``.

    One division serves both (``alpha / (qa qb)``, then times qb or qa): the divider is the
    bottleneck of wide T-BPTT learners, and this halves its work at the cost of a rounding or
    two. ``q >= eps`` keeps the product from underflowing; it overflows only if v itself does.
    """
    va = beta2 * va + one_minus_beta2 * ua * ua
    vb = beta2 * vb + one_minus_beta2 * ub * ub
    qa, qb = np.sqrt(va) + eps, np.sqrt(vb) + eps
    step = alpha / (qa * qb)
    return va, vb, ua * qb * step, ub * qa * step


@nb.njit(cache=True, inline="always")
def td_span(theta, trace, v, grad, learn, optimizer, delta, decay, alpha, beta2, one_minus_beta2, eps):
    """The TD(lambda) step on a span of parameters (1-D views) with the old trace, then the new trace.

    The arithmetic of :func:`rtrlbench.agents.td_lambda.update_then_accumulate` (up to
    FMA contraction and the rounding of :func:`rmsprop_pair`) with one scalar step size, in
    the learner's dtype (no float64 constants): SGD ``theta += alpha delta e``; RMSProp
    ``v = beta2 v + (1 - beta2) (delta e)^2``, ``theta += alpha delta e / (sqrt(v) + eps)``;
    then ``e = decay e + grad``. RMSProp pairs parameter i with i + size // 2.
    """
    if not learn:
        for i in range(theta.shape[0]):
            trace[i] = decay * trace[i] + grad[i]
    elif optimizer == SGD:
        step = alpha * delta
        for i in range(theta.shape[0]):
            e = trace[i]
            theta[i] += step * e
            trace[i] = decay * e + grad[i]
    else:
        size = theta.shape[0]
        half = size // 2
        for a in range(half):
            b = a + half
            ea, eb = trace[a], trace[b]
            v[a], v[b], step_a, step_b = rmsprop_pair(delta * ea, delta * eb, v[a], v[b], alpha, beta2,
                                                      one_minus_beta2, eps)
            theta[a] += step_a
            theta[b] += step_b
            trace[a] = decay * ea + grad[a]
            trace[b] = decay * eb + grad[b]
        for i in range(2 * half, size):  # the odd one out, paired with itself
            e = trace[i]
            v[i], _, step, _ = rmsprop_pair(delta * e, delta * e, v[i], v[i], alpha, beta2, one_minus_beta2, eps)
            theta[i] += step
            trace[i] = decay * e + grad[i]


def _fused_rmsprop_rows(terms, with_older):
    """Build the fused RMSProp pass over W's rows for windows whose gradient has at most
    ``terms`` (2 or 4) steps made inside the pass, plus, ``with_older``, the rest precomputed.

    ``terms`` and ``with_older`` are compile-time constants of the built function: each
    variant loads only what its windows need (a two-step window skips half the loads)."""

    @nb.njit(cache=True, inline="always")
    def gradient(hist_x, older, m, s0, s1, s2, s3, a0, a1, a2, a3):
        """Column m of a W row's gradient: sum_j a_j x[s_j, m] (+ ``older[0, m]``, the rest)."""
        g = a0 * hist_x[s0, m] + a1 * hist_x[s1, m]
        if terms > 2:
            g += a2 * hist_x[s2, m] + a3 * hist_x[s3, m]
        if with_older:
            g += older[0, m]
        return g

    @nb.njit(cache=True, inline="always")
    def row(W, We, Wv, r, older, hist_x, s0, s1, s2, s3, a0, a1, a2, a3, delta, decay, alpha, beta2,
            one_minus_beta2, eps):
        """Row r of :func:`rmsprop_rows` (the slots s_j and weights a_j of the window's steps)."""
        n = W.shape[1]
        half = n // 2
        for a in range(half):
            b = a + half
            ga = gradient(hist_x, older, a, s0, s1, s2, s3, a0, a1, a2, a3)
            gb = gradient(hist_x, older, b, s0, s1, s2, s3, a0, a1, a2, a3)
            ea, eb = We[r, a], We[r, b]
            Wv[r, a], Wv[r, b], step_a, step_b = rmsprop_pair(delta * ea, delta * eb, Wv[r, a], Wv[r, b],
                                                              alpha, beta2, one_minus_beta2, eps)
            W[r, a] += step_a
            W[r, b] += step_b
            We[r, a] = decay * ea + ga
            We[r, b] = decay * eb + gb
        for m in range(2 * half, n):
            e = We[r, m]
            Wv[r, m], _, step, _ = rmsprop_pair(delta * e, delta * e, Wv[r, m], Wv[r, m], alpha, beta2,
                                                one_minus_beta2, eps)
            W[r, m] += step
            We[r, m] = decay * e + gradient(hist_x, older, m, s0, s1, s2, s3, a0, a1, a2, a3)

    @nb.njit(cache=True, inline="always")
    def rmsprop_rows(W, We, Wv, older, n, d, window, slots, dz, hist_x, hist_nz, delta, decay, consts):
        """RMSProp TD step and new trace on every row of W, one pass per row that also makes
        the row's gradient, so that the gradient's loads and FMAs overlap the square roots and
        divisions of RMSProp. ``older`` [1, n]: scratch for the window's terms past ``terms``.
        Column m is paired with m + n // 2 (:func:`rmsprop_pair`)."""
        zero, alpha = consts[ZERO], consts[ALPHA]
        beta2, one_minus_beta2, eps = consts[BETA2], consts[ONE_MINUS_BETA2], consts[EPS]
        s0 = slots[0]  # terms past the window: weight 0 on any valid row
        s1 = slots[1] if window > 1 else s0
        s2 = slots[2] if window > 2 else s0
        s3 = slots[3] if window > 3 else s0
        for r in range(4 * d):
            if with_older:
                input_gradient_rows(older, r, r + 1, terms, n, window, slots, dz, hist_x, hist_nz, zero)
            a0 = dz[0, r]
            a1 = dz[1, r] if window > 1 else zero
            a2 = dz[2, r] if window > 2 else zero
            a3 = dz[3, r] if window > 3 else zero
            row(W, We, Wv, r, older, hist_x, s0, s1, s2, s3, a0, a1, a2, a3, delta, decay, alpha, beta2,
                one_minus_beta2, eps)

    return rmsprop_rows


#: Window steps whose gradient terms the fused pass makes itself (the rest come precomputed).
FUSED_TERMS = 4
#: The fused pass for windows of at most 2 steps, at most FUSED_TERMS, and longer ones.
rmsprop_rows_2 = _fused_rmsprop_rows(2, with_older=False)
rmsprop_rows_4 = _fused_rmsprop_rows(FUSED_TERMS, with_older=False)
rmsprop_rows_older = _fused_rmsprop_rows(FUSED_TERMS, with_older=True)


@nb.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def update_input_weights(theta, trace, v, grad, n, d, window, slots, dz, hist_x, hist_nz, learn, optimizer, delta,
                         decay, consts):
    """The TD(lambda) step on W (theta[:4dn]) and its trace, in blocks of ``grad.shape[0]``
    rows: the block's gradient is made into ``grad`` [rows, n] (it stays in L1) and consumed
    at once by :func:`td_span`, so that W, its trace and RMSProp state stream through the
    cache once. Wide inputs (one-row blocks) with RMSProp fuse further, row by row
    (:func:`_fused_rmsprop_rows`: ``grad`` holds only the window's terms past the fourth)."""
    zero, alpha = consts[ZERO], consts[ALPHA]
    beta2, one_minus_beta2, eps = consts[BETA2], consts[ONE_MINUS_BETA2], consts[EPS]
    rows = grad.shape[0]
    if rows == 1 and learn and optimizer != SGD:
        W, We, Wv = split(theta, n, d)[0], split(trace, n, d)[0], split(v, n, d)[0]
        if window <= 2:
            rmsprop_rows_2(W, We, Wv, grad, n, d, window, slots, dz, hist_x, hist_nz, delta, decay, consts)
        elif window <= FUSED_TERMS:
            rmsprop_rows_4(W, We, Wv, grad, n, d, window, slots, dz, hist_x, hist_nz, delta, decay, consts)
        else:
            rmsprop_rows_older(W, We, Wv, grad, n, d, window, slots, dz, hist_x, hist_nz, delta, decay, consts)
        return
    flat = grad.reshape(rows * n)
    for r0 in range(0, 4 * d, rows):
        r1 = min(4 * d, r0 + rows)
        input_gradient_rows(grad, r0, r1, 0, n, window, slots, dz, hist_x, hist_nz, zero)
        lo, hi = r0 * n, r1 * n
        td_span(theta[lo:hi], trace[lo:hi], v[lo:hi], flat, learn, optimizer, delta, decay, alpha, beta2,
                one_minus_beta2, eps)


@nb.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def update_tail(tail, tail_e, tail_v, grad, d, window, slots, dz, hist_h, learn, optimizer, delta, decay, consts):
    """The TD(lambda) step on U, b and w (``tail``, [4d(d + 1) + d]) with their gradient."""
    recurrent_gradient(grad, d, window, slots, dz, hist_h, consts[ZERO])
    td_span(tail, tail_e, tail_v, grad, learn, optimizer, delta, decay, consts[ALPHA], consts[BETA2],
            consts[ONE_MINUS_BETA2], consts[EPS])


class TBPTTState(NamedTuple):
    """The learner's checkpointed arrays (float = the learner's dtype), k = truncation, d = n_hidden."""

    theta: np.ndarray      # float[P]: W, U, b, w (module docstring)
    trace: np.ndarray      # float[P]: eligibility trace e
    v: np.ndarray          # float[P]: RMSProp state
    hist_x: np.ndarray     # float[k + 1, n]: inputs of the steps in the ring
    hist_nz: np.ndarray    # int64[k + 1, n // 4 + 1]: count (-1: dense) and indices of their non-zeros
    hist_h: np.ndarray     # float[k + 1, d]: h of each step
    hist_c: np.ndarray     # float[k + 1, d]: c
    hist_gate: np.ndarray  # float[k + 1, 4d]: gate activations (i, f, g, o)
    hist_tc: np.ndarray    # float[k + 1, d]: tanh(c)
    clock: np.ndarray      # int64[1]: steps since the stream (re)start
    last_y: np.ndarray     # float[1]: the last prediction


class TBPTTScratch(NamedTuple):
    """Work arrays of :func:`run_steps`, overwritten every step."""

    grad: np.ndarray       # float[rows, n]: a block of W's rows' gradient
    tail_grad: np.ndarray  # float[4d(d + 1) + d]: gradient of U, b, w
    dz: np.ndarray         # float[k, 4d]: d y / d(pre-activations) of the window's steps
    work: np.ndarray       # float[2d]: dh, dc of the backward recurrence
    slots: np.ndarray      # int64[k + 1]: history slots of the window's steps


class TBPTTShape(NamedTuple):
    """The learner's sizes and optimiser (scalars)."""

    n_inputs: int
    n_hidden: int
    truncation: int
    optimizer: int         # td_lambda.SGD, RMSPROP or OBGD


@nb.njit(cache=True)
def truncated_gradient(window, state, scratch, consts, shape, out):
    """The whole truncated gradient dy/dtheta [P] of the step :func:`forward_and_backward` just made,
    into ``out`` (the learner never forms it: this is for measuring it, e.g. gradient fidelity)."""
    n, d = shape.n_inputs, shape.n_hidden
    zero = consts[ZERO]
    block = out[:4 * d * n].reshape((4 * d, n))
    input_gradient_rows(block, 0, 4 * d, 0, n, window, scratch.slots, scratch.dz, state.hist_x, state.hist_nz, zero)
    recurrent_gradient(out[4 * d * n:], d, window, scratch.slots, scratch.dz, state.hist_h, zero)


def loop_with(hook):
    """The per-step loop of :func:`run_steps`, calling the compiled ``hook(row, obs, t, window, state,
    scratch, consts, shape, extra)`` after each step's backward pass and before its update (theta is
    still theta_t and ``scratch.dz`` holds the window's deltas): a measurement's way in without a
    second copy of the loop. ``extra`` is passed through to the hook."""

    @nb.njit(cache=True)
    def loop(obs, cumulant, gamma, out, state, scratch, consts, shape, extra):
        theta, trace, v, clock, last_y = state.theta, state.trace, state.v, state.clock, state.last_y
        hist_x, hist_nz, hist_h, hist_c = state.hist_x, state.hist_nz, state.hist_h, state.hist_c
        hist_gate, hist_tc = state.hist_gate, state.hist_tc
        grad, tail_grad, dz, work, slots = scratch.grad, scratch.tail_grad, scratch.dz, scratch.work, scratch.slots
        n, d, k, optimizer = shape.n_inputs, shape.n_hidden, shape.truncation, shape.optimizer
        zero, one, lam = consts[ZERO], consts[ONE], consts[LAM]
        W, U, tail = split(theta, n, d)
        tail_e, tail_v = split(trace, n, d)[2], split(v, n, d)[2]
        dh = work[:d]
        dc = work[d:2 * d]
        for row in range(obs.shape[0]):
            t = clock[0]
            window = window_slots(t, k, slots)
            y = lstm_forward(W, U, tail, obs[row], n, d, slots[0], slots[1], hist_x, hist_nz, hist_h, hist_c,
                             hist_gate, hist_tc, zero, one)
            backward_deltas(U, tail, d, window, slots, hist_h, hist_c, hist_gate, hist_tc, dz, dh, dc, zero, one)
            hook(row, obs, t, window, state, scratch, consts, shape, extra)
            learn = t > 0
            delta = cumulant[row] + gamma[row] * y - last_y[0] if learn else zero
            decay = lam * gamma[row] if learn else zero
            rule = optimizer
            if learn and optimizer == OBGD:  # ObGD is SGD with obgd_delta over all of theta (td_lambda)
                rule = SGD
                delta = obgd_delta(delta, consts[ALPHA] * trace_l1(trace, trace.shape[0], zero), consts[KAPPA], one)
            update_input_weights(theta, trace, v, grad, n, d, window, slots, dz, hist_x, hist_nz, learn, rule,
                                 delta, decay, consts)
            update_tail(tail, tail_e, tail_v, tail_grad, d, window, slots, dz, hist_h, learn, rule, delta, decay,
                        consts)
            last_y[0] = y
            clock[0] = t + 1
            out[row] = y

    return loop


@nb.njit(cache=True, inline="always")
def _no_hook(row, obs, t, window, state, scratch, consts, shape, extra):
    pass


_plain_loop = loop_with(_no_hook)


@nb.njit(cache=True)
def run_steps(obs, cumulant, gamma, out, state, scratch, consts, shape):
    """Process the rows of a chunk in order; ``out[i]`` = the prediction made at row i.

    ``clock[0]`` counts steps since the stream (re)start: at 0 the row is x_0 (no TD
    update, trace starts afresh). Order per step, as in :mod:`rtrlbench.agents.td_lambda`:
    forward with theta_t -> y_{t+1}; grad V(S_{t+1}) with theta_t; delta; theta update
    with e_t; e_{t+1} = lambda gamma_{t+1} e_t + grad; no full gradient array is kept.

    ``state``: :class:`TBPTTState`; ``scratch``: :class:`TBPTTScratch`; ``shape``:
    :class:`TBPTTShape`. Float arrays share one dtype: ``cumulant``, ``gamma``, the state and
    scratch arrays and ``consts`` (indexed by ZERO, ONE, ALPHA, LAM, BETA2, ONE_MINUS_BETA2,
    EPS); ``out``: float64. (The loop is :func:`loop_with`'s, with no hook.)
    """
    _plain_loop(obs, cumulant, gamma, out, state, scratch, consts, shape, 0)
