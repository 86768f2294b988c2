"""The paper's experiments as sweeps, one module per experiment (each defines ``EXPERIMENT``).

``rtrlbench sweep NAME`` runs one; :func:`get_experiment` loads it (modules are imported
on first use). To add an experiment: write a module with an
:class:`~rtrlbench.benchmarks.experiments.base.Experiment` named ``EXPERIMENT`` and list it here
(``"module:NAME"`` for another attribute of a module).
"""
from __future__ import annotations

from rtrlbench.benchmarks.experiments.base import Budget, Experiment, Method
from rtrlbench.sweep_runs import load

#: name -> module (in this package) defining ``EXPERIMENT``, or ``"module:ATTRIBUTE"``.
EXPERIMENTS: dict[str, str] = {
    "trace-fig4": "trace_fig4",
    "trace-fig5": "trace_fig5",
    "trace-fig6": "trace_fig6",
    "atari-fig8-9": "atari_fig8_9",
    "atari-fig11": "atari_fig11",
    "williams-zipser": "williams_zipser",
    "wz-pipelined-xor": "williams_zipser:PIPELINED_XOR",
    "leaderboard-trace": "leaderboard_trace",
    "leaderboard-atari": "leaderboard_atari",
    "smoke": "smoke",
}


def get_experiment(name: str) -> Experiment:
    try:
        module = EXPERIMENTS[name]
    except KeyError:
        raise ValueError(f"unknown experiment {name!r}; known experiments: {', '.join(EXPERIMENTS)}") from None
    return load(f"{__name__}.{module}" if ":" in module else f"{__name__}.{module}:EXPERIMENT")


__all__ = ["EXPERIMENTS", "Budget", "Experiment", "Method", "get_experiment"]
