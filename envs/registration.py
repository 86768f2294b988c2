"""Every env id the suite registers with Gymnasium (called once by ``import rtrlbench``).

Each entry: id -> (entry point, default kwargs, one-line summary for ``rtrlbench envs``).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import gymnasium as gym

_TRACE = "rtrlbench.envs.trace_patterning:TraceTaskEnv"

ENVS: dict[str, tuple[str, dict, str]] = {
    "TracePatterning-v0": (
        _TRACE, {},
        "6 CS bits, 3 on per pattern, 10 of 20 patterns followed by the US after ISI 14-26 steps; gamma 0.9",
    ),
    "TraceConditioning-v0": (
        _TRACE, {"n_cs": 1, "n_active": 1, "n_activating": 1},
        "one CS, always followed by the US after ISI 14-26 steps; gamma 0.9",
    ),
    "NoisyPatterning-v0": (
        _TRACE, {"distractor_probs": (0.05,) * 10, "us_noise": 0.1},
        "trace patterning with 10 distractor bits (p=0.05 each) and 10% of US outcomes flipped",
    ),
}

# Williams & Zipser (1989) temporal supervised tasks (gamma = 0; full targets in info["targets"]).
ENVS.update({
    "PipelinedXOR-v0": (
        "rtrlbench.envs.wz_pipelined_xor:PipelinedXOREnv", {},
        "Williams-Zipser: two random bits per step; target = their XOR delay=2 steps later",
    ),
    "SequenceRecognition-v0": (
        "rtrlbench.envs.wz_sequence_recognition:SequenceRecognitionEnv", {},
        "Williams-Zipser: one of 4 lines on per step; target 1 right after the first b that follows an a",
    ),
    "DelayedNonmatch-v0": (
        "rtrlbench.envs.wz_delayed_nonmatch:DelayedNonmatchEnv", {},
        "Williams-Zipser: pattern and cue bits; target 1 when the pattern differs from the one at the last cue",
    ),
    "BalancedParentheses-v0": (
        "rtrlbench.envs.wz_balanced_parentheses:BalancedParenthesesEnv", {},
        "Williams-Zipser: mimic a Turing machine's controller deciding balanced parentheses (4 action targets)",
    ),
    "Oscillation-v0": (
        "rtrlbench.envs.wz_oscillation:OscillationEnv", {},
        "Williams-Zipser: no input, produce 0101... (variant='double': 00110011..., 'sine': period 25)",
    ),
})

# Atari prediction (Javed et al. 2023 §5.1): one family id plus one id per game with a recorded policy.
#: The Atari ids' version (see AtariPredictionEnv's Version History): v1 reads the in-step replay.
ATARI_VERSION = "v1"
ATARI_FAMILY_ID = f"AtariPrediction-{ATARI_VERSION}"


def atari_env_id(game: str) -> str:
    """The per-game id, e.g. ``"AtariPrediction/Pong-v1"``."""
    return f"AtariPrediction/{game}-{ATARI_VERSION}"


_ATARI = "rtrlbench.envs.atari_prediction:AtariPredictionEnv"


def _atari_games() -> list[str]:
    """The games with a recorded policy, read from the checksum list the data package ships
    (the names only: the same list as ``rtrlbench.data_tools.policies.games()``, found without
    importing the data package, so that ``import rtrlbench`` stays off the Atari data layer)."""
    package = importlib.util.find_spec("rtrlbench.data_tools").submodule_search_locations[0]
    lines = (Path(package) / "policy_sha256sums.txt").read_text().split("\n")
    return sorted(line.split()[1].removesuffix("NoFrameskip-v4.txt") for line in lines if line.strip())


_ATARI_GAMES = _atari_games()
ENVS[ATARI_FAMILY_ID] = (
    _ATARI, {},
    f"Rainbow-DQN Atari play as 16x16 frame + action + clipped reward (275 inputs), gamma 0.98; "
    f"game=..., or {atari_env_id('<Game>')} ({len(_ATARI_GAMES)} games: `rtrlbench envs --atari`)",
)
# An empty summary keeps the per-game ids out of the `rtrlbench envs` listing.
ENVS.update({atari_env_id(game): (_ATARI, {"game": game}, "") for game in _ATARI_GAMES})


def register_all() -> None:
    for env_id, (entry_point, kwargs, _) in ENVS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, kwargs=dict(kwargs))


def listed_envs(atari_games: bool = False) -> dict[str, str]:
    """id -> summary of the tasks ``rtrlbench envs`` shows; a family's per-game ids (empty summary)
    are left out unless ``atari_games`` (``rtrlbench envs --atari``), which lists only those."""
    if atari_games:
        return {atari_env_id(game): f"AtariPrediction-{ATARI_VERSION} with game={game!r}" for game in _ATARI_GAMES}
    return {env_id: summary for env_id, (_, _, summary) in ENVS.items() if summary}


def unknown_env_message(env_id: str) -> str:
    """The error for an id the suite does not register: the close matches, the non-Atari ids,
    and the Atari ids as one pattern (not all 58 of them)."""
    import difflib

    close = difflib.get_close_matches(env_id, ENVS, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    return (f"unknown env {env_id!r}.{hint} The suite's envs are: {', '.join(listed_envs())}, and "
            f"{atari_env_id('<Game>')} ({len(_ATARI_GAMES)} games; `rtrlbench envs --atari` lists them)")
