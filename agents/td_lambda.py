"""TD(lambda) with eligibility traces over a flat parameter vector, shared by every
reference learner (compiled helpers, called from each learner's numba loop).

Order of one step, for the transition into x_{t+1} with (c_{t+1}, gamma_{t+1}), given
y_t = V(S_t) and the trace e_t = lambda * gamma_t * e_{t-1} + grad V(S_t):

    y_{t+1} = V(S_{t+1})                       (forward pass with theta_t)
    delta   = c_{t+1} + gamma_{t+1} y_{t+1} - y_t
    theta  += step(delta * e_t)                (SGD or RMSProp, below)
    e_{t+1} = lambda * gamma_{t+1} * e_t + grad V(S_{t+1})

so a ``gamma = 0`` (episode start) makes the trace start afresh, and the recorded
prediction is the one made before the update.

Optimisers (``optimizer`` code):
* ``SGD``:     theta += alpha * delta * e
* ``RMSPROP``: v = beta2 * v + (1 - beta2) * (delta * e)^2;  theta += alpha * delta * e / (sqrt(v) + eps)
  (the authors' C++ update, with beta2 = 0.9999, eps = 1e-8 and v starting at 1).
``alpha`` is per parameter (an array), so that groups of parameters can have their own step size.

:func:`update_then_accumulate` does the update and then the trace step in one pass over
the parameters (same arithmetic as :func:`apply_update` followed by :func:`accumulate_trace`,
with one scalar step size);
:func:`rmsprop_step` is the RMSProp update of one parameter, for learners that fuse it into
their own gradient loop. ``optimizer = NO_UPDATE`` skips the update (the first
step of a stream, which has no TD error yet).
"""
import numba as nb
import numpy as np

from rtrlbench.validation import choice

NO_UPDATE = -1
SGD = 0
RMSPROP = 1
OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSPROP}


def optimizer_code(name: str) -> int:
    return OPTIMIZERS[choice("optimizer", name, OPTIMIZERS)]


@nb.njit(cache=True)
def accumulate_trace(trace, grad, decay):
    """e = decay * e + grad, in place (decay = lambda * gamma)."""
    for i in range(trace.shape[0]):
        trace[i] = decay * trace[i] + grad[i]


@nb.njit(cache=True, error_model="numpy")  # IEEE division (no zero check), so the RMSProp loop vectorises
def apply_update(theta, trace, delta, alpha, optimizer, v, beta2, eps):
    """theta += step(delta * trace), in place; ``v`` is the RMSProp state (unused by SGD)."""
    if optimizer == SGD:
        for i in range(theta.shape[0]):
            theta[i] += alpha[i] * delta * trace[i]
    else:
        for i in range(theta.shape[0]):
            g = delta * trace[i]
            v[i] = beta2 * v[i] + (1.0 - beta2) * g * g
            theta[i] += alpha[i] * g / (np.sqrt(v[i]) + eps)


@nb.njit(cache=True, inline="always")
def rmsprop_step(theta, v, g, alpha, beta2, eps):
    """RMSProp on one parameter, on scalars (``g = delta * e``): returns the new (theta, v)."""
    v = beta2 * v + (1.0 - beta2) * g * g
    return theta + alpha * g / (np.sqrt(v) + eps), v


@nb.njit(cache=True, error_model="numpy")  # IEEE division (no zero check): the loops vectorise
def update_then_accumulate(theta, trace, grad, n, delta, alpha, decay, optimizer, v, beta2, eps):
    """:func:`apply_update` then :func:`accumulate_trace` in one pass over the first ``n``
    parameters, with one scalar step size ``alpha`` (``optimizer = NO_UPDATE``: the trace step only)."""
    if optimizer == SGD:
        step = alpha * delta
        for i in range(n):
            e = trace[i]
            theta[i] += step * e
            trace[i] = decay * e + grad[i]
    elif optimizer == RMSPROP:
        for i in range(n):
            theta[i], v[i] = rmsprop_step(theta[i], v[i], delta * trace[i], alpha, beta2, eps)
            trace[i] = decay * trace[i] + grad[i]
    else:
        for i in range(n):
            trace[i] = decay * trace[i] + grad[i]
