"""The paper's experiments as sweeps, one module per experiment (each defines ``EXPERIMENT``).

Importing this package registers them, and the Williams-Zipser run kind ``"wz-criterion"``,
with the sweep machinery (:mod:`rtrlbench.sweep.sweep_registry`), which imports it through
the entry point ``rtrlbench.sweep`` of ``pyproject.toml``. ``rtrlbench sweep NAME`` runs one;
:func:`~rtrlbench.sweep.sweep_registry.get_experiment` loads it (experiment modules are
imported on first use). To add an experiment: write a module with an
:class:`~rtrlbench.sweep.experiment_definition.Experiment` named ``EXPERIMENT`` and list it in
:data:`EXPERIMENT_MODULES` (``"module:NAME"`` for another attribute of a module).
"""
from __future__ import annotations

from rtrlbench.sweep.sweep_registry import RunKind, register_experiment, register_run_kind

#: name -> module (in this package) defining ``EXPERIMENT``, or ``"module:ATTRIBUTE"``.
EXPERIMENT_MODULES: dict[str, str] = {
    "trace-fig4": "trace_fig4",
    "trace-fig5": "trace_fig5",
    "trace-fig6": "trace_fig6",
    "atari-fig8-9": "atari_fig8_9",
    "atari-fig11": "atari_fig11",
    "williams-zipser": "wz_experiments",
    "wz-pipelined-xor": "wz_experiments:PIPELINED_XOR",
    "leaderboard-trace": "leaderboard_trace",
    "leaderboard-atari": "leaderboard_atari",
    "smoke": "smoke",
    "race-trace-patterning": "equal_flop_race:PATTERNING",
    "race-trace-conditioning": "equal_flop_race:CONDITIONING",
    "race-noisy-patterning": "equal_flop_race:NOISY",
    "race-atari": "equal_flop_race:ATARI",
}

#: Williams-Zipser supervised training to a criterion; best success rate, then fewest steps.
_WZ = "rtrlbench.benchmarks.reproductions.wz_reproduction"
register_run_kind("wz-criterion", RunKind(f"{_WZ}:criterion_run", f"{_WZ}:select_by_success"))
for _name, _module in EXPERIMENT_MODULES.items():
    register_experiment(_name, f"{__name__}.{_module}" if ":" in _module else f"{__name__}.{_module}:EXPERIMENT")
