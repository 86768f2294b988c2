"""Run one learner on one stream and measure its return error: the engine behind
``rtrlbench run`` (and, through it, sweeps and leaderboard verification)."""
from __future__ import annotations

import functools
import json
import math
import platform
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from numba.core import event as numba_event
from tqdm import tqdm

import rtrlbench
from rtrlbench.learner_interface import Learner
from rtrlbench.agents.registry import make_learner
from rtrlbench.atomic import write_json
from rtrlbench.evaluation.fidelity_curves import fidelity_result
from rtrlbench.evaluation.return_error import ReturnErrorTracker
from rtrlbench.terminal import show_progress
from rtrlbench.validation import positive_int, writable_folder

#: Extra stream steps read past the last prediction so that every scored return is complete
#: (their weight is gamma^LOOKAHEAD: 0.98^2000 < 1e-17).
LOOKAHEAD = 2000


def make_env(env_id: str, env_kwargs: dict | None = None):
    """The unwrapped prediction env for ``env_id``, with a clear error for unknown ids."""
    if env_id not in gym.registry:
        from rtrlbench.envs.registration import unknown_env_message

        raise ValueError(unknown_env_message(env_id))
    return gym.make(env_id, **(env_kwargs or {})).unwrapped


def build_learner(name: str, stream, seed: int, hyperparameters: dict | None = None) -> Learner:
    """``oracle`` comes from the stream; every other name from the learner registry."""
    if name == "oracle":
        if hyperparameters:
            raise ValueError("the oracle takes no hyperparameters")
        return stream.oracle()
    return make_learner(name, stream.obs_dim, seed=seed, **(hyperparameters or {}))


def run(env_id: str, learner: str, steps: int, seed: int = 0, *, env_kwargs: dict | None = None,
        hyperparameters: dict | None = None, final_window: int | None = None, curve_window: int | None = None,
        chunk_size: int | None = None, progress: bool = True, out_dir: str | Path | None = None,
        fidelity_every: int | None = None) -> dict[str, Any]:
    """Run ``learner`` on ``steps`` steps of ``env_id`` (seeded) and return the result record.

    The record holds the env and its kwargs, the learner and its hyperparameters, the
    seed, steps, package version, the code's git commit (when run from a git checkout), the
    record's schema version, the final MSRE over the last ``final_window`` steps (default: the
    env's scoring window), the learning curve (mean squared return error per block of
    ``curve_window`` steps), and the timing: ``wall_seconds`` of the learning loop,
    ``compile_seconds`` spent compiling (or loading cached) numba kernels (first run on a
    machine: seconds; later runs: the cache), and ``steps_per_second`` of learning alone
    (wall time minus the compilation inside the loop). With ``out_dir`` (checked writable
    before anything runs) it is also written there as JSON (atomically), and the path is in
    ``record["path"]``.

    ``fidelity_every=N`` (or the hyperparameter of that name) measures the learner's gradient against
    the exact RTRL one every N steps (learners with an exact reference: :func:`fidelity_learners`);
    the record then holds ``fidelity``: a summary and curves on the MSRE curve's blocks
    (:func:`rtrlbench.evaluation.fidelity_curves.fidelity_result`).
    """
    positive_int("steps", steps)
    hyperparameters = with_fidelity(learner, hyperparameters, fidelity_every)
    if out_dir is not None:
        writable_folder("--out", out_dir)
    with numba_event.install_recorder("numba:compile") as setup_compiles:
        env = make_env(env_id, env_kwargs)
        stream = env.stream(seed)
        chunk_size = chunk_size or default_chunk_size(stream.obs_dim)
        positive_int("chunk_size", chunk_size)
        agent = build_learner(learner, stream, seed, hyperparameters)
    tracker = new_tracker(env, steps, final_window, curve_window)

    bar = tqdm(total=steps, unit="step", unit_scale=True, disable=not show_progress(progress),
               desc=f"{learner} on {env_id}", dynamic_ncols=True)
    try:
        with numba_event.install_recorder("numba:compile") as loop_compiles:
            start = time.perf_counter()
            for chunk in stream.chunks(steps, chunk_size):
                predictions = agent.run_chunk(chunk.obs, chunk.cumulant, chunk.gamma)
                tracker.add(predictions, chunk.cumulant, chunk.gamma)
                bar.update(len(chunk))
                if tracker.curve:  # the latest curve block, not yet the final window's error
                    bar.set_postfix(block_msre=f"{tracker.curve[-1]:.4g}")
            seconds = time.perf_counter() - start
        tail = stream.next_chunk(LOOKAHEAD)
        tracker.finish(tail.cumulant, tail.gamma)
        bar.set_postfix(final_msre=f"{tracker.final_msre():.6g}")  # the figure the result reports
    finally:
        bar.close()
    compiling = compile_seconds(loop_compiles.buffer)
    learning = max(seconds - compiling, 0.0)
    record = result_record(env_id, env_kwargs, learner, agent.hyperparameters(), seed, steps, tracker, seconds,
                           compile_seconds=compile_seconds(setup_compiles.buffer) + compiling, learning_seconds=learning)
    if getattr(agent, "fidelity_every", 0):
        record["fidelity"] = fidelity_result(agent.fidelity(), agent.fidelity_every, tracker.curve_window, steps)
    if out_dir is not None:
        record["path"] = str(write_json(Path(out_dir) / result_filename(record), record))
    return record


