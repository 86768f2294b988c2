"""Build a game's HDF5 data set: load a verified action file, replay it, prove it in step, write the file.

``generate`` does one game; ``generate_many`` runs several in parallel processes with a
progress bar. An existing complete file made from the same policy and step count (by this
format version) is reused unless ``force``. A replay that leaves the recorded play
(``in_step.check_in_step``) raises OutOfStepError and writes nothing.
"""
from __future__ import annotations

import datetime
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np

from rtrlbench.atomic import remove_stale_temporaries
from rtrlbench.terminal import show_progress
from rtrlbench.data_tools import hdf5_dataset, in_step, policies, replay


@dataclass
class GenerateResult:
    """What ``generate`` did for one game.

    returns:   int64[E], raw return of every finished episode.
    in_step:   ``{"episodes", "episodes_in_step", "episodes_timed_out"}`` as proved by the replay
               that made the file (read back from its metadata when reused).
    seconds, cpu_seconds: wall and CPU time of the replay and write (0 when reused).
    """

    game: str
    path: Path
    reused: bool
    steps: int
    returns: np.ndarray
    in_step: dict
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def generate(game: str, data_dir=None, steps: int | None = None, policy_dir=None, policy_file=None,
             force: bool = False, progress: bool = False) -> GenerateResult:
    """Write ``<data dir>/atari/<Game>.h5`` from the game's action file; return what was done.

    The action file comes from ``policy_file`` (any file in the action-file format, e.g.
    one recorded by ``rtrlbench data rainbow``), else ``policy_dir`` or the cache (the
    recorded Rainbow-DQN policy, checked against its shipped checksum). ``steps`` keeps
    only the first ``steps`` bytes (frames) of the action file.
    """
    game = policies.check_game(game)
    if steps is not None and steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    data, source = _policy_bytes(game, policy_dir, policy_file, data_dir)
    digest = policies.sha256(data)
    n = min(steps or len(data), len(data))
    path = hdf5_dataset.dataset_path(game, policies.data_dir(data_dir))
    remove_stale_temporaries(path)
    if not force and _reusable(path, digest, n):
        dataset = hdf5_dataset.read_dataset(path)
        counts = {key: dataset.metadata[key] for key in ("episodes", "episodes_in_step", "episodes_timed_out")}
        return GenerateResult(game, path, True, n, _finished_returns(dataset), counts)
    wall, cpu = time.perf_counter(), time.process_time()
    rollout = replay.replay(game, data, steps=n, progress=progress)
    report = in_step.check_in_step(rollout, game)
    hdf5_dataset.write_dataset(path, rollout, {**_metadata(game, source, digest, n), **report.metadata()})
    return GenerateResult(game, path, False, n, _finished_returns(rollout), report.metadata(),
                          time.perf_counter() - wall, time.process_time() - cpu)


#: Errors that fail one game of :func:`generate_many` without stopping the others.
GAME_ERRORS = (ValueError, FileNotFoundError, RuntimeError, OSError)


def generate_many(games: list[str], jobs: int | None = None, progress: bool = True, **kwargs) -> tuple[dict, dict]:
    """Run :func:`generate` for every game in ``jobs`` processes (default: all cores).

    Returns ``(results, errors)``: game -> GenerateResult, and game -> error message. The workers
    ignore SIGINT; a Ctrl-C reaches only this process, which kills them at once, removes the
    temporary files they leave and raises KeyboardInterrupt (finished games' files are kept).
    """
    from tqdm import tqdm

    games = [policies.check_game(g) for g in games]
    results, errors = {}, {}
    context = multiprocessing.get_context("spawn")  # no forked copies of this process's threads or numba state
    pool = context.Pool(processes=min(jobs or os.cpu_count(), len(games)), initializer=_ignore_sigint)
    try:
        tasks = pool.imap_unordered(_generate_one, [(game, kwargs) for game in games])
        for game, result, error in tqdm(tasks, total=len(games), desc="games", unit="game", disable=not show_progress(progress)):
            if error is None:
                results[game] = result
            else:
                errors[game] = error
        pool.close()
    except BaseException:
        pool.terminate()
        pool.join()
        data_dir = policies.data_dir(kwargs.get("data_dir"))
        for game in games:
            remove_stale_temporaries(hdf5_dataset.dataset_path(game, data_dir))
        raise
    pool.join()
    return results, errors


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _generate_one(task: tuple[str, dict]) -> tuple[str, GenerateResult | None, str | None]:
    game, kwargs = task
    try:
        return game, generate(game, **kwargs), None
    except GAME_ERRORS as error:
        return game, None, str(error)


def _policy_bytes(game, policy_dir, policy_file, data_dir) -> tuple[bytes, str]:
    if policy_file is not None:
        path = Path(policy_file)
        if not path.is_file():
            raise FileNotFoundError(f"no action file at {path}")
        return path.read_bytes(), str(path.resolve())
    return policies.load_policy(game, policy_dir=policy_dir, cache=data_dir)


def _reusable(path: Path, digest: str, steps: int) -> bool:
    if not path.is_file():
        return False
    try:
        meta = hdf5_dataset.read_metadata(path)
    except (hdf5_dataset.DatasetError, OSError):
        return False  # damaged: regenerate
    return meta.get("policy_sha256") == digest and meta.get("steps") == steps and "episodes_in_step" in meta


def _finished_returns(rollout: replay.Rollout) -> np.ndarray:
    returns = replay.episode_returns(rollout.rewards, rollout.episode_starts)
    return returns if rollout.last_finished else returns[:-1]


def _metadata(game: str, source: str, digest: str, steps: int) -> dict:
    return {
        "game": game,
        "rom_md5": replay.rom_md5(game),
        "policy_source": source,
        "policy_sha256": digest,
        "steps": steps,
        "ale_settings": replay.ALE_SETTINGS,
        "replay": "one reset (ALE's reset_game after loadROM) before the first action: the file's first byte",
        "preprocessing": "ALE getScreenGrayscale (the game's screen, 210x160 for most) -> cv2.resize to 16x16, default INTER_LINEAR",
        "versions": {**{name: _version(name) for name in ("rtrl-bench", "ale-py", "h5py", "numpy")},
                     "opencv": replay.require("cv2", "atari").__version__},
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _version(distribution: str) -> str | None:
    try:
        return importlib_metadata.version(distribution)
    except importlib_metadata.PackageNotFoundError:
        return None
