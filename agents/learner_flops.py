"""Floating-point operations per step of each learner, by the estimates of Javed et al.
(2023), Appendix A, and the configurations that fit a compute budget.

With |x| inputs, |h| features, truncation k and u features per stage:

* dense LSTM forward:       4|h|^2 + 4|h||x| + 4|h|
* T-BPTT:                   (k + 1) (4|h|^2 + 4|h||x| + 4|h|)
* columnar:                 |h| (4|x| + 8) + 6 |h| (4|x| + 8)
* CCN:                      |h| (2|h| + 4|x| + 4) + 6 u (2|h| + 4|x| + 4)
* constructive:             CCN with u = 1
* dense-LSTM RTRL:          4|h|^2 + 4|h||x| + 4|h| + (4|h|^2 + 7|h|) P_r,  P_r = 4|h|(|x| + |h| + 1)
  (the forward pass; then per recurrent parameter: U Jh, 4|h|^2; the Jc and Jh updates, 4 and 2
  multiply-adds per unit; w^T Jh, |h|. Our count, in the paper's unit of one multiply-add per
  FLOP and, like its T-BPTT formula, without the per-parameter update; the paper gives none)
* SnAp-1 (same LSTM):       4|h|^2 + 4|h||x| + 4|h| + 11 P_r
  (per recurrent parameter: its 4 gate pre-activation sensitivities, the Jc and Jh updates
  (4 and 2) and its gradient (1); our count)
* UORO (same LSTM):         4|h|^2 + 4|h||x| + 4|h| + 4|h|^2 + 40|h| + 6 P_r
  (the tangent U u_h and the unit updates; per recurrent parameter |theta_tilde|^2, its update
  (2), the gradient estimate (1) and the norms (2); our count)
* tanh RNN forward (d units, leak): d(|x| + d + 3)     (W x + U h; tanh, leak and readout per unit)
* tanh-RNN RTRL:            forward + (d^2 + 3d) P_r,  P_r = d(|x| + d + 1)
  (per recurrent parameter: U J, d^2; the leaky J update, 2 per unit; w^T J, d; our count)
* RFLO (same RNN):          forward + 3 P_r    (per recurrent parameter: its eligibility (2), its gradient (1))
* UORO (same RNN):          forward + d^2 + 10d + 6 P_r   (the tangent U u; unit updates; per recurrent
  parameter as UORO over the LSTM)
* SwiftTD (linear, n = |x| features): 33 |x| + 5    (per feature: the true-online weight step 3, the
  meta update of beta 5 (exp and division counted as one each), the h's 6, the trace decays 3, the
  rate of learning, z . phi and V_delta 4, the new traces 12; the prediction; our count)
* RTU, linear:              n (15|x| + 52) + 3      (n complex units, counted from our kernel)
* RTU, non-linear:          n (24|x| + 56) + 3
* online LRU (N complex units, width H, GELU + GLU; :func:`lru_flops` for the other mixings):
                            18 N|x| + 36 N + 14 H N + 6 H|x| + 14 H^2 + 13 H + 4
* eLSTM (d units, output gate; :func:`elstm_flops` without it): 24 d|x| + 7 d^2 + 62 d + 4

The paper's budgets: about 4,000 FLOPs per step on trace patterning and 50,000 on Atari
(``PAPER_BUDGETS``). These are the paper's rough estimates, not measured counts.
"""
from __future__ import annotations

from rtrlbench.validation import positive_int

PAPER_BUDGETS = {"trace": 4_000, "atari": 50_000}


def lstm_forward_flops(n_inputs: int, n_hidden: int) -> int:
    """One forward step of a dense LSTM with ``n_hidden`` units."""
    return 4 * n_hidden**2 + 4 * n_hidden * n_inputs + 4 * n_hidden


def tbptt_flops(n_inputs: int, n_hidden: int, truncation: int) -> int:
    """T-BPTT: a forward step plus a ``truncation``-step backward pass."""
    return (truncation + 1) * lstm_forward_flops(n_inputs, n_hidden)


def columnar_flops(n_inputs: int, n_features: int) -> int:
    """Columnar network: every column runs forward and learns (RTRL ~6x the forward)."""
    return 7 * n_features * (4 * n_inputs + 8)


def ccn_flops(n_inputs: int, n_features: int, features_per_stage: int) -> int:
    """CCN: all columns forward (each reading |h|/2 features on average), one stage learning."""
    per_column = 2 * n_features + 4 * n_inputs + 4
    return n_features * per_column + 6 * features_per_stage * per_column


