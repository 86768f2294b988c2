"""Williams-Zipser task envs: supervised rows, seeding, the tasks' definitions, the Turing machine
(the Gymnasium contract and chunked = per-step of every env: test_env_conformance.py)."""

import gymnasium as gym
import numpy as np
import pytest

import rtrlbench  # noqa: F401  (registers the envs)
from rtrlbench.envs import wz_balanced_parentheses as tm
from rtrlbench.envs.registration import ENVS

WZ_IDS = [env_id for env_id, (entry, _, _) in ENVS.items() if ".wz_" in entry]
VARIANTS = [(env_id, {}) for env_id in WZ_IDS] + [
    ("PipelinedXOR-v0", {"delay": 4}), ("SequenceRecognition-v0", {"n_lines": 2}),
    ("Oscillation-v0", {"variant": "double"}), ("Oscillation-v0", {"variant": "sine", "period": 7.5}),
]


def rows(env_id, steps, seed=0, **kwargs):
    return gym.make(env_id, **kwargs).unwrapped.stream(seed).next_supervised_chunk(steps)


def test_all_five_tasks_are_registered():
    assert set(WZ_IDS) == {"PipelinedXOR-v0", "SequenceRecognition-v0", "DelayedNonmatch-v0",
                           "BalancedParentheses-v0", "Oscillation-v0"}


@pytest.mark.parametrize("env_id, kwargs", VARIANTS)
def test_the_prediction_stream_is_the_supervised_one_and_info_carries_the_targets(env_id, kwargs):
    """(The per-step API = the chunked stream for every env: test_env_conformance.py.)"""
    env = gym.make(env_id, **kwargs)
    steps = 2100  # crosses the per-step buffer boundary
    stream = env.unwrapped.stream(7)
    supervised = stream.next_supervised_chunk(steps)
    chunk = env.unwrapped.stream(7).next_chunk(steps)
    np.testing.assert_array_equal(chunk.obs, supervised.inputs)
    np.testing.assert_array_equal(chunk.cumulant, np.where(supervised.mask[:, 0], supervised.targets[:, 0], 0))
    assert not chunk.gamma.any()
    obs, info = env.reset(seed=7)
    for t in range(steps):
        if t:
            obs, reward, terminated, truncated, info = env.step(0)
        np.testing.assert_array_equal(info["targets"], supervised.targets[t])
        np.testing.assert_array_equal(info["target_mask"], supervised.mask[t])


@pytest.mark.parametrize("env_id", WZ_IDS)
def test_chunk_boundaries_and_seeds(env_id):
    env = gym.make(env_id).unwrapped
    whole = env.stream(5).next_supervised_chunk(3000)
    stream = env.stream(5)
    pieces = [stream.next_supervised_chunk(n) for n in (1, 2, 997, 2000)]
    for field in range(3):
        np.testing.assert_array_equal(whole[field], np.concatenate([p[field] for p in pieces]))
    if env_id == "Oscillation-v0":
        return  # deterministic apart from the phase, which two seeds may share
    other = env.stream(6).next_supervised_chunk(3000)
    assert not (np.array_equal(whole.inputs, other.inputs) and np.array_equal(whole.targets, other.targets))


@pytest.mark.parametrize("delay", [1, 2, 3, 4])
def test_pipelined_xor_target_is_the_xor_delay_steps_back(delay):
    r = rows("PipelinedXOR-v0", 2000, delay=delay)
    bits = r.inputs.astype(int)
    assert not r.mask[:delay].any() and r.mask[delay:].all()
    np.testing.assert_array_equal(r.targets[delay:, 0], bits[:-delay, 0] ^ bits[:-delay, 1])
    assert 0.45 < bits.mean() < 0.55


def test_sequence_recognition_matches_a_reference():
    r = rows("SequenceRecognition-v0", 5000, n_lines=3)
    np.testing.assert_array_equal(r.inputs.sum(axis=1), 1.0)
    lines = r.inputs.argmax(axis=1)
    armed, expected = False, np.zeros(len(lines))
    for t, line in enumerate(lines[:-1]):
        if line == 1 and armed:
            expected[t + 1], armed = 1.0, False
        armed = armed or line == 0
    assert not r.mask[0, 0] and r.mask[1:, 0].all()
    np.testing.assert_array_equal(r.targets[:, 0], expected)
    assert 0.1 < expected.mean() < 0.3


