"""The Atari prediction benchmark of Javed et al. (2023) §5.1, read from the per-game HDF5 data set."""
from __future__ import annotations

import hashlib
import os
from typing import NamedTuple

import gymnasium as gym
import numba as nb
import numpy as np

from rtrlbench.envs.stream import PredictionEnv, Stream, StreamChunk
from rtrlbench.validation import choice, unit_interval

N_PIXELS = 256
N_ACTION_SLOTS = 18
#: 256 pixels, 18 action slots, 1 reward.
OBS_DIM = N_PIXELS + N_ACTION_SLOTS + 1


class Episodes(NamedTuple):
    """A data set in the form the stream kernel reads.

    frames:  uint8[N, 256], flattened 16x16 screens.
    actions: int8[N], minimal-action index (-1 on a reset step).
    rewards: int8[N], clipped reward in {-1, 0, 1}.
    starts, lengths: int64[E], first step and length of each episode used.
    """

    frames: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray

    @property
    def steps(self) -> int:
        return int(self.lengths.sum())


def load_episodes(game: str, data_dir=None, unfinished_episode: str = "drop") -> Episodes:
    """Read ``game``'s data set (generating it first if only its policy is cached).

    ``unfinished_episode="drop"`` leaves out the last episode when the recording stopped
    before it ended (its returns would be cut short); ``"keep"`` keeps it.
    """
    from rtrlbench.data_tools import generate, hdf5_dataset, policies

    path = hdf5_dataset.dataset_path(game, policies.data_dir(data_dir))
    if not path.is_file():
        if not policies.has_local_policy(game, data_dir):
            flag = "" if data_dir is None else f" --data-dir {data_dir}"
            raise FileNotFoundError(
                f"the AtariPrediction data set for {game} is not at {path}; create it with "
                f"`rtrlbench data fetch-policies {game}{flag} && rtrlbench data atari --game {game}{flag}`"
            )
        generate.generate(game, data_dir=data_dir, progress=True)
    data = hdf5_dataset.read_dataset(path)
    starts, lengths = data.episode_bounds
    if unfinished_episode == "drop" and not data.last_finished:
        if len(starts) == 1:
            raise ValueError(f"the {game} data set holds a single unfinished episode; "
                             "pass unfinished_episode='keep' to use it anyway")
        starts, lengths = starts[:-1], lengths[:-1]
    return Episodes(data.frames.reshape(len(data), N_PIXELS), data.actions, data.clipped_rewards, starts, lengths)


class AtariStream(Stream):
    """Loops over a game's episodes: the first pass in recorded order, later passes shuffled by the seed."""

    obs_dim = OBS_DIM

    def __init__(self, episodes: Episodes, discount: float, seed: int) -> None:
        self.episodes = episodes
        self.discount = float(discount)
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(len(episodes.starts), dtype=np.int64)
        self._cursor = np.zeros(2, dtype=np.int64)  # [position in the pass's order, step within the episode]
        #: Completed passes over the data set.
        self.passes = 0

    def next_chunk(self, num_steps: int) -> StreamChunk:
        obs = np.empty((num_steps, OBS_DIM), dtype=np.float32)
        cumulant = np.empty(num_steps)
        gamma = np.empty(num_steps)
        e = self.episodes
        done = 0
        while True:
            done = _fill(e.frames, e.actions, e.rewards, e.starts, e.lengths, self._order, self._cursor,
                         self.discount, obs, cumulant, gamma, done)
            if done == num_steps:
                return StreamChunk(obs, cumulant, gamma)
            self._order = self._rng.permutation(len(e.starts))
            self._cursor[:] = 0
            self.passes += 1


@nb.njit(cache=True)
def _fill(frames, actions, rewards, starts, lengths, order, cursor, discount, obs, cumulant, gamma, done):
    """Write steps into ``obs[done:]`` etc. until full or the pass ends; return the new ``done``."""
    k, offset = cursor[0], cursor[1]
    scale = np.float32(1.0 / 256.0)  # the paper divides by 256 (not 255); exact in float32
    n_pixels = frames.shape[1]
    i = done
    while i < obs.shape[0] and k < order.shape[0]:
        j = starts[order[k]] + offset
        row = obs[i]
        for p in range(n_pixels):
            row[p] = frames[j, p] * scale
        for a in range(n_pixels, obs.shape[1]):
            row[a] = 0.0
        if actions[j] >= 0:
            row[n_pixels + actions[j]] = 1.0
        row[obs.shape[1] - 1] = rewards[j]
        cumulant[i] = rewards[j]
        gamma[i] = 0.0 if offset == 0 else discount
        i += 1
        offset += 1
        if offset == lengths[order[k]]:
            k += 1
            offset = 0
    cursor[0], cursor[1] = k, offset
    return i


