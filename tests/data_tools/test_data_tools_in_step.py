"""The replay is proved in step with the recorded play, episode by episode, and refused when it is not."""
import numpy as np
import pytest

pytest.importorskip("ale_py", reason="the atari extra (ale-py) is not installed")
pytest.importorskip("cv2", reason="the atari extra (opencv) is not installed")

from rtrlbench.data_tools import generate, hdf5_dataset, in_step, replay  # noqa: E402
from rtrlbench.data_tools.replay import DECISION_FRAMES, MAX_EPISODE_FRAMES, Rollout  # noqa: E402

PONG_FIRST_RESET = 6645  # byte of Pong's first recorded reset; ALE's game over shows at step 6643


def _policy(policy_dir, game) -> bytes:
    return (policy_dir / f"{game}NoFrameskip-v4.txt").read_bytes()


@pytest.mark.parametrize("game, episodes, timed_out, returns", [
    # Breakout's 60 is a real recorded episode: it has no game over and exactly the recorder's 108,000 frames.
    ("Breakout", 6, 2, [362, 355, 378, 60, 406, 359]),
    # Assault is one of the games that a second reset before the first action puts out of step (below).
    ("Assault", 18, 0, [0] * 18),
])
def test_whole_shipped_files_replay_in_step(game, episodes, timed_out, returns, policy_dir):
    rollout = replay.replay(game, _policy(policy_dir, game))
    report = in_step.check_in_step(rollout, game)
    assert (report.episodes, report.in_step, report.timed_out, report.last_cut_short) == (episodes, episodes,
                                                                                          timed_out, True)
    assert replay.episode_returns(rollout.rewards, rollout.episode_starts)[:-1].tolist() == returns
    # In the authors' files ALE's game over first shows exactly 2 frames before every recorded reset.
    starts = np.flatnonzero(rollout.episode_starts)
    for start, reset in zip(starts[:-1], starts[1:]):
        over = np.flatnonzero(rollout.game_over[start:reset])
        assert (reset - start - 1 == MAX_EPISODE_FRAMES and len(over) == 0) or reset - (start + over[0]) == 2


def test_a_second_reset_before_the_first_action_is_refused(policy_dir):
    """The old reading (reset on creating the ALE, then again for the file's first byte) of Assault:
    its game ends at frame 3,714 instead of at the recorded reset at frame 9,092."""
    data = _policy(policy_dir, "Assault")[:9100]
    assert in_step.check_in_step(replay.replay("Assault", data), "Assault").episodes == 1
    twice = replay.replay("Assault", b"R" + data)  # an extra 'R' first: the emulator is reset twice
    with pytest.raises(in_step.OutOfStepError, match=r"episode 0 \(steps 0-0\): the recorded reset at step 1 "
                                                     r"comes after 0 frames of play"):
        in_step.check_in_step(twice, "Assault")
    # Drop the extra reset step: what is left is the old reading's stream, and its first episode is out of step.
    old_reading = Rollout(*(getattr(twice, field)[1:] for field in ("frames", "actions", "rewards", "episode_starts")),
                          twice.last_finished, twice.game_over[1:])
    with pytest.raises(in_step.OutOfStepError, match=r"Assault: the replay left the recorded play in episode 0 "
                                                     r"\(steps 0-9,091\): ALE reported game over at step 3,714, "
                                                     r"5,378 frames before the recorded reset at step 9,092"):
        in_step.check_in_step(old_reading, "Assault")


def test_a_reset_while_the_game_runs_is_refused(policy_dir):
    data = _policy(policy_dir, "Pong")
    early = data[:3000] + data[PONG_FIRST_RESET:PONG_FIRST_RESET + 500]  # the recorded reset moved 3,645 frames early
    with pytest.raises(in_step.OutOfStepError, match=r"episode 0 \(steps 0-2,999\): the recorded reset at step "
                                                     r"3,000 comes after 2,999 frames of play with the game still running"):
        in_step.check_in_step(replay.replay("Pong", early), "Pong")


