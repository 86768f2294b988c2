"""AtariPrediction envs: features, stream alignment, looping and reshuffling, both read paths."""
import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

pytest.importorskip("ale_py", reason="the atari extra (ale-py) is not installed")
cv2 = pytest.importorskip("cv2", reason="the atari extra (opencv) is not installed")

import rtrlbench  # noqa: E402,F401  (registers the envs)
from rtrlbench.data_tools import generate, replay  # noqa: E402
from rtrlbench.envs.atari_prediction import OBS_DIM, AtariPredictionEnv  # noqa: E402

STEPS = 7_000  # one finished Pong episode (6,645 frames) and the start of the next
FIRST_EPISODE = 6_645


@pytest.fixture(scope="module")
def data_dir(policy_dir, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    generate.generate("Pong", data_dir=data_dir, steps=STEPS, policy_dir=policy_dir)
    return data_dir


def make(data_dir, **kwargs):
    return gym.make("AtariPrediction/Pong-v1", data_dir=str(data_dir), **kwargs).unwrapped


def test_features_match_the_ale_state_at_known_steps(data_dir, policy_dir):
    """x_t = (screen after step t resized / 256, one-hot of the action taken, clipped reward received)."""
    data = (policy_dir / "PongNoFrameskip-v4.txt").read_bytes()
    obs = make(data_dir).stream(0).next_chunk(FIRST_EPISODE).obs
    checked = {0, 1, 2, 100, 1234}
    ale = replay.make_ale("Pong")
    minimal = ale.getMinimalActionSet()
    rewarded = []
    for t in range(FIRST_EPISODE):
        byte = data[t]
        reward = 0 if byte == ord("R") else ale.act(minimal[byte - ord("a")])
        if reward and len(rewarded) < 2:
            rewarded.append(t)
        if t in checked or t in rewarded:
            expected = np.zeros(OBS_DIM, np.float32)
            expected[:256] = cv2.resize(ale.getScreenGrayscale(), (16, 16)).ravel() / 256.0
            if byte != ord("R"):
                expected[256 + byte - ord("a")] = 1.0
            expected[274] = np.clip(reward, -1, 1)
            np.testing.assert_array_equal(obs[t], expected, err_msg=f"step {t}")
    assert len(rewarded) == 2 and obs[rewarded[0], 274] == 1.0  # Pong's first point goes to the agent


def test_cumulant_and_gamma_alignment(data_dir):
    chunk = make(data_dir, gamma=0.9).stream(0).next_chunk(2 * FIRST_EPISODE + 10)
    np.testing.assert_array_equal(chunk.cumulant, chunk.obs[:, 274])
    starts = np.flatnonzero(chunk.gamma == 0.0)
    # The unfinished second episode is dropped, so the stream replays episode 1 again.
    assert list(starts) == [0, FIRST_EPISODE, 2 * FIRST_EPISODE]
    assert set(chunk.gamma[1:FIRST_EPISODE]) == {0.9}
    assert not chunk.obs[starts, 256:274].any() and not chunk.cumulant[starts].any()
    assert chunk.cumulant[:FIRST_EPISODE].sum() == 21


def test_keeping_the_unfinished_episode(data_dir):
    chunk = make(data_dir, unfinished_episode="keep").stream(0).next_chunk(STEPS + 1)
    assert list(np.flatnonzero(chunk.gamma == 0.0)) == [0, FIRST_EPISODE, STEPS]


def test_passes_loop_and_reshuffle_by_seed(data_dir):
    env = make(data_dir, unfinished_episode="keep")  # two episodes of different lengths
    lengths = {FIRST_EPISODE, STEPS - FIRST_EPISODE}

    def episode_order(seed, passes=12):
        chunk = env.stream(seed).next_chunk(passes * STEPS)
        starts = np.flatnonzero(chunk.gamma == 0.0)
        sizes = np.diff(starts)
        assert set(sizes) <= lengths
        return [int(s == FIRST_EPISODE) for s in sizes]

    a, b = episode_order(1), episode_order(2)
    assert a[:2] == [1, 0]  # the first pass is in recorded order
    assert a == episode_order(1) and a != b
    assert {tuple(a[i:i + 2]) for i in range(2, 20, 2)} == {(1, 0), (0, 1)}  # later passes are shuffled


def test_chunked_and_per_step_paths_agree(data_dir):
    env = make(data_dir)
    stream = env.stream(7)
    chunks = [stream.next_chunk(n) for n in (1, 999, 6000, 7000)]
    obs = np.concatenate([c.obs for c in chunks])
    gamma = np.concatenate([c.gamma for c in chunks])
    x0, info = env.reset(seed=7)
    np.testing.assert_array_equal(x0, obs[0])
    for t in range(1, 3000):
        x, c, terminated, truncated, info = env.step(0)
        assert x.dtype == np.float32 and not terminated and not truncated
        np.testing.assert_array_equal(x, obs[t])
        assert c == obs[t, 274] and info["gamma"] == gamma[t]


def test_pickles_and_passes_check_env(data_dir):
    env = make(data_dir)
    env.episodes()  # loaded, but not pickled with the env: the clone re-reads the file
    assert len(pickle.dumps(env)) < 10_000
    clone = pickle.loads(pickle.dumps(env))
    assert clone._episodes is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env)
    np.testing.assert_array_equal(clone.reset(seed=3)[0], env.reset(seed=3)[0])
    resumed = pickle.loads(pickle.dumps(env))  # a live stream travels with its data and position
    np.testing.assert_array_equal(resumed.step(0)[0], env.step(0)[0])


