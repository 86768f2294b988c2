"""Replaying recorded actions in ALE and the per-game HDF5 data set (small step counts)."""
import os
import re
import sys

import h5py
import numpy as np
import pytest

pytest.importorskip("ale_py", reason="the atari extra (ale-py) is not installed")
cv2 = pytest.importorskip("cv2", reason="the atari extra (opencv) is not installed")

from rtrlbench.cli import main  # noqa: E402
from rtrlbench.data_tools import generate, hdf5_dataset, replay  # noqa: E402

STEPS = 7_000  # Pong's first episode ends after 6,645 frames


@pytest.fixture(scope="module")
def pong(policy_dir, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    result = generate.generate("Pong", data_dir=data_dir, steps=STEPS, policy_dir=policy_dir)
    return result, hdf5_dataset.read_dataset(result.path)


def _live(game, data: bytes, steps: int):
    """Independent replay: (frames uint8[steps,16,16], rewards int[steps]) straight from the ALE.

    One reset before the first action (``make_ale``'s, which is the file's first byte), as recorded.
    """
    ale = replay.make_ale(game)
    minimal = ale.getMinimalActionSet()
    frames, rewards = [], []
    for i, byte in enumerate(data[:steps]):
        if byte == ord("R"):
            if i:
                ale.reset_game()
            rewards.append(0)
        else:
            rewards.append(ale.act(minimal[byte - ord("a")]))
        frames.append(cv2.resize(ale.getScreenGrayscale(), (16, 16), interpolation=cv2.INTER_LINEAR))
    return np.array(frames), np.array(rewards)


def test_pong_scores_21_in_every_finished_episode(pong):
    result, dataset = pong
    assert result.steps == len(dataset) == STEPS and not result.reused
    assert list(result.returns) == [21]
    starts, lengths = dataset.episode_bounds
    assert list(starts) == [0, 6645] and list(lengths) == [6645, STEPS - 6645]
    assert dataset.metadata["last_episode_finished"] is False


def test_stored_frames_and_rewards_equal_a_live_replay(pong, policy_dir):
    _, dataset = pong
    data = (policy_dir / "PongNoFrameskip-v4.txt").read_bytes()
    frames, rewards = _live("Pong", data, STEPS)
    np.testing.assert_array_equal(dataset.frames, frames)
    np.testing.assert_array_equal(dataset.rewards, rewards)
    np.testing.assert_array_equal(dataset.clipped_rewards, np.clip(rewards, -1, 1))
    assert np.add.reduceat(rewards, [0, 6645]).tolist() == replay.episode_returns(dataset.rewards, dataset.episode_starts).tolist()
    assert dataset.actions[0] == -1 and dataset.actions[1] == data[1] - ord("a")


@pytest.mark.parametrize("game", ["AirRaid", "Carnival"])  # screens of 250 and 214 rows, not 210
def test_games_with_taller_screens_replay_like_the_live_ale(game, policy_dir):
    data = (policy_dir / f"{game}NoFrameskip-v4.txt").read_bytes()
    rollout = replay.replay(game, data, steps=300)
    frames, rewards = _live(game, data, 300)
    np.testing.assert_array_equal(rollout.frames, frames)
    np.testing.assert_array_equal(rollout.rewards, rewards)


@pytest.mark.parametrize("shape", [(210, 160), (250, 160), (214, 160)])
def test_sampled_pixels_are_all_the_resize_reads(shape):
    pixels = replay.sampled_pixels(*shape)
    assert len(pixels) == 32 * 32 and len(set(pixels.tolist())) == 32 * 32
    screen = np.random.default_rng(7).integers(0, 256, shape, dtype=np.uint8)
    masked = np.zeros_like(screen)
    masked.flat[pixels] = screen.flat[pixels]
    np.testing.assert_array_equal(replay.downscale(masked), replay.downscale(screen))
    screen.flat[pixels[0]] ^= 0xFF  # every sampled pixel matters
    assert not np.array_equal(replay.downscale(masked), replay.downscale(screen))


def test_blocks_redone_for_new_colours_equal_the_live_ale(policy_dir, monkeypatch):
    """With nothing learned up front, blocks fail, are restored and redone; frames stay exact."""
    redone = []
    reference = replay._emulate_reference
    monkeypatch.setattr(replay.BlockDownscaler, "learn_screen", lambda self, ale: None)
    monkeypatch.setattr(replay, "_emulate_reference", lambda *args: redone.append(1) or reference(*args))
    data = (policy_dir / "AirRaidNoFrameskip-v4.txt").read_bytes()
    rollout = replay.replay("AirRaid", data, steps=400, block=9)
    frames, rewards = _live("AirRaid", data, 400)
    assert 1 <= len(redone) < 400 // 9
    np.testing.assert_array_equal(rollout.frames, frames)
    np.testing.assert_array_equal(rollout.rewards, rewards)


@pytest.mark.parametrize("block", [0, replay.BLOCK_STEPS + 1])
def test_block_size_is_checked(block):
    with pytest.raises(ValueError, match="block must be between 1 and 128"):
        replay.replay("Pong", b"Raaa", block=block)


def test_journey_escape_replay_keeps_in_step_with_the_recording(policy_dir):
    """The recorded first episode ends (byte 'R') one step after ALE's game over, scoring -600;
    the same actions one frame late score -1,800, so a replay out of step would show."""
    data = (policy_dir / "JourneyEscapeNoFrameskip-v4.txt").read_bytes()
    assert data.index(b"R", 1) == 2952
    rollout = replay.replay("JourneyEscape", data, steps=2952)
    assert rollout.last_finished and replay.episode_returns(rollout.rewards, rollout.episode_starts).tolist() == [-600]
    late = replay.replay("JourneyEscape", b"Ra" + data[1:2951])
    assert replay.episode_returns(late.rewards, late.episode_starts).tolist() == [-1800]


def test_metadata(pong, policy_dir):
    meta = pong[1].metadata
    assert meta["game"] == "Pong" and meta["steps"] == STEPS and meta["format_version"] == 2
    assert meta["policy_sha256"] == generate.policies.checksums()["Pong"]
    assert meta["rom_md5"] == replay.rom_md5("Pong") and len(meta["rom_md5"]) == 32
    assert '"random_seed": 1731038949' in meta["ale_settings"]
    assert "ale-py" in meta["versions"] and meta["created"].endswith("+00:00")
    assert (meta["episodes"], meta["episodes_in_step"], meta["episodes_timed_out"]) == (1, 1, 0)
    assert meta["policy_source"] == str((policy_dir / "PongNoFrameskip-v4.txt").resolve())


def test_existing_file_is_reused_unless_forced(pong, policy_dir):
    result, _ = pong
    mtime = os.stat(result.path).st_mtime_ns
    again = generate.generate("Pong", data_dir=result.path.parents[1], steps=STEPS, policy_dir=policy_dir)
    assert again.reused and list(again.returns) == [21] and os.stat(result.path).st_mtime_ns == mtime


def test_regenerated_when_forced_or_when_the_request_differs(policy_dir, tmp_path):
    first = generate.generate("Pong", data_dir=tmp_path, steps=50, policy_dir=policy_dir)
    mtime = os.stat(first.path).st_mtime_ns
    forced = generate.generate("Pong", data_dir=tmp_path, steps=50, policy_dir=policy_dir, force=True)
    assert not forced.reused and os.stat(first.path).st_mtime_ns != mtime
    other = generate.generate("Pong", data_dir=tmp_path, steps=60, policy_dir=policy_dir)
    assert not other.reused and hdf5_dataset.read_metadata(first.path)["steps"] == 60


def test_bad_action_byte_is_named_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"Raaabbbgaa")  # Pong has 6 minimal actions: 'a'..'f'
    with pytest.raises(ValueError, match=r"byte 7 .*b'g'.*'a'..'f'"):
        generate.generate("Pong", data_dir=tmp_path, policy_file=bad)
    assert not (tmp_path / "atari").exists() or not any((tmp_path / "atari").iterdir())


