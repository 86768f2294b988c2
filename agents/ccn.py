"""Columnar, constructive and constructive-columnar networks (Javed et al. 2023, §3),
learned online with TD(lambda) and exact forward-mode gradients.

The network has ``n_features`` LSTM columns (:mod:`rtrlbench.agents.lstm_column`),
grown in ``n_features / features_per_stage`` stages of ``features_per_stage`` columns:

* a column of stage s reads the stage's inputs ``r = [x_t, h_t,0 .. h_t,sL-1]`` (the
  observation and every feature of earlier stages at the same step), normalised with
  the stage's own statistics (:mod:`rtrlbench.agents.normalisation`), which update only
  while the stage learns; plus its own previous output through the scalars u_q;
* the prediction is ``y_t = b + sum_k w_k hhat_k`` over the features built so far,
  ``hhat_k`` being h_k normalised with statistics that update every step;
* each stage learns for ``steps_per_stage`` steps; then its columns freeze for good and
  the next stage starts with fresh columns (h = c = 0). Output weights learn every step.

Gradients (``normalisation_gradient``). The stage input statistics depend only on x and
frozen features, so they are constants for the learning columns either way. The output
statistics (mu_k, var_k) of a learning feature do depend on its parameters:

* ``"stop"`` (default; the paper's Appendix B and the released code): they are treated as
  constants when differentiating (stop-gradient), so dy/dp = w_k TH / s(var_k) and each
  parameter carries two traces, TH = dh/dp and TC = dc/dp. This is the exact gradient of
  the network in which the statistics are given sequences (the tests check it so);
* ``"exact"``: the exact gradient of y_t as computed, with two more traces per parameter,
  TM = d mu / d p and TV = d var / d p:

      TM(t) = beta TM(t-1) + (1 - beta) TH(t)
      TV(t) = beta TV(t-1) + 2 (1 - beta) (mu_t - h_t) (TM(t) - TH(t))
      dy/dp = w_k [(TH - TM) / s - (h - mu) s'(var) TV / s^2]

  about twice the trace work; with the default slow statistics (beta = 0.99999) the two
  gradients differ by O(1 - beta).

Only the learning stage's columns carry traces, so memory and compute per step are
linear in the number of parameters; frozen columns only run forward, on a packed copy of
their weights with their (fixed) input normalisation folded in. TD(lambda) and the
optimiser are those of :mod:`rtrlbench.agents.td_lambda` (same step order), one pass over
the learning stage's parameters after the trace pass. ``ColumnarLearner`` is
one stage, ``ConstructiveLearner`` one feature per stage, ``CCNLearner`` the general case;
the network defaults are the paper's trace-patterning settings (Table 1), the optimiser
default is the released code's RMSProp with alpha = 1e-4 (plain SGD at alpha = 1e-3 does
not learn trace patterning within a few million steps).
"""
from __future__ import annotations

import math
from typing import Any

import numba as nb
import numpy as np

from rtrlbench.agents import lstm_column, normalisation
from rtrlbench.learner_interface import Learner
from rtrlbench.agents.td_lambda import NO_UPDATE, optimizer_code, update_then_accumulate
from rtrlbench.validation import choice, int_at_least, positive_float, positive_int, step_size, unit_interval


#: The released code's RMSProp constants (see :mod:`rtrlbench.agents.td_lambda`).
RMSPROP_BETA2 = 0.9999
RMSPROP_EPS = 1e-8
#: ``output_step_size`` options: the output layer learns with ``alpha``, or with the
#: released code's ``alpha / ((stage + 1) * features_per_stage)``.
OUTPUT_STEP_SIZES = {"alpha": 0, "released": 1}
#: ``normalisation_gradient`` options (see the module docstring).
NORMALISATION_GRADIENTS = {"stop": 0, "exact": 1}

# Layout of the integer config / counters passed to the compiled loop.
_N_IN, _PER_STAGE, _N_STAGES, _STEPS_PER_STAGE, _OPTIMIZER, _FLOOR, _OUT_STEP, _EXACT = range(8)
_ALPHA, _LAMBDA, _BETA, _EPS = range(4)
_T, _STAGE = range(2)
_ALPHA_COLUMNS, _ALPHA_OUT = range(2)

