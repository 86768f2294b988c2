"""The paper's methods as :class:`Method` objects, built from the settings in :mod:`.paper`."""
from __future__ import annotations

from rtrlbench.agents import learner_flops as flops
from rtrlbench.benchmarks.experiments import paper
from rtrlbench.sweep.experiment_definition import Method

CCN_FEATURES_PER_STAGE = 4  # the paper's trace-patterning CCN (20:4)
LRU_WIDTH = 6               # the online LRU's default width (docs/learners.md)


def proposed_methods(arch: dict) -> list[Method]:
    """Columnar, constructive and CCN with architecture ``arch`` (``paper.TRACE_ARCH`` or ``ATARI_ARCH``),
    tuning step-size and normalisation epsilon."""
    return [Method(paper.LABELS[name], name, fixed={"lam": paper.LAMBDA, **arch[name]},
                   grid={"alpha": paper.ALPHA_CCN, "norm_eps": paper.NORM_EPS}, scaled=("steps_per_stage",))
            for name in ("columnar", "constructive", "ccn")]


def best_tbptt(pairs) -> Method:
    """T-BPTT tuned over step-size and the equal-compute (truncation, hidden) pairs."""
    return Method("T-BPTT", "tbptt", fixed={"lam": paper.LAMBDA}, grid={"alpha": paper.ALPHA_TBPTT},
                  variants=[{"truncation": k, "n_hidden": d} for k, d in pairs])


def tbptt(hidden: int, truncation: int) -> Method:
    """T-BPTT with a fixed architecture, tuning only the step-size."""
    return Method(paper.tbptt_label(hidden, truncation), "tbptt",
                  fixed={"lam": paper.LAMBDA, "n_hidden": hidden, "truncation": truncation},
                  grid={"alpha": paper.ALPHA_TBPTT})


#: Step sizes of the learners the paper did not run (T-BPTT's grid: RMSProp, like every learner here).
ALPHA_FIELD = paper.ALPHA_TBPTT


def equal_flop_methods(n_inputs: int, budget: int, truncations, steps: int = paper.STEPS) -> list[Method]:
    """Columnar, CCN, T-BPTT and the field's exact RTRL learners (RTU linear and non-linear, online LRU,
    eLSTM), each the largest of its kind within ``budget`` FLOPs per step on ``n_inputs`` inputs
    (:mod:`rtrlbench.agents.learner_flops`), with the paper's grids for the paper's methods and
    :data:`ALPHA_FIELD` for the others.

    CCN keeps the paper's 4 features per stage, with stages of ``steps / n_stages`` so that the last
    stage ends with the run; T-BPTT is tuned over the equal-FLOP pairs at ``truncations``; the LRU's
    width is the one whose largest fitting network is closest to its default shape (width 6).
    """
    u, n_ccn = next((u, n) for u, n in flops.ccn_configs(n_inputs, budget) if u == CCN_FEATURES_PER_STAGE)
    ccn_fixed = {"n_features": n_ccn, "features_per_stage": u, "steps_per_stage": steps // (n_ccn // u)}
    normalised = {"alpha": paper.ALPHA_CCN, "norm_eps": paper.NORM_EPS}
    width, units = next((h, n) for h, n in flops.lru_configs(n_inputs, budget, widths=(LRU_WIDTH,)))
    pairs = dict(flops.tbptt_configs(n_inputs, budget, truncations=truncations))
    sized = {"Columnar": ("columnar", {"n_features": flops.columnar_features(n_inputs, budget)}),
             "RTU (linear)": ("rtu_linear", {"n_units": flops.rtu_units(n_inputs, budget, "rtu_linear")}),
             "RTU (non-linear)": ("rtu_nonlinear", {"n_units": flops.rtu_units(n_inputs, budget, "rtu_nonlinear")}),
             "Online LRU": ("lru", {"n_hidden": units, "n_model": width}),
             "eLSTM": ("elstm", {"n_units": flops.elstm_units(n_inputs, budget)})}
    lam = {"lam": paper.LAMBDA}
    return [Method("Columnar", "columnar", fixed={**lam, **sized["Columnar"][1]}, grid=normalised),
            Method("CCN", "ccn", fixed={**lam, **ccn_fixed}, grid=normalised, scaled=("steps_per_stage",)),
            Method("T-BPTT", "tbptt", fixed=lam, grid={"alpha": paper.ALPHA_TBPTT},
                   variants=[{"truncation": k, "n_hidden": d} for k, d in pairs.items()]),
            *[Method(label, learner, fixed={**lam, **size}, grid={"alpha": ALPHA_FIELD})
              for label, (learner, size) in sized.items() if label != "Columnar"],
            *dense_approximation_methods(n_inputs, budget)]


def dense_approximation_methods(n_inputs: int, budget: int) -> list[Method]:
    """Dense networks trained by exact or approximate RTRL, each the largest within ``budget``: the LSTM
    with exact RTRL, SnAp-1 and UORO; the tanh RNN with exact RTRL, UORO and RFLO (random feedback);
    and SwiftTD, the linear learner on the inputs (its own step-size adaptation, package defaults)."""
    lstm = {"LSTM RTRL (exact)": ("lstm_rtrl", flops.lstm_rtrl_hidden(n_inputs, budget)),
            "SnAp-1": ("snap1", flops.snap1_hidden(n_inputs, budget)),
            "UORO": ("uoro", flops.uoro_hidden(n_inputs, budget))}
    rnn = {label: (name, flops.tanh_rnn_hidden(name, n_inputs, budget))
           for label, name in (("tanh RNN RTRL (exact)", "rnn_rtrl"), ("tanh RNN UORO", "rnn_uoro"), ("RFLO", "rflo"))}
    return [*[Method(label, learner, fixed={"lam": paper.LAMBDA, "n_hidden": hidden}, grid={"alpha": ALPHA_FIELD})
              for label, (learner, hidden) in {**lstm, **rnn}.items() if hidden > 0],
            Method("SwiftTD (linear)", "swifttd")]

