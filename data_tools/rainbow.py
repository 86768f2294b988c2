"""Record a pfrl Rainbow agent's greedy play as an action file (the recorded policies' format).

The agent is built as in pfrl's Atari reproduction script
(``examples/atari/reproduction/rainbow/train_rainbow.py``): a distributional dueling
DQN (51 atoms on [-10, 10]) with factorised noisy layers (sigma 0.5) inside a
``CategoricalDoubleDQN`` agent, whose weights ``agent.load`` reads from a folder written
by ``agent.save``. It plays through the same ALE settings as the replay (frame skip 1,
no sticky actions, fixed emulator seed) behind pfrl's evaluation preprocessing,
re-implemented here on the ALE so that gym is not needed:

* up to 30 no-op frames after each reset (``NoopResetEnv``, drawn from ``seed``);
* each decision repeated for 4 frames, observation = max of the last two
  (``MaxAndSkipEnv``);
* RGB screen -> ``cv2.cvtColor(RGB2GRAY)`` -> ``cv2.resize`` to 84x84 with
  ``INTER_AREA`` (``WarpFrame``), stacked 4 deep (``FrameStack``), scaled by 1/255;
* no life-loss episodes or reward clipping (as in pfrl's evaluation env); an episode
  also ends after 108,000 frames (``ContinuingTimeLimit``, 30 minutes of play).

Every emulator frame is written as one byte (``'R'`` for a reset, ``'a' + index`` for a
minimal-action index), so the file replays through :mod:`replay` like a recorded one.
"""
from __future__ import annotations

import contextlib
import io
import os
from collections import deque
from pathlib import Path

import numpy as np

from rtrlbench.atomic import atomic_path
from rtrlbench.terminal import show_progress
from rtrlbench.data_tools.replay import ACTION_BASE, DECISION_FRAMES, MAX_EPISODE_FRAMES, RESET_BYTE, make_ale, require

N_ATOMS, V_MIN, V_MAX = 51, -10.0, 10.0
NOISY_NET_SIGMA = 0.5
FRAME_SKIP, FRAME_STACK, NOOP_MAX = DECISION_FRAMES, 4, 30
OBS_SIDE = 84


def _phi(x):
    return np.asarray(x, dtype=np.float32) / 255


def _pfrl():
    # pfrl imports the old gym, which prints a notice urging Gymnasium; no gym code runs here.
    with contextlib.redirect_stderr(io.StringIO()):
        return require("pfrl", "rainbow")


def make_agent(n_actions: int):
    """pfrl's Rainbow agent for ``n_actions`` actions, untrained, on the CPU."""
    pfrl = _pfrl()
    torch = require("torch", "rainbow")
    q_func = pfrl.q_functions.DistributionalDuelingDQN(n_actions, N_ATOMS, V_MIN, V_MAX)
    pfrl.nn.to_factorized_noisy(q_func, sigma_scale=NOISY_NET_SIGMA)
    optimizer = torch.optim.Adam(q_func.parameters(), 6.25e-5, eps=1.5e-4)
    # Acting never touches the replay buffer; a small one keeps the agent light.
    buffer = pfrl.replay_buffers.PrioritizedReplayBuffer(
        10**4, alpha=0.5, beta0=0.4, betasteps=10**6, num_steps=3, normalize_by_max="memory")
    return pfrl.agents.CategoricalDoubleDQN(
        q_func, optimizer, buffer, gpu=-1, gamma=0.99, explorer=pfrl.explorers.Greedy(), minibatch_size=32,
        replay_start_size=10**4, target_update_interval=32_000, update_interval=4, batch_accumulator="mean",
        phi=_phi)


def load_agent(agent_dir: str | os.PathLike, n_actions: int):
    """A Rainbow agent with the weights ``agent.save(agent_dir)`` wrote."""
    agent_dir = Path(agent_dir)
    if not (agent_dir / "model.pt").is_file():
        raise FileNotFoundError(f"{agent_dir} holds no pfrl agent (no model.pt); pass a folder written by agent.save")
    agent = make_agent(n_actions)
    try:
        agent.load(str(agent_dir))
    except RuntimeError as error:  # shape mismatch: another game's or another network's weights
        raise ValueError(f"the agent in {agent_dir} does not fit pfrl's Rainbow network with {n_actions} "
                         f"actions: {str(error).splitlines()[0]}") from None
    return agent


