"""Analyses shared by experiments: stored runs -> numbers (:mod:`rtrlbench.sweep.result_analysis`) -> figures."""
from __future__ import annotations

from pathlib import Path

from rtrlbench.benchmarks.experiments import experiment_plots
from rtrlbench.atomic import write_text
from rtrlbench.sweep.result_analysis import (curve_stats, final_error_intervals, method_summary, normalised_errors,
                                              paired_differences, paired_ratios, ratio_summary)


def _with_runs(results) -> dict:
    empty = [label for label, recs in results.records.items() if not recs]
    if empty or not results.records:
        raise ValueError(f"experiment {results.experiment.name!r}: no stored final runs for {empty or 'any method'}; "
                         f"run `rtrlbench sweep {results.experiment.name}` with the same budget first")
    return results.records


def learning_curves(results, out_dir: Path) -> list[Path]:
    """One learning-curve figure per task: every method's seed-averaged curve +-1 SE (Figures 4-6)."""
    records = _with_runs(results)
    envs = sorted({r["spec"]["env_id"] for recs in records.values() for r in recs})
    paths = []
    for env_id in envs:
        curves = {label: curve_stats([r for r in recs if r["spec"]["env_id"] == env_id])
                  for label, recs in records.items() if any(r["spec"]["env_id"] == env_id for r in recs)}
        suffix = "" if len(envs) == 1 else "_" + env_id.replace("/", "_")
        paths += experiment_plots.learning_curves(curves, Path(out_dir) / f"{results.experiment.name}{suffix}",
                                       title=results.experiment.title + ("" if len(envs) == 1 else f"\n{env_id}"))
    return paths


def learning_curves_and_final_errors(results, out_dir: Path) -> list[Path]:
    """:func:`learning_curves` and the table of :func:`final_errors`."""
    return [*learning_curves(results, out_dir), *final_errors(results, out_dir)]


def final_errors(results, out_dir: Path) -> list[Path]:
    """``<name>_final_errors.md``: per task, each method's selected hyperparameters and mean final
    MSRE with its 95% t interval over the final seeds, then every pair of methods' paired difference
    (same seed, same stream) with its interval and whether it orders the two at 95%."""
    records = _with_runs(results)
    intervals, differences = final_error_intervals(records), paired_differences(records)
    lines = [f"# {results.experiment.title}: final errors", "",
             f"{results.budget.steps:,} steps per run; mean final MSRE over the final seeds with its 95% "
             "Student-t interval; the selection is by mean final error over the tuning seeds.", ""]
    for env_id, per_method in intervals.items():
        lines += [f"## {env_id}", "", "| method | selected | seeds | final MSRE [95% interval] |", "|---|---|---:|---:|"]
        for label in sorted(per_method, key=lambda label: per_method[label][0]):
            mean, low, high, n = per_method[label]
            missing = results.missing.get(label, 0)
            lines.append(f"| {label} | {_winner_text(results.selections.get(label))} | {n}"
                         f"{f' ({missing} missing)' if missing else ''} | {mean:.5f} [{low:.5f}, {high:.5f}] |")
        lines += ["", "Paired differences (a - b, same seeds):", "",
                  "| a | b | seeds | a - b [95% interval] | at 95% |", "|---|---|---:|---:|---|"]
        for a, b, mean, low, high, n in differences[env_id]:
            verdict = f"{a} < {b}" if high < 0 else "not resolved"
            lines.append(f"| {a} | {b} | {n} | {mean:+.3g} [{low:+.3g}, {high:+.3g}] | {verdict} |")
        lines.append("")
    table = Path(out_dir) / f"{results.experiment.name}_final_errors.md"
    write_text(table, "\n".join(lines))
    return [table]


def _winner_text(selection) -> str:
    winner = None if selection is None else selection.winner
    return "—" if not winner else ", ".join(f"{key} {value:g}" if isinstance(value, float) else f"{key} {value}"
                                            for key, value in winner.items())


def per_game_and_summary(baseline: str, compared: str):
    """Figure 8 (``compared`` vs ``baseline`` per game, normalised by ``baseline``) and Figure 9 (all methods)."""

    def analyse(results, out_dir: Path) -> list[Path]:
        normalised = normalised_errors(_with_runs(results), baseline)
        name = results.experiment.name
        paths = experiment_plots.normalised_bars(normalised, [compared, baseline], Path(out_dir) / f"{name}_per_game",
                                      title=f"{compared} vs {baseline}: error relative to {baseline}")
        summary = method_summary(normalised)
        order = [m.label for m in results.experiment.methods if m.label in summary]
        paths += experiment_plots.method_summary({label: summary[label] for label in order}, Path(out_dir) / f"{name}_summary",
                                      title=f"error relative to {baseline}, averaged over games")
        return paths

    return analyse


def sensitivity(baseline: str, panels: dict[str, dict[str, float]]):
    """Figure 11: ``panels`` maps an x-axis name to {method label: x value}; y = error relative to ``baseline``."""

    def analyse(results, out_dir: Path) -> list[Path]:
        summary = method_summary(normalised_errors(_with_runs(results), baseline))
        data = {}
        for name, xs in panels.items():
            labels = [label for label in xs if label in summary]
            data[name] = {"x": [xs[label] for label in labels], "labels": labels,
                          "mean": [summary[label][0] for label in labels], "sem": [summary[label][1] for label in labels]}
        return experiment_plots.sensitivity(data, Path(out_dir) / results.experiment.name,
                                 title=f"{results.experiment.title} (relative to {baseline})")

    return analyse


def paired_ratio_table(baseline: str):
    """The equal-compute race: each method's final error over ``baseline``'s on the same seed (the
    oracle's Bayes floor on trace tasks, T-BPTT on Atari), mean and 95% t interval per task and
    averaged over tasks; writes ``<name>_ratios.md`` (a markdown table) and the figure."""

    def analyse(results, out_dir: Path) -> list[Path]:
        ratios = paired_ratios(_with_runs(results), baseline)
        per_task = {env_id: ratio_summary({env_id: per}) for env_id, per in ratios.items()}
        if len(per_task) > 1:
            per_task["all tasks"] = ratio_summary(ratios)
        order = [m.label for m in results.experiment.methods if m.label != baseline]
        per_task = {task: {label: per[label] for label in order if label in per} for task, per in per_task.items()}
        stem = Path(out_dir) / f"{results.experiment.name}_ratios"
        table = stem.with_suffix(".md")
        write_text(table, ratio_markdown(per_task, baseline, results.experiment.title))
        return [table, *experiment_plots.ratio_intervals(per_task, stem, baseline, title=results.experiment.title)]

    return analyse


def ratio_markdown(per_task, baseline: str, title: str) -> str:
    """Markdown table: one row per method, one column per task, cells ``mean [low, high]``."""
    tasks = list(per_task)
    labels = list(dict.fromkeys(label for per in per_task.values() for label in per))
    seeds = sorted({per[label][3] for per in per_task.values() for label in per})
    lines = [f"{title}: final error / {baseline} (same seed), mean [95% t interval] over "
             f"{'/'.join(map(str, seeds))} seeds", "",
             "| method | " + " | ".join(task.split("/")[-1] for task in tasks) + " |",
             "|---|" + "---:|" * len(tasks)]
    for label in labels:
        lines.append(f"| {label} | " + " | ".join(interval_cell(per_task[task].get(label)) for task in tasks) + " |")
    return "\n".join(lines) + "\n"


def interval_cell(value) -> str:
    return "—" if value is None else f"{value[0]:.3g} [{value[1]:.3g}, {value[2]:.3g}]"
