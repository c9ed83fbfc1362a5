"""Histograms binned in torch on the tensor's device.

Only the counts (bins, or groups x bins) come back to the CPU, so what a
figure receives does not grow with the tensor.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from vnviz.analysis.chunks import row_blocks

DEFAULT_BINS = 60
QUANTILE_SAMPLE = 1 << 20  # percentile ranges are estimated on at most this many evenly strided values


@dataclass(frozen=True)
class Histogram:
    """Counts of values in equal-width bins over [lo, hi]."""

    edges: torch.Tensor  # (bins + 1,) bin edges
    counts: torch.Tensor  # (bins,) or (K, bins) for per-group histograms; int64
    lo: float  # left edge of the first bin
    hi: float  # right edge of the last bin
    below: int  # finite values left of lo (clipped by a percentile range)
    above: int  # finite values right of hi
    nonfinite: int  # NaN and Inf values, never binned

    @property
    def centers(self) -> torch.Tensor:
        return (self.edges[:-1] + self.edges[1:]) / 2


def value_range(x: torch.Tensor, percentile: float | None = None) -> tuple[float, float]:
    """The range to bin: min..max of the finite values, or the [p, 100 - p] percentiles.

    Percentiles come from at most ``QUANTILE_SAMPLE`` evenly strided values,
    so one outlier in ten million does not flatten the plot and the cost stays
    bounded. A degenerate range is widened to a width of 1.
    """
    flat = x.detach().reshape(-1)
    if flat.numel() == 0:
        return -0.5, 0.5
    lo, hi = (float(v) for v in torch.aminmax(flat))
    if not (math.isfinite(lo) and math.isfinite(hi)):  # NaN/Inf show in the range; only then mask
        flat = flat[torch.isfinite(flat)]
        if flat.numel() == 0:
            return -0.5, 0.5
        lo, hi = (float(v) for v in torch.aminmax(flat))
    if percentile:
        if not 0 < percentile < 50:
            raise ValueError(f"percentile must be in (0, 50); got {percentile}")
        step = max(1, flat.numel() // QUANTILE_SAMPLE)
        sample = flat[::step].to(torch.float32 if flat.device.type == "mps" else torch.float64)
        q = torch.tensor([percentile / 100, 1 - percentile / 100], dtype=sample.dtype, device=sample.device)
        lo, hi = (float(v) for v in torch.quantile(sample, q))
    if not hi > lo:
        mid = lo
        lo, hi = mid - 0.5, mid + 0.5
    return lo, hi


def _bin_index(flat: torch.Tensor, lo: float, hi: float, bins: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(bin index per value, in-range mask); values at exactly hi fall in the last bin."""
    scale = bins / (hi - lo)
    idx = ((flat - lo) * scale).floor().clamp(-1, bins).long()
    idx = torch.where(flat == hi, bins - 1, idx)
    inside = (idx >= 0) & (idx < bins)
    return idx, inside


def histogram(
    x: torch.Tensor,
    bins: int = DEFAULT_BINS,
    range: tuple[float, float] | None = None,
    percentile: float | None = None,
    groups: torch.Tensor | None = None,
    num_groups: int | None = None,
) -> Histogram:
    """Bin the finite values of ``x``, optionally one histogram per group.

    Args:
        x: any float tensor.
        bins: number of equal-width bins (1..1000).
        range: (lo, hi); default from ``value_range(x, percentile)``.
        percentile: clip the default range to the [p, 100 - p] percentiles.
        groups: int64 ids broadcastable to ``x`` (e.g. the channel index) for
            one histogram per id; counts then have shape (num_groups, bins).
    """
    bins = int(bins)
    if not 1 <= bins <= 1000:
        raise ValueError(f"bins must be between 1 and 1000; got {bins}")
    lo, hi = range if range is not None else value_range(x, percentile)
    if not hi > lo:  # a degenerate range: one bin's width around it
        lo, hi = lo - 0.5, lo + 0.5
    flat = x.detach().reshape(-1)
    data_lo, data_hi = (float(v) for v in torch.aminmax(flat))
    all_finite = math.isfinite(data_lo) and math.isfinite(data_hi)  # one pass, no mask
    if all_finite:
        finite, nonfinite = None, 0
    else:
        finite = torch.isfinite(flat)
        nonfinite = int((~finite).sum())
        flat = flat[finite]
        if flat.numel():
            data_lo, data_hi = (float(v) for v in torch.aminmax(flat))
    clipped = flat.numel() > 0 and (data_lo < lo or data_hi > hi)  # only then count and drop the outliers
    below = int((flat < lo).sum()) if clipped else 0
    above = int((flat > hi).sum()) if clipped else 0
    edges = torch.linspace(lo, hi, bins + 1, dtype=torch.float64)
    if groups is None:
        if flat.device.type == "mps":  # no histc kernel there
            idx, inside = _bin_index(flat, lo, hi, bins)
            counts = torch.bincount(idx[inside], minlength=bins)[:bins]
        else:
            counts = torch.histc(flat, bins=bins, min=lo, max=hi).round().long()
        return Histogram(edges, counts.cpu(), lo, hi, below, above, nonfinite)
    ids = groups.to(x.device)
    k = int(num_groups if num_groups is not None else int(ids.max()) + 1)
    if finite is None and not clipped:
        # every value is in range: bin blocks of samples in place of x's shape and add the broadcast
        # group offset (int32, never materialising the group ids), the top edge falling in the last bin
        offset = (ids * bins).to(torch.int32).expand(x.shape)
        counts = torch.zeros(k * bins, dtype=torch.long, device=x.device)
        for s in row_blocks(tuple(x.shape), x.device):
            idx = ((x[s].detach() - lo) * (bins / (hi - lo))).clamp_(0, bins - 1).to(torch.int32)
            counts += torch.bincount((idx + offset[s]).reshape(-1), minlength=k * bins)[: k * bins]
    else:
        ids = ids.expand(x.shape).reshape(-1)
        if finite is not None:
            ids = ids[finite]
        idx, inside = _bin_index(flat, lo, hi, bins)
        counts = torch.bincount(ids[inside] * bins + idx[inside], minlength=k * bins)[: k * bins]
    return Histogram(edges, counts.reshape(k, bins).cpu(), lo, hi, below, above, nonfinite)

