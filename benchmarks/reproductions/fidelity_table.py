"""Gradient fidelity at the equal-FLOP sizes: every learner with an exact RTRL reference (SnAp-1,
UORO, RFLO, T-BPTT at each of the paper's budget-matched truncations, and the exact learners as a
check), learning on TracePatterning-v0 with its defaults, measured every ``--every`` steps; a
Markdown table of the cosine and relative error of its gradient against the exact one (mean and
median over the run) beside its MSRE::

    python -m rtrlbench.benchmarks.reproductions.fidelity_table --steps 20000 --every 100

The exact shadow runs every step, so a run costs the exact learner's O(d^2 |theta|) per step.
"""
from __future__ import annotations

import argparse

from tqdm import tqdm

#: (label, learner, hyperparameters): the trace budget's sizes (learner_flops; docs/learners.md).
CONFIGS = [
    ("lstm_rtrl 2 (exact)", "lstm_rtrl", {"n_hidden": 2}),
    ("snap1 5", "snap1", {"n_hidden": 5}),
    ("uoro 7", "uoro", {"n_hidden": 7}),
    ("rnn_rtrl 5 (exact)", "rnn_rtrl", {"n_hidden": 5}),
    ("rnn_uoro 18", "rnn_uoro", {"n_hidden": 18}),
    ("rflo 27", "rflo", {"n_hidden": 27}),
    ("rflo 27, readout feedback", "rflo", {"n_hidden": 27, "feedback": "readout"}),
]
#: T-BPTT's truncations; each with the most hidden units that fit the trace budget (learner_flops.tbptt_configs).
TRUNCATIONS = (1, 2, 3, 5, 8, 10, 15, 20, 30)


def configs(n_inputs: int) -> list:
    from rtrlbench.agents.learner_flops import PAPER_BUDGETS, tbptt_configs

    pairs = tbptt_configs(n_inputs, PAPER_BUDGETS["trace"], truncations=TRUNCATIONS)
    return CONFIGS + [(f"tbptt {k}:{d}", "tbptt", {"truncation": k, "n_hidden": d}) for k, d in pairs]


def fidelity_table(steps: int, every: int, seed: int = 0, progress: bool = True) -> str:
    from rtrlbench.run import make_env, run

    lines = [f"Gradient fidelity on TracePatterning-v0, {steps:,} steps, seed {seed}, measured every {every} steps",
             "", "| learner | cosine mean (median) | relative error mean (median) | recurrent parameters: cosine "
             "mean (median) | recurrent: relative error mean (median) | MSRE |", "|---|---:|---:|---:|---:|---:|"]
    n_inputs = make_env("TracePatterning-v0").stream(seed).obs_dim
    for label, learner, hp in tqdm(configs(n_inputs), desc="fidelity runs", unit="run", disable=not progress):
        record = run("TracePatterning-v0", learner, steps, seed, hyperparameters=hp, fidelity_every=every,
                     progress=False)
        s = record["fidelity"]["summary"]
        cells = [f"{s[key + '_mean']:{spec}} ({s[key + '_median']:{spec}})" if s[key + "_mean"] is not None else "n/a"
                 for key, spec in (("cosine", ".4f"), ("relative_error", ".3g"), ("cosine_recurrent", ".4f"),
                                   ("relative_error_recurrent", ".3g"))]
        lines.append(f"| {label} | {' | '.join(cells)} | {record['final_msre']:.5f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(fidelity_table(args.steps, args.every, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
