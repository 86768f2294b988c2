"""Compiled kernels of the T-BPTT learner: one LSTM step forward, the gradient of the
prediction by backpropagation through the last k steps, and the per-step TD(lambda) loop.

Parameter vector ``theta`` (float64[P], P = 4d(n + d + 1) + d), PyTorch ``LSTMCell``
layout and gate order (input i, forget f, cell g, output o), each block row-major:

    W [4d, n]   input weights        U [4d, d]   recurrent weights
    b [4d]      one bias per gate    w [d]       output weights: y_t = w . h_t (no bias)

History: a ring of k + 1 slots; step s lives in slot s % (k + 1). A window of k steps
needs those steps' activations *and* the state just before the oldest of them, k + 1
states in all (the authors' k-slot ring read the newest state there instead). Slot k
holds the zero state h_{-1} = c_{-1} = 0 until step k overwrites it.

The kernels use ``fastmath={"reassoc", "contract"}`` so that LLVM vectorises the dot
products (sums are reordered; results stay deterministic for a given machine).
"""
import numba as nb
import numpy as np

from rtrlbench.agents.td_lambda import accumulate_trace, apply_update

_FAST = {"reassoc", "contract"}


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
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@nb.njit(cache=True, fastmath=_FAST, error_model="numpy")
def lstm_forward(theta, x_row, n, d, slot, prev, hist_x, hist_nz, hist_h, hist_c, hist_gate, hist_tc):
    """One LSTM step from the state in slot ``prev``; returns y = w . h.

    Writes x, the gate activations (i, f, g, o), c, tanh(c) and h into slot ``slot``,
    and, when x has at most ``hist_nz.shape[1] - 1`` non-zeros, their indices
    (``hist_nz[slot, 0]`` = their count, or -1 for a dense x), so that sparse inputs
    cost only their non-zeros here and in the backward pass.
    """
    ou, ob, ow, _ = offsets(n, d)
    capacity = hist_nz.shape[1] - 1
    count = 0
    for m in range(n):
        xm = np.float64(x_row[m])
        hist_x[slot, m] = xm
        if xm != 0.0:
            count += 1
            if count <= capacity:
                hist_nz[slot, count] = m
    sparse = count <= capacity
    hist_nz[slot, 0] = count if sparse else -1
    x = hist_x[slot]
    for r in range(4 * d):
        acc = theta[ob + r]
        row = r * n
        if sparse:
            for q in range(1, count + 1):
                m = hist_nz[slot, q]
                acc += theta[row + m] * hist_x[slot, m]
        else:
            weights = theta[row:row + n]  # a view indexed by the loop variable vectorises
            for m in range(n):
                acc += weights[m] * x[m]
        row = ou + r * d
        for u in range(d):
            acc += theta[row + u] * hist_h[prev, u]
        hist_gate[slot, r] = acc
    y = 0.0
    for u in range(d):
        ig = _sigmoid(hist_gate[slot, u])
        fg = _sigmoid(hist_gate[slot, d + u])
        gg = np.tanh(hist_gate[slot, 2 * d + u])
        og = _sigmoid(hist_gate[slot, 3 * d + u])
        c = fg * hist_c[prev, u] + ig * gg
        tc = np.tanh(c)
        h = og * tc
        hist_gate[slot, u], hist_gate[slot, d + u] = ig, fg
        hist_gate[slot, 2 * d + u], hist_gate[slot, 3 * d + u] = gg, og
        hist_c[slot, u] = c
        hist_tc[slot, u] = tc
        hist_h[slot, u] = h
        y += theta[ow + u] * h
    return y


@nb.njit(cache=True, fastmath=_FAST, error_model="numpy")
def backward_deltas(theta, n, d, window, slots, hist_h, hist_c, hist_gate, hist_tc, dz, dh, dc):
    """dz[j] = dy_t / d(pre-activations of step t - j) for j < window = min(k, t + 1): the
    truncated backward recurrence over the stored activations, with the current U and w.

    ``slots[j]``: the history slot of step t - j (j <= window, see :func:`window_slots`).
    ``dz``: float64[k, 4d]; ``dh``, ``dc``: float64[d] scratch. Cost O(k d^2). The
    parameter gradients follow from dz, x and h alone (:func:`input_gradient`,
    :func:`recurrent_gradient`).
    """
    ou, _, ow, _ = offsets(n, d)
    for u in range(d):
        dh[u] = theta[ow + u]
        dc[u] = 0.0
    for j in range(window):
        slot = slots[j]
        prev = slots[j + 1]
        for u in range(d):
            ig, fg = hist_gate[slot, u], hist_gate[slot, d + u]
            gg, og = hist_gate[slot, 2 * d + u], hist_gate[slot, 3 * d + u]
            tc = hist_tc[slot, u]
            dcu = dc[u] + dh[u] * og * (1.0 - tc * tc)
            dz[j, u] = dcu * gg * ig * (1.0 - ig)
            dz[j, d + u] = dcu * hist_c[prev, u] * fg * (1.0 - fg)
            dz[j, 2 * d + u] = dcu * ig * (1.0 - gg * gg)
            dz[j, 3 * d + u] = dh[u] * tc * og * (1.0 - og)
            dc[u] = dcu * fg
        for u in range(d):
            dh[u] = 0.0
        for r in range(4 * d):
            row = ou + r * d
            for u in range(d):
                dh[u] += theta[row + u] * dz[j, r]


