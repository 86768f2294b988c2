"""Dense tanh-RNN learners: one fully connected (leaky) tanh RNN trained online by exact RTRL
(``rnn_rtrl``, the reference), UORO (``rnn_uoro``) or RFLO (``rflo``, Murray 2019), with TD(lambda).

The network (:mod:`rtrlbench.agents.rnn_rtrl_kernels`): d units, h_t = (1 - a) h_{t-1} +
a tanh(W x_t + U h_{t-1} + b), y_t = w . h_t (no output bias); W, U, b ~ U(-1/sqrt(d), 1/sqrt(d))
(PyTorch's ``RNNCell``), w = 0; leak a = 1 by default (the plain tanh RNN). Everything else is the
dense-LSTM family's (:mod:`rtrlbench.agents.lstm_rtrl`): TD(lambda) in the suite's step order, SGD
or RMSProp, per-step = chunked, exact checkpoints, and the gradient-fidelity measurement
(``fidelity_every=N``: the learner's dy/dtheta against an exact-RTRL shadow on the same weights).

>>> learner = RFLOLearner(7, n_hidden=16, alpha=1e-3)
>>> predictions = learner.run_chunk(obs, cumulant, gamma)        # doctest: +SKIP
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from rtrlbench.agents import rnn_rtrl_kernels as kernels
from rtrlbench.agents.lstm_rtrl import LSTMRTRLLearner
from rtrlbench.agents.td_lambda import optimizer_code
from rtrlbench.validation import choice, positive_float, unit_interval

#: RFLO's feedback choices: Murray's fixed random vector, or the readout weights (vanilla-rtrl's default).
FEEDBACKS = {"random": kernels.RANDOM_FEEDBACK, "readout": kernels.READOUT_FEEDBACK}


class TanhRNNRTRLLearner(LSTMRTRLLearner):
    """Dense tanh RNN trained by exact RTRL, O(d^2 P_r) per step (P_r = d(n + d + 1)). The default
    sizes of the family are the trace budget's (learner_flops.tanh_rnn_hidden: 5, 18 and 27 units).

    Args: as :class:`~rtrlbench.agents.lstm_rtrl.LSTMRTRLLearner` (``n_hidden`` = d units), and
        leak: a in (0, 1], the leaky-integrator rate dt/tau of Murray's and Marschall et al.'s
            networks (1: the plain tanh RNN h_t = tanh(z_t)).
    """

    name = "rnn_rtrl"
    approximation = kernels.EXACT
    exact = kernels.EXACT
    _kernel = staticmethod(kernels.run_steps)
    _persistent = ("theta", "v", "rng", "feedback")
    feedback = "random"

    def __init__(self, n_inputs: int, *, leak: float = 1.0, n_hidden: int = 5, **hyperparameters) -> None:
        self.leak = unit_interval("leak (the RNN's integration rate a)", leak, low_open=True)
        super().__init__(n_inputs, n_hidden=n_hidden, **hyperparameters)

    def _make_settings(self) -> kernels.RNNSettings:
        return kernels.RNNSettings(self.n_inputs, self.n_hidden, self.approximation, optimizer_code(self.optimizer),
                                   self.alpha, self.lam, self.beta2, self.eps, self.uoro_eps, self.leak,
                                   FEEDBACKS[self.feedback], self.fidelity_every)

    def _initial_theta(self) -> np.ndarray:
        """W, U, b ~ U(-1/sqrt(d), 1/sqrt(d)) (PyTorch's RNNCell), w = 0."""
        _, _, ow, size = kernels.rnn_offsets(self.n_inputs, self.n_hidden)
        theta = np.zeros(size)
        bound = 1.0 / math.sqrt(self.n_hidden)
        theta[:ow] = np.random.default_rng(self.seed).uniform(-bound, bound, ow)
        return theta

    def _state_arrays(self, theta: np.ndarray, approximation: int, empty: bool = False) -> kernels.RNNState:
        n, d = (0, 0) if empty else (self.n_inputs, self.n_hidden)
        p_r = d * (n + d + 1)
        rows = {kernels.EXACT: d, kernels.RFLO: 1, kernels.UORO: 0}[approximation]
        uoro, rflo = approximation == kernels.UORO, approximation == kernels.RFLO
        sign_seed = np.random.default_rng([self.seed, 1]).integers(1, 2**63, dtype=np.uint64)  # xorshift: never 0
        # Random feedback beta ~ N(0, 1/d): our choice of scale (the order of the recurrent weights').
        feedback = np.random.default_rng([self.seed, 2]).normal(0.0, 1.0 / math.sqrt(max(d, 1)), d if rflo else 0)
        size = 0 if empty else theta.size
        return kernels.RNNState(
            theta=theta, trace=np.zeros(size), v=np.ones(size), h=np.zeros(d), jh=np.zeros((rows, p_r)),
            u_tilde=np.zeros(d if uoro else 0), theta_tilde=np.zeros(p_r if uoro else 0), feedback=feedback,
            rng=np.array([sign_seed], dtype=np.uint64), clock=np.zeros(1, dtype=np.int64), last_y=np.zeros(1))

    def _scratch_arrays(self, approximation: int, empty: bool = False) -> kernels.RNNScratch:
        n, d = (0, 0) if empty else (self.n_inputs, self.n_hidden)
        p_r = d * (n + d + 1)
        dz = {kernels.EXACT: (d, p_r), kernels.UORO: (2, d), kernels.RFLO: (1, 1)}[approximation]
        return kernels.RNNScratch(z=np.zeros(d), h_prev=np.zeros(d), dz=np.zeros(dz),
                                  grad=np.zeros(0 if empty else p_r + d))

    def parameters(self) -> dict[str, np.ndarray]:
        """Views of theta in PyTorch ``RNNCell`` layout: W [d, n], U [d, d], b [d], w [d]."""
        n, d = self.n_inputs, self.n_hidden
        ou, ob, ow, size = kernels.rnn_offsets(n, d)
        return {"W": self.theta[:ou].reshape(d, n), "U": self.theta[ou:ob].reshape(d, d),
                "b": self.theta[ob:ow], "w": self.theta[ow:size]}

    def hyperparameters(self) -> dict[str, Any]:
        return {**super().hyperparameters(), "leak": self.leak}


class TanhRNNUOROLearner(TanhRNNRTRLLearner):
    """The same tanh RNN with UORO's unbiased rank-one estimate of dh/dtheta_r (Tallec & Ollivier,
    ICLR 2018; :func:`rnn_rtrl_kernels.rnn_step_uoro`), O(|theta|) per step. ``uoro_eps`` as in
    :class:`~rtrlbench.agents.lstm_rtrl.UOROLearner`; signs from a seeded xorshift64* kept in checkpoints."""

    name = "rnn_uoro"
    approximation = kernels.UORO

    def __init__(self, n_inputs: int, *, uoro_eps: float = 1e-7, n_hidden: int = 18, **hyperparameters) -> None:
        self.uoro_eps = positive_float("uoro_eps (UORO's normaliser offset)", uoro_eps)
        super().__init__(n_inputs, n_hidden=n_hidden, **hyperparameters)

    def influence_estimate(self) -> np.ndarray:
        """[d, P_r]: u_tilde theta_tilde^T, the estimate of dh/dtheta_r after the last step."""
        return np.outer(self._state.u_tilde, self._state.theta_tilde)

    def hyperparameters(self) -> dict[str, Any]:
        return {**super().hyperparameters(), "uoro_eps": self.uoro_eps}


class RFLOLearner(TanhRNNRTRLLearner):
    """The same (leaky) tanh RNN with random-feedback local online learning (Murray, eLife 2019;
    :func:`rnn_rtrl_kernels.rnn_step_rflo`): each recurrent weight keeps a local eligibility
    P_t = (1 - a) P_{t-1} + a phi'(z_q) D_t (the recurrent Jacobian dropped) and its gradient estimate
    is beta_q P_t, with beta a fixed random feedback vector in place of the readout w. O(|theta|).

    Args: as :class:`TanhRNNRTRLLearner`, and
        feedback: ``"random"`` (the paper's: beta ~ N(0, 1/d), seeded, kept in checkpoints) or
            ``"readout"`` (beta = w, the current readout: vanilla-rtrl's RFLO without ``W_FB``).
    """

    name = "rflo"
    approximation = kernels.RFLO

    def __init__(self, n_inputs: int, *, feedback: str = "random", n_hidden: int = 27, **hyperparameters) -> None:
        self.feedback = choice("feedback (RFLO's error feedback)", feedback, FEEDBACKS)
        super().__init__(n_inputs, n_hidden=n_hidden, **hyperparameters)

    @property
    def feedback_vector(self) -> np.ndarray:
        """beta [d] (a copy): the fixed random feedback, or the current readout w with ``feedback="readout"``."""
        return (self.parameters()["w"] if self.feedback == "readout" else self._state.feedback).copy()

    def hyperparameters(self) -> dict[str, Any]:
        return {**super().hyperparameters(), "feedback": self.feedback}
