"""The compiled loop of a population of column networks (:mod:`rtrlbench.agents.population_ccn`):
R runs of one shape stepped together, every array of :class:`~rtrlbench.agents.ccn.ColumnNetworkState`
with the run as an extra last (innermost, contiguous) axis.

Each kernel here is the single-run kernel of :mod:`rtrlbench.agents.ccn` and
:mod:`rtrlbench.agents.lstm_column` with a loop over the runs ``r`` inside every scalar
statement, written in the same expression order, so that every run computes exactly the
IEEE operations of the single-run learner (bit-identical predictions; the tests check it).
The loops over ``r`` carry no dependence between runs, so LLVM vectorises them across runs:
the sequential sums of a column's gates (a chain of dependent additions in one run) become
R independent chains. Calls to ``exp`` stay scalar (no SVML), which keeps them libm's.

Shapes (single-run shape + ``[R]``): ``theta [P, R]``, ``packed [F, 4, M + 2, R]``, ``h, c [F, R]``
and so on; the hyperparameters that may differ between runs are float64[R] arrays of a
:class:`PopulationSettings`; the scratch arrays of one step are a :class:`PopulationScratch`.
"""
from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from rtrlbench.agents import lstm_column, normalisation
from rtrlbench.agents.lstm_column import C_NEW, C_PREV, GATE_F, GATE_G, GATE_I, GATE_O, H_PREV, N_GATES, TANH_C
from rtrlbench.agents.population_td_kernels import update_then_accumulate
from rtrlbench.agents.td_lambda import NO_UPDATE, RMSPROP, SGD

#: Entries of ``counters`` and ``alpha`` (as in :mod:`rtrlbench.agents.ccn`).
STEPS_DONE, STAGE = 0, 1
ALPHA_COLUMNS, ALPHA_OUTPUT = 0, 1


class PopulationSettings(NamedTuple):
    """The float hyperparameters each run has for itself, float64[R] each."""

    alpha: np.ndarray      # step size (the base of ``output_step_size="released"``)
    lam: np.ndarray        # trace decay lambda
    norm_beta: np.ndarray  # decay of the running feature statistics
    norm_eps: np.ndarray   # floor of the normaliser's divisor


class PopulationScratch(NamedTuple):
    """Per-step temporaries (not part of a checkpoint), float64, R innermost."""

    gate_sum: np.ndarray   # [N_GATES, R]: pre-activations of one column
    shift: np.ndarray      # [R]: a folded bias while packing a frozen stage
    coef: np.ndarray       # [N_COEF, R]: one column's trace coefficients
    delta: np.ndarray      # [R]: TD errors of this step
    decay: np.ndarray      # [R]: lambda * gamma of this step
    step: np.ndarray       # [R]: a step size times delta (SGD)
    grad: np.ndarray       # [R]: d y / dp of one parameter


#: Rows of ``PopulationScratch.coef``: f, A, k_c, B, p_coef, q_coef, then Dc and Dh of the four gates.
F_GATE, A_COEF, KC, B_COEF, P_COEF, Q_COEF, DC0, DH0 = 0, 1, 2, 3, 4, 5, 6, 10
N_COEF = 14


def new_scratch(n_runs: int) -> PopulationScratch:
    return PopulationScratch(gate_sum=np.zeros((N_GATES, n_runs)), shift=np.zeros(n_runs),
                             coef=np.zeros((N_COEF, n_runs)), delta=np.zeros(n_runs), decay=np.zeros(n_runs),
                             step=np.zeros(n_runs), grad=np.zeros(n_runs))


# --------------------------------------------------------------------------- normalisation
@nb.njit(cache=True, error_model="numpy")
def update_normalise(mu, var, f, out, n, beta, eps, floor):
    """:func:`rtrlbench.agents.normalisation.update_normalise` for every run: ``mu, var, f, out``
    float64[>= n, R], ``beta, eps`` float64[R]."""
    n_runs = beta.shape[0]
    for j in range(n):
        for r in range(n_runs):
            m = beta[r] * mu[j, r] + (1.0 - beta[r]) * f[j, r]
            d = m - f[j, r]
            v = beta[r] * var[j, r] + (1.0 - beta[r]) * d * d
            mu[j, r] = m
            var[j, r] = v
            out[j, r] = (f[j, r] - m) / normalisation.scale(v, eps[r], floor)