#: Arrays of a learner's state, in the order the compiled loop takes them.
_STATE = ("theta", "packed", "out_w", "h", "c", "raw", "z", "in_mu", "in_var", "in_inv", "out_mu",
          "out_var", "h_hat", "records", "th", "tc", "tm", "tv", "grad_c", "grad_o", "e_c", "e_o", "v_c", "v_o",
          "alpha", "counters", "y_prev")


class ColumnNetworkLearner(Learner):
    """A constructive-columnar network learned by TD(lambda) with forward-mode (RTRL) gradients,
    exact for the chosen ``normalisation_gradient``.

    Args:
        n_inputs: size of the observation x_t.
        seed: seeds the initial column weights (all stages are drawn at construction).
        alpha: step size (>= 0; 0 freezes the weights, see :mod:`rtrlbench.validation`).
        lam: trace decay lambda in [0, 1].
        optimizer: "sgd" or "rmsprop" (the released code's update).
        n_features: total number of columns, a multiple of ``features_per_stage``.
        features_per_stage: columns learned together in one stage (>= 1).
        steps_per_stage: steps each stage learns before its columns freeze (>= 1).
        norm_beta: decay of the running feature statistics, in [0, 1).
        norm_eps: floor of the normaliser's divisor (> 0), see ``norm_floor``.
        norm_floor: "std" (the paper: max(eps, sigma)) or "var" (released code: sqrt(max(eps, var))).
        init_scale: column weights and biases start ~ U(-init_scale, init_scale); output weights at 0.
        output_step_size: "alpha", or "released" for alpha / ((stage + 1) * features_per_stage).
        normalisation_gradient: "stop" (the paper and released code: the running output
            statistics are constants in the gradient; two traces per parameter) or "exact"
            (differentiate through them too; four traces per parameter).

    The default optimiser is the released code's RMSProp with alpha = 1e-4, which learns
    trace patterning within a few million steps (MSRE at 3M steps, seed 0: columnar 0.0036,
    CCN 0.0042, constructive 0.0053; oracle 0.0021, zero predictor 0.0217); "sgd" with
    alpha = 1e-3 stays near the zero predictor (CCN 0.020).
    """

    name = "ccn"

    def __init__(self, n_inputs: int, *, seed: int = 0, alpha: float = 1e-4, lam: float = 0.99,
                 optimizer: str = "rmsprop", n_features: int = 20, features_per_stage: int | None = 4,
                 steps_per_stage: int | None = 10_000_000, norm_beta: float = 0.99999, norm_eps: float = 0.01,
                 norm_floor: str = "std", init_scale: float = 0.01, output_step_size: str = "alpha",
                 normalisation_gradient: str = "stop") -> None:
        super().__init__(n_inputs)
        if features_per_stage is None:
            features_per_stage = n_features
        if steps_per_stage is None:
            steps_per_stage = 1
        int_at_least("seed", seed, 0)
        positive_int("n_features", n_features)
        positive_int("features_per_stage", features_per_stage)
        positive_int("steps_per_stage", steps_per_stage)
        if n_features % features_per_stage:
            raise ValueError(f"n_features={n_features} must be a multiple of features_per_stage={features_per_stage}")
        step_size(alpha)
        unit_interval("lam (trace decay lambda)", lam)
        positive_float("init_scale", init_scale)
        normalisation.check_norm_args(norm_beta, norm_eps)
        choice("output_step_size", output_step_size, OUTPUT_STEP_SIZES)
        choice("normalisation_gradient", normalisation_gradient, NORMALISATION_GRADIENTS,
               hint=" ('stop': the statistics are constants in the gradient, as in the paper; 'exact': "
                    "differentiate through them)")
        self._hp = {
            "alpha": float(alpha), "lam": float(lam), "optimizer": optimizer, "n_features": int(n_features),
            "features_per_stage": int(features_per_stage), "steps_per_stage": int(steps_per_stage),
            "norm_beta": float(norm_beta), "norm_eps": float(norm_eps), "norm_floor": norm_floor,
            "init_scale": float(init_scale), "output_step_size": output_step_size,
            "normalisation_gradient": normalisation_gradient,
        }
        self.seed = int(seed)
        self._cfg = np.array([n_inputs, features_per_stage, n_features // features_per_stage, steps_per_stage,
                              optimizer_code(optimizer), normalisation.floor_code(norm_floor),
                              OUTPUT_STEP_SIZES[output_step_size], NORMALISATION_GRADIENTS[normalisation_gradient]],
                             dtype=np.int64)
        self._fcfg = np.array([alpha, lam, norm_beta, norm_eps], dtype=np.float64)
        self._s = self._initial_state()

    # ------------------------------------------------------------------ layout
    @property
    def n_stages(self) -> int:
        return int(self._cfg[_N_STAGES])

    @property
    def stage(self) -> int:
        """The stage now learning (0-based)."""
        return int(self._s["counters"][_STAGE])

    @property
    def steps_done(self) -> int:
        return int(self._s["counters"][_T])

    def stage_inputs(self, stage: int) -> int:
        """Inputs of a column of ``stage``: the observation plus every earlier feature."""
        return self.n_inputs + stage * self._hp["features_per_stage"]

    def stage_slice(self, stage: int) -> slice:
        """Where the parameters of ``stage``'s columns sit in ``parameters()["columns"]``."""
        offsets = self._stage_offsets
        return slice(int(offsets[stage]), int(offsets[stage + 1]))

    def _initial_state(self) -> dict[str, np.ndarray]:
        per_stage, n_features, n_stages = self._hp["features_per_stage"], self._hp["n_features"], self.n_stages
        sizes = [per_stage * int(lstm_column.block_size(self.stage_inputs(s))) for s in range(n_stages)]
        self._stage_offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        block, m_max = max(sizes), self.stage_inputs(n_stages - 1)
        rng = np.random.default_rng(self.seed)
        scale = self._hp["init_scale"]
        s = {
            "theta": rng.uniform(-scale, scale, int(self._stage_offsets[-1])),
            "packed": np.zeros((n_features, lstm_column.N_GATES, m_max + 2)),
            "out_w": np.zeros(1 + n_features),
            "h": np.zeros(n_features), "c": np.zeros(n_features),
            "raw": np.zeros(m_max), "z": np.zeros(m_max + 2),
            "in_mu": np.zeros((n_stages, m_max)), "in_var": np.ones((n_stages, m_max)),
            "in_inv": np.ones((n_stages, m_max)),
            "out_mu": np.zeros(n_features), "out_var": np.ones(n_features), "h_hat": np.zeros(n_features),
            "records": np.zeros((n_features, lstm_column.RECORD_SIZE)),
            "grad_o": np.zeros(1 + n_features), "e_o": np.zeros(1 + n_features),
            "v_o": np.ones(1 + n_features),
            "alpha": np.full(2, self._hp["alpha"]),  # step sizes of the columns and of the output layer
            "counters": np.zeros(2, dtype=np.int64), "y_prev": np.zeros(1),
        }
        for key in ("th", "tc", "grad_c", "e_c"):
            s[key] = np.zeros(block)
        for key in ("tm", "tv"):  # only "exact" carries them
            s[key] = np.zeros(block if self._hp["normalisation_gradient"] == "exact" else 0)
        s["v_c"] = np.ones(block)
        _begin_stage(0, self._cfg, self._fcfg, self._stage_offsets, s["theta"], s["packed"], s["h"], s["c"], s["in_mu"],
                     s["in_var"], s["in_inv"], s["out_mu"], s["out_var"], s["th"], s["tc"], s["tm"], s["tv"], s["e_c"],
                     s["v_c"], s["alpha"])
        return s

    # -------------------------------------------------------------- learning
    def _predict_first(self, x: np.ndarray) -> float:
        return float(self._run(x[None, :], np.zeros(1), np.zeros(1), True)[0])

    def _update(self, cumulant: float, gamma: float, x: np.ndarray) -> float:
        return float(self._run(x[None, :], np.array([cumulant]), np.array([gamma]), False)[0])

    def _run_chunk(self, obs: np.ndarray, cumulant: np.ndarray, gamma: np.ndarray) -> np.ndarray:
        return self._run(obs, cumulant, gamma, not self.started)

    def _run(self, obs, cumulant, gamma, first: bool) -> np.ndarray:
        predictions = np.empty(len(obs))
        s = self._s
        _run_kernel(obs, cumulant, gamma, predictions, first, self._cfg, self._fcfg, self._stage_offsets,
                    *(s[key] for key in _STATE))
        return predictions

    # ------------------------------------------------------------ inspection
    def parameters(self) -> dict[str, np.ndarray]:
        """Copies of the parameters: ``columns`` (every stage's column blocks, see
        :meth:`stage_slice`) and ``output`` (``[b, w_0, ..., w_{n_features-1}]``)."""
        return {"columns": self._s["theta"].copy(), "output": self._s["out_w"].copy()}

    def prediction_gradient(self) -> dict[str, np.ndarray]:
        """d y_t / d theta for the last prediction, over the parameters that learn now:
        ``columns`` (float64 matching ``parameters()["columns"][stage_slice(stage)]``) and
        ``output`` (``[b, w_0, ...]`` for the features built so far)."""
        n_block = self.stage_slice(self.stage).stop - self.stage_slice(self.stage).start
        n_out = 1 + (self.stage + 1) * self._hp["features_per_stage"]
        return {"columns": self._s["grad_c"][:n_block].copy(), "output": self._s["grad_o"][:n_out].copy()}

    def features(self) -> np.ndarray:
        """The raw features h_t (float64[n_features]; 0 for columns not built yet)."""
        return self._s["h"].copy()

    def hyperparameters(self) -> dict[str, Any]:
        return dict(self._hp)

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state["hyperparameters"] = self.hyperparameters()
        state["n_inputs"] = self.n_inputs
        state["arrays"] = {key: value.copy() for key, value in self._s.items()}
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        if state.get("hyperparameters") != self.hyperparameters() or state.get("n_inputs") != self.n_inputs:
            raise ValueError("this checkpoint belongs to a learner with other hyperparameters or input size; "
                             "build the learner with the checkpoint's hyperparameters first")
        arrays = state["arrays"]
        for key, value in self._s.items():
            if np.shape(arrays[key]) != value.shape:
                raise ValueError(f"checkpoint array {key!r} has shape {np.shape(arrays[key])}, expected {value.shape}")
        for key, value in self._s.items():
            value[...] = arrays[key]
        super().set_state(state)


