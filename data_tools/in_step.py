"""Prove a replay in step with the recorded play, episode by episode.

A recorded action file resets the game (byte ``'R'``) only when the recorded game ended: at
ALE's game over, or when the recorder's episode limit (:data:`replay.MAX_EPISODE_FRAMES` frames)
ran out. A replay that has fallen out of step shows it at the episode boundaries, where two
things can go wrong:

* the emulator reports game over long before the recorded reset: the stream then holds a
  frozen game-over screen with zero reward until the reset;
* the recorded reset comes while the emulator's game is still running, before the frame limit.

An episode is *in step* when ALE's game over first shows within the last
:data:`replay.DECISION_FRAMES` frames before its reset (the recorder finishes the decision in
which the game ended), or when it has no game over and exactly ``MAX_EPISODE_FRAMES`` frames of
play (*timed out*). The last episode, cut by the end of the data, is in step when it shows no
game over, or shows it only within its last ``DECISION_FRAMES`` frames, and is no longer than the
limit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rtrlbench.data_tools.replay import DECISION_FRAMES, MAX_EPISODE_FRAMES, Rollout


class OutOfStepError(ValueError):
    """The replay left the recorded play; the message names the first episode and frame where."""


@dataclass(frozen=True)
class StepReport:
    """What :func:`check_in_step` proved.

    episodes:       finished episodes (each ended by a recorded reset, or by game over at the data's end).
    in_step:        finished episodes proved in step (all of them: otherwise the check raises).
    timed_out:      of those, the episodes the recorder ended at its frame limit, with the game still running.
    last_cut_short: the data ends inside an episode (it is not counted in ``episodes``).
    """

    episodes: int
    in_step: int
    timed_out: int
    last_cut_short: bool

    def summary(self) -> str:
        timed = f", {self.timed_out} of them at the {MAX_EPISODE_FRAMES:,}-frame limit" if self.timed_out else ""
        cut = "; the last episode is cut short by the end of the data" if self.last_cut_short else ""
        return f"{self.in_step} of {self.episodes} finished episode(s) in step with the recording{timed}{cut}"

    def metadata(self) -> dict:
        """HDF5 attributes: ``episodes``, ``episodes_in_step``, ``episodes_timed_out``."""
        return {"episodes": self.episodes, "episodes_in_step": self.in_step, "episodes_timed_out": self.timed_out}


def check_in_step(rollout: Rollout, game: str = "this game") -> StepReport:
    """Check every episode of ``rollout`` (which must carry ``game_over``); raise OutOfStepError if one is not."""
    if rollout.game_over is None:
        raise ValueError("the rollout has no game-over record; check a fresh replay, not a data set read from a file")
    n = len(rollout)
    starts = np.flatnonzero(rollout.episode_starts)
    ends = np.append(starts[1:], n)  # the step of the next recorded reset, or the data's end
    timed_out = 0
    for episode, (start, end) in enumerate(zip(starts.tolist(), ends.tolist())):
        finished_by_reset = end < n
        over = np.flatnonzero(rollout.game_over[start:end])
        first_over = start + int(over[0]) if len(over) else None
        play = end - start - 1  # frames of play: every step of the episode but its reset
        why = _out_of_step(first_over, end, play, finished_by_reset)
        if why:
            raise OutOfStepError(
                f"{game}: the replay left the recorded play in episode {episode} (steps {start:,}-{end - 1:,}): "
                f"{why}. The emulator is not replaying what was recorded; check the ALE settings and version "
                f"(docs/atari.md) and that the action file belongs to this game"
            )
        timed_out += finished_by_reset and first_over is None
    last_cut_short = not rollout.game_over[starts[-1]:].any()
    episodes = len(starts) - last_cut_short
    return StepReport(episodes, episodes, timed_out, last_cut_short)


def _out_of_step(first_over: int | None, end: int, play: int, finished_by_reset: bool) -> str | None:
    """Why an episode is out of step, or None. ``end``: step of its recorded reset (or the data's end)."""
    if first_over is not None and end - first_over > DECISION_FRAMES:
        where = "the recorded reset at step" if finished_by_reset else "the end of the data at step"
        return (f"ALE reported game over at step {first_over:,}, {end - first_over:,} frames before {where} "
                f"{end:,} (at most {DECISION_FRAMES} are possible)")
    if first_over is None and finished_by_reset and play != MAX_EPISODE_FRAMES:
        return (f"the recorded reset at step {end:,} comes after {play:,} frames of play with the game still "
                f"running (the recorder resets only at game over or after {MAX_EPISODE_FRAMES:,} frames)")
    if play > MAX_EPISODE_FRAMES:
        return f"the episode runs {play:,} frames, past the recorder's {MAX_EPISODE_FRAMES:,}-frame limit"
    return None
