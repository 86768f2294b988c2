"""Reproduce the simulation experiments of Williams & Zipser (1989, §3) with the ``rtrl`` learner.

For each task: train real-time RTRL (eq. 2.15, optionally teacher-forced) from small
random weights, and every ``check_every`` steps probe a frozen copy of the network,
running free (no teacher forcing, no learning) on a copy of the stream. The criterion
is met when the probe gets every targeted bit right (rounding at 0.5), or, for the
sine, when its RMS error is below 0.05. Training stops there; the final error is the
mean squared error of the frozen free-running network over the next ``10 * probe``
steps. Prints a Markdown table (success rate, steps to criterion, final error)::

    python -m rtrlbench.benchmarks.reproductions.wz_reproduction                   # every task, 10 seeds
    python -m rtrlbench.benchmarks.reproductions.wz_reproduction --tasks xor2,seqrec --seeds 5
    python -m rtrlbench.benchmarks.reproductions.wz_reproduction --tasks xor3 --sweep 0.3,1,3 --sweep-seeds 4

The same runs as a resumable Dask sweep (``rtrlbench sweep williams-zipser``) use the run
kind ``"wz-criterion"``: :func:`criterion_run` turns a stored run spec back into a
:class:`Task` and calls :func:`train_to_criterion`, and :func:`select_by_success` picks
each task's step size with the rule of :func:`sweep` (:func:`rank_key`).
"""
from __future__ import annotations

import argparse
import copy
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import gymnasium as gym
import numpy as np
from tqdm import tqdm

import rtrlbench  # (also registers the envs)
from rtrlbench.agents.rtrl import RTRL
from rtrlbench.atomic import write_json


