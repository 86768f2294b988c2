"""Every registered env keeps the same contract (as Gymnasium's tests/envs do for its own):
Gymnasium's ``check_env`` passes without warnings, the per-step API reads exactly the chunked
stream, and a seed fixes the stream whatever the chunk boundaries, while seeds differ.

The Atari family is represented by its Pong id, ``AtariPrediction/Pong-v<N>`` (the others differ only
in the data set), on a 7,000-step data set generated from the recorded policy when the
``atari`` extra and ``../shared/atari_policies`` are available.
"""
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rtrlbench  # noqa: F401  (registers the envs)
from rtrlbench.envs.registration import ENVS
from rtrlbench.envs.trace_patterning import RELEASED_CODE_KWARGS

#: The Atari family id and its Pong id (whatever their version).
ATARI_FAMILY = next(env_id for env_id in ENVS if env_id.startswith("AtariPrediction-v"))
ATARI = next(env_id for env_id in ENVS if env_id.startswith("AtariPrediction/Pong-v"))
#: (env id, kwargs): every registered id but the per-game Atari ones, Pong for them, and variants.
CASES = [(env_id, {}) for env_id in ENVS if not env_id.startswith("AtariPrediction")] + [(ATARI, {})] + [
    ("TracePatterning-v0", RELEASED_CODE_KWARGS), ("PipelinedXOR-v0", {"delay": 4}),
    ("SequenceRecognition-v0", {"n_lines": 2}), ("Oscillation-v0", {"variant": "double"}),
    ("Oscillation-v0", {"variant": "sine", "period": 7.5}),
]
#: Streams that a seed changes only in ways a short stretch may not show.
SEED_FREE = {"Oscillation-v0",  # deterministic apart from the phase, which two seeds may share
             ATARI}  # the seed orders the episodes, and the test data set holds one finished episode
STEPS = 3000  # crosses the per-step API's 1,024-step buffer twice


def case_id(case) -> str:
    env_id, kwargs = case
    return env_id + "".join(f"-{k}={v}" for k, v in kwargs.items() if k != "distractor_probs")[:40]


@pytest.fixture(scope="module")
def atari_data(policy_dir, tmp_path_factory):
    pytest.importorskip("ale_py", reason="the atari extra (ale-py) is not installed")
    pytest.importorskip("cv2", reason="the atari extra (opencv) is not installed")
    from rtrlbench.data_tools import generate

    data_dir = tmp_path_factory.mktemp("conformance-data")
    generate.generate("Pong", data_dir=data_dir, steps=7_000, policy_dir=policy_dir)
    return str(data_dir)


@pytest.fixture(params=CASES, ids=[case_id(c) for c in CASES])
def make_env(request):
    """A function building a fresh env of the case (Atari: reading the generated data set)."""
    env_id, kwargs = request.param
    if env_id == ATARI:
        kwargs = {**kwargs, "data_dir": request.getfixturevalue("atari_data")}
    return lambda: gym.make(env_id, **kwargs)


def test_every_registered_id_is_covered():
    covered = {env_id for env_id, _ in CASES}
    assert {env_id for env_id in ENVS if not env_id.startswith("AtariPrediction/")} - {ATARI_FAMILY} <= covered
    assert ENVS[ATARI][0] == ENVS[ATARI_FAMILY][0]


def test_the_per_game_atari_ids_are_the_games_with_a_recorded_policy():
    from rtrlbench.data_tools.policies import games

    prefix, version = ATARI.split("/")[0], ATARI.rsplit("-", 1)[1]
    assert {env_id for env_id in ENVS if env_id.startswith(prefix + "/")} == {f"{prefix}/{g}-{version}" for g in games()}


def test_check_env_passes_without_warnings(make_env):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(make_env().unwrapped, skip_render_check=True)


def test_per_step_api_reads_exactly_the_chunked_stream(make_env):
    env = make_env()
    chunk = env.unwrapped.stream(11).next_chunk(STEPS)
    obs, info = env.reset(seed=11)
    np.testing.assert_array_equal(obs, chunk.obs[0])
    assert info["gamma"] == 0.0 == chunk.gamma[0]
    for t in range(1, STEPS):
        obs, reward, terminated, truncated, info = env.step(0)
        assert not terminated and not truncated and obs.dtype == np.float32
        np.testing.assert_array_equal(obs, chunk.obs[t])
        assert reward == chunk.cumulant[t] and info["gamma"] == chunk.gamma[t]


def test_a_seed_fixes_the_stream_whatever_the_chunks_and_seeds_differ(make_env):
    env = make_env().unwrapped
    whole = env.stream(5).next_chunk(4000)
    again = env.stream(5)
    pieces = [again.next_chunk(n) for n in (1, 2, 997, 1000, 2000)]
    for field in ("obs", "cumulant", "gamma"):
        np.testing.assert_array_equal(getattr(whole, field), np.concatenate([getattr(p, field) for p in pieces]))
    assert whole.obs.dtype == np.float32 and whole.cumulant.dtype == whole.gamma.dtype == np.float64
    if env.spec is not None and env.spec.id in SEED_FREE:
        return
    other = env.stream(6).next_chunk(4000)
    assert not (np.array_equal(whole.obs, other.obs) and np.array_equal(whole.cumulant, other.cumulant))


@pytest.mark.parametrize("env_id", sorted({env_id for env_id in ENVS if not env_id.startswith("AtariPrediction/")}))
def test_env_docstrings_have_gymnasiums_version_history(env_id):
    doc = gym.spec(env_id).make().unwrapped.__class__.__doc__
    history = doc.split("## Version History", 1)[1]
    assert f"* v{env_id.rsplit('-v', 1)[1]}:" in history