# --------------------------------------------------------------------------- one LSTM column
@nb.njit(cache=True, inline="always")
def column_forward(theta, col, m, z, h, c, records, k, gate_sum):
    """:func:`rtrlbench.agents.lstm_column.column_forward` for every run: ``theta[col]``
    (float64[n, N_GATES, >= m + 2, R]) on inputs ``z`` (float64[>= m, R]); writes the new
    ``h[k], c[k]`` (float64[F, R]) and ``records[k]`` (float64[F, RECORD_SIZE, R])."""
    n_runs = gate_sum.shape[1]
    for r in range(n_runs):
        hp = h[k, r]
        gate_sum[0, r] = theta[col, 0, m, r] * hp + theta[col, 0, m + 1, r]
        gate_sum[1, r] = theta[col, 1, m, r] * hp + theta[col, 1, m + 1, r]
        gate_sum[2, r] = theta[col, 2, m, r] * hp + theta[col, 2, m + 1, r]
        gate_sum[3, r] = theta[col, 3, m, r] * hp + theta[col, 3, m + 1, r]
    for q in range(N_GATES):  # the same sequential sums per run as the single-run kernel, R chains at once
        for j in range(m):
            for r in range(n_runs):
                gate_sum[q, r] += theta[col, q, j, r] * z[j, r]
    for r in range(n_runs):  # the gates in place: loops over one array each vectorise (few alias checks)
        gate_sum[0, r] = lstm_column.sigmoid(gate_sum[0, r])
    for r in range(n_runs):
        gate_sum[1, r] = lstm_column.sigmoid(gate_sum[1, r])
    for r in range(n_runs):
        gate_sum[2, r] = lstm_column.sigmoid(gate_sum[2, r])
    for r in range(n_runs):
        gate_sum[3, r] = lstm_column.tanh(gate_sum[3, r])
    for r in range(n_runs):
        records[k, C_NEW, r] = gate_sum[1, r] * c[k, r] + gate_sum[0, r] * gate_sum[3, r]
    for r in range(n_runs):
        records[k, TANH_C, r] = lstm_column.tanh(records[k, C_NEW, r])
    for r in range(n_runs):
        records[k, H_PREV, r] = h[k, r]
        records[k, C_PREV, r] = c[k, r]
    for r in range(n_runs):
        records[k, GATE_I, r] = gate_sum[0, r]
        records[k, GATE_F, r] = gate_sum[1, r]
        records[k, GATE_O, r] = gate_sum[2, r]
        records[k, GATE_G, r] = gate_sum[3, r]
    for r in range(n_runs):
        h[k, r] = gate_sum[2, r] * records[k, TANH_C, r]
        c[k, r] = records[k, C_NEW, r]


@nb.njit(cache=True, inline="always")
def column_coefficients(theta, col, m, zext, records, k, coef):
    """The per-run scalars of :func:`rtrlbench.agents.lstm_column.column_traces` (f, A, k_c, B,
    Dc, Dh) into ``coef`` (float64[N_COEF, R]); sets ``zext[m] = h(t-1)``, ``zext[m + 1] = 1``."""
    for r in range(coef.shape[1]):
        hp, cp = records[k, H_PREV, r], records[k, C_PREV, r]
        i, f, o, g = records[k, GATE_I, r], records[k, GATE_F, r], records[k, GATE_O, r], records[k, GATE_G, r]
        tanh_c = records[k, TANH_C, r]
        si, sf, so, sg = i * (1.0 - i), f * (1.0 - f), o * (1.0 - o), 1.0 - g * g
        coef[F_GATE, r] = f
        coef[KC, r] = o * (1.0 - tanh_c * tanh_c)
        coef[A_COEF, r] = cp * sf * theta[col, 1, m, r] + i * sg * theta[col, 3, m, r] + g * si * theta[col, 0, m, r]
        coef[B_COEF, r] = tanh_c * so * theta[col, 2, m, r]
        zext[m, r] = hp
        zext[m + 1, r] = 1.0
        coef[DC0, r], coef[DC0 + 1, r], coef[DC0 + 2, r], coef[DC0 + 3, r] = g * si, cp * sf, 0.0, i * sg
        coef[DH0, r], coef[DH0 + 1, r], coef[DH0 + 2, r], coef[DH0 + 3, r] = 0.0, 0.0, tanh_c * so, 0.0


