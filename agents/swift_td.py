"""SwiftTD (Javed, Sharifnassab & Sutton, RLC 2024), a linear TD learner over the stream's features:
True Online TD(lambda) with per-feature step sizes exp(beta_i) meta-learned online, a bound eta on
the rate of learning, and step-size decay (equations in :mod:`rtrlbench.agents.swift_td_kernels`).

* ``swifttd``: our numba implementation, with the stream's per-step gamma (episode ends included),
  per-step = chunked and exact checkpoints, like every learner of the suite.
* ``swifttd_package``: the authors' ``swifttd`` package from the registry (optional extra
  ``pip install 'rtrl-bench[swifttd]'``, pinned 0.2.0, whose CPython 3.11 wheel installs; 0.2.2's
  source package does not build here). Its API fixes gamma at construction and exposes no state, so
  this wrapper refuses what it cannot do: a stream whose gamma differs from its ``gamma`` (e.g. an
  episode end, gamma = 0), a second stream (no reset of its traces), and checkpoints. It computes
  in float32.

The features are the observation as given (no bias feature is added); w starts at 0 and every
beta_i at ln(alpha_init).
"""
from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np

from rtrlbench.agents import swift_td_kernels as K
from rtrlbench.agents.keyword_learner import KeywordArrayLearner
from rtrlbench.validation import non_negative_float, positive_float, unit_interval

#: Every hyperparameter with its default: the values of the package README's example (the paper
#: tunes them per task); names follow the paper (alpha_init, eta, decay, meta_step_size = theta).
HYPERPARAMETERS: dict[str, Any] = {"lam": 0.95, "alpha_init": 1e-2, "eta": 0.1, "decay": 0.999,
                                   "meta_step_size": 1e-3, "eta_min": 1e-10}


def checked_hyperparameters(hp: dict[str, Any]) -> dict[str, Any]:
    """SwiftTD's hyperparameters checked and converted to plain values (the same keys)."""
    eta = positive_float("eta (SwiftTD's bound on the rate of learning)", hp["eta"])
    eta_min = positive_float("eta_min (the smallest step size)", hp["eta_min"])
    if eta_min > eta:
        raise ValueError(f"eta_min must not exceed eta (step sizes are clipped to [eta_min, eta]), "
                         f"got eta_min={eta_min!r}, eta={eta!r}")
    return {"lam": unit_interval("lam (trace decay lambda)", hp["lam"]),
            "alpha_init": positive_float("alpha_init (the initial step size)", hp["alpha_init"]),
            "eta": eta, "decay": unit_interval("decay (step-size decay)", hp["decay"], low_open=True),
            "meta_step_size": non_negative_float("meta_step_size (theta)", hp["meta_step_size"]),
            "eta_min": eta_min}


class SwiftTDLearner(KeywordArrayLearner):
    """SwiftTD over the observation (n features), with the stream's gamma_t.

    Args:
        n_inputs: features n.
        seed: unused (SwiftTD starts deterministically: w = 0, beta = ln alpha_init); kept for the API.
        lam: lambda in [0, 1]; alpha_init: initial step size (> 0); eta: the bound on the rate of
            learning sum_i alpha_i phi_i^2 (> 0; also the largest step size); decay: step-size decay
            factor in (0, 1], applied when the bound binds; meta_step_size: theta (>= 0; 0: fixed
            step sizes, True Online TD(lambda) with the bound); eta_min: the smallest step size.
    """

    name = "swifttd"
    defaults: ClassVar[Mapping[str, Any]] = HYPERPARAMETERS

    @classmethod
    def _checked(cls, hp: dict[str, Any]) -> dict[str, Any]:
        return checked_hyperparameters(hp)

    def __init__(self, n_inputs: int, *, seed: int = 0, **hyperparameters) -> None:
        super().__init__(n_inputs, seed=seed, **hyperparameters)
        hp, n = self._hyperparameters, self.n_inputs
        self._settings = K.SwiftTDSettings(hp["lam"], hp["eta"], hp["decay"], hp["meta_step_size"], hp["eta_min"])
        zeros = lambda: np.zeros(n)  # noqa: E731
        self._arrays = K.SwiftTDArrays(w=zeros(), beta=np.full(n, np.log(hp["alpha_init"])), z=zeros(),
                                       z_delta=zeros(), dw=zeros(), h=zeros(), h_old=zeros(), h_temp=zeros(),
                                       z_bar=zeros(), p=zeros(), scalars=np.zeros(2),
                                       clock=np.zeros(1, dtype=np.int64))

    def _run_rows(self, obs, cumulant, gamma, predictions, first: bool) -> None:
        K.run_rows(obs, cumulant, gamma, predictions, self._arrays, self._settings, first)

    @property
    def weights(self) -> np.ndarray:
        """w [n] (a view)."""
        return self._arrays.w

    @property
    def step_sizes(self) -> np.ndarray:
        """The per-feature step sizes exp(beta) [n] (a copy)."""
        return np.exp(self._arrays.beta)