class ColumnarLearner(ColumnNetworkLearner):
    """Columnar network: every column learns at once in a single stage (default 5 columns)."""

    name = "columnar"

    def __init__(self, n_inputs: int, *, seed: int = 0, alpha: float = 1e-4, lam: float = 0.99,
                 optimizer: str = "rmsprop", n_features: int = 5, features_per_stage: int | None = None,
                 steps_per_stage: int | None = None, norm_beta: float = 0.99999, norm_eps: float = 0.01,
                 norm_floor: str = "std", init_scale: float = 0.01, output_step_size: str = "alpha",
                 normalisation_gradient: str = "stop") -> None:
        if features_per_stage is not None and features_per_stage != n_features:
            raise ValueError(f"a columnar network has one stage: features_per_stage must equal n_features "
                             f"({n_features}) or be left out, got {features_per_stage!r}; use 'ccn' for stages")
        super().__init__(n_inputs, seed=seed, alpha=alpha, lam=lam, optimizer=optimizer, n_features=n_features,
                         features_per_stage=n_features, steps_per_stage=steps_per_stage or 1, norm_beta=norm_beta,
                         norm_eps=norm_eps, norm_floor=norm_floor, init_scale=init_scale,
                         output_step_size=output_step_size, normalisation_gradient=normalisation_gradient)


