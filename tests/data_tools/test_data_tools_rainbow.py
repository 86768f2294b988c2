"""Recording a pfrl Rainbow agent's play as an action file (a randomly initialised agent)."""
import sys
import types

import numpy as np
import pytest

pytest.importorskip("ale_py", reason="the atari extra (ale-py) is not installed")
pytest.importorskip("torch", reason="the rainbow extra needs torch: pip install torch==2.13.0")
pytest.importorskip("pfrl", reason="the rainbow extra (pfrl) is not installed: pip install pfrl")

from rtrlbench.cli import main  # noqa: E402
from rtrlbench.data_tools import hdf5_dataset, rainbow, replay  # noqa: E402

FRAMES = 400


@pytest.fixture(scope="module")
def agent_dir(tmp_path_factory):
    import torch

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("agent")
    rainbow.make_agent(6).save(str(path))  # Pong: 6 minimal actions
    return path


@pytest.fixture(scope="module")
def recorded(agent_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("rec") / "pong.txt"
    rainbow.record("Pong", agent_dir, out, steps=FRAMES, seed=3)
    return out.read_bytes()


def test_record_is_a_valid_action_file(recorded):
    assert len(recorded) == FRAMES and recorded[:1] == b"R"
    actions = replay.decode_actions(recorded, 6, "Pong")
    # 1..30 no-op frames after the reset, then each decision repeated for 4 frames.
    noops = int(np.argmax(actions[1:] != 0)) + 1
    assert 1 <= noops <= 31
    decisions = actions[noops:noops + (FRAMES - noops) // 4 * 4].reshape(-1, 4)
    assert (decisions == decisions[:, :1]).all()
    assert len(set(decisions[:, 0])) > 1  # a random network still picks varied actions under noisy nets


def test_same_seed_same_record(agent_dir, recorded, tmp_path):
    rainbow.record("Pong", agent_dir, tmp_path / "again.txt", steps=FRAMES, seed=3)
    assert (tmp_path / "again.txt").read_bytes() == recorded


def test_record_replays_into_a_dataset(recorded, tmp_path):
    policy = tmp_path / "pong.txt"
    policy.write_bytes(recorded)
    assert main(["data", "atari", "--game", "Pong", "--policy-file", str(policy), "--data-dir", str(tmp_path),
                 "--no-progress"]) == 0
    dataset = hdf5_dataset.read_dataset(hdf5_dataset.dataset_path("Pong", tmp_path))
    assert len(dataset) == FRAMES and dataset.metadata["policy_source"] == str(policy.resolve())
    np.testing.assert_array_equal(dataset.actions, replay.decode_actions(recorded, 6))


def test_replay_reproduces_the_recorded_game(agent_dir):
    """The replay sees the very game the agent played: same rewards, same final screen."""
    agent = rainbow.load_agent(agent_dir, 6)
    env = rainbow.play("Pong", agent, 1_000, seed=5)
    rollout = replay.replay("Pong", bytes(env.record))
    assert rollout.rewards.sum() == env._return and (rollout.rewards != 0).any()
    np.testing.assert_array_equal(rollout.frames[-1], replay.downscale(env.ale.getScreenGrayscale()))


def test_recorder_resets_once_so_its_record_replays_in_step():
    """On Assault a second reset before the first action changes the game: the recorder must not make one."""
    from rtrlbench.data_tools import in_step

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    env = rainbow.play("Assault", rainbow.make_agent(7), 2_700, seed=1)  # first episode ends at frame 2,585
    record = bytes(env.record)
    rollout = replay.replay("Assault", record)
    assert in_step.check_in_step(rollout, "Assault").episodes == 1
    assert replay.episode_returns(rollout.rewards, rollout.episode_starts)[0] == env.returns[0] == 336
    twice = replay.replay("Assault", b"R" + record)  # what a record made after two resets would replay as
    assert replay.episode_returns(twice.rewards, twice.episode_starts)[1] == 189


def test_preprocessing_matches_pfrl_warp_frame():
    from pfrl.wrappers.atari_wrappers import WarpFrame

    rgb = np.random.default_rng(0).integers(0, 256, (210, 160, 3), dtype=np.uint8)
    fake = types.SimpleNamespace(width=84, height=84, observation_space=types.SimpleNamespace(low=np.zeros((1, 84, 84))))
    expected = WarpFrame.observation(fake, rgb)[0]
    np.testing.assert_array_equal(rainbow.PfrlAtari("Pong", 0)._warp(rgb), expected)


def test_wrong_network_is_a_clear_error(agent_dir):
    with pytest.raises(ValueError, match="does not fit pfrl's Rainbow network with 18 actions"):
        rainbow.load_agent(agent_dir, 18)
    with pytest.raises(FileNotFoundError, match="no model.pt"):
        rainbow.load_agent(agent_dir / "nothing", 6)


def test_missing_pfrl_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pfrl", None)
    with pytest.raises(RuntimeError, match=r"pip install 'rtrl-bench\[rainbow\]'"):
        rainbow.make_agent(6)
