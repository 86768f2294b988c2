"""The side-by-side table of the equal-compute race: one row per learner, one column per race
(each trace task ÷ the oracle, Atari ÷ T-BPTT), with the selected step size and FLOPs per step,
from the stored runs of ``rtrlbench sweep race-…`` at one budget.

    python -m rtrlbench.benchmarks.experiments.race_summary --store experiment-results/equal-flop-race \
        --steps 1000000 --seeds 5 --tune-seeds 5 [--games 5]

Races with no stored final runs at that budget are shown as "not run".
"""
from __future__ import annotations

import argparse

from rtrlbench.benchmarks.experiments import equal_flop_race
from rtrlbench.benchmarks.experiments.analyses import interval_cell
from rtrlbench.sweep.result_analysis import paired_ratios, ratio_summary
from rtrlbench.sweep.result_store import ResultStore
from rtrlbench.sweep.tune_and_rerun import collect

RACES = {"TracePatterning ÷ oracle": (equal_flop_race.PATTERNING, "Oracle"),
         "TraceConditioning ÷ oracle": (equal_flop_race.CONDITIONING, "Oracle"),
         "NoisyPatterning ÷ oracle": (equal_flop_race.NOISY, "Oracle"),
         "Atari ÷ T-BPTT": (equal_flop_race.ATARI, "T-BPTT")}


def race_cells(store: ResultStore, steps: int, seeds: int, tune_seeds: int, games: int | None):
    """column -> label -> (cell text, selected configuration); None for a race not run at this budget."""
    columns = {}
    for column, (race, baseline) in RACES.items():
        budget = race.budget(steps=steps, seeds=seeds, tune_seeds=tune_seeds,
                             games=games if race is equal_flop_race.ATARI else None)
        results = collect(race, budget, store)
        if not results.records.get(baseline):
            columns[column] = None
            continue
        summary = ratio_summary(paired_ratios(results.records, baseline))
        columns[column] = {label: (interval_cell(summary.get(label)), results.selections[label].winner)
                           for label in results.records if label != "Oracle"}  # T-BPTT stays: 1 by definition
    return columns


def markdown(columns, steps: int, seeds: int) -> str:
    labels = list(dict.fromkeys(label for cells in columns.values() if cells for label in cells))
    lines = [f"Final error ÷ baseline on the same seed, mean [95% t interval] over {seeds} seeds, {steps:,} steps; "
             "selected α (and normaliser ε) per race", "",
             "| learner | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for label in labels:
        cells = []
        for column, per in columns.items():
            if per is None:
                cells.append("not run")
            elif label not in per:
                cells.append("—")
            else:
                text, winner = per[label]
                cells.append(f"{text}; {_config(winner)}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _config(winner) -> str:
    if not winner:
        return ""
    shown = {k: v for k, v in winner.items() if k in ("alpha", "norm_eps", "truncation", "n_hidden")}
    return ", ".join(f"{k} {v:g}" for k, v in shown.items())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="experiment-results/equal-flop-race", help="results store of the races")
    parser.add_argument("--steps", type=int, required=True, help="steps per run of the sweeps")
    parser.add_argument("--seeds", type=int, required=True, help="final seeds of the sweeps")
    parser.add_argument("--tune-seeds", type=int, required=True, help="tuning seeds of the sweeps")
    parser.add_argument("--games", type=int, help="Atari games of race-atari (first N)")
    args = parser.parse_args(argv)
    store = ResultStore(args.store)
    print(markdown(race_cells(store, args.steps, args.seeds, args.tune_seeds, args.games), args.steps, args.seeds))


if __name__ == "__main__":  # pragma: no cover
    main()