@pytest.mark.parametrize("delay", [1, 2])
def test_delayed_nonmatch_matches_a_reference(delay):
    r = rows("DelayedNonmatch-v0", 5000, cue_prob=0.3, delay=delay)
    bit, cue = r.inputs[:, 0].astype(int), r.inputs[:, 1].astype(int)
    memory = -1
    for t in range(len(bit) - delay):
        if memory >= 0:
            assert r.mask[t + delay, 0] and r.targets[t + delay, 0] == bit[t] ^ memory
        else:
            assert not r.mask[t + delay, 0]
        if cue[t]:
            memory = bit[t]
    assert 0.25 < cue.mean() < 0.35


def test_oscillation_targets():
    np.testing.assert_array_equal(rows("Oscillation-v0", 4, seed=0).inputs, 1.0)
    for variant, period in (("alternating", [0, 1]), ("double", [0, 0, 1, 1])):
        target = rows("Oscillation-v0", 100, seed=3, variant=variant).targets[:, 0]
        np.testing.assert_array_equal(target[len(period):], target[:-len(period)])
        assert sorted(target[:len(period)]) == sorted(period)
    sine = rows("Oscillation-v0", 200, variant="sine", period=25.0, amplitude=0.3).targets[:, 0]
    assert np.isclose(sine.max(), 0.8, atol=0.01) and np.isclose(sine.min(), 0.2, atol=0.01)
    np.testing.assert_allclose(sine[25:], sine[:-25], atol=1e-9)


def is_balanced(string):
    depth = np.cumsum(np.where(string == tm.OPEN, 1, -1))
    return len(string) == 0 or (depth.min() >= 0 and depth[-1] == 0)


def test_the_turing_machine_decides_balance_on_random_tapes():
    rng = np.random.default_rng(0)
    decided = []
    for _ in range(5000):
        string = rng.integers(0, 2, rng.integers(0, 15))
        if rng.uniform() < 0.5:  # balanced strings are rare among random ones: build some
            built = []
            for _ in range(rng.integers(0, 7)):
                at = rng.integers(0, len(built) + 1)
                built[at:at] = [tm.OPEN, tm.CLOSE]
            string = np.array(built, dtype=np.int64)
        accepted, steps = tm.run_machine(string.astype(np.int64))
        assert accepted == is_balanced(string), "".join(tm.SYMBOLS[s] for s in string)
        assert steps <= (len(string) + 2) ** 2
        decided.append(accepted)
    assert 0.3 < np.mean(decided) < 0.8


def test_turing_machine_stream_follows_the_controller():
    """Replay the controller on the symbols the stream shows: every target is its action."""
    r = rows("BalancedParentheses-v0", 20_000)
    symbol = r.inputs[:, :4].argmax(axis=1)
    np.testing.assert_array_equal(r.inputs[:, :4].sum(axis=1), 1.0)
    state, accepts = tm.R, []
    for t in range(len(symbol) - 1):
        if r.inputs[t, 7]:  # a new tape
            state = tm.R
        write, left, halt, accept, state = tm.CONTROLLER[state, symbol[t]]
        assert write >= 0
        target, mask = r.targets[t + 1], r.mask[t + 1]
        assert mask[0] and mask[2] and mask[1] == (not halt) and mask[3] == halt
        assert (target[0], target[2]) == (write, halt)
        assert target[1] == (left if not halt else 0) and target[3] == (accept if halt else 0)
        np.testing.assert_array_equal(r.inputs[t + 1, 4:], [write, left and not halt, not left and not halt, halt])
        if halt:
            accepts.append(accept)
    assert len(accepts) > 300 and 0.4 < np.mean(accepts) < 0.8


@pytest.mark.parametrize("env_id, kwargs, message", [
    ("PipelinedXOR-v0", {"delay": 0}, "delay"),
    ("SequenceRecognition-v0", {"n_lines": 1}, "n_lines"),
    ("DelayedNonmatch-v0", {"cue_prob": 0.0}, "cue_prob"),
    ("BalancedParentheses-v0", {"min_len": 5, "max_len": 3}, "min_len"),
    ("BalancedParentheses-v0", {"balanced_prob": 2.0}, "balanced_prob"),
    ("Oscillation-v0", {"variant": "square"}, "variant"),
    ("Oscillation-v0", {"variant": "sine", "amplitude": 0.7}, "amplitude"),
])
def test_bad_arguments_are_rejected(env_id, kwargs, message):
    with pytest.raises(ValueError, match=message):
        gym.make(env_id, **kwargs)
