"""Pipelined XOR (Williams & Zipser 1989, §3.1)."""
from __future__ import annotations

import numba as nb
import numpy as np

from rtrlbench.envs import _rng
from rtrlbench.envs.wz_supervised import SupervisedEnv, SupervisedStream
from rtrlbench.validation import positive_int


class PipelinedXORStream(SupervisedStream):
    obs_dim = 2
    n_targets = 1

    def __init__(self, delay: int, seed: int) -> None:
        super().__init__(seed)
        self.delay = delay
        self._clock = np.zeros(1, dtype=np.int64)
        self._ring = np.zeros(delay, dtype=np.int64)  # XOR values of the last `delay` steps

    def _fill(self, inputs, targets, mask):
        _generate(self._rng, self._clock, self._ring, inputs, targets, mask)


@nb.njit(cache=True)
def _generate(rng, clock, ring, inputs, targets, mask):
    delay = ring.shape[0]
    t = clock[0]
    for i in range(inputs.shape[0]):
        a = _rng.randint(rng, 0, 1)
        b = _rng.randint(rng, 0, 1)
        inputs[i, 0] = a
        inputs[i, 1] = b
        slot = t % delay
        if t >= delay:
            targets[i, 0] = ring[slot]
            mask[i, 0] = True
        ring[slot] = a ^ b
        t += 1
    clock[0] = t


class PipelinedXOREnv(SupervisedEnv):
    """Pipelined XOR (Williams & Zipser 1989, §3.1).

    ## Description
    Two input lines each carry a fresh random bit at every step. The target at step t is
    the XOR of the two bits shown at step t - ``delay``: the network must compute XOR (a
    two-layer function) while pipelining the answer through ``delay`` steps. The paper
    trained one unit of a 3-unit network for delay 2 and larger networks for 3 and 4,
    without teacher forcing.

    Time follows the paper: the input at t reaches the units' outputs at t + 1, so
    ``delay`` >= 2 leaves room for a hidden layer.

    ## Observation
    ``Box(0, 1, (2,), float32)``: the two random bits x(t).

    ## Action
    ``Discrete(1)``: ignored (this is a prediction task).

    ## Rewards
    The reward is the cumulant ``c_t = d(t)`` = XOR of the bits at t - ``delay`` (0 for
    t < ``delay``, where there is no target); ``info["gamma"]`` is 0, so a prediction
    made at t targets ``c_{t+1}``. ``info["targets"]`` (float64[1]) and
    ``info["target_mask"]`` (bool[1]) give the supervised view, as does
    ``env.unwrapped.stream(seed).next_supervised_chunk(T)``.

    ## Episode end
    Never: the stream is continuing.

    ## Arguments
    * ``delay`` (2): tau, the steps between the input bits and their XOR target (>= 1).

    ## Version History
    * v0: Williams & Zipser (1989) §3.1 with tau = 2.
    """

    def __init__(self, delay: int = 2) -> None:
        positive_int("delay", delay)
        super().__init__(PipelinedXORStream.obs_dim)
        self.delay = int(delay)

    def stream(self, seed: int) -> PipelinedXORStream:
        return PipelinedXORStream(self.delay, seed)
