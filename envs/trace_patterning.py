"""The trace-conditioning family of Rafiee et al. (2022), as used by Javed et al. (2023) §4."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import gymnasium as gym
import numba as nb
import numpy as np

from rtrlbench.envs import _rng
from rtrlbench.envs.stream import PredictionEnv, Stream, StreamChunk
from rtrlbench.validation import int_at_least, positive_int, probability, unit_interval

#: The variant of the authors' released C++ code (see ``reference-notes.md``): ISI 24-36 and
#: 5 distractors on with probabilities 1/10 ... 1/50. ``gym.make("TracePatterning-v0", **RELEASED_CODE_KWARGS)``.
RELEASED_CODE_KWARGS = {"isi": (24, 36), "distractor_probs": (1 / 10, 1 / 20, 1 / 30, 1 / 40, 1 / 50)}


@dataclass(frozen=True)
class TraceTaskSpec:
    """Validated task parameters (ranges are inclusive)."""

    n_cs: int
    n_active: int
    n_activating: int
    isi: tuple[int, int]
    iti: tuple[int, int]
    distractor_probs: tuple[float, ...]
    us_noise: float
    gamma: float

    @property
    def patterns(self) -> np.ndarray:
        """int8[n_patterns, n_cs]: every CS vector with exactly ``n_active`` bits on."""
        combos = list(itertools.combinations(range(self.n_cs), self.n_active))
        patterns = np.zeros((len(combos), self.n_cs), dtype=np.int8)
        for row, on in enumerate(combos):
            patterns[row, list(on)] = 1
        return patterns

    @property
    def obs_dim(self) -> int:
        return self.n_cs + 1 + len(self.distractor_probs)

    @property
    def us_index(self) -> int:
        return self.n_cs


def make_spec(n_cs, n_active, n_activating, isi, iti, distractor_probs, us_noise, gamma) -> TraceTaskSpec:
    """Check every argument and name the fix when one is wrong."""
    positive_int("n_cs", n_cs)
    positive_int("n_active", n_active)
    if n_active > n_cs:
        raise ValueError(f"n_active={n_active} cannot exceed n_cs={n_cs} (more active bits than CS bits)")
    if n_cs > 20:
        raise ValueError(f"n_cs={n_cs} is too large (at most 20 CS bits)")
    n_patterns = len(list(itertools.combinations(range(n_cs), n_active)))
    if int_at_least("n_activating", n_activating, 0) > n_patterns:
        raise ValueError(f"n_activating must be at most {n_patterns} (the number of patterns), got {n_activating!r}")
    isi = _interval("isi", isi, minimum=1)
    iti = _interval("iti", iti, minimum=1)
    probs = tuple(probability(f"distractor_probs[{i}]", p) for i, p in enumerate(distractor_probs))
    probability("us_noise", us_noise)
    unit_interval("gamma", gamma)
    if float(gamma) == 1.0:
        raise ValueError("gamma=1 makes the return of this never-ending stream infinite; use gamma < 1")
    return TraceTaskSpec(int(n_cs), int(n_active), int(n_activating), isi, iti, probs, float(us_noise), float(gamma))


def _interval(name, value, minimum):
    try:
        low, high = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (low, high) pair of integers, got {value!r}") from None
    if low < minimum:
        raise ValueError(f"{name}={value!r}: the shortest interval must be at least {minimum} step(s)")
    if low > high:
        raise ValueError(f"{name}={value!r} is reversed: write it as (low, high) with low <= high")
    return (low, high)


class TraceStream(Stream):
    """A seeded trace-task stream. The seed also picks which patterns activate the US."""

    def __init__(self, spec: TraceTaskSpec, seed: int) -> None:
        self.spec = spec
        self.obs_dim = spec.obs_dim
        seed_sequence = np.random.SeedSequence(seed)
        pattern_seed, stream_seed = seed_sequence.spawn(2)
        self.patterns = spec.patterns
        chosen = np.random.default_rng(pattern_seed).choice(len(self.patterns), spec.n_activating, replace=False)
        self.activating = np.zeros(len(self.patterns), dtype=np.bool_)
        self.activating[chosen] = True
        self._rng = _rng.new_state(stream_seed)
        # Generator state: [t, next CS time, pending US time (-1 = none)]; the first CS comes at t = 0.
        self._clock = np.array([0, 0, -1], dtype=np.int64)
        self._distractor_probs = np.array(spec.distractor_probs, dtype=np.float64)

    @property
    def us_probability(self) -> np.ndarray:
        """float64[n_patterns]: probability that each pattern's trial ends in a US."""
        return np.where(self.activating, 1.0 - self.spec.us_noise, self.spec.us_noise)

    def next_chunk(self, num_steps: int) -> StreamChunk:
        s = self.spec
        obs = np.zeros((num_steps, s.obs_dim), dtype=np.float32)
        cumulant = np.zeros(num_steps)
        gamma = np.zeros(num_steps)
        _generate(
            self._rng, self._clock, self.patterns, self.activating, s.isi[0], s.isi[1], s.iti[0], s.iti[1],
            self._distractor_probs, s.us_noise, s.gamma, obs, cumulant, gamma,
        )
        return StreamChunk(obs, cumulant, gamma)

    def oracle(self):
        from rtrlbench.envs.trace_oracle import TraceOracle

        return TraceOracle(self.spec, self.patterns, self.us_probability)


