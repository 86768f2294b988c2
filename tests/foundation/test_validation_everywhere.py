"""Every learner and env refuses the same bad values with the same message (rtrlbench.validation)."""
import math

import gymnasium as gym
import numpy as np
import pytest

import rtrlbench  # noqa: F401  (registers the envs)
from rtrlbench import validation
from rtrlbench.agents.registry import LEARNERS, make_learner
from rtrlbench.envs.registration import ENVS

#: Learners with a step size (the zero predictor has none), and small shapes that build fast.
STEP_SIZE_LEARNERS = {
    "rtrl": {"n_units": 2}, "columnar": {"n_features": 2},
    "constructive": {"n_features": 2, "steps_per_stage": 50}, "ccn": {"n_features": 4, "features_per_stage": 2,
                                                                      "steps_per_stage": 50},
    "tbptt": {"n_hidden": 2, "truncation": 3}, "lstm_rtrl": {"n_hidden": 2},
    "snap1": {"n_hidden": 2}, "uoro": {"n_hidden": 2},
    "rnn_rtrl": {"n_hidden": 2}, "rnn_uoro": {"n_hidden": 2}, "rflo": {"n_hidden": 2},
    "rtu_linear": {"n_units": 2}, "rtu_nonlinear": {"n_units": 2},
    "lru": {"n_hidden": 2, "n_model": 2}, "elstm": {"n_units": 2},
}
#: How each learner exposes its weights (to check that alpha = 0 freezes them).
WEIGHTS = {"rtrl": lambda l: l.weights.copy(), "tbptt": lambda l: l.theta.copy(), "lstm_rtrl": lambda l: l.theta.copy(),
           "snap1": lambda l: l.theta.copy(), "uoro": lambda l: l.theta.copy(),
           "rnn_rtrl": lambda l: l.theta.copy(), "rnn_uoro": lambda l: l.theta.copy(), "rflo": lambda l: l.theta.copy(),
           "columnar": lambda l: np.concatenate(list(l.parameters().values())),
           "constructive": lambda l: np.concatenate(list(l.parameters().values())),
           "ccn": lambda l: np.concatenate(list(l.parameters().values())),
           "rtu_linear": lambda l: l.theta.copy(), "rtu_nonlinear": lambda l: l.theta.copy(),
           "lru": lambda l: np.concatenate([v.ravel() for v in l.parameters().values()]),
           "elstm": lambda l: np.concatenate([v.ravel() for v in l.parameters().values()])}

NOT_POSITIVE_INTS = [0, -3, 2.5, True, "3", None]
NOT_STEP_SIZES = [-1e-3, math.nan, math.inf, "0.1", True, None]
NOT_UNIT_INTERVAL = [-0.1, 1.5, math.nan, "0.5", None]

#: (env id, keyword) for every env argument that is a count, a probability or a choice.
ENV_COUNTS = [("TracePatterning-v0", "n_cs"), ("TracePatterning-v0", "n_active"), ("PipelinedXOR-v0", "delay"),
              ("DelayedNonmatch-v0", "delay"), ("BalancedParentheses-v0", "min_len")]
ENV_PROBABILITIES = [("TracePatterning-v0", "us_noise"), ("TracePatterning-v0", "gamma"),
                     ("BalancedParentheses-v0", "balanced_prob"), (next(i for i in ENVS if i.startswith("AtariPrediction-v")), "gamma")]
LEARNER_COUNTS = [("rtrl", "n_units"), ("tbptt", "n_hidden"), ("tbptt", "truncation"), ("ccn", "n_features"),
                  ("ccn", "features_per_stage"), ("ccn", "steps_per_stage"), ("constructive", "steps_per_stage"),
                  ("lstm_rtrl", "n_hidden"), ("snap1", "n_hidden"), ("uoro", "n_hidden"),
                  ("rnn_rtrl", "n_hidden"), ("rnn_uoro", "n_hidden"), ("rflo", "n_hidden"),
                  ("rtu_linear", "n_units"), ("rtu_nonlinear", "n_units"),
                  ("lru", "n_hidden"), ("lru", "n_model"), ("elstm", "n_units")]


#: Learners without a fixed step size: the zero predictor, and SwiftTD (its per-feature step sizes are
#: meta-learned from ``alpha_init``; its own tests check its hyperparameters).
NO_STEP_SIZE = {"zero", "swifttd", "swifttd_package"}


def test_the_learners_with_a_step_size_are_every_learner_but_zero():
    assert set(STEP_SIZE_LEARNERS) == set(LEARNERS) - NO_STEP_SIZE


@pytest.mark.parametrize("name", sorted(LEARNERS))
@pytest.mark.parametrize("bad", NOT_POSITIVE_INTS)
def test_every_learner_refuses_a_bad_input_size(name, bad):
    with pytest.raises(ValueError, match=rf"^n_inputs must be a positive integer, got {_re(bad)}$"):
        make_learner(name, bad)


@pytest.mark.parametrize("name", sorted(STEP_SIZE_LEARNERS))
@pytest.mark.parametrize("bad", NOT_STEP_SIZES)
def test_every_learner_refuses_a_bad_step_size_the_same_way(name, bad):
    with pytest.raises(ValueError, match=rf"^alpha \(step size\) must be a finite number >= 0, got {_re(bad)}$"):
        make_learner(name, 3, **STEP_SIZE_LEARNERS[name], alpha=bad)


