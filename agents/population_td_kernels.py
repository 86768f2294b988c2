"""The TD(lambda) step of :func:`rtrlbench.agents.flat_td_step.td_step` for R runs at once: every
array ``[P, R]`` (parameter, run; the run innermost), each run with its own step size and lambda
(:class:`FlatTDSettings`), in the single-run step's expression order
(:func:`rtrlbench.agents.td_lambda.update_then_accumulate`, ObGD's four running sums of
:func:`~rtrlbench.agents.td_lambda.trace_l1`), so that each run is bit-identical to its
single-run learner. For population learners whose parameters are one flat vector.
"""
from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from rtrlbench.agents.td_lambda import NO_UPDATE, OBGD, OBGD_KAPPA, RMSPROP, SGD, obgd_delta, rmsprop_step


class FlatTDSettings(NamedTuple):
    """Each run's TD hyperparameters, float64[R] each (RMSProp's beta2 and eps are shared)."""

    alpha: np.ndarray
    lam: np.ndarray


class FlatTDScratch(NamedTuple):
    """Per-step temporaries, float64[R] each."""

    delta: np.ndarray
    decay: np.ndarray
    step: np.ndarray
    sums: np.ndarray       # [4, R]: ObGD's running sums of |e|


def new_td_scratch(n_runs: int) -> FlatTDScratch:
    return FlatTDScratch(np.zeros(n_runs), np.zeros(n_runs), np.zeros(n_runs), np.zeros((4, n_runs)))


@nb.njit(cache=True)
def obgd_deltas(trace, settings, scratch):
    """ObGD's bounded TD error of every run (:func:`~rtrlbench.agents.td_lambda.span_obgd_delta`),
    in place in ``scratch.delta``."""
    n, n_runs = trace.shape
    sums, delta = scratch.sums, scratch.delta
    sums[:] = 0.0
    m = n - n % 4
    for i in range(0, m, 4):
        for q in range(4):
            row, total = trace[i + q], sums[q]
            for r in range(n_runs):
                total[r] += abs(row[r])
    for i in range(m, n):
        row, total = trace[i], sums[0]
        for r in range(n_runs):
            total[r] += abs(row[r])
    for r in range(n_runs):
        l1 = (sums[0, r] + sums[1, r]) + (sums[2, r] + sums[3, r])
        delta[r] = obgd_delta(delta[r], settings.alpha[r] * l1, OBGD_KAPPA, 1.0)


@nb.njit(cache=True, error_model="numpy")
def update_then_accumulate(theta, trace, grad, n, delta, alpha, decay, optimizer, v, beta2, eps, step):
    """:func:`rtrlbench.agents.td_lambda.update_then_accumulate` for every run: ``theta, trace,
    grad, v`` float64[>= n, R]; ``delta, alpha, decay`` float64[R]; ``step`` float64[R] scratch."""
    n_runs = delta.shape[0]
    if optimizer == SGD:
        for r in range(n_runs):
            step[r] = alpha[r] * delta[r]
        for i in range(n):
            for r in range(n_runs):
                e = trace[i, r]
                theta[i, r] += step[r] * e
                trace[i, r] = decay[r] * e + grad[i, r]
    elif optimizer == RMSPROP:
        for i in range(n):
            for r in range(n_runs):
                theta[i, r], v[i, r] = rmsprop_step(theta[i, r], v[i, r], delta[r] * trace[i, r], alpha[r], beta2, eps)
                trace[i, r] = decay[r] * trace[i, r] + grad[i, r]
    else:
        for i in range(n):
            for r in range(n_runs):
                trace[i, r] = decay[r] * trace[i, r] + grad[i, r]


@nb.njit(cache=True)
def td_step(theta, trace, grad, v, y_prev, y, cumulant, gamma, is_first, optimizer, beta2, eps, settings, scratch):
    """The step of :func:`rtrlbench.agents.flat_td_step.td_step` for every run r after its prediction
    ``y[r]`` and gradient ``grad[:, r]``: delta_r = c_r + gamma_r y_r - y_prev_r, theta += the
    optimiser's step with the old trace, then e = lambda_r gamma_r e + grad; ``y_prev`` <- y.
    ``cumulant``, ``gamma``: float64[R], each run's transition (no update at a stream's start);
    ``beta2``, ``eps``: RMSProp's constants, shared by the runs."""
    delta, decay = scratch.delta, scratch.decay
    for r in range(y.shape[0]):
        delta[r] = 0.0 if is_first else cumulant[r] + gamma[r] * y[r] - y_prev[0, r]
        decay[r] = 0.0 if is_first else settings.lam[r] * gamma[r]
        y_prev[0, r] = y[r]
    rule = NO_UPDATE if is_first else optimizer
    if rule == OBGD:
        obgd_deltas(trace, settings, scratch)
        rule = SGD
    update_then_accumulate(theta, trace, grad, theta.shape[0], delta, settings.alpha, decay, rule, v, beta2, eps,
                           scratch.step)


@nb.njit(cache=True)
def load_row(obs, cumulant, gamma, stream_of, row, x, run_cumulant, run_gamma):
    """Row ``row`` of each run's own stream: x [n, R] <- obs[stream_of[r], row], and its transition
    into ``run_cumulant``, ``run_gamma`` [R] (``obs`` [n_streams, T, n]; cumulant, gamma [n_streams, T])."""
    for r in range(stream_of.shape[0]):
        stream = stream_of[r]
        for j in range(x.shape[0]):
            x[j, r] = obs[stream, row, j]
        run_cumulant[r] = cumulant[stream, row]
        run_gamma[r] = gamma[stream, row]


def rows_loop(reset, step):
    """The per-chunk loop of a flat-parameter population (``run_rows(obs, cumulant, gamma, stream_of,
    predictions, first, cfg, s, settings, w)``, the single run's ``run_rows`` for R runs): per row,
    ``reset(s)`` at a stream's start, each run's row into ``w.x`` (and ``w.cumulant``, ``w.gamma``),
    ``step(cfg, s, w)`` (every run's prediction into ``w.y`` and its gradient into ``s.grad``), then
    :func:`td_step`. ``obs`` [n_streams, T, n], ``cumulant, gamma`` float64[n_streams, T], ``stream_of``
    int64[R], ``predictions`` float64[R, T]; ``cfg`` the learner's config (its alpha and lam unused: each
    run's are in ``settings``); ``w`` the population's scratch (``x``, ``y``, ``cumulant``, ``gamma``, ``td``)."""

    @nb.njit(cache=True)
    def run_rows(obs, cumulant, gamma, stream_of, predictions, first, cfg, s, settings, w):
        for row in range(obs.shape[1]):
            is_first = first and row == 0
            if is_first:
                reset(s)
            load_row(obs, cumulant, gamma, stream_of, row, w.x, w.cumulant, w.gamma)
            step(cfg, s, w)
            for r in range(stream_of.shape[0]):
                predictions[r, row] = w.y[r]
            td_step(s.theta, s.trace, s.grad, s.v, s.y_prev, w.y, w.cumulant, w.gamma, is_first, cfg.optimizer,
                    cfg.beta2, cfg.eps, settings, w.td)

    return run_rows
