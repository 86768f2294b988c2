"""Online LRU: one linear recurrent unit layer learned with its exact online gradient
(Zucchet, Meier, Schug, Mujika & Sacramento, NeurIPS 2023, "Online learning of long-range
dependencies"; the LRU of Orvieto et al. 2023), by TD(lambda) with eligibility traces.

The network and its gradient are in :mod:`rtrlbench.agents.online_lru_kernels`: x_t goes
through the complex diagonal recurrence h_t = lambda h_{t-1} + gamma B x_t (lambda with the
exponential parameterisation, gamma-normalisation learned), the output projection
z = Re[C h] + D x, GELU and a GLU (the paper's block), and a linear value readout. The
recurrence's parameters (nu, theta, gamma, B) carry their exact sensitivities (the authors'
``online_full``); the parameters after it (C, D, GLU, readout) take their exact instantaneous
gradient, so d y_t / d theta is exact for the whole network.

Initialisation as in the authors' code (``rec_init.py``): |lambda| uniform on the ring
[r_min, r_max] by area, phase uniform in [0, max_phase], nu and theta stored as logs,
gamma_log = log sqrt(1 - |lambda|^2); B ~ N(0, 1 / (2n)) (real and imaginary parts), C ~ N(0, 1/N);
D ~ N(0, 1/n) (dense: see docs/learners.md); GLU weights ~ N(0, 1/H), biases 0; readout 0.
A ``gamma = 0`` in the stream restarts the eligibility trace only; the LRU state runs on.
"""
from __future__ import annotations

import math
import numpy as np

from rtrlbench.agents import online_lru_kernels as K
from rtrlbench.agents.flat_parameter_learner import FlatParameterLearner
from rtrlbench.agents.td_lambda import optimizer_code
from rtrlbench.validation import choice, int_at_least, positive_float, positive_int, step_size, unit_interval

