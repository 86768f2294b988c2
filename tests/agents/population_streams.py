"""Streams for the population tests: several synthetic prediction streams with episode ends inside,
and a chunker that cuts them at given step boundaries."""
import numpy as np


def synthetic_streams(n_streams: int, steps: int, n_inputs: int, *, p_cumulant: float = 0.1, p_end: float = 0.02,
                      discount: float = 0.9, seed: int = 42, dtype=np.float32):
    """obs [S, T, n_inputs] of ``dtype``; cumulant (Bernoulli ``p_cumulant``) and gamma (``discount``,
    0 with probability ``p_end`` and at step 0) float64[S, T]."""
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(n_streams, steps, n_inputs)).astype(dtype)
    cumulant = (rng.random((n_streams, steps)) < p_cumulant).astype(np.float64)
    gamma = np.where(rng.random((n_streams, steps)) < p_end, 0.0, discount)
    gamma[:, 0] = 0.0
    cumulant[:, 0] = 0.0
    return obs, cumulant, gamma


def chunked(obs, cumulant, gamma, bounds):
    """(obs, cumulant, gamma) of steps bounds[i]..bounds[i+1], for streams [S, T, n] or one stream [T, n]."""
    for start, stop in zip(bounds[:-1], bounds[1:]):
        yield obs[..., start:stop, :], cumulant[..., start:stop], gamma[..., start:stop]
