"""Sweep overhead per run, scaling from 1 to 2 Dask workers, and the projected wall time of the paper.

    python -m rtrlbench.benchmarks.speed.sweep_overhead [--runs 200] [--scaling-runs 16] [--run-steps 8000000]

1. Overhead: ``--runs`` tiny runs (zero predictor, 1,000 steps) through a warm one-worker
   LocalCluster; overhead per run = (sweep wall time - sum of the runs' own time) / runs,
   which includes submission, scheduling, transfer of the record and its atomic write.
   Target: < 0.5 s per run.
2. Scaling: ``--scaling-runs`` runs of ``--run-steps`` steps (about a second each) on 1 and
   on 2 workers; speed-up = throughput(2) / throughput(1). Target: >= 1.8x (needs 2 idle cores).
3. Projection: steps/s of every registered paper learner at the paper's architectures on the
   trace task (short warm runs; Atari: the learner alone on synthetic 276-feature inputs, as
   the recorded frames need generated data), times the runs of each experiment at the
   paper's budget, gives CPU-hours and wall hours on N cores. ``--atari-seconds`` replaces
   the Atari measurement by a fixed time per run (the paper's C++: 3000 s, Appendix A).
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

from rtrlbench.sweep.sweep_registry import experiment_names, get_experiment
from rtrlbench.sweep.dask_engine import DaskEngine, execute
from rtrlbench.sweep.run_spec import RunSpec, unavailable_reason
from rtrlbench.sweep.result_store import ResultStore

PAPER_ATARI_GAMES = 50
PAPER_STEPS = 50_000_000
ATARI_INPUTS = 16 * 16 + 20  # frame, one-hot action (Javed et al. 2023, section 5.1)


def _specs(n: int, steps: int, first_seed: int = 0, learner: str = "zero") -> list[RunSpec]:
    return [RunSpec(env_id="TracePatterning-v0", learner=learner, seed=first_seed + i, steps=steps) for i in range(n)]


def timed_sweep(engine: DaskEngine, specs: list[RunSpec]) -> tuple[float, float]:
    """(sweep wall seconds, sum of the runs' own seconds) for ``specs`` into a fresh store."""
    with tempfile.TemporaryDirectory() as folder:
        store = ResultStore(folder)
        report = engine.run(specs, store, progress=False)
        if report.failed:
            raise RuntimeError(f"benchmark runs failed: {report.failed}")
        return report.seconds, sum(r["result"]["run_seconds"] for r in store.records())


def overhead(runs: int) -> None:
    with DaskEngine(workers=1) as engine:
        start = time.perf_counter()
        engine.client  # start the cluster
        startup = time.perf_counter() - start
        timed_sweep(engine, _specs(4, 1000, first_seed=10_000))  # warm: imports, compiled-code caches
        wall, busy = timed_sweep(engine, _specs(runs, 1000))
    print(f"local cluster start-up (1 worker): {startup:.2f} s")
    print(f"overhead per run: {(wall - busy) / runs * 1e3:.1f} ms  ({runs} runs of 1,000 steps: sweep {wall:.2f} s, "
          f"runs themselves {busy:.2f} s; target < 500 ms)")


def scaling(runs: int, steps: int, learner: str) -> None:
    throughput = {}
    for workers in (1, 2):
        with DaskEngine(workers=workers) as engine:
            timed_sweep(engine, _specs(2 * workers, 1000, first_seed=10_000, learner=learner))
            wall, busy = timed_sweep(engine, _specs(runs, steps, learner=learner))
        throughput[workers] = runs / wall
        print(f"{workers} worker(s): {runs} {learner} runs of {steps:,} steps in {wall:.2f} s "
              f"({throughput[workers]:.2f} runs/s, mean run {busy / runs:.2f} s)")
    print(f"speed-up 1 -> 2 workers: {throughput[2] / throughput[1]:.2f}x (target >= 1.8x; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f})")


def learner_speed(spec: RunSpec, steps: int) -> float:
    """Steps per second of one configuration (after a warm-up run that loads compiled code)."""
    warm = RunSpec(**{**spec.to_dict(), "steps": 2000})
    execute(warm.to_dict())
    return execute(RunSpec(**{**spec.to_dict(), "steps": steps}).to_dict())["steps_per_second"]


def synthetic_speed(learner: str, config: dict, steps: int, n_inputs: int = ATARI_INPUTS) -> float:
    """Steps per second of a learner alone on random sparse inputs of ``n_inputs`` features (Atari-sized)."""
    import numpy as np

    from rtrlbench.agents.registry import make_learner

    rng = np.random.default_rng(0)
    obs = (rng.random((steps, n_inputs)) < 0.1).astype(np.float32)
    cumulant = rng.random(steps) < 0.01
    gamma = np.full(steps, 0.98)
    agent = make_learner(learner, n_inputs, seed=0, **config)
    agent.run_chunk(obs[:500], cumulant[:500].astype(float), gamma[:500])  # compile / load caches
    start = time.perf_counter()
    agent.run_chunk(obs, cumulant.astype(float), gamma)
    return steps / (time.perf_counter() - start)


def projection(cores: list[int], atari_seconds: float | None, speed_steps: int) -> None:
    speed_cache: dict[str, float] = {}
    total_cpu = 0.0
    print(f"{'experiment':<18} {'runs':>7} {'CPU-hours':>10}  basis")
    for name in experiment_names():
        exp = get_experiment(name)
        if name == "smoke":
            continue
        atari = "atari" in name
        budget = exp.budget(games=PAPER_ATARI_GAMES if atari else None)
        try:
            envs = exp.env_ids(budget)
        except ValueError:
            envs = []
        if atari:
            envs = (envs + [f"AtariPrediction/Game{i}-v1" for i in range(PAPER_ATARI_GAMES)])[:PAPER_ATARI_GAMES]
        runs = _paper_runs(exp, budget, len(envs) if atari else None)
        cpu, basis = 0.0, set()
        for method, count in runs:
            config = exp.configurations(method, budget)[0]
            if atari:
                if atari_seconds is None:
                    key = f"atari:{method.learner}:{sorted((k, v) for k, v in config.items() if k not in ('alpha', 'norm_eps'))}"
                    if key not in speed_cache:
                        speed_cache[key] = synthetic_speed(method.learner, config, speed_steps)
                    seconds, what = budget.steps / speed_cache[key], "learner steps/s on synthetic inputs"
                else:
                    seconds, what = atari_seconds, f"{atari_seconds / 60:.0f} min/run"
                cpu += count * seconds
                basis.add(what)
                continue
            spec = exp.spec(method, exp.method_envs(method, budget)[0], config, 0, budget)
            key = f"{method.learner}:{sorted((k, v) for k, v in config.items() if k not in ('alpha', 'norm_eps'))}"
            if unavailable_reason(spec):
                basis.add(f"{method.learner} not installed")
                continue
            if key not in speed_cache:
                speed_cache[key] = learner_speed(spec, speed_steps)
            cpu += count * budget.steps / speed_cache[key]
            basis.add("measured steps/s")
        total_cpu += cpu
        print(f"{name:<18} {sum(c for _, c in runs):>7,} {cpu / 3600:>10,.1f}  {', '.join(sorted(basis))}")
    for key, speed in speed_cache.items():
        print(f"  {key}: {speed:,.0f} steps/s = {PAPER_STEPS / speed / 60:,.1f} min per {PAPER_STEPS:,}-step run")
    print(f"total CPU-hours: {total_cpu / 3600:,.0f}")
    for n in cores:
        print(f"  projected wall time on {n:>5} cores: {total_cpu / n / 3600:,.1f} h")


def _paper_runs(exp, budget, n_atari_games: int | None) -> list[tuple[object, int]]:
    """(method, number of distinct runs) at the paper's budget: tuning runs plus the winner's extra seeds,
    on each method's own tasks (or on ``n_atari_games`` games)."""
    out = []
    for method in exp.methods:
        n_envs = n_atari_games if n_atari_games is not None else len(exp.method_envs(method, budget))
        n_configs = len(exp.configurations(method, budget))
        tuning = n_configs * budget.tune_seeds if n_configs > 1 else 0
        final = budget.seeds - (budget.tune_seeds if n_configs > 1 else 0)
        out.append((method, n_envs * (tuning + final)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="tiny runs for the overhead figure")
    parser.add_argument("--scaling-runs", type=int, default=16, help="runs for the scaling figure")
    parser.add_argument("--run-steps", type=int, default=400_000, help="steps of each scaling run")
    # A paper learner by default: zero-predictor runs only stream memory and measure the memory bus, not the sweep.
    parser.add_argument("--scaling-learner", default="columnar", help="learner of the scaling runs")
    parser.add_argument("--speed-steps", type=int, default=20_000, help="steps to time each learner for the projection")
    parser.add_argument("--atari-seconds", type=float, default=None,
                        help="seconds per 50M-step Atari run (default: measure the learners on synthetic inputs)")
    parser.add_argument("--cores", type=int, nargs="+", default=[2, 64, 1000])
    parser.add_argument("--skip", nargs="*", default=[], choices=["overhead", "scaling", "projection"])
    args = parser.parse_args()
    print(f"{platform.platform()}, {os.cpu_count()} cores")
    if "overhead" not in args.skip:
        overhead(args.runs)
    if "scaling" not in args.skip:
        scaling(args.scaling_runs, args.run_steps, args.scaling_learner)
    if "projection" not in args.skip:
        projection(args.cores, args.atari_seconds, args.speed_steps)


if __name__ == "__main__":
    main()
