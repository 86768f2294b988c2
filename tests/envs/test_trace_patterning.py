"""TracePatterning family: spec, statistics, bad arguments (the Gymnasium contract, seeding and
chunked = per-step of every env: test_env_conformance.py)."""
import itertools

import gymnasium as gym
import numpy as np
import pytest

import rtrlbench  # noqa: F401  (registers the envs)
from rtrlbench.envs.trace_patterning import RELEASED_CODE_KWARGS, TraceTaskEnv



def trials(chunk, n_cs):
    """(CS step, pattern bits, US step or None) for every trial that completes inside the chunk."""
    cs_steps = np.flatnonzero(chunk.obs[:, :n_cs].any(axis=1))
    us_steps = np.flatnonzero(chunk.obs[:, n_cs] > 0)
    out = []
    for start, end in zip(cs_steps[:-1], cs_steps[1:]):
        us = us_steps[(us_steps > start) & (us_steps < end)]
        assert len(us) <= 1
        out.append((start, tuple(chunk.obs[start, :n_cs].astype(int)), int(us[0]) if len(us) else None, end))
    return out


def test_make_without_prior_import_works_in_a_fresh_interpreter():
    import subprocess
    import sys

    code = "import gymnasium as gym; e = gym.make('rtrlbench:TracePatterning-v0'); print(e.reset(seed=1)[0].shape)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(7,)"


def test_default_stream_statistics_match_the_paper():
    env = TraceTaskEnv()
    stream = env.stream(0)
    chunk = stream.next_chunk(400_000)
    assert chunk.obs.shape[1] == 7 and chunk.obs.dtype == np.float32
    assert stream.activating.sum() == 10 and len(stream.activating) == 20
    activating = {tuple(p) for p, a in zip(stream.patterns, stream.activating) if a}
    counts = {}
    isis, gaps = [], []
    for start, pattern, us, end in trials(chunk, 6):
        assert sum(pattern) == 3
        counts[pattern] = counts.get(pattern, 0) + 1
        if pattern in activating:
            assert us is not None
            isis.append(us - start)
            gaps.append(end - us)
        else:
            assert us is None, "a non-activating pattern was followed by the US"
    assert len(counts) == 20
    expected = sum(counts.values()) / 20
    assert all(abs(n - expected) < 5 * np.sqrt(expected) for n in counts.values())
    assert (min(isis), max(isis)) == (14, 26)
    assert (min(gaps), max(gaps)) == (80, 120)
    np.testing.assert_array_equal(chunk.cumulant, chunk.obs[:, 6])
    assert chunk.gamma[0] == 0.0 and np.all(chunk.gamma[1:] == 0.9)
    assert chunk.obs[0, :6].sum() == 3, "the first CS comes at step 0"


def test_released_code_variant_has_twelve_inputs_and_its_distractor_rates():
    chunk = TraceTaskEnv(**RELEASED_CODE_KWARGS).stream(1).next_chunk(300_000)
    assert chunk.obs.shape[1] == 12
    rates = chunk.obs[:, 7:].mean(axis=0)
    np.testing.assert_allclose(rates, [1 / 10, 1 / 20, 1 / 30, 1 / 40, 1 / 50], rtol=0.05)
    isis = [us - start for start, _, us, _ in trials(chunk, 6) if us is not None]
    assert (min(isis), max(isis)) == (24, 36)


def test_trace_conditioning_always_reinforces_and_noisy_patterning_flips_outcomes():
    cond = gym.make("TraceConditioning-v0").unwrapped.stream(0).next_chunk(50_000)
    assert all(us is not None for _, _, us, _ in trials(cond, 1))
    noisy_env = gym.make("NoisyPatterning-v0").unwrapped
    stream = noisy_env.stream(0)
    chunk = stream.next_chunk(600_000)
    activating = {tuple(p) for p, a in zip(stream.patterns, stream.activating) if a}
    flips = [(pattern in activating) != (us is not None) for _, pattern, us, _ in trials(chunk, 6)]
    assert abs(np.mean(flips) - 0.1) < 0.02


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"isi": (-1, 5)}, "at least 1"),
        ({"isi": (20, 10)}, "reversed"),
        ({"iti": (0, 3)}, "at least 1"),
        ({"gamma": 1.5}, "gamma"),
        ({"gamma": -0.1}, "gamma"),
        ({"n_active": 7}, "more active bits than CS bits"),
        ({"n_activating": 21}, "n_activating"),
        ({"distractor_probs": (0.5, 2.0)}, "distractor_probs"),
        ({"us_noise": -0.2}, "us_noise"),
        ({"isi": "long"}, "pair of integers"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gym.make("TracePatterning-v0", **kwargs)


def test_step_before_reset_is_refused():
    with pytest.raises(gym.error.ResetNeeded):
        TraceTaskEnv().step(0)


def test_patterns_are_all_combinations():
    env = TraceTaskEnv(n_cs=5, n_active=2, n_activating=3)
    patterns = env.stream(0).patterns
    assert {tuple(np.flatnonzero(p)) for p in patterns} == set(itertools.combinations(range(5), 2))
