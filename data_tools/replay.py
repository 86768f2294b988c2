"""Replay a recorded action file in the Arcade Learning Environment and downscale its screens.

An action file (see ``../shared/atari_policies/README.md``) is a byte stream with one byte
per emulator frame: ``'R'`` (82) resets the game, any other byte ``b`` takes action
``b - 97`` of ALE's *minimal* action set. The file starts with ``'R'``.

Every byte is one step of the rollout, exactly as the paper's C++ code built it: after
acting (or resetting), the grayscale screen (210x160 for most games) is resized with OpenCV's default
(bilinear) interpolation to 16x16. A reset step has no action (stored as -1) and reward 0.
"""
from __future__ import annotations

import hashlib
import importlib
import re
from dataclasses import dataclass

import numpy as np

#: ALE settings under which the recorded actions reproduce the agents' play.
ALE_SETTINGS = {"random_seed": 1731038949, "repeat_action_probability": 0.0, "frame_skip": 1}
RESET_BYTE = ord("R")
ACTION_BASE = ord("a")
#: Side of the downscaled square frame, in pixels.
FRAME_SIDE = 16
#: Slots of the action one-hot (ALE's full action set); minimal-action indices fill the first ones.
N_ACTION_SLOTS = 18
#: ``actions`` value of a reset step.
NO_ACTION = -1


def require(module: str, extra: str):
    """Import ``module``, or raise a RuntimeError naming the pip extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise RuntimeError(
            f"{module} is needed for this and is not installed ({error}); "
            f"install it with: pip install 'rtrl-bench[{extra}]'"
        ) from None


def rom_id(game: str) -> str:
    """ale-py's ROM id of a game name: ``"MsPacman"`` -> ``"ms_pacman"``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", game).lower()


def rom_path(game: str) -> str:
    """Path of the game's ROM shipped with ale-py."""
    roms = require("ale_py.roms", "atari")
    try:
        return str(roms.get_rom_path(rom_id(game)))
    except Exception as error:  # ale-py raises its own error types for unknown ROMs
        raise ValueError(f"ale-py has no ROM for game {game!r} (ROM id {rom_id(game)!r}): {error}") from None


def rom_md5(game: str) -> str:
    """MD5 of the game's ROM file (ALE identifies ROMs by it)."""
    with open(rom_path(game), "rb") as rom:
        return hashlib.md5(rom.read()).hexdigest()


def make_ale(game: str, settings: dict | None = None):
    """An ``ALEInterface`` with the recorded-play settings, the game loaded and reset once."""
    ale_py = require("ale_py", "atari")
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # before construction: no banner on stderr
    ale = ale_py.ALEInterface()
    for key, value in (settings or ALE_SETTINGS).items():
        if isinstance(value, float):
            ale.setFloat(key, value)
        else:
            ale.setInt(key, int(value))
    ale.loadROM(rom_path(game))
    ale.reset_game()
    return ale


def decode_actions(data: bytes, n_actions: int, game: str = "this game") -> np.ndarray:
    """int8[N]: the minimal-action index of every byte of an action file, -1 for a reset.

    Raises ValueError naming the first byte that is neither ``'R'`` nor one of the
    ``n_actions`` minimal actions (``'a'`` .. ``chr(96 + n_actions)``).
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    if raw.size == 0:
        raise ValueError(f"the action file for {game} is empty")
    actions = raw.astype(np.int16) - ACTION_BASE
    is_reset = raw == RESET_BYTE
    bad = ~is_reset & ((actions < 0) | (actions >= n_actions))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"byte {i} of the action file for {game} is {data[i:i + 1]!r} ({raw[i]}): expected 'R' (reset) or "
            f"one of the {n_actions} minimal actions 'a'..{chr(ACTION_BASE + n_actions - 1)!r}; "
            "the file is corrupt or was recorded for another game"
        )
    actions[is_reset] = NO_ACTION
    return actions.astype(np.int8)


def downscale(screen: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """uint8[16, 16]: a grayscale screen resized with OpenCV's default (bilinear) interpolation."""
    cv2 = require("cv2", "atari")
    return cv2.resize(screen, (FRAME_SIDE, FRAME_SIDE), dst=out)


@dataclass
class Rollout:
    """A replayed action file, one entry per emulator frame (= per stream step).

    frames:         uint8[N, 16, 16], the downscaled grayscale screen after the step.
    actions:        int8[N], minimal-action index taken (-1 on a reset step).
    rewards:        int32[N], raw game reward of the step (0 on a reset step).
    episode_starts: bool[N], True on reset steps (step 0 is always one).
    last_finished:  whether the final episode ended (game over) within the data.
    """

    frames: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    episode_starts: np.ndarray
    last_finished: bool

    def __len__(self) -> int:
        return len(self.actions)


def replay(game: str, data: bytes, steps: int | None = None, progress: bool = False) -> Rollout:
    """Replay the first ``steps`` bytes (all by default) of an action file for ``game``.

    The ALE is created with :data:`ALE_SETTINGS` and reset once; the first byte (a reset)
    resets it again, which changes nothing, so both ways of reading the file agree.
    """
    ale = make_ale(game)
    minimal = list(ale.getMinimalActionSet())
    actions = decode_actions(data[:steps] if steps else data, len(minimal), game)
    if actions[0] != NO_ACTION:
        raise ValueError(f"the action file for {game} must start with 'R' (a reset), got {data[:1]!r}")
    n = len(actions)
    frames = np.empty((n, FRAME_SIDE, FRAME_SIDE), dtype=np.uint8)
    rewards = np.zeros(n, dtype=np.int32)
    height, width = ale.getScreenDims()  # 210x160 for most games; AirRaid, Carnival, Pooyan... are taller
    screen = np.empty((height, width), dtype=np.uint8)
    bar = _progress(n, game, progress)
    for i in range(n):
        a = actions[i]
        if a == NO_ACTION:
            ale.reset_game()
        else:
            rewards[i] = ale.act(minimal[a])
        ale.getScreenGrayscale(screen)
        downscale(screen, frames[i])
        if bar is not None and i % 10_000 == 9_999:
            bar.update(10_000)
    if bar is not None:
        bar.close()
    return Rollout(frames, actions, rewards, actions == NO_ACTION, bool(ale.game_over()))


def episode_returns(rewards: np.ndarray, episode_starts: np.ndarray) -> np.ndarray:
    """int64[E]: the summed reward of every episode (the last one possibly unfinished)."""
    starts = np.flatnonzero(episode_starts)
    return np.add.reduceat(rewards.astype(np.int64), starts) if len(starts) else np.zeros(0, np.int64)


def _progress(total: int, game: str, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=f"replay {game}", unit="step", unit_scale=True, leave=False)
