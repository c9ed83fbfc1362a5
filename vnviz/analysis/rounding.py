"""What rounding a dtype allows: the spacing of its numbers (ulps) and the error a correct kernel may make.

Pure dtype arithmetic, no variant named: ``ulp`` is the unit in the last
place of a dtype at a value, and ``tolerance`` the largest error (relative to
``max(1, |reference|)``) that a correct normalization kernel computing in a
dtype makes against exact float64 maths. Verification, the equivalence checks
and the precision report read both.
"""
from __future__ import annotations

import math

import torch

from vnviz.variants.norms import accumulation_dtype

TOLERANCE = {torch.float32: 1e-4, torch.float64: 1e-9}  # floors for float32/float64, relative to max(1, |reference|)
ROUNDINGS = 2.0  # units of rounding of the dtype: the output, and (CPU BatchNorm) the inverse std rounded to it
SUMS = 8.0  # units of the accumulation dtype per sqrt(n): the random-walk growth of the float32 sums of n values


def significant_bits(dtype: torch.dtype) -> int:
    """Bits of precision, the hidden one included: 11 for float16, 8 for bfloat16, 24 for float32, 53 for float64."""
    return 1 - round(math.log2(torch.finfo(dtype).eps))


def ulp(ref: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The unit in the last place of ``dtype`` at each value of ``ref``: the gap to the next larger magnitude.

    ``2**floor(log2|r|) * finfo(dtype).eps`` for normal values (1.0 has ulp
    eps: 2**-10 in float16, 2**-7 in bfloat16), and the subnormal spacing
    ``finfo(dtype).smallest_normal * eps`` below the smallest normal (0 included).
    Computed in ref's dtype (float64 for exact powers of two).
    """
    fi = torch.finfo(dtype)
    a = ref.abs().clamp_min(fi.smallest_normal)
    _, exponent = torch.frexp(a)  # a = m * 2**exponent with m in [0.5, 1)
    return torch.ldexp(torch.full_like(a, fi.eps), exponent - 1)


def tolerance(dtype: torch.dtype, group_size: int = 1, cancellation: float = 0.0) -> float:
    r"""The largest error a correct kernel computing in ``dtype`` makes against float64 maths, relative to
    ``max(1, |reference|)``, on statistic groups of ``group_size`` values whose ``|mean|`` is ``cancellation``
    times their standard deviation (0 for RMSNorm, which removes no mean).

    .. math:: u \, (R + r) + a \, (S \sqrt{n} + r^2)

    with ``u = finfo(dtype).eps``, ``a`` the eps of the dtype the statistics are
    summed in (float32 for float16/bfloat16: ``accumulation_dtype``), ``n`` the
    group size and ``r`` the cancellation. The terms: the output is rounded to
    the dtype once, and torch's CPU BatchNorm also rounds the inverse std and the
    mean (an error of ``u·|mean|/2`` before it is subtracted, hence ``u·r`` in
    units of the std); float32 sums of ``n`` values wander by about ``√n``
    units; the variance loses ``r²`` units to cancellation when
    ``|mean| ≫ std``. ``R = ROUNDINGS``, ``S = SUMS``. For float32 and float64
    the fixed floors of ``TOLERANCE`` (what vnviz always allowed) apply when
    larger; the half dtypes get the bound alone: 2u ≈ 2e-3 for float16 and
    1.6e-2 for bfloat16 on small well-centred groups, not a loosened constant.
    """
    u = torch.finfo(dtype).eps
    a = torch.finfo(accumulation_dtype(dtype)).eps
    r = max(0.0, float(cancellation))
    derived = u * (ROUNDINGS + r) + a * (SUMS * math.sqrt(max(1, group_size)) + r * r)
    return max(TOLERANCE.get(dtype, 0.0), derived)
