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
not learn trace patterning within a few million steps). The gates' exponentials are
:func:`rtrlbench.agents.vector_exp.exp`, shared with the population learners
(:mod:`rtrlbench.agents.population_ccn`), which are bit-identical to this learner run by run.
"""
from __future__ import annotations

from typing import Any, ClassVar, Mapping, NamedTuple

import numba as nb
import numpy as np

from rtrlbench.agents import lstm_column, normalisation
from rtrlbench.agents.keyword_learner import KeywordArrayLearner, constructor_signature  # noqa: F401 (its old home)
from rtrlbench.agents.td_lambda import (NO_UPDATE, OBGD, OBGD_KAPPA, SGD, obgd_delta, optimizer_code, trace_l1,
                                        update_then_accumulate)
from rtrlbench.validation import choice, positive_float, positive_int, step_size, unit_interval


#: The released code's RMSProp constants (see :mod:`rtrlbench.agents.td_lambda`).
RMSPROP_BETA2 = 0.9999
RMSPROP_EPS = 1e-8
#: ``output_step_size`` options: the output layer learns with ``alpha``, or with the
#: released code's ``alpha / ((stage + 1) * features_per_stage)``.
OUTPUT_STEP_SIZES = {"alpha": 0, "released": 1}
#: ``normalisation_gradient`` options (see the module docstring).
NORMALISATION_GRADIENTS = {"stop": 0, "exact": 1}
#: Every hyperparameter of the column networks with its default: CCN on trace patterning (Table 1)
#: and the released code's optimiser; Columnar and Constructive override the shape (``defaults``).
HYPERPARAMETERS: dict[str, Any] = {
    "alpha": 1e-4, "lam": 0.99, "optimizer": "rmsprop", "n_features": 20, "features_per_stage": 4,
    "steps_per_stage": 10_000_000, "norm_beta": 0.99999, "norm_eps": 0.01, "norm_floor": "std",
    "init_scale": 0.01, "output_step_size": "alpha", "normalisation_gradient": "stop",
}

#: Entries of the ``counters`` array (int64[2]): steps learned so far, and the stage learning now.
STEPS_DONE, STAGE = 0, 1
#: Entries of the ``alpha`` array (float64[2]): step sizes of the learning columns and of the output layer.
ALPHA_COLUMNS, ALPHA_OUTPUT = 0, 1


class ColumnNetworkConfig(NamedTuple):
    """The fixed settings the compiled loop reads (scalars; numba passes them by value)."""

    n_inputs: int                   # size of the observation x_t
    features_per_stage: int         # columns learned together in one stage
    n_stages: int                   # n_features / features_per_stage
    steps_per_stage: int            # steps each stage learns before it freezes
    optimizer: int                  # td_lambda.SGD, RMSPROP or OBGD
    norm_floor: int                 # normalisation.FLOOR_STD or FLOOR_VAR
    released_output_step: bool      # output step size alpha / ((stage + 1) * features_per_stage)
    exact_gradient: bool            # differentiate through the output statistics (TM, TV traces)
    alpha: float                    # step size
    lam: float                      # trace decay lambda
    norm_beta: float                # decay of the running feature statistics
    norm_eps: float                 # floor of the normaliser's divisor


class ColumnNetworkState(NamedTuple):
    """Every array of a column network, float64 unless said otherwise; the learner's checkpoint.

    With F = n_features, M = inputs of the last stage's columns (n_inputs + (n_stages - 1) *
    features_per_stage), S = n_stages and B = the largest stage's parameter count:
    """

    theta: np.ndarray     # [P]: every stage's column parameters, stage after stage (stage_slice)
    packed: np.ndarray    # [F, 4, M + 2]: frozen columns' weights with their input normalisation folded in
    out_w: np.ndarray     # [1 + F]: output bias b and weights w
    h: np.ndarray         # [F]: column outputs h_t
    c: np.ndarray         # [F]: column cell states c_t
    raw: np.ndarray       # [M]: a stage's raw inputs r = [x_t, earlier stages' h_t]
    z: np.ndarray         # [M + 2]: the learning stage's normalised inputs, then h(t-1) and 1
    in_mu: np.ndarray     # [S, M]: each stage's input means
    in_var: np.ndarray    # [S, M]: each stage's input variances
    in_inv: np.ndarray    # [S, M]: frozen stages' 1 / scale(var) of their inputs
    out_mu: np.ndarray    # [F]: feature means (output normalisation)
    out_var: np.ndarray   # [F]: feature variances
    h_hat: np.ndarray     # [F]: normalised features
    records: np.ndarray   # [F, lstm_column.RECORD_SIZE]: each column's forward step, for its traces
    th: np.ndarray        # [B]: TH = dh/dp of the learning stage's parameters
    tc: np.ndarray        # [B]: TC = dc/dp
    tm: np.ndarray        # [B] ("exact") or [0]: TM = d mu / dp
    tv: np.ndarray        # [B] ("exact") or [0]: TV = d var / dp
    grad_c: np.ndarray    # [B]: d y / dp of the learning stage's parameters
    grad_o: np.ndarray    # [1 + F]: d y / d(b, w)
    e_c: np.ndarray       # [B]: eligibility trace of the learning stage's parameters
    e_o: np.ndarray       # [1 + F]: eligibility trace of the output layer
    v_c: np.ndarray       # [B]: RMSProp state of the learning stage's parameters
    v_o: np.ndarray       # [1 + F]: RMSProp state of the output layer
    alpha: np.ndarray     # [2]: step sizes (ALPHA_COLUMNS, ALPHA_OUTPUT)
    counters: np.ndarray  # int64[2]: STEPS_DONE, STAGE
    y_prev: np.ndarray    # [1]: the last prediction


class ColumnNetworkLearner(KeywordArrayLearner):
    """A constructive-columnar network learned by TD(lambda) with forward-mode (RTRL) gradients,
    exact for the chosen ``normalisation_gradient``.

    Args:
        n_inputs: size of the observation x_t.
        seed: seeds the initial column weights (all stages are drawn at construction).
        alpha: step size (>= 0; 0 freezes the weights, see :mod:`rtrlbench.validation`).
        lam: trace decay lambda in [0, 1].
        optimizer: "sgd", "rmsprop" (the released code's update) or "obgd" (its bound over the
            learning columns and the output layer together).
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
    #: The keywords this network takes and their defaults: :data:`HYPERPARAMETERS` with its own shape.
    defaults: ClassVar[Mapping[str, Any]] = HYPERPARAMETERS

    def __init__(self, n_inputs: int, *, seed: int = 0, **hyperparameters) -> None:
        super().__init__(n_inputs, seed=seed, **hyperparameters)
        hp = self._hyperparameters
        self._config = ColumnNetworkConfig(
            n_inputs=self.n_inputs, features_per_stage=hp["features_per_stage"],
            n_stages=hp["n_features"] // hp["features_per_stage"], steps_per_stage=hp["steps_per_stage"],
            optimizer=optimizer_code(hp["optimizer"]), norm_floor=normalisation.floor_code(hp["norm_floor"]),
            released_output_step=hp["output_step_size"] == "released",
            exact_gradient=hp["normalisation_gradient"] == "exact",
            alpha=hp["alpha"], lam=hp["lam"], norm_beta=hp["norm_beta"], norm_eps=hp["norm_eps"])
        self._arrays = self._initial_arrays()

    @classmethod
    def _stage_shape(cls, n_features, features_per_stage, steps_per_stage) -> tuple:
        """(features_per_stage, steps_per_stage) as given, None meaning one stage / one step."""
        return (n_features if features_per_stage is None else features_per_stage,
                1 if steps_per_stage is None else steps_per_stage)

    @classmethod
    def _checked(cls, hp: dict[str, Any]) -> dict[str, Any]:
        """The hyperparameters ``hp`` checked and converted to plain values (the same keys)."""
        n_features = positive_int("n_features", hp["n_features"])
        features_per_stage, steps_per_stage = cls._stage_shape(n_features, hp["features_per_stage"],
                                                               hp["steps_per_stage"])
        positive_int("features_per_stage", features_per_stage)
        positive_int("steps_per_stage", steps_per_stage)
        if n_features % features_per_stage:
            raise ValueError(f"n_features={n_features} must be a multiple of features_per_stage={features_per_stage}")
        normalisation.check_norm_args(hp["norm_beta"], hp["norm_eps"])
        optimizer_code(hp["optimizer"])
        normalisation.floor_code(hp["norm_floor"])
        return {
            "alpha": step_size(hp["alpha"]), "lam": unit_interval("lam (trace decay lambda)", hp["lam"]),
            "optimizer": hp["optimizer"], "n_features": n_features,
            "features_per_stage": int(features_per_stage), "steps_per_stage": int(steps_per_stage),
            "norm_beta": float(hp["norm_beta"]), "norm_eps": float(hp["norm_eps"]),
            "norm_floor": hp["norm_floor"],
            "init_scale": positive_float("init_scale", hp["init_scale"]),
            "output_step_size": choice("output_step_size", hp["output_step_size"], OUTPUT_STEP_SIZES),
            "normalisation_gradient": choice(
                "normalisation_gradient", hp["normalisation_gradient"], NORMALISATION_GRADIENTS,
                hint=" ('stop': the statistics are constants in the gradient, as in the paper; 'exact': "
                     "differentiate through them)"),
        }

    # ------------------------------------------------------------------ layout
    @property
    def n_stages(self) -> int:
        return self._config.n_stages

    @property
    def stage(self) -> int:
        """The stage now learning (0-based)."""
        return int(self._arrays.counters[STAGE])

    @property
    def steps_done(self) -> int:
        return int(self._arrays.counters[STEPS_DONE])

    def stage_inputs(self, stage: int) -> int:
        """Inputs of a column of ``stage``: the observation plus every earlier feature."""
        return self.n_inputs + stage * self._hyperparameters["features_per_stage"]

    def stage_slice(self, stage: int) -> slice:
        """Where the parameters of ``stage``'s columns sit in ``parameters()["columns"]``."""
        offsets = self._stage_offsets
        return slice(int(offsets[stage]), int(offsets[stage + 1]))

    def _initial_arrays(self) -> ColumnNetworkState:
        """Fresh arrays (see :class:`ColumnNetworkState`), every stage's columns drawn from the seed,
        stage 0 begun."""
        per_stage, n_features, n_stages = self._config.features_per_stage, self._hyperparameters["n_features"], \
            self.n_stages
        sizes = [per_stage * int(lstm_column.block_size(self.stage_inputs(s))) for s in range(n_stages)]
        self._stage_offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        block, m_max = max(sizes), self.stage_inputs(n_stages - 1)
        n_exact = block if self._config.exact_gradient else 0  # TM, TV: only "exact" carries them
        rng = np.random.default_rng(self.seed)
        scale = self._hyperparameters["init_scale"]
        arrays = ColumnNetworkState(
            theta=rng.uniform(-scale, scale, int(self._stage_offsets[-1])),
            packed=np.zeros((n_features, lstm_column.N_GATES, m_max + 2)),
            out_w=np.zeros(1 + n_features), h=np.zeros(n_features), c=np.zeros(n_features),
            raw=np.zeros(m_max), z=np.zeros(m_max + 2),
            in_mu=np.zeros((n_stages, m_max)), in_var=np.ones((n_stages, m_max)), in_inv=np.ones((n_stages, m_max)),
            out_mu=np.zeros(n_features), out_var=np.ones(n_features), h_hat=np.zeros(n_features),
            records=np.zeros((n_features, lstm_column.RECORD_SIZE)),
            th=np.zeros(block), tc=np.zeros(block), tm=np.zeros(n_exact), tv=np.zeros(n_exact),
            grad_c=np.zeros(block), grad_o=np.zeros(1 + n_features), e_c=np.zeros(block), e_o=np.zeros(1 + n_features),
            v_c=np.ones(block), v_o=np.ones(1 + n_features),
            alpha=np.full(2, self._hyperparameters["alpha"]),
            counters=np.zeros(2, dtype=np.int64), y_prev=np.zeros(1),
        )
        _begin_stage(0, self._config, self._stage_offsets, arrays)
        return arrays

    # -------------------------------------------------------------- learning
    def _run_rows(self, obs, cumulant, gamma, predictions, first: bool) -> None:
        obgd_kappa = OBGD_KAPPA if self._config.optimizer == OBGD else None  # None: no ObGD code compiled in
        _run_kernel(obs, cumulant, gamma, predictions, first, self._config, self._stage_offsets, self._arrays,
                    obgd_kappa)

    # ------------------------------------------------------------ inspection
    def parameters(self) -> dict[str, np.ndarray]:
        """Copies of the parameters: ``columns`` (every stage's column blocks, see
        :meth:`stage_slice`) and ``output`` (``[b, w_0, ..., w_{n_features-1}]``)."""
        return {"columns": self._arrays.theta.copy(), "output": self._arrays.out_w.copy()}

    def prediction_gradient(self) -> dict[str, np.ndarray]:
        """d y_t / d theta for the last prediction, over the parameters that learn now:
        ``columns`` (float64 matching ``parameters()["columns"][stage_slice(stage)]``) and
        ``output`` (``[b, w_0, ...]`` for the features built so far)."""
        n_block = self.stage_slice(self.stage).stop - self.stage_slice(self.stage).start
        n_out = 1 + (self.stage + 1) * self._hyperparameters["features_per_stage"]
        return {"columns": self._arrays.grad_c[:n_block].copy(), "output": self._arrays.grad_o[:n_out].copy()}

    def features(self) -> np.ndarray:
        """The raw features h_t (float64[n_features]; 0 for columns not built yet)."""
        return self._arrays.h.copy()



