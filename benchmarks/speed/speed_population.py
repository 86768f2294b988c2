"""Single-run steps/s against population run-steps/s (R runs of one shape in one compiled call,
:mod:`rtrlbench.agents.population_ccn`, :mod:`rtrlbench.agents.population_tbptt`), as a Markdown table with the ratio, and the memory of
each population.

For every learner at the paper's size and every R in ``--sizes``, in this one process: the
single-run learner runs ``--steps`` steps of the stream, then a population of R runs (seeds 0..R-1,
step sizes spread over the tuning grid, reading ``--streams`` distinct streams round-robin as a
tuning grid's runs share their seeds' streams) runs the same number of steps per run; the ratio is
population run-steps/s over the single run's steps/s measured just before it, so a change of load
between rows does not bias it. Rates are CPU time (``time.process_time``), less disturbed than
wall time by other jobs on a shared machine; each figure is the median of ``--repeats``. Streams
are generated first (only the learners are timed): trace patterning with the released code's 12
inputs and the Atari-sized synthetic stream of 275 inputs (:func:`speed_learners.make_stream`).
Staged learners get ``steps_per_stage = steps / n_stages``, so that the timing covers every stage.
"state MB" is the population's arrays (its checkpoint and scratch); "peak MB" the most memory
numpy and Python held at once while building and running it (``tracemalloc``; the R single-run
learners it is built from and the predictions of the chunk included; the streams are not)::

    python -m rtrlbench.benchmarks.speed.speed_population
    python -m rtrlbench.benchmarks.speed.speed_population --only ccn --sizes 16 32 64 --steps 20000

Targets (issue 17; figures, not tests): >= 4x aggregate run-steps/s over the single run at the best
R for columnar, constructive, CCN 20:4, T-BPTT 30:2 and 3:10 (:mod:`rtrlbench.agents.population_tbptt`),
<= 500 MB for the largest default population.
"""
from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

import numpy as np
from tqdm import tqdm

from rtrlbench.benchmarks.speed.speed_learners import make_stream

#: (label, task, learner, hyperparameters): the paper's sizes (Table 1; Atari: Appendix A's budget).
CONFIGS = [
    ("columnar 5", "trace", "columnar", {"n_features": 5}),
    ("constructive 10:1", "trace", "constructive", {"n_features": 10}),
    ("ccn 20:4", "trace", "ccn", {"n_features": 20, "features_per_stage": 4}),
    ("tbptt 30:2", "trace", "tbptt", {"truncation": 30, "n_hidden": 2}),
    ("tbptt 3:10", "trace", "tbptt", {"truncation": 3, "n_hidden": 10}),
    ("columnar 7", "atari", "columnar", {"n_features": 7}),
    ("ccn 15:5", "atari", "ccn", {"n_features": 15, "features_per_stage": 5}),
    ("rtrl 3", "trace", "rtrl", {"n_units": 3}),
    ("rtrl 15", "trace", "rtrl", {"n_units": 15}),
    ("elstm 9", "trace", "elstm", {"n_units": 9}),
    ("elstm 7", "atari", "elstm", {"n_units": 7}),
    ("lru 8x6", "trace", "lru", {"n_hidden": 8, "n_model": 6}),
    ("lru 7x8", "atari", "lru", {"n_hidden": 7, "n_model": 8}),
]
SIZES = [4, 8, 16, 32, 64]
#: Step sizes the population's runs cycle through (the paper's grid for the column networks).
ALPHAS = [1e-2, 1e-3, 1e-4]
ATARI_STEP_DIVISOR = 10


