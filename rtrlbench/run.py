"""Run one learner on one stream and measure its return error: the engine behind
``rtrlbench run`` (and, through it, sweeps and leaderboard verification)."""
from __future__ import annotations

import json
import math
import platform
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm import tqdm

import rtrlbench
from rtrlbench.learner_interface import Learner
from rtrlbench.agents.registry import make_learner
from rtrlbench.atomic import write_json
from rtrlbench.evaluation.return_error import ReturnErrorTracker
from rtrlbench.validation import positive_int

#: Extra stream steps read past the last prediction so that every scored return is complete
#: (their weight is gamma^LOOKAHEAD: 0.98^2000 < 1e-17).
LOOKAHEAD = 2000


def make_env(env_id: str, env_kwargs: dict | None = None):
    """The unwrapped prediction env for ``env_id``, with a clear error for unknown ids."""
    if env_id not in gym.registry:
        known = ", ".join(sorted(k for k in gym.registry if k in _suite_ids()))
        raise ValueError(f"unknown env {env_id!r}; the suite's envs are: {known} (see `rtrlbench envs`)")
    return gym.make(env_id, **(env_kwargs or {})).unwrapped


def _suite_ids():
    from rtrlbench.envs.registration import ENVS

    return set(ENVS)


def build_learner(name: str, stream, seed: int, hyperparameters: dict | None = None) -> Learner:
    """``oracle`` comes from the stream; every other name from the learner registry."""
    if name == "oracle":
        if hyperparameters:
            raise ValueError("the oracle takes no hyperparameters")
        return stream.oracle()
    return make_learner(name, stream.obs_dim, seed=seed, **(hyperparameters or {}))


def run(env_id: str, learner: str, steps: int, seed: int = 0, *, env_kwargs: dict | None = None,
        hyperparameters: dict | None = None, final_window: int | None = None, curve_window: int | None = None,
        chunk_size: int | None = None, progress: bool = True, out_dir: str | Path | None = None) -> dict[str, Any]:
    """Run ``learner`` on ``steps`` steps of ``env_id`` (seeded) and return the result record.

    The record holds the env and its kwargs, the learner and its hyperparameters, the
    seed, steps, package version, the final MSRE over the last ``final_window`` steps
    (default: the env's scoring window), and the learning curve (mean squared return
    error per block of ``curve_window`` steps). With ``out_dir`` it is also written
    there as JSON (atomically), and the path is in ``record["path"]``.
    """
    positive_int("steps", steps)
    env = make_env(env_id, env_kwargs)
    stream = env.stream(seed)
    chunk_size = chunk_size or default_chunk_size(stream.obs_dim)
    positive_int("chunk_size", chunk_size)
    agent = build_learner(learner, stream, seed, hyperparameters)
    tracker = new_tracker(env, steps, final_window, curve_window)

    start = time.perf_counter()
    with tqdm(total=steps, unit="step", unit_scale=True, disable=not progress, desc=f"{learner} on {env_id}",
              dynamic_ncols=True) as bar:
        for chunk in stream.chunks(steps, chunk_size):
            predictions = agent.run_chunk(chunk.obs, chunk.cumulant, chunk.gamma)
            tracker.add(predictions, chunk.cumulant, chunk.gamma)
            bar.update(len(chunk))
            if tracker.curve:
                bar.set_postfix(msre=f"{tracker.curve[-1]:.4g}")
    seconds = time.perf_counter() - start
    tail = stream.next_chunk(LOOKAHEAD)
    tracker.finish(tail.cumulant, tail.gamma)

    record = result_record(env_id, env_kwargs, learner, agent.hyperparameters(), seed, steps, tracker, seconds)
    if out_dir is not None:
        record["path"] = str(write_json(Path(out_dir) / result_filename(record), record))
    return record


def new_tracker(env, steps: int, final_window: int | None, curve_window: int | None) -> ReturnErrorTracker:
    """The scorer of a run of ``steps`` steps: final window (default: the env's scoring window, at most
    ``steps``) and curve window (default: steps / 100)."""
    final_window = min(final_window or getattr(env, "scoring_window", 100_000), steps)
    return ReturnErrorTracker(final_window=final_window, curve_window=curve_window or max(1, steps // 100))


def result_record(env_id: str, env_kwargs: dict | None, learner: str, hyperparameters: dict, seed: int, steps: int,
                  tracker: ReturnErrorTracker, seconds: float) -> dict[str, Any]:
    """The result record of a finished run (see :func:`run`); ``seconds``: the learning loop's wall time."""
    return {
        "env_id": env_id,
        "env_kwargs": env_kwargs or {},
        "learner": learner,
        "hyperparameters": hyperparameters,
        "seed": seed,
        "steps": steps,
        "package_version": rtrlbench.__version__,
        "final_window": tracker.final_window,
        "final_msre": tracker.final_msre(),
        "curve_window": tracker.curve_window,
        "curve": tracker.curve,
        "return_truncation": tracker.truncation,
        "wall_seconds": seconds,
        "steps_per_second": steps / seconds if seconds > 0 else math.inf,
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "numpy": np.__version__},
    }


def run_or_reuse(env_id: str, learner: str, steps: int, seed: int, *, out_dir: str | Path | None,
                 hyperparameters: dict | None = None, progress: bool = True) -> dict:
    """The record of this run saved in ``out_dir`` if there is one (same env without kwargs, learner,
    seed, steps, package version, and the asked ``hyperparameters``), else :func:`run` it and save it
    there: a batch of runs interrupted halfway resumes where it stopped. ``out_dir=None``: just run."""
    wanted = hyperparameters or {}
    if out_dir is None:
        return run(env_id, learner, steps, seed, hyperparameters=wanted, progress=progress)
    path = Path(out_dir) / result_filename({"env_id": env_id, "learner": learner, "seed": seed, "steps": steps})
    if path.is_file():
        record = json.loads(path.read_text())
        if (record.get("package_version") == rtrlbench.__version__ and record.get("env_kwargs") == {}
                and all(record["hyperparameters"].get(k) == v for k, v in wanted.items())):
            return record
    return run(env_id, learner, steps, seed, hyperparameters=wanted, progress=progress, out_dir=out_dir)


def default_chunk_size(obs_dim: int) -> int:
    """Steps per chunk: about 1 MB of float32 observations, so each fresh chunk stays in cache
    (a 72 MB chunk of 275-input Atari steps streamed 3x slower than a 1 MB one)."""
    return max(1024, min(65_536, (1 << 20) // (4 * obs_dim)))


def result_filename(record: dict) -> str:
    return f"{record['env_id'].replace('/', '_')}__{record['learner']}__seed{record['seed']}__{record['steps']}.json"
