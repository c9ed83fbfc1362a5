"""Everything one Explore view shows, computed in torch on the device.

``explore_view`` runs a variant on a tensor and returns small summaries only
(histograms, per-axis and per-group statistics, verification, traps): its size
does not grow with the tensor, so it is what gets cached and sent on to plotly.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from vnviz.analysis.histogram import DEFAULT_BINS, Histogram, histogram
from vnviz.analysis.stats import (
    AxisStats, GroupStats, ValueSummary, axis_stats, group_stats, summarize, summary_from_axes,
)
from vnviz.analysis.traps import traps
from vnviz.analysis.verify import Verification, run_checked
from vnviz.device import synchronize
from vnviz.variants.registry import apply, get_variant

MAX_FACETS = 16  # per-channel (or per-group) small multiples shown at most
MAP_SAMPLES = 4  # samples drawn in the group-map picture
MAP_ROWS = 32  # channels drawn in the group-map picture
MAP_COLS = 64  # positions drawn in the group-map picture


@dataclass(frozen=True)
class Side:
    """The summaries of one tensor (the input, or the output)."""

    summary: ValueSummary  # shape, moments, range, NaN/Inf counts
    hist: Histogram  # all values
    facets: Histogram  # one histogram per channel (first MAX_FACETS), counts (K, bins)
    axes: tuple[AxisStats, ...]  # per-axis statistics
    groups: GroupStats | None  # per statistic group (norm variants)


@dataclass(frozen=True)
class ExploreView:
    """What the Explore page draws for one (data, variant, parameters) choice."""

    variant: str  # registry name
    layout: str  # layout letters of the input, e.g. "N C H W"
    before: Side  # the input
    after: Side  # the output
    group_map: GroupPicture | None  # the group ids of the first samples/channels/positions
    pattern: str  # the einops pattern of the statistics on this input, e.g. "n l d -> 1 l 1" ("" if none)
    group_grid: tuple[int, int]  # how the groups tile a 2-D grid (rows, cols) for the heatmaps
    verification: Verification | None  # norm variants only
    warnings: tuple[str, ...]  # the known traps that apply
    seconds: float  # wall time of the whole analysis
    cluster: Any  # ClusterNorm's ClusterResult (labels, per-cluster statistics), else None


def _facet_ids(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Channel index per element, for channels 0..MAX_FACETS-1; others get id K (dropped)."""
    c = x.shape[1] if x.ndim >= 2 else 1
    k = min(c, MAX_FACETS)
    ids = torch.arange(c, device=x.device).clamp_max(k).reshape((1, c) + (1,) * (x.ndim - 2)) if x.ndim >= 2 else torch.zeros_like(x, dtype=torch.long)
    return ids, k


def _side(
    x: torch.Tensor, layout: str, bins: int, percentile: float | None, groups: torch.Tensor | None, ngroups: int,
    gstats: GroupStats | None = None,
) -> Side:
    hist = histogram(x, bins=bins, percentile=percentile)
    ids, k = _facet_ids(x)
    facets = histogram(x, bins=bins, range=(hist.lo, hist.hi), groups=ids, num_groups=k + 1)
    facets = Histogram(facets.edges, facets.counts[:k], facets.lo, facets.hi, facets.below, facets.above, facets.nonfinite)
    if gstats is None and groups is not None:
        gstats = group_stats(x, groups, ngroups)
    axes = axis_stats(x, layout)
    return Side(summary_from_axes(x, axes) or summarize(x), hist, facets, axes, gstats)


def group_grid(groups: torch.Tensor) -> tuple[int, int]:
    """(rows, cols) tiling of the G groups: cols = the groups met in sample 0."""
    g = int(groups.max()) + 1
    first = groups[0]
    cols = int(first.max()) - int(first.min()) + 1  # a sample's groups have consecutive ids
    if cols < 1 or g % cols:
        return 1, g
    return g // cols, cols


@dataclass(frozen=True)
class GroupPicture:
    """The group map of the first samples, channels and positions: what the group picture draws."""

    ids: torch.Tensor  # (S, R, P) group ids: S samples, R channels, P positions drawn
    samples: int  # the input's samples N (the first S are drawn)
    channels: int  # its channels C (the first R are drawn)
    positions: int  # its positions per (sample, channel): the product of the dims after C
    position_index: torch.Tensor  # (P,) the flattened positions drawn (evenly spread when there are many)
    position_name: str  # what a position is: the dims after C, flattened, e.g. "H·W" ("" for (N, C) data)
    groups: int  # statistic groups of the whole input

    @property
    def drawn(self) -> list[int]:
        """The group ids that appear in the picture, in order."""
        return torch.unique(self.ids).tolist()


def group_picture(groups: torch.Tensor, letters: tuple[str, ...] | None = None) -> GroupPicture:
    """Group ids of the first samples x channels x positions (flattened), small enough to draw."""
    shape = tuple(groups.shape)
    g = groups[:MAP_SAMPLES, :MAP_ROWS]
    g = g.reshape(g.shape[0], g.shape[1], -1)
    p = g.shape[2]
    index = torch.arange(p)
    if p > MAP_COLS:
        index = torch.linspace(0, p - 1, MAP_COLS).round().long()
        g = g[:, :, index.to(g.device)]
    letters = tuple(letters or ()) if letters and len(letters) == len(shape) else tuple(f"d{i}" for i in range(len(shape)))
    return GroupPicture(g.cpu(), shape[0], shape[1] if len(shape) > 1 else 1, p, index, "·".join(letters[2:]),
                        int(groups.max()) + 1 if groups.numel() else 0)


def explore_view(
    x: torch.Tensor,
    name: str,
    params: dict[str, Any],
    layout: str | None = None,
    bins: int = DEFAULT_BINS,
    percentile: float | None = None,
) -> ExploreView:
    """Run variant ``name`` on ``x`` and summarise input and output for the page.

    Args:
        x: the input on the device to compute on (channel-first).
        name: a registry name; params its keyword parameters.
        layout: layout letters such as "N C H W" (default: d0 d1 ...).
        bins: histogram bins; percentile: clip histogram ranges to [p, 100-p] percentiles.

    Raises InputError for impossible inputs or parameters (as ``apply``).
    """
    t0 = time.perf_counter()
    variant = get_variant(name)
    layout = layout if layout and len(layout.split()) == x.ndim else " ".join(f"d{i}" for i in range(x.ndim))
    warnings = tuple(traps(name, x, params, layout))
    groups = verification = picture = None
    pattern = ""
    grid = (1, 1)
    ngroups = 0
    cluster = x_stats = y_stats = None
    if variant.family == "norm":
        y, verification, checked = run_checked(name, x, params)
        groups, cluster = checked.groups, checked.cluster
        x_stats, y_stats = checked.x_stats, checked.y_stats
        if cluster is not None:
            warnings += cluster.warnings
        ngroups = int(groups.max()) + 1
        picture = group_picture(groups, tuple(layout.split()))
        pattern = variant.text(tuple(x.shape), layout, **params).pattern  # the declaration's one axes rule
        grid = group_grid(groups)
    else:
        y = apply(name, x, **params)
    out_layout = layout if y.ndim == x.ndim else None
    before = _side(x, layout, bins, percentile, groups, ngroups, x_stats)
    after = _side(y, out_layout or layout, bins, percentile, groups if y.shape == x.shape else None, ngroups, y_stats)
    synchronize(x.device)
    return ExploreView(
        variant=name, layout=layout, before=before, after=after, group_map=picture, pattern=pattern, group_grid=grid,
        verification=verification, warnings=warnings, seconds=time.perf_counter() - t0, cluster=cluster,
    )