class SwiftTDPackageLearner(KeywordArrayLearner):
    """The ``swifttd`` package's ``SwiftTDNonSparse`` over the observation, with a fixed ``gamma``
    (the stream's; checked on every row). Hyperparameters as :class:`SwiftTDLearner`, and
    ``gamma`` in [0, 1]. No checkpoints and one stream per learner (see the module docstring)."""

    name = "swifttd_package"
    defaults: ClassVar[Mapping[str, Any]] = {**HYPERPARAMETERS, "gamma": 0.9}

    @classmethod
    def _checked(cls, hp: dict[str, Any]) -> dict[str, Any]:
        return {**checked_hyperparameters(hp), "gamma": unit_interval("gamma (the package's fixed discount)",
                                                                       hp["gamma"])}

    def __init__(self, n_inputs: int, *, seed: int = 0, **hyperparameters) -> None:
        super().__init__(n_inputs, seed=seed, **hyperparameters)
        try:
            import swifttd
        except ImportError:
            raise RuntimeError("learner 'swifttd_package' needs the swifttd package: pip install 'rtrl-bench[swifttd]' "
                               "(swifttd==0.2.0); learner 'swifttd' is the suite's own implementation") from None
        hp = self._hyperparameters
        # The package's epsilon argument is unused by its SwiftTDNonSparse (0.2.0); we pass 0.
        self._package = swifttd.SwiftTDNonSparse(n_inputs, hp["lam"], hp["alpha_init"], hp["gamma"], 0.0, hp["eta"],
                                                 hp["decay"], hp["meta_step_size"], hp["eta_min"])

    def _run_rows(self, obs, cumulant, gamma, predictions, first: bool) -> None:
        if first and self._started_once:
            raise RuntimeError("the swifttd package cannot restart a stream (its traces cannot be reset); build a new "
                               "learner, or use learner 'swifttd'")
        fixed = self._hyperparameters["gamma"]
        start = 1 if first else 0
        wrong = np.flatnonzero(np.asarray(gamma[start:]) != fixed)
        if len(wrong):
            row = start + int(wrong[0])
            raise ValueError(f"the swifttd package takes a fixed gamma={fixed!r}, but this stream's gamma is "
                             f"{float(gamma[row])!r} at row {row} of the chunk (an episode end?): use learner 'swifttd', "
                             "which takes the stream's gamma")
        self._started_once = True
        for row in range(len(obs)):
            reward = 0.0 if first and row == 0 else float(cumulant[row])
            predictions[row] = self._package.step(obs[row].tolist(), reward)

    _started_once = False

    def get_state(self) -> dict[str, Any]:
        raise RuntimeError("the swifttd package exposes no state, so learner 'swifttd_package' has no checkpoints; "
                           "learner 'swifttd' has")

    def set_state(self, state: dict[str, Any]) -> None:
        self.get_state()
