"""FLOPs per step of the suite's own learners (Appendix A of Javed et al. 2023).

The formulas live in :mod:`rtrlbench.agents.flops` (owned by the learners); this adapter is
the one place the leaderboard calls them, so a change of their API touches only this file.
It returns ``None`` for a learner the suite cannot cost (a user's own, or before
``agents/flops.py`` exists).
"""
from __future__ import annotations

import importlib
import inspect

#: Learners that do no learning computation worth counting.
_FREE = {"zero": 0.0}


def suite_flops_per_step(learner: str | None, n_inputs: int, hyperparameters: dict) -> float | None:
    """Estimated FLOPs per step of ``learner`` with ``hyperparameters`` on ``n_inputs`` inputs, or None."""
    if learner in _FREE:
        return _FREE[learner]
    try:
        flops = importlib.import_module("rtrlbench.agents.flops")
    except ImportError:
        return None
    function = getattr(flops, "flops_per_step", None)
    if function is None or not learner:
        return None
    params = inspect.signature(function).parameters
    hp = {k: v for k, v in hyperparameters.items() if k in params or _takes_kwargs(params)}
    try:
        value = function(learner, n_inputs, **hp)
    except (KeyError, ValueError, TypeError):
        return None
    return None if value is None else float(value)


def env_flops_per_step(env_id: str, learner: str | None, hyperparameters: dict) -> float | None:
    """:func:`suite_flops_per_step` for ``env_id``'s observation size."""
    if learner is None:
        return None
    import numpy as np

    from rtrlbench.run import make_env

    n_inputs = int(np.prod(make_env(env_id).observation_space.shape))
    return suite_flops_per_step(learner, n_inputs, hyperparameters)


def _takes_kwargs(params) -> bool:
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
