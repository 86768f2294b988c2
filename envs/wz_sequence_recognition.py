"""Simple sequence recognition (Williams & Zipser 1989, §3.2)."""
from __future__ import annotations

import numba as nb
import numpy as np

from rtrlbench.envs import _rng
from rtrlbench.envs.wz_supervised import SupervisedEnv, SupervisedStream
from rtrlbench.validation import int_at_least


class SequenceRecognitionStream(SupervisedStream):
    n_targets = 1

    def __init__(self, n_lines: int, seed: int) -> None:
        super().__init__(seed)
        self.obs_dim = n_lines
        self._clock = np.zeros(3, dtype=np.int64)  # [t, an unused a is pending, target of the next row]

    def _fill(self, inputs, targets, mask):
        _generate(self._rng, self._clock, inputs, targets, mask)


@nb.njit(cache=True)
def _generate(rng, clock, inputs, targets, mask):
    t, armed, fire = clock[0], clock[1], clock[2]
    n_lines = inputs.shape[1]
    for i in range(inputs.shape[0]):
        if t > 0:
            targets[i, 0] = fire
            mask[i, 0] = True
        line = _rng.randint(rng, 0, n_lines - 1)
        inputs[i, line] = 1.0
        fire = 1 if (line == 1 and armed == 1) else 0
        if line == 0:
            armed = 1
        elif fire == 1:
            armed = 0
        t += 1
    clock[0], clock[1], clock[2] = t, armed, fire


class SequenceRecognitionEnv(SupervisedEnv):
    """Simple sequence recognition (Williams & Zipser 1989, §3.2).

    ## Description
    Exactly one of ``n_lines`` input lines is on at each step, chosen uniformly. Line 0
    is the *a* line, line 1 the *b* line, the others are distractors. The target is 1
    at the step right after the first *b* that follows an *a* (that *a* is then used
    up: the next 1 needs a new *a*, and repeated *a* lines before the *b* count once),
    and 0 at every other step. No feedforward net on a tapped delay line can do this
    for arbitrary gaps; the paper's 2-unit network learned a flip-flop and an AND gate.

    ## Observation
    ``Box(0, 1, (n_lines,), float32)``: one-hot, the active line at step t.

    ## Action
    ``Discrete(1)``: ignored (this is a prediction task).

    ## Rewards
    The reward is the cumulant ``c_t = d(t)`` (1 right after a matching *b*, else 0; no
    target at t = 0); ``info["gamma"]`` is 0, so a prediction made at t targets
    ``c_{t+1}``. ``info["targets"]`` and ``info["target_mask"]`` (each of length 1)
    give the supervised view, as does ``stream.next_supervised_chunk(T)``.

    ## Episode end
    Never: the stream is continuing.

    ## Arguments
    * ``n_lines`` (4): input lines, >= 2 (a, b and ``n_lines - 2`` distractors).

    ## Version History
    * v0: Williams & Zipser (1989) §3.2 with four input lines.
    """

    def __init__(self, n_lines: int = 4) -> None:
        int_at_least("n_lines (the a and b lines, then distractors)", n_lines, 2)
        super().__init__(int(n_lines))
        self.n_lines = int(n_lines)

    def stream(self, seed: int) -> SequenceRecognitionStream:
        return SequenceRecognitionStream(self.n_lines, seed)