@nb.njit(cache=True, inline="always")
def column_traces_and_update(m, zext, theta, th, tc, tm, tv, e, v, col, exact, beta, centred, coef, delta, alpha,
                             decay, step, grad, optimizer, beta2, eps2):
    """For every run and every parameter of column ``col`` of the learning stage: the traces of
    :func:`rtrlbench.agents.lstm_column.column_traces` (coefficients from :func:`column_coefficients`
    and ``coef[P_COEF], coef[Q_COEF]``), then the TD step of
    :func:`rtrlbench.agents.td_lambda.update_then_accumulate` (``optimizer``; ``step = alpha
    delta`` for SGD), one input position at a time. Per parameter the arithmetic is the
    single-run learner's; only the order in which parameters are visited differs, and no
    parameter reads another's new value (the coefficients come from this step's weights, taken
    before the pass). ``theta, th, tc, e, v`` (and ``tm, tv``): float64[n_cols, N_GATES, m + 2, R];
    ``grad``: float64[R] scratch. The branches sit outside the loops over the runs, so that each
    of those loops is straight-line arithmetic (vectorised; an inlined helper with array
    arguments in the innermost loop would cost reference counting per element)."""
    ng, n_runs = m + 2, coef.shape[1]
    for q in range(N_GATES):
        for j in range(ng):
            if exact:
                for r in range(n_runs):
                    th_old, zj = th[col, q, j, r], zext[j, r]
                    c_new = coef[F_GATE, r] * tc[col, q, j, r] + coef[A_COEF, r] * th_old + coef[DC0 + q, r] * zj
                    h_new = coef[KC, r] * c_new + coef[B_COEF, r] * th_old + coef[DH0 + q, r] * zj
                    th[col, q, j, r] = h_new
                    tc[col, q, j, r] = c_new
                    keep, mix = beta[r], 1.0 - beta[r]
                    vmix = -2.0 * (1.0 - beta[r]) * centred[r]
                    m_new = keep * tm[col, q, j, r] + mix * h_new
                    v_new = keep * tv[col, q, j, r] + vmix * (m_new - h_new)
                    tm[col, q, j, r] = m_new
                    tv[col, q, j, r] = v_new
                    grad[r] = coef[P_COEF, r] * (h_new - m_new) + coef[Q_COEF, r] * v_new
            else:
                for r in range(n_runs):
                    th_old, zj = th[col, q, j, r], zext[j, r]
                    c_new = coef[F_GATE, r] * tc[col, q, j, r] + coef[A_COEF, r] * th_old + coef[DC0 + q, r] * zj
                    h_new = coef[KC, r] * c_new + coef[B_COEF, r] * th_old + coef[DH0 + q, r] * zj
                    th[col, q, j, r] = h_new
                    tc[col, q, j, r] = c_new
                    grad[r] = coef[P_COEF, r] * h_new
            if optimizer == SGD:
                for r in range(n_runs):
                    trace = e[col, q, j, r]
                    theta[col, q, j, r] += step[r] * trace
                    e[col, q, j, r] = decay[r] * trace + grad[r]
            elif optimizer == RMSPROP:
                for r in range(n_runs):
                    trace = e[col, q, j, r]
                    g = delta[r] * trace
                    vr = beta2 * v[col, q, j, r] + (1.0 - beta2) * g * g
                    v[col, q, j, r] = vr
                    theta[col, q, j, r] += alpha[r] * g / (np.sqrt(vr) + eps2)
                    e[col, q, j, r] = decay[r] * trace + grad[r]
            else:
                for r in range(n_runs):
                    e[col, q, j, r] = decay[r] * e[col, q, j, r] + grad[r]


@nb.njit(cache=True)
def pack_stage(theta, packed, k0, m, n_cols, mu, inv_scale, shift):
    """:func:`rtrlbench.agents.lstm_column.pack_stage` for every run (``theta`` float64[n_cols,
    N_GATES, m + 2, R], ``mu, inv_scale`` float64[>= m, R], ``shift`` float64[R] scratch)."""
    n_runs = shift.shape[0]
    for col in range(n_cols):
        for q in range(N_GATES):
            shift[:] = 0.0
            for j in range(m):
                for r in range(n_runs):
                    w = theta[col, q, j, r] * inv_scale[j, r]
                    packed[k0 + col, q, j, r] = w
                    shift[r] += w * mu[j, r]
            for r in range(n_runs):
                packed[k0 + col, q, m, r] = theta[col, q, m, r]
                packed[k0 + col, q, m + 1, r] = theta[col, q, m + 1, r] - shift[r]


