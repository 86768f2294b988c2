"""Compiled step of SwiftTD (Javed, Sharifnassab & Sutton, RLC 2024) over a stream's features,
with the stream's per-step discount gamma_t (:mod:`rtrlbench.agents.swift_td`).

Linear value V = w . phi over the n features phi_t = x_t. SwiftTD is True Online TD(lambda) with a
step size alpha_i = exp(beta_i) per feature, meta-learned by an IDBD-like gradient (the h, p,
z_bar traces), a bound eta on the rate of learning tau = sum_i alpha_i phi_i^2, and step-size
decay when the bound binds. One step, for the transition into phi_t with (c_t, gamma_t), in the
order of the authors' implementation (the ``swifttd`` package), with gamma_t in place of its fixed
gamma:

    V      = w . phi_t
    delta  = c_t + gamma_t V - V_old
    for every i (with the previous step's z_delta, V_delta):
        dw_i    = delta z_i - z_delta_i V_delta;          w_i += dw_i
        beta_i += theta / exp(beta_i) (delta - V_delta) p_i,  then beta_i clipped to [ln eta_min, ln eta]
        h_old_i = h_i;  h_i = h_temp_i + delta z_bar_i - z_delta_i V_delta;  h_temp_i = h_i
        z_delta_i = 0;  z_i, p_i, z_bar_i *= gamma_t lambda
    tau = sum_i exp(beta_i) phi_i^2,   b = z . phi,   m = min(1, eta / tau),   V_delta = dw . phi
    for every i:
        z_delta_i = m exp(beta_i) phi_i
        z_i     += z_delta_i (1 - b)
        p_i     += h_old_i phi_i
        z_bar_i += z_delta_i (1 - b - z_bar_i phi_i)
        h_temp_i = h_i - h_old_i phi_i (z_i - z_delta_i) - h_i z_delta_i phi_i
        if tau > eta: h_temp_i = h_i = h_old_i = z_bar_i = 0;  beta_i += ln(decay) phi_i^2
    V_old = V;  the prediction is V.

At a stream's first step (clock 0) the traces, h's and V's are zero (:func:`reset_stream`), and the
step runs with c = 0 and gamma = 0: its delta meets only zero traces, so it changes nothing but the
traces (the package's first ``step``). A gamma_t = 0 (episode end) zeroes z, p and z_bar before
phi_t enters them, as a fixed gamma cannot.
"""
from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np


class SwiftTDArrays(NamedTuple):
    """The learner's state (float64 [n] unless said): weights w, step-size logs beta, the dutch
    trace z and its last increment z_delta, the last weight change dw, the meta-gradient traces
    h, h_old, h_temp, z_bar, p; ``scalars`` [2] (V_delta, V_old); ``clock`` int64[1]."""

    w: np.ndarray
    beta: np.ndarray
    z: np.ndarray
    z_delta: np.ndarray
    dw: np.ndarray
    h: np.ndarray
    h_old: np.ndarray
    h_temp: np.ndarray
    z_bar: np.ndarray
    p: np.ndarray
    scalars: np.ndarray
    clock: np.ndarray


class SwiftTDSettings(NamedTuple):
    """lambda, eta (the bound on the rate of learning), decay, theta (meta step size), eta_min."""

    lam: float
    eta: float
    decay: float
    meta_step_size: float
    eta_min: float


@nb.njit(cache=True)
def reset_stream(arrays):
    """Forget the stream (traces, h's, V_delta, V_old, clock); keep w and beta."""
    for a in (arrays.z, arrays.z_delta, arrays.dw, arrays.h, arrays.h_old, arrays.h_temp, arrays.z_bar, arrays.p):
        a[:] = 0.0
    arrays.scalars[:] = 0.0
    arrays.clock[0] = 0


@nb.njit(cache=True)
def swifttd_step(phi, cumulant, gamma, a, s):
    """One SwiftTD step (module docstring) in place; returns V = w . phi before the update."""
    n = phi.shape[0]
    w, beta, z, z_delta, dw = a.w, a.beta, a.z, a.z_delta, a.dw
    h, h_old, h_temp, z_bar, p = a.h, a.h_old, a.h_temp, a.z_bar, a.p
    v_delta, v_old = a.scalars[0], a.scalars[1]
    v = 0.0
    for i in range(n):
        v += w[i] * phi[i]
    delta = cumulant + gamma * v - v_old
    log_eta, log_eta_min, decay = np.log(s.eta), np.log(s.eta_min), gamma * s.lam
    for i in range(n):
        dw[i] = delta * z[i] - z_delta[i] * v_delta
        w[i] += dw[i]
        beta[i] += s.meta_step_size / np.exp(beta[i]) * (delta - v_delta) * p[i]
        beta[i] = min(max(beta[i], log_eta_min), log_eta)
        h_old[i] = h[i]
        h[i] = h_temp[i] + delta * z_bar[i] - z_delta[i] * v_delta
        h_temp[i] = h[i]
        z_delta[i] = 0.0
        z[i] *= decay
        p[i] *= decay
        z_bar[i] *= decay
    tau, b, v_delta = 0.0, 0.0, 0.0
    for i in range(n):
        tau += np.exp(beta[i]) * phi[i] * phi[i]
        b += z[i] * phi[i]
        v_delta += dw[i] * phi[i]
    multiplier = s.eta / tau if tau > s.eta else 1.0
    log_decay = np.log(s.decay)
    for i in range(n):
        z_delta[i] = multiplier * np.exp(beta[i]) * phi[i]
        z[i] += z_delta[i] * (1.0 - b)
        p[i] += h_old[i] * phi[i]
        z_bar[i] += z_delta[i] * (1.0 - b - z_bar[i] * phi[i])
        h_temp[i] = h[i] - h_old[i] * phi[i] * (z[i] - z_delta[i]) - h[i] * z_delta[i] * phi[i]
        if tau > s.eta:
            h_temp[i] = 0.0
            h[i] = 0.0
            h_old[i] = 0.0
            z_bar[i] = 0.0
            beta[i] += log_decay * phi[i] * phi[i]
    a.scalars[0], a.scalars[1] = v_delta, v
    return v


@nb.njit(cache=True)
def run_rows(obs, cumulant, gamma, out, arrays, settings, first):
    """``out[i]`` = the prediction at row i; ``first``: row 0 starts a new stream."""
    if first:
        reset_stream(arrays)
    for row in range(obs.shape[0]):
        start = arrays.clock[0] == 0
        out[row] = swifttd_step(obs[row], 0.0 if start else cumulant[row], 0.0 if start else gamma[row],
                                arrays, settings)
        arrays.clock[0] += 1
