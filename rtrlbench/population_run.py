"""Many runs of one learner shape on one env, learned together by a population learner
(:mod:`rtrlbench.agents.population_registry` names them): what a sweep's population task computes.

Each run keeps its own seed, hyperparameters, stream and scorer, and gets the record
:func:`rtrlbench.run.run` would give it (every run is scored by its own
:class:`~rtrlbench.evaluation.return_error.ReturnErrorTracker`): for the column networks, the
eLSTM and the online LRU the same final error and curve bit for bit (their population learners are
bit-identical per run); for T-BPTT
the same to rounding (its single-run kernel's fast-math sums are reordered by LLVM; predictions
agree to 1e-12 relative, see :mod:`rtrlbench.agents.population_tbptt`). Runs on the same seed read one
stream, generated once. ``wall_seconds`` and ``steps_per_second`` of a record are its share of
the population's time (the population's wall time / R); ``population_size`` says how many runs
shared it. A run whose predictions turn non-finite fails alone, with the message the single-run
path gives; the others go on.
"""
from __future__ import annotations

import functools
import json
import time
from typing import Any, Mapping, Sequence

import numpy as np

from rtrlbench.agents.population_registry import per_run_hyperparameters, population_class, population_pays
from rtrlbench.run import LOOKAHEAD, build_learner, default_chunk_size, make_env, new_tracker, result_record

#: The fields of a run spec (``rtrlbench.run.run``'s arguments) every run of a population shares.
SHARED_FIELDS = ("env_id", "env_kwargs", "learner", "steps", "final_window", "curve_window")


def population_key(spec: Mapping[str, Any]) -> str | None:
    """The key runs must share to learn in one population (None: the run goes alone, because its
    learner has no population learner or its env's observations are too wide for one to pay,
    :func:`rtrlbench.agents.population_registry.population_pays`): the shared fields and every
    hyperparameter that is not per run."""
    n_inputs = _obs_size(spec["env_id"], json.dumps(spec.get("env_kwargs") or {}, sort_keys=True))
    if not population_pays(spec["learner"], n_inputs):
        return None
    shared = {name: spec.get(name) for name in SHARED_FIELDS}
    per_run = per_run_hyperparameters(spec["learner"])
    shape = {k: v for k, v in (spec.get("hyperparameters") or {}).items() if k not in per_run}
    return json.dumps([shared, shape], sort_keys=True, separators=(",", ":"))


@functools.lru_cache(maxsize=None)
def _obs_size(env_id: str, env_kwargs_json: str) -> int:
    """Observation size of an env (built once per env and kwargs; building reads no data)."""
    return int(make_env(env_id, json.loads(env_kwargs_json)).observation_space.shape[0])


def run_population(specs: Sequence[Mapping[str, Any]], chunk_size: int | None = None) -> list[dict[str, Any]]:
    """Run every spec (``rtrlbench.run.run`` keyword arguments: env_id, learner, seed, steps,
    hyperparameters, env_kwargs, final_window, curve_window) in one population; returns, per spec,
    its result record or ``{"error": message}``. The specs must share :func:`population_key`."""
    if not specs:
        return []
    keys = {population_key(spec) for spec in specs}
    if len(keys) != 1 or None in keys:
        raise ValueError("the runs of a population must share env, learner, steps, windows and every "
                         "hyperparameter that is not per run; group them with population_key()")
    first = specs[0]
    env, steps = make_env(first["env_id"], first.get("env_kwargs")), int(first["steps"])
    learners, errors = [], {}
    for run, spec in enumerate(specs):
        try:  # a run with a bad hyperparameter fails alone, with the single-run path's message
            learners.append(build_learner(spec["learner"], env.stream(int(spec["seed"])), int(spec["seed"]),
                                          dict(spec.get("hyperparameters") or {})))
        except (TypeError, ValueError) as error:
            errors[run] = f"{type(error).__name__}: {error}"
    if len(errors) == len(specs):
        return [{"error": errors[run]} for run in range(len(specs))]
    kept = [run for run in range(len(specs)) if run not in errors]
    seeds = sorted({int(specs[run]["seed"]) for run in kept})
    streams = [env.stream(seed) for seed in seeds]
    stream_of = [seeds.index(int(specs[run]["seed"])) for run in kept]
    population = population_class(first["learner"])(learners)
    trackers = {run: new_tracker(env, steps, specs[run].get("final_window"), specs[run].get("curve_window"))
                for run in kept}
    chunk_size = chunk_size or default_chunk_size(streams[0].obs_dim)
    start = time.perf_counter()
    done = 0
    while done < steps:
        size = min(chunk_size, steps - done)
        chunks = [stream.next_chunk(size) for stream in streams]
        cumulant, gamma = np.stack([c.cumulant for c in chunks]), np.stack([c.gamma for c in chunks])
        predictions = population.run_chunk(np.stack([c.obs for c in chunks]), cumulant, gamma, stream_of)
        for index, run in enumerate(kept):
            if run not in errors:
                try:
                    trackers[run].add(predictions[index], cumulant[stream_of[index]], gamma[stream_of[index]])
                except ValueError as error:  # the single-run path fails the run with this message
                    errors[run] = f"ValueError: {error}"
        done += size
    seconds = (time.perf_counter() - start) / len(kept)
    tails = [stream.next_chunk(LOOKAHEAD) for stream in streams]
    out = [{"error": errors[run]} if run in errors else None for run in range(len(specs))]
    for index, run in enumerate(kept):
        if run in errors:
            out[run] = {"error": errors[run]}
            continue
        spec, tracker, tail = specs[run], trackers[run], tails[stream_of[index]]
        tracker.finish(tail.cumulant, tail.gamma)
        record = result_record(spec["env_id"], spec.get("env_kwargs"), spec["learner"],
                               population.hyperparameters(index), int(spec["seed"]), steps, tracker, seconds)
        record["population_size"] = len(kept)
        out[run] = record
    return out
