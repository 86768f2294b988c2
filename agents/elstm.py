"""eLSTM: the element-wise-recurrent LSTM of Irie, Gopalakrishnan & Schmidhuber (2023,
"Exploring the Promise and Limits of Real-Time Recurrent Learning"; code github.com/IDSIA/rtrl-elstm),
learned with exact RTRL (O(|theta|) per step) by TD(lambda) with eligibility traces.

Dense input weights, a recurrence that is element-wise (each cell reads only its own c_{t-1}),
an output gate after the recurrence and a linear value readout: equations and sensitivities in
:mod:`rtrlbench.agents.elstm_kernels`. Initialisation as in the authors' code: Z, F, w_z, w_f,
b_z, b_f ~ N(0, 0.1^2), ``forget_bias`` added to b_f; the output gate as PyTorch's ``nn.Linear``
(U(+-1/sqrt(n + d)) weights and bias); readout 0. A ``gamma = 0`` in the stream restarts the
eligibility trace only; the cell state runs on.
"""
from __future__ import annotations

import math
import numpy as np

from rtrlbench.agents import elstm_kernels as K
from rtrlbench.agents.flat_parameter_learner import FlatParameterLearner
from rtrlbench.agents.td_lambda import optimizer_code
from rtrlbench.validation import int_at_least, positive_float, positive_int, step_size, unit_interval


class ELSTMLearner(FlatParameterLearner):
    """eLSTM with d units, exact RTRL and TD(lambda).

    Args:
        n_inputs: observation size n.
        seed: initial weights.
        alpha: step size (>= 0; 0 freezes the weights).
        lam: trace decay lambda in [0, 1].
        optimizer: "rmsprop" (the suite's update), "sgd" or "obgd".
        n_units: d, cells (>= 1). The default, 12, costs 3,772 FLOPs per step on 7 inputs.
        output_gate: h = o (.) c with o = sigmoid(O_x x + O_c c + b_o) (True, the authors' eLSTM
            layer) or h = c (False, their RTRL layer, which leaves the output gate out).
        forget_bias: added to the forget-gate bias at initialisation (the code's default 0).
        beta2, eps: RMSProp's decay and offset.
    """

    name = "elstm"
    _kernel = K.run_rows

    def __init__(self, n_inputs: int, *, seed: int = 0, alpha: float = 1e-4, lam: float = 0.99,
                 optimizer: str = "rmsprop", n_units: int = 12, output_gate: bool = True, forget_bias: float = 0.0,
                 beta2: float = 0.9999, eps: float = 1e-8) -> None:
        super().__init__(n_inputs)
        self.seed = int_at_least("seed", seed, 0)
        if not isinstance(output_gate, (bool, np.bool_)):
            raise ValueError(f"output_gate must be True or False, got {output_gate!r}")
        if not (isinstance(forget_bias, (int, float, np.floating)) and not isinstance(forget_bias, bool)
                and math.isfinite(forget_bias)):
            raise ValueError(f"forget_bias must be a finite number, got {forget_bias!r}")
        self._hyperparameters = {
            "alpha": step_size(alpha), "lam": unit_interval("lam (trace decay lambda)", lam), "optimizer": optimizer,
            "n_units": positive_int("n_units", n_units), "output_gate": bool(output_gate),
            "forget_bias": float(forget_bias), "beta2": unit_interval("beta2 (RMSProp decay)", beta2, high_open=True),
            "eps": positive_float("eps (RMSProp offset)", eps),
        }
        hp, n, d = self._hyperparameters, self.n_inputs, self._hyperparameters["n_units"]
        n_recurrent, size = K.parameter_count(n, d, hp["output_gate"])
        self._config = K.ELSTMConfig(n_inputs=n, n_units=d, output_gate=hp["output_gate"],
                                     optimizer=optimizer_code(optimizer), alpha=hp["alpha"], lam=hp["lam"],
                                     beta2=hp["beta2"], eps=hp["eps"], n_recurrent=n_recurrent, size=size)
        self._state = K.ELSTMState(
            theta=self._initial_parameters(n_recurrent, size), trace=np.zeros(size), v=np.ones(size),
            grad=np.zeros(size), sens=np.zeros(n_recurrent), c=np.zeros(d), c_prev=np.zeros(d), gate_z=np.zeros(d),
            gate_f=np.zeros(d), gate_o=np.zeros(d), err=np.zeros(d), y_prev=np.zeros(1))

    def _initial_parameters(self, n_recurrent: int, size: int) -> np.ndarray:
        n, d = self.n_inputs, self._hyperparameters["n_units"]
        rng = np.random.default_rng(self.seed)
        theta = np.zeros(size)
        theta[:n_recurrent] = rng.normal(0.0, 0.1, n_recurrent)
        theta[2 * d * n + 3 * d:n_recurrent] += self._hyperparameters["forget_bias"]  # b_f
        if self._hyperparameters["output_gate"]:
            bound = 1.0 / math.sqrt(n + d)
            theta[n_recurrent:size - d - 1] = rng.uniform(-bound, bound, size - d - 1 - n_recurrent)
        return theta

    def _block_shapes(self) -> dict[str, tuple]:
        """Parameter blocks in the order of the flat vector (layout of :mod:`rtrlbench.agents.elstm_kernels`)."""
        n, d = self.n_inputs, self._hyperparameters["n_units"]
        shapes = {"Z": (d, n), "F": (d, n), "w_z": (d,), "w_f": (d,), "b_z": (d,), "b_f": (d,)}
        if self._hyperparameters["output_gate"]:
            shapes.update({"O_x": (d, n), "O_c": (d, d), "b_o": (d,)})
        return {**shapes, "w": (d,), "b": (1,)}