# --------------------------------------------------------------------------- TD(lambda)
# --------------------------------------------------------------------------- the network
@nb.njit(cache=True)
def begin_stage(stage, config, stage_off, arrays, settings, scratch):
    """:func:`rtrlbench.agents.ccn._begin_stage` for every run (``config``: the shared
    :class:`~rtrlbench.agents.ccn.ColumnNetworkConfig`, whose float fields are unused here)."""
    per_stage, n_runs = config.features_per_stage, settings.alpha.shape[0]
    in_mu, in_var, in_inv = arrays.in_mu, arrays.in_var, arrays.in_inv
    if stage > 0:
        m = config.n_inputs + (stage - 1) * per_stage
        for j in range(m):
            for r in range(n_runs):
                in_inv[stage - 1, j, r] = 1.0 / normalisation.scale(in_var[stage - 1, j, r], settings.norm_eps[r],
                                                                    config.norm_floor)
        ng = m + 2
        size = per_stage * N_GATES * ng
        start = stage_off[stage - 1]
        frozen = arrays.theta[start:start + size].reshape((per_stage, N_GATES, ng, n_runs))
        pack_stage(frozen, arrays.packed, (stage - 1) * per_stage, m, per_stage, in_mu[stage - 1], in_inv[stage - 1],
                   scratch.shift)
    for k in range(stage * per_stage, (stage + 1) * per_stage):
        arrays.h[k] = 0.0
        arrays.c[k] = 0.0
        arrays.out_mu[k] = 0.0
        arrays.out_var[k] = 1.0
    in_mu[stage] = 0.0
    in_var[stage] = 1.0
    arrays.th[:] = 0.0
    arrays.tc[:] = 0.0
    arrays.tm[:] = 0.0
    arrays.tv[:] = 0.0
    arrays.e_c[:] = 0.0
    arrays.v_c[:] = 1.0
    if config.released_output_step:
        for r in range(n_runs):
            arrays.alpha[ALPHA_OUTPUT, r] = settings.alpha[r] / ((stage + 1) * per_stage)


@nb.njit(cache=True)
def _stage_views(stage, config, stage_off, arrays):
    """The learning stage's parameters, their traces TH, TC, TM, TV, eligibility traces and
    RMSProp state as (features_per_stage, N_GATES, inputs + 2, R) views."""
    per_stage, n_runs = config.features_per_stage, arrays.y_prev.shape[1]
    ng = config.n_inputs + stage * per_stage + 2
    size = per_stage * N_GATES * ng
    shape = (per_stage, N_GATES, ng, n_runs)
    theta_flat = arrays.theta[stage_off[stage]:stage_off[stage] + size]
    n_extra = size if config.exact_gradient else 0
    extra = (per_stage, N_GATES, ng if n_extra else 0, n_runs)
    return (theta_flat.reshape(shape), arrays.th[:size].reshape(shape), arrays.tc[:size].reshape(shape),
            arrays.tm[:n_extra].reshape(extra), arrays.tv[:n_extra].reshape(extra),
            arrays.e_c[:size].reshape(shape), arrays.v_c[:size].reshape(shape))