def test_family_ids(data_dir):
    env = gym.make("AtariPrediction-v1", game="Pong", data_dir=str(data_dir)).unwrapped
    assert env.game == "Pong" and env.gamma == 0.98
    assert "AtariPrediction/MsPacman-v1" in gym.registry
    with pytest.raises(ValueError, match="did you mean 'MsPacman'"):
        gym.make("AtariPrediction-v1", game="Pacman")
    assert gym.make("AtariPrediction-v1", game="ms_pacman").unwrapped.game == "MsPacman"


def test_v0_ids_are_gone_so_old_results_cannot_be_scored_against_new_data():
    """v0 read data replayed with a second reset (out of step on 10 of the 50 games)."""
    assert "AtariPrediction/Pong-v0" not in gym.registry and "AtariPrediction-v0" not in gym.registry
    with pytest.raises(gym.error.DeprecatedEnv, match="AtariPrediction/Pong-v1"):
        gym.make("AtariPrediction/Pong-v0")


def test_missing_data_names_the_commands(tmp_path):
    env = make(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"rtrlbench data fetch-policies Pong .*rtrlbench data atari --game Pong"):
        env.reset(seed=0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="gamma"):
        AtariPredictionEnv(gamma=1.5)
    with pytest.raises(ValueError, match="unfinished_episode"):
        AtariPredictionEnv(unfinished_episode="maybe")


def test_generates_on_first_use_when_the_policy_is_cached(policy_dir, tmp_path, monkeypatch):
    cached = tmp_path / "policies" / "PongNoFrameskip-v4.txt"
    cached.parent.mkdir()
    cached.write_bytes((policy_dir / "PongNoFrameskip-v4.txt").read_bytes())
    calls = []
    real = generate.generate

    def small(game, **kwargs):  # the full file takes a minute; the env must ask for it all
        calls.append(kwargs)
        return real(game, **{**kwargs, "steps": STEPS})

    monkeypatch.setattr(generate, "generate", small)
    env = make(tmp_path)
    assert env.reset(seed=0)[0].shape == (OBS_DIM,)
    assert len(calls) == 1 and calls[0].get("steps") is None


def test_a_single_unfinished_episode_needs_keep(policy_dir, tmp_path):
    generate.generate("Pong", data_dir=tmp_path, steps=300, policy_dir=policy_dir)
    with pytest.raises(ValueError, match="single unfinished episode; pass unfinished_episode='keep'"):
        make(tmp_path).reset(seed=0)
    chunk = make(tmp_path, unfinished_episode="keep").stream(0).next_chunk(650)
    assert list(np.flatnonzero(chunk.gamma == 0.0)) == [0, 300, 600]


def test_dataset_checksum_identifies_the_data_not_the_file(data_dir, policy_dir, tmp_path):
    from rtrlbench.leaderboard.env_identity import env_identity

    first = make(data_dir).dataset_checksum
    assert first.startswith("data-sha256:") and len(first) == len("data-sha256:") + 64
    regenerated = tmp_path / "again"
    generate.generate("Pong", data_dir=regenerated, steps=STEPS, policy_dir=policy_dir)  # new file, new creation time
    assert make(regenerated).dataset_checksum == first
    assert make(data_dir, unfinished_episode="keep").dataset_checksum != first  # other episodes, other data
    identity = env_identity("AtariPrediction/Pong-v1", {"data_dir": str(data_dir)})
    assert identity["dataset_checksum"] == first


def test_scores_over_the_papers_last_200k_steps():
    assert AtariPredictionEnv.scoring_window == 200_000
