"""One LSTM column (a single-unit LSTM cell, Javed et al. 2023 eqs. 11-16) and its
forward-mode (RTRL) gradient traces, as compiled kernels.

A column with ``m`` inputs ``z`` (float64[m]) and scalar state (h, c) computes

    a_q = W_q . z + u_q * h(t-1) + b_q           q in (i, f, o, g)
    i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o);  g = tanh(a_g)
    c(t) = f c(t-1) + i g;   h(t) = o tanh(c(t))

Parameter layout: one flat block of ``4 * (m + 2)`` numbers, gate after gate in the order
i, f, o, g, each gate as ``[W_q (m), u_q, b_q]``. Every parameter ``p`` of gate q
therefore enters its pre-activation through one "direct input" d_p, the entry of the
extended input ``zext = [z, h(t-1), 1]`` at its position in the gate.

Traces (two per parameter): TH_p(t) = dh(t)/dp, TC_p(t) = dc(t)/dp, both 0 at the start.
With s_q' the gate slopes (i(1-i), f(1-f), o(1-o), 1-g^2) and k_c = o (1 - tanh^2 c(t)),
differentiating the equations above (the appendix's printed versions have typos; these
are checked against finite differences in the tests):

    da_q'/dp = u_q' TH_p(t-1) + [q' == q] d_p
    TC_p(t)  = f TC_p(t-1) + A TH_p(t-1) + Dc_q d_p,   A = c(t-1) s_f' u_f + i s_g' u_g + g s_i' u_i
    TH_p(t)  = k_c TC_p(t) + B TH_p(t-1) + Dh_q d_p,   B = tanh(c(t)) s_o' u_o

with Dc = (g s_i', c(t-1) s_f', 0, i s_g') and Dh = (0, 0, tanh(c(t)) s_o', 0) for q = (i, f, o, g).

:func:`column_learn` advances the traces, takes the TD(lambda) step of the column's
parameters and decays/accumulates their eligibility traces, in two passes over the block
(traces and gradient per gate, then update and trace step fused) while it is in cache.
Frozen columns (whose parameters and input statistics no longer change) run through
:func:`stage_forward_packed` on an input-major copy of their weights with the input
normalisation folded in (:func:`pack_stage`), so that the four gates of every column of a
stage are one vectorisable multiply-add per raw input.

No fast-math flags: every kernel gives the IEEE result of the written expression order
(the tests compare against an independent numpy network at 1e-12).
"""
import numba as nb
import numpy as np

from rtrlbench.agents.td_lambda import RMSPROP, SGD, rmsprop_step

N_GATES = 4
#: Entries of the per-column record :func:`column_forward` writes for :func:`column_learn`.
H_PREV, C_PREV, GATE_I, GATE_F, GATE_O, GATE_G, C_NEW, TANH_C = range(8)
RECORD_SIZE = 8


@nb.njit(cache=True)
def block_size(m):
    """Number of parameters of a column with ``m`` inputs (callable from Python and compiled code)."""
    return N_GATES * (m + 2)


@nb.njit(cache=True)
def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


@nb.njit(cache=True)
def tanh(a):
    """tanh through one exp (about 3x faster than libm's tanh; absolute error ~1e-16)."""
    return 1.0 - 2.0 / (1.0 + np.exp(2.0 * a))


@nb.njit(cache=True)
def column_forward(theta, base, m, z, h_prev, c_prev, record):
    """One step of the column whose parameters start at ``theta[base]``; returns (h, c).

    ``z``: float64[>= m], the column's inputs. ``record`` (float64[RECORD_SIZE]) receives
    h(t-1), c(t-1), the four gates, c(t) and tanh(c(t)) for :func:`column_traces`.
    """
    ng = m + 2
    o_f, o_o, o_g = base + ng, base + 2 * ng, base + 3 * ng
    a_i = theta[base + m] * h_prev + theta[base + m + 1]
    a_f = theta[o_f + m] * h_prev + theta[o_f + m + 1]
    a_o = theta[o_o + m] * h_prev + theta[o_o + m + 1]
    a_g = theta[o_g + m] * h_prev + theta[o_g + m + 1]
    for j in range(m):  # the four gates in one pass: four independent sums
        zj = z[j]
        a_i += theta[base + j] * zj
        a_f += theta[o_f + j] * zj
        a_o += theta[o_o + j] * zj
        a_g += theta[o_g + j] * zj
    i, f, o, g = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o), tanh(a_g)
    c = f * c_prev + i * g
    tanh_c = tanh(c)
    record[H_PREV] = h_prev
    record[C_PREV] = c_prev
    record[GATE_I] = i
    record[GATE_F] = f
    record[GATE_O] = o
    record[GATE_G] = g
    record[C_NEW] = c
    record[TANH_C] = tanh_c
    return o * tanh_c, c