def download_pretrained(game: str, model_type: str = "best") -> str:
    """Folder of pfrl's model-zoo Rainbow agent for ``game`` (downloads it; needs internet)."""
    pfrl = _pfrl()
    try:
        path, _ = pfrl.utils.download_model("Rainbow", f"{game}NoFrameskip-v4", model_type=model_type)
    except Exception as error:  # urllib, zipfile and HTTP errors alike
        raise RuntimeError(f"could not download pfrl's pretrained Rainbow agent for {game}: {error}; "
                           "download it elsewhere and pass its folder with --agent-dir") from None
    return path


class PfrlAtari:
    """The ALE behind pfrl's evaluation wrappers, logging every frame's action byte in ``record``."""

    def __init__(self, game: str, seed: int) -> None:
        self._cv2 = require("cv2", "atari")
        self.ale = make_ale(game)
        self.minimal = list(self.ale.getMinimalActionSet())
        self.rng = np.random.default_rng(seed)
        self.record = bytearray()
        self.returns: list[int] = []
        self._frames = deque(maxlen=FRAME_STACK)
        self._episode_frames = 0
        self._return = 0
        self._just_made = True  # make_ale's reset is the first episode's: never reset twice in a row

    @property
    def n_actions(self) -> int:
        return len(self.minimal)

    def reset(self) -> np.ndarray:
        """Reset, take 1..30 no-ops; uint8[4, 84, 84] observation."""
        self._reset_game()
        for _ in range(int(self.rng.integers(1, NOOP_MAX + 1))):
            self._frame(0)
            if self._done():
                self._reset_game()
        frame = self._warp(self._screen())
        for _ in range(FRAME_STACK):
            self._frames.append(frame)
        return np.stack(self._frames)

    def step(self, action: int) -> tuple[np.ndarray, bool]:
        """Repeat ``action`` for 4 frames; (observation, episode over)."""
        screens = []
        for _ in range(FRAME_SKIP):
            self._frame(action)
            screens.append(self._screen())
            if self._done():
                break
        self._frames.append(self._warp(np.maximum(screens[-2], screens[-1]) if len(screens) > 1 else screens[-1]))
        return np.stack(self._frames), self._done()

    def _reset_game(self) -> None:
        if self._episode_frames:
            self.returns.append(self._return)
        if not self._just_made:
            self.ale.reset_game()
        self._just_made = False
        self.record.append(RESET_BYTE)
        self._episode_frames = self._return = 0

    def _frame(self, action: int) -> None:
        self._return += self.ale.act(self.minimal[action])
        self.record.append(ACTION_BASE + action)
        self._episode_frames += 1

    def _done(self) -> bool:
        return self.ale.game_over() or self._episode_frames >= MAX_EPISODE_FRAMES

    def _screen(self) -> np.ndarray:
        return self.ale.getScreenRGB()

    def _warp(self, rgb: np.ndarray) -> np.ndarray:
        gray = self._cv2.cvtColor(rgb, self._cv2.COLOR_RGB2GRAY)
        return self._cv2.resize(gray, (OBS_SIDE, OBS_SIDE), interpolation=self._cv2.INTER_AREA)


def play(game: str, agent, steps: int, seed: int = 0, progress: bool = False) -> PfrlAtari:
    """Let ``agent`` play ``game`` greedily until ``steps`` frames are logged; the env, with its record.

    The record is cut to exactly ``steps`` bytes (possibly mid-episode).
    """
    torch = require("torch", "rainbow")
    from tqdm import tqdm

    torch.manual_seed(seed)  # the noisy layers draw fresh noise at every forward pass
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # batch-1 inference: extra threads only contend (5x slower on 2 busy cores)
    env = PfrlAtari(game, seed)
    bar = tqdm(total=steps, desc=f"rainbow {game}", unit="frame", unit_scale=True, disable=not show_progress(progress))
    try:
        with agent.eval_mode():
            obs, done = env.reset(), False
            while len(env.record) < steps:
                if done:
                    obs = env.reset()
                obs, done = env.step(int(agent.act(obs)))
                agent.observe(obs, 0.0, done, False)
                bar.update(min(len(env.record), steps) - bar.n)
    finally:
        bar.close()
        torch.set_num_threads(threads)
    del env.record[steps:]
    return env


def record(game: str, agent_dir: str | os.PathLike, out: str | os.PathLike, steps: int = 250_000, seed: int = 0,
           progress: bool = False) -> Path:
    """Load the agent in ``agent_dir``, let it play ``steps`` frames of ``game``, write the action file ``out``."""
    if steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    probe = make_ale(game)
    agent = load_agent(agent_dir, len(probe.getMinimalActionSet()))
    env = play(game, agent, steps, seed, progress)
    with atomic_path(out) as tmp:
        tmp.write_bytes(bytes(env.record))
    return Path(out)
