"""Every env id the suite registers with Gymnasium (called once by ``import rtrlbench``).

Each entry: id -> (entry point, default kwargs, one-line summary for ``rtrlbench envs``).
"""
from __future__ import annotations

import gymnasium as gym

_TRACE = "rtrlbench.envs.trace_patterning:TraceTaskEnv"

ENVS: dict[str, tuple[str, dict, str]] = {
    "TracePatterning-v0": (
        _TRACE, {},
        "6 CS bits, 3 on per pattern, 10 of 20 patterns followed by the US after ISI 14-26 steps; gamma 0.9",
    ),
    "TraceConditioning-v0": (
        _TRACE, {"n_cs": 1, "n_active": 1, "n_activating": 1},
        "one CS, always followed by the US after ISI 14-26 steps; gamma 0.9",
    ),
    "NoisyPatterning-v0": (
        _TRACE, {"distractor_probs": (0.05,) * 10, "us_noise": 0.1},
        "trace patterning with 10 distractor bits (p=0.05 each) and 10% of US outcomes flipped",
    ),
}


def register_all() -> None:
    for env_id, (entry_point, kwargs, _) in ENVS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, kwargs=dict(kwargs))
