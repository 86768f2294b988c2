"""The paper's kinds of figure, drawn with matplotlib and saved as PNG and SVG.

Every function also writes ``<stem>.json`` with exactly the numbers it drew, so a figure
can be checked (or re-plotted) without reading pixels. Inputs come from
:mod:`rtrlbench.sweep.result_analysis`.
"""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from rtrlbench.atomic import atomic_path, write_json

FORMATS = ("png", "svg")


def _figure(width: float = 6.4, height: float = 4.0):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), constrained_layout=True)


def save(fig, stem: str | Path, data) -> list[Path]:
    """Write ``fig`` as ``stem.png`` and ``stem.svg`` and ``data`` as ``stem.json`` (atomically); close it."""
    import matplotlib.pyplot as plt

    stem = Path(stem)
    paths = []
    for fmt in FORMATS:
        path = stem.with_suffix(f".{fmt}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150)
        paths.append(path)
    plt.close(fig)
    write_json(stem.with_suffix(".json"), data)
    return paths


def learning_curves(curves: Mapping[str, Mapping[str, Sequence[float]]], stem: str | Path, title: str = "",
                    bands: float = 1.0, log_y: bool = False) -> list[Path]:
    """Figures 4-6: mean return error against steps, one line per method, shaded +-``bands`` standard errors.

    curves: label -> ``{"steps", "mean", "sem", "n"}`` (see :func:`rtrlbench.sweep.result_analysis.curve_stats`).
    """
    fig, ax = _figure()
    for label, curve in curves.items():
        steps, mean, sem = (np.asarray(curve[k], dtype=float) for k in ("steps", "mean", "sem"))
        (line,) = ax.plot(steps, mean, label=f"{label} (n={curve['n']})")
        ax.fill_between(steps, mean - bands * sem, mean + bands * sem, color=line.get_color(), alpha=0.25, linewidth=0)
    ax.set_xlabel("steps")
    ax.set_ylabel("mean squared return error")
    if log_y and all(min(c["mean"]) > 0 for c in curves.values()):
        ax.set_yscale("log")
    ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="small")
    return save(fig, stem, {"kind": "learning_curves", "title": title, "bands": bands, "curves": dict(curves)})


def normalised_bars(normalised: Mapping[str, Mapping[str, Sequence[float]]], labels: Sequence[str],
                    stem: str | Path, title: str = "") -> list[Path]:
    """Figure 8: per game, each method's final error divided by the baseline's, with +-1 standard error.

    normalised: game -> label -> (normalised mean, normalised SE) (see ``normalised_errors``).
    """
    games = sorted(normalised)
    fig, ax = _figure(max(6.4, 0.35 * len(games) * len(labels)), 4.0)
    width = 0.8 / len(labels)
    x = np.arange(len(games))
    drawn = {}
    for i, label in enumerate(labels):
        values = [normalised[g].get(label, (np.nan, np.nan)) for g in games]
        mean, sem = np.array(values, dtype=float).T
        ax.bar(x + (i - (len(labels) - 1) / 2) * width, mean, width, yerr=sem, label=label, capsize=2)
        drawn[label] = {"mean": mean.tolist(), "sem": sem.tolist()}
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(x, [g.split("/")[-1].removesuffix("-v0") for g in games], rotation=90, fontsize="small")
    ax.set_ylabel("error relative to the baseline")
    ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="small")
    return save(fig, stem, {"kind": "normalised_bars", "title": title, "games": games, "bars": drawn})


def method_summary(summary: Mapping[str, Sequence[float]], stem: str | Path, title: str = "") -> list[Path]:
    """Figure 9: each method's normalised error averaged over games, +-1 standard error over games."""
    labels = list(summary)
    mean, sem = (np.array([summary[label][i] for label in labels], dtype=float) for i in (0, 1))
    fig, ax = _figure(1.2 * len(labels) + 2, 4.0)
    ax.bar(labels, mean, yerr=sem, capsize=4, color=[f"C{i}" for i in range(len(labels))])
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_ylabel("mean relative error over games")
    ax.set_title(title, fontsize="medium")
    return save(fig, stem, {"kind": "method_summary", "title": title, "labels": labels,
                            "mean": mean.tolist(), "sem": sem.tolist()})


def sensitivity(panels: Mapping[str, Mapping[str, Sequence[float]]], stem: str | Path, title: str = "") -> list[Path]:
    """Figure 11: one panel per swept quantity; x = its value, y = error averaged over games +-1 SE.

    panels: panel title (the x-axis name) -> ``{"x", "mean", "sem"}``.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), constrained_layout=True, squeeze=False)
    for ax, (name, panel) in zip(axes[0], panels.items()):
        x, mean, sem = (np.asarray(panel[k], dtype=float) for k in ("x", "mean", "sem"))
        ax.errorbar(x, mean, yerr=sem, marker="o", capsize=3)
        ax.set_xlabel(name)
        ax.set_ylabel("relative error (averaged over games)")
    fig.suptitle(title)
    return save(fig, stem, {"kind": "sensitivity", "title": title, "panels": dict(panels)})


def ratio_intervals(per_task: Mapping[str, Mapping[str, Sequence[float]]], stem: str | Path, baseline: str,
                    title: str = "") -> list[Path]:
    """Each method's final error over the baseline's (paired by seed), mean and 95% t interval, one
    panel column per task (and "all tasks" when there are several); log scale, 1 = the baseline.

    per_task: task -> label -> (mean, low, high, n_seeds) (see ``ratio_summary``).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    tasks = list(per_task)
    labels = list(dict.fromkeys(label for per in per_task.values() for label in per))
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.2 * len(tasks) + 1.5, 0.35 * len(labels) + 1.6),
                             constrained_layout=True, squeeze=False, sharey=True)
    for ax, task in zip(axes[0], tasks):
        y = np.arange(len(labels))
        mean, low, high = (np.array([per_task[task].get(label, (np.nan,) * 4)[i] for label in labels]) for i in range(3))
        ax.errorbar(mean, y, xerr=[mean - low, high - mean], fmt="o", capsize=3)
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_title(task.split("/")[-1], fontsize="small")
        ax.set_xlabel(f"error / {baseline}")
    fig.suptitle(textwrap.fill(title, 60), fontsize="medium")
    return save(fig, stem, {"kind": "ratio_intervals", "title": title, "baseline": baseline,
                            "tasks": {task: dict(per) for task, per in per_task.items()}})