class ConstructiveLearner(ColumnNetworkLearner):
    """Constructive network: one new column per stage (default 10 columns, 5M steps each)."""

    name = "constructive"

    def __init__(self, n_inputs: int, *, seed: int = 0, alpha: float = 1e-4, lam: float = 0.99,
                 optimizer: str = "rmsprop", n_features: int = 10, features_per_stage: int = 1,
                 steps_per_stage: int = 5_000_000, norm_beta: float = 0.99999, norm_eps: float = 0.01,
                 norm_floor: str = "std", init_scale: float = 0.01, output_step_size: str = "alpha",
                 normalisation_gradient: str = "stop") -> None:
        if features_per_stage != 1:
            raise ValueError(f"a constructive network learns one feature per stage: features_per_stage must be 1, "
                             f"got {features_per_stage!r}; use 'ccn' for more")
        super().__init__(n_inputs, seed=seed, alpha=alpha, lam=lam, optimizer=optimizer, n_features=n_features,
                         features_per_stage=1, steps_per_stage=steps_per_stage, norm_beta=norm_beta,
                         norm_eps=norm_eps, norm_floor=norm_floor, init_scale=init_scale,
                         output_step_size=output_step_size, normalisation_gradient=normalisation_gradient)


class CCNLearner(ColumnNetworkLearner):
    """Constructive-columnar network (default 20 columns, 4 per stage, 10M steps per stage)."""

    name = "ccn"