class AtariPredictionEnv(PredictionEnv):
    """Atari prediction benchmark (Javed, Shah, Sutton & White 2023, §5.1).

    ## Description
    Policy evaluation of an expert: a pretrained Rainbow-DQN agent's recorded greedy play
    of an Atari game, replayed in the Arcade Learning Environment at the emulator's own
    frame rate (one step per frame) and shrunk to 16x16 grayscale. The learner predicts
    the discounted sum of future clipped rewards from the stream of frames, actions and
    rewards; a single 16x16 frame rarely shows the game state (in Pong the ball is often
    invisible), so good predictions need memory.

    The stream loops over the game's data set (about 250,000 steps): the first pass reads
    the episodes in recorded order; each later pass reads them in a new order drawn from
    the seed. A 50M-step run makes about 200 passes. Episodes never bleed into each other.

    The data set is ``<data dir>/atari/<Game>.h5``, made by ``rtrlbench data atari``
    (see ``rtrlbench data --help``); it is read on the first ``reset``, not at construction.

    ## Observation
    ``Box(-1, 1, (275,), float32)``, exactly the paper's features: indices 0..255 are the
    16x16 pixels (row-major) divided by 256; 256..273 one-hot the minimal-action index of
    the action just taken (all zero on an episode's first step); 274 is the clipped reward
    just received.

    ## Action
    ``Discrete(1)``: ignored (this is a prediction task).

    ## Rewards
    The reward of a step is the cumulant ``c_t``: the game reward received on the
    transition into ``x_t``, clipped to [-1, 1]. ``info["gamma"]`` is ``gamma_t``:
    ``gamma`` inside an episode and 0 on an episode's first step (the reset frame), so the
    target ``G_t = c_{t+1} + gamma_{t+1} G_{t+1}`` of an episode's last step is 0 and
    returns are never paired with the next episode's rewards (the authors' code paired
    the first episode's predictions and returns one step apart; this stream has no such
    offset).

    ## Episode end
    Never: the stream is continuing (``terminated`` and ``truncated`` are always False);
    game episodes are marked by ``gamma = 0``.

    ## Arguments
    * ``game`` ("Pong"): a game with a recorded policy (``rtrlbench data games``).
    * ``gamma`` (0.98): discount inside an episode, in [0, 1].
    * ``data_dir`` (None): data folder; default ``$RTRLBENCH_DATA_DIR`` or ``~/.cache/rtrlbench``.
    * ``unfinished_episode`` ("drop"): "drop" leaves out a last episode the recording cut
      short (its returns are unknown), "keep" uses it.

    ## Version History
    * v1: the data set replays the recording with one emulator reset before the first action,
      as it was recorded (data format 2), and generation proves every episode in step with the
      recorded play. The v0 data reset twice, which put 10 of the 50 local games out of step
      (Assault, BeamRider, ChopperCommand, DemonAttack, FishingDerby, Frostbite, Hero, IceHockey, Krull and Solaris: episodes whose game ended up to 75,000 frames before the recorded reset, or
      went on past it). The other 40 games' episodes are unchanged, but the streams of
      Berzerk (its first frame) and PrivateEye (some frames' animation phase) differ too. Results and references for v0 are not comparable with v1.
    * v0: initial version.
    """

    #: Steps at the end of a run whose return error is the score (the paper's last 200k steps).
    scoring_window = 200_000

    def __init__(self, game: str = "Pong", gamma: float = 0.98, data_dir: str | os.PathLike | None = None,
                 unfinished_episode: str = "drop") -> None:
        from rtrlbench.data_tools.policies import check_game

        super().__init__()
        self.game = check_game(game)
        unit_interval("gamma", gamma)
        choice("unfinished_episode", unfinished_episode, ("drop", "keep"))
        self.gamma = float(gamma)
        self.data_dir = data_dir
        self.unfinished_episode = unfinished_episode
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (OBS_DIM,), np.float32)
        self._episodes: Episodes | None = None

    def episodes(self) -> Episodes:
        """The game's data set, read on first use."""
        if self._episodes is None:
            self._episodes = load_episodes(self.game, self.data_dir, self.unfinished_episode)
        return self._episodes

    def stream(self, seed: int) -> AtariStream:
        return AtariStream(self.episodes(), self.gamma, seed)

    @property
    def dataset_checksum(self) -> str:
        """SHA-256 of exactly the data the stream reads (frames, actions, clipped rewards and the
        episodes used), so that regenerating a data set gives the same checksum (the HDF5 file
        itself also stores a creation time). The leaderboard matches results by it."""
        episodes = self.episodes()
        digest = hashlib.sha256()
        for array in (episodes.frames, episodes.actions, episodes.rewards, episodes.starts, episodes.lengths):
            digest.update(np.ascontiguousarray(array).tobytes())
        return "data-sha256:" + digest.hexdigest()

    def __getstate__(self):
        # Pickle without the data set (it is re-read lazily); a live stream keeps its own copy.
        state = dict(self.__dict__)
        state["_episodes"] = None
        return state