@pytest.mark.parametrize("name", sorted(STEP_SIZE_LEARNERS))
@pytest.mark.parametrize("bad", NOT_UNIT_INTERVAL)
def test_every_learner_refuses_a_bad_lambda_the_same_way(name, bad):
    with pytest.raises(ValueError, match=rf"^lam( \(trace decay lambda\))? must lie in \[0, 1\], got {_re(bad)}$"):
        make_learner(name, 3, **STEP_SIZE_LEARNERS[name], lam=bad)


@pytest.mark.parametrize("name", sorted(STEP_SIZE_LEARNERS))
def test_every_learner_refuses_an_unknown_optimizer_the_same_way(name):
    with pytest.raises(ValueError, match=r"^optimizer must be one of \['sgd', 'rmsprop', 'obgd'\], got 'adam'$"):
        make_learner(name, 3, **STEP_SIZE_LEARNERS[name], optimizer="adam")


@pytest.mark.parametrize("name, keyword", LEARNER_COUNTS)
@pytest.mark.parametrize("bad", NOT_POSITIVE_INTS)
def test_every_learner_count_refuses_what_is_not_a_positive_integer(name, keyword, bad):
    if bad is None and keyword in ("features_per_stage", "steps_per_stage"):  # None: one stage of one step
        assert make_learner(name, 3, **{**STEP_SIZE_LEARNERS[name], keyword: bad}).n_stages >= 1
        return
    with pytest.raises(ValueError, match=rf"^{keyword} must be a positive integer, got {_re(bad)}$"):
        make_learner(name, 3, **{**STEP_SIZE_LEARNERS[name], keyword: bad})


@pytest.mark.parametrize("name", sorted(STEP_SIZE_LEARNERS))
def test_the_one_step_size_rule_numpy_floats_are_accepted_and_zero_freezes_the_weights(name):
    rng = np.random.default_rng(0)
    obs, cumulant, gamma = rng.uniform(size=(200, 3)).astype(np.float32), rng.uniform(size=200), np.full(200, 0.9)
    assert make_learner(name, 3, **STEP_SIZE_LEARNERS[name], alpha=np.float32(0.5)).hyperparameters()["alpha"] == 0.5
    frozen = make_learner(name, 3, **STEP_SIZE_LEARNERS[name], alpha=0.0)
    before = WEIGHTS[name](frozen)
    frozen.run_chunk(obs, cumulant, gamma)
    np.testing.assert_array_equal(WEIGHTS[name](frozen), before)
    moving = make_learner(name, 3, **STEP_SIZE_LEARNERS[name], alpha=0.01)
    moving.run_chunk(obs, cumulant, gamma)
    assert not np.array_equal(WEIGHTS[name](moving), before)


@pytest.mark.parametrize("env_id, keyword", ENV_COUNTS)
@pytest.mark.parametrize("bad", NOT_POSITIVE_INTS)
def test_every_env_count_refuses_what_is_not_a_positive_integer(env_id, keyword, bad):
    with pytest.raises(ValueError, match=rf"^{keyword} must be a positive integer, got {_re(bad)}$"):
        gym.make(env_id, **{keyword: bad})


@pytest.mark.parametrize("env_id, keyword", ENV_PROBABILITIES)
@pytest.mark.parametrize("bad", NOT_UNIT_INTERVAL)
def test_every_env_probability_refuses_what_is_not_in_the_unit_interval(env_id, keyword, bad):
    with pytest.raises(ValueError, match=rf"^{keyword} must lie in \[0, 1\], got {_re(bad)}$"):
        gym.make(env_id, **{keyword: bad})


def test_open_intervals_and_choices_say_so():
    with pytest.raises(ValueError, match=r"^cue_prob must lie in \(0, 1\], got 0.0$"):
        gym.make("DelayedNonmatch-v0", cue_prob=0.0)
    with pytest.raises(ValueError, match=r"^variant must be one of \['alternating', 'double', 'sine'\], got 'square'$"):
        gym.make("Oscillation-v0", variant="square")
    with pytest.raises(ValueError, match=r"^beta2 \(RMSProp decay\) must lie in \[0, 1\), got 1.0$"):
        make_learner("tbptt", 3, beta2=1.0)


def test_the_checks_return_plain_python_values():
    assert type(validation.positive_int("n", np.int64(3))) is int
    assert type(validation.step_size(np.float32(0.25))) is float and validation.step_size(0) == 0.0
    assert validation.unit_interval("p", 1) == 1.0 and validation.choice("c", "b", ("a", "b")) == "b"
    with pytest.raises(ValueError, match=r"^c must be one of \['a'\], got \['a'\]$"):
        validation.choice("c", ["a"], ("a",))
    with pytest.raises(ValueError, match=r"^--hparams must be a JSON object"):
        validation.json_object("[1]", "--hparams")


def _re(value) -> str:
    """The regex of ``repr(value)`` as the messages end."""
    import re

    return re.escape(repr(value))
