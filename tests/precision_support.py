"""The tolerance a test allows a norm's output against float64 maths: rounding.tolerance of its own groups."""
from __future__ import annotations

import torch

import vnviz
from vnviz.analysis.rounding import tolerance

SHAPE_PARAMS = ("num_groups", "normalized_shape")  # the parameters that decide a variant's groups


def group_tolerance(name: str, x: torch.Tensor, params: dict, eps: float = 1e-5) -> float:
    """``rounding.tolerance`` for x's dtype, the size of the variant's largest statistic group and how far the
    groups' means sit from 0 in units of their std (0 for RMSNorm, which removes no mean); relative to
    max(1, |reference|)."""
    groups = vnviz.stat_groups(name, x.shape, **{k: v for k, v in params.items() if k in SHAPE_PARAMS})
    ids = groups.reshape(-1)
    xd = x.detach().double().reshape(-1)
    count = torch.bincount(ids).double()
    mean = torch.zeros_like(count).index_add_(0, ids, xd) / count
    var = torch.zeros_like(count).index_add_(0, ids, (xd - mean[ids]) ** 2) / count
    r = 0.0 if vnviz.VARIANTS[name].stat == "rms" else float((mean.abs() / torch.sqrt(var + eps)).max())
    return tolerance(x.dtype, int(count.max()), r)


def max_error(y: torch.Tensor, ref: torch.Tensor) -> tuple[float, float]:
    """(largest |y - ref|, the scale it is judged at: max(1, largest |ref|))."""
    ref = ref.double()
    return float((y.double() - ref).abs().max()), max(1.0, float(ref.abs().max()))