def constructive_flops(n_inputs: int, n_features: int) -> int:
    return ccn_flops(n_inputs, n_features, 1)


def lstm_rtrl_flops(n_inputs: int, n_hidden: int) -> int:
    """Dense-LSTM RTRL: a forward step plus the influence-matrix update (see the module docstring)."""
    recurrent = 4 * n_hidden * (n_inputs + n_hidden + 1)
    return lstm_forward_flops(n_inputs, n_hidden) + (4 * n_hidden**2 + 7 * n_hidden) * recurrent


def lstm_rtrl_hidden(n_inputs: int, budget: int) -> int:
    """The most hidden units whose dense-LSTM RTRL fits ``budget`` FLOPs per step (0 if none)."""
    return _largest(lambda d: lstm_rtrl_flops(n_inputs, d), budget, step=1)


def snap1_flops(n_inputs: int, n_hidden: int) -> int:
    """SnAp-1 over the dense LSTM: a forward step plus 11 FLOPs per recurrent parameter."""
    return lstm_forward_flops(n_inputs, n_hidden) + 11 * 4 * n_hidden * (n_inputs + n_hidden + 1)


def snap1_hidden(n_inputs: int, budget: int) -> int:
    """The most hidden units whose SnAp-1 fits ``budget`` FLOPs per step (0 if none)."""
    return _largest(lambda d: snap1_flops(n_inputs, d), budget, step=1)


def uoro_flops(n_inputs: int, n_hidden: int) -> int:
    """UORO over the dense LSTM: a forward step, the tangent, and 6 FLOPs per recurrent parameter."""
    return (lstm_forward_flops(n_inputs, n_hidden) + 4 * n_hidden**2 + 40 * n_hidden
            + 6 * 4 * n_hidden * (n_inputs + n_hidden + 1))


def uoro_hidden(n_inputs: int, budget: int) -> int:
    """The most hidden units whose UORO fits ``budget`` FLOPs per step (0 if none)."""
    return _largest(lambda d: uoro_flops(n_inputs, d), budget, step=1)


def tanh_rnn_flops(name: str, n_inputs: int, n_hidden: int) -> int:
    """The tanh-RNN learners ``name`` ("rnn_rtrl", "rnn_uoro" or "rflo"): see the module docstring."""
    d = n_hidden
    forward, recurrent = d * (n_inputs + d + 3), d * (n_inputs + d + 1)
    extra = {"rnn_rtrl": (d * d + 3 * d) * recurrent, "rflo": 3 * recurrent,
             "rnn_uoro": d * d + 10 * d + 6 * recurrent}
    if name not in extra:
        raise ValueError(f"no tanh-RNN learner {name!r}; known: {', '.join(extra)}")
    return forward + extra[name]


def tanh_rnn_hidden(name: str, n_inputs: int, budget: int) -> int:
    """The most units whose tanh-RNN learner ``name`` fits ``budget`` FLOPs per step (0 if none)."""
    positive_int("n_inputs", n_inputs)
    return _largest(lambda d: tanh_rnn_flops(name, n_inputs, d), budget, step=1)


def swifttd_flops(n_inputs: int) -> int:
    """SwiftTD over ``n_inputs`` features (module docstring)."""
    return 33 * positive_int("n_inputs", n_inputs) + 5


def rtu_flops(n_inputs: int, n_units: int, nonlinear: bool) -> int:
    """Recurrent Trace Units, one multiply-add = 1 as above, per unit: 2|x| input projection,
    then per input weight pair the sensitivities (linear 5 |x|: S^W2 is J S^W1; non-linear 14 |x|:
    four sensitivities times f'), the gradient (4 |x|) and trace and update (2 per parameter:
    4 |x| + 8); plus about 44 (linear) / 48 (non-linear) for r, theta, eta and their derivatives
    (six transcendentals counted as one each), the rotation, activation, nu/theta sensitivities and
    output; 3 for the output bias."""
    per_unit = 24 * n_inputs + 56 if nonlinear else 15 * n_inputs + 52
    return n_units * per_unit + 3


def rtu_units(n_inputs: int, budget: int, name: str = "rtu_linear") -> int:
    """Largest number of units of RTU ``name`` ("rtu_linear" or "rtu_nonlinear") fitting ``budget`` (0 if none)."""
    positive_int("n_inputs", n_inputs)
    nonlinear = {"rtu_linear": False, "rtu_nonlinear": True}[name]
    return _largest(lambda n: rtu_flops(n_inputs, n, nonlinear), budget, step=1)
