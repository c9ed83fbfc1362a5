"""Per-axis and per-group statistics, computed in torch on the tensor's device.

Every result is a small frozen dataclass of CPU tensors whose size does not
grow with the input beyond ``max_points`` per axis, ready for plotting.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from vnviz.analysis.chunks import like, row_blocks

MAX_POINTS = 256  # per-axis summaries longer than this are averaged in contiguous blocks


def acc_dtype(device: torch.device) -> torch.dtype:
    """The accumulation dtype on ``device``: float64, except on MPS (no float64 there)."""
    return torch.float32 if device.type == "mps" else torch.float64


@dataclass(frozen=True)
class AxisStats:
    """Statistics of each index of one axis, over all the other axes."""

    axis: int  # which dim of the input
    name: str  # its layout letter, e.g. "C"
    size: int  # the dim's length
    block: int  # indices summarised per point (1 unless the axis was longer than max_points)
    index: torch.Tensor  # (P,) first index of each point
    mean: torch.Tensor  # (P,) mean per index
    std: torch.Tensor  # (P,) population std per index
    min: torch.Tensor  # (P,) smallest value per index
    max: torch.Tensor  # (P,) largest value per index


def _blocks(t: torch.Tensor, block: int, how: str) -> torch.Tensor:
    """Combine consecutive entries of a 1-D tensor in blocks (the last one may be short)."""
    n = t.numel()
    pad = (-n) % block
    if how == "mean":
        counts = torch.full((n,), 1.0, dtype=t.dtype)
        s = torch.nn.functional.pad(t, (0, pad)).reshape(-1, block).sum(1)
        c = torch.nn.functional.pad(counts, (0, pad)).reshape(-1, block).sum(1)
        return s / c
    fill = -math.inf if how == "max" else math.inf
    padded = torch.cat([t, torch.full((pad,), fill, dtype=t.dtype)]).reshape(-1, block)
    return padded.amax(1) if how == "max" else padded.amin(1)


def _per_index(partial: torch.Tensor, d: int, how: str) -> torch.Tensor:
    """Reduce a partial-statistics tensor over every dim but ``d``."""
    others = tuple(i for i in range(partial.ndim) if i != d)
    if not others:
        return partial
    if how == "sum":
        return partial.sum(others)
    return partial.amin(others) if how == "min" else partial.amax(others)


def axis_stats(x: torch.Tensor, names: str | None = None, max_points: int = MAX_POINTS) -> tuple[AxisStats, ...]:
    """Mean, std, min and max of every index of every axis, over all the other axes.

    Args:
        x: any tensor with at least one dim.
        names: layout letters, e.g. "N C H W" (spaces optional); default "d0 d1 ...".
        max_points: longer axes are summarised in contiguous blocks of indices.

    The std is the population (biased) one, as normalization uses. The tensor
    is read a few times only, whatever its rank: sums, sums of squares, minima
    and maxima over the last dim give every other axis from a small partial
    tensor, and the last axis comes from column reductions.
    """
    letters = names.split() if names else [f"d{i}" for i in range(x.ndim)]
    if len(letters) != x.ndim:
        letters = [f"d{i}" for i in range(x.ndim)]
    dt = acc_dtype(x.device)
    lead, last = tuple(x.shape[:-1]), x.shape[-1]
    count = x.numel()
    kw = {"dtype": dt, "device": x.device}
    partial = {k: torch.empty(lead, **kw) for k in ("sum", "sq", "min", "max")}  # over the last dim, (*lead)
    col = {"sum": torch.zeros(last, **kw), "sq": torch.zeros(last, **kw),
           "min": torch.full((last,), math.inf, **kw), "max": torch.full((last,), -math.inf, **kw)}
    for s in row_blocks(tuple(x.shape), x.device):  # blocks of samples: small float64 temporaries
        xb = x[s].detach()
        xd = xb.to(dt)
        sq = xd * xd
        partial["sum"][s], partial["sq"][s] = xd.sum(-1), sq.sum(-1)
        partial["min"][s], partial["max"][s] = xb.amin(-1), xb.amax(-1)
        col["sum"] += xd.reshape(-1, last).sum(0)
        col["sq"] += sq.reshape(-1, last).sum(0)
        col["min"] = torch.minimum(col["min"], xb.reshape(-1, last).amin(0).to(dt))
        col["max"] = torch.maximum(col["max"], xb.reshape(-1, last).amax(0).to(dt))
    out = []
    for d in range(x.ndim):
        size = x.shape[d]
        n = count / size
        if d < x.ndim - 1:
            s1, s2 = _per_index(partial["sum"], d, "sum"), _per_index(partial["sq"], d, "sum")
            lo, hi = _per_index(partial["min"], d, "min"), _per_index(partial["max"], d, "max")
        else:
            s1, s2, lo, hi = col["sum"], col["sq"], col["min"], col["max"]
        mean = (s1 / n).cpu()
        var = (s2 / n).cpu() - mean * mean
        lo, hi = lo.cpu(), hi.cpu()
        block = max(1, math.ceil(size / max_points))
        if block > 1:
            second = _blocks(var + mean * mean, block, "mean")
            mean = _blocks(mean, block, "mean")
            var = second - mean * mean
            lo, hi = _blocks(lo, block, "min"), _blocks(hi, block, "max")
        index = torch.arange(0, size, block)
        out.append(AxisStats(d, letters[d], size, block, index, mean, var.clamp_min(0).sqrt(), lo, hi))
    return tuple(out)


@dataclass(frozen=True)
class GroupStats:
    """Mean and biased variance of every statistic group."""

    mean: torch.Tensor  # (G,) mean per group
    var: torch.Tensor  # (G,) biased variance per group
    count: torch.Tensor  # (G,) elements per group


def group_stats(
    x: torch.Tensor, groups: torch.Tensor, num_groups: int | None = None, count: torch.Tensor | None = None,
    transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> GroupStats:
    """Per-group mean and (two-pass, biased) variance, accumulated in float64 on x's device.

    Args:
        x: values, any shape.
        groups: int64 ids shaped like ``x`` or broadcastable to it (a ``stat_groups`` map).
        num_groups: G; default ``groups.max() + 1``.
        count: elements per group, when already known (e.g. from an earlier call on the same map).
        transform: applied to each block of x (widened to float64, x's shape kept) before it is
            accumulated, e.g. squaring it, or undoing an affine that broadcasts against x.

    Both passes walk x in blocks of samples (``row_blocks``), so no temporary is
    as large as x.
    """
    dt = acc_dtype(x.device)
    ids = like(groups, x)
    g = int(num_groups if num_groups is not None else int(ids.max()) + 1)
    if count is None:
        count = torch.bincount(ids.reshape(-1), minlength=g)[:g].to(dt)
    n = count.to(x.device, dt).clamp_min(1)
    blocks = list(row_blocks(tuple(x.shape), x.device))

    def values(s: slice) -> torch.Tensor:
        v = x[s].detach().to(dt)
        return (transform(v) if transform is not None else v).reshape(-1)

    total = torch.zeros(g, dtype=dt, device=x.device)
    for s in blocks:
        total.index_add_(0, ids[s].reshape(-1), values(s))
    mean = total / n
    spread = torch.zeros(g, dtype=dt, device=x.device)
    for s in blocks:
        i = ids[s].reshape(-1)
        dev = values(s) - mean[i]
        spread.index_add_(0, i, dev * dev)
    return GroupStats(mean.cpu(), (spread / n).cpu(), count.cpu())


@dataclass(frozen=True)
class ValueSummary:
    """Whole-tensor numbers for the data panel."""

    shape: tuple[int, ...]  # the tensor's shape
    dtype: str  # e.g. "float32"
    numel: int  # number of elements
    mean: float  # over finite values
    std: float  # population std over finite values
    min: float  # smallest finite value
    max: float  # largest finite value
    nan: int  # NaN count
    posinf: int  # +Inf count
    neginf: int  # -Inf count


def summary_from_axes(x: torch.Tensor, axes: tuple[AxisStats, ...]) -> ValueSummary | None:
    """The whole-tensor summary from ``axis_stats``, without another pass (None if not finite).

    Every index of an axis covers the same number of elements, so the overall
    mean is the mean of the per-index means and the second moment the mean of
    the per-index second moments; NaN/Inf would show in the range.
    """
    a = next((a for a in axes if a.block == 1), None)  # an axis kept index by index
    if a is None:
        return None
    lo, hi = float(a.min.min()), float(a.max.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    mean = float(a.mean.mean())
    second = float((a.std**2 + a.mean**2).mean())
    return ValueSummary(tuple(x.shape), str(x.dtype).replace("torch.", ""), x.numel(), mean,
                        math.sqrt(max(second - mean * mean, 0.0)), lo, hi, 0, 0, 0)


def summarize(x: torch.Tensor) -> ValueSummary:
    """Shape, dtype, moments, range and non-finite counts of ``x``."""
    xd = x.detach()
    if not xd.is_floating_point():
        xd = xd.to(torch.float32)
    lo, hi = torch.aminmax(xd) if xd.numel() else (math.nan, math.nan)
    if math.isfinite(lo) and math.isfinite(hi):  # NaN and Inf would show in the range: none here
        var, mean = torch.var_mean(xd.to(acc_dtype(x.device)), correction=0)
        return ValueSummary(tuple(x.shape), str(x.dtype).replace("torch.", ""), x.numel(), float(mean),
                            float(var.sqrt()), float(lo), float(hi), 0, 0, 0)
    finite = torch.isfinite(xd)
    nan = int(torch.isnan(xd).sum())
    posinf = int((xd == math.inf).sum())
    neginf = int((xd == -math.inf).sum())
    vals = xd[finite]
    if vals.numel():
        var, mean = torch.var_mean(vals.to(acc_dtype(x.device)), correction=0)
        lo, hi = torch.aminmax(vals)
        m, s, a, b = float(mean), float(var.sqrt()), float(lo), float(hi)
    else:
        m = s = a = b = math.nan
    return ValueSummary(tuple(x.shape), str(x.dtype).replace("torch.", ""), x.numel(), m, s, a, b, nan, posinf, neginf)
