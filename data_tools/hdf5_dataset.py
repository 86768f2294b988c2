"""One HDF5 file per game holding a replayed rollout: the 16x16 Atari prediction data set.

Layout (``FORMAT_VERSION`` 2), N = number of steps (emulator frames):

* ``frames``         uint8[N, 16, 16]  downscaled grayscale screen after each step
* ``actions``        int8[N]           minimal-action index, -1 on a reset step
* ``rewards``        int32[N]          raw game reward
* ``clipped_rewards`` int8[N]          reward clipped to [-1, 1] (the cumulant)
* ``episode_starts`` bool[N]           True on reset steps (step 0 always)

Every data set is chunked, gzip-compressed and Fletcher-32 checksummed (a damaged chunk
fails to read). File attributes hold the metadata: game, ROM md5, policy source and
SHA-256, ALE settings, package versions, creation time, ``last_episode_finished``, and the
episode counts the replay was proved in step with (``episodes``, ``episodes_in_step``,
``episodes_timed_out``; see ``in_step.py``). Files are written to a temporary name and renamed
when complete, so a file at the final path is always whole; a Ctrl-C during the write stops it
(after the current HDF5 call) and leaves nothing behind.

Version history: 2 replays with one reset before the first action (version 1 reset twice,
which put 10 of the 50 games out of step with the recorded play); 1 was the first.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from rtrlbench.atomic import atomic_path, interrupts_deferred
from rtrlbench.data_tools.replay import FRAME_SIDE, Rollout

FORMAT_VERSION = 2
_CHUNK_STEPS = 4096
_ARRAYS = ("frames", "actions", "rewards", "clipped_rewards", "episode_starts")


class DatasetError(ValueError):
    """A data set file that is missing pieces, damaged or of another format."""


def dataset_path(game: str, data_dir: str | os.PathLike) -> Path:
    """``<data_dir>/atari/<Game>.h5``."""
    return Path(data_dir) / "atari" / f"{game}.h5"


def write_dataset(path: str | os.PathLike, rollout: Rollout, metadata: dict) -> Path:
    """Write ``rollout`` and ``metadata`` (JSON-able values) to ``path`` atomically.

    SIGINT is held back while HDF5 writes (h5py would print and swallow a KeyboardInterrupt
    raised inside its C callbacks, then finish and keep the file) and raised once the file is
    closed, before it is renamed into place: an interrupted write leaves nothing.
    """
    n = len(rollout)
    with atomic_path(path) as tmp, interrupts_deferred():
        with h5py.File(tmp, "w") as f:
            arrays = {
                "frames": rollout.frames,
                "actions": rollout.actions,
                "rewards": rollout.rewards,
                "clipped_rewards": np.clip(rollout.rewards, -1, 1).astype(np.int8),
                "episode_starts": rollout.episode_starts,
            }
            for name, array in arrays.items():
                f.create_dataset(name, data=array, chunks=(min(n, _CHUNK_STEPS),) + array.shape[1:],
                                 compression="gzip", compression_opts=4, fletcher32=True)
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["last_episode_finished"] = bool(rollout.last_finished)
            for key, value in metadata.items():
                f.attrs[key] = value if isinstance(value, (str, int, float, bool)) else json.dumps(value)
    return Path(path)


@dataclass(kw_only=True)
class AtariDataset(Rollout):
    """A data set file read into memory: the rollout, its clipped rewards (int8[N]) and metadata."""

    clipped_rewards: np.ndarray
    metadata: dict

    @property
    def episode_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """``(start, length)``, int64[E] each: where every episode begins and how many steps it has."""
        starts = np.flatnonzero(self.episode_starts).astype(np.int64)
        return starts, np.diff(np.append(starts, len(self)))


def read_metadata(path: str | os.PathLike) -> dict:
    """The file attributes of a data set, or a DatasetError saying what is wrong."""
    with _open(path) as f:
        return dict(f.attrs)


def read_dataset(path: str | os.PathLike) -> AtariDataset:
    """Read and validate a whole data set file; DatasetError names what is wrong and the fix."""
    with _open(path) as f:
        missing = [name for name in _ARRAYS if name not in f]
        if missing:
            raise _damaged(path, f"it lacks the data set(s) {', '.join(missing)}")
        try:
            arrays = {name: f[name][()] for name in _ARRAYS}
        except OSError as error:  # failed Fletcher-32 check or unreadable chunk
            raise _damaged(path, f"reading it failed ({error})") from None
        metadata = {key: (value.item() if isinstance(value, np.generic) else value) for key, value in f.attrs.items()}
    _validate(path, arrays, metadata)
    return AtariDataset(last_finished=bool(metadata["last_episode_finished"]), metadata=metadata, **arrays)


def _open(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no data set file at {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise _damaged(path, f"HDF5 cannot open it ({error})") from None
    version = f.attrs.get("format_version")
    if version != FORMAT_VERSION:
        f.close()
        raise _damaged(path, f"its format version is {version!r}, this package reads {FORMAT_VERSION}")
    return f


def _validate(path, arrays: dict, metadata: dict) -> None:
    n = len(arrays["actions"])
    if n == 0 or any(len(a) != n for a in arrays.values()):
        raise _damaged(path, f"its arrays have lengths {[len(a) for a in arrays.values()]}, expected equal and > 0")
    if arrays["frames"].shape[1:] != (FRAME_SIDE, FRAME_SIDE) or arrays["frames"].dtype != np.uint8:
        raise _damaged(path, f"frames are {arrays['frames'].dtype}{arrays['frames'].shape}, expected uint8[N, 16, 16]")
    if not arrays["episode_starts"][0]:
        raise _damaged(path, "its first step is not an episode start")
    if metadata.get("steps") != n:
        raise _damaged(path, f"it holds {n:,} steps but its metadata says {metadata.get('steps')!r}")


def _damaged(path, why: str) -> DatasetError:
    game = Path(path).stem
    return DatasetError(
        f"the data set file {path} is unusable: {why}. Delete it, or regenerate it with "
        f"`rtrlbench data atari --game {game} --force`"
    )
