"""Numbers behind the figures: seed-averaged learning curves, final errors, T-BPTT-normalised errors,
and the store as a pandas frame (``rtrlbench results``)."""
from __future__ import annotations

import json
import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np


def mean_sem(values: Sequence[float] | np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of the mean along ``axis`` (SE is 0 for a single value)."""
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[axis]
    sem = values.std(axis=axis, ddof=1) / np.sqrt(n) if n > 1 else np.zeros_like(values.mean(axis=axis))
    return values.mean(axis=axis), sem


def curve_stats(records: Iterable[Mapping[str, Any]]) -> dict[str, list[float]]:
    """Seed-averaged learning curve of stored runs (same task and budget).

    Returns ``{"steps", "mean", "sem", "n"}``: steps at the end of each curve block, mean and
    standard error over runs of the block's MSRE, number of runs.
    """
    results = [r["result"] for r in records]
    if not results:
        raise ValueError("no runs to average: the final runs of this method are not stored yet")
    length = min(len(r["curve"]) for r in results)
    curves = np.array([r["curve"][:length] for r in results])
    mean, sem = mean_sem(curves)
    steps = [(i + 1) * results[0]["curve_window"] for i in range(length)]
    return {"steps": steps, "mean": mean.tolist(), "sem": sem.tolist(), "n": len(results)}


def final_errors_by_env(records: Iterable[Mapping[str, Any]]) -> dict[str, list[float]]:
    """env id -> final MSRE of each stored run (one per seed)."""
    out: dict[str, list[float]] = {}
    for record in records:
        out.setdefault(record["spec"]["env_id"], []).append(record["result"]["final_msre"])
    return out


def normalised_errors(records: Mapping[str, Sequence[Mapping[str, Any]]], baseline: str) -> dict[str, dict[str, tuple[float, float]]]:
    """Per task and method: (mean final error, its standard error), both divided by the baseline's mean on that task.

    records: method label -> stored final runs. Tasks the baseline has no runs on are left out.
    Returns ``{env_id: {label: (normalised mean, normalised SE)}}`` (the baseline is (1, SE/mean)).
    """
    if baseline not in records:
        raise ValueError(f"baseline method {baseline!r} has no results (methods: {sorted(records)})")
    by_label = {label: final_errors_by_env(recs) for label, recs in records.items()}
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for env_id, base_errors in sorted(by_label[baseline].items()):
        scale = float(np.mean(base_errors))
        out[env_id] = {}
        for label, errors in by_label.items():
            if env_id in errors:
                mean, sem = mean_sem(errors[env_id])
                out[env_id][label] = (float(mean / scale), float(sem / scale))
    return out


def method_summary(normalised: Mapping[str, Mapping[str, tuple[float, float]]]) -> dict[str, tuple[float, float]]:
    """label -> (mean over tasks of the normalised error, standard error over tasks)."""
    labels = sorted({label for per_env in normalised.values() for label in per_env})
    out = {}
    for label in labels:
        values = [per_env[label][0] for per_env in normalised.values() if label in per_env]
        mean, sem = mean_sem(values)
        out[label] = (float(mean), float(sem))
    return out


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``values`` and its Student-t confidence interval ``(mean, low, high)`` (n - 1 degrees of
    freedom; low = high = mean for a single value)."""
    from scipy import stats

    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise ValueError("no values to average")
    mean = float(values.mean())
    if values.size == 1:
        return mean, mean, mean
    half = float(stats.t.ppf(0.5 + confidence / 2, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size))
    return mean, mean - half, mean + half


def errors_by_task_and_seed(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[int, float]]:
    """``{env_id: {seed: final MSRE}}`` of stored runs; non-finite (diverged) errors are left out."""
    table: dict[str, dict[int, float]] = {}
    for record in records:
        error = record["result"]["final_msre"]
        if error is not None and math.isfinite(error):
            table.setdefault(record["spec"]["env_id"], {})[record["spec"]["seed"]] = error
    return table


def final_error_intervals(records: Mapping[str, Sequence[Mapping[str, Any]]], confidence: float = 0.95
                          ) -> dict[str, dict[str, tuple[float, float, float, int]]]:
    """Per task and method: the mean final MSRE over seeds with its Student-t interval,
    ``{env_id: {label: (mean, low, high, n_seeds)}}`` (diverged runs left out, see n_seeds)."""
    out: dict[str, dict[str, tuple[float, float, float, int]]] = {}
    for label, recs in records.items():
        for env_id, errors in errors_by_task_and_seed(recs).items():
            out.setdefault(env_id, {})[label] = (*t_interval(list(errors.values()), confidence), len(errors))
    return dict(sorted(out.items()))


def paired_differences(records: Mapping[str, Sequence[Mapping[str, Any]]], confidence: float = 0.95
                       ) -> dict[str, list[tuple[str, str, float, float, float, int]]]:
    """Per task, every pair of methods (a, b), a with the lower mean final error: the mean over the
    seeds both have of error_a - error_b (same seed = same stream, so the stream's own difficulty
    cancels) and its Student-t interval. ``{env_id: [(a, b, mean, low, high, n_seeds)]}``, pairs
    in order of a's then b's mean error; ``high < 0`` means a < b at that confidence."""
    by_label = {label: errors_by_task_and_seed(recs) for label, recs in records.items()}
    out: dict[str, list[tuple[str, str, float, float, float, int]]] = {}
    for env_id in sorted({env for tables in by_label.values() for env in tables}):
        errors = {label: tables[env_id] for label, tables in by_label.items() if env_id in tables}
        ranked = sorted(errors, key=lambda label: float(np.mean(list(errors[label].values()))))
        pairs = []
        for i, a in enumerate(ranked):
            for b in ranked[i + 1:]:
                seeds = sorted(set(errors[a]) & set(errors[b]))
                if seeds:
                    differences = [errors[a][s] - errors[b][s] for s in seeds]
                    pairs.append((a, b, *t_interval(differences, confidence), len(seeds)))
        out[env_id] = pairs
    return out


def paired_ratios(records: Mapping[str, Sequence[Mapping[str, Any]]], baseline: str) -> dict[str, dict[str, dict[int, float]]]:
    """Per task and method, each seed's final error divided by the baseline's on the same task and seed.

    Seeds pair runs: a seed fixes the stream, so the ratio removes most of the stream's own
    difficulty (with the oracle as baseline it is the error over the Bayes floor of that very
    stream). Seeds the baseline lacks, and non-finite errors, are left out.
    Returns ``{env_id: {label: {seed: ratio}}}``.
    """
    if baseline not in records:
        raise ValueError(f"baseline method {baseline!r} has no results (methods: {sorted(records)})")
    base = errors_by_task_and_seed(records[baseline])
    out: dict[str, dict[str, dict[int, float]]] = {}
    for label, recs in records.items():
        for env_id, errors in errors_by_task_and_seed(recs).items():
            ratios = {seed: error / base[env_id][seed] for seed, error in sorted(errors.items())
                      if seed in base.get(env_id, {}) and base[env_id][seed] > 0}
            if ratios:
                out.setdefault(env_id, {})[label] = ratios
    return dict(sorted(out.items()))


def ratio_summary(ratios: Mapping[str, Mapping[str, Mapping[int, float]]], confidence: float = 0.95
                  ) -> dict[str, tuple[float, float, float, int]]:
    """label -> (mean, low, high, n_seeds): per seed the mean over tasks of its paired ratio, then
    the mean over seeds with its t interval (seeds with a missing task are left out)."""
    labels = sorted({label for per_env in ratios.values() for label in per_env})
    out = {}
    for label in labels:
        per_env = [per[label] for per in ratios.values() if label in per]
        seeds = sorted(set.intersection(*(set(r) for r in per_env)))
        if seeds and len(per_env) == len(ratios):
            per_seed = [float(np.mean([r[seed] for r in per_env])) for seed in seeds]
            out[label] = (*t_interval(per_seed, confidence), len(seeds))
    return out


# ---------------------------------------------------------------------------- frames
def results_frame(records: Iterable[Mapping[str, Any]], curves: bool = False):
    """A pandas DataFrame of stored runs.

    One row per run: run_id, env_id, learner, seed, hyperparameters (JSON text), one
    ``hp.<name>`` column per hyperparameter asked for, steps and the result's summary: for
    prediction runs final_msre, final_window, wall_seconds, steps_per_second, package_version (and,
    for runs with ``fidelity_every``, ``fidelity.cosine_mean``, ``fidelity.relative_error_mean``, ...);
    for runs of another kind (column ``kind``) every scalar field of its record (for
    Williams-Zipser criterion runs: success, steps_to_criterion, final_mse, ...).
    With ``curves=True`` instead one row per curve point: run_id, env_id, learner, seed,
    hyperparameters, step and the curve's value, named by the record's ``curve_metric``
    (``msre`` for prediction runs, ``probe_mse`` for criterion runs).
    """
    import pandas as pd

    rows = []
    for record in records:
        spec, result = record["spec"], record["result"]
        kind = spec.get("kind", "prediction")
        base = {"run_id": record["run_id"], "env_id": spec["env_id"], "learner": spec["learner"], "seed": spec["seed"],
                "hyperparameters": json.dumps(spec["hyperparameters"], sort_keys=True)}
        if curves:
            steps = result.get("curve_steps") or [(i + 1) * result["curve_window"] for i in range(len(result["curve"]))]
            metric = result.get("curve_metric", "msre")
            rows += [{**base, "step": step, metric: value} for step, value in zip(steps, result["curve"])]
            continue
        hyperparameters = {f"hp.{k}": v for k, v in spec["hyperparameters"].items()}
        if kind == "prediction":
            summary = {key: result[key] for key in ("final_msre", "final_window", "wall_seconds", "steps_per_second",
                                                     "package_version")}
            if "fidelity" in result:  # runs with fidelity_every: the gradient-fidelity summary beside the error
                summary.update({f"fidelity.{k}": v for k, v in result["fidelity"]["summary"].items()})
        else:
            scalars = {key: value for key, value in result.items() if not isinstance(value, (list, dict))}
            summary = {"kind": kind, **{key: value for key, value in scalars.items()
                                        if key not in base and key not in ("steps", "curve_metric")}}
        rows.append({**base, "steps": spec["steps"], **summary, **hyperparameters})
    return pd.DataFrame(rows)
