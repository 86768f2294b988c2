"""The compiled loop of a population of eLSTMs (:mod:`rtrlbench.agents.population_elstm`): R runs of
one shape stepped together, every array of :class:`~rtrlbench.agents.elstm_kernels.ELSTMState` with
the run as an extra last (innermost, contiguous) axis: ``theta, trace, v, grad [P, R]``,
``sens [P_rec, R]``, ``c, c_prev, gate_z, gate_f, gate_o, err [d, R]``, ``y_prev [1, R]``.

Each function is its single-run namesake of :mod:`rtrlbench.agents.elstm_kernels` (equations
there) with a loop over the runs inside every statement, in the same expression order, so that
each run does the IEEE operations of its single-run learner: bit-identical predictions (tested).
``tanh`` and ``exp`` stay libm's scalar calls (3 d per step and run); the rest vectorises across runs.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from rtrlbench.agents import population_td_kernels as td


class PopulationScratch(NamedTuple):
    """Per-step temporaries (not part of a checkpoint)."""

    x: np.ndarray          # [n, R]: each run's observation
    pre_z: np.ndarray      # [R]: the z gate's pre-activation of one unit
    pre_f: np.ndarray      # [R]: the f gate's
    a: np.ndarray          # [R]: (1 - f)(1 - z^2)
    b: np.ndarray          # [R]: (c_prev - z) f (1 - f)
    g: np.ndarray          # [R]: f + a w_z + b w_f
    y: np.ndarray          # [R]: the predictions of this step
    cumulant: np.ndarray   # [R]: each run's transition
    gamma: np.ndarray      # [R]
    td: td.FlatTDScratch


def new_scratch(n_inputs: int, n_runs: int) -> PopulationScratch:
    fields = [np.zeros(n_runs) for _ in range(8)]
    return PopulationScratch(np.zeros((n_inputs, n_runs)), *fields, td.new_td_scratch(n_runs))


@nb.njit(cache=True, inline="always")
def _sigmoid(a):
    return 1.0 / (1.0 + math.exp(-a))


@nb.njit(cache=True)
def cell(cfg, s, w):
    """The cell of every run with its sensitivities (:func:`~rtrlbench.agents.elstm_kernels._forward`
    up to the readout)."""
    th, x, n, d = s.theta, w.x, cfg.n_inputs, cfg.n_units
    n_runs = th.shape[1]
    o_wz, o_wf, o_bz, o_bf = 2 * d * n, 2 * d * n + d, 2 * d * n + 2 * d, 2 * d * n + 3 * d
    pre_z, pre_f, a, b, g = w.pre_z, w.pre_f, w.a, w.b, w.g
    for k in range(d):
        ck = s.c[k]
        for r in range(n_runs):
            pre_z[r] = th[o_wz + k, r] * ck[r] + th[o_bz + k, r]
            pre_f[r] = th[o_wf + k, r] * ck[r] + th[o_bf + k, r]
        for j in range(n):
            wz, wf, xj = th[k * n + j], th[d * n + k * n + j], x[j]
            for r in range(n_runs):
                pre_z[r] += wz[r] * xj[r]
                pre_f[r] += wf[r] * xj[r]
        for r in range(n_runs):
            z, f = math.tanh(pre_z[r]), _sigmoid(pre_f[r])
            cp = ck[r]
            a[r] = (1.0 - f) * (1.0 - z * z)
            b[r] = (cp - z) * f * (1.0 - f)
            g[r] = f + a[r] * th[o_wz + k, r] + b[r] * th[o_wf + k, r]
            s.c_prev[k, r] = cp
            s.gate_z[k, r], s.gate_f[k, r] = z, f
        for j in range(n):
            sz, sf, xj = s.sens[k * n + j], s.sens[d * n + k * n + j], x[j]
            for r in range(n_runs):
                sz[r] = g[r] * sz[r] + a[r] * xj[r]
                sf[r] = g[r] * sf[r] + b[r] * xj[r]
        cp = s.c_prev[k]
        for r in range(n_runs):
            s.sens[o_wz + k, r] = g[r] * s.sens[o_wz + k, r] + a[r] * cp[r]
            s.sens[o_wf + k, r] = g[r] * s.sens[o_wf + k, r] + b[r] * cp[r]
            s.sens[o_bz + k, r] = g[r] * s.sens[o_bz + k, r] + a[r]
            s.sens[o_bf + k, r] = g[r] * s.sens[o_bf + k, r] + b[r]
            ck[r] = s.gate_f[k, r] * cp[r] + (1.0 - s.gate_f[k, r]) * s.gate_z[k, r]


@nb.njit(cache=True)
def readout(cfg, s, w):
    """The output gate and readout of every run, into ``w.y`` (the end of ``_forward``)."""
    th, x, n, d, y = s.theta, w.x, cfg.n_inputs, cfg.n_units, w.y
    n_runs = th.shape[1]
    o_w = cfg.size - d - 1
    y[:] = th[cfg.size - 1]
    if not cfg.output_gate:
        for m in range(d):
            for r in range(n_runs):
                y[r] += th[o_w + m, r] * s.c[m, r]
        return
    o_ox, o_oc = cfg.n_recurrent, cfg.n_recurrent + d * n
    o_bo = o_oc + d * d
    ao = w.pre_z
    for m in range(d):
        ao[:] = th[o_bo + m]
        for j in range(n):
            wj, xj = th[o_ox + m * n + j], x[j]
            for r in range(n_runs):
                ao[r] += wj[r] * xj[r]
        for l in range(d):
            wl, cl = th[o_oc + m * d + l], s.c[l]
            for r in range(n_runs):
                ao[r] += wl[r] * cl[r]
        for r in range(n_runs):
            s.gate_o[m, r] = _sigmoid(ao[r])
            y[r] += th[o_w + m, r] * s.gate_o[m, r] * s.c[m, r]


@nb.njit(cache=True)
def gradient(cfg, s, w):
    """d y / d theta of every run's prediction, into ``s.grad`` (``_gradient``)."""
    th, gr, x, n, d = s.theta, s.grad, w.x, cfg.n_inputs, cfg.n_units
    n_runs = th.shape[1]
    o_w = cfg.size - d - 1
    gr[cfg.size - 1] = 1.0
    if cfg.output_gate:
        o_ox, o_oc = cfg.n_recurrent, cfg.n_recurrent + d * n
        o_bo = o_oc + d * d
        for k in range(d):
            for r in range(n_runs):
                s.err[k, r] = th[o_w + k, r] * s.gate_o[k, r]
        go = w.g
        for m in range(d):
            for r in range(n_runs):
                om = s.gate_o[m, r]
                gr[o_w + m, r] = om * s.c[m, r]
                go[r] = th[o_w + m, r] * s.c[m, r] * om * (1.0 - om)
                gr[o_bo + m, r] = go[r]
            for j in range(n):
                for r in range(n_runs):
                    gr[o_ox + m * n + j, r] = go[r] * x[j, r]
            for l in range(d):
                for r in range(n_runs):
                    gr[o_oc + m * d + l, r] = go[r] * s.c[l, r]
                    s.err[l, r] += go[r] * th[o_oc + m * d + l, r]
    else:
        for k in range(d):
            for r in range(n_runs):
                gr[o_w + k, r] = s.c[k, r]
                s.err[k, r] = th[o_w + k, r]
    o_wz = 2 * d * n
    for k in range(d):
        e = s.err[k]
        for j in range(n):
            for r in range(n_runs):
                gr[k * n + j, r] = e[r] * s.sens[k * n + j, r]
                gr[d * n + k * n + j, r] = e[r] * s.sens[d * n + k * n + j, r]
        for q in range(4):
            for r in range(n_runs):
                gr[o_wz + q * d + k, r] = e[r] * s.sens[o_wz + q * d + k, r]


@nb.njit(cache=True)
def _reset(s):
    s.c[:] = 0.0
    s.sens[:] = 0.0


@nb.njit(cache=True)
def _step(cfg, s, w):
    cell(cfg, s, w)
    readout(cfg, s, w)
    gradient(cfg, s, w)


#: :func:`~rtrlbench.agents.elstm_kernels.run_rows` for R runs
#: (:func:`~rtrlbench.agents.population_td_kernels.rows_loop`).
run_rows = td.rows_loop(_reset, _step)