def lru_parameters(n_inputs: int, n_hidden: int, n_model: int, mixing: str = "full_glu") -> int:
    """Parameters of the online LRU: nu, theta, gamma (3N), B (2N|x|), C (2HN), D (H|x|), GLU, readout."""
    glu = 2 * n_model**2 + 2 * n_model if mixing == "full_glu" else 0
    return 2 * n_hidden * n_inputs + 3 * n_hidden + 2 * n_model * n_hidden + n_model * n_inputs + glu + n_model + 1


def lru_flops(n_inputs: int, n_hidden: int, n_model: int, mixing: str = "full_glu") -> int:
    """Online LRU, counted from its kernel (one FLOP per multiply-add; a complex product 4):
    forward 6N|x| (B x and the input trace E) + 12N (h, S^lam, S^gam) + 2HN + H|x| (z) + 2H^2 (GLU) + H;
    gradient 4N|x| (B) + 12N + 4HN (C and q = C^T r) + H|x| (D) + 4H^2 (GLU); TD step 4 per parameter."""
    glu = 6 * n_model**2 if mixing == "full_glu" else 0
    forward_and_gradient = (10 * n_hidden * n_inputs + 24 * n_hidden + 6 * n_model * n_hidden
                            + 2 * n_model * n_inputs + glu + n_model)
    return forward_and_gradient + 4 * lru_parameters(n_inputs, n_hidden, n_model, mixing)


def elstm_flops(n_inputs: int, n_units: int, output_gate: bool = True) -> int:
    """eLSTM, counted from its kernel (one FLOP per multiply-add): forward 2d|x| + 17d (gates, cell,
    readout), sensitivities 3 per recurrent parameter (2d|x| + 4d of them), gradient 1 per recurrent
    parameter; the output gate d|x| + d^2 + 2d forward and d|x| + 2d^2 + 4d backward; TD step 4 per
    parameter."""
    d, n = n_units, n_inputs
    recurrent = 2 * d * n + 4 * d
    gate_forward = d * n + d * d + 2 * d if output_gate else 0
    gate_backward = d * n + 2 * d * d + 4 * d if output_gate else 0
    parameters = recurrent + (d * n + d * d + d if output_gate else 0) + d + 1
    return 2 * d * n + 15 * d + gate_forward + 3 * recurrent + recurrent + d + gate_backward + 4 * parameters


def flops_per_step(name: str, n_inputs: int, **hyperparameters) -> int:
    """FLOPs per step of a registered learner with the given (or default) hyperparameters."""
    from rtrlbench.agents.registry import make_learner

    learner = make_learner(name, n_inputs, **hyperparameters)
    hp = learner.hyperparameters()
    if name in ("rtu_linear", "rtu_nonlinear"):
        return rtu_flops(n_inputs, hp["n_units"], name == "rtu_nonlinear")
    if name == "columnar":
        return columnar_flops(n_inputs, hp["n_features"])
    if name in ("constructive", "ccn"):
        return ccn_flops(n_inputs, hp["n_features"], hp["features_per_stage"])
    if name == "tbptt":
        return tbptt_flops(n_inputs, hp["n_hidden"], hp["truncation"])
    if name == "lstm_rtrl":
        return lstm_rtrl_flops(n_inputs, hp["n_hidden"])
    if name == "snap1":
        return snap1_flops(n_inputs, hp["n_hidden"])
    if name == "uoro":
        return uoro_flops(n_inputs, hp["n_hidden"])
    if name in ("rnn_rtrl", "rnn_uoro", "rflo"):
        return tanh_rnn_flops(name, n_inputs, hp["n_hidden"])
    if name in ("swifttd", "swifttd_package"):
        return swifttd_flops(n_inputs)
    if name == "lru":
        return lru_flops(n_inputs, hp["n_hidden"], hp["n_model"], hp["mixing"])
    if name == "elstm":
        return elstm_flops(n_inputs, hp["n_units"], hp["output_gate"])
    raise ValueError(f"no FLOP estimate for learner {name!r}; known: columnar, constructive, ccn, tbptt, lstm_rtrl, "
                     "snap1, uoro, rnn_rtrl, rnn_uoro, rflo, swifttd, rtu_linear, rtu_nonlinear, lru, elstm")


