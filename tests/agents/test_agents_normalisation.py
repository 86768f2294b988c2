"""Online feature normalisation (eq. 10) and its two floors."""
import numpy as np
import pytest

from rtrlbench.agents.normalisation import OnlineNormaliser, scale, scale_slope, FLOOR_STD, FLOOR_VAR


def test_matches_equation_10_by_hand():
    beta, eps = 0.9, 0.01
    norm = OnlineNormaliser(2, beta=beta, eps=eps)
    mu, var = np.zeros(2), np.ones(2)
    for f in ([1.0, -2.0], [0.5, 0.0], [3.0, 1.0]):
        f = np.array(f)
        mu = beta * mu + (1 - beta) * f
        var = beta * var + (1 - beta) * (mu - f) ** 2
        np.testing.assert_allclose(norm(f), (f - mu) / np.maximum(eps, np.sqrt(var)), rtol=1e-14)
    np.testing.assert_allclose(norm.state()["var"], var, rtol=1e-14)


def test_the_two_floors():
    # the paper floors sigma at eps; the released code floors the variance at eps
    assert scale(1e-6, 0.1, FLOOR_STD) == 0.1
    assert scale(1e-6, 0.1, FLOOR_VAR) == pytest.approx(np.sqrt(0.1))
    assert scale(4.0, 0.1, FLOOR_STD) == scale(4.0, 0.1, FLOOR_VAR) == 2.0
    assert scale_slope(1e-6, 0.1, FLOOR_STD) == 0.0
    assert scale_slope(4.0, 0.1, FLOOR_VAR) == pytest.approx((np.sqrt(4.0 + 1e-7) - 2.0) / 1e-7, rel=1e-6)


@pytest.mark.parametrize("kwargs, match", [(dict(beta=1.0), "norm_beta"), (dict(beta=-0.1), "norm_beta"),
                                           (dict(eps=0.0), "norm_eps"), (dict(floor="mean"), "norm_floor")])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        OnlineNormaliser(3, **kwargs)


def test_wrong_size_raises():
    with pytest.raises(ValueError, match="shape"):
        OnlineNormaliser(3)(np.zeros(4))
