"""Williams & Zipser (1989) §3 as sweeps.

``williams-zipser`` (:data:`EXPERIMENT`): every task of §3 (the rows of
:data:`rtrlbench.benchmarks.reproductions.wz_reproduction.TASKS`), trained by real-time RTRL to its
criterion with periodic frozen free-running probes (run kind ``"wz-criterion"``). Each task is
one method whose step size α is tuned on seeds 0-4 over :data:`ALPHAS`: the α with the highest
success rate wins, ties going to the fewest median steps to criterion, then the lowest median
final MSE; the winner then runs on all seeds. ``--steps N`` scales every task's training budget
(max_steps) by N / 600,000 (600,000 = the longest, delayed nonmatch); ``--seeds`` sets the final
seeds. The analysis writes the reproduction table (Markdown, as the script prints it), the
success rate and steps to criterion per task, and the probe-error curves.

``wz-pipelined-xor`` (:data:`PIPELINED_XOR`): pipelined XOR as a prediction stream
(gamma = 0, so the return is the next target and the per-step error is the W-Z squared output
error), RTRL with 3, 4 and 5 units, step size tuned; learning curves.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from rtrlbench.atomic import atomic_path
from rtrlbench.benchmarks.experiments import experiment_plots
from rtrlbench.benchmarks.reproductions import wz_reproduction as wz
from rtrlbench.benchmarks.experiments import analyses
from rtrlbench.sweep.experiment_definition import Experiment, Method

#: Step sizes tried for every task (those of the script's documented sweep).
ALPHAS = [0.1, 0.3, 1.0, 3.0, 10.0]


def task_method(task: wz.Task, alphas=ALPHAS) -> Method:
    """One row of the reproduction table as a method: ``task``'s network and criterion, α tuned over ``alphas``."""
    fixed = wz.task_hyperparameters(task)
    del fixed["alpha"]
    return Method(task.name, "rtrl", fixed=fixed, grid={"alpha": list(alphas)}, kind="wz-criterion",
                  envs=(task.env_id,), env_kwargs=dict(task.env_kwargs), steps=task.max_steps)


def reproduction_rows(results) -> list[dict]:
    """The rows of :func:`~rtrlbench.benchmarks.reproductions.wz_reproduction.markdown_table` from the stored final runs
    (``results`` from :func:`rtrlbench.sweep.tune_and_rerun.collect`), in the experiment's task order."""
    rows = []
    for method in results.experiment.methods:
        records = sorted(results.records.get(method.label, []), key=lambda r: r["spec"]["seed"])
        if records:
            spec = records[0]["spec"]
            rows.append(wz.summarise(wz.task_from_spec(spec), [r["spec"]["seed"] for r in records],
                                     [r["result"] for r in records], spec["hyperparameters"]["alpha"]))
    if not rows:
        raise ValueError(f"experiment {results.experiment.name!r}: no stored final runs; run "
                         f"`rtrlbench sweep {results.experiment.name}` with the same budget first")
    return rows


def analyse(results, out_dir: Path) -> list[Path]:
    """Write ``NAME_table.md`` (the reproduction table), ``NAME_summary`` (success rate and steps to
    criterion per task) and ``NAME_probe_curves`` (every final run's probe MSE) as PNG, SVG and JSON."""
    rows = reproduction_rows(results)
    stem = Path(out_dir) / results.experiment.name
    table = stem.with_name(f"{stem.name}_table.md")
    with atomic_path(table) as tmp:
        Path(tmp).write_text(f"{results.experiment.title}: {results.budget.describe()}\n\n"
                             f"{wz.markdown_table(rows)}\n")
    return [table, *summary_figure(rows, stem.with_name(f"{stem.name}_summary")),
            *probe_curves_figure(rows, stem.with_name(f"{stem.name}_probe_curves"))]


def _subplots(n_rows: int, n_cols: int, width: float, height: float):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(n_rows, n_cols, figsize=(width, height), constrained_layout=True, squeeze=False)


