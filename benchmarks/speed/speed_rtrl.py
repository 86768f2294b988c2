"""Steps per second of the ``rtrl`` learner (one core, chunked paths), as a Markdown table.

Two paths: the prediction-stream API (``run_chunk``: TD(lambda), unit readout) on
TracePatterning-v0 (7 inputs + bias), and the supervised API (``train_supervised``,
real-time RTRL) on PipelinedXOR-v0 (2 inputs + bias). Targets: >= 200,000 steps/s at
n = 3 and >= 10,000 steps/s at n = 15. The best of ``--repeats`` timings is reported,
since the machine may be shared::

    python -m rtrlbench.benchmarks.speed.speed_rtrl
    python -m rtrlbench.benchmarks.speed.speed_rtrl --units 3,15 --seconds 2
"""
from __future__ import annotations

import argparse
import time

import gymnasium as gym
from tqdm import tqdm

import rtrlbench  # noqa: F401  (registers the envs)
from rtrlbench.agents.rtrl import RTRL

TARGETS = {3: 200_000, 15: 10_000}


def best_rate(run, steps: int, repeats: int) -> float:
    """Steps per second of the fastest of ``repeats`` calls of ``run()`` (each ``steps`` steps)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return steps / best


def measure(n_units: int, seconds: float, repeats: int) -> dict:
    """Steps/s of both paths for an n-unit network (chunk sized to take about ``seconds``)."""
    # Rough cost model: a fixed overhead plus n^3 (n + m) multiply-adds per step.
    steps = max(1000, int(seconds / (2e-6 + n_units**3 * (n_units + 9) / 1e9)))
    trace = gym.make("TracePatterning-v0").unwrapped.stream(0).next_chunk(steps)
    stream_net = RTRL(trace.obs.shape[1], n_units=n_units, alpha=0.01, lam=0.9, seed=0)
    stream_net.run_chunk(trace.obs[:10], trace.cumulant[:10], trace.gamma[:10])  # compile
    stream_rate = best_rate(lambda: stream_net.run_chunk(trace.obs, trace.cumulant, trace.gamma), steps, repeats)
    rows = gym.make("PipelinedXOR-v0").unwrapped.stream(0).next_supervised_chunk(steps)
    net = RTRL(rows.inputs.shape[1], n_units=n_units, alpha=0.1, seed=0)
    net.train_supervised(rows.inputs[:10], rows.targets[:10], rows.mask[:10])  # compile
    supervised_rate = best_rate(lambda: net.train_supervised(rows.inputs, rows.targets, rows.mask), steps, repeats)
    return {"n_units": n_units, "stream": stream_rate, "supervised": supervised_rate}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--units", default="3,12,15,32", help="comma-separated network sizes")
    parser.add_argument("--seconds", type=float, default=1.0, help="rough length of one timing")
    parser.add_argument("--repeats", type=int, default=3, help="timings per figure (the best is kept)")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.units.split(",")]
    results = [measure(n, args.seconds, args.repeats) for n in tqdm(sizes, desc="rtrl speed", unit="size")]
    print("\n| units n | stream run_chunk, TD(lambda), 8 input lines (steps/s) "
          "| train_supervised, 3 input lines (steps/s) | target |")
    print("|---|---|---|---|")
    for r in results:
        target = f">= {TARGETS[r['n_units']]:,}" if r["n_units"] in TARGETS else ""
        print(f"| {r['n_units']} | {r['stream']:,.0f} | {r['supervised']:,.0f} | {target} |")
    return results


if __name__ == "__main__":
    main()
