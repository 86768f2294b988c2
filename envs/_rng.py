"""A small counter-free PRNG (xoshiro256**) for compiled stream generators.

Numba's ``np.random`` keeps one global state per thread, so two streams generated in
the same process would interleave. Each stream instead owns a ``uint64[4]`` state
array and passes it to these functions, which makes chunked generation independent
of chunk boundaries and of any other stream.
"""
import numba as nb
import numpy as np


def new_state(seed_sequence: np.random.SeedSequence) -> np.ndarray:
    """A fresh xoshiro256** state (uint64[4], never all zero) from a SeedSequence."""
    state = seed_sequence.generate_state(4, dtype=np.uint64)
    if not state.any():
        state[0] = np.uint64(0x9E3779B97F4A7C15)
    return state


@nb.njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@nb.njit(cache=True)
def next_u64(s):
    """Advance the state ``s`` in place and return the next 64-bit output."""
    result = _rotl(s[1] * np.uint64(5), 7) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@nb.njit(cache=True)
def uniform(s):
    """A float64 uniform on [0, 1) with 53 random bits."""
    return (next_u64(s) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@nb.njit(cache=True)
def randint(s, low, high):
    """An integer uniform on {low, ..., high} (both inclusive), by rejection (no modulo bias)."""
    span = np.uint64(high - low + 1)
    limit = np.uint64(0xFFFFFFFFFFFFFFFF) - (np.uint64(0xFFFFFFFFFFFFFFFF) % span)
    while True:
        r = next_u64(s)
        if r < limit:
            return low + np.int64(r % span)
