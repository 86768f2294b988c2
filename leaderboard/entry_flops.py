"""FLOPs per step of the suite's own learners (Appendix A of Javed et al. 2023).

The formulas live in :mod:`rtrlbench.agents.learner_flops`; this module is the one place the
leaderboard calls them. It returns ``None`` for a learner the suite cannot cost (a user's own).
"""
from __future__ import annotations

from rtrlbench.agents.learner_flops import flops_per_step

#: Learners that do no learning computation worth counting.
_FREE = {"zero": 0.0}


def suite_flops_per_step(learner: str | None, n_inputs: int, hyperparameters: dict) -> float | None:
    """Estimated FLOPs per step of ``learner`` with ``hyperparameters`` on ``n_inputs`` inputs, or None."""
    if learner in _FREE:
        return _FREE[learner]
    if not learner:
        return None
    try:
        return float(flops_per_step(learner, n_inputs, **hyperparameters))
    except (KeyError, ValueError, TypeError):
        return None


def env_flops_per_step(env_id: str, learner: str | None, hyperparameters: dict) -> float | None:
    """:func:`suite_flops_per_step` for ``env_id``'s observation size."""
    if learner is None:
        return None
    import numpy as np

    from rtrlbench.run import make_env

    n_inputs = int(np.prod(make_env(env_id).observation_space.shape))
    return suite_flops_per_step(learner, n_inputs, hyperparameters)
