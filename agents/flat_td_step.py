"""The TD(lambda) step of :mod:`rtrlbench.agents.td_lambda` over a learner's whole flat parameter
vector, for compiled loops whose state and config NamedTuples carry the fields named below."""
import numba as nb

from rtrlbench.agents.td_lambda import NO_UPDATE, update_then_accumulate


@nb.njit(cache=True, inline="always")
def td_step(s, cfg, y, cumulant, gamma, is_first):
    """The TD(lambda) step of :mod:`rtrlbench.agents.td_lambda` after the prediction ``y`` and its
    gradient ``s.grad``: delta with the last prediction ``s.y_prev``, the update with the old trace,
    then the trace takes the gradient (``cfg``: ``lam``, ``alpha``, ``optimizer``, ``beta2``,
    ``eps``, ``size``; ``s``: ``theta``, ``trace``, ``grad``, ``v``, ``y_prev``)."""
    delta = 0.0 if is_first else cumulant + gamma * y - s.y_prev[0]
    decay = 0.0 if is_first else cfg.lam * gamma
    step_rule = NO_UPDATE if is_first else cfg.optimizer
    update_then_accumulate(s.theta, s.trace, s.grad, cfg.size, delta, cfg.alpha, decay, step_rule, s.v,
                           cfg.beta2, cfg.eps)
    s.y_prev[0] = y