def test_action_file_must_start_with_a_reset(tmp_path):
    with pytest.raises(ValueError, match="must start with 'R'"):
        replay.replay("Pong", b"aaaR")


def test_truncated_file_is_reported(pong, tmp_path):
    path = tmp_path / "atari" / "Pong.h5"
    path.parent.mkdir()
    data = pong[0].path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(hdf5_dataset.DatasetError, match=r"unusable: .*--game Pong --force"):
        hdf5_dataset.read_dataset(path)


def test_corrupted_chunk_is_reported(pong, tmp_path):
    path = tmp_path / "Pong.h5"
    path.write_bytes(pong[0].path.read_bytes())
    with h5py.File(path, "r") as f:
        offset = f["frames"].id.get_chunk_info(0).byte_offset
    raw = bytearray(path.read_bytes())
    raw[offset + 100] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(hdf5_dataset.DatasetError, match="reading it failed"):
        hdf5_dataset.read_dataset(path)


def test_damaged_file_is_regenerated(pong, policy_dir, tmp_path):
    path = hdf5_dataset.dataset_path("Pong", tmp_path)
    path.parent.mkdir()
    path.write_bytes(b"not an HDF5 file")
    result = generate.generate("Pong", data_dir=tmp_path, steps=50, policy_dir=policy_dir)
    assert not result.reused and len(hdf5_dataset.read_dataset(path)) == 50


def test_missing_ale_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ale_py", None)  # makes `import ale_py` fail
    with pytest.raises(RuntimeError, match=r"ale_py is needed .*pip install 'rtrl-bench\[atari\]'"):
        replay.make_ale("Pong")


def test_cli_atari(policy_dir, tmp_path, capsys):
    assert main(["data", "atari", "--game", "Pong", "--steps", "300", "--data-dir", str(tmp_path),
                 "--policy-dir", str(policy_dir), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"Pong: wrote .* \(300 steps in [\d.]+ s: [\d,]+ steps/s, [\d,]+ per CPU second\)", out)
    assert "0 of 0 finished episodes in step with the recorded play; no finished episode" in out
    assert main(["data", "atari", "--game", "Nope", "--data-dir", str(tmp_path)]) == 2
    assert "unknown Atari game 'Nope'" in capsys.readouterr().err
    # A game whose policy is not local fails alone, naming the command to fetch it.
    assert main(["data", "atari", "--games", "Pong", "Alien", "--steps", "300", "--jobs", "1", "--data-dir",
                 str(tmp_path), "--policy-dir", str(policy_dir), "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "Pong: reused" in captured.out and "Alien: FAILED" in captured.err
