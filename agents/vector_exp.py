"""exp(x) as plain float64 arithmetic (no libm call), so that a loop calling it vectorises and a
vectorised loop gives bit for bit what a scalar call gives: the column networks' gates use it, and
their population kernels (:mod:`rtrlbench.agents.population_ccn_kernels`) step many runs in
SIMD lanes while staying identical to the single-run learner.

Method (Cody-Waite range reduction, then Taylor to degree 13):

    n = round(x / ln 2),   r = (x - n ln2_hi) - n ln2_lo,   |r| <= ln2 / 2
    exp(x) = 2^n * sum_{i=0}^{13} r^i / i!      (Horner; truncation error < 5e-18 relative)

2^n is built in the exponent bits. Accuracy: within 2 ulp of the exact value on [-708, 709] (the
tests check it against libm). Outside: 0 below -708 (never a subnormal, which would run the
FPU's slow path), inf above 709, NaN for NaN.
"""
import numba as nb
import numpy as np
from numba.core import types
from numba.extending import intrinsic

LOG2E = 1.4426950408889634
#: ln 2 split in two (fdlibm): LN2_HI has 32 significant bits, so n * LN2_HI is exact for |n| < 2^21.
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
#: The range with a normal result whose 2^n has a normal exponent.
EXP_LO, EXP_HI = -708.0, 709.0
#: 1 / i! for i = 2 .. 13 (Horner's coefficients after 1 + r).
_C2, _C3, _C4, _C5 = 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120
_C6, _C7, _C8, _C9 = 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880
_C10, _C11, _C12, _C13 = 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800


@intrinsic
def _int64_bits_as_float64(typingctx, bits):
    """Reinterpret the 64 bits of an int64 as a float64 (an LLVM bitcast: vectorises)."""
    signature = types.float64(types.int64)

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return signature, codegen


@nb.njit(cache=True, inline="always")
def exp(x):
    """e^x of a float64 (see the module docstring for range and accuracy)."""
    xc = min(max(x, EXP_LO), EXP_HI)
    n = np.floor(xc * LOG2E + 0.5)
    r = (xc - n * LN2_HI) - n * LN2_LO
    p = _C12 + r * _C13
    p = _C11 + r * p
    p = _C10 + r * p
    p = _C9 + r * p
    p = _C8 + r * p
    p = _C7 + r * p
    p = _C6 + r * p
    p = _C5 + r * p
    p = _C4 + r * p
    p = _C3 + r * p
    p = _C2 + r * p
    p = 1.0 + r * p
    p = 1.0 + r * p
    y = p * _int64_bits_as_float64((np.int64(n) + 1023) << 52)
    y = np.inf if x > EXP_HI else y
    y = 0.0 if x < EXP_LO else y
    return x if x != x else y
