"""Replay a recorded action file in the Arcade Learning Environment and downscale its screens.

An action file (see ``../shared/atari_policies/README.md``) is a byte stream with one byte
per emulator frame: ``'R'`` (82) resets the game, any other byte ``b`` takes action
``b - 97`` of ALE's *minimal* action set. The file starts with ``'R'``.

Every byte is one step of the rollout, exactly as the paper's C++ code built it: after
acting (or resetting), the grayscale screen (210x160 for most games) is resized with OpenCV's default
(bilinear) interpolation to 16x16. A reset step has no action (stored as -1) and reward 0.

The emulator is reset exactly once before the first action, as the recording was made: the
file's first byte is that reset (the authors' C++ reader starts at the second byte). Resetting
again for it is *not* harmless: on 10 of the 50 games (Assault, BeamRider, ChopperCommand, DemonAttack, FishingDerby, Frostbite, Hero, IceHockey, Krull and Solaris)
it puts the emulator out of step with the recorded play (docs/atari.md). :func:`check_in_step` proves every episode in step.
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
#: The recorder's episode limit in frames (pfrl's evaluation: 27,000 decisions of 4 frames, 30 minutes
#: of play): a recorded reset with the game still running is in step only after exactly this many frames.
MAX_EPISODE_FRAMES = 108_000
#: Frames per agent decision. The recorder finishes the decision in which the game ended, so ALE's
#: game over must first show within the last this-many frames before the recorded reset (in the
#: authors' 50 files it shows exactly 2 frames before it, in every episode; our recorder: 1).
DECISION_FRAMES = 4


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
    """An ``ALEInterface`` with the recorded-play settings, the game loaded and reset once.

    That reset is the recording's only one before its first action (the action file's first byte).
    """
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
    """uint8[16, 16]: a grayscale screen resized with OpenCV's default (bilinear) interpolation.

    This is the definition of a stored frame; :func:`replay` computes the same bytes faster.
    """
    cv2 = require("cv2", "atari")
    return cv2.resize(screen, (FRAME_SIDE, FRAME_SIDE), dst=out)


def sampled_pixels(height: int, width: int) -> np.ndarray:
    """int64[K]: flat indices of the screen pixels :func:`downscale` reads (32x32 of a 210x160 screen).

    Found by flipping every row and column of a random screen and keeping those that change
    the result, then checked: a screen with every other pixel zeroed downscales the same.
    So this follows OpenCV's own interpolation rather than a formula for it.
    """
    rng = np.random.default_rng(0)
    screen = rng.integers(0, 256, (height, width), dtype=np.uint8)
    small = downscale(screen)

    def read(axis: int) -> np.ndarray:
        flipped = [k for k in range(screen.shape[axis])
                   if not np.array_equal(small, downscale(_flip(screen, axis, k)))]
        return np.array(flipped, dtype=np.int64)

    rows, cols = read(0), read(1)
    pixels = (rows[:, None] * width + cols).ravel()
    for _ in range(3):
        other = rng.integers(0, 256, (height, width), dtype=np.uint8)
        masked = np.zeros_like(other)
        masked.flat[pixels] = other.flat[pixels]
        if not np.array_equal(downscale(other), downscale(masked)):
            raise RuntimeError("this OpenCV's resize reads more pixels than the bilinear taps; "
                               "the fast replay path cannot be used with it")
    return pixels


def _flip(screen: np.ndarray, axis: int, k: int) -> np.ndarray:
    flipped = screen.copy()
    index = (k, slice(None)) if axis == 0 else (slice(None), k)
    flipped[index] = 255 - flipped[index]
    return flipped


#: Steps emulated between two downscaling passes (OpenCV 5 resizes at most 128 channels at once).
BLOCK_STEPS = 128


class BlockDownscaler:
    """Frames of a block of steps from the raw ALE screens, equal byte for byte to
    ``downscale(ale.getScreenGrayscale())`` after each step.

    ALE's grayscale conversion maps all 33,600 pixels through its palette (~28 us, ~15% of an
    emulator step), yet the bilinear resize reads only 1,024 of them. So each step copies the
    raw screen (palette indices, ``ale.getScreen``, ~1.6 us) into ``screen`` and keeps its
    sampled pixels (``pixels``) in the next of ``slots``, while both are still in cache. Once
    per block the kept pixels go through a palette-to-gray table learned from this ALE's own
    screens, and one multi-channel ``cv2.resize`` shrinks the whole block. A palette index the
    table has not seen makes :meth:`downscale` return False; the caller then redoes the block
    the reference way, which teaches the table (see :func:`replay`).

    screen: uint8[height, width], buffer for ``ale.getScreen``.
    pixels: int64[K], flat indices into ``screen`` of the pixels the resize reads.
    slots:  ``block`` uint8[K] views, the kept pixels of each step of the block.
    """

    def __init__(self, ale, block: int = BLOCK_STEPS):
        if not 1 <= block <= BLOCK_STEPS:
            raise ValueError(f"block must be between 1 and {BLOCK_STEPS} steps, got {block!r}")
        height, width = ale.getScreenDims()
        self.screen = np.empty((height, width), dtype=np.uint8)
        self.pixels = sampled_pixels(height, width)
        self._kept = np.empty((block, len(self.pixels)), dtype=np.uint8)
        self.slots = list(self._kept)  # made once: no per-step view objects
        self._canvas = np.zeros((height * width, block), dtype=np.uint8)  # column t: screen t, sampled pixels only
        self._canvas_image = self._canvas.reshape(height, width, block)  # channel t = screen t
        self._gray = np.zeros(256, dtype=np.uint8)
        self._known = np.zeros(256, dtype=np.uint8)
        self.learn_screen(ale)

    def learn(self, raw: np.ndarray, gray: np.ndarray) -> None:
        """Add the palette index -> gray pairs of ``raw`` and ``gray`` (uint8, same shape) to the table."""
        self._gray[raw] = gray
        self._known[raw] = 1

    def learn_screen(self, ale) -> None:
        """Learn every pixel of ALE's current screen."""
        self.learn(ale.getScreen(), ale.getScreenGrayscale())

    def downscale(self, steps: int, out: np.ndarray) -> bool:
        """Fill ``out`` (uint8[steps, 16, 16]) from the first ``steps`` slots; False if a colour is new."""
        cv2 = require("cv2", "atari")
        kept = self._kept[:steps]
        if cv2.LUT(kept, self._known).min() == 0:
            return False
        self._canvas[self.pixels, :steps] = cv2.LUT(kept, self._gray).T
        small = cv2.resize(self._canvas_image, (FRAME_SIDE, FRAME_SIDE))
        out[:] = small.reshape(FRAME_SIDE, FRAME_SIDE, -1)[:, :, :steps].transpose(2, 0, 1)
        return True