def tbptt_configs(n_inputs: int, budget: int, truncations=range(1, 51)) -> list[tuple[int, int]]:
    """(truncation k, hidden d) pairs with the largest d whose T-BPTT fits ``budget``
    (truncations where not even one unit fits are left out)."""
    positive_int("n_inputs", n_inputs)
    pairs = []
    for k in truncations:
        d = _largest(lambda d: tbptt_flops(n_inputs, d, k), budget, step=1)
        if d:
            pairs.append((k, d))
    return pairs


def ccn_configs(n_inputs: int, budget: int, features_per_stage=range(1, 11)) -> list[tuple[int, int]]:
    """(features_per_stage u, n_features) pairs with the largest multiple of u fitting ``budget``."""
    positive_int("n_inputs", n_inputs)
    pairs = []
    for u in features_per_stage:
        n = _largest(lambda n: ccn_flops(n_inputs, n, min(u, n)), budget, step=u)
        if n:
            pairs.append((u, n))
    return pairs


def columnar_features(n_inputs: int, budget: int) -> int:
    """Largest columnar network fitting ``budget`` (0 if none)."""
    return _largest(lambda n: columnar_flops(n_inputs, n), budget, step=1)


def lru_configs(n_inputs: int, budget: int, widths=range(1, 33), mixing: str = "full_glu") -> list[tuple[int, int]]:
    """(width H, units N) pairs with the largest N whose online LRU fits ``budget`` (widths where
    not even one unit fits are left out)."""
    positive_int("n_inputs", n_inputs)
    pairs = []
    for h in widths:
        n = _largest(lambda n: lru_flops(n_inputs, n, h, mixing), budget, step=1)
        if n:
            pairs.append((h, n))
    return pairs


def elstm_units(n_inputs: int, budget: int, output_gate: bool = True) -> int:
    """Largest eLSTM fitting ``budget`` (0 if none)."""
    return _largest(lambda d: elstm_flops(n_inputs, d, output_gate), budget, step=1)


def _largest(cost, budget: int, step: int) -> int:
    """Largest multiple n of ``step`` with cost(n) <= budget (costs grow with n); 0 if none."""
    n = 0
    while cost(n + step) <= budget:
        n += step
    return n


def budget_table(n_inputs: int, budget: int) -> str:
    """Markdown table of the configurations of every learner that fit ``budget``."""
    lines = [f"Configurations within {budget:,} FLOPs per step, {n_inputs} inputs (Appendix A estimates)", "",
             "| learner | configuration | FLOPs/step |", "|---|---|---:|"]
    n = columnar_features(n_inputs, budget)
    if n:
        lines.append(f"| columnar | {n} features | {columnar_flops(n_inputs, n):,} |")
    for u, n in ccn_configs(n_inputs, budget):
        name = "constructive" if u == 1 else "ccn"
        lines.append(f"| {name} | {n} features, {u} per stage | {ccn_flops(n_inputs, n, u):,} |")
    for k, d in tbptt_configs(n_inputs, budget):
        lines.append(f"| tbptt | truncation {k}, {d} hidden | {tbptt_flops(n_inputs, d, k):,} |")
    d = lstm_rtrl_hidden(n_inputs, budget)
    if d:
        lines.append(f"| lstm_rtrl | {d} hidden | {lstm_rtrl_flops(n_inputs, d):,} |")
    d = snap1_hidden(n_inputs, budget)
    if d:
        lines.append(f"| snap1 | {d} hidden | {snap1_flops(n_inputs, d):,} |")
    d = uoro_hidden(n_inputs, budget)
    if d:
        lines.append(f"| uoro | {d} hidden | {uoro_flops(n_inputs, d):,} |")
    for name in ("rnn_rtrl", "rnn_uoro", "rflo"):
        if d := tanh_rnn_hidden(name, n_inputs, budget):
            lines.append(f"| {name} | {d} hidden | {tanh_rnn_flops(name, n_inputs, d):,} |")
    for name in ("rtu_linear", "rtu_nonlinear"):
        if units := rtu_units(n_inputs, budget, name):
            flops = rtu_flops(n_inputs, units, name == "rtu_nonlinear")
            lines.append(f"| {name} | {units} units | {flops:,} |")
    for h, n in lru_configs(n_inputs, budget, widths=(2, 4, 6, 8, 12, 16)):
        lines.append(f"| lru | {n} units, width {h} | {lru_flops(n_inputs, n, h):,} |")
    d = elstm_units(n_inputs, budget)
    if d:
        lines.append(f"| elstm | {d} units | {elstm_flops(n_inputs, d):,} |")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(budget_table(7, PAPER_BUDGETS["trace"]))
    print()
    print(budget_table(276, PAPER_BUDGETS["atari"]))
