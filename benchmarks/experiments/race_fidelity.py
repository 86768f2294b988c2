"""Gradient fidelity of the equal-compute race's winners: every raced learner with an exact RTRL
reference (:func:`rtrlbench.run.fidelity_learners`: the dense LSTM and tanh-RNN families and
T-BPTT), rerun at its *selected* configuration on the race's env, with its gradient measured
against the exact one on the same weights and stream every ``every`` steps.

The shadow does not touch the learner, so a measured run *is* the race's run of that seed (the
same final error, bit for bit; tested) with the gradient's quality read along it. The exact shadow
costs the exact learner's O(d^2 |theta|) every step (at the trace races' sizes 1M steps take from
seconds to a few minutes), so one seed is measured, not every seed of the race; ``steps`` below the
race's budget measures only the start of that run. On Atari (``--races atari``) the shadow is 10-100
times dearer (275 inputs), so one seed of the race's first game is measured (AirRaid; about half an
hour of one core for all its winners at 250k steps). One JSON per (race, budget, method, steps, every, seed) under ``fidelity/``
of the race's store; existing files are reused, so the command resumes::

    python -m rtrlbench.benchmarks.experiments.race_fidelity --store experiment-results/equal-flop-race \
        --steps 1000000 --seeds 5 --tune-seeds 5 --fidelity-steps 1000000 --every 1000
    python -m rtrlbench.benchmarks.experiments.race_fidelity --races atari --games 5 \
        --steps 250000 --seeds 3 --tune-seeds 2 --fidelity-steps 250000 --every 1000

:mod:`.race_summary` prints the summary beside each error of the side-by-side table.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from tqdm import tqdm

from rtrlbench.atomic import write_json
from rtrlbench.benchmarks.experiments import equal_flop_race
from rtrlbench.sweep.result_store import ResultStore
from rtrlbench.sweep.tune_and_rerun import selection_name, selections

#: The races whose winners can be measured, by ``--races`` group.
RACE_GROUPS = {"trace": (equal_flop_race.PATTERNING, equal_flop_race.CONDITIONING, equal_flop_race.NOISY),
               "atari": (equal_flop_race.ATARI,)}


def fidelity_path(store: ResultStore, race, budget, label: str, steps: int, every: int, seed: int) -> Path:
    """Where the measurement of method ``label`` at the winner of ``race`` at ``budget`` is stored."""
    method = "".join(c if c.isalnum() else "-" for c in label.lower()).strip("-")
    return store.root / "fidelity" / f"{selection_name(race, budget)}__{method}__steps{steps}_every{every}_seed{seed}.json"


def measured_methods(race, budget, store: ResultStore) -> dict[str, dict]:
    """label -> (learner, selected hyperparameters) for the race's methods that have an exact reference
    and a winner at ``budget``."""
    from rtrlbench.run import fidelity_learners

    chosen = selections(race, budget, store)
    exact = set(fidelity_learners())
    return {m.label: {"learner": m.learner, "hyperparameters": chosen[m.label].winner}
            for m in race.methods if m.learner in exact and chosen[m.label].winner is not None}


def measure(race, budget, store: ResultStore, steps: int, every: int, seed: int = 0,
            progress: bool = True) -> dict[str, dict]:
    """Run (or reuse) the measurement of every method of :func:`measured_methods`; label -> stored document
    (``fidelity``: the summary of :func:`rtrlbench.agents.gradient_fidelity.fidelity_summary`)."""
    from rtrlbench.run import run

    env_id = race.envs[0]
    out = {}
    methods = measured_methods(race, budget, store)
    for label, method in tqdm(methods.items(), desc=f"{race.name}: fidelity", unit="run", disable=not progress):
        path = fidelity_path(store, race, budget, label, steps, every, seed)
        if not path.exists():
            record = run(env_id, method["learner"], steps, seed, hyperparameters=method["hyperparameters"],
                         fidelity_every=every, progress=False)
            write_json(path, {"race": race.name, "budget": vars(budget), "label": label, "env_id": env_id,
                              "seed": seed, "steps": steps, "every": every, **method,
                              "final_msre": record["final_msre"], "fidelity": record["fidelity"]["summary"],
                              "package_version": record["package_version"],
                              "code_commit": record["code_commit"]})
        out[label] = json.loads(path.read_text())
    return out


def stored(race, budget, store: ResultStore) -> dict[str, dict]:
    """label -> the stored measurement of that method at ``budget`` (any steps/every/seed; the longest
    run if several), without running anything."""
    prefix = f"{selection_name(race, budget)}__"
    found: dict[str, dict] = {}
    for path in sorted((store.root / "fidelity").glob(prefix + "*.json")):
        document = json.loads(path.read_text())
        if document["label"] not in found or document["steps"] > found[document["label"]]["steps"]:
            found[document["label"]] = document
    return found


def fidelity_cell(document: dict | None) -> str:
    """``cos 0.998 (recurrent 0.95)``: mean cosine of the whole gradient and of the recurrent parameters'."""
    if document is None:
        return ""
    summary = document["fidelity"]
    whole, recurrent = summary.get("cosine_mean"), summary.get("cosine_recurrent_mean")
    text = "cos n/a" if whole is None else f"cos {whole:.3f}"
    return text + ("" if recurrent is None else f" (recurrent {recurrent:.3f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="experiment-results/equal-flop-race", help="results store of the races")
    parser.add_argument("--races", choices=sorted(RACE_GROUPS), default="trace",
                        help="which races' winners to measure (atari: on the race's first game)")
    parser.add_argument("--games", type=int, help="games of the Atari race's budget (default: all)")
    parser.add_argument("--steps", type=int, required=True, help="steps per run of the races (their budget)")
    parser.add_argument("--seeds", type=int, required=True, help="final seeds of the races")
    parser.add_argument("--tune-seeds", type=int, required=True, help="tuning seeds of the races")
    parser.add_argument("--fidelity-steps", type=int, default=200_000, help="steps of each measured run")
    parser.add_argument("--every", type=int, default=1_000, help="measure every N steps")
    parser.add_argument("--seed", type=int, default=0, help="seed of the measured runs")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)
    store = ResultStore(args.store)
    for race in RACE_GROUPS[args.races]:
        budget = race.budget(steps=args.steps, seeds=args.seeds, tune_seeds=args.tune_seeds, games=args.games)
        for label, document in measure(race, budget, store, args.fidelity_steps, args.every, args.seed,
                                       not args.no_progress).items():
            print(f"{race.name} | {label} | {fidelity_cell(document)} | MSRE {document['final_msre']:.5f}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
