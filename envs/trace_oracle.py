"""The Bayes-optimal predictor of a trace task: E[G_t | everything a perfect memory knows].

A perfect memory knows the time tau since the last CS, which pattern it was (hence the
probability q that this trial ends in a US), whether the US has already come (and when),
and the task's timing distributions. With I = ISI, J = ITI and D = I + J, the next CS
comes D steps after the last one, and a trial's US (if any) I steps after its CS. The
value of a trial start, averaged over patterns, is

    Vbar = qbar * E[gamma^(I-1)] / (1 - E[gamma^D]).

At tau steps after a CS (no new CS yet), ``K = 1 + gamma * E[gamma^J] * Vbar``:

* US seen r = tau - I steps ago:  E[gamma^(J - r) | J > r] * Vbar;
* no US yet: a mixture of "the US is still coming" (weight q P(I > tau)) with value
  E[gamma^(I - tau - 1) | I > tau] * K, and "no US this trial" (weight (1 - q) P(D > tau))
  with value E[gamma^(D - tau) | D > tau] * Vbar.

Distractors are independent of everything and carry no information.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from rtrlbench.learner_interface import Learner


def _uniform_pmf(low: int, high: int, size: int) -> np.ndarray:
    pmf = np.zeros(size)
    pmf[low : high + 1] = 1.0 / (high - low + 1)
    return pmf


def oracle_tables(spec, us_probability: np.ndarray):
    """Value tables indexed by steps since the CS (or since the US).

    Returns (pending_num[tau], pending_w[tau], silent_num[tau], silent_w[tau], after_us[r]):
    for "no US yet" the prediction is
    (q pending_num + (1-q) silent_num) / (q pending_w + (1-q) silent_w).
    """
    g = spec.gamma
    horizon = spec.isi[1] + spec.iti[1] + 2
    steps = np.arange(horizon)
    p_isi = _uniform_pmf(*spec.isi, horizon)
    p_iti = _uniform_pmf(*spec.iti, horizon)
    p_d = np.convolve(p_isi, p_iti)[:horizon]
    qbar = float(np.mean(us_probability))
    vbar = qbar * np.sum(p_isi * g ** (steps - 1.0)) / (1.0 - np.sum(p_d * g**steps))
    k = 1.0 + g * np.sum(p_iti * g**steps) * vbar

    pending_num, pending_w = np.zeros(horizon), np.zeros(horizon)
    silent_num, silent_w = np.zeros(horizon), np.zeros(horizon)
    after_us = np.zeros(horizon)
    for tau in range(horizon):
        later = steps > tau
        pending_w[tau] = p_isi[later].sum()
        pending_num[tau] = np.sum(p_isi[later] * g ** (steps[later] - tau - 1.0)) * k
        silent_w[tau] = p_d[later].sum()
        silent_num[tau] = np.sum(p_d[later] * g ** (steps[later] - tau + 0.0)) * vbar
        iti_w = p_iti[later].sum()
        if iti_w > 0:
            after_us[tau] = np.sum(p_iti[later] * g ** (steps[later] - tau + 0.0)) / iti_w * vbar
    return pending_num, pending_w, silent_num, silent_w, after_us


class TraceOracle(Learner):
    """Exact conditional expectation of the return; reads only the observations. Never learns."""

    name = "oracle"

    def __init__(self, spec, patterns: np.ndarray, us_probability: np.ndarray) -> None:
        super().__init__(spec.obs_dim)
        self.spec = spec
        self.tables = oracle_tables(spec, us_probability)
        # q for each CS bit code sum(bit_k 2^k); codes of no pattern never occur.
        weights = 2 ** np.arange(spec.n_cs)
        self.q_by_code = np.zeros(2**spec.n_cs)
        self.q_by_code[patterns @ weights] = us_probability
        self.memory = np.array([-1, -1, -1], dtype=np.int64)  # [tau since CS, US time since CS, code]

    def _predict_first(self, x):
        self.memory[:] = -1
        return self._run_chunk(x[None, :], np.zeros(1), np.zeros(1))[0]

    def _update(self, cumulant, gamma, x):
        return self._run_chunk(x[None, :], np.zeros(1), np.zeros(1))[0]

    def _run_chunk(self, obs, cumulant, gamma):
        out = np.empty(len(obs))
        _oracle_loop(obs, self.spec.n_cs, self.q_by_code, *self.tables, self.memory, out)
        return out

    def get_state(self):
        return {**super().get_state(), "memory": self.memory.tolist()}

    def set_state(self, state):
        super().set_state(state)
        self.memory[:] = state["memory"]


@nb.njit(cache=True)
def _oracle_loop(obs, n_cs, q_by_code, pending_num, pending_w, silent_num, silent_w, after_us, memory, out):
    tau, us_at, code = memory[0], memory[1], memory[2]
    horizon = pending_w.shape[0]
    for t in range(obs.shape[0]):
        new_code = 0
        for k in range(n_cs):
            if obs[t, k] > 0.5:
                new_code += 1 << k
        if new_code > 0:
            tau, us_at, code = 0, -1, new_code
        elif tau >= 0:
            tau += 1
        if tau >= 0 and obs[t, n_cs] > 0.5:
            us_at = tau
        if tau < 0:  # before the first CS: nothing is known yet
            out[t] = 0.0
        elif us_at >= 0:
            out[t] = after_us[min(tau - us_at, horizon - 1)]
        else:
            q = q_by_code[code]
            i = min(tau, horizon - 1)
            weight = q * pending_w[i] + (1.0 - q) * silent_w[i]
            out[t] = (q * pending_num[i] + (1.0 - q) * silent_num[i]) / weight if weight > 0 else 0.0
    memory[0], memory[1], memory[2] = tau, us_at, code
