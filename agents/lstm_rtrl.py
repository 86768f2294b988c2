"""Dense-LSTM RTRL learner: the T-BPTT learner's fully connected LSTM, trained online with
the *exact* gradient dy_t/dtheta of real-time recurrent learning and TD(lambda).

The network, its parameter layout, initialisation and TD(lambda) step order are the T-BPTT
learner's (:mod:`rtrlbench.agents.tbptt`): d hidden units, PyTorch ``LSTMCell`` equations
with one bias per gate, y_t = w . h_t (no output bias); W, U, b ~ U(-1/sqrt(d), 1/sqrt(d)),
w = 0. Instead of backpropagating through a window it carries the influence matrices
dh/dtheta and dc/dtheta forward (:mod:`rtrlbench.agents.lstm_rtrl_kernels`): the gradient
T-BPTT approximates, at O(d^2 (4d(n + d + 1))) per step, so only small networks fit a budget
(2 hidden units at the trace budget of 4,000 FLOPs, 1 at Atari's 50,000; see
:func:`rtrlbench.agents.learner_flops.lstm_rtrl_flops`). This is the exact reference for the
approximate-RTRL learners and for T-BPTT's truncation.

Float64 only. As in T-BPTT, a ``gamma = 0`` restarts the eligibility trace; the LSTM state
and its influence matrices run on. Across weight updates the influence matrices are those of
the online run (the weights changed along the way), as in every online RTRL.

>>> learner = LSTMRTRLLearner(7, n_hidden=2, alpha=1e-3)
>>> predictions = learner.run_chunk(obs, cumulant, gamma)        # doctest: +SKIP
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from rtrlbench.agents import lstm_rtrl_kernels as kernels
from rtrlbench.agents.tbptt_kernels import offsets
from rtrlbench.agents.td_lambda import optimizer_code
from rtrlbench.agents.gradient_fidelity import FidelityLog, restore_shadow, shadow_checkpoint
from rtrlbench.agents.kernel_loop_learner import ResettingKernelLearner
from rtrlbench.learner_interface import restore_arrays
from rtrlbench.validation import int_at_least, positive_float, positive_int, step_size, unit_interval


class LSTMRTRLLearner(ResettingKernelLearner):
    """Fully connected LSTM trained by exact RTRL and TD(lambda).

    Args:
        n_inputs: observation size n.
        seed: initial weights (the same draws as a T-BPTT learner of the same size and seed).
        alpha: step size (>= 0; 0 freezes the weights).
        lam: trace decay lambda in [0, 1].
        optimizer: ``"rmsprop"`` (the authors' update), ``"sgd"`` or ``"obgd"`` (docs/learners.md, Optimisers).
        n_hidden: LSTM hidden units d (>= 1).
        beta2, eps: RMSProp's decay and denominator offset (0.9999, 1e-8).
    """

    name = "lstm_rtrl"
    #: How dh/dtheta is carried forward: kernels.EXACT (full influence matrices) or kernels.SNAP1.
    approximation = kernels.EXACT
    #: UORO's normaliser offset (see UOROLearner); unused by the others.
    uoro_eps = 0.0
    #: The approximation code of the exact reference (the fidelity shadow), and the compiled loop.
    exact = kernels.EXACT
    _kernel = staticmethod(kernels.run_steps)
    #: State arrays a new stream keeps (the others are zeroed by ``_reset_memory``).
    _persistent = ("theta", "v", "rng")

    def __init__(self, n_inputs: int, *, seed: int = 0, alpha: float = 1e-3, lam: float = 0.99,
                 optimizer: str = "rmsprop", n_hidden: int = 2, beta2: float = 0.9999, eps: float = 1e-8,
                 fidelity_every: int = 0) -> None:
        super().__init__(n_inputs)
        self.n_hidden = positive_int("n_hidden", n_hidden)
        self.alpha, self.lam = step_size(alpha), unit_interval("lam (trace decay lambda)", lam)
        self.beta2 = unit_interval("beta2 (RMSProp decay)", beta2, high_open=True)
        self.eps = positive_float("eps (RMSProp offset)", eps)
        self.fidelity_every = int_at_least("fidelity_every", fidelity_every, 0)
        self.optimizer, self.seed = optimizer, seed
        self._settings = self._make_settings()
        theta = self._initial_theta()
        self._state = self._state_arrays(theta, self.approximation)
        self._scratch = self._scratch_arrays(self.approximation)
        # The exact-RTRL shadow of the gradient-fidelity measurement (empty arrays when it is off).
        measured = self.fidelity_every > 0
        self._shadow = self._state_arrays(theta, self.exact, empty=not measured)
        self._shadow_scratch = self._scratch_arrays(self.exact, empty=not measured)
        self._fidelity_log = FidelityLog(self.fidelity_every)

    # ------------------------------------------------------------ network hooks
    def _make_settings(self) -> kernels.LSTMRTRLSettings:
        return kernels.LSTMRTRLSettings(self.n_inputs, self.n_hidden, self.approximation,
                                        optimizer_code(self.optimizer), self.alpha, self.lam, self.beta2,
                                        self.eps, self.uoro_eps, self.fidelity_every)

    def _initial_theta(self) -> np.ndarray:
        """W, U, b ~ U(-1/sqrt(d), 1/sqrt(d)) (PyTorch's LSTMCell), w = 0."""
        _, _, ow, size = offsets(self.n_inputs, self.n_hidden)
        theta = np.zeros(size)
        bound = 1.0 / math.sqrt(self.n_hidden)
        theta[:ow] = np.random.default_rng(self.seed).uniform(-bound, bound, ow)
        return theta

    def _state_arrays(self, theta: np.ndarray, approximation: int, empty: bool = False):
        """Fresh state for ``approximation`` sharing ``theta`` (``empty``: a placeholder of size 0)."""
        n, d = (0, 0) if empty else (self.n_inputs, self.n_hidden)
        return _state_arrays(theta, n, d, approximation, self.seed)

    def _scratch_arrays(self, approximation: int, empty: bool = False):
        n, d = (0, 0) if empty else (self.n_inputs, self.n_hidden)
        return _scratch_arrays(n, d, approximation)

    @property
    def theta(self) -> np.ndarray:
        return self._state.theta

    @property
    def trace(self) -> np.ndarray:
        return self._state.trace

    @property
    def gradient(self) -> np.ndarray:
        """dy_t/dtheta of the last prediction (a copy), in the layout of :meth:`parameters`."""
        return self._scratch.grad.copy()

    @property
    def n_parameters(self) -> int:
        return self.theta.size

    def parameters(self) -> dict[str, np.ndarray]:
        """Views of theta in PyTorch ``LSTMCell`` layout: W [4d, n], U [4d, d], b [4d], w [d]."""
        n, d = self.n_inputs, self.n_hidden
        ou, ob, ow, size = offsets(n, d)
        return {"W": self.theta[:ou].reshape(4 * d, n), "U": self.theta[ou:ob].reshape(4 * d, d),
                "b": self.theta[ob:ow], "w": self.theta[ow:size]}

    def fidelity(self) -> dict[str, np.ndarray]:
        """The gradient-fidelity measurements so far (``fidelity_every > 0``): ``step`` (int64[M], steps
        since the stream start), ``cosine`` and ``relative_error`` (float64[M]) of the learner's
        dy/dtheta against the exact RTRL gradient on the same weights and stream."""
        return self._fidelity_log.as_dict()

    # ------------------------------------------------------------------ Learner API
    def _reset_memory(self) -> None:
        """Forget the stream (LSTM state, influence matrices, trace); keep the weights and RMSProp state."""
        for state in (self._state, self._shadow):
            for name, array in zip(state._fields, state):
                if name not in self._persistent:
                    array.fill(0)

    def _steps(self, obs, cumulant, gamma) -> np.ndarray:
        out = np.empty(len(obs))
        if len(obs):
            first = int(self._state.clock[0])
            fidelity = np.empty((len(obs), 4))
            self._kernel(obs, np.asarray(cumulant, np.float64), np.asarray(gamma, np.float64), out,
                         self._state, self._scratch, self._settings, self._shadow, self._shadow_scratch, fidelity)
            self._fidelity_log.record(first, fidelity)
        return out

    def hyperparameters(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "lam": self.lam, "optimizer": self.optimizer, "n_hidden": self.n_hidden,
                "beta2": self.beta2, "eps": self.eps, "fidelity_every": self.fidelity_every}

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state.update({name: array.copy() for name, array in zip(self._state._fields, self._state)})
        state["fidelity_shadow"] = shadow_checkpoint(self._shadow)
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a checkpoint (the fidelity shadow too; measurements already logged stay with their learner)."""
        restore_arrays(self._state, state, type(self).__name__, "n_inputs or n_hidden")
        restore_shadow(self._shadow, state, type(self).__name__)
        super().set_state(state)


class SnAp1Learner(LSTMRTRLLearner):
    """The same LSTM with SnAp-1's gradient (Menick, Elsen, Evci, Osindero, Simonyan & Graves, ICLR
    2021): J_t ~ M * (D_t J_{t-1} + I_t), where the mask M keeps each recurrent parameter's influence
    on the h and c of the one unit its gate row feeds (:func:`lstm_rtrl_kernels.lstm_step_with_snap1`).
    O(|theta|) per step and memory; exact when every gate row reads only its own unit's h (a diagonal
    U), biased otherwise. Arguments as :class:`LSTMRTRLLearner`.
    """

    name = "snap1"
    approximation = kernels.SNAP1


class UOROLearner(LSTMRTRLLearner):
    """The same LSTM with UORO's gradient (Tallec & Ollivier, ICLR 2018): a rank-one, unbiased
    estimate J ~ u_tilde theta_tilde^T of ds/dtheta over the state s = (h, c), renewed every step
    with random signs and the variance-minimising scalings rho0, rho1
    (:func:`lstm_rtrl_kernels.lstm_step_with_uoro`). O(|theta|) per step and memory.

    The signs come from a xorshift64* generator seeded by ``seed`` and kept in the state, so a
    restored checkpoint draws the same signs. ``uoro_eps`` (> 0) is the offset in rho0 and rho1
    (Tallec & Ollivier's algorithm leaves it unnamed; 1e-7 is our default). Other arguments as
    :class:`LSTMRTRLLearner`.
    """

    name = "uoro"
    approximation = kernels.UORO

    def __init__(self, n_inputs: int, *, uoro_eps: float = 1e-7, **hyperparameters) -> None:
        self.uoro_eps = positive_float("uoro_eps (UORO's normaliser offset)", uoro_eps)
        super().__init__(n_inputs, **hyperparameters)

    def influence_estimate(self) -> np.ndarray:
        """[2d, P_r]: u_tilde theta_tilde^T, the estimate of d(h, c)/dtheta_r after the last step."""
        return np.outer(self._state.u_tilde, self._state.theta_tilde)

    def hyperparameters(self) -> dict[str, Any]:
        return {**super().hyperparameters(), "uoro_eps": self.uoro_eps}


def exact_shadow(theta: np.ndarray, n: int, d: int, measured: bool) -> tuple:
    """(state, scratch) of an exact dense-LSTM RTRL shadow over ``theta`` (float64; empty placeholders
    when not ``measured``): the reference of the gradient-fidelity measurement (T-BPTT's too)."""
    n, d = (n, d) if measured else (0, 0)
    return _state_arrays(theta, n, d, kernels.EXACT, 0), _scratch_arrays(n, d, kernels.EXACT)


def _state_arrays(theta: np.ndarray, n: int, d: int, approximation: int, seed: int) -> kernels.LSTMRTRLState:
    """Fresh state for ``approximation`` sharing ``theta`` (n = d = 0: an empty placeholder)."""
    ow, size = 4 * d * (n + d + 1), theta.size if d else 0
    exact, uoro = approximation == kernels.EXACT, approximation == kernels.UORO
    rows = d if exact else 0 if uoro else 1  # SnAp-1 keeps one influence per parameter, UORO a rank-one factor
    sign_seed = np.random.default_rng([seed, 1]).integers(1, 2**63, dtype=np.uint64)  # xorshift: never 0
    return kernels.LSTMRTRLState(
        theta=theta, trace=np.zeros(size), v=np.ones(size), h=np.zeros(d), c=np.zeros(d),
        jh=np.zeros((rows, ow)), jc=np.zeros((rows, ow)), u_tilde=np.zeros(2 * d if uoro else 0),
        theta_tilde=np.zeros(ow if uoro else 0), rng=np.array([sign_seed], dtype=np.uint64),
        clock=np.zeros(1, dtype=np.int64), last_y=np.zeros(1))


def _scratch_arrays(n: int, d: int, approximation: int) -> kernels.LSTMRTRLScratch:
    ow = 4 * d * (n + d + 1)
    exact, uoro = approximation == kernels.EXACT, approximation == kernels.UORO
    dz = np.zeros((4 * d, ow) if exact else (2, 4 * d) if uoro else (1, 1))
    return kernels.LSTMRTRLScratch(z=np.zeros(4 * d), h_prev=np.zeros(d), c_prev=np.zeros(d), dz=dz,
                                   grad=np.zeros(ow + d))