@dataclass
class Rollout:
    """A replayed action file, one entry per emulator frame (= per stream step).

    frames:         uint8[N, 16, 16], the downscaled grayscale screen after the step.
    actions:        int8[N], minimal-action index taken (-1 on a reset step).
    rewards:        int32[N], raw game reward of the step (0 on a reset step).
    episode_starts: bool[N], True on reset steps (step 0 is always one).
    last_finished:  whether the final episode ended (game over) within the data.
    game_over:      bool[N], ALE reported game over after the step (None for a data set read from a file).
    """

    frames: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    episode_starts: np.ndarray
    last_finished: bool
    game_over: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.actions)


def replay(game: str, data: bytes, steps: int | None = None, progress: bool = False,
           block: int = BLOCK_STEPS) -> Rollout:
    """Replay the first ``steps`` bytes (all by default) of an action file for ``game``.

    The ALE is created with :data:`ALE_SETTINGS` and reset once: that reset is the file's first
    byte (step 0, the screen after it), so the emulator is never reset twice in a row.
    Steps run in blocks of ``block`` (see :class:`BlockDownscaler`): the emulator state is
    saved before each block, and a block showing a colour that neither earlier screens nor its
    own last screen taught is restored and redone with ALE's own grayscale conversion (the
    emulator is deterministic), so every frame equals :func:`downscale` of ``getScreenGrayscale()``.
    """
    ale = make_ale(game)
    minimal = list(ale.getMinimalActionSet())
    actions = decode_actions(data[:steps] if steps else data, len(minimal), game)
    if actions[0] != NO_ACTION:
        raise ValueError(f"the action file for {game} must start with 'R' (a reset), got {data[:1]!r}")
    moves = [None if a == NO_ACTION else minimal[a] for a in actions.tolist()]
    n = len(moves)
    frames = np.empty((n, FRAME_SIDE, FRAME_SIDE), dtype=np.uint8)
    rewards = np.zeros(n, dtype=np.int32)
    game_over = np.zeros(n, dtype=bool)
    screens = BlockDownscaler(ale, block)
    downscale(ale.getScreenGrayscale(), frames[0])  # step 0: the screen after make_ale's reset, the file's first byte
    bar = _progress(n, game, progress)
    if bar is not None:
        bar.update(1)
    for start in range(1, n, block):
        stop = min(n, start + block)
        state = ale.cloneState(include_rng=True)
        _emulate(ale, moves[start:stop], rewards[start:stop], game_over[start:stop], screens)
        done = screens.downscale(stop - start, frames[start:stop])
        if not done:
            screens.learn_screen(ale)  # a new colour is usually still on the block's last screen
            done = screens.downscale(stop - start, frames[start:stop])
        if not done:
            ale.restoreState(state)
            _emulate_reference(ale, moves[start:stop], rewards[start:stop], game_over[start:stop],
                               frames[start:stop], screens)
        if bar is not None:
            bar.update(stop - start)
    if bar is not None:
        bar.close()
    return Rollout(frames, actions, rewards, actions == NO_ACTION, bool(ale.game_over()), game_over)