# --------------------------------------------------------------------------- compiled loop
@nb.njit(cache=True)
def _begin_stage(stage, cfg, fcfg, stage_off, theta, packed, h, c, in_mu, in_var, in_inv, out_mu, out_var, th, tc,
                 tm, tv, e_c, v_c, alpha):
    """Fresh columns for ``stage``: zero state, fresh statistics, zero traces. The stage
    before freezes: its input statistics become fixed and are folded, with its weights,
    into the packed copy the forward pass of frozen columns reads (:func:`lstm_column.pack_stage`)."""
    per_stage = cfg[_PER_STAGE]
    if stage > 0:
        m = cfg[_N_IN] + (stage - 1) * per_stage
        normalisation.inverse_scales(in_var[stage - 1], in_inv[stage - 1], m, fcfg[_EPS], cfg[_FLOOR])
        size = per_stage * lstm_column.block_size(m)
        frozen = theta[stage_off[stage - 1]:stage_off[stage - 1] + size].reshape((per_stage, lstm_column.N_GATES, m + 2))
        lstm_column.pack_stage(frozen, packed, (stage - 1) * per_stage, m, per_stage, in_mu[stage - 1],
                               in_inv[stage - 1])
    for k in range(stage * per_stage, (stage + 1) * per_stage):
        h[k] = 0.0
        c[k] = 0.0
        out_mu[k] = 0.0
        out_var[k] = 1.0
    in_mu[stage, :] = 0.0
    in_var[stage, :] = 1.0
    th[:] = 0.0
    tc[:] = 0.0
    tm[:] = 0.0
    tv[:] = 0.0
    e_c[:] = 0.0
    v_c[:] = 1.0
    if cfg[_OUT_STEP] == 1:
        alpha[_ALPHA_OUT] = fcfg[_ALPHA] / ((stage + 1) * per_stage)


@nb.njit(cache=True)
def _stage_views(stage, cfg, stage_off, theta, th, tc, tm, tv, grad_c):
    """The learning stage's parameters, flat (float64[size]), and its parameters and
    traces as (features_per_stage, N_GATES, inputs + 2) views (see
    :func:`lstm_column.column_traces`): theta_flat, theta, TH, TC, TM, TV, grad."""
    per_stage = cfg[_PER_STAGE]
    ng = cfg[_N_IN] + stage * per_stage + 2
    size = per_stage * lstm_column.N_GATES * ng
    shape = (per_stage, lstm_column.N_GATES, ng)
    theta_flat = theta[stage_off[stage]:stage_off[stage] + size]
    n_extra = size if cfg[_EXACT] == 1 else 0  # TM, TV exist only for "exact"
    extra = (per_stage, lstm_column.N_GATES, ng if n_extra else 0)
    return (theta_flat, theta_flat.reshape(shape), th[:size].reshape(shape), tc[:size].reshape(shape),
            tm[:n_extra].reshape(extra), tv[:n_extra].reshape(extra), grad_c[:size].reshape(shape))


