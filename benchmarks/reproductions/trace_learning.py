"""Learning comparison on trace patterning: columnar, constructive, CCN (and T-BPTT when
registered) against the zero predictor and the oracle, as a Markdown table.

Staged learners keep the paper's shape (Table 1: constructive 10 features at 1 per stage,
CCN 20 at 4 per stage, both spending the 50M-step budget over their stages) with
``steps_per_stage`` scaled to the budget: ``steps_per_stage = steps / n_stages``::

    python -m rtrlbench.benchmarks.reproductions.trace_learning --steps 3000000 --seeds 0 1
    python -m rtrlbench.benchmarks.reproductions.trace_learning --steps 1000000 --learners ccn zero --out results/
    python -m rtrlbench.benchmarks.reproductions.trace_learning --released-code   # the authors' task: ISI 24-36

Reported: the final return error (MSRE over the last ``--final-window`` steps) and the
MSRE over the whole run, mean ± standard error over seeds.
"""
from __future__ import annotations

import argparse
import json

import numpy as np
from tqdm import tqdm

from rtrlbench.agents.registry import LEARNERS, learner_class
from rtrlbench.envs.trace_patterning import RELEASED_CODE_KWARGS
from rtrlbench.run import run

STAGED = ("constructive", "ccn")


def default_learners() -> list[str]:
    names = ["columnar", "constructive", "ccn"]
    if "tbptt" in LEARNERS:
        names.append("tbptt")
    return names + ["zero", "oracle"]


def scaled_hyperparameters(name: str, steps: int, hyperparameters: dict) -> dict:
    """``hyperparameters`` plus, for staged learners, steps_per_stage = steps / n_stages."""
    hp = dict(hyperparameters)
    if name in STAGED and "steps_per_stage" not in hp:
        defaults = learner_class(name)(1, **{k: v for k, v in hp.items() if k != "seed"}).hyperparameters()
        hp["steps_per_stage"] = max(1, steps // (defaults["n_features"] // defaults["features_per_stage"]))
    return hp


def compare(env_id: str, learners: list[str], steps: int, seeds: list[int], hyperparameters: dict,
            env_kwargs: dict | None = None, final_window: int | None = None, out_dir=None) -> dict:
    """{learner: [record per seed]} for every learner and seed."""
    results = {name: [] for name in learners}
    runs = [(name, seed) for name in learners for seed in seeds]
    for name, seed in tqdm(runs, desc="runs", unit="run"):
        hp = {} if name == "oracle" else scaled_hyperparameters(name, steps, hyperparameters.get(name, {}))
        results[name].append(run(env_id, name, steps, seed, env_kwargs=env_kwargs, hyperparameters=hp,
                                 final_window=final_window, progress=False, out_dir=out_dir))
    return results


def table(results: dict) -> str:
    lines = ["| learner | hyperparameters | final MSRE | whole-run MSRE | steps/s |", "|---|---|---:|---:|---:|"]
    for name, records in results.items():
        final = np.array([r["final_msre"] for r in records])
        whole = np.array([np.mean(r["curve"]) for r in records])
        speed = np.median([r["steps_per_second"] for r in records])
        hp = records[0]["hyperparameters"]
        shown = ", ".join(f"{k}={v}" for k, v in hp.items()
                          if k in ("alpha", "n_features", "features_per_stage", "steps_per_stage", "norm_eps",
                                   "n_hidden", "truncation", "optimizer"))
        lines.append(f"| {name} | {shown} | {_mean_se(final)} | {_mean_se(whole)} | {speed:,.0f} |")
    return "\n".join(lines)


def _mean_se(values: np.ndarray) -> str:
    se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
    return f"{values.mean():.5f} ± {se:.5f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="TracePatterning-v0")
    parser.add_argument("--steps", type=int, default=3_000_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--learners", nargs="+", default=None, help="default: the RTRL family, tbptt, zero, oracle")
    parser.add_argument("--hparams", default="{}", help='per-learner hyperparameters as JSON, e.g. {"ccn": {"alpha": 3e-4}}')
    parser.add_argument("--released-code", action="store_true",
                        help="the released C++ code's task variant (ISI 24-36, RELEASED_CODE_KWARGS)")
    parser.add_argument("--final-window", type=int, default=None)
    parser.add_argument("--out", default=None, help="folder for the per-run result JSON files")
    args = parser.parse_args(argv)
    learners = args.learners or default_learners()
    env_kwargs = RELEASED_CODE_KWARGS if args.released_code else None
    results = compare(args.env, learners, args.steps, args.seeds, json.loads(args.hparams),
                      env_kwargs=env_kwargs, final_window=args.final_window, out_dir=args.out)
    variant = " (released code's variant)" if args.released_code else ""
    print(f"{args.env}{variant}, {args.steps:,} steps, seeds {args.seeds}")
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