@nb.njit(cache=True, error_model="numpy")  # IEEE division (no zero check), so the RMSProp loop vectorises
def column_learn(theta, base, m, zext, record, th, tc, tm, tv, e, v, grad, tbase, exact, beta, centred, p_coef,
                 q_coef, delta, alpha, decay, optimizer, beta2, eps):
    """One learning step of the column at ``theta[base:]``; its traces sit at ``[tbase:]``.

    Per parameter: TH, TC advance (module docstring) with the parameters *of this step* and
    its ``record``; ``grad`` = d y / dp; then the TD(lambda) step of
    :mod:`rtrlbench.agents.td_lambda`, theta += step(delta e) and e = decay e + grad
    (``alpha`` is the column's step size, ``optimizer`` a td_lambda code or NO_UPDATE).

    ``grad``: with ``exact`` False, ``p_coef TH`` (the running output statistics of the
    feature are constants: ``p_coef = w / s``). With ``exact`` True the statistics are
    differentiated too (decay ``beta``, ``centred = h - mu``): TM = d mu / dp and
    TV = d var / dp advance as well and ``grad = p_coef (TH - TM) + q_coef TV``, which is
    d y / dp when ``q_coef = -w centred s'(var) / s^2``.

    ``zext``: float64[>= m + 2] holding the column's inputs in ``zext[:m]``; this sets
    ``zext[m] = h(t-1)`` and ``zext[m+1] = 1`` (the direct inputs of u_q and b_q).
    """
    ng = m + 2
    hp, cp = record[H_PREV], record[C_PREV]
    i, f, o, g, tanh_c = record[GATE_I], record[GATE_F], record[GATE_O], record[GATE_G], record[TANH_C]
    si, sf, so, sg = i * (1.0 - i), f * (1.0 - f), o * (1.0 - o), 1.0 - g * g
    kc = o * (1.0 - tanh_c * tanh_c)
    u_i, u_f = theta[base + m], theta[base + ng + m]
    u_o, u_g = theta[base + 2 * ng + m], theta[base + 3 * ng + m]
    a_coef = cp * sf * u_f + i * sg * u_g + g * si * u_i
    b_coef = tanh_c * so * u_o
    zext[m] = hp
    zext[m + 1] = 1.0
    direct_c = (g * si, cp * sf, 0.0, i * sg)  # Dc and Dh of the module docstring, gate by gate
    direct_h = (0.0, 0.0, tanh_c * so, 0.0)
    # Loops over 0-based views (no negative-index wraparound to check) and, per loop, few
    # arrays (few runtime alias checks): LLVM vectorises them without fast-math.
    for q in range(N_GATES):
        lo = tbase + q * ng
        th_q, tc_q, grad_q, dc, dh = th[lo:lo + ng], tc[lo:lo + ng], grad[lo:lo + ng], direct_c[q], direct_h[q]
        if exact:
            tm_q, tv_q = tm[lo:lo + ng], tv[lo:lo + ng]
            keep, mix, vmix = beta, 1.0 - beta, -2.0 * (1.0 - beta) * centred
            for j in range(ng):
                h_new, c_new = _trace_step(th_q[j], tc_q[j], zext[j], f, a_coef, kc, b_coef, dc, dh)
                m_new = keep * tm_q[j] + mix * h_new
                v_new = keep * tv_q[j] + vmix * (m_new - h_new)
                th_q[j], tc_q[j], tm_q[j], tv_q[j] = h_new, c_new, m_new, v_new
                grad_q[j] = p_coef * (h_new - m_new) + q_coef * v_new
        else:
            for j in range(ng):
                h_new, c_new = _trace_step(th_q[j], tc_q[j], zext[j], f, a_coef, kc, b_coef, dc, dh)
                th_q[j], tc_q[j] = h_new, c_new
                grad_q[j] = p_coef * h_new
    n = N_GATES * ng
    theta_b, e_b, v_b, grad_b = theta[base:base + n], e[tbase:tbase + n], v[tbase:tbase + n], grad[tbase:tbase + n]
    if optimizer == SGD:
        for j in range(n):
            theta_b[j] += alpha * delta * e_b[j]
            e_b[j] = decay * e_b[j] + grad_b[j]
    elif optimizer == RMSPROP:
        for j in range(n):
            theta_b[j], v_b[j] = rmsprop_step(theta_b[j], v_b[j], delta * e_b[j], alpha, beta2, eps)
            e_b[j] = decay * e_b[j] + grad_b[j]
    else:
        for j in range(n):
            e_b[j] = decay * e_b[j] + grad_b[j]


