"""The paper's methods as :class:`Method` objects, built from the settings in :mod:`.paper`."""
from __future__ import annotations

from rtrlbench.benchmarks.experiments import paper
from rtrlbench.sweep.experiment_definition import Method


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