@dataclass(frozen=True)
class Task:
    """One row of the table: an env, a network, and the budget and criterion to judge it by."""

    name: str
    env_id: str
    n_units: int
    alpha: float
    max_steps: int
    paper: str
    env_kwargs: dict = field(default_factory=dict)
    teacher_forcing: bool = False
    bias: bool = True
    check_every: int = 1000
    probe: int = 1000
    rms_criterion: float | None = None  # None: every targeted bit right
    final_steps: int | None = None  # frozen steps scored for the final error (default 10 * probe)

    def __post_init__(self) -> None:
        for name in ("n_units", "max_steps", "check_every", "probe"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"task {self.name!r}: {name} must be a positive integer, got {value!r}")
        if not self.alpha > 0:
            raise ValueError(f"task {self.name!r}: alpha must be > 0, got {self.alpha!r}")

    @property
    def trained_steps(self) -> int:
        """Training steps of a run that never meets the criterion: max_steps rounded up to whole probe periods."""
        return -(-self.max_steps // self.check_every) * self.check_every

    def make_stream(self, seed: int):
        return gym.make(self.env_id, **self.env_kwargs).unwrapped.stream(seed)


# alpha: the pick of `--sweep 0.1,0.3,1,3,10 --sweep-seeds 4` (seeds 1000-1003; where every alpha
# failed, the tie-break's pick). The README gives the table these produce for seeds 0-9.
TASKS = {t.name: t for t in [
    Task("xor2", "PipelinedXOR-v0", 3, 3.0, 50_000, "learned by 3 units", {"delay": 2}),
    Task("xor3", "PipelinedXOR-v0", 5, 1.0, 200_000, "more units needed", {"delay": 3}),
    Task("xor4", "PipelinedXOR-v0", 7, 1.0, 300_000, "more units needed", {"delay": 4}),
    Task("seqrec", "SequenceRecognition-v0", 2, 3.0, 100_000, "learned by 2 units (flip-flop + AND)"),
    Task("dnms", "DelayedNonmatch-v0", 8, 0.3, 600_000, "learned (units not given)"),
    Task("parens15", "BalancedParentheses-v0", 15, 3.0, 300_000, "15 units always learned",
         check_every=10_000, probe=2000),
    Task("parens12", "BalancedParentheses-v0", 12, 3.0, 300_000, "12 units: smallest that learned",
         check_every=10_000, probe=2000),
    Task("parens6", "BalancedParentheses-v0", 6, 1.0, 300_000, "(none below 12 learned)",
         check_every=10_000, probe=2000),
    Task("osc01-tf", "Oscillation-v0", 1, 10.0, 20_000, "learned with teacher forcing",
         {"variant": "alternating"}, teacher_forcing=True, bias=False, probe=200),
    Task("osc01", "Oscillation-v0", 1, 0.1, 20_000, "not learned without",
         {"variant": "alternating"}, bias=False, probe=200),
    Task("osc0011-tf", "Oscillation-v0", 2, 10.0, 50_000, "learned with teacher forcing",
         {"variant": "double"}, teacher_forcing=True, bias=False, probe=200),
    Task("osc0011", "Oscillation-v0", 2, 1.0, 50_000, "not learned without (in general)",
         {"variant": "double"}, bias=False, probe=200),
    Task("sine-tf", "Oscillation-v0", 2, 3.0, 100_000, "learned with teacher forcing",
         {"variant": "sine"}, teacher_forcing=True, bias=False, probe=100, rms_criterion=0.05, final_steps=100),
    Task("sine", "Oscillation-v0", 2, 0.1, 100_000, "not learned without (in general)",
         {"variant": "sine"}, bias=False, probe=100, rms_criterion=0.05, final_steps=100),
]}


def free_run(net: RTRL, stream, steps: int) -> tuple[float, float]:
    """(MSE, fraction of targeted bits right) of a frozen copy of ``net`` on a copy of ``stream``."""
    net, stream = copy.deepcopy(net), copy.deepcopy(stream)
    rows = stream.next_supervised_chunk(steps)
    out = net.train_supervised(rows.inputs, rows.targets, rows.mask, teacher_forcing=False, learn=False)
    err = (out - rows.targets)[rows.mask]
    right = ((out > 0.5) == (rows.targets > 0.5))[rows.mask]
    return float(np.mean(err**2)), float(right.mean())


def meets_criterion(task: Task, mse: float, accuracy: float) -> bool:
    if task.rms_criterion is not None:
        return bool(np.sqrt(mse) < task.rms_criterion)
    return accuracy == 1.0


def train_to_criterion(task: Task, seed: int, alpha: float | None = None) -> dict:
    """Train one seed until the probe meets the criterion or ``task.max_steps`` is spent.

    Returns ``success``, ``steps_to_criterion`` (None if never), ``steps_trained``, the final
    free-running ``final_mse`` and ``final_accuracy``, and the learning curve: ``curve`` = MSE of
    each probe (frozen, free-running, ``task.probe`` steps), ``curve_steps`` = training steps before it.
    """
    stream = task.make_stream(seed)
    net = RTRL(stream.obs_dim, n_units=task.n_units, alpha=task.alpha if alpha is None else alpha,
               teacher_forcing=task.teacher_forcing, bias=task.bias, seed=seed)
    steps, reached, curve, curve_steps = 0, None, [], []
    while steps < task.max_steps:
        rows = stream.next_supervised_chunk(task.check_every)
        net.train_supervised(rows.inputs, rows.targets, rows.mask)
        steps += task.check_every
        mse, accuracy = free_run(net, stream, task.probe)
        curve.append(mse)
        curve_steps.append(steps)
        if meets_criterion(task, mse, accuracy):
            reached = steps
            break
    final_mse, final_accuracy = free_run(net, stream, task.final_steps or 10 * task.probe)
    return {"success": reached is not None, "steps_to_criterion": reached, "steps_trained": steps,
            "final_mse": final_mse, "final_accuracy": final_accuracy, "curve": curve, "curve_steps": curve_steps}


def criterion_stats(runs: list[dict]) -> dict:
    """Success rate, median and range of steps to criterion (successes only), median final MSE of ``runs``
    (records of :func:`train_to_criterion`)."""
    reached = [r["steps_to_criterion"] for r in runs if r["success"]]
    return {"success_rate": len(reached) / len(runs),
            "median_steps": float(np.median(reached)) if reached else None,
            "steps_range": [min(reached), max(reached)] if reached else None,
            "median_final_mse": float(np.median([r["final_mse"] for r in runs]))}


def rank_key(stats: dict) -> tuple:
    """Sort key of a step size, best first: highest success rate, then fewest median steps to
    criterion, then lowest median final MSE (``stats`` from :func:`criterion_stats`)."""
    steps = stats["median_steps"]
    return -stats["success_rate"], np.inf if steps is None else steps, stats["median_final_mse"]


def summarise(task: Task, seeds: list[int], runs: list[dict], alpha: float | None = None) -> dict:
    """One row of :func:`markdown_table`: ``task`` trained with ``alpha`` on ``seeds``, giving ``runs``."""
    return {
        "task": task.name, "env_id": task.env_id, "env_kwargs": task.env_kwargs, "n_units": task.n_units,
        "teacher_forcing": task.teacher_forcing, "alpha": task.alpha if alpha is None else alpha,
        "seeds": list(seeds), "max_steps": task.trained_steps, "paper": task.paper,
        **criterion_stats(runs), "runs": runs,
    }


def run_task(task: Task, seeds: list[int], alpha: float | None = None, bar: tqdm | None = None) -> dict:
    runs = []
    for seed in seeds:
        runs.append(train_to_criterion(task, seed, alpha))
        if bar is not None:
            bar.update(1)
    return summarise(task, seeds, runs, alpha)


# ----------------------------------------------------------------- sweep run kind "wz-criterion"
#: Task fields a criterion run's spec carries as hyperparameters (with ``"task"``, the row's name);
#: env_id, env_kwargs and steps (= max_steps) are fields of the spec itself.
SPEC_FIELDS = ("n_units", "alpha", "teacher_forcing", "bias", "check_every", "probe", "rms_criterion", "final_steps")


def task_hyperparameters(task: Task) -> dict:
    """The hyperparameters of ``task``'s run spec (see :data:`SPEC_FIELDS`)."""
    return {"task": task.name, **{name: getattr(task, name) for name in SPEC_FIELDS}}


def task_from_spec(spec) -> Task:
    """The :class:`Task` that a ``"wz-criterion"`` run spec describes (a
    :class:`~rtrlbench.sweep.run_spec.RunSpec` or its dict)."""
    spec = spec if isinstance(spec, dict) else spec.to_dict()
    if spec["learner"] != "rtrl":
        raise ValueError(f"a Williams-Zipser criterion run trains the 'rtrl' learner, not {spec['learner']!r}")
    hyperparameters = dict(spec["hyperparameters"])
    unknown = sorted(set(hyperparameters) - {"task", *SPEC_FIELDS})
    if unknown:
        raise ValueError(f"Williams-Zipser criterion run: unknown hyperparameter(s) {unknown}; "
                         f"known: task, {', '.join(SPEC_FIELDS)}")
    name = hyperparameters.pop("task", "custom")
    paper = TASKS[name].paper if name in TASKS else ""
    return Task(name, spec["env_id"], max_steps=spec["steps"], paper=paper, env_kwargs=dict(spec["env_kwargs"]),
                **hyperparameters)


def criterion_run(spec: dict) -> dict:
    """Run kind ``"wz-criterion"`` (on a sweep worker): :func:`train_to_criterion` for one spec.

    spec: the fields of a :class:`~rtrlbench.sweep.run_spec.RunSpec` (without ``kind``); scoring
    windows must be unset. Returns the record of :func:`train_to_criterion` with the run's
    identity (env, learner, hyperparameters with the task's name, seed, steps = max_steps, package version),
    ``curve_metric`` and timing (``wall_seconds``, ``steps_per_second`` over trained steps).
    """
    if spec.get("final_window") is not None or spec.get("curve_window") is not None:
        raise ValueError("a Williams-Zipser criterion run has no scoring windows: leave final_window and "
                         "curve_window unset (the task's check_every and probe set its curve)")
    task = task_from_spec(spec)
    start = time.perf_counter()
    result = train_to_criterion(task, spec["seed"])
    seconds = time.perf_counter() - start
    return {"env_id": task.env_id, "env_kwargs": task.env_kwargs, "learner": "rtrl",
            "hyperparameters": dict(spec["hyperparameters"]), "seed": spec["seed"], "steps": task.max_steps,
            "package_version": rtrlbench.__version__, **result, "curve_metric": "probe_mse",
            "wall_seconds": seconds, "steps_per_second": result["steps_trained"] / seconds if seconds > 0 else None}


def select_by_success(configurations: list[dict], records: list) -> tuple[list[float], int | None]:
    """Selection rule of the ``"wz-criterion"`` kind: the configuration that sorts first by :func:`rank_key`
    over its tuning runs (all tasks and seeds pooled).

    records: records[config][task][seed], the stored records (None = not stored: failed or
    missing, which rules the configuration out). Returns each configuration's score, its
    failure rate (+inf if ruled out; ties on it are broken as in :func:`rank_key`), and the
    winner's index (None if every configuration is ruled out).
    """
    keys, scores = [], []
    for per_task in records:
        runs = [r for seeds in per_task for r in seeds]
        if not runs or any(r is None for r in runs):
            keys.append(None)
            scores.append(float("inf"))
            continue
        stats = criterion_stats([r["result"] for r in runs])
        keys.append(rank_key(stats))
        scores.append(1.0 - stats["success_rate"])
    ranked = [i for i in range(len(configurations)) if keys[i] is not None]
    return scores, min(ranked, key=lambda i: keys[i]) if ranked else None


def markdown_table(results: list[dict]) -> str:
    lines = ["| task | env (kwargs) | units | teacher forcing | alpha | success | steps to criterion: median [range] "
             "| final MSE (median) | paper |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        kwargs = ", ".join(f"{k}={v}" for k, v in r["env_kwargs"].items())
        steps = f"{r['median_steps']:,.0f} [{r['steps_range'][0]:,}-{r['steps_range'][1]:,}]" if r["steps_range"] \
            else f"never in {r['max_steps']:,}"
        lines.append(
            f"| {r['task']} | {r['env_id']}{f' ({kwargs})' if kwargs else ''} | {r['n_units']} "
            f"| {'yes' if r['teacher_forcing'] else 'no'} | {r['alpha']:g} "
            f"| {round(100 * r['success_rate'])}% of {len(r['seeds'])} | {steps} | {r['median_final_mse']:.2g} "
            f"| {r['paper']} |"
        )
    return "\n".join(lines)


def sweep(task: Task, alphas: list[float], seeds: list[int], bar: tqdm) -> tuple[float, list[dict]]:
    """The alpha that sorts first by :func:`rank_key`, and every alpha's result."""
    results = [run_task(task, seeds, alpha, bar) for alpha in alphas]
    return min(results, key=rank_key)["alpha"], results


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated, from: {', '.join(TASKS)}")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 per task")
    parser.add_argument("--max-steps", type=int, default=None, help="override every task's training budget")
    parser.add_argument("--units", type=int, default=None, help="override every task's network size")
    parser.add_argument("--sweep", default=None, help="comma-separated alphas: pick each task's alpha first")
    parser.add_argument("--sweep-seeds", type=int, default=4, help="seeds per alpha in the sweep (seeds 1000..)")
    parser.add_argument("--out", default=None, help="write all results to this JSON file")
    args = parser.parse_args(argv)
    unknown = [name for name in args.tasks.split(",") if name not in TASKS]
    if unknown:
        parser.error(f"unknown task(s) {unknown}; choose from {', '.join(TASKS)}")
    tasks = [TASKS[name] for name in args.tasks.split(",")]
    if args.max_steps:
        tasks = [replace(t, max_steps=args.max_steps) for t in tasks]
    if args.units:
        tasks = [replace(t, n_units=args.units) for t in tasks]
    alphas = [float(a) for a in args.sweep.split(",")] if args.sweep else []
    total = len(tasks) * (args.seeds + len(alphas) * args.sweep_seeds)
    results, sweeps = [], []
    with tqdm(total=total, unit="run", desc="Williams-Zipser tasks", dynamic_ncols=True) as bar:
        for task in tasks:
            if alphas:
                best, tried = sweep(task, alphas, list(range(1000, 1000 + args.sweep_seeds)), bar)
                sweeps.extend(tried)
                task = replace(task, alpha=best)
            results.append(run_task(task, list(range(args.seeds)), bar=bar))
    if sweeps:
        print("\nLearning-rate sweep (seeds 1000..):\n" + markdown_table(sweeps))
    print("\n" + markdown_table(results))
    if args.out:
        write_json(Path(args.out), {"results": results, "sweep": sweeps})
    return results


if __name__ == "__main__":
    main()
