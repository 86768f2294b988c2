"""Build a game's HDF5 data set: load a verified action file, replay it, write the file.

``generate`` does one game; ``generate_many`` runs several in parallel processes with a
progress bar. An existing complete file made from the same policy and step count is
reused unless ``force``.
"""
from __future__ import annotations

import datetime
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np

from rtrlbench.data_tools import hdf5_dataset, policies, replay


@dataclass
class GenerateResult:
    """What ``generate`` did for one game."""

    game: str
    path: Path
    reused: bool
    steps: int
    returns: np.ndarray  # int64[E], raw return of every finished episode


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
    if not force and _reusable(path, digest, n):
        dataset = hdf5_dataset.read_dataset(path)
        return GenerateResult(game, path, True, n, _finished_returns(dataset))
    rollout = replay.replay(game, data, steps=n, progress=progress)
    hdf5_dataset.write_dataset(path, rollout, _metadata(game, source, digest, n))
    return GenerateResult(game, path, False, n, _finished_returns(rollout))


def generate_many(games: list[str], jobs: int | None = None, progress: bool = True, **kwargs) -> tuple[dict, dict]:
    """Run :func:`generate` for every game in ``jobs`` processes (default: all cores).

    Returns ``(results, errors)``: game -> GenerateResult, and game -> error message.
    """
    from tqdm import tqdm

    games = [policies.check_game(g) for g in games]
    results, errors = {}, {}
    with ProcessPoolExecutor(max_workers=jobs or os.cpu_count()) as pool:
        futures = {pool.submit(generate, game, **kwargs): game for game in games}
        for future in tqdm(as_completed(futures), total=len(futures), desc="games", unit="game", disable=not progress):
            game = futures[future]
            try:
                results[game] = future.result()
            except (ValueError, FileNotFoundError, RuntimeError, OSError) as error:
                errors[game] = str(error)
    return results, errors


def _policy_bytes(game, policy_dir, policy_file, data_dir) -> tuple[bytes, str]:
    if policy_file is not None:
        path = Path(policy_file)
        if not path.is_file():
            raise FileNotFoundError(f"no action file at {path}")
        return path.read_bytes(), str(path.resolve())
    data, source = policies.load_policy(game, policy_dir=policy_dir, cache=data_dir)
    if policy_dir is None:  # the cached copy was downloaded from the pinned public source
        source = policies.POLICY_URL + policies.policy_filename(game)
    return data, source


def _reusable(path: Path, digest: str, steps: int) -> bool:
    if not path.is_file():
        return False
    try:
        meta = hdf5_dataset.read_metadata(path)
    except (hdf5_dataset.DatasetError, OSError):
        return False  # damaged: regenerate
    return meta.get("policy_sha256") == digest and meta.get("steps") == steps


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
