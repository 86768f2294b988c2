"""Recurrent Trace Units (Elelimy, White, Bowling & White, NeurIPS 2024, "Real-Time Recurrent
Learning using Trace Units in Reinforcement Learning"), learned online by TD(lambda) with exact
RTRL: the linear RTU (``rtu_linear``) and the non-linear RTU (``rtu_nonlinear``).

One layer of ``n_units`` complex-diagonal units in real form (2x2 rotation blocks; equations,
sensitivities and parameter layout in :mod:`rtrlbench.agents.rtu_kernels`), reading the
observation directly, and a linear value layer with a bias over the 2n features. Every
parameter (r and theta of each unit through r = exp(-exp(nu_log)), theta = exp(theta_log),
the input weights W1, W2, the output weights and bias) learns by TD(lambda) in the order of
:mod:`rtrlbench.agents.td_lambda`, with the exact gradient d y_t / d theta: the sensitivities
are diagonal, O(|theta|) work and memory per step. A gamma = 0 restarts the trace only; the
units' state runs on (as for every learner of the suite).

Initialisation (the authors' code, ``rtus_utils.py`` and flax defaults), from ``seed``:
r^2 ~ U(r_min^2, r_max^2) (nu_log = log(-log(r^2) / 2)), theta ~ U(0, max_phase)
(theta_log = log(theta)), W1 and W2 ~ truncated normal (+-2 sd) with variance 1 / n_inputs
(flax's ``lecun_normal``), output weights and bias 0 (the suite's convention).

Choices (see docs/learners.md): ``input_scale`` "sqrt_one_minus_r2" (the authors' code's
normalisation eta = sqrt(1 - r^2), without its 1e-8 offset) or "one"; ``theta_gradient``
"exact" (d/d theta_log) or "code" (the authors' code: d/d theta used for theta_log, which
leaves out the factor theta); ``activation`` "relu" (the authors' default), "tanh" or "linear".
"""
from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np

from rtrlbench.agents import rtu_kernels as K
from rtrlbench.agents.keyword_learner import KeywordArrayLearner
from rtrlbench.agents.td_lambda import optimizer_code
from rtrlbench.validation import choice, positive_float, positive_int, step_size, unit_interval

ACTIVATIONS = {"relu": K.RELU, "tanh": K.TANH, "linear": K.IDENTITY}
INPUT_SCALES = {"sqrt_one_minus_r2": True, "one": False}
THETA_GRADIENTS = {"exact": True, "code": False}
#: The released CCN code's RMSProp constants, as for the other learners (:mod:`rtrlbench.agents.td_lambda`).
RMSPROP_BETA2, RMSPROP_EPS = 0.9999, 1e-8
#: Every hyperparameter with its default; ``n_units`` per variant is the largest that fits the
#: paper's ~4,000 FLOPs per step on trace patterning (7 inputs; :func:`learner_flops.rtu_units`).
HYPERPARAMETERS: dict[str, Any] = {
    "alpha": 1e-3, "lam": 0.99, "optimizer": "rmsprop", "n_units": 25, "activation": "relu",
    "input_scale": "sqrt_one_minus_r2", "theta_gradient": "exact", "r_min": 0.0, "r_max": 1.0, "max_phase": 6.28,
}