@nb.njit(cache=True, error_model="numpy")  # IEEE division (no zero check) in the inlined kernels: loops vectorise
def _run_kernel(obs, cumulant, gamma, predictions, first, cfg, fcfg, stage_off, theta, packed, out_w, h, c, raw, z,
                in_mu, in_var, in_inv, out_mu, out_var, h_hat, records, th, tc, tm, tv, grad_c, grad_o,
                e_c, e_o, v_c, v_o, alpha, counters, y_prev):
    n_in, per_stage, n_stages, steps_per_stage = cfg[_N_IN], cfg[_PER_STAGE], cfg[_N_STAGES], cfg[_STEPS_PER_STAGE]
    optimizer, floor, exact = cfg[_OPTIMIZER], cfg[_FLOOR], cfg[_EXACT] == 1
    lam, beta, eps = fcfg[_LAMBDA], fcfg[_BETA], fcfg[_EPS]
    stage = counters[_STAGE]
    theta_l, theta_s, th_s, tc_s, tm_s, tv_s, g_s = _stage_views(stage, cfg, stage_off, theta, th, tc, tm, tv, grad_c)
    mu_s, var_s = in_mu[stage], in_var[stage]
    for row in range(obs.shape[0]):
        is_first = first and row == 0
        if stage < n_stages - 1 and counters[_T] >= (stage + 1) * steps_per_stage:
            stage += 1
            counters[_STAGE] = stage
            _begin_stage(stage, cfg, fcfg, stage_off, theta, packed, h, c, in_mu, in_var, in_inv, out_mu, out_var, th,
                         tc, tm, tv, e_c, v_c, alpha)
            theta_l, theta_s, th_s, tc_s, tm_s, tv_s, g_s = _stage_views(stage, cfg, stage_off, theta, th, tc, tm, tv,
                                                                          grad_c)
            mu_s, var_s = in_mu[stage], in_var[stage]
        if is_first:  # a new stream: the recurrent state and its traces start afresh
            h[:] = 0.0
            c[:] = 0.0
            th[:] = 0.0
            tc[:] = 0.0
        for j in range(n_in):
            raw[j] = obs[row, j]

        # Forward pass, stage by stage (a stage reads every earlier stage's features of this
        # step); frozen stages have their input normalisation folded into the packed weights.
        m = n_in
        for s in range(stage):
            for col in range(per_stage):
                k = s * per_stage + col
                h[k], c[k] = lstm_column.column_forward(packed, k, m, raw, h[k], c[k], records, k)
                raw[m + col] = h[k]
            m += per_stage
        normalisation.update_normalise(mu_s, var_s, raw, z, m, beta, eps, floor)
        k0 = stage * per_stage
        for col in range(per_stage):
            k = k0 + col
            h[k], c[k] = lstm_column.column_forward(theta_s, col, m, z, h[k], c[k], records, k)
        n_built = k0 + per_stage
        normalisation.update_normalise(out_mu, out_var, h, h_hat, n_built, beta, eps, floor)
        y = out_w[0]
        for k in range(n_built):
            y += out_w[1 + k] * h_hat[k]
        predictions[row] = y

        # Gradient of y w.r.t. the learning parameters (with the parameters of this step), then
        # TD(lambda) in the order of td_lambda.py.
        delta = 0.0 if is_first else cumulant[row] + gamma[row] * y - y_prev[0]
        decay = 0.0 if is_first else lam * gamma[row]
        step_rule = NO_UPDATE if is_first else optimizer
        for col in range(per_stage):
            k = k0 + col
            var = out_var[k]
            sc = normalisation.scale(var, eps, floor)
            centred = h[k] - out_mu[k]
            p_coef = out_w[1 + k] / sc
            q_coef = -out_w[1 + k] * centred * normalisation.scale_slope(var, eps, floor) / (sc * sc) if exact else 0.0
            lstm_column.column_traces(theta_s, col, m, z, records, k, th_s, tc_s, tm_s, tv_s, g_s, exact, beta,
                                      centred, p_coef, q_coef)
        update_then_accumulate(theta_l, e_c, grad_c, theta_l.shape[0], delta, alpha[_ALPHA_COLUMNS], decay, step_rule,
                               v_c, RMSPROP_BETA2, RMSPROP_EPS)
        grad_o[0] = 1.0
        for k in range(n_built):
            grad_o[1 + k] = h_hat[k]
        update_then_accumulate(out_w, e_o, grad_o, 1 + n_built, delta, alpha[_ALPHA_OUT], decay, step_rule, v_o,
                               RMSPROP_BETA2, RMSPROP_EPS)
        y_prev[0] = y
        counters[_T] += 1
