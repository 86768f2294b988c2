"""TD(lambda) with eligibility traces over a flat parameter vector, shared by every
reference learner (compiled helpers, called from each learner's numba loop).

Order of one step, for the transition into x_{t+1} with (c_{t+1}, gamma_{t+1}), given
y_t = V(S_t) and the trace e_t = lambda * gamma_t * e_{t-1} + grad V(S_t):

    y_{t+1} = V(S_{t+1})                       (forward pass with theta_t)
    delta   = c_{t+1} + gamma_{t+1} y_{t+1} - y_t
    theta  += step(delta * e_t)                (SGD, RMSProp or ObGD, below)
    e_{t+1} = lambda * gamma_{t+1} * e_t + grad V(S_{t+1})

so a ``gamma = 0`` (episode start) makes the trace start afresh, and the recorded
prediction is the one made before the update.

Optimisers (``optimizer`` code):
* ``SGD``:     theta += alpha * delta * e
* ``RMSPROP``: v = beta2 * v + (1 - beta2) * (delta * e)^2;  theta += alpha * delta * e / (sqrt(v) + eps)
  (the authors' C++ update, with beta2 = 0.9999, eps = 1e-8 and v starting at 1).
* ``OBGD``:    overshooting-bounded gradient descent (Elsayed, Vasan & Mahmood 2024, Algorithm 3):
  delta_bar = max(|delta|, 1);  M = kappa * delta_bar * sum_i alpha_i |e_i|;
  theta += alpha * delta * e / max(M, 1), with kappa = OBGD_KAPPA = 2 (the paper's value for
  value prediction). The sum runs over *every* parameter the step updates, whatever span
  or group it sits in, so ObGD is SGD with the TD error ``obgd_delta(delta, sum_i alpha_i |e_i|)``
  = delta / max(M, 1): learners with one span let :func:`update_then_accumulate` do it
  (through :func:`span_obgd_delta`);
  learners with several (CCN's columns and output layer, RTRL's W and readout) or with
  their own update kernels (T-BPTT, in its dtype) add up :func:`trace_l1` /
  :func:`weighted_trace_l1` over all of them, then call the SGD step with that TD error.
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
OBGD = 2
OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSPROP, "obgd": OBGD}
#: ObGD's scaling factor kappa: the paper's value for value prediction (Stream TD(lambda), the
#: critic of Stream AC(lambda) and Stream Q(lambda); its policy uses 3), the authors' code's default.
OBGD_KAPPA = 2.0


def optimizer_code(name: str) -> int:
    return OPTIMIZERS[choice("optimizer", name, OPTIMIZERS)]


@nb.njit(cache=True, inline="always")
def trace_l1(trace, n, zero):
    """sum_{i < n} |trace[i]|, summed in the dtype of ``zero`` (0.0 in the trace's dtype), in four
    running sums (independent chains the CPU overlaps; a fixed order, so deterministic)."""
    s0, s1, s2, s3 = zero, zero, zero, zero
    m = n - n % 4
    for i in range(0, m, 4):
        s0 += abs(trace[i])
        s1 += abs(trace[i + 1])
        s2 += abs(trace[i + 2])
        s3 += abs(trace[i + 3])
    for i in range(m, n):
        s0 += abs(trace[i])
    return (s0 + s1) + (s2 + s3)


@nb.njit(cache=True, inline="always")
def weighted_trace_l1(trace, alpha):
    """sum_i alpha_i |trace[i]| (float64), for per-parameter step sizes ``alpha``."""
    total = 0.0
    for i in range(trace.shape[0]):
        total += alpha[i] * abs(trace[i])
    return total


@nb.njit(cache=True, inline="always")
def obgd_delta(delta, alpha_l1, kappa, one):
    """ObGD's bounded TD error: the SGD step ``theta += alpha_i * result * e_i`` is then ObGD's.

    delta / max(M, 1) with M = kappa * max(|delta|, 1) * alpha_l1, ``alpha_l1`` = sum_i alpha_i |e_i|
    over every parameter the step updates (see the module docstring). Scalars of one dtype:
    ``one`` is 1 in it (float64 callers pass OBGD_KAPPA, 1.0). M = 0 (zero trace) leaves delta."""
    bound = kappa * max(abs(delta), one) * alpha_l1
    return delta / bound if bound > one else delta


@nb.njit(cache=True)
def span_obgd_delta(trace, n, delta, alpha):
    """:func:`obgd_delta` bounded over the first ``n`` entries of one trace with one step size
    (float64; not inlined, so that the SGD and RMSProp loops of its caller compile as before)."""
    return obgd_delta(delta, alpha * trace_l1(trace, n, 0.0), OBGD_KAPPA, 1.0)


@nb.njit(cache=True)
def accumulate_trace(trace, grad, decay):
    """e = decay * e + grad, in place (decay = lambda * gamma)."""
    for i in range(trace.shape[0]):
        trace[i] = decay * trace[i] + grad[i]


@nb.njit(cache=True, error_model="numpy")  # IEEE division (no zero check), so the RMSProp loop vectorises
def apply_update(theta, trace, delta, alpha, optimizer, v, beta2, eps):
    """theta += step(delta * trace), in place; ``v`` is the RMSProp state (unused by SGD).
    ``optimizer``: SGD or RMSPROP (ObGD callers pass SGD and :func:`obgd_delta`'s TD error)."""
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
    parameters, with one scalar step size ``alpha`` (``optimizer = NO_UPDATE``: the trace step only).
    ``OBGD`` bounds the step with these ``n`` parameters' trace alone (one more pass, over the
    trace): a learner whose step also updates other parameters passes ``SGD`` and its own
    :func:`obgd_delta` instead."""
    if optimizer == OBGD:
        delta = span_obgd_delta(trace, n, delta, alpha)
        optimizer = SGD
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