def new_tracker(env, steps: int, final_window: int | None, curve_window: int | None) -> ReturnErrorTracker:
    """The scorer of a run of ``steps`` steps: final window (default: the env's scoring window, at most
    ``steps``) and curve window (default: steps / 100)."""
    final_window = min(final_window or getattr(env, "scoring_window", 100_000), steps)
    return ReturnErrorTracker(final_window=final_window, curve_window=curve_window or max(1, steps // 100))


def result_record(env_id: str, env_kwargs: dict | None, learner: str, hyperparameters: dict, seed: int, steps: int,
                  tracker: ReturnErrorTracker, seconds: float, compile_seconds: float = 0.0,
                  learning_seconds: float | None = None) -> dict[str, Any]:
    """The result record of a finished run (see :func:`run`); ``seconds``: the learning loop's wall time,
    ``compile_seconds`` the numba compilation in and before it, ``learning_seconds`` the loop's time
    without compilation (default: ``seconds``), from which ``steps_per_second`` is counted."""
    learning_seconds = seconds if learning_seconds is None else learning_seconds
    return {
        "env_id": env_id,
        "env_kwargs": env_kwargs or {},
        "learner": learner,
        "hyperparameters": hyperparameters,
        "seed": seed,
        "steps": steps,
        "package_version": rtrlbench.__version__,
        "code_commit": code_commit(),
        "record_schema_version": RECORD_SCHEMA_VERSION,
        "final_window": tracker.final_window,
        "final_msre": tracker.final_msre(),
        "curve_window": tracker.curve_window,
        "curve": tracker.curve,
        "return_truncation": tracker.truncation,
        "wall_seconds": seconds,
        "compile_seconds": compile_seconds,
        "steps_per_second": steps / learning_seconds if learning_seconds > 0 else math.inf,
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "numpy": np.__version__},
    }


def fidelity_learners() -> list[str]:
    """The registered learners that can measure gradient fidelity (``fidelity_every``, ``fidelity()``)."""
    from rtrlbench.agents.registry import LEARNERS, learner_class

    return [name for name in LEARNERS if callable(getattr(learner_class(name), "fidelity", None))]


def with_fidelity(learner: str, hyperparameters: dict | None, fidelity_every: int | None) -> dict | None:
    """``hyperparameters`` with ``fidelity_every`` added (None: unchanged), refusing a learner
    without an exact reference to measure against."""
    if fidelity_every is None:
        return hyperparameters
    positive_int("fidelity_every", fidelity_every)
    if learner not in fidelity_learners():
        raise ValueError(f"learner {learner!r} has no exact RTRL reference to measure gradient fidelity against; "
                         f"--fidelity-every works with: {', '.join(fidelity_learners())}")
    return {**(hyperparameters or {}), "fidelity_every": fidelity_every}


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


#: Version of the result record's layout (1: + code_commit, record_schema_version, compile_seconds).
RECORD_SCHEMA_VERSION = 1


def compile_seconds(buffer) -> float:
    """Seconds inside numba compilations, from a ``numba.core.event`` recorder's buffer of
    ``(timestamp, event)`` pairs: the outermost start-end intervals (nested compilations of
    called functions lie inside them), summed."""
    total, depth, began = 0.0, 0, 0.0
    for timestamp, happening in buffer:
        if happening.is_start:
            depth += 1
            began = timestamp if depth == 1 else began
        elif happening.is_end and depth:
            depth -= 1
            total += timestamp - began if depth == 0 else 0.0
    return total


@functools.lru_cache(maxsize=1)
def code_commit() -> str | None:
    """The git commit of the package's source when it runs from a git checkout (an editable
    install: the checkout's top level holds the ``rtrlbench`` folder), else None (a wheel)."""
    import subprocess

    source = Path(rtrlbench.__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "--show-toplevel", "HEAD"], cwd=source, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.stdout.split()
    if out.returncode != 0 or len(lines) != 2 or Path(lines[0]).resolve() != source.parent:
        return None
    return lines[1]


def default_chunk_size(obs_dim: int) -> int:
    """Steps per chunk: about 1 MB of float32 observations, so each fresh chunk stays in cache
    (a 72 MB chunk of 275-input Atari steps streamed 3x slower than a 1 MB one)."""
    return max(1024, min(65_536, (1 << 20) // (4 * obs_dim)))


def result_filename(record: dict) -> str:
    return f"{record['env_id'].replace('/', '_')}__{record['learner']}__seed{record['seed']}__{record['steps']}.json"