@nb.njit(cache=True, fastmath=_FAST, error_model="numpy")
def input_gradient(grad, r0, r1, n, window, slots, dz, hist_x, hist_nz):
    """grad = rows r0..r1-1 of dy_t/dW = sum_j outer(dz[j], x_{t-j}), flattened (float64[(r1-r0) n])."""
    # Sparse rows: plain 2-D indexing (a view costs two atomic reference counts). Dense
    # rows: 1-D views indexed by the loop variable alone, which LLVM vectorises
    # (grad[row + m] would not vectorise: numba wraps negative indices).
    for i in range((r1 - r0) * n):
        grad[i] = 0.0
    for j in range(window):
        slot = slots[j]
        count = hist_nz[slot, 0]
        if count >= 0:
            for r in range(r0, r1):
                a = dz[j, r]
                row = (r - r0) * n
                for q in range(1, count + 1):
                    m = hist_nz[slot, q]
                    grad[row + m] += a * hist_x[slot, m]
        else:
            x = hist_x[slot]
            for r in range(r0, r1):
                a = dz[j, r]
                g = grad[(r - r0) * n:(r - r0 + 1) * n]
                for m in range(n):
                    g[m] += a * x[m]


@nb.njit(cache=True, fastmath=_FAST, error_model="numpy")
def recurrent_gradient(grad, d, window, slots, dz, hist_h):
    """grad = dy_t/d(U, b, w) flattened like theta's tail (float64[4d d + 4d + d])."""
    ob = 4 * d * d
    ow = ob + 4 * d
    for i in range(ow):
        grad[i] = 0.0
    for j in range(window):
        prev = slots[j + 1]
        for r in range(4 * d):
            a = dz[j, r]
            grad[ob + r] += a
            for u in range(d):
                grad[r * d + u] += a * hist_h[prev, u]
    for u in range(d):
        grad[ow + u] = hist_h[slots[0], u]


@nb.njit(cache=True)
def _td_block(lo, hi, grad, theta, trace, v, alpha, learn, delta, decay, optimizer, beta2, eps):
    """The TD(lambda) step on theta[lo:hi] with that block's gradient ``grad``."""
    if learn:
        apply_update(theta[lo:hi], trace[lo:hi], delta, alpha[lo:hi], optimizer, v[lo:hi], beta2, eps)
    accumulate_trace(trace[lo:hi], grad, decay)


@nb.njit(cache=True)
def run_steps(obs, cumulant, gamma, out, theta, trace, grad, v, alpha, hist_x, hist_nz, hist_h, hist_c, hist_gate,
              hist_tc, dz, work, slots, clock, last_y, n, d, k, lam, optimizer, beta2, eps):
    """Process the rows of a chunk in order; ``out[i]`` = the prediction made at row i.

    ``clock[0]`` counts steps since the stream (re)start: at 0 the row is x_0 (no TD
    update, trace starts afresh). Order per step, as in :mod:`rtrlbench.agents.td_lambda`:
    forward with theta_t -> y_{t+1}; grad V(S_{t+1}) with theta_t; delta; theta update
    with e_t; e_{t+1} = lambda gamma_{t+1} e_t + grad. The update and trace run block by
    block (a few rows of W, then U, b, w), each block's gradient made just before, so
    that theta, e, v and alpha stream through the cache once per step.

    ``grad``: float64 scratch of at least max(block rows * n, 4d(d + 1) + d);
    ``work``: float64[2d] and ``slots``: int64[k + 1] scratch.
    """
    g4 = 4 * d
    ou, _, _, size = offsets(n, d)
    rows_per_block = max(1, min(g4, grad.shape[0] // n))
    dh = work[:d]
    dc = work[d:2 * d]
    for row in range(obs.shape[0]):
        t = clock[0]
        window = window_slots(t, k, slots)
        y = lstm_forward(theta, obs[row], n, d, slots[0], slots[1], hist_x, hist_nz, hist_h, hist_c,
                         hist_gate, hist_tc)
        backward_deltas(theta, n, d, window, slots, hist_h, hist_c, hist_gate, hist_tc, dz, dh, dc)
        learn = t > 0
        delta = cumulant[row] + gamma[row] * y - last_y[0] if learn else 0.0
        decay = lam * gamma[row] if learn else 0.0
        for r0 in range(0, g4, rows_per_block):
            r1 = min(g4, r0 + rows_per_block)
            block = grad[:(r1 - r0) * n]
            input_gradient(block, r0, r1, n, window, slots, dz, hist_x, hist_nz)
            _td_block(r0 * n, r1 * n, block, theta, trace, v, alpha, learn, delta, decay, optimizer, beta2, eps)
        block = grad[:size - ou]
        recurrent_gradient(block, d, window, slots, dz, hist_h)
        _td_block(ou, size, block, theta, trace, v, alpha, learn, delta, decay, optimizer, beta2, eps)
        last_y[0] = y
        clock[0] = t + 1
        out[row] = y