class ColumnarLearner(ColumnNetworkLearner):
    """Columnar network: every column learns at once in a single stage (default 5 columns)."""

    name = "columnar"
    defaults = {**HYPERPARAMETERS, "n_features": 5, "features_per_stage": None, "steps_per_stage": None}

    @classmethod
    def _stage_shape(cls, n_features, features_per_stage, steps_per_stage) -> tuple:
        if features_per_stage is not None and features_per_stage != n_features:
            raise ValueError(f"a columnar network has one stage: features_per_stage must equal n_features "
                             f"({n_features}) or be left out, got {features_per_stage!r}; use 'ccn' for stages")
        return super()._stage_shape(n_features, n_features, steps_per_stage)


class ConstructiveLearner(ColumnNetworkLearner):
    """Constructive network: one new column per stage (default 10 columns, 5M steps each)."""

    name = "constructive"
    defaults = {**HYPERPARAMETERS, "n_features": 10, "features_per_stage": 1, "steps_per_stage": 5_000_000}

    @classmethod
    def _stage_shape(cls, n_features, features_per_stage, steps_per_stage) -> tuple:
        if features_per_stage != 1:
            raise ValueError(f"a constructive network learns one feature per stage: features_per_stage must be 1, "
                             f"got {features_per_stage!r}; use 'ccn' for more")
        return super()._stage_shape(n_features, 1, steps_per_stage)


