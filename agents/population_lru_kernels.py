"""The compiled loop of a population of online LRUs (:mod:`rtrlbench.agents.population_lru`): R runs
of one shape stepped together, every array of :class:`~rtrlbench.agents.online_lru_kernels.LRUState`
with the run as an extra last (innermost, contiguous) axis: ``theta, trace, v, grad [P, R]``,
``h, s_lam, s_gam`` complex128[N, R], ``e_in`` complex128[N, n, R], ``z ... dv [H, R]``,
``y_prev [1, R]``.

Each function is its single-run namesake of :mod:`rtrlbench.agents.online_lru_kernels` (equations
there) with a loop over the runs inside every statement, each expression in the same order and on
the same types (real or complex), so that each run does the IEEE operations of its single-run
learner: bit-identical predictions (tested). lambda_k of each run is computed once per step and
kept for the gradient (the single run computes it twice, from the same parameters: the same bits).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from rtrlbench.agents import population_td_kernels as td
from rtrlbench.agents.online_lru_kernels import FULL_GLU, GELU_ONLY, NO_MIXING, gelu_and_slope


class PopulationScratch(NamedTuple):
    """Per-step temporaries (not part of a checkpoint)."""

    x: np.ndarray          # [n, R]: each run's observation
    lam: np.ndarray        # complex128[N, R]: lambda_k of this step's parameters
    gam: np.ndarray        # [R]: gamma_k of one unit
    acc_re: np.ndarray     # [R]: a real sum being formed (B_re x, z_m, u, q_re)
    acc_im: np.ndarray     # [R]: its partner (B_im x, v, q_im)
    y: np.ndarray          # [R]: the predictions of this step
    cumulant: np.ndarray   # [R]: each run's transition
    gamma: np.ndarray      # [R]
    td: td.FlatTDScratch


def new_scratch(n_inputs: int, n_hidden: int, n_runs: int) -> PopulationScratch:
    return PopulationScratch(np.zeros((n_inputs, n_runs)), np.zeros((n_hidden, n_runs), np.complex128),
                             *(np.zeros(n_runs) for _ in range(6)), td.new_td_scratch(n_runs))


@nb.njit(cache=True, inline="always")
def _sigmoid(a):
    return 1.0 / (1.0 + math.exp(-a))


@nb.njit(cache=True)
def recurrence_step(cfg, s, w):
    """h, S^lam, S^gam and E of every run advanced by one step (``_recurrence_step``)."""
    th, x, n = s.theta, w.x, cfg.n_inputs
    n_runs = th.shape[1]
    bx_re, bx_im, gam = w.acc_re, w.acc_im, w.gam
    for k in range(cfg.n_hidden):
        lam = w.lam[k]
        row_re, row_im = cfg.o_bre + k * n, cfg.o_bim + k * n
        for r in range(n_runs):
            lam[r] = np.exp(complex(-math.exp(th[cfg.o_nu + k, r]), math.exp(th[cfg.o_th + k, r])))
            gam[r] = math.exp(th[cfg.o_gl + k, r]) if cfg.gamma_norm else 1.0
            bx_re[r], bx_im[r] = 0.0, 0.0
        for j in range(n):
            xj, e_kj, b_re, b_im = x[j], s.e_in[k, j], th[row_re + j], th[row_im + j]
            for r in range(n_runs):
                bx_re[r] += b_re[r] * xj[r]
                bx_im[r] += b_im[r] * xj[r]
                e_kj[r] = lam[r] * e_kj[r] + xj[r]
        h, s_lam, s_gam = s.h[k], s.s_lam[k], s.s_gam[k]
        for r in range(n_runs):
            bx = complex(bx_re[r], bx_im[r])
            h_prev = h[r]
            s_lam[r] = lam[r] * s_lam[r] + h_prev
            s_gam[r] = lam[r] * s_gam[r] + bx
            h[r] = lam[r] * h_prev + gam[r] * bx


@nb.njit(cache=True)
def readout(cfg, s, w):
    """z, the mixing layer and y = w . f + b of every run, into ``w.y`` (``_readout``)."""
    th, x, n, big_n, hh = s.theta, w.x, cfg.n_inputs, cfg.n_hidden, cfg.n_model
    n_runs = th.shape[1]
    acc = w.acc_re
    for m in range(hh):
        acc[:] = 0.0
        for k in range(big_n):
            hk, c_re, c_im = s.h[k], th[cfg.o_cre + m * big_n + k], th[cfg.o_cim + m * big_n + k]
            for r in range(n_runs):
                acc[r] += c_re[r] * hk[r].real - c_im[r] * hk[r].imag
        for j in range(n):
            d, xj = th[cfg.o_d + m * n + j], x[j]
            for r in range(n_runs):
                acc[r] += d[r] * xj[r]
        for r in range(n_runs):
            s.z[m, r] = acc[r]
            if cfg.mixing == NO_MIXING:
                s.feat[m, r] = acc[r]
            else:
                a, slope = gelu_and_slope(acc[r], cfg.gelu)
                s.act[m, r] = a
                s.dz[m, r] = slope  # GELU'(z), kept for the backward pass
                s.feat[m, r] = a
    if cfg.mixing == FULL_GLU:
        u, v = w.acc_re, w.acc_im
        for m in range(hh):
            u[:] = th[cfg.o_b1 + m]
            v[:] = th[cfg.o_b2 + m]
            for l in range(hh):
                w1, w2, act = th[cfg.o_w1 + m * hh + l], th[cfg.o_w2 + m * hh + l], s.act[l]
                for r in range(n_runs):
                    u[r] += w1[r] * act[r]
                    v[r] += w2[r] * act[r]
            for r in range(n_runs):
                s.gate_u[m, r] = u[r]
                s.gate_s[m, r] = _sigmoid(v[r])
        for m in range(hh):
            for r in range(n_runs):
                s.feat[m, r] = s.gate_u[m, r] * s.gate_s[m, r]
    y = w.y
    y[:] = th[cfg.o_b]
    for m in range(hh):
        for r in range(n_runs):
            y[r] += th[cfg.o_w + m, r] * s.feat[m, r]


@nb.njit(cache=True)
def mixing_gradient(cfg, s, w):
    """The readout's and the GLU's gradient, and r = d y / d z into ``s.dz`` (first half of ``_gradient``)."""
    th, g, hh = s.theta, s.grad, cfg.n_model
    n_runs = th.shape[1]
    for m in range(hh):
        for r in range(n_runs):
            g[cfg.o_w + m, r] = s.feat[m, r]
    g[cfg.o_b] = 1.0
    rr = s.dz
    if cfg.mixing == FULL_GLU:
        du, dv = s.gate_u, s.dv  # du overwrites gate_u once read
        for m in range(hh):
            for r in range(n_runs):
                wm, sg = th[cfg.o_w + m, r], s.gate_s[m, r]
                dv[m, r] = wm * s.gate_u[m, r] * sg * (1.0 - sg)
                du[m, r] = wm * sg
        for m in range(hh):
            for r in range(n_runs):
                g[cfg.o_b1 + m, r] = du[m, r]
                g[cfg.o_b2 + m, r] = dv[m, r]
            for l in range(hh):
                for r in range(n_runs):
                    g[cfg.o_w1 + m * hh + l, r] = du[m, r] * s.act[l, r]
                    g[cfg.o_w2 + m * hh + l, r] = dv[m, r] * s.act[l, r]
        da = w.acc_re
        for l in range(hh):
            da[:] = 0.0
            for m in range(hh):
                for r in range(n_runs):
                    da[r] += th[cfg.o_w1 + m * hh + l, r] * du[m, r] + th[cfg.o_w2 + m * hh + l, r] * dv[m, r]
            for r in range(n_runs):
                rr[l, r] = da[r] * rr[l, r]
    elif cfg.mixing == GELU_ONLY:
        for m in range(hh):
            for r in range(n_runs):
                rr[m, r] = th[cfg.o_w + m, r] * rr[m, r]
    else:
        for m in range(hh):
            for r in range(n_runs):
                rr[m, r] = th[cfg.o_w + m, r]


@nb.njit(cache=True)
def layer_gradient(cfg, s, w):
    """The gradient of C, D and of the recurrence's parameters from r (second half of ``_gradient``)."""
    th, g, x, n, big_n, hh = s.theta, s.grad, w.x, cfg.n_inputs, cfg.n_hidden, cfg.n_model
    n_runs = th.shape[1]
    rr = s.dz
    for m in range(hh):
        for k in range(big_n):
            for r in range(n_runs):
                g[cfg.o_cre + m * big_n + k, r] = rr[m, r] * s.h[k, r].real
                g[cfg.o_cim + m * big_n + k, r] = -rr[m, r] * s.h[k, r].imag
        for j in range(n):
            for r in range(n_runs):
                g[cfg.o_d + m * n + j, r] = rr[m, r] * x[j, r]
    q_re, q_im = w.acc_re, w.acc_im
    for k in range(big_n):
        q_re[:] = 0.0
        q_im[:] = 0.0
        for m in range(hh):
            for r in range(n_runs):
                q_re[r] += th[cfg.o_cre + m * big_n + k, r] * rr[m, r]
                q_im[r] += th[cfg.o_cim + m * big_n + k, r] * rr[m, r]
        row_re, row_im = cfg.o_bre + k * n, cfg.o_bim + k * n
        for r in range(n_runs):
            q = complex(q_re[r], q_im[r])
            qls = q * w.lam[k, r] * s.s_lam[k, r]
            g[cfg.o_nu + k, r] = -math.exp(th[cfg.o_nu + k, r]) * qls.real
            g[cfg.o_th + k, r] = -math.exp(th[cfg.o_th + k, r]) * qls.imag
            gam = 1.0
            if cfg.gamma_norm:
                gam = math.exp(th[cfg.o_gl + k, r])
                g[cfg.o_gl + k, r] = (q * gam * s.s_gam[k, r]).real
            c = q * gam
            c_re, c_im = c.real, c.imag
            for j in range(n):
                e = s.e_in[k, j, r]
                g[row_re + j, r] = c_re * e.real - c_im * e.imag
                g[row_im + j, r] = -(c_re * e.imag + c_im * e.real)


@nb.njit(cache=True)
def _reset(s):
    s.h[:] = 0.0
    s.s_lam[:] = 0.0
    s.s_gam[:] = 0.0
    s.e_in[:] = 0.0


@nb.njit(cache=True)
def _step(cfg, s, w):
    recurrence_step(cfg, s, w)
    readout(cfg, s, w)
    mixing_gradient(cfg, s, w)
    layer_gradient(cfg, s, w)


#: :func:`~rtrlbench.agents.online_lru_kernels.run_rows` for R runs
#: (:func:`~rtrlbench.agents.population_td_kernels.rows_loop`).
run_rows = td.rows_loop(_reset, _step)
