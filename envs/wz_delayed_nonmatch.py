"""Delayed nonmatch to sample (Williams & Zipser 1989, §3.3)."""
from __future__ import annotations

import numba as nb
import numpy as np

from rtrlbench.envs import _rng
from rtrlbench.envs.wz_supervised import SupervisedEnv, SupervisedStream
from rtrlbench.validation import positive_int, unit_interval


class DelayedNonmatchStream(SupervisedStream):
    obs_dim = 2
    n_targets = 1

    def __init__(self, cue_prob: float, delay: int, seed: int) -> None:
        super().__init__(seed)
        self.cue_prob = cue_prob
        self._clock = np.array([0, -1], dtype=np.int64)  # [t, remembered bit (-1: no cue yet)]
        self._ring = np.full(delay, -1, dtype=np.int64)  # answers of the last `delay` steps (-1: none)

    def _fill(self, inputs, targets, mask):
        _generate(self._rng, self._clock, self._ring, self.cue_prob, inputs, targets, mask)


@nb.njit(cache=True)
def _generate(rng, clock, ring, cue_prob, inputs, targets, mask):
    delay = ring.shape[0]
    t, memory = clock[0], clock[1]
    for i in range(inputs.shape[0]):
        bit = _rng.randint(rng, 0, 1)
        cue = 1 if _rng.uniform(rng) < cue_prob else 0
        inputs[i, 0] = bit
        inputs[i, 1] = cue
        slot = t % delay
        if ring[slot] >= 0:
            targets[i, 0] = ring[slot]
            mask[i, 0] = True
        ring[slot] = bit ^ memory if memory >= 0 else -1
        if cue == 1:
            memory = bit
        t += 1
    clock[0], clock[1] = t, memory


class DelayedNonmatchEnv(SupervisedEnv):
    """Delayed nonmatch to sample (Williams & Zipser 1989, §3.3).

    ## Description
    Two input lines: a *pattern* line carrying a random bit each step, and a *cue* line
    that is on with probability ``cue_prob`` each step. A cue means "remember the
    pattern bit shown now, until the next cue". At each step the current pattern bit is
    compared with the remembered one (from the last cue *before* this step): the answer
    is 0 if they match and 1 if not. The target at step t is the answer of step
    t - ``delay`` (as in pipelined XOR, the comparison is an XOR and needs a hidden
    layer, so ``delay`` = 2 is the shortest that a network can meet). There is no target
    until a cue has been seen.

    ## Observation
    ``Box(0, 1, (2,), float32)``: ``[pattern bit, cue bit]`` at step t.

    ## Action
    ``Discrete(1)``: ignored (this is a prediction task).

    ## Rewards
    The reward is the cumulant ``c_t = d(t)`` (0 where there is no target yet);
    ``info["gamma"]`` is 0, so a prediction made at t targets ``c_{t+1}``.
    ``info["targets"]`` / ``info["target_mask"]`` give the supervised view, as does
    ``stream.next_supervised_chunk(T)``.

    ## Episode end
    Never: the stream is continuing.

    ## Arguments
    * ``cue_prob`` (0.5): probability that the cue line is on at a step, in (0, 1].
    * ``delay`` (2): steps between a comparison and its target, >= 1.

    ## Version History
    * v0: Williams & Zipser (1989) §3.3, cue probability 0.5, target 2 steps after the comparison.
    """

    def __init__(self, cue_prob: float = 0.5, delay: int = 2) -> None:
        unit_interval("cue_prob", cue_prob, low_open=True)
        positive_int("delay", delay)
        super().__init__(DelayedNonmatchStream.obs_dim)
        self.cue_prob, self.delay = float(cue_prob), int(delay)

    def stream(self, seed: int) -> DelayedNonmatchStream:
        return DelayedNonmatchStream(self.cue_prob, self.delay, seed)
