"""The error floor (oracle) and ceiling (zero predictor) of every trace task, for the README.

    python -m rtrlbench.benchmarks.reproductions.trace_floors [--steps 10000000] [--seeds 0 1 2]

MSRE over the whole stream (not a final window), mean ± standard error over seeds.
"""
from __future__ import annotations

import argparse

import numpy as np
from tqdm import tqdm

import rtrlbench  # noqa: F401
from rtrlbench.envs.registration import ENVS
from rtrlbench.run import run

TRACE_IDS = [env_id for env_id, (entry, _, _) in ENVS.items() if entry.endswith(":TraceTaskEnv")]


def floor_and_ceiling(env_id: str, steps: int, seeds: list[int], env_kwargs=None) -> dict[str, tuple[float, float]]:
    """{"oracle": (mean, se), "zero": (mean, se)} of the whole-stream MSRE over seeds."""
    out = {}
    for learner in ("oracle", "zero"):
        errors = [run(env_id, learner, steps, seed, env_kwargs=env_kwargs, final_window=steps, progress=False)["final_msre"]
                  for seed in tqdm(seeds, desc=f"{learner} on {env_id}", leave=False)]
        out[learner] = (float(np.mean(errors)), float(np.std(errors, ddof=1) / np.sqrt(len(errors))) if len(errors) > 1 else 0.0)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10_000_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    print(f"| env | oracle floor (MSRE) | zero predictor (MSRE) | steps x seeds |")
    print("|---|---|---|---|")
    for env_id in TRACE_IDS:
        r = floor_and_ceiling(env_id, args.steps, args.seeds)
        (om, ose), (zm, zse) = r["oracle"], r["zero"]
        print(f"| {env_id} | {om:.5f} ± {ose:.5f} | {zm:.5f} ± {zse:.5f} | {args.steps:,} x {len(args.seeds)} |")


if __name__ == "__main__":
    main()