@nb.njit(cache=True, error_model="numpy")
def run_kernel(obs, cumulant, gamma, stream_of, predictions, first, config, stage_off, arrays, settings, scratch,
               beta2, eps2):
    """:func:`rtrlbench.agents.ccn._run_kernel` for R runs at once.

    ``obs`` float32/64[n_streams, T, n_inputs], ``cumulant, gamma`` float64[n_streams, T]: the
    chunk of each distinct stream; ``stream_of`` int64[R]: the stream run r reads;
    ``predictions`` float64[R, T] (written); ``first``: row 0 is x_0 of new streams.
    ``arrays``: a ColumnNetworkState with every array ``[..., R]``; ``settings``:
    :class:`PopulationSettings`; ``scratch``: :class:`PopulationScratch`; ``beta2, eps2``: RMSProp's constants.
    """
    n_in, per_stage, n_stages = config.n_inputs, config.features_per_stage, config.n_stages
    steps_per_stage, optimizer, floor, exact = (config.steps_per_stage, config.optimizer, config.norm_floor,
                                                config.exact_gradient)
    n_runs = stream_of.shape[0]
    lam, beta, eps = settings.lam, settings.norm_beta, settings.norm_eps
    packed, out_w, h, c, raw, z = arrays.packed, arrays.out_w, arrays.h, arrays.c, arrays.raw, arrays.z
    in_mu, in_var, out_mu, out_var, h_hat = arrays.in_mu, arrays.in_var, arrays.out_mu, arrays.out_var, arrays.h_hat
    records, th, tc, grad_o = arrays.records, arrays.th, arrays.tc, arrays.grad_o
    e_o, v_o = arrays.e_o, arrays.v_o
    alpha, counters, y_prev = arrays.alpha, arrays.counters, arrays.y_prev[0]
    coef, delta, decay, gate_sum, step = scratch.coef, scratch.delta, scratch.decay, scratch.gate_sum, scratch.step
    centred = scratch.shift  # free outside begin_stage
    stage = counters[STAGE, 0]
    stage_theta, stage_th, stage_tc, stage_tm, stage_tv, stage_e, stage_v = _stage_views(stage, config, stage_off,
                                                                                         arrays)
    stage_in_mu, stage_in_var = in_mu[stage], in_var[stage]
    for row in range(obs.shape[1]):
        is_first = first and row == 0
        if stage < n_stages - 1 and counters[STEPS_DONE, 0] >= (stage + 1) * steps_per_stage:
            stage += 1
            counters[STAGE] = stage
            begin_stage(stage, config, stage_off, arrays, settings, scratch)
            stage_theta, stage_th, stage_tc, stage_tm, stage_tv, stage_e, stage_v = _stage_views(
                stage, config, stage_off, arrays)
            stage_in_mu, stage_in_var = in_mu[stage], in_var[stage]
        if is_first:
            h[:] = 0.0
            c[:] = 0.0
            th[:] = 0.0
            tc[:] = 0.0
        for r in range(n_runs):
            s = stream_of[r]
            for j in range(n_in):
                raw[j, r] = obs[s, row, j]

        m = n_in
        for s in range(stage):
            for col in range(per_stage):
                k = s * per_stage + col
                column_forward(packed, k, m, raw, h, c, records, k, gate_sum)
                for r in range(n_runs):
                    raw[m + col, r] = h[k, r]
            m += per_stage
        update_normalise(stage_in_mu, stage_in_var, raw, z, m, beta, eps, floor)
        k0 = stage * per_stage
        for col in range(per_stage):
            column_forward(stage_theta, col, m, z, h, c, records, k0 + col, gate_sum)
        n_built = k0 + per_stage
        update_normalise(out_mu, out_var, h, h_hat, n_built, beta, eps, floor)
        for r in range(n_runs):
            y = out_w[0, r]
            for k in range(n_built):
                y += out_w[1 + k, r] * h_hat[k, r]
            predictions[r, row] = y
            s = stream_of[r]
            delta[r] = 0.0 if is_first else cumulant[s, row] + gamma[s, row] * y - y_prev[r]
            decay[r] = 0.0 if is_first else lam[r] * gamma[s, row]
            y_prev[r] = y
        step_rule = NO_UPDATE if is_first else optimizer
        if step_rule == SGD:
            for r in range(n_runs):
                step[r] = alpha[ALPHA_COLUMNS, r] * delta[r]
        alpha_c = alpha[ALPHA_COLUMNS]
        for col in range(per_stage):
            k = k0 + col
            column_coefficients(stage_theta, col, m, z, records, k, coef)
            for r in range(n_runs):
                var = out_var[k, r]
                sc = normalisation.scale(var, eps[r], floor)
                centred[r] = h[k, r] - out_mu[k, r]
                coef[P_COEF, r] = out_w[1 + k, r] / sc
                coef[Q_COEF, r] = (-out_w[1 + k, r] * centred[r] * normalisation.scale_slope(var, eps[r], floor)
                                   / (sc * sc) if exact else 0.0)
            column_traces_and_update(m, z, stage_theta, stage_th, stage_tc, stage_tm, stage_tv, stage_e, stage_v, col,
                                     exact, beta, centred, coef, delta, alpha_c, decay, step, scratch.grad, step_rule,
                                     beta2, eps2)
        for r in range(n_runs):
            grad_o[0, r] = 1.0
        for k in range(n_built):
            for r in range(n_runs):
                grad_o[1 + k, r] = h_hat[k, r]
        update_then_accumulate(out_w, e_o, grad_o, 1 + n_built, delta, alpha[ALPHA_OUTPUT], decay, step_rule, v_o,
                               beta2, eps2, step)
        for r in range(n_runs):
            counters[STEPS_DONE, r] += 1