class OnlineLRULearner(FlatParameterLearner):
    """One LRU layer (N complex units, width H) + GLU + linear readout, exact online gradient, TD(lambda).

    Args:
        n_inputs: observation size n.
        seed: initial weights.
        alpha: step size (>= 0; 0 freezes the weights).
        lam: trace decay lambda in [0, 1].
        optimizer: "rmsprop" (the suite's update, as for CCN and T-BPTT), "sgd" or "obgd".
        n_hidden: N, complex recurrent units (>= 1).
        n_model: H, width of the layer output and of the GLU (>= 1). The defaults, 12 units of
            width 6, cost 3,790 FLOPs per step on trace patterning's 7 inputs
            (:func:`rtrlbench.agents.learner_flops.lru_configs` sizes it to other budgets).
        mixing: what follows the LRU: "full_glu" (GELU then GLU, the paper's block and the code's
            experiments), "gelu" (GELU only) or "none" (the LRU output itself).
        gelu: "exact" (erf, GELU's definition) or "tanh" (the approximation the authors' flax code uses).
        gamma_norm: learn the input normalisation gamma (True, the paper) or fix gamma = 1.
        r_min, r_max: ring of |lambda| at initialisation, 0 <= r_min < r_max <= 1.
        max_phase: largest phase of lambda at initialisation (> 0).
        beta2, eps: RMSProp's decay and offset.
    """

    name = "lru"
    _kernel = K.run_rows

    def __init__(self, n_inputs: int, *, seed: int = 0, alpha: float = 1e-4, lam: float = 0.99,
                 optimizer: str = "rmsprop", n_hidden: int = 12, n_model: int = 6, mixing: str = "full_glu",
                 gelu: str = "exact", gamma_norm: bool = True, r_min: float = 0.0, r_max: float = 1.0,
                 max_phase: float = 6.28, beta2: float = 0.9999, eps: float = 1e-8) -> None:
        super().__init__(n_inputs)
        self.seed = int_at_least("seed", seed, 0)
        n_hidden, n_model = positive_int("n_hidden", n_hidden), positive_int("n_model", n_model)
        choice("mixing", mixing, K.MIXINGS, hint=" ('full_glu': GELU then GLU, as in the paper)")
        choice("gelu", gelu, K.GELUS)
        if not isinstance(gamma_norm, (bool, np.bool_)):
            raise ValueError(f"gamma_norm must be True or False, got {gamma_norm!r}")
        r_min, r_max = unit_interval("r_min", r_min), unit_interval("r_max", r_max, low_open=True)
        if r_min >= r_max:
            raise ValueError(f"r_min must be below r_max, got r_min={r_min!r}, r_max={r_max!r}")
        self._hyperparameters = {
            "alpha": step_size(alpha), "lam": unit_interval("lam (trace decay lambda)", lam), "optimizer": optimizer,
            "n_hidden": n_hidden, "n_model": n_model, "mixing": mixing, "gelu": gelu, "gamma_norm": bool(gamma_norm),
            "r_min": r_min, "r_max": r_max, "max_phase": positive_float("max_phase", max_phase),
            "beta2": unit_interval("beta2 (RMSProp decay)", beta2, high_open=True),
            "eps": positive_float("eps (RMSProp offset)", eps),
        }
        hp = self._hyperparameters
        self._shapes = K.block_shapes(self.n_inputs, n_hidden, n_model, K.MIXINGS[mixing], hp["gamma_norm"])
        off = K.block_offsets(self._shapes)
        self._offsets = off
        self._config = K.LRUConfig(
            n_inputs=self.n_inputs, n_hidden=n_hidden, n_model=n_model, mixing=K.MIXINGS[mixing],
            gelu=K.GELUS[gelu], gamma_norm=hp["gamma_norm"], optimizer=optimizer_code(optimizer),
            alpha=hp["alpha"], lam=hp["lam"], beta2=hp["beta2"], eps=hp["eps"],
            o_nu=off["nu_log"], o_th=off["theta_log"], o_gl=off["gamma_log"], o_bre=off["B_re"], o_bim=off["B_im"],
            o_cre=off["C_re"], o_cim=off["C_im"], o_d=off["D"], o_w1=off["W1"], o_b1=off["b1"], o_w2=off["W2"],
            o_b2=off["b2"], o_w=off["w"], o_b=off["b"], size=off["size"])
        size, big_n, h = off["size"], n_hidden, n_model
        self._state = K.LRUState(
            theta=self._initial_parameters(), trace=np.zeros(size), v=np.ones(size), grad=np.zeros(size),
            h=np.zeros(big_n, np.complex128), s_lam=np.zeros(big_n, np.complex128),
            s_gam=np.zeros(big_n, np.complex128), e_in=np.zeros((big_n, self.n_inputs), np.complex128),
            z=np.zeros(h), act=np.zeros(h), gate_u=np.zeros(h), gate_s=np.zeros(h), feat=np.zeros(h),
            dz=np.zeros(h), dv=np.zeros(h), y_prev=np.zeros(1))

    def _initial_parameters(self) -> np.ndarray:
        """Seeded draws in the authors' scheme (module docstring), packed in BLOCKS order."""
        hp, n = self._hyperparameters, self.n_inputs
        big_n, h = hp["n_hidden"], hp["n_model"]
        rng = np.random.default_rng(self.seed)
        u_nu, u_theta = rng.uniform(size=big_n), rng.uniform(size=big_n)
        nu = -0.5 * np.log(u_nu * (hp["r_max"] ** 2 - hp["r_min"] ** 2) + hp["r_min"] ** 2)
        theta = hp["max_phase"] * u_theta
        values = {
            "nu_log": np.log(nu), "theta_log": np.log(theta),
            "gamma_log": np.log(np.sqrt(1.0 - np.exp(-2.0 * nu))),
            "B_re": rng.standard_normal((big_n, n)) / math.sqrt(2 * n),
            "B_im": rng.standard_normal((big_n, n)) / math.sqrt(2 * n),
            "C_re": rng.standard_normal((h, big_n)) / math.sqrt(big_n),
            "C_im": rng.standard_normal((h, big_n)) / math.sqrt(big_n),
            "D": rng.standard_normal((h, n)) / math.sqrt(n),
            "W1": rng.standard_normal((h, h)) / math.sqrt(h), "W2": rng.standard_normal((h, h)) / math.sqrt(h),
        }
        flat = np.zeros(self._offsets["size"])
        for name, shape in self._shapes.items():
            size = int(np.prod(shape))
            if size and name in values:
                flat[self._offsets[name]:self._offsets[name] + size] = values[name].reshape(-1)[:size]
        return flat

    def _block_shapes(self) -> dict[str, tuple]:
        """The blocks of ``online_lru_kernels.BLOCKS`` with their shapes."""
        return self._shapes