class RecurrentTraceUnitLearner(KeywordArrayLearner):
    """One layer of RTUs and a linear value layer, learned by TD(lambda) with exact RTRL.

    Args:
        n_inputs: observation size m.
        seed: seeds the initial parameters.
        alpha: step size (>= 0; 0 freezes the weights, see :mod:`rtrlbench.validation`).
        lam: trace decay lambda in [0, 1].
        optimizer: "rmsprop" (the suite's RMSProp), "sgd" or "obgd".
        n_units: complex units n (2n real features).
        activation: "relu", "tanh" or "linear": on the output of the recurrence (linear RTU) or
            inside it (non-linear RTU).
        input_scale: "sqrt_one_minus_r2" (the input drive times eta = sqrt(1 - r^2)) or "one".
        theta_gradient: "exact" or "code" (the authors' code's d/d theta in place of d/d theta_log).
        r_min, r_max: r^2 starts ~ U(r_min^2, r_max^2), 0 <= r_min < r_max <= 1.
        max_phase: theta starts ~ U(0, max_phase) (> 0).
    """

    #: True for the non-linear RTU (activation inside the recurrence).
    nonlinear: ClassVar[bool] = False
    defaults: ClassVar[Mapping[str, Any]] = HYPERPARAMETERS

    @classmethod
    def _checked(cls, hp: dict[str, Any]) -> dict[str, Any]:
        """The hyperparameters checked and converted to plain values (the same keys)."""
        optimizer_code(hp["optimizer"])
        r_min = unit_interval("r_min (smallest initial r)", hp["r_min"])
        r_max = unit_interval("r_max (largest initial r)", hp["r_max"])
        if r_min >= r_max:
            raise ValueError(f"r_min must be smaller than r_max (initial r^2 ~ U(r_min^2, r_max^2)), "
                             f"got r_min={r_min!r}, r_max={r_max!r}")
        return {
            "alpha": step_size(hp["alpha"]), "lam": unit_interval("lam (trace decay lambda)", hp["lam"]),
            "optimizer": hp["optimizer"], "n_units": positive_int("n_units", hp["n_units"]),
            "activation": choice("activation", hp["activation"], ACTIVATIONS),
            "input_scale": choice("input_scale", hp["input_scale"], INPUT_SCALES,
                                  hint=" ('sqrt_one_minus_r2': the authors' code's input normalisation; 'one': none)"),
            "theta_gradient": choice("theta_gradient", hp["theta_gradient"], THETA_GRADIENTS,
                                     hint=" ('exact': d/d theta_log; 'code': the authors' code's d/d theta)"),
            "r_min": r_min, "r_max": r_max, "max_phase": positive_float("max_phase", hp["max_phase"]),
        }

    def __init__(self, n_inputs: int, *, seed: int = 0, **hyperparameters) -> None:
        super().__init__(n_inputs, seed=seed, **hyperparameters)
        hp = self._hyperparameters
        self._config = K.RTUConfig(
            n_inputs=self.n_inputs, n_units=hp["n_units"], nonlinear=self.nonlinear,
            activation=ACTIVATIONS[hp["activation"]], normalise_input=INPUT_SCALES[hp["input_scale"]],
            theta_chain=THETA_GRADIENTS[hp["theta_gradient"]], optimizer=optimizer_code(hp["optimizer"]),
            alpha=hp["alpha"], lam=hp["lam"], beta2=RMSPROP_BETA2, eps=RMSPROP_EPS)
        self._arrays = self._initial_state()

    def _initial_state(self) -> K.RTUState:
        n, m, hp = self._hyperparameters["n_units"], self.n_inputs, self._hyperparameters
        size = K.n_parameters(m, n)
        rng = np.random.default_rng(self.seed)
        theta = np.zeros(size)
        o_w2, o_nu, o_th, o_b, *_ = K.offsets(n, m)
        theta[:o_nu] = _truncated_normal(rng, 2 * n * m) / np.sqrt(m) / 0.87962566103423978  # lecun_normal
        r2 = rng.uniform(hp["r_min"] ** 2, hp["r_max"] ** 2, n)
        theta[o_nu:o_th] = np.log(-0.5 * np.log(np.clip(r2, 1e-300, 1.0 - 1e-12)))  # keeps nu_log finite
        phase = hp["max_phase"] * rng.uniform(0.0, 1.0, n)
        theta[o_th:o_b] = np.log(np.maximum(phase, 1e-300))
        return K.RTUState(theta=theta, trace=np.zeros(size), grad=np.zeros(size), v=np.ones(size),
                          h=np.zeros((2, n)), s_rec=np.zeros((4, n)), s_in=np.zeros((4 if self.nonlinear else 2, n, m)),
                          x=np.zeros(m), y_prev=np.zeros(1))

    # ------------------------------------------------------------------ learning
    def _run_rows(self, obs, cumulant, gamma, predictions, first: bool) -> None:
        K.run_kernel(obs, cumulant, gamma, predictions, first, self._arrays, self._config)

    # ---------------------------------------------------------------- inspection
    @property
    def n_parameters(self) -> int:
        return self._arrays.theta.size

    def parameters(self) -> dict[str, np.ndarray]:
        """Views of theta: W1, W2 [n, m], nu_log, theta_log [n], b [1], v1, v2 [n] (y = b + v1.f1 + v2.f2)."""
        return _split(self._arrays.theta, self._hyperparameters["n_units"], self.n_inputs)

    def prediction_gradient(self) -> dict[str, np.ndarray]:
        """d y_t / d theta of the last prediction, split like :meth:`parameters` (copies)."""
        return {key: value.copy() for key, value in _split(self._arrays.grad, self._hyperparameters["n_units"],
                                                           self.n_inputs).items()}

    def unit_state(self) -> np.ndarray:
        """The units' state (h1, h2), float64[2, n] (a copy); for the linear RTU before the activation."""
        return self._arrays.h.copy()

    @property
    def theta(self) -> np.ndarray:
        """The flat parameter vector (a view; layout in :mod:`rtrlbench.agents.rtu_kernels`)."""
        return self._arrays.theta

    @property
    def trace(self) -> np.ndarray:
        """The eligibility trace over theta (a view)."""
        return self._arrays.trace



class LinearRTULearner(RecurrentTraceUnitLearner):
    """Linear RTU: linear recurrence, the activation on its output (default 25 units: ~4,000 FLOPs on 7 inputs)."""

    name = "rtu_linear"
    nonlinear = False


class NonLinearRTULearner(RecurrentTraceUnitLearner):
    """Non-linear RTU: the activation inside the recurrence (default 17 units: ~4,000 FLOPs on 7 inputs)."""

    name = "rtu_nonlinear"
    nonlinear = True
    defaults = {**HYPERPARAMETERS, "n_units": 17}


def _truncated_normal(rng: np.random.Generator, size: int) -> np.ndarray:
    """Standard normal draws truncated to [-2, 2] (redrawn until inside)."""
    z = rng.standard_normal(size)
    outside = np.abs(z) > 2.0
    while outside.any():
        z[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(z) > 2.0
    return z


def _split(flat: np.ndarray, n: int, m: int) -> dict[str, np.ndarray]:
    o_w2, o_nu, o_th, o_b, o_v1, o_v2 = K.offsets(n, m)
    return {"W1": flat[:o_w2].reshape(n, m), "W2": flat[o_w2:o_nu].reshape(n, m), "nu_log": flat[o_nu:o_th],
            "theta_log": flat[o_th:o_b], "b": flat[o_b:o_v1], "v1": flat[o_v1:o_v2], "v2": flat[o_v2:]}