def _emulate(ale, moves: list, rewards: np.ndarray, game_over: np.ndarray, screens: BlockDownscaler) -> None:
    """The hot loop: act (``None``: reset) for each move, keep its reward, game over and sampled pixels."""
    act, reset, over, get_screen = ale.act, ale.reset_game, ale.game_over, ale.getScreen
    screen, pixels, keep = screens.screen, screens.pixels, screens.screen.reshape(-1).take
    for i, (move, slot) in enumerate(zip(moves, screens.slots)):
        if move is None:
            reset()
        else:
            reward = act(move)
            if reward:
                rewards[i] = reward
            if over():
                game_over[i] = True
        get_screen(screen)
        keep(pixels, out=slot)


def _emulate_reference(ale, moves: list, rewards: np.ndarray, game_over: np.ndarray, frames: np.ndarray,
                       screens: BlockDownscaler) -> None:
    """The same steps with ALE's grayscale screens, teaching ``screens`` every colour it samples."""
    gray, screen, pixels = np.empty_like(screens.screen), screens.screen, screens.pixels
    for i, move in enumerate(moves):
        rewards[i], game_over[i] = 0, False
        if move is None:
            ale.reset_game()
        else:
            rewards[i] = ale.act(move)
            game_over[i] = ale.game_over()
        ale.getScreenGrayscale(gray)
        downscale(gray, frames[i])
        ale.getScreen(screen)
        screens.learn(screen.reshape(-1).take(pixels), gray.reshape(-1).take(pixels))


def episode_returns(rewards: np.ndarray, episode_starts: np.ndarray) -> np.ndarray:
    """int64[E]: the summed reward of every episode (the last one possibly unfinished)."""
    starts = np.flatnonzero(episode_starts)
    return np.add.reduceat(rewards.astype(np.int64), starts) if len(starts) else np.zeros(0, np.int64)


def _progress(total: int, game: str, enabled: bool):
    from rtrlbench.terminal import show_progress

    if not show_progress(enabled):
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=f"replay {game}", unit="step", unit_scale=True, leave=False)
