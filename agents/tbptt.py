"""T-BPTT reference learner: a fully connected LSTM trained online, every step, by
truncated backpropagation through time with TD(lambda) (Javed et al. 2023, §4 and App. A).

Every step t the learner

1. runs one LSTM step (d hidden units, PyTorch's ``LSTMCell`` equations with one bias
   per gate) and predicts ``y_t = w . h_t`` (linear in h, no output bias, as in eq. 3
   of the paper and the authors' code);
2. computes ``dy_t/dtheta`` by backpropagation through the last ``k = truncation``
   steps, the state k steps back held constant (the true truncated gradient: the
   history keeps k + 1 states; the authors' k-slot buffer was off by one);
3. does the TD(lambda) step of :mod:`rtrlbench.agents.td_lambda` (SGD, the authors'
   RMSProp or ObGD) with that gradient, one row of W at a time (gradient, update and trace in
   one pass, :mod:`rtrlbench.agents.tbptt_kernels`).

The backward pass uses the activations stored when each step ran forward (x, the gate
activations, c, tanh c, h: it recomputes nothing of the forward pass; online T-BPTT, so
older steps of the window saw slightly older weights) and the current recurrent and
output weights. Cost per step O(k (d^2 + d n)); memory O(k (n + d) + d (n + d)).
A ``gamma = 0`` restarts the eligibility trace only; the LSTM state runs on.

``dtype="float32"`` keeps weights, trace, RMSProp state and history in single precision:
about twice the speed at Atari sizes (half the memory traffic, twice the SIMD width for
RMSProp's square root and division, which bound the step at large sizes). The default is
float64: the exactness tests check it, and on TracePatterning-v0 float32 learned clearly
worse (1M steps, 2 seeds); on Atari Pong it learned as well.

Initialisation (the authors' code): input, recurrent weights and gate biases
~ U(-1/sqrt(d), 1/sqrt(d)); output weights 0.

>>> learner = TBPTTLearner(12, n_hidden=2, truncation=30, alpha=1e-3)
>>> predictions = learner.run_chunk(obs, cumulant, gamma)        # doctest: +SKIP
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from rtrlbench.agents import tbptt_kernels as kernels
from rtrlbench.agents.gradient_fidelity import FidelityLog, restore_shadow, shadow_checkpoint
from rtrlbench.agents.kernel_loop_learner import ResettingKernelLearner
from rtrlbench.agents.lstm_rtrl import exact_shadow
from rtrlbench.agents.tbptt_fidelity_kernels import TBPTTFidelity, run_steps_measured
from rtrlbench.learner_interface import restore_arrays
from rtrlbench.agents.td_lambda import optimizer_code
from rtrlbench.validation import choice, int_at_least, positive_float, positive_int, step_size, unit_interval

#: Float types the learner can compute in (``dtype`` hyperparameter).
DTYPES = ("float32", "float64")
#: Arrays that make up the learner's state, in ``get_state()``.
_STATE_ARRAYS = kernels.TBPTTState._fields
#: The state arrays a new stream zeroes (LSTM state, history, trace, clock); weights and RMSProp state stay.
MEMORY_ARRAYS = ("trace", "hist_x", "hist_nz", "hist_h", "hist_c", "hist_gate", "hist_tc", "clock", "last_y")


class TBPTTLearner(ResettingKernelLearner):
    """Fully connected LSTM trained by truncated BPTT (window ``truncation``) and TD(lambda).

    Args:
        n_inputs: observation size n.
        seed: initial weights.
        alpha: step size (>= 0; 0 freezes the weights, see :mod:`rtrlbench.validation`).
        lam: trace decay lambda in [0, 1].
        optimizer: ``"rmsprop"`` (the authors' update), ``"sgd"`` or ``"obgd"``.
        n_hidden: LSTM hidden units d (>= 1).
        truncation: steps k the gradient flows back (>= 1; k = 1 is the last step only).
        beta2, eps: RMSProp's decay and denominator offset (the authors': 0.9999, 1e-8).
        dtype: ``"float64"`` or ``"float32"``: the precision of all learner arrays and arithmetic.
        fidelity_every: N > 0 measures the truncated gradient against the untruncated one every N
            steps (an exact dense-LSTM RTRL shadow on the same weights and stream, float64;
            :mod:`rtrlbench.agents.tbptt_fidelity_kernels`), read with :meth:`fidelity`; 0: off.
            Listed in ``hyperparameters()`` only when on.
    """

    name = "tbptt"

    def __init__(self, n_inputs: int, *, seed: int = 0, alpha: float = 1e-3, lam: float = 0.99,
                 optimizer: str = "rmsprop", n_hidden: int = 2, truncation: int = 30, beta2: float = 0.9999,
                 eps: float = 1e-8, dtype: str = "float64", fidelity_every: int = 0) -> None:
        super().__init__(n_inputs)
        n_hidden, truncation = positive_int("n_hidden", n_hidden), positive_int("truncation", truncation)
        alpha, lam = step_size(alpha), unit_interval("lam (trace decay lambda)", lam)
        beta2 = unit_interval("beta2 (RMSProp decay)", beta2, high_open=True)
        eps = positive_float("eps (RMSProp offset)", eps)
        dtype = choice("dtype", dtype, DTYPES)
        self.fidelity_every = int_at_least("fidelity_every", fidelity_every, 0)
        self._optimizer = optimizer_code(optimizer)
        self.seed, self.alpha, self.lam, self.optimizer = seed, float(alpha), float(lam), optimizer
        self.n_hidden, self.truncation = int(n_hidden), int(truncation)
        self.beta2, self.eps = float(beta2), float(eps)

        self.dtype = dtype
        n, d, k = self.n_inputs, self.n_hidden, self.truncation
        *_, size = kernels.offsets(n, d)
        bound = 1.0 / math.sqrt(d)
        ow = size - d
        theta = np.zeros(size)
        theta[:ow] = np.random.default_rng(seed).uniform(-bound, bound, ow)  # float64 draws: same init in both dtypes
        self._consts = kernels.constants(dtype, self.alpha, self.lam, self.beta2, self.eps)
        self._shape = kernels.TBPTTShape(n, d, k, self._optimizer)
        self._state = kernels.TBPTTState(
            theta=theta.astype(dtype), trace=np.zeros(size, dtype), v=np.ones(size, dtype),
            hist_x=np.zeros((k + 1, n), dtype), hist_nz=np.zeros((k + 1, n // 4 + 1), dtype=np.int64),
            hist_h=np.zeros((k + 1, d), dtype), hist_c=np.zeros((k + 1, d), dtype),
            hist_gate=np.zeros((k + 1, 4 * d), dtype), hist_tc=np.zeros((k + 1, d), dtype),
            clock=np.zeros(1, dtype=np.int64), last_y=np.zeros(1, dtype))
        # Gradient scratch: a block of about 512 parameters of W (whole rows), and d(U, b, w).
        self._scratch = kernels.TBPTTScratch(
            grad=np.zeros((min(4 * d, max(1, 512 // n)), n), dtype), tail_grad=np.zeros(size - 4 * d * n, dtype),
            dz=np.zeros((k, 4 * d), dtype), work=np.zeros(2 * d, dtype), slots=np.zeros(k + 1, dtype=np.int64))
        self._shadow, self._shadow_scratch = exact_shadow(self._state.theta, n, d, self.fidelity_every > 0)
        self._fidelity_log = FidelityLog(self.fidelity_every)

    # ------------------------------------------------------------------ parameters
    @property
    def steps_done(self) -> int:
        """Steps learned from so far (the kernel's clock: it restarts only with the stream, at the first chunk)."""
        return int(self.clock[0])

    @property
    def n_parameters(self) -> int:
        return self.theta.size

    def parameters(self) -> dict[str, np.ndarray]:
        """Views of theta in PyTorch ``LSTMCell`` layout: W [4d, n], U [4d, d], b [4d], w [d]."""
        n, d = self.n_inputs, self.n_hidden
        ou, ob, ow, size = kernels.offsets(n, d)
        return {
            "W": self.theta[:ou].reshape(4 * d, n),
            "U": self.theta[ou:ob].reshape(4 * d, d),
            "b": self.theta[ob:ow],
            "w": self.theta[ow:size],
        }

    # ------------------------------------------------------------------ Learner API
    def _reset_memory(self) -> None:
        """Forget the stream (LSTM state, history, trace); keep the weights and RMSProp state."""
        for name in MEMORY_ARRAYS:
            getattr(self, name).fill(0)
        for name in ("h", "c", "jh", "jc"):
            getattr(self._shadow, name).fill(0)

    def _steps(self, obs, cumulant, gamma) -> np.ndarray:
        out = np.empty(len(obs))
        if not len(obs):
            return out
        cumulant, gamma = cumulant.astype(self.dtype, copy=False), gamma.astype(self.dtype, copy=False)
        if self.fidelity_every:
            first = int(self.clock[0])
            extra = TBPTTFidelity(self._shadow, self._shadow_scratch, np.array([self.fidelity_every]),
                                  np.zeros(self.theta.size, self.dtype), np.empty((len(obs), 4)))
            run_steps_measured(obs, cumulant, gamma, out, self._state, self._scratch, self._consts, self._shape, extra)
            self._fidelity_log.record(first, extra.fidelity)
        else:
            kernels.run_steps(obs, cumulant, gamma, out, self._state, self._scratch, self._consts, self._shape)
        return out

    def fidelity(self) -> dict[str, np.ndarray]:
        """The measurements so far (``fidelity_every > 0``): ``step``, ``cosine``, ``relative_error``
        of the truncated dy/dtheta against the untruncated (exact RTRL) one on the same weights."""
        return self._fidelity_log.as_dict()

    def hyperparameters(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "lam": self.lam, "optimizer": self.optimizer, "n_hidden": self.n_hidden,
                "truncation": self.truncation, "beta2": self.beta2, "eps": self.eps, "dtype": self.dtype,
                **({"fidelity_every": self.fidelity_every} if self.fidelity_every else {})}

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state.update({name: getattr(self, name).copy() for name in _STATE_ARRAYS})
        if self.fidelity_every:
            state["fidelity_shadow"] = shadow_checkpoint(self._shadow)
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        restore_arrays(self._state, state, "TBPTTLearner", "n_inputs, n_hidden or truncation")
        if self.fidelity_every or "fidelity_shadow" in state:
            restore_shadow(self._shadow, state, "TBPTTLearner")
        super().set_state(state)


for _name in kernels.TBPTTState._fields:  # learner.theta, learner.trace, ...: the state arrays themselves
    setattr(TBPTTLearner, _name, property(lambda self, name=_name: getattr(self._state, name),
                                          doc=f"The {_name} array of the learner's state (kernels.TBPTTState)."))
