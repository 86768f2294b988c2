"""The side-by-side table of the equal-compute race: one row per learner, one column per race
(each trace task ÷ the oracle, Atari ÷ T-BPTT), with the selected step size and FLOPs per step,
from the stored runs of ``rtrlbench sweep race-…`` at one budget, and, for the learners with an
exact RTRL reference, the gradient fidelity of the selected configuration measured by
:mod:`.race_fidelity` (mean cosine to the exact gradient; shown where it has been stored).

    python -m rtrlbench.benchmarks.experiments.race_summary --store experiment-results/equal-flop-race \
        --steps 1000000 --seeds 5 --tune-seeds 5 --atari-steps 250000 --atari-seeds 3 --atari-tune-seeds 2 --games 5

Races with no stored final runs at that budget are shown as "not run".
"""
from __future__ import annotations

import argparse

from rtrlbench.benchmarks.experiments import equal_flop_race, race_fidelity
from rtrlbench.benchmarks.experiments.analyses import interval_cell
from rtrlbench.sweep.result_analysis import paired_ratios, ratio_summary
from rtrlbench.sweep.result_store import ResultStore
from rtrlbench.sweep.tune_and_rerun import collect

RACES = {"TracePatterning ÷ oracle": (equal_flop_race.PATTERNING, "Oracle"),
         "TraceConditioning ÷ oracle": (equal_flop_race.CONDITIONING, "Oracle"),
         "NoisyPatterning ÷ oracle": (equal_flop_race.NOISY, "Oracle"),
         "Atari ÷ T-BPTT": (equal_flop_race.ATARI, "T-BPTT")}


def race_cells(store: ResultStore, trace_budget: dict, atari_budget: dict):
    """column -> label -> (cell text, selected configuration, stored fidelity or None); None for a race
    not run at its budget (``race.budget(**trace_budget)`` for the trace races, ``**atari_budget`` for Atari)."""
    columns = {}
    for column, (race, baseline) in RACES.items():
        budget = race.budget(**(atari_budget if race is equal_flop_race.ATARI else trace_budget))
        results = collect(race, budget, store)
        if not results.records.get(baseline):
            columns[column] = None
            continue
        summary = ratio_summary(paired_ratios(results.records, baseline))
        fidelity = race_fidelity.stored(race, budget, store)
        columns[column] = {label: (interval_cell(summary[label]), results.selections[label].winner, fidelity.get(label))
                           for label in results.records if label in summary and label != "Oracle"}  # T-BPTT: 1
    return columns


def markdown(columns, trace_budget: dict, atari_budget: dict) -> str:
    labels = list(dict.fromkeys(label for race, _ in RACES.values() for label in (m.label for m in race.methods)
                                if label != "Oracle"))
    lines = [f"Final error ÷ baseline on the same seed, mean [95% t interval]; trace: {_describe(trace_budget)}; "
             f"Atari: {_describe(atari_budget)}; the selected configuration beside each, and for learners with an "
             f"exact RTRL reference the mean cosine of their gradient to the exact one at that configuration "
             f"({_describe_fidelity(columns)})", "",
             "| learner | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for label in labels:
        cells = []
        for column, per in columns.items():
            if per is None:
                cells.append("not run")
            elif label not in per:
                cells.append("not run")
            else:
                text, winner, fidelity = per[label]
                cells.append("; ".join(part for part in (text, _config(winner), race_fidelity.fidelity_cell(fidelity))
                                       if part))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _describe(budget: dict) -> str:
    games = f", first {budget['games']} games" if budget.get("games") else ""
    return (f"{budget['steps']:,} steps, step sizes tuned on {budget['tune_seeds']} seeds, "
            f"{budget['seeds']} seeds{games}")


def _describe_fidelity(columns) -> str:
    documents = [cell[2] for per in columns.values() if per for cell in per.values() if cell[2]]
    if not documents:
        return "not measured yet: `python -m rtrlbench.benchmarks.experiments.race_fidelity`"
    runs = sorted({(d["steps"], d["every"], d["seed"], d["steps"] == d["budget"]["steps"],
                    d["env_id"] if d["race"] == equal_flop_race.ATARI.name else "") for d in documents})
    described = {}  # what was measured -> the Atari game it was measured on ("" for the trace races)
    for steps, every, seed, whole, env in runs:
        text = (f"along seed {seed}'s whole run, the one scored here, every {every:,} steps" if whole
                else f"first {steps:,} steps of seed {seed}, every {every:,} steps")
        described.setdefault(text, []).append(env.split("/")[-1])
    return "; ".join(text + "".join(f" (Atari: on {env} only)" for env in envs if env)
                     for text, envs in described.items())


def _config(winner) -> str:
    if not winner:
        return ""
    shown = {k: v for k, v in winner.items() if k in ("alpha", "norm_eps", "truncation", "n_hidden")}
    return ", ".join(f"{k} {v:g}" for k, v in shown.items())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="experiment-results/equal-flop-race", help="results store of the races")
    for prefix, race in (("", "trace races"), ("atari-", "race-atari (default: the trace races')")):
        required = not prefix
        parser.add_argument(f"--{prefix}steps", type=int, required=required, help=f"steps per run of the {race}")
        parser.add_argument(f"--{prefix}seeds", type=int, required=required, help=f"final seeds of the {race}")
        parser.add_argument(f"--{prefix}tune-seeds", type=int, required=required, help=f"tuning seeds of the {race}")
    parser.add_argument("--games", type=int, help="Atari games of race-atari (first N; default: all 47)")
    args = parser.parse_args(argv)
    trace = {"steps": args.steps, "seeds": args.seeds, "tune_seeds": args.tune_seeds}
    atari = {"steps": args.atari_steps or args.steps, "seeds": args.atari_seeds or args.seeds,
             "tune_seeds": args.atari_tune_seeds or args.tune_seeds, "games": args.games}
    print(markdown(race_cells(ResultStore(args.store), trace, atari), trace, atari))


if __name__ == "__main__":  # pragma: no cover
    main()
