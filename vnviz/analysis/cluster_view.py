"""Everything the ClusterNorm page shows, computed in torch: BatchNorm vs ClusterNorm on the same data.

``cluster_view`` clusters once (through ``run_checked``, which also verifies
ClusterNorm), runs and verifies BatchNorm on the same input, and keeps only
small summaries: a downsampled 2-D PCA scatter, per-(cluster, channel)
statistics, per-cluster histograms and the cluster sizes. Its size is bounded
by the module constants below, never by the tensor.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import torch

from vnviz.analysis.histogram import DEFAULT_BINS, histogram
from vnviz.analysis.stats import group_stats
from vnviz.analysis.verify import Verification, run_checked
from vnviz.device import synchronize
from vnviz.i18n import N_, Msg
from vnviz.variants.cluster import CLUSTER_NORM, cluster_features

MAX_POINTS = 2000  # samples drawn in the scatter (evenly strided when there are more)
MAX_CLUSTERS = 8  # clusters given their own panels (the largest ones); noise gets one more
MAX_CHANNELS = 16  # channels with statistics and histograms (the first ones)
MAX_SIZES = 64  # clusters in the size bar chart (the largest ones)
NOISE = -1  # label of noise samples (dbscan, hdbscan)
SIDES = ("before", "BatchNorm", "ClusterNorm")  # the three tensors compared, in the order of ``ClusterStats``


@dataclass(frozen=True)
class ClusterStats:
    """Per-(cluster, channel) mean and std of the input and of both outputs."""

    mean: torch.Tensor  # (3, R, Cs) float64: SIDES x shown clusters (``rows``) x shown channels
    std: torch.Tensor  # (3, R, Cs) float64, biased (the std the layers divide by)


@dataclass(frozen=True)
class ClusterHists:
    """Per-cluster histograms of each shown channel after BatchNorm and after ClusterNorm, on shared bins."""

    edges: torch.Tensor  # (Cs, bins + 1) float64: one shared range per channel (both layers, every cluster)
    bn: torch.Tensor  # (Cs, R, bins) int64 counts after BatchNorm
    cn: torch.Tensor  # (Cs, R, bins) int64 counts after ClusterNorm


@dataclass(frozen=True)
class ClusterView:
    """What the ClusterNorm page draws for one (data, parameters) choice (small CPU tensors only)."""

    points: torch.Tensor  # (P, 2) float32 PCA coordinates of the drawn samples, P <= MAX_POINTS
    point_labels: torch.Tensor  # (P,) int64 cluster of each drawn sample (-1 = noise)
    point_true: torch.Tensor | None  # (P,) int64 true class of each drawn sample, when the data has one
    point_conf: torch.Tensor | None  # (P,) float32 largest posterior of each drawn sample (soft mode), else None
    explained: tuple[float, float]  # fraction of the total variance along each PCA axis
    n_samples: int  # N, all samples (the scatter may show fewer)
    n_clusters: int  # K, clusters found (noise not counted)
    n_noise: int  # samples labelled noise
    sizes: torch.Tensor  # (min(K, MAX_SIZES),) int64 samples per cluster, for ``size_ids``
    size_ids: torch.Tensor  # (min(K, MAX_SIZES),) int64 cluster ids of ``sizes``, ascending
    rows: tuple[int, ...]  # cluster id of each panel row (the largest MAX_CLUSTERS clusters, ascending; -1 = noise)
    channels: int  # Cs, channels with statistics and histograms (the first ones)
    stats: ClusterStats  # per-(cluster, channel) statistics before, after BatchNorm, after ClusterNorm
    hists: ClusterHists  # per-cluster histograms after BatchNorm | ClusterNorm
    ari: float | None  # adjusted Rand index of the clusters vs the true labels, None without them
    bn_check: Verification  # BatchNorm verified against torch and the float64 formula
    cn_check: Verification  # ClusterNorm verified (per-cluster nn.BatchNorm or the float64 mixture formula)
    method: str  # the clustering method ("labels" when labels were given)
    mode: str  # "hard" or "soft"
    warnings: tuple[str, ...]  # ClusterResult.warnings: one sentence per edge case met
    notes: tuple[str, ...]  # what this view left out (downsampled points, clusters or channels not drawn)
    cluster_seconds: float  # ClusterNorm's own call (clustering and normalization)
    seconds: float  # the whole view


def strided(n: int, most: int) -> torch.Tensor:
    """Indices of at most ``most`` of ``n`` items, evenly strided (deterministic), ascending."""
    if n <= most:
        return torch.arange(n)
    return torch.linspace(0, n - 1, most, dtype=torch.float64).round().long().unique()


def projection(x: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, tuple[float, float]]:
    """The samples of ``x`` (N, C, *) on the top two principal directions of their flattened values.

    Returns ((N, 2) coordinates, fraction of the total variance along each
    axis). Data with a single feature gets a zero second axis.
    """
    n = x.shape[0]
    flat = x.detach().reshape(n, -1).to(torch.float64 if x.device.type != "mps" else torch.float32)  # (N, D)
    pts = cluster_features(flat, "pca", 2, seed) if n > 1 else flat.new_zeros(n, 0)  # (N, <=2)
    if pts.shape[1] < 2:
        pts = torch.cat([pts, pts.new_zeros(n, 2 - pts.shape[1])], 1)  # (N, 2)
    total = float(flat.var(0, correction=0).sum()) if n > 1 else 0.0
    part = pts.var(0, correction=0) if n > 1 else pts.new_zeros(2)
    explained = tuple(float(v) / total if total > 0 else 0.0 for v in part)
    return pts, (explained[0], explained[1])


def _rows(labels: torch.Tensor, k: int) -> tuple[torch.Tensor, tuple[int, ...]]:
    """Counts per cluster (K,) and the panel rows: the MAX_CLUSTERS largest clusters, ascending, then noise."""
    counts = torch.bincount(labels[labels >= 0], minlength=k)[:k] if k else labels.new_zeros(0)
    top = counts.topk(min(k, MAX_CLUSTERS)).indices.sort().values if k else counts
    rows = tuple(int(i) for i in top) + ((NOISE,) if bool((labels < 0).any()) else ())
    return counts, rows


def _row_ids(labels: torch.Tensor, rows: tuple[int, ...]) -> torch.Tensor:
    """Panel row of each sample (N,): index into ``rows``, or len(rows) for samples in no panel."""
    lookup = torch.full((int(labels.max()) + 2 if labels.numel() else 1,), len(rows), dtype=torch.long)
    for r, k in enumerate(rows):
        lookup[k + 1] = r  # +1: noise (-1) sits at 0
    return lookup.to(labels.device)[labels + 1]


def cluster_view(
    x: torch.Tensor,
    params: dict[str, Any],
    true_labels: torch.Tensor | None = None,
    bins: int = DEFAULT_BINS,
) -> ClusterView:
    """Run ClusterNorm and BatchNorm on ``x`` and summarise both per cluster.

    Args:
        x: the input (N, C, *) on the device to compute on.
        params: ClusterNorm's keyword parameters (``cluster_norm_details``);
            BatchNorm gets the same eps, weight and bias.
        true_labels: (N,) true class per sample, for the scatter's symbols and
            the adjusted Rand index. Default: None.
        bins: histogram bins. Default: 60.

    Raises InputError for impossible inputs or parameters (as ``vnviz.apply``).
    """
    t0 = time.perf_counter()
    bn_params = {k: params[k] for k in ("eps", "weight", "bias") if k in params}
    y_cn, cn_check, checked = run_checked(CLUSTER_NORM.name, x, params)  # clusters once, and verifies
    res = checked.cluster
    y_bn, bn_check, _ = run_checked(CLUSTER_NORM.baseline, x, bn_params)  # what it equals with one cluster
    n, c = x.shape[:2]
    labels = res.labels  # (N,) on x.device, -1 = noise
    k = int(res.counts.numel())
    notes = []

    # the scatter: PCA of every sample, then at most MAX_POINTS of them
    pts, explained = projection(x, int(params.get("seed", 0)))
    keep = strided(n, MAX_POINTS)
    if keep.numel() < n:
        notes.append(Msg("The scatter shows {shown} of the {n} samples, evenly spaced.", shown=keep.numel(), n=n))
    keep_d = keep.to(x.device)
    lab_cpu = labels.cpu()
    point_true = None
    ari = None
    if true_labels is not None:
        true = torch.as_tensor(true_labels).reshape(-1).long().cpu()
        if true.numel() == n:
            from sklearn.metrics import adjusted_rand_score  # scikit-learn only when there are true labels

            point_true = true[keep]
            ari = float(adjusted_rand_score(true.numpy(), lab_cpu.numpy()))
    conf = None if res.posteriors is None else res.posteriors.index_select(0, keep_d).amax(1).float().cpu()

    # per-(cluster, channel) statistics and histograms, for the panel rows and the first MAX_CHANNELS channels
    counts, rows = _rows(lab_cpu, k)
    if k > MAX_CLUSTERS:
        notes.append(Msg("Per-cluster panels show the {shown} largest of the {k} clusters.", shown=MAX_CLUSTERS, k=k))
    cs = min(c, MAX_CHANNELS)
    if cs < c:
        notes.append(Msg("Per-cluster statistics and histograms cover the first {shown} of the {c} channels.",
                         shown=cs, c=c))
    r = len(rows)
    row = _row_ids(lab_cpu, rows).to(x.device)  # (N,) panel row, r = not drawn
    shape = (n, cs) + (1,) * (x.ndim - 2)
    ids = (row[:, None] * cs + torch.arange(cs, device=x.device)).reshape(shape)  # (N, Cs, 1...) (row, channel) id
    means, stds = [], []
    for t in (x, y_bn, y_cn):
        g = group_stats(t[:, :cs], ids.expand(t[:, :cs].shape), (r + 1) * cs)
        means.append(g.mean[: r * cs].reshape(r, cs))
        stds.append(g.var[: r * cs].clamp_min(0).sqrt().reshape(r, cs))
    stats = ClusterStats(torch.stack(means).double(), torch.stack(stds).double())

    edges, bn_counts, cn_counts = [], [], []
    rows_ids = row.reshape((n,) + (1,) * (x.ndim - 2))  # (N, 1...) panel row of each value of a channel
    for ch in range(cs):  # at most MAX_CHANNELS small calls; each bins every value of one channel in torch
        a, b = y_bn[:, ch], y_cn[:, ch]
        lo = min(float(a.min()), float(b.min()))
        hi = max(float(a.max()), float(b.max()))
        hb = histogram(a, bins, range=(lo, hi), groups=rows_ids, num_groups=r + 1)
        hc = histogram(b, bins, range=(lo, hi), groups=rows_ids, num_groups=r + 1)
        edges.append(hb.edges)
        bn_counts.append(hb.counts[:r])
        cn_counts.append(hc.counts[:r])
    hists = ClusterHists(torch.stack(edges), torch.stack(bn_counts), torch.stack(cn_counts))

    order = counts.topk(min(k, MAX_SIZES)).indices.sort().values if k else counts
    if k > MAX_SIZES:
        notes.append(Msg("The size chart shows the {shown} largest of the {k} clusters.", shown=MAX_SIZES, k=k))
    synchronize(x.device)
    return ClusterView(
        points=pts.index_select(0, keep_d).float().cpu(), point_labels=lab_cpu[keep], point_true=point_true,
        point_conf=conf, explained=explained, n_samples=n, n_clusters=k, n_noise=int((lab_cpu < 0).sum()),
        sizes=counts[order], size_ids=order, rows=rows, channels=cs, stats=stats, hists=hists, ari=ari,
        bn_check=bn_check, cn_check=cn_check, method=res.method, mode=str(params.get("mode", "hard")),
        warnings=tuple(res.warnings), notes=tuple(notes), cluster_seconds=res.seconds,
        seconds=time.perf_counter() - t0,
    )


def row_name(k: int) -> str:
    """A panel row's name: "cluster 2", or "noise" for -1."""
    return N_("noise") if k == NOISE else Msg("cluster {k}", k=k)


def payload_numbers(view: ClusterView) -> int:
    """How many numbers the figures of a view carry (bounded by the module constants, not by N)."""
    tensors = [view.points, view.point_labels, view.point_true, view.point_conf, view.sizes, view.size_ids,
               view.stats.mean, view.stats.std, view.hists.edges, view.hists.bn, view.hists.cn]
    total = sum(t.numel() for t in tensors if t is not None)
    return total if math.isfinite(total) else 0