@nb.njit(cache=True)
def _generate(rng, clock, patterns, activating, isi_lo, isi_hi, iti_lo, iti_hi, distractor_probs, us_noise,
              discount, obs, cumulant, gamma):
    n_cs = patterns.shape[1]
    us_index = n_cs
    t, next_cs, us_time = clock[0], clock[1], clock[2]
    for i in range(obs.shape[0]):
        if t == next_cs:
            p = _rng.randint(rng, 0, patterns.shape[0] - 1)
            for k in range(n_cs):
                obs[i, k] = patterns[p, k]
            isi = _rng.randint(rng, isi_lo, isi_hi)
            iti = _rng.randint(rng, iti_lo, iti_hi)
            us_fires = activating[p]
            if us_noise > 0.0 and _rng.uniform(rng) < us_noise:
                us_fires = not us_fires
            us_time = t + isi if us_fires else -1
            next_cs = t + isi + iti
        if t == us_time:
            obs[i, us_index] = 1.0
            cumulant[i] = 1.0
        for k in range(distractor_probs.shape[0]):
            if _rng.uniform(rng) < distractor_probs[k]:
                obs[i, us_index + 1 + k] = 1.0
        gamma[i] = discount if t > 0 else 0.0
        t += 1
    clock[0], clock[1], clock[2] = t, next_cs, us_time


class TraceTaskEnv(PredictionEnv):
    """Trace patterning (Rafiee et al. 2022; Javed et al. 2023 §4).

    ## Description
    Trials repeat forever. A trial starts with a conditional stimulus (CS): ``n_active``
    of the ``n_cs`` CS bits switch on for one step, in one of the C(n_cs, n_active)
    patterns, drawn uniformly each trial. ``n_activating`` of those patterns, chosen by
    the seed, are followed by the unconditional stimulus (US) exactly ISI steps later,
    for one step; the others are not. The next CS comes ISI + ITI steps after the last
    one. ISI ~ U{isi[0]..isi[1]} and ITI ~ U{iti[0]..iti[1]} are drawn afresh each trial.
    Distractor bits switch on independently at every step with their own probabilities
    and carry no information. With ``us_noise > 0`` each trial's US outcome is flipped
    with that probability. The first CS arrives at step 0.

    The learner must predict the discounted sum of future US values, which requires
    remembering which pattern was shown, and when, across the silent ISI.

    ## Observation
    ``Box(0, 1, (n_cs + 1 + n_distractors,), float32)``: indices ``0..n_cs-1`` are the
    CS bits, ``n_cs`` is the US bit, then one bit per distractor.

    ## Action
    ``Discrete(1)``: ignored (this is a prediction task).

    ## Rewards
    The reward of a step is the cumulant ``c_t`` = the US bit of the new observation;
    ``info["gamma"]`` is the discount ``gamma_t`` (``gamma`` everywhere; 0 on reset).
    The target of a prediction made at t is ``G_t = c_{t+1} + gamma * G_{t+1}``.

    ## Episode end
    Never: the stream is continuing (``terminated`` and ``truncated`` are always False).

    ## Arguments
    * ``n_cs`` (6), ``n_active`` (3): CS bits and how many are on in a pattern.
    * ``n_activating`` (10): how many patterns are followed by the US.
    * ``isi`` ((14, 26)), ``iti`` ((80, 120)): inclusive ranges in steps.
    * ``distractor_probs`` (()): one per-step probability per distractor bit.
    * ``us_noise`` (0.0): probability that a trial's US outcome is flipped.
    * ``gamma`` (0.9): discount, in [0, 1).

    The authors' released code used ISI 24-36 and 5 distractors:
    ``gym.make("TracePatterning-v0", **RELEASED_CODE_KWARGS)``.
    ``env.unwrapped.oracle()`` after ``reset`` gives the Bayes-optimal predictor.

    ## Version History
    * v0: TracePatterning-v0, TraceConditioning-v0 and NoisyPatterning-v0 as in Javed et al. (2023) §4
      (ISI ~ U{14..26}, ITI ~ U{80..120}, gamma 0.9), streams from a per-stream xoshiro256** generator.
    """

    def __init__(self, n_cs: int = 6, n_active: int = 3, n_activating: int = 10, isi=(14, 26), iti=(80, 120),
                 distractor_probs=(), us_noise: float = 0.0, gamma: float = 0.9) -> None:
        super().__init__()
        self.spec_params = make_spec(n_cs, n_active, n_activating, isi, iti, distractor_probs, us_noise, gamma)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (self.spec_params.obs_dim,), np.float32)

    def stream(self, seed: int) -> TraceStream:
        return TraceStream(self.spec_params, seed)
