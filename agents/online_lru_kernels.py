"""Compiled loop of the online LRU learner (:mod:`rtrlbench.agents.online_lru`): one linear
recurrent unit layer (Zucchet et al. 2023, after Orvieto et al. 2023), its exact online
gradient, and the TD(lambda) step of :mod:`rtrlbench.agents.td_lambda`.

Network, with n inputs x_t, N complex units, layer width H (k < N, j < n, m, l < H):

    lambda_k = exp(-exp(nu_k) + i exp(theta_k))         gamma_k = exp(gamma_log_k)   (1 without gamma_norm)
    h_t      = lambda (.) h_{t-1} + gamma (.) (B x_t),   B = B_re + i B_im,  h_{-1} = 0
    z_t      = Re[C h_t] + D x_t,                         C = C_re + i C_im   (D: real H x n)
    f_t      = (W1 a + b1) (.) sigmoid(W2 a + b2),  a = GELU(z_t)   ("full_glu"; "gelu": f = a; "none": f = z)
    y_t      = w . f_t + b

Exact sensitivities of the recurrence (complex; h is holomorphic in lambda, so the chain
rule through the real nu, theta is exact), advanced with this step's parameters:

    S^lam_t = lambda (.) S^lam_{t-1} + h_{t-1}           (d h_t / d lambda)
    S^gam_t = lambda (.) S^gam_{t-1} + B x_t              (d h_t / d gamma)
    E_t     = lambda 1^T (.) E_{t-1} + 1 x_t^T            (N x n; d h_k / d B_kj = gamma_k E_kj)

With r = d y / d z (real, by backpropagation through the readout and the GLU) and
q = C^T r (complex: d y / d h_k = Re[q_k . ]):

    dy/dnu_k      = -exp(nu_k)    Re[q_k lambda_k S^lam_k]
    dy/dtheta_k   = -exp(theta_k) Im[q_k lambda_k S^lam_k]
    dy/dgamma_log = Re[q_k gamma_k S^gam_k]
    dy/dB_re[k,j] = Re[q_k gamma_k E_kj],   dy/dB_im[k,j] = -Im[q_k gamma_k E_kj]
    dy/dC_re[m,k] = r_m Re h_k,  dy/dC_im[m,k] = -r_m Im h_k,  dy/dD[m,j] = r_m x_j

and the GLU and readout parameters get their (instantaneous, hence exact) gradient.
Parameters live in one flat array (offsets in :class:`LRUConfig`), so one call of
:func:`td_lambda.update_then_accumulate` does the TD(lambda) step over all of them.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from rtrlbench.agents.flat_td_step import td_step

#: ``mixing`` codes: what follows the LRU layer.
FULL_GLU, GELU_ONLY, NO_MIXING = 0, 1, 2
MIXINGS = {"full_glu": FULL_GLU, "gelu": GELU_ONLY, "none": NO_MIXING}
#: ``gelu`` codes: exact (erf) or the tanh approximation (flax's default, which the authors' code uses).
GELU_EXACT, GELU_TANH = 0, 1
GELUS = {"exact": GELU_EXACT, "tanh": GELU_TANH}
#: Parameter blocks in the flat parameter vector, in order, with their shapes ((N, n) etc.).
BLOCKS = ("nu_log", "theta_log", "gamma_log", "B_re", "B_im", "C_re", "C_im", "D", "W1", "b1", "W2", "b2", "w", "b")


def block_shapes(n_inputs: int, n_hidden: int, n_model: int, mixing: int, gamma_norm: bool) -> dict:
    """Shape of each parameter block (a 0-size block is absent: no gamma without gamma_norm,
    no W1, b1, W2, b2 without the GLU)."""
    n, big_n, h = n_inputs, n_hidden, n_model
    glu = mixing == FULL_GLU
    return {"nu_log": (big_n,), "theta_log": (big_n,), "gamma_log": (big_n if gamma_norm else 0,),
            "B_re": (big_n, n), "B_im": (big_n, n), "C_re": (h, big_n), "C_im": (h, big_n), "D": (h, n),
            "W1": (h if glu else 0, h), "b1": (h if glu else 0,), "W2": (h if glu else 0, h), "b2": (h if glu else 0,),
            "w": (h,), "b": (1,)}


def block_offsets(shapes: dict) -> dict:
    """Start of each block in the flat vector, and ``"size"``: the number of parameters."""
    offsets, start = {}, 0
    for name in BLOCKS:
        offsets[name] = start
        start += int(np.prod(shapes[name]))
    offsets["size"] = start
    return offsets


class LRUConfig(NamedTuple):
    """The fixed settings the compiled loop reads (scalars)."""

    n_inputs: int
    n_hidden: int      # N complex units
    n_model: int       # H, width of the layer output z and of the GLU
    mixing: int        # FULL_GLU, GELU_ONLY or NO_MIXING
    gelu: int          # GELU_EXACT or GELU_TANH
    gamma_norm: bool   # learned gamma = exp(gamma_log); else gamma = 1
    optimizer: int     # td_lambda.SGD, RMSPROP or OBGD
    alpha: float
    lam: float         # trace decay lambda
    beta2: float       # RMSProp decay
    eps: float         # RMSProp offset
    o_nu: int          # offsets of the parameter blocks (BLOCKS) in theta
    o_th: int
    o_gl: int
    o_bre: int
    o_bim: int
    o_cre: int
    o_cim: int
    o_d: int
    o_w1: int
    o_b1: int
    o_w2: int
    o_b2: int
    o_w: int
    o_b: int
    size: int          # number of parameters


class LRUState(NamedTuple):
    """Every array of the learner (float64 unless said otherwise); its checkpoint. P parameters."""

    theta: np.ndarray   # [P]: the parameters, blocks in BLOCKS order
    trace: np.ndarray   # [P]: eligibility trace
    v: np.ndarray       # [P]: RMSProp state (starts at 1)
    grad: np.ndarray    # [P]: d y_t / d theta of the last prediction
    h: np.ndarray       # complex128[N]: the LRU state h_t
    s_lam: np.ndarray   # complex128[N]: S^lam = d h / d lambda
    s_gam: np.ndarray   # complex128[N]: S^gam = d h / d gamma
    e_in: np.ndarray    # complex128[N, n]: E, d h_k / d B_kj = gamma_k E_kj
    z: np.ndarray       # [H]: layer output z_t
    act: np.ndarray     # [H]: GELU(z_t)
    gate_u: np.ndarray  # [H]: W1 a + b1
    gate_s: np.ndarray  # [H]: sigmoid(W2 a + b2)
    feat: np.ndarray    # [H]: f_t, what the readout reads
    dz: np.ndarray      # [H]: scratch, d y / d (GLU pre-activations), then r = d y / d z
    dv: np.ndarray      # [H]: scratch, d y / d (W2 a + b2)
    y_prev: np.ndarray  # [1]: the last prediction


@nb.njit(cache=True, inline="always")
def _sigmoid(a):
    return 1.0 / (1.0 + math.exp(-a))


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_C = math.sqrt(2.0 / math.pi)


@nb.njit(cache=True, inline="always")
def gelu_and_slope(z, kind):
    """(GELU(z), GELU'(z)): exact, z Phi(z), or the tanh approximation."""
    if kind == GELU_EXACT:
        cdf = 0.5 * (1.0 + math.erf(z * _SQRT_HALF))
        return z * cdf, cdf + z * _INV_SQRT_2PI * math.exp(-0.5 * z * z)
    t = math.tanh(_TANH_C * (z + 0.044715 * z * z * z))
    return 0.5 * z * (1.0 + t), 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * _TANH_C * (1.0 + 3.0 * 0.044715 * z * z)


@nb.njit(cache=True, inline="always")
def _recurrence_step(x, cfg, s):
    """Advance h, S^lam, S^gam, E by one step with input x (this step's parameters)."""
    th = s.theta
    n = cfg.n_inputs
    for k in range(cfg.n_hidden):
        lam = np.exp(complex(-math.exp(th[cfg.o_nu + k]), math.exp(th[cfg.o_th + k])))
        gam = math.exp(th[cfg.o_gl + k]) if cfg.gamma_norm else 1.0
        bx_re, bx_im = 0.0, 0.0
        row_re, row_im = cfg.o_bre + k * n, cfg.o_bim + k * n
        for j in range(n):
            xj = x[j]
            bx_re += th[row_re + j] * xj
            bx_im += th[row_im + j] * xj
            s.e_in[k, j] = lam * s.e_in[k, j] + xj
        bx = complex(bx_re, bx_im)
        h_prev = s.h[k]
        s.s_lam[k] = lam * s.s_lam[k] + h_prev
        s.s_gam[k] = lam * s.s_gam[k] + bx
        s.h[k] = lam * h_prev + gam * bx


@nb.njit(cache=True, inline="always")
def _readout(x, cfg, s):
    """z, the mixing layer and y = w . f + b; returns y."""
    th = s.theta
    n, big_n, hh = cfg.n_inputs, cfg.n_hidden, cfg.n_model
    for m in range(hh):
        acc = 0.0
        for k in range(big_n):
            hk = s.h[k]
            acc += th[cfg.o_cre + m * big_n + k] * hk.real - th[cfg.o_cim + m * big_n + k] * hk.imag
        for j in range(n):
            acc += th[cfg.o_d + m * n + j] * x[j]
        s.z[m] = acc
        if cfg.mixing == NO_MIXING:
            s.feat[m] = acc
        else:
            a, slope = gelu_and_slope(acc, cfg.gelu)
            s.act[m] = a
            s.dz[m] = slope  # GELU'(z), kept for the backward pass
            s.feat[m] = a
    if cfg.mixing == FULL_GLU:
        for m in range(hh):
            u = th[cfg.o_b1 + m]
            v = th[cfg.o_b2 + m]
            for l in range(hh):
                u += th[cfg.o_w1 + m * hh + l] * s.act[l]
                v += th[cfg.o_w2 + m * hh + l] * s.act[l]
            s.gate_u[m] = u
            s.gate_s[m] = _sigmoid(v)
        for m in range(hh):
            s.feat[m] = s.gate_u[m] * s.gate_s[m]
    y = th[cfg.o_b]
    for m in range(hh):
        y += th[cfg.o_w + m] * s.feat[m]
    return y


@nb.njit(cache=True, inline="always")
def _gradient(x, cfg, s):
    """d y / d theta of the prediction just made, into ``s.grad`` (module docstring)."""
    th, g = s.theta, s.grad
    n, big_n, hh = cfg.n_inputs, cfg.n_hidden, cfg.n_model
    for m in range(hh):
        g[cfg.o_w + m] = s.feat[m]
    g[cfg.o_b] = 1.0
    r = s.dz  # holds GELU'(z) on entry (mixing != none); becomes r = d y / d z
    if cfg.mixing == FULL_GLU:
        du, dv = s.gate_u, s.dv  # du overwrites gate_u once read
        for m in range(hh):
            wm, sg = th[cfg.o_w + m], s.gate_s[m]
            dv[m] = wm * s.gate_u[m] * sg * (1.0 - sg)
            du[m] = wm * sg
        for m in range(hh):
            g[cfg.o_b1 + m] = du[m]
            g[cfg.o_b2 + m] = dv[m]
            for l in range(hh):
                g[cfg.o_w1 + m * hh + l] = du[m] * s.act[l]
                g[cfg.o_w2 + m * hh + l] = dv[m] * s.act[l]
        for l in range(hh):
            da = 0.0
            for m in range(hh):
                da += th[cfg.o_w1 + m * hh + l] * du[m] + th[cfg.o_w2 + m * hh + l] * dv[m]
            r[l] = da * r[l]
    elif cfg.mixing == GELU_ONLY:
        for m in range(hh):
            r[m] = th[cfg.o_w + m] * r[m]
    else:
        for m in range(hh):
            r[m] = th[cfg.o_w + m]
    for m in range(hh):
        rm = r[m]
        for k in range(big_n):
            g[cfg.o_cre + m * big_n + k] = rm * s.h[k].real
            g[cfg.o_cim + m * big_n + k] = -rm * s.h[k].imag
        for j in range(n):
            g[cfg.o_d + m * n + j] = rm * x[j]
    for k in range(big_n):
        q_re, q_im = 0.0, 0.0
        for m in range(hh):
            q_re += th[cfg.o_cre + m * big_n + k] * r[m]
            q_im += th[cfg.o_cim + m * big_n + k] * r[m]
        q = complex(q_re, q_im)
        lam = np.exp(complex(-math.exp(th[cfg.o_nu + k]), math.exp(th[cfg.o_th + k])))
        qls = q * lam * s.s_lam[k]
        g[cfg.o_nu + k] = -math.exp(th[cfg.o_nu + k]) * qls.real
        g[cfg.o_th + k] = -math.exp(th[cfg.o_th + k]) * qls.imag
        gam = 1.0
        if cfg.gamma_norm:
            gam = math.exp(th[cfg.o_gl + k])
            g[cfg.o_gl + k] = (q * gam * s.s_gam[k]).real
        c = q * gam
        c_re, c_im = c.real, c.imag
        row_re, row_im = cfg.o_bre + k * n, cfg.o_bim + k * n
        for j in range(n):
            e = s.e_in[k, j]
            g[row_re + j] = c_re * e.real - c_im * e.imag
            g[row_im + j] = -(c_re * e.imag + c_im * e.real)


@nb.njit(cache=True)
def run_rows(obs, cumulant, gamma, predictions, first, cfg, s):
    """Learn from the rows of a chunk in order, writing the prediction made at each into
    ``predictions`` (float64[T]); ``first``: row 0 is x_0 of a new stream (the state and its
    sensitivities start at 0). ``cfg``: :class:`LRUConfig`; ``s``: :class:`LRUState`.
    Step order of :mod:`rtrlbench.agents.td_lambda`: forward and gradient with theta_t, delta,
    update with the old trace, then the trace takes this step's gradient."""
    x = np.empty(cfg.n_inputs)
    for row in range(obs.shape[0]):
        is_first = first and row == 0
        if is_first:
            s.h[:] = 0.0
            s.s_lam[:] = 0.0
            s.s_gam[:] = 0.0
            s.e_in[:] = 0.0
        for j in range(cfg.n_inputs):
            x[j] = obs[row, j]
        _recurrence_step(x, cfg, s)
        y = _readout(x, cfg, s)
        predictions[row] = y
        _gradient(x, cfg, s)
        td_step(s, cfg, y, cumulant[row], gamma[row], is_first)
