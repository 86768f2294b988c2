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

:func:`column_forward` runs one step of a column; :func:`column_traces` advances its traces
and writes d y / dp (the learner then takes the TD(lambda) step over the whole stage).
Kernels index their arrays as ``[column, gate, input]`` with loop counters only, so that
LLVM sees non-negative indices and vectorises the per-gate loops; they are inlined
(``inline="always"``) into the learner's loop, whose arrays would otherwise be passed field
by field on every call.
Frozen columns (whose parameters and input statistics no longer change) run through the
same :func:`column_forward` on a copy of their weights with the input normalisation folded
in (:func:`pack_stage`), reading the raw inputs.

The exponentials are :func:`rtrlbench.agents.vector_exp.exp` (arithmetic and a table load, within
1 ulp of libm's), so that loops over the runs of a population vectorise and stay bit-identical to
one run (single-run speed: columnar unchanged, CCN and constructive 4-10% slower than with libm's exp).
No fast-math flags: every kernel gives the IEEE result of the written expression order
(the tests compare against an independent numpy network at 1e-12).
"""
import numba as nb
import numpy as np

from rtrlbench.agents import vector_exp


N_GATES = 4
#: Entries of the per-column record :func:`column_forward` writes for :func:`column_traces`.
H_PREV, C_PREV, GATE_I, GATE_F, GATE_O, GATE_G, C_NEW, TANH_C = range(8)
RECORD_SIZE = 8


@nb.njit(cache=True)
def block_size(m):
    """Number of parameters of a column with ``m`` inputs (callable from Python and compiled code)."""
    return N_GATES * (m + 2)


@nb.njit(cache=True, inline="always")
def sigmoid(a):
    return 1.0 / (1.0 + vector_exp.exp(-a))


@nb.njit(cache=True, inline="always")
def tanh(a):
    """tanh through one exp (about 3x faster than libm's tanh; absolute error ~1e-16)."""
    return 1.0 - 2.0 / (1.0 + vector_exp.exp(2.0 * a))


@nb.njit(cache=True, inline="always")
def column_forward(theta, col, m, z, h_prev, c_prev, records, k):
    """One step of the column whose weights are ``theta[col]`` (``theta``: float64[n, N_GATES,
    >= m + 2], gate q's ``[W_q, u_q, b_q]`` in ``theta[col, q, :m + 2]``); returns (h, c).

    ``z``: float64[>= m], the column's inputs. ``records[k]`` (``records``: float64[>= k + 1,
    RECORD_SIZE]) receives h(t-1), c(t-1), the four gates, c(t) and tanh(c(t)) for
    :func:`column_traces`.
    """
    a_i = theta[col, 0, m] * h_prev + theta[col, 0, m + 1]
    a_f = theta[col, 1, m] * h_prev + theta[col, 1, m + 1]
    a_o = theta[col, 2, m] * h_prev + theta[col, 2, m + 1]
    a_g = theta[col, 3, m] * h_prev + theta[col, 3, m + 1]
    for j in range(m):  # the four gates in one pass: four independent sums
        zj = z[j]
        a_i += theta[col, 0, j] * zj
        a_f += theta[col, 1, j] * zj
        a_o += theta[col, 2, j] * zj
        a_g += theta[col, 3, j] * zj
    i, f, o, g = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o), tanh(a_g)
    c = f * c_prev + i * g
    tanh_c = tanh(c)
    records[k, H_PREV] = h_prev
    records[k, C_PREV] = c_prev
    records[k, GATE_I] = i
    records[k, GATE_F] = f
    records[k, GATE_O] = o
    records[k, GATE_G] = g
    records[k, C_NEW] = c
    records[k, TANH_C] = tanh_c
    return o * tanh_c, c


@nb.njit(cache=True, inline="always")
def column_traces(theta, col, m, zext, records, k, th, tc, tm, tv, grad, exact, beta, centred, p_coef, q_coef):
    """Advance the gradient traces of column ``col`` of the learning stage (its forward step
    recorded in ``records[k]``) and write its gradient d y / dp to ``grad``.

    ``theta``, ``th``, ``tc``, ``grad`` (and, for ``exact``, ``tm``, ``tv``):
    float64[n_cols, N_GATES, m + 2], laid out as in :func:`column_forward` (indexed by loop
    counters only, so that LLVM sees non-negative indices and vectorises the loops).

    Per parameter: TH, TC advance (module docstring) with the parameters *of this step* and
    its record. ``grad``: with ``exact`` False, ``p_coef TH`` (the running output
    statistics of the feature are constants: ``p_coef = w / s``). With ``exact`` True the
    statistics are differentiated too (decay ``beta``, ``centred = h - mu``): TM = d mu / dp
    and TV = d var / dp advance as well and ``grad = p_coef (TH - TM) + q_coef TV``, which is
    d y / dp when ``q_coef = -w centred s'(var) / s^2``.

    ``zext``: float64[>= m + 2] holding the column's inputs in ``zext[:m]``; this sets
    ``zext[m] = h(t-1)`` and ``zext[m+1] = 1`` (the direct inputs of u_q and b_q).
    """
    ng = m + 2
    hp, cp = records[k, H_PREV], records[k, C_PREV]
    i, f, o, g = records[k, GATE_I], records[k, GATE_F], records[k, GATE_O], records[k, GATE_G]
    tanh_c = records[k, TANH_C]
    si, sf, so, sg = i * (1.0 - i), f * (1.0 - f), o * (1.0 - o), 1.0 - g * g
    kc = o * (1.0 - tanh_c * tanh_c)
    u_i, u_f, u_o, u_g = theta[col, 0, m], theta[col, 1, m], theta[col, 2, m], theta[col, 3, m]
    a_coef = cp * sf * u_f + i * sg * u_g + g * si * u_i
    b_coef = tanh_c * so * u_o
    zext[m] = hp
    zext[m + 1] = 1.0
    direct_c = (g * si, cp * sf, 0.0, i * sg)  # Dc and Dh of the module docstring, gate by gate
    direct_h = (0.0, 0.0, tanh_c * so, 0.0)
    keep, mix, vmix = beta, 1.0 - beta, -2.0 * (1.0 - beta) * centred
    for q in range(N_GATES):  # one loop per gate: scalar Dc, Dh
        dc, dh = direct_c[q], direct_h[q]
        if exact:  # two loops, each over few arrays (few runtime alias checks): both vectorise
            for j in range(ng):
                th[col, q, j], tc[col, q, j] = _trace_step(th[col, q, j], tc[col, q, j], zext[j], f, a_coef, kc,
                                                           b_coef, dc, dh)
            for j in range(ng):
                h_new = th[col, q, j]
                m_new = keep * tm[col, q, j] + mix * h_new
                v_new = keep * tv[col, q, j] + vmix * (m_new - h_new)
                tm[col, q, j], tv[col, q, j] = m_new, v_new
                grad[col, q, j] = p_coef * (h_new - m_new) + q_coef * v_new
        else:
            for j in range(ng):
                h_new, c_new = _trace_step(th[col, q, j], tc[col, q, j], zext[j], f, a_coef, kc, b_coef, dc, dh)
                th[col, q, j], tc[col, q, j] = h_new, c_new
                grad[col, q, j] = p_coef * h_new


@nb.njit(cache=True, inline="always")
def _trace_step(th, tc, zj, f, a_coef, kc, b_coef, dc, dh):
    """TH, TC of one parameter one step on (direct input ``zj``): returns the new (TH, TC)."""
    c_new = f * tc + a_coef * th + dc * zj
    return kc * c_new + b_coef * th + dh * zj, c_new


@nb.njit(cache=True)
def pack_stage(theta, packed, k0, m, n_cols, mu, inv_scale):
    """Copy the ``n_cols`` frozen columns ``theta[:n_cols]`` (float64[n_cols, N_GATES, m + 2];
    ``m`` inputs each, normalised with the fixed statistics ``(r - mu) * inv_scale``) to
    ``packed[k0:k0 + n_cols]`` (float64[n_features, N_GATES, >= m + 2]) with the
    normalisation folded in, so that :func:`column_forward` runs them on the raw inputs r:
    ``W_qj inv_scale_j`` for j < m, u_q for j = m and ``b_q - sum_j W_qj inv_scale_j mu_j``
    for j = m + 1 (equal to the unfolded network up to rounding)."""
    for col in range(n_cols):
        for q in range(N_GATES):
            shift = 0.0
            for j in range(m):
                w = theta[col, q, j] * inv_scale[j]
                packed[k0 + col, q, j] = w
                shift += w * mu[j]
            packed[k0 + col, q, m] = theta[col, q, m]
            packed[k0 + col, q, m + 1] = theta[col, q, m + 1] - shift