class CCNLearner(ColumnNetworkLearner):
    """Constructive-columnar network (default 20 columns, 4 per stage, 10M steps per stage)."""

    name = "ccn"


# --------------------------------------------------------------------------- compiled loop
@nb.njit(cache=True)
def _begin_stage(stage, config, stage_off, arrays):
    """Fresh columns for ``stage``: zero state, fresh statistics, zero traces. The stage
    before freezes: its input statistics become fixed and are folded, with its weights,
    into the packed copy the forward pass of frozen columns reads (:func:`lstm_column.pack_stage`).
    ``config``: :class:`ColumnNetworkConfig`; ``arrays``: :class:`ColumnNetworkState`."""
    per_stage = config.features_per_stage
    in_mu, in_var, in_inv = arrays.in_mu, arrays.in_var, arrays.in_inv
    if stage > 0:
        m = config.n_inputs + (stage - 1) * per_stage
        normalisation.inverse_scales(in_var[stage - 1], in_inv[stage - 1], m, config.norm_eps, config.norm_floor)
        size = per_stage * lstm_column.block_size(m)
        start = stage_off[stage - 1]
        frozen = arrays.theta[start:start + size].reshape((per_stage, lstm_column.N_GATES, m + 2))
        lstm_column.pack_stage(frozen, arrays.packed, (stage - 1) * per_stage, m, per_stage, in_mu[stage - 1],
                               in_inv[stage - 1])
    for k in range(stage * per_stage, (stage + 1) * per_stage):
        arrays.h[k] = 0.0
        arrays.c[k] = 0.0
        arrays.out_mu[k] = 0.0
        arrays.out_var[k] = 1.0
    in_mu[stage, :] = 0.0
    in_var[stage, :] = 1.0
    arrays.th[:] = 0.0
    arrays.tc[:] = 0.0
    arrays.tm[:] = 0.0
    arrays.tv[:] = 0.0
    arrays.e_c[:] = 0.0
    arrays.v_c[:] = 1.0
    if config.released_output_step:
        arrays.alpha[ALPHA_OUTPUT] = config.alpha / ((stage + 1) * per_stage)