def staged(learner: str, hp: dict, steps: int) -> dict:
    """``hp`` with ``steps_per_stage = steps / n_stages`` for the staged learners."""
    if learner == "ccn":
        return {**hp, "steps_per_stage": max(1, steps // (hp["n_features"] // hp["features_per_stage"]))}
    if learner == "constructive":
        return {**hp, "steps_per_stage": max(1, steps // hp["n_features"])}
    return hp


def single_rate(learner: str, hp: dict, stream, steps: int) -> float:
    """Steps/s (CPU time) of one fresh single-run learner on ``steps`` steps of ``stream``."""
    from rtrlbench.agents.registry import make_learner

    obs, cumulant, gamma = stream
    agent = make_learner(learner, obs.shape[2], seed=0, **hp)
    start = time.process_time()
    agent.run_chunk(obs[0, :steps], cumulant[0, :steps], gamma[0, :steps])
    return steps / (time.process_time() - start)


def population_rate(learner: str, hp: dict, stream, steps: int, size: int) -> tuple[float, float, float]:
    """(run-steps/s, state MB, peak MB allocated while building and running it) of a fresh population
    of ``size`` runs."""
    from rtrlbench.agents.population_registry import population_class
    from rtrlbench.agents.registry import learner_class

    obs, cumulant, gamma = stream
    tracemalloc.start()
    cls = learner_class(learner)
    population = population_class(learner).build(cls, obs.shape[2], list(range(size)),
                                                  [{**hp, "alpha": ALPHAS[r % len(ALPHAS)]} for r in range(size)])
    stream_of = [r % obs.shape[0] for r in range(size)]
    start = time.process_time()
    population.run_chunk(obs[:, :steps], cumulant[:, :steps], gamma[:, :steps], stream_of)
    rate = size * steps / (time.process_time() - start)
    state = nbytes((population.arrays, population._scratch, population.settings)) / 2**20
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return rate, state, peak


def nbytes(arrays) -> int:
    """Bytes of the arrays in ``arrays`` (tuples of arrays, nested)."""
    return arrays.nbytes if isinstance(arrays, np.ndarray) else sum(nbytes(a) for a in arrays)


def warm_up(learner: str, hp: dict, stream, sizes) -> None:
    """Compile (or load from numba's cache) both paths on a few steps first."""
    from rtrlbench.agents.population_registry import POPULATIONS

    single_rate(learner, hp, stream, 50)
    if learner in POPULATIONS:
        population_rate(learner, hp, stream, 50, min(sizes))


def measure(config, steps: int, sizes, repeats: int, n_streams: int, bar) -> list[dict]:
    """One table row per R (or one row without a population learner)."""
    from rtrlbench.agents.population_registry import POPULATIONS

    label, task, learner, hp = config
    steps = steps // ATARI_STEP_DIVISOR if task == "atari" else steps
    hp = staged(learner, hp, steps)
    obs, cumulant, gamma = zip(*(make_stream(task, steps, seed) for seed in range(n_streams)))
    stream = (np.stack(obs), np.stack(cumulant), np.stack(gamma))
    warm_up(learner, hp, stream, sizes)
    if learner not in POPULATIONS:
        rate = statistics.median(single_rate(learner, hp, stream, steps) for _ in range(repeats))
        bar.update(len(sizes))
        return [{"label": label, "single": rate}]
    rows = []
    for size in sizes:
        pairs = []
        for _ in range(repeats):
            single = single_rate(learner, hp, stream, steps)
            pairs.append((single, *population_rate(learner, hp, stream, steps, size)))
        single, rate, state, peak = (statistics.median(p[i] for p in pairs) for i in range(4))
        ratio = statistics.median(p[1] / p[0] for p in pairs)
        rows.append({"label": label, "size": size, "single": single, "population": rate, "ratio": ratio,
                     "state_mb": state, "peak_mb": peak})
        bar.update(1)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| learner | R | single steps/s | population run-steps/s | ratio | state MB | peak MB |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        if "size" not in row:
            lines.append(f"| {row['label']} | - | {row['single']:,.0f} | no population learner yet | - | - | - |")
            continue
        lines.append(f"| {row['label']} | {row['size']} | {row['single']:,.0f} | {row['population']:,.0f} | "
                     f"**{row['ratio']:.2f}x** | {row['state_mb']:.2f} | {row['peak_mb']:.1f} |")
    return "\n".join(lines)


def best(rows: list[dict]) -> str:
    out = []
    for label in dict.fromkeys(r["label"] for r in rows if "size" in r):
        top = max((r for r in rows if r["label"] == label and "size" in r), key=lambda r: r["ratio"])
        out.append(f"{label}: best R = {top['size']} ({top['ratio']:.2f}x, {top['population']:,.0f} run-steps/s)")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40_000, help="steps per run (Atari rows: / 10)")
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES, help="population sizes R")
    parser.add_argument("--repeats", type=int, default=1, help="timings per figure (median)")
    parser.add_argument("--streams", type=int, default=8, help="distinct streams the runs read")
    parser.add_argument("--only", nargs="+", default=None, help="only these learners (registry names)")
    args = parser.parse_args(argv)
    configs = [c for c in CONFIGS if args.only is None or c[2] in args.only]
    rows = []
    with tqdm(total=len(configs) * len(args.sizes), desc="populations", unit="row") as bar:
        for config in configs:
            rows += measure(config, args.steps, args.sizes, args.repeats, args.streams, bar)
    print(table(rows))
    print(best(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
