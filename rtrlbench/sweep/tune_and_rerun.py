"""A paper experiment as a sweep: tune each method on a few seeds, pick the best, rerun it on all seeds.

    from rtrlbench.sweep.dask_engine import DaskEngine
    from rtrlbench.sweep.result_store import ResultStore
    from rtrlbench.sweep.sweep_registry import get_experiment
    from rtrlbench.sweep.tune_and_rerun import sweep, collect
    exp = get_experiment("trace-fig4")
    budget = exp.budget(steps=200_000, seeds=3)
    with DaskEngine() as engine:
        sweep(exp, budget, ResultStore("sweep-results"), engine)
    results = collect(exp, budget, ResultStore("sweep-results"))

Selection is the rule of the methods' run kind. For prediction runs (Javed et al. 2023,
Appendix A): a configuration's score is the mean over
tasks of its mean final error over the tuning seeds, each task's error divided by the
best configuration's on that task (with one task this is just ranking by mean final
error; with many Atari games it keeps games with large returns from dominating).
A configuration missing any tuning run (failed or diverged) scores +inf. Other run kinds bring
their own rule when they register (:mod:`rtrlbench.sweep.sweep_registry`), e.g. the
Williams-Zipser criterion runs, registered by the paper's experiments.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from rtrlbench.sweep.dask_engine import DaskEngine, RunReport
from rtrlbench.sweep.sweep_registry import load, run_kind
from rtrlbench.sweep.result_store import ResultStore


@dataclass
class Selection:
    """The outcome of tuning one method: every configuration's score and the winner (None if all failed)."""

    label: str
    configurations: list[dict[str, Any]]
    scores: list[float]
    winner: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "winner": self.winner,
                "candidates": [{"hyperparameters": c, "score": s if math.isfinite(s) else None}
                               for c, s in zip(self.configurations, self.scores)]}


def _final_error(record: Mapping[str, Any] | None) -> float:
    """A stored run's final MSRE, or +inf if the record is None or the error is not finite."""
    value = math.inf if record is None else record["result"]["final_msre"]
    return value if value is not None and math.isfinite(value) else math.inf


def select_by_final_error(configurations: Sequence[Mapping[str, Any]], records) -> tuple[list[float], int | None]:
    """Selection rule of prediction runs: :func:`select` on the final MSRE of the stored tuning
    records, ``records[config][task][seed]`` (None = not stored)."""
    errors = [[[_final_error(r) for r in seeds] for seeds in per_task] for per_task in records]
    return select(configurations, np.array(errors, dtype=np.float64))


def select(configurations: Sequence[Mapping[str, Any]], errors: np.ndarray) -> tuple[list[float], int | None]:
    """Scores of configurations from their errors, and the index of the best (None if none is finite).

    errors: float[n_configs, n_tasks, n_seeds], final MSRE of each tuning run (+inf = missing).
    """
    errors = np.asarray(errors, dtype=np.float64)
    if errors.shape[0] != len(configurations):
        raise ValueError(f"errors has {errors.shape[0]} rows for {len(configurations)} configurations")
    per_task = errors.mean(axis=2)  # inf if any seed is missing
    best = np.where(np.isfinite(per_task), per_task, np.inf).min(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(best > 0, per_task / best, np.where(per_task == 0, 1.0, np.inf))
    scores = relative.mean(axis=1)
    scores = np.where(np.isfinite(scores), scores, np.inf)
    winner = int(np.argmin(scores)) if np.isfinite(scores).any() else None
    return [float(s) for s in scores], winner


def selections(experiment, budget, store: ResultStore) -> dict[str, Selection]:
    """Tune every method of ``experiment`` from the stored tuning runs (methods with one configuration win
    by default), by the selection rule of the method's run kind (:mod:`rtrlbench.sweep.sweep_registry`)."""
    out = {}
    for method in experiment.methods:
        configs = experiment.configurations(method, budget)
        if len(configs) == 1:
            out[method.label] = Selection(method.label, configs, [0.0], configs[0])
            continue
        records = [[[store.get(experiment.spec(method, env, config, seed, budget).run_id)
                     for seed in range(budget.tune_seeds)] for env in experiment.method_envs(method, budget)]
                   for config in configs]
        scores, winner = load(run_kind(method.kind).select)(configs, records)
        out[method.label] = Selection(method.label, configs, scores, None if winner is None else configs[winner])
    return out


def sweep(experiment, budget, store: ResultStore, engine: DaskEngine, progress: bool = True) -> list[RunReport]:
    """Run ``experiment`` at ``budget``: tuning runs, selection, final runs. Resumable: stored runs are skipped."""
    reports = [engine.run(experiment.tuning_runs(budget), store, progress, desc=f"{experiment.name}: tuning")]
    chosen = selections(experiment, budget, store)
    store.put_selection(selection_name(experiment, budget), {"experiment": experiment.name, "budget": vars(budget),
                                                             "methods": [s.to_dict() for s in chosen.values()]})
    for selection in chosen.values():
        if selection.winner is None:
            print(f"{experiment.name}: method {selection.label!r} has no configuration whose tuning runs all "
                  f"succeeded; it is left out (see the failures above and `rtrlbench results --failed`)")
    final = experiment.final_runs(budget, {label: s.winner for label, s in chosen.items()})
    reports.append(engine.run([spec for specs in final.values() for spec in specs], store, progress,
                              desc=f"{experiment.name}: final"))
    return reports


def selection_name(experiment, budget) -> str:
    games = "all" if budget.games is None else budget.games
    return f"{experiment.name}__steps{budget.steps}_seeds{budget.seeds}_tune{budget.tune_seeds}_games{games}"


@dataclass
class ExperimentResults:
    """The stored final runs of an experiment, per method label: ``records[label]`` = list of
    ``{"run_id", "spec", "result"}`` (runs not stored are absent; ``missing[label]`` counts them)."""

    experiment: Any
    budget: Any
    selections: dict[str, Selection]
    records: dict[str, list[dict[str, Any]]]
    missing: dict[str, int]


def collect(experiment, budget, store: ResultStore) -> ExperimentResults:
    """Gather what the analysis of ``experiment`` needs from ``store`` (selection recomputed from the store)."""
    chosen = selections(experiment, budget, store)
    final = experiment.final_runs(budget, {label: s.winner for label, s in chosen.items()})
    records, missing = {}, {}
    for label, specs in final.items():
        found = [store.get(spec.run_id) for spec in specs]
        records[label] = [r for r in found if r is not None]
        missing[label] = sum(r is None for r in found)
    return ExperimentResults(experiment, budget, chosen, records, missing)