@nb.njit(cache=True)
def _stage_views(stage, config, stage_off, arrays):
    """The learning stage's parameters, flat (float64[size]), and its parameters and
    traces as (features_per_stage, N_GATES, inputs + 2) views (see
    :func:`lstm_column.column_traces`): theta_flat, theta, TH, TC, TM, TV, grad."""
    per_stage = config.features_per_stage
    ng = config.n_inputs + stage * per_stage + 2
    size = per_stage * lstm_column.N_GATES * ng
    shape = (per_stage, lstm_column.N_GATES, ng)
    theta_flat = arrays.theta[stage_off[stage]:stage_off[stage] + size]
    n_extra = size if config.exact_gradient else 0  # TM, TV exist only for "exact"
    extra = (per_stage, lstm_column.N_GATES, ng if n_extra else 0)
    return (theta_flat, theta_flat.reshape(shape), arrays.th[:size].reshape(shape), arrays.tc[:size].reshape(shape),
            arrays.tm[:n_extra].reshape(extra), arrays.tv[:n_extra].reshape(extra),
            arrays.grad_c[:size].reshape(shape))


@nb.njit(cache=True, error_model="numpy")  # IEEE division (no zero check) in the inlined kernels: loops vectorise
def _run_kernel(obs, cumulant, gamma, predictions, first, config, stage_off, arrays, obgd_kappa):
    """Learn from the rows of a chunk in order, writing the prediction made at each into
    ``predictions`` (float64[T]); ``first``: the first row is x_0 of a new stream.
    ``config``: :class:`ColumnNetworkConfig`; ``stage_off``: int64[n_stages + 1], where each
    stage's parameters start in ``arrays.theta``; ``arrays``: :class:`ColumnNetworkState`;
    ``obgd_kappa``: ObGD's kappa, or None for the other optimisers (numba then prunes the ObGD
    branch at compile time, so the SGD and RMSProp kernels are compiled as without it)."""
    n_in, per_stage, n_stages = config.n_inputs, config.features_per_stage, config.n_stages
    steps_per_stage, optimizer, floor, exact = (config.steps_per_stage, config.optimizer, config.norm_floor,
                                                config.exact_gradient)
    lam, beta, eps = config.lam, config.norm_beta, config.norm_eps
    packed, out_w, h, c, raw, z = arrays.packed, arrays.out_w, arrays.h, arrays.c, arrays.raw, arrays.z
    in_mu, in_var, out_mu, out_var, h_hat = arrays.in_mu, arrays.in_var, arrays.out_mu, arrays.out_var, arrays.h_hat
    records, th, tc, grad_c, grad_o = arrays.records, arrays.th, arrays.tc, arrays.grad_c, arrays.grad_o
    e_c, e_o, v_c, v_o = arrays.e_c, arrays.e_o, arrays.v_c, arrays.v_o
    alpha, counters, y_prev = arrays.alpha, arrays.counters, arrays.y_prev
    stage = counters[STAGE]
    (stage_theta_flat, stage_theta, stage_th, stage_tc, stage_tm, stage_tv,
     stage_grad) = _stage_views(stage, config, stage_off, arrays)
    stage_in_mu, stage_in_var = in_mu[stage], in_var[stage]
    for row in range(obs.shape[0]):
        is_first = first and row == 0
        if stage < n_stages - 1 and counters[STEPS_DONE] >= (stage + 1) * steps_per_stage:
            stage += 1
            counters[STAGE] = stage
            _begin_stage(stage, config, stage_off, arrays)
            (stage_theta_flat, stage_theta, stage_th, stage_tc, stage_tm, stage_tv,
             stage_grad) = _stage_views(stage, config, stage_off, arrays)
            stage_in_mu, stage_in_var = in_mu[stage], in_var[stage]
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
        normalisation.update_normalise(stage_in_mu, stage_in_var, raw, z, m, beta, eps, floor)
        k0 = stage * per_stage
        for col in range(per_stage):
            k = k0 + col
            h[k], c[k] = lstm_column.column_forward(stage_theta, col, m, z, h[k], c[k], records, k)
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
            lstm_column.column_traces(stage_theta, col, m, z, records, k, stage_th, stage_tc, stage_tm, stage_tv,
                                      stage_grad, exact, beta, centred, p_coef, q_coef)
        if obgd_kappa is not None:  # (pruned for None) one bound over both spans: SGD with obgd_delta
            if step_rule == OBGD:
                alpha_l1 = (alpha[ALPHA_COLUMNS] * trace_l1(e_c, stage_theta_flat.shape[0], 0.0)
                            + alpha[ALPHA_OUTPUT] * trace_l1(e_o, 1 + n_built, 0.0))
                step_rule, delta = SGD, obgd_delta(delta, alpha_l1, obgd_kappa, 1.0)
        update_then_accumulate(stage_theta_flat, e_c, grad_c, stage_theta_flat.shape[0], delta, alpha[ALPHA_COLUMNS],
                               decay, step_rule, v_c, RMSPROP_BETA2, RMSPROP_EPS)
        grad_o[0] = 1.0
        for k in range(n_built):
            grad_o[1 + k] = h_hat[k]
        update_then_accumulate(out_w, e_o, grad_o, 1 + n_built, delta, alpha[ALPHA_OUTPUT], decay, step_rule, v_o,
                               RMSPROP_BETA2, RMSPROP_EPS)
        y_prev[0] = y
        counters[STEPS_DONE] += 1