def summary_figure(rows: list[dict], stem: Path) -> list[Path]:
    """Two panels per task: success rate, and median steps to criterion with its range (successes only)."""
    tasks = [r["task"] for r in rows]
    data = {"kind": "wz_summary", "tasks": tasks, "success_rate": [r["success_rate"] for r in rows],
            "n": [len(r["seeds"]) for r in rows], "alpha": [r["alpha"] for r in rows],
            "median_steps": [r["median_steps"] for r in rows], "steps_range": [r["steps_range"] for r in rows],
            "max_steps": [r["max_steps"] for r in rows]}
    fig, axes = _subplots(2, 1, max(6.4, 0.5 * len(tasks) + 2), 6.0)
    ax_rate, ax_steps = axes[:, 0]
    x = np.arange(len(tasks))
    ax_rate.bar(x, [100 * s for s in data["success_rate"]])
    ax_rate.set_ylabel("success rate (%)")
    ax_rate.set_ylim(0, 105)
    reached = [i for i, r in enumerate(rows) if r["median_steps"] is not None]
    median = np.array([rows[i]["median_steps"] for i in reached], dtype=float)
    low, high = (np.array([rows[i]["steps_range"][j] for i in reached], dtype=float) for j in (0, 1))
    ax_steps.errorbar(x[reached], median, yerr=[median - low, high - median], fmt="o", capsize=3,
                      label="median [range]")
    ax_steps.scatter(x, data["max_steps"], marker="_", color="grey", label="max_steps")
    ax_steps.set_yscale("log")
    ax_steps.set_ylabel("steps to criterion")
    ax_steps.legend(fontsize="small")
    for ax in (ax_rate, ax_steps):
        ax.set_xticks(x, tasks, rotation=45, ha="right", fontsize="small")
    ax_rate.set_title("Williams-Zipser reproductions: success and steps to criterion", fontsize="medium")
    return experiment_plots.save(fig, stem, data)


def probe_curves_figure(rows: list[dict], stem: Path) -> list[Path]:
    """One panel per task: the probe MSE of each final run against training steps (log scale)."""
    data = {"kind": "wz_probe_curves", "tasks": {
        r["task"]: {"seeds": r["seeds"], "steps": [run["curve_steps"] for run in r["runs"]],
                    "probe_mse": [run["curve"] for run in r["runs"]]} for r in rows}}
    n_cols = min(4, len(rows))
    n_rows = -(-len(rows) // n_cols)
    fig, axes = _subplots(n_rows, n_cols, 3.2 * n_cols, 2.4 * n_rows)
    for ax, (task, curves) in zip(axes.flat, data["tasks"].items()):
        for steps, mse in zip(curves["steps"], curves["probe_mse"]):
            ax.plot(steps, np.maximum(mse, 1e-8), linewidth=0.8, marker=".", markersize=3)
        ax.set_yscale("log")
        ax.set_title(task, fontsize="small")
        ax.tick_params(labelsize="x-small")
    for ax in axes.flat[len(rows):]:
        ax.set_visible(False)
    fig.supxlabel("training steps")
    fig.supylabel("probe MSE (frozen, free-running)")
    return experiment_plots.save(fig, stem, data)


EXPERIMENT = Experiment(
    name="williams-zipser",
    title="Williams-Zipser (1989) §3 reproductions: RTRL trained to criterion",
    methods=[task_method(task) for task in wz.TASKS.values()],
    envs=sorted({task.env_id for task in wz.TASKS.values()}),  # each method runs on its own task
    steps=max(task.max_steps for task in wz.TASKS.values()),
    seeds=10,
    tune_seeds=5,
    analyse=analyse,
)

PIPELINED_XOR = Experiment(
    name="wz-pipelined-xor",
    title="Williams-Zipser pipelined XOR with RTRL",
    methods=[Method(f"RTRL {n} units", "rtrl", fixed={"n_units": n}, grid={"alpha": [0.1, 0.2, 0.5, 1.0]})
             for n in (3, 4, 5)],
    envs=["PipelinedXOR-v0"],
    steps=200_000,
    seeds=10,
    tune_seeds=5,
    final_window=10_000,
    analyse=analyses.learning_curves,
)
