"""Real-time recurrent learning (Williams & Zipser 1989) in a fully recurrent network.

The network has ``n_units`` semilinear units and m = n_inputs + 1 input lines (line 0 is
a bias of 1; pass ``bias=False`` to drop it), weights W of shape n x (m + n), and runs
the dynamics (2.1)-(2.3): z(t) = [x(t), y(t)], y(t+1) = f(W z(t)). Exact sensitivities
p^k_ij = d y_k / d w_ij follow (2.12) every step (:mod:`rtrlbench.agents.rtrl_kernels`).

Two ways to train it:

* **Supervised (the paper's setting)**: :meth:`RTRL.train_supervised` takes rows
  ``(x(t), d(t), mask(t))`` in W-Z time: ``d(t)`` is the target of ``y(t)``, the output
  *before* ``x(t)`` is seen (the input at t first affects the outputs at t + 1).
  Targets go to units ``0..K-1``; ``mask`` is the set T(t). Real-time (weights change
  every step, eq. 2.15) or epochwise (``epoch_length``: the summed changes over an
  epoch are applied at its end, the exact gradient of the epoch's total error), with
  or without teacher forcing (2.17)-(2.19). The W-Z envs give such rows with
  ``stream.next_supervised_chunk(T)``::

      from rtrlbench.agents.rtrl import RTRL
      from rtrlbench.envs.wz_pipelined_xor import PipelinedXOREnv
      stream = PipelinedXOREnv(delay=2).stream(seed=0)
      net = RTRL(stream.obs_dim, n_units=3, alpha=1.0, seed=0)
      chunk = stream.next_supervised_chunk(50_000)
      outputs = net.train_supervised(chunk.inputs, chunk.targets, chunk.mask)

* **Prediction streams** (the suite's :class:`~rtrlbench.learner_interface.Learner` API):
  TD(lambda) in the order of :mod:`rtrlbench.agents.td_lambda`. The prediction y_t
  (made after x_t) is unit 0's output (``readout="unit"``, W-Z's y(t+1)) or a learned
  linear readout ``v . [y, 1]`` of all units (``readout="linear"``, for returns outside
  the unit's range). With gamma = 0 the cumulant c_{t+1} is the supervised target of
  y_t, so this is real-time RTRL on unit 0 (its weight change lands one step later
  than in :meth:`train_supervised`); ``teacher_forcing`` then feeds c_{t+1} back as
  unit 0's value.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rtrlbench.agents import rtrl_kernels as K
from rtrlbench.learner_interface import Learner
from rtrlbench.agents.td_lambda import optimizer_code
from rtrlbench.validation import choice, non_negative_float, positive_int, step_size, unit_interval

ACTIVATIONS = {"logistic": K.LOGISTIC, "tanh": K.TANH}
#: RMSProp's decay and offset on the stream API (the released code's, as for the other learners).
RMSPROP_BETA2, RMSPROP_EPS = 0.9999, 1e-8
READOUTS = {"unit": K.UNIT, "linear": K.LINEAR}


class RTRL(Learner):
    """Fully recurrent network trained by exact real-time recurrent learning.

    Hyperparameters: ``n_units`` (n), ``alpha`` (step size >= 0; 0 freezes the weights), ``lam`` (TD lambda, stream
    API only), ``activation`` ("logistic" or "tanh"), ``teacher_forcing`` (default of
    :meth:`train_supervised`; on streams it needs gamma = 0 and the unit readout),
    ``readout`` ("unit" or "linear"), ``optimizer`` ("sgd", "rmsprop" or "obgd", stream API),
    ``init_scale`` (weights start uniform in +-init_scale), ``bias`` (add a bias line),
    ``epoch_length`` (default of :meth:`train_supervised`; None = real-time), ``seed``.
    """

    name = "rtrl"

    def __init__(self, n_inputs: int, n_units: int = 3, alpha: float = 0.1, lam: float = 0.0,
                 activation: str = "logistic", teacher_forcing: bool = False, readout: str = "unit",
                 optimizer: str = "sgd", init_scale: float = 0.1, bias: bool = True,
                 epoch_length: int | None = None, seed: int = 0) -> None:
        super().__init__(n_inputs)
        positive_int("n_units", n_units)
        step_size(alpha)
        unit_interval("lam", lam)
        choice("activation", activation, ACTIVATIONS)
        choice("readout", readout, READOUTS)
        if teacher_forcing and readout != "unit":
            raise ValueError("teacher_forcing replaces unit 0 by its target, so it needs readout='unit'")
        non_negative_float("init_scale", init_scale)
        _check_epoch_length(epoch_length)
        self.n_units = int(n_units)
        self.alpha, self.lam = float(alpha), float(lam)
        self.activation, self.readout, self.optimizer = activation, readout, optimizer
        self._optimizer = optimizer_code(optimizer)
        self.teacher_forcing, self.bias = bool(teacher_forcing), bool(bias)
        self.init_scale, self.epoch_length, self.seed = float(init_scale), epoch_length, int(seed)
        self.n_lines = self.n_inputs + int(self.bias)
        n, big_m = self.n_units, self.n_lines + self.n_units
        rng = np.random.default_rng(seed)
        self.w = rng.uniform(-self.init_scale, self.init_scale, n * big_m)
        self.v = np.zeros(n + 1)
        self._alpha_w, self._alpha_v = np.full(n * big_m, self.alpha), np.full(n + 1, self.alpha)
        self._rms_w, self._rms_v = np.ones(n * big_m), np.ones(n + 1)
        self._reset_memory()

    # ---------------------------------------------------------------- views
    @property
    def weights(self) -> np.ndarray:
        """W, float64[n, m + n] (a view): columns 0..m-1 are the input lines, then the units."""
        return self.w.reshape(self.n_units, -1)

    @property
    def sensitivities(self) -> np.ndarray:
        """p, float64[n, n, m + n] (a view): p[k, i, j] = d y_k / d W[i, j] for the current y."""
        return self._p.reshape(self.n_units, self.n_units, -1)

    @property
    def outputs(self) -> np.ndarray:
        """The current unit outputs y, float64[n] (a view)."""
        return self._y

    def reset_state(self) -> None:
        """Forget the network's state: y = 0, p = 0, traces = 0 (weights are kept)."""
        self._reset_memory()
        self.started = False

    # ------------------------------------------------------------ supervised
    def train_supervised(self, inputs: np.ndarray, targets: np.ndarray, mask: np.ndarray | None = None, *,
                         teacher_forcing: bool | None = None, epoch_length: int | None = None,
                         learn: bool = True) -> np.ndarray:
        """Run the network over rows t = 0..T-1 (continuing its state) and learn.

        inputs:  float[T, n_inputs], x(t) (no bias column; the learner adds it).
        targets: float[T, K], d_k(t) for units k = 0..K-1 (K <= n_units).
        mask:    bool[T, K], k in T(t) (default: all True). Units are interchangeable, so
                 targets on the first K units lose nothing; for any subset of units at any
                 time, pass K = n_units and mask out the rest.
        ``teacher_forcing`` / ``epoch_length`` default to the constructor's values;
        ``learn=False`` runs the network frozen (and afterwards zeroes p, as at a fresh
        start, eq. 2.11). Returns float64[T, K]: y_k(t), the outputs judged against d(t).
        """
        inputs, targets, mask = self._check_supervised(inputs, targets, mask)
        teacher_forcing = self.teacher_forcing if teacher_forcing is None else bool(teacher_forcing)
        epoch_length = self.epoch_length if epoch_length is None else epoch_length
        _check_epoch_length(epoch_length)
        outputs = np.empty(targets.shape)
        run = K.SupervisedRun(self.alpha, ACTIVATIONS[self.activation], self.bias, teacher_forcing, epoch_length or 0,
                              bool(learn))
        self._p, self._pn = K.supervised(inputs, targets, mask, outputs, self._arrays(), run)
        if not learn:
            self._p[:] = 0.0
        return outputs

    def _check_supervised(self, inputs, targets, mask):
        inputs = np.ascontiguousarray(inputs, dtype=np.float64)
        targets = np.ascontiguousarray(targets, dtype=np.float64)
        if inputs.ndim != 2 or inputs.shape[1] != self.n_inputs:
            raise ValueError(f"inputs must have shape (T, {self.n_inputs}), got {inputs.shape}")
        if targets.ndim != 2 or len(targets) != len(inputs) or not 1 <= targets.shape[1] <= self.n_units:
            raise ValueError(
                f"targets must have shape ({len(inputs)}, K) with 1 <= K <= n_units={self.n_units}, "
                f"got {targets.shape}; targets go to units 0..K-1"
            )
        mask = np.ones(targets.shape, dtype=np.bool_) if mask is None else np.ascontiguousarray(mask, dtype=np.bool_)
        if mask.shape != targets.shape:
            raise ValueError(f"mask must have the targets' shape {targets.shape}, got {mask.shape}")
        if not np.isfinite(inputs).all() or not np.isfinite(targets[mask]).all():
            raise ValueError("inputs or (masked-in) targets contain NaN or inf")
        return inputs, np.where(mask, targets, 0.0), mask

    # ------------------------------------------------------- prediction stream
    def _predict_first(self, x):
        self._reset_memory()
        return self._stream(x[None, :], np.zeros(1), np.zeros(1))[0]

    def _update(self, cumulant, gamma, x):
        return self._stream(x[None, :], np.array([cumulant]), np.array([gamma]))[0]

    def _run_chunk(self, obs, cumulant, gamma):
        if not self.started:
            self._reset_memory()
        return self._stream(obs, cumulant, gamma)

    def _stream(self, obs, cumulant, gamma):
        if self.teacher_forcing and (gamma != 0.0).any():
            raise ValueError(
                "teacher forcing feeds the target back into the network, so it needs a supervised stream "
                "(gamma = 0 everywhere); turn teacher_forcing off for gamma > 0"
            )
        if self.epoch_length:
            raise ValueError("epoch_length (epochwise RTRL) is available through train_supervised only")
        out = np.empty(len(obs))
        settings = K.StreamSettings(ACTIVATIONS[self.activation], self.bias, READOUTS[self.readout],
                                    self.teacher_forcing, self._optimizer, self.lam, RMSPROP_BETA2, RMSPROP_EPS)
        self._p, self._pn = K.td_stream(np.ascontiguousarray(obs), cumulant, gamma, out, self._arrays(), settings)
        return out

    def _arrays(self) -> K.RTRLArrays:
        """The network's arrays by name, for the kernels (p and pn as they stand after the last swap)."""
        return K.RTRLArrays(
            w=self.w, v=self.v, y=self._y, p=self._p, pn=self._pn, z=self._z, acc=self._acc, clock=self._clock,
            trace_w=self._trace_w, trace_v=self._trace_v, grad_w=self._grad_w, grad_v=self._grad_v,
            alpha_w=self._alpha_w, alpha_v=self._alpha_v, rms_w=self._rms_w, rms_v=self._rms_v, memory=self._memory)

    # ------------------------------------------------------------- bookkeeping
    def _reset_memory(self) -> None:
        n, big_m = self.n_units, self.n_lines + self.n_units
        self._y = np.zeros(n)
        self._p, self._pn = np.zeros((n, n * big_m)), np.zeros((n, n * big_m))
        self._z = np.zeros(big_m)
        self._acc = np.zeros(n * big_m)
        self._trace_w, self._grad_w = np.zeros(n * big_m), np.zeros(n * big_m)
        self._trace_v, self._grad_v = np.zeros(n + 1), np.zeros(n + 1)
        self._clock = np.zeros(1, dtype=np.int64)
        self._memory = np.zeros(2)

    def hyperparameters(self) -> dict[str, Any]:
        return {
            "n_units": self.n_units, "alpha": self.alpha, "lam": self.lam, "activation": self.activation,
            "teacher_forcing": self.teacher_forcing, "readout": self.readout, "optimizer": self.optimizer,
            "init_scale": self.init_scale, "bias": self.bias, "epoch_length": self.epoch_length, "seed": self.seed,
        }

    _STATE = ("w", "v", "_rms_w", "_rms_v", "_y", "_p", "_acc", "_trace_w", "_trace_v", "_clock", "_memory")

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state.update({key: getattr(self, key).copy() for key in self._STATE})
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        for key in self._STATE:
            getattr(self, key)[...] = state[key]


def _check_epoch_length(epoch_length) -> None:
    if epoch_length is not None:
        positive_int("epoch_length (None: real-time RTRL)", epoch_length)
