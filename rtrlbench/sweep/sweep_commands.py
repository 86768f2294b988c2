"""``rtrlbench experiments``, ``rtrlbench sweep`` and ``rtrlbench results``."""
from __future__ import annotations

import sys
from pathlib import Path

from rtrlbench.sweep.result_store import DEFAULT_STORE


def register(subparsers) -> None:
    experiments = subparsers.add_parser("experiments", help="list the paper experiments `rtrlbench sweep` can run")
    experiments.set_defaults(handler=list_experiments)

    sweep = subparsers.add_parser(
        "sweep", help="run a paper experiment as a resumable sweep on Dask, then plot it",
        description="Tune every method on the tuning seeds, pick each method's best configuration by its run "
                    "kind's rule (prediction runs: the lowest mean final error), rerun it on all seeds, store every finished run, plot. Runs already in the store are "
                    "skipped, so an interrupted sweep resumes where it stopped.")
    sweep.add_argument("experiment", help="experiment name (see `rtrlbench experiments`)")
    _budget_options(sweep)
    sweep.add_argument("--scheduler", default=None,
                       help="address (tcp://host:8786) or scheduler JSON file of a running Dask cluster "
                            "(default: start a local cluster)")
    sweep.add_argument("--workers", type=int, default=None, help="local cluster: worker processes (default: cores)")
    sweep.add_argument("--population-size", type=int, default=None,
                       help="at most this many runs of one learner shape, env and budget learn together in one "
                            "population task (default: %(default)s = the engine's default; 1: every run alone)")
    sweep.add_argument("--plots", default=None, help="folder for the figures (default: STORE/plots)")
    sweep.add_argument("--no-plots", action="store_true", help="do not plot after the sweep")
    sweep.add_argument("--plot-only", action="store_true", help="plot from the store without running anything")
    sweep.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    sweep.set_defaults(handler=sweep_command)

    results = subparsers.add_parser("results", help="list or export the runs in a sweep results store")
    results.add_argument("--experiment", default=None, help="only this experiment's runs at the budget given")
    _budget_options(results)
    results.add_argument("--curves", action="store_true", help="learning curves: one row per curve point")
    results.add_argument("--failed", action="store_true", help="list the failed runs and their errors instead")
    results.add_argument("--out", default=None, help="write to FILE.csv or FILE.parquet instead of printing")
    results.set_defaults(handler=results_command)


def _budget_options(parser) -> None:
    parser.add_argument("--store", default=DEFAULT_STORE, help=f"results store folder (default: {DEFAULT_STORE})")
    parser.add_argument("--steps", type=int, default=None, help="steps per run (default: the paper's)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds of the final runs (default: the paper's)")
    parser.add_argument("--tune-seeds", type=int, default=None, help="seeds per tuning run (default: the paper's, 5)")
    parser.add_argument("--games", type=int, default=None, help="use only the first N tasks (default: all)")


def _experiment_and_budget(args):
    from rtrlbench.sweep.sweep_registry import get_experiment

    experiment = get_experiment(args.experiment)
    return experiment, experiment.budget(args.steps, args.seeds, args.games, args.tune_seeds)


def list_experiments(args) -> int:
    from rtrlbench.sweep.sweep_registry import experiment_names, get_experiment

    names = experiment_names()
    width = max(map(len, names))
    for name in names:
        exp = get_experiment(name)
        print(f"{name:<{width}}  {exp.title}\n{'':<{width}}  [{plan(exp, exp.budget())}]")
    return 0


def plan(experiment, budget) -> str:
    """What a sweep at ``budget`` runs: tuning runs, then final runs (at most: a method whose
    tuning all failed has none), per phase with its seeds, and on which envs."""
    tuning = experiment.tuning_runs(budget)
    tuned = sum(len(experiment.configurations(m, budget)) > 1 for m in experiment.methods)
    final = sum(len(experiment.method_envs(m, budget)) * budget.seeds for m in experiment.methods)
    envs = list(dict.fromkeys(e for m in experiment.methods for e in experiment.method_envs(m, budget)))
    where = ", ".join(envs) if len(envs) <= 3 else f"{len(envs)} envs ({', '.join(envs[:2])}, ...)"
    return (f"{budget.steps:,} steps per run; tuning: {len(tuning):,} runs ({tuned} of {len(experiment.methods)} "
            f"methods have several configurations, {budget.tune_seeds} seeds each); final: {final:,} runs "
            f"({len(experiment.methods)} methods x {budget.seeds} seeds on their envs); envs: {where}")


def sweep_command(args) -> int:
    from rtrlbench.sweep.tune_and_rerun import collect, sweep
    from rtrlbench.sweep.dask_engine import DaskEngine
    from rtrlbench.sweep.result_store import ResultStore

    experiment, budget = _experiment_and_budget(args)
    store = ResultStore(args.store)
    failed = 0
    if not args.plot_only:
        print(f"{experiment.name}: {plan(experiment, budget)}; results in {store.root}")
        try:
            population = {} if args.population_size is None else {"population_size": args.population_size}
            with DaskEngine(args.scheduler, args.workers, verbose=True, **population) as engine:
                reports = sweep(experiment, budget, store, engine, progress=not args.no_progress)
        except KeyboardInterrupt:
            print(f"\ninterrupted: finished runs are stored in {store.root}; rerun the same command to resume",
                  file=sys.stderr)
            return 130
        for stage, report in zip(("tuning", "final"), reports):
            print(f"{stage}: {report.summary()}")
        failed = sum(len(r.failed) for r in reports)
    if not args.no_plots:
        out_dir = Path(args.plots or store.root / "plots")
        try:
            paths = experiment.analyse(collect(experiment, budget, store), out_dir)
        except ValueError as error:
            print(f"no plots: {error}", file=sys.stderr)
            return 1
        print("figures: " + ", ".join(str(p) for p in paths if p.suffix == ".png"))
    return 1 if failed else 0


def results_command(args) -> int:
    from rtrlbench.sweep.result_analysis import results_frame
    from rtrlbench.sweep.result_store import ResultStore

    store = ResultStore(args.store)
    if args.failed:
        for failure in store.failures():
            print(f"{failure['run_id']}  {failure['spec']['learner']} on {failure['spec']['env_id']} "
                  f"seed {failure['spec']['seed']}: {failure['error']}")
        return 0
    records = store.records()
    if args.experiment:
        experiment, budget = _experiment_and_budget(args)
        wanted = {spec.run_id for spec in _experiment_specs(experiment, budget, store)}
        records = (r for r in records if r["run_id"] in wanted)
    frame = results_frame(records, curves=args.curves)
    if args.out is None:
        with_columns = [c for c in frame.columns if c not in ("hyperparameters", "package_version", "final_window")]
        print(frame[with_columns].to_string(index=False) if len(frame) else f"no runs stored in {store.root}")
        return 0
    write_frame(frame, Path(args.out))
    print(f"{len(frame)} row(s) written to {args.out}")
    return 0


def _experiment_specs(experiment, budget, store):
    from rtrlbench.sweep.tune_and_rerun import selections

    winners = {label: s.winner for label, s in selections(experiment, budget, store).items()}
    return experiment.tuning_runs(budget) + [s for specs in experiment.final_runs(budget, winners).values() for s in specs]


def write_frame(frame, path: Path) -> None:
    """Write a DataFrame as CSV or Parquet (by suffix), atomically."""
    from rtrlbench.atomic import atomic_path

    if path.suffix not in (".csv", ".parquet"):
        raise ValueError(f"--out must end in .csv or .parquet, got {path.name!r}")
    with atomic_path(path) as tmp:
        if path.suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
