"""Learning to oscillate (Williams & Zipser 1989, §3.5)."""
from __future__ import annotations

import numba as nb
import numpy as np

from rtrlbench.envs import _rng
from rtrlbench.envs.wz_supervised import SupervisedEnv, SupervisedStream
from rtrlbench.validation import choice, positive_float

#: variant -> (the paper's network size, one period of the binary target or None for the sine)
VARIANTS = {"alternating": (1, (0.0, 1.0)), "double": (2, (0.0, 0.0, 1.0, 1.0)), "sine": (2, None)}


class OscillationStream(SupervisedStream):
    obs_dim = 1
    n_targets = 1

    def __init__(self, variant: str, period: float, amplitude: float, seed: int) -> None:
        super().__init__(seed)
        pattern = VARIANTS[variant][1]
        self.period = float(len(pattern)) if pattern is not None else period
        self._pattern = np.array(pattern if pattern is not None else (), dtype=np.float64)
        self.amplitude = amplitude
        self._clock = np.array([_rng.randint(self._rng, 0, int(np.ceil(self.period)) - 1)], dtype=np.int64)

    def _fill(self, inputs, targets, mask):
        _generate(self._clock, self._pattern, self.period, self.amplitude, inputs, targets, mask)


@nb.njit(cache=True)
def _generate(clock, pattern, period, amplitude, inputs, targets, mask):
    t = clock[0]
    for i in range(inputs.shape[0]):
        inputs[i, 0] = 1.0
        if pattern.shape[0] > 0:
            targets[i, 0] = pattern[t % pattern.shape[0]]
        else:
            targets[i, 0] = 0.5 + amplitude * np.sin(2.0 * np.pi * t / period)
        mask[i, 0] = True
        t += 1
    clock[0] = t


class OscillationEnv(SupervisedEnv):
    """Learning to oscillate (Williams & Zipser 1989, §3.5).

    ## Description
    No external input: the network must generate a periodic sequence on its own.
    ``variant`` picks the target of the trained unit:

    * ``"alternating"``: 0 1 0 1 ... (the paper trained a single unit);
    * ``"double"``: 0 0 1 1 0 0 1 1 ... (one unit of a 2-unit network);
    * ``"sine"``: ``0.5 + amplitude * sin(2 pi t / period)``, a near-sinusoid of period
      about 25 (one unit of a 2-unit network).

    The seed only picks the starting phase. The paper found that these are learned with
    teacher forcing and, in general, not without: a small-weight network settles to a
    fixed point, and the gradient is ~0 across the bifurcation to oscillation.

    ## Observation
    ``Box(0, 1, (1,), float32)``: always 1 (a bias line; with the ``rtrl`` learner use
    ``bias=False`` to keep the paper's single bias).

    ## Action
    ``Discrete(1)``: ignored (this is a prediction task).

    ## Rewards
    The reward is the cumulant ``c_t = d(t)``, the oscillation's value at step t;
    ``info["gamma"]`` is 0, so a prediction made at t targets ``c_{t+1}``.
    ``info["targets"]`` / ``info["target_mask"]`` give the supervised view.

    ## Episode end
    Never: the stream is continuing.

    ## Arguments
    * ``variant`` ("alternating"): ``"alternating"``, ``"double"`` or ``"sine"``.
    * ``period`` (25.0): period of the sine in steps (> 2; ignored by the binary variants).
    * ``amplitude`` (0.4): amplitude of the sine, in (0, 0.5].

    ## Version History
    * v0: the three oscillations of Williams & Zipser (1989) §3.5, no input.
    """

    def __init__(self, variant: str = "alternating", period: float = 25.0, amplitude: float = 0.4) -> None:
        choice("variant", variant, VARIANTS)
        if not positive_float("period", period) > 2.0:
            raise ValueError(f"period must be more than 2 steps, got {period!r}")
        if not 0.0 < positive_float("amplitude", amplitude) <= 0.5:
            raise ValueError(f"amplitude must lie in (0, 0.5] so that the target stays in [0, 1], got {amplitude!r}")
        super().__init__(OscillationStream.obs_dim)
        self.variant, self.period, self.amplitude = variant, float(period), float(amplitude)

    @property
    def paper_units(self) -> int:
        """The network size the paper used for this variant."""
        return VARIANTS[self.variant][0]

    def stream(self, seed: int) -> OscillationStream:
        return OscillationStream(self.variant, self.period, self.amplitude, seed)