def test_a_game_over_long_before_the_reset_or_the_data_end_is_refused(policy_dir):
    data = _policy(policy_dir, "Pong")
    late = data[:PONG_FIRST_RESET] + b"a" * 1000 + data[PONG_FIRST_RESET:PONG_FIRST_RESET + 100]
    with pytest.raises(in_step.OutOfStepError, match=r"episode 0 .*game over at step 6,643, 1,002 frames before "
                                                     r"the recorded reset at step 7,645"):
        in_step.check_in_step(replay.replay("Pong", late), "Pong")
    with pytest.raises(in_step.OutOfStepError, match=r"1,002 frames before the end of the data at step 7,645"):
        in_step.check_in_step(replay.replay("Pong", late[:PONG_FIRST_RESET + 1000]), "Pong")


def test_a_game_over_within_the_last_decision_is_in_step(policy_dir):
    data = _policy(policy_dir, "Pong")
    report = in_step.check_in_step(replay.replay("Pong", data[:PONG_FIRST_RESET + 10]), "Pong")
    assert (report.episodes, report.timed_out, report.last_cut_short) == (1, 0, True)
    # The data may end right after the game over: then the last episode is finished, not cut short.
    ended = in_step.check_in_step(replay.replay("Pong", data[:PONG_FIRST_RESET]), "Pong")
    assert (ended.episodes, ended.last_cut_short) == (1, False)
    assert "1 of 1 finished episode(s) in step" in ended.summary()


def _synthetic(lengths, over_at=None) -> Rollout:
    """A rollout of episodes of the given lengths (reset step included); ``over_at``: steps with game over."""
    n = sum(lengths)
    starts = np.zeros(n, dtype=bool)
    starts[np.cumsum([0] + lengths[:-1])] = True
    over = np.zeros(n, dtype=bool)
    over[list(over_at or [])] = True
    return Rollout(np.zeros((n, 16, 16), np.uint8), np.where(starts, -1, 0).astype(np.int8),
                   np.zeros(n, np.int32), starts, bool(over[-1]), over)


def test_the_frame_limit_rule_exactly():
    limit = MAX_EPISODE_FRAMES + 1  # the reset step and the limit's frames of play
    report = in_step.check_in_step(_synthetic([limit, 10]))
    assert (report.episodes, report.timed_out) == (1, 1)
    for frames in (MAX_EPISODE_FRAMES - 1, MAX_EPISODE_FRAMES + 1):
        with pytest.raises(in_step.OutOfStepError, match=f"after {frames:,} frames of play"):
            in_step.check_in_step(_synthetic([frames + 1, 10]))
    with pytest.raises(in_step.OutOfStepError, match="past the recorder's 108,000-frame limit"):
        in_step.check_in_step(_synthetic([limit + 5]))  # the last episode, cut short, is too long too
    # Game over may show up to DECISION_FRAMES frames before the reset, no earlier.
    in_step.check_in_step(_synthetic([50, 10], over_at=[50 - DECISION_FRAMES]))
    with pytest.raises(in_step.OutOfStepError, match=f"{DECISION_FRAMES + 1} frames before the recorded reset"):
        in_step.check_in_step(_synthetic([50, 10], over_at=[50 - DECISION_FRAMES - 1]))


def test_a_data_set_read_from_a_file_cannot_be_checked(tmp_path, policy_dir):
    result = generate.generate("Pong", data_dir=tmp_path, steps=50, policy_dir=policy_dir)
    with pytest.raises(ValueError, match="no game-over record"):
        in_step.check_in_step(hdf5_dataset.read_dataset(result.path))


def test_generation_refuses_an_out_of_step_replay_and_writes_nothing(policy_dir, tmp_path):
    bad = tmp_path / "desync.txt"
    bad.write_bytes(_policy(policy_dir, "Pong")[:3000] + b"R" + b"a" * 100)
    with pytest.raises(in_step.OutOfStepError, match="Pong: the replay left the recorded play in episode 0"):
        generate.generate("Pong", data_dir=tmp_path / "data", policy_file=bad)
    atari = tmp_path / "data" / "atari"
    assert not atari.exists() or not list(atari.iterdir())


def test_cli_names_the_episode_and_exits_2(policy_dir, tmp_path, capsys):
    from rtrlbench.cli import main

    bad = tmp_path / "desync.txt"
    bad.write_bytes(_policy(policy_dir, "Pong")[:3000] + b"R" + b"a" * 100)
    assert main(["data", "atari", "--game", "Pong", "--policy-file", str(bad), "--data-dir", str(tmp_path),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "error: Pong: the replay left the recorded play in episode 0 (steps 0-2,999)" in err
    assert "Traceback" not in err
