"""Online feature normalisation (Javed et al. 2023, eq. 10), as compiled kernels.

For each feature f (one entry of a vector), with decay ``beta``:

    mu      <- beta * mu  + (1 - beta) * f
    var     <- beta * var + (1 - beta) * (mu_new - f)^2
    f_hat    = (f - mu) / scale(var)

with ``mu = 0`` and ``var = 1`` at the start. Two floors for ``scale``:

* ``FLOOR_STD`` (the paper):          scale = max(eps, sqrt(var))
* ``FLOOR_VAR`` (the released code):  scale = sqrt(max(eps, var))   (its ``std_cap`` floors the variance)

:func:`scale_slope` is d scale / d var, which a learner needs when the statistics depend
on its parameters (0 where the floor is active).
"""
import numba as nb
import numpy as np

from rtrlbench.validation import choice, positive_float, unit_interval

FLOOR_STD = 0
FLOOR_VAR = 1
FLOORS = {"std": FLOOR_STD, "var": FLOOR_VAR}


def floor_code(name: str) -> int:
    return FLOORS[choice("norm_floor", name, FLOORS, hint=" ('std': the paper's max(eps, sigma); 'var': the "
                                                          "released code's sqrt(max(eps, var)))")]


def check_norm_args(beta: float, eps: float) -> None:
    """Raise ValueError unless 0 <= beta < 1 and eps > 0 (finite)."""
    unit_interval("norm_beta", beta, high_open=True)
    positive_float("norm_eps (the floor of the scale)", eps)


@nb.njit(cache=True, inline="always")
def scale(var, eps, floor):
    """The divisor of a feature with variance estimate ``var``."""
    if floor == FLOOR_STD:
        return max(eps, np.sqrt(var))
    return np.sqrt(max(eps, var))


@nb.njit(cache=True, inline="always")
def scale_slope(var, eps, floor):
    """d scale / d var (0 where the floor holds the scale)."""
    s = np.sqrt(var)
    if (floor == FLOOR_STD and s > eps) or (floor == FLOOR_VAR and var > eps):
        return 0.5 / s
    return 0.0


@nb.njit(cache=True, error_model="numpy")  # IEEE division (no zero check: scale > 0), so the loop vectorises
def update_normalise(mu, var, f, out, n, beta, eps, floor):
    """Update the statistics of ``f[:n]`` in place and write the normalised values to ``out[:n]``."""
    for j in range(n):
        m = beta * mu[j] + (1.0 - beta) * f[j]
        d = m - f[j]
        v = beta * var[j] + (1.0 - beta) * d * d
        mu[j] = m
        var[j] = v
        out[j] = (f[j] - m) / scale(v, eps, floor)


@nb.njit(cache=True)
def inverse_scales(var, out, n, eps, floor):
    """``out[:n] = 1 / scale(var[:n])``: fixed statistics, ready to fold into weights."""
    for j in range(n):
        out[j] = 1.0 / scale(var[j], eps, floor)


class OnlineNormaliser:
    """Per-feature running normaliser for a vector of ``size`` features (eq. 10).

    ``normaliser(f)`` updates the statistics with ``f`` (float64[size]) and returns the
    normalised vector; :meth:`state` / :meth:`set_state` checkpoint it.
    """

    def __init__(self, size: int, beta: float = 0.99999, eps: float = 0.01, floor: str = "std") -> None:
        check_norm_args(beta, eps)
        self.size, self.beta, self.eps, self.floor = int(size), float(beta), float(eps), floor_code(floor)
        self.mu = np.zeros(self.size)
        self.var = np.ones(self.size)

    def __call__(self, f: np.ndarray) -> np.ndarray:
        f = np.ascontiguousarray(f, dtype=np.float64)
        if f.shape != (self.size,):
            raise ValueError(f"expected a feature vector of shape ({self.size},), got {f.shape}")
        out = np.empty(self.size)
        update_normalise(self.mu, self.var, f, out, self.size, self.beta, self.eps, self.floor)
        return out

    def state(self) -> dict:
        return {"mu": self.mu.copy(), "var": self.var.copy()}

    def set_state(self, state: dict) -> None:
        self.mu[:] = state["mu"]
        self.var[:] = state["var"]