@nb.njit(cache=True, inline="always")
def _trace_step(th, tc, zj, f, a_coef, kc, b_coef, dc, dh):
    """TH, TC of one parameter one step on (direct input ``zj``): returns the new (TH, TC)."""
    c_new = f * tc + a_coef * th + dc * zj
    return kc * c_new + b_coef * th + dh * zj, c_new


@nb.njit(cache=True)
def pack_stage(theta, packed, base, m, n_cols, mu, inv_scale):
    """Copy the ``n_cols`` frozen columns whose blocks start at ``theta[base]`` (``m`` inputs
    each, normalised with the fixed statistics ``(r - mu) * inv_scale``) into ``packed[base:]``,
    input-major and with the normalisation folded in, so that they read the raw inputs r:
    entry ``(j, col, q)`` at ``base + (j n_cols + col) 4 + q`` is, for gate q of column col,
    ``W_qj inv_scale_j`` for j < m, u_q for j = m and ``b_q - sum_j W_qj inv_scale_j mu_j``
    for j = m + 1 (equal to the unfolded network up to rounding)."""
    ng = m + 2
    width = N_GATES * n_cols
    for col in range(n_cols):
        for q in range(N_GATES):
            src, dst = base + col * N_GATES * ng + q * ng, base + col * N_GATES + q
            shift = 0.0
            for j in range(m):
                w = theta[src + j] * inv_scale[j]
                packed[dst + j * width] = w
                shift += w * mu[j]
            packed[dst + m * width] = theta[src + m]
            packed[dst + (m + 1) * width] = theta[src + m + 1] - shift


@nb.njit(cache=True)
def stage_forward_packed(packed, base, m, n_cols, r, h, c, k0, acc):
    """One step of the frozen columns ``k0 .. k0 + n_cols - 1`` (packed by :func:`pack_stage`),
    all reading the raw inputs ``r[:m]``; updates ``h[k]``, ``c[k]`` in place. ``acc``:
    scratch float64[>= 4 n_cols]. The four gates of every column are one multiply-add per input."""
    width = N_GATES * n_cols
    u_row, b_row = base + m * width, base + (m + 1) * width
    for col in range(n_cols):
        h_prev = h[k0 + col]
        for q in range(N_GATES):
            a = col * N_GATES + q
            acc[a] = packed[u_row + a] * h_prev + packed[b_row + a]
    for j in range(m):
        rj = r[j]
        row = base + j * width
        for a in range(width):
            acc[a] += packed[row + a] * rj
    for col in range(n_cols):
        k, a = k0 + col, col * N_GATES
        i, f, o, g = sigmoid(acc[a]), sigmoid(acc[a + 1]), sigmoid(acc[a + 2]), tanh(acc[a + 3])
        c_new = f * c[k] + i * g
        h[k] = o * tanh(c_new)
        c[k] = c_new
