"""ClusterNorm: BatchNorm per cluster of samples, and Mixture Normalization.

The samples (dim 0) are clustered on features of their values (``clustering``);
each cluster then gets its own per-channel mean and (biased) variance, as if
BatchNorm ran on that cluster alone. ``mode="soft"`` replaces the hard clusters
by GMM posteriors (Mixture Normalization, Kalayeh & Shah, arXiv:1806.02892).

The statistics are one (K, C) table filled by one scatter, so there is no
Python loop over clusters. Noise, empty and singleton clusters have defined
behaviour, and each case adds one sentence to ``ClusterResult.warnings`` for
the app to show.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vnviz.errors import InputError
from vnviz.i18n import N_, Msg
from vnviz.variants.clustering import (
    FEATURES, METHODS, MODES, SEED_MAX, _kmeans, cluster_features, renumber, sklearn_cluster, torch_gmm_posteriors,
)
from vnviz.variants.norms import (
    BIAS, EPS, WEIGHT, HALF_DTYPES, accumulation_dtype, affine_param, check_input, dtype_name, fill_module, has_affine,
    param_dtype, values_per_channel,
)
from vnviz.variants.params import Param, named
from vnviz.variants.registry import Identity, Reduction, Variant, register

TITLE = N_("ClusterNorm")


@dataclass(frozen=True)
class ClusterResult:
    """ClusterNorm's output and what the app shows about it (tensors on x.device)."""

    y: torch.Tensor  # the normalized input, shaped like x, in x's dtype
    labels: torch.Tensor  # (N,) int64 cluster of each sample, 0..K-1; -1 = noise (batch statistics)
    posteriors: torch.Tensor | None  # (N, K) soft-mode posteriors τ (zero rows for noise); None in hard mode
    means: torch.Tensor  # (K, C) per-cluster (or per-component) channel means (float32 for float16/bfloat16 x)
    vars: torch.Tensor  # (K, C) per-cluster channel variances (biased; float32 for float16/bfloat16 x)
    counts: torch.Tensor  # (K,) int64 samples per cluster (soft mode: per argmax of the posteriors)
    warnings: tuple[str, ...] = ()  # one sentence per edge case met (noise, empty or singleton clusters, ...)
    method: str = "torch_kmeans"  # the clustering method, or "labels" when labels were given
    seconds: float = 0.0  # wall time of the whole call (clustering and normalization)

    @property
    def group_params(self) -> dict[str, Any]:
        """The parameters that fix this run's statistic groups (``stat_groups("cluster_norm", shape, **these)``)."""
        return {"labels": self.labels}

    @property
    def priors(self) -> torch.Tensor | None:
        """Soft mode: (K,) the mixture weights π_k = Σ_i τ_ik / M over the M samples in the mixture (noise
        excluded), whose 1/√π_k scales each component's term; None in hard mode."""
        if self.posteriors is None:
            return None
        return self.posteriors.sum(0) / (self.labels >= 0).sum().clamp_min(1).to(self.posteriors.dtype)


# -- inputs ------------------------------------------------------------------------


def _as_labels(labels: Any, n: int, what: str) -> torch.Tensor:
    """``labels`` as an (N,) int64 tensor, or InputError saying what is wrong."""
    if isinstance(labels, torch.Tensor):
        t = labels.detach()
    elif type(labels).__module__ == "numpy" and hasattr(labels, "dtype"):
        t = torch.as_tensor(labels)
    elif isinstance(labels, (list, tuple)):
        try:
            t = torch.tensor(labels)
        except (TypeError, ValueError, RuntimeError):
            raise InputError(
                "{what} must be a list of whole numbers, one cluster id per sample; got {labels!r:.80}.",
                what=what, labels=labels,
            ) from None
    else:
        raise InputError("{what} must be a tensor, array or list of whole numbers; got {type}.",
                         what=what, type=type(labels).__name__)
    if t.dtype == torch.bool or t.is_floating_point() or t.is_complex():
        raise InputError(
            "{what} must hold whole numbers (one cluster id per sample, -1 = noise); got dtype {dtype}.",
            what=what, dtype=str(t.dtype).replace("torch.", ""),
        )
    if t.ndim != 1 or t.shape[0] != n:
        raise InputError("{what} must have shape ({n},), one cluster id per sample; got shape {shape}.",
                         what=what, n=n, shape=tuple(t.shape))
    return t.long()


def _all_finite(t: torch.Tensor) -> bool:
    lo, hi = torch.aminmax(t.detach())
    return math.isfinite(lo) and math.isfinite(hi)


def _finite_input(x: torch.Tensor) -> torch.Tensor:
    """``x`` when every value is finite: clustering needs finite features, so this is checked first."""
    if not _all_finite(x):
        bad = int((~torch.isfinite(x)).sum())
        raise InputError(
            "ClusterNorm got an input with {bad} NaN or Inf value(s), which would spread through their whole "
            "cluster; replace or drop them first.",
            bad=bad,
        )
    return x


def _finite_output(y: torch.Tensor, eps: float) -> torch.Tensor:
    """``y`` when it is finite, else InputError: a zero-variance group with eps=0, or overflow."""
    if _all_finite(y):
        return y
    raise InputError(
        "ClusterNorm produced NaN or Inf: a (cluster, channel) group has zero variance (e.g. a sample alone in its "
        "cluster) and eps={eps:g} is too small, or the values overflow {dtype} (largest {max:.6g}); raise eps or "
        "rescale the input.",
        eps=eps, dtype=dtype_name(y.dtype), max=torch.finfo(y.dtype).max,
    )



# -- normalization ---------------------------------------------------------------


def _batch_stats(xs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and biased variance of (N, C, S) over N and S: BatchNorm's statistics."""
    return xs.mean((0, 2)), xs.var((0, 2), correction=0)


def _hard(xs: torch.Tensor, lab: torch.Tensor, k: int, eps: float,
          w: torch.Tensor | None = None, b: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
    """Normalize (N, C, S) with per-(cluster, channel) statistics, then the affine; noise (-1) with the batch's.

    Two passes (mean, then the centred sum of squares, as torch does), each
    one scatter into a (K, C) table; the affine is folded into the scale.
    Returns (y (N, C, S), means (K, C), vars (K, C), counts (K,)).
    """
    n, c, s = xs.shape
    has_noise = k == 0 or int(lab.min()) < 0
    rows = k + int(has_noise)  # row K: the whole batch, for noise samples
    idx = lab.masked_fill(lab < 0, k) if has_noise else lab  # (N,)
    if rows * n <= 1 << 22:  # small: one one-hot matrix serves both passes (BLAS)
        onehot = xs.new_zeros(rows, n).scatter_(0, idx[None], 1.0)  # (rows, N)
        table = onehot.__matmul__
    else:
        def table(v: torch.Tensor) -> torch.Tensor:
            return v.new_zeros(rows, c).index_add_(0, idx, v)
    counts = torch.bincount(idx, minlength=rows)  # (rows,)
    size = (counts.to(xs.dtype) * s).clamp_min(1)[:, None]  # (rows, 1)
    mean = table(xs.sum(-1) if s > 1 else xs[..., 0]) / size  # (rows, C)
    if has_noise:
        batch_mean, batch_var = _batch_stats(xs)
        mean = torch.cat([mean[:k], batch_mean[None]])
    d = xs - mean.index_select(0, idx)[:, :, None]  # (N, C, S)
    var = table((d * d).sum(-1) if s > 1 else d[..., 0] * d[..., 0]) / size  # (rows, C)
    if has_noise:
        var = torch.cat([var[:k], batch_var[None]])
    scale = torch.rsqrt(var + eps) if w is None else torch.rsqrt(var + eps) * w  # (rows, C)
    scale = scale.index_select(0, idx)[:, :, None]  # (N, C, 1)
    y = d * scale if b is None else torch.addcmul(b[:, None], d, scale)  # (N, C, S)
    return y, mean[:k], var[:k], counts[:k]


def _soft(xs: torch.Tensor, tau: torch.Tensor, eps: float) -> tuple[torch.Tensor, ...]:
    """Mixture Normalization of (M, C, S) with posteriors tau (M, K); see cluster_norm.

    The variance is the exact two-level sum ``Σ_s (x - μ_k)² = v_i + S (m_i - μ_k)²``
    (v_i: within-sample sum of squares, m_i: sample mean), and the output is
    ``(x - m̄_i) A_i + D_i`` with ``m̄_i = Σ_k τ_ik μ_k``, so one-hot posteriors
    give exactly the hard-mode arithmetic. Returns (y, means, vars).
    """
    m_, c, s = xs.shape
    m = xs.mean(-1)  # (M, C) per-sample means
    v = ((xs - m[..., None]) ** 2).sum(-1)  # (M, C) within-sample sums of squares
    mass = tau.sum(0)  # (K,) Σ_i τ_ik
    mu = tau.T @ m / mass[:, None]  # (K, C)
    dev = m[:, None, :] - mu[None]  # (M, K, C)
    var = (tau.T @ v + s * torch.einsum("mk,mkc->kc", tau, dev * dev)) / (mass[:, None] * s)  # (K, C)
    r = torch.rsqrt(var + eps)  # (K, C)
    a = tau / (mass / m_).sqrt()  # (M, K) τ_ik / √π_k
    mbar = tau @ mu  # (M, C)
    shift = torch.einsum("mk,kc,mkc->mc", a, r, mbar[:, None, :] - mu[None])  # (M, C)
    y = (xs - mbar[..., None]) * (a @ r)[..., None] + shift[..., None]  # (M, C, S)
    return y, mu, var

# -- the variant -------------------------------------------------------------------


def cluster_norm_details(
    x: torch.Tensor,
    method: str = "torch_kmeans",
    n_clusters: int = 3,
    mode: str = "hard",
    labels: Any = None,
    features: str = "flatten",
    pca_dim: int = 2,
    seed: int = 0,
    eps: float = 1e-5,
    weight: Any = None,
    bias: Any = None,
    max_iter: int = 50,
    tol: float = 1e-4,
    em_iter: int = 10,
    dbscan_eps: float = 0.5,
    min_samples: int = 5,
    min_cluster_size: int = 5,
) -> ClusterResult:
    r"""Cluster Normalization: BatchNorm within each cluster of samples, with everything the app shows.

    The samples (dim 0) are clustered on ``features`` (or grouped by the given
    ``labels``). Hard mode (``mode="hard"``):

    .. math:: y_i = \frac{x_i - \mu_{k(i)}}{\sqrt{\sigma^2_{k(i)} + \epsilon}} * \gamma + \beta

    with mean :math:`\mu_{kc}` and biased variance :math:`\sigma^2_{kc}` of
    channel ``c`` over the samples of cluster ``k`` and all their positions.
    Reduction: ``(k b) c h w -> k c 1 1``. One cluster is BatchNorm.

    Soft mode (``mode="soft"``) is Mixture Normalization (Kalayeh & Shah,
    arXiv:1806.02892) with posteriors :math:`\tau_{ik}` and S positions:

    .. math::
        \lambda_k = S \sum_i \tau_{ik}, \quad \pi_k = \frac{1}{N} \sum_i \tau_{ik}, \quad
        \mu_{kc} = \frac{1}{\lambda_k} \sum_{i,s} \tau_{ik} x_{ics}, \quad
        \sigma^2_{kc} = \frac{1}{\lambda_k} \sum_{i,s} \tau_{ik} (x_{ics} - \mu_{kc})^2

        y_i = \Big( \sum_k \frac{\tau_{ik}}{\sqrt{\pi_k}} \cdot
              \frac{x_i - \mu_k}{\sqrt{\sigma^2_k + \epsilon}} \Big) * \gamma + \beta

    One component (:math:`\tau = 1, \pi = 1`) is BatchNorm. The
    :math:`1/\sqrt{\pi_k}` factor is the paper's: with one-hot posteriors a
    sample of component k gets the hard-mode output times :math:`1/\sqrt{\pi_k}`,
    so small components are amplified and K balanced, well-separated modes
    come out :math:`\sqrt{K}` times larger than in hard mode (second moment
    :math:`\sum_k \pi_k / \pi_k = K`, not 1). Posteriors: scikit-learn's
    diagonal ``GaussianMixture`` when ``method="gmm"``; for the other methods a
    torch diagonal GMM started from the method's hard labels after ``em_iter``
    EM steps; with ``labels=`` the one-hot labels themselves. Soft-mode
    ``labels`` are the argmax of the posteriors, components that receive no
    posterior mass are dropped, and N in :math:`\pi_k` counts the samples in
    the mixture (noise excluded).

    Defined edge cases (each adds a sentence to ``warnings``): noise samples
    (label -1 from dbscan/hdbscan or in ``labels``) are normalized with the
    statistics of the whole batch (plain BatchNorm) and take no part in the
    clusters or the mixture; all noise is plain BatchNorm; a method that
    returns fewer clusters than asked has its labels renumbered 0..K'-1; a
    sample alone in its cluster with no spatial dims has variance 0, so only
    eps keeps it finite and its output is the bias (0 without affine).

    Precision: float16 and bfloat16 input is clustered and normalized on a
    float32 copy (clustering distances, k-means and EM in half precision would
    round away the differences they compare, and scikit-learn takes no half
    dtypes), as torch's BatchNorm accumulates half input in float32; the output
    is rounded once to x's dtype, and ``means``/``vars``/``posteriors`` stay
    float32. Unlike the CPU BatchNorm kernel the statistics are not rounded to
    x's dtype first: one cluster equals ``batch_norm`` with float32 weight and
    bias (torch's mixed mode) to the order of the float32 sums, and with
    parameters in x's dtype to the rounding of BatchNorm's statistics.

    Args:
        x: input ``(N, C, *)``, float16, bfloat16, float32 or float64.
        method: one of ``METHODS``; scikit-learn methods run on the CPU and
            refuse more samples than their cap (e.g. 5000 for spectral). Default: "torch_kmeans".
        n_clusters: K, at most N; ignored by dbscan, hdbscan and with ``labels``. Default: 3.
        mode: "hard" (BatchNorm per cluster) or "soft" (Mixture Normalization). Default: "hard".
        labels: ``(N,)`` whole numbers, one group per sample, -1 = noise; skips clustering. Default: None.
        features: "flatten", "channel_means" or "pca" (see ``cluster_features``). Default: "flatten".
        pca_dim: dims kept by ``features="pca"``. Default: 2.
        seed: seeds k-means++, PCA and scikit-learn's random_state. Default: 0.
        eps: added to the variance. Default: 1e-5.
        weight, bias: ``(C,)`` tensors, numbers or None. Default: None.
        max_iter, tol: k-means iterations and centre-shift tolerance (max_iter also for gmm). Default: 50, 1e-4.
        em_iter: EM steps of the torch GMM in soft mode. Default: 10.
        dbscan_eps, min_samples: DBSCAN's neighbourhood radius and core size. Default: 0.5, 5.
        min_cluster_size: HDBSCAN's smallest cluster. Default: 5.

    Shape: input ``(N, C, *)``, output the same.
    Raises InputError for n_clusters > N, more samples than the method's cap,
    a NaN or Inf in the input, and a NaN or Inf output (a zero-variance group
    with eps=0).
    """
    start = time.perf_counter()
    p = VARIANT.check_params(dict(
        method=method, n_clusters=n_clusters, mode=mode, features=features, pca_dim=pca_dim, seed=seed, eps=eps,
        max_iter=max_iter, tol=tol, em_iter=em_iter, dbscan_eps=dbscan_eps, min_samples=min_samples,
        min_cluster_size=min_cluster_size,
    ))
    x = _finite_input(check_input(x, TITLE))
    n, c = x.shape[:2]
    pdt = param_dtype(x, TITLE, weight=weight, bias=bias)
    op = accumulation_dtype(x.dtype)  # float32 for float16/bfloat16: the copy everything below works on
    w = affine_param(weight, (c,), x, named(TITLE, "weight"), pdt)
    b = affine_param(bias, (c,), x, named(TITLE, "bias"), pdt)
    w, b = (None if t is None else t.to(op) for t in (w, b))
    work = x.detach().to(op) if x.dtype in HALF_DTYPES else x
    notes: list[str] = []
    lab, k, method, post, f = _cluster(work, labels, p, notes)  # (N,) labels, -1 = noise, renumbered 0..K-1
    notes += _noise_notes(n, int((lab < 0).sum()), method, p["mode"])
    xs = work.reshape(n, c, -1)  # (N, C, S)
    if p["mode"] == "hard" or k == 0:
        y, means, var, counts = _hard(xs, lab, k, p["eps"], w, b)
        notes += _hard_notes(var, counts, xs.shape[2])
    else:
        y, lab, post, means, var, counts = _mixture(xs, lab, k, post, f, method, p, w, b, notes)
    return ClusterResult(
        y=_finite_output(y.reshape(x.shape).to(x.dtype), p["eps"]), labels=lab, posteriors=post,
        means=means, vars=var, counts=counts,
        warnings=tuple(notes), method=method, seconds=time.perf_counter() - start,
    )


def _cluster(x: torch.Tensor, labels: Any, p: dict[str, Any], notes: list[str]) -> tuple:
    """Step 1: the hard labels (N,) (-1 = noise, renumbered 0..K-1), K, the method, scikit-learn's GMM
    posteriors (soft gmm only, else None) and the features (None when none were computed)."""
    n = x.shape[0]
    method, k_asked = p["method"], p["n_clusters"]
    post = f = None
    if labels is not None:
        lab, k = renumber(_as_labels(labels, n, named(TITLE, "labels")).to(x.device))
        return lab, k, "labels", None, None
    uses_k, cap, why = METHODS[method]
    if uses_k and k_asked > n:
        raise InputError("ClusterNorm: n_clusters must be at most the number of samples N={n}; got {k_asked}.",
                         n=n, k_asked=k_asked)
    if cap is not None and n > cap:
        raise InputError(
            "ClusterNorm: method={method!r} handles at most {cap} samples ({why}); got {n}; use torch_kmeans or "
            "minibatch_kmeans for large batches.",
            method=method, cap=cap, why=why, n=n,
        )
    if uses_k and k_asked == 1:
        raw = torch.zeros(n, dtype=torch.long, device=x.device)  # one cluster: nothing to cluster
    elif method == "hdbscan" and n < p["min_cluster_size"]:
        raw = torch.full((n,), -1, dtype=torch.long, device=x.device)  # too few samples for any cluster
    else:
        f = cluster_features(x, p["features"], p["pca_dim"], p["seed"])
        if p["features"] == "pca" and f.shape[1] < p["pca_dim"]:
            notes.append(Msg("PCA kept {kept} dims, not pca_dim={pca_dim}: the flattened samples have no more.",
                             kept=f.shape[1], pca_dim=p["pca_dim"]))
        if method == "torch_kmeans":
            raw, distinct = _kmeans(f, k_asked, p["seed"], p["max_iter"], p["tol"])
            if distinct < k_asked:
                notes.append(Msg("The samples hold only {distinct} distinct point(s), fewer than n_clusters={k_asked}, "
                                 "so k-means++ stopped at {distinct} cluster(s).", distinct=distinct, k_asked=k_asked))
        else:
            raw, post, more = sklearn_cluster(
                method, f, k_asked, p["seed"], p["max_iter"], p["tol"], soft=p["mode"] == "soft",
                dbscan_eps=p["dbscan_eps"], min_samples=p["min_samples"], min_cluster_size=p["min_cluster_size"],
            )
            notes += more
    lab, k = renumber(raw)
    if uses_k and post is None and 0 < k < k_asked:
        notes.append(Msg("{method} found {k} cluster(s) instead of the {k_asked} asked for; the empty ones were dropped "
                         "and the labels renumbered 0..{last}.", method=method, k=k, k_asked=k_asked, last=k - 1))
    return lab, k, method, post, f


def _noise_notes(n: int, n_noise: int, method: str, mode: str) -> list[str]:
    """What happens to noise samples (label -1), in words."""
    if n_noise == n:
        if method == "dbscan":
            return [Msg("All {n} samples are noise (label -1), so the whole batch is normalized with its own "
                        "statistics, as plain BatchNorm (raise dbscan_eps or lower min_samples).", n=n)]
        if method == "hdbscan":
            return [Msg("All {n} samples are noise (label -1), so the whole batch is normalized with its own "
                        "statistics, as plain BatchNorm (lower min_cluster_size).", n=n)]
        return [Msg("All {n} samples are noise (label -1), so the whole batch is normalized with its own statistics, "
                    "as plain BatchNorm.", n=n)]
    if n_noise and mode == "soft":
        return [Msg("{n_noise} of {n} samples are noise (label -1) and are normalized with the statistics of the "
                    "whole batch (plain BatchNorm), taking no part in the mixture.", n_noise=n_noise, n=n)]
    if n_noise:
        return [Msg("{n_noise} of {n} samples are noise (label -1) and are normalized with the statistics of the "
                    "whole batch (plain BatchNorm).", n_noise=n_noise, n=n)]
    return []


def _hard_notes(var: torch.Tensor, counts: torch.Tensor, s: int) -> list[str]:
    """Singleton clusters and constant groups, in words (hard mode)."""
    out = []
    singles = int((counts == 1).sum())
    if singles and s == 1:
        out.append(Msg("{singles} sample(s) sit alone in their cluster: with no spatial dims each has one value per "
                       "channel, so its variance is 0, only eps keeps it finite, and its output is the bias (0 without "
                       "affine).", singles=singles))
    elif singles:
        out.append(Msg("{singles} sample(s) sit alone in their cluster, so their statistics come from their own {s} "
                       "positions per channel, as in InstanceNorm.", singles=singles, s=s))
    flat = (var == 0) & (counts > 1)[:, None]
    if bool(flat.any()):
        out.append(Msg("{groups} (cluster, channel) group(s) of several values are constant (variance 0): only eps "
                       "keeps them finite and their output is the bias.", groups=int(flat.sum())))
    return out


def _mixture(xs: torch.Tensor, lab: torch.Tensor, k: int, post: torch.Tensor | None, f: torch.Tensor | None,
             method: str, p: dict[str, Any], w: torch.Tensor | None, b: torch.Tensor | None,
             notes: list[str]) -> tuple:
    """Step 2, soft mode: posteriors, Mixture Normalization of the non-noise samples, the noise with the batch's
    statistics, then the affine. Returns (y, labels, posteriors, means, vars, counts)."""
    n = xs.shape[0]
    noise = lab < 0
    n_noise = int(noise.sum())
    keep = ~noise
    if post is not None:
        tau = post.to(xs.dtype)[keep]  # (M, K) scikit-learn GMM posteriors
    elif k == 1:
        tau = xs.new_ones(n - n_noise, 1)  # (M, 1) one component: BatchNorm
    elif method == "labels":
        tau = F.one_hot(lab[keep], k).to(xs.dtype)  # (M, K) the given groups, one-hot
    else:
        f_keep = f[keep] if n_noise else f
        tau = torch_gmm_posteriors(f_keep, lab[keep], k, p["em_iter"]).to(xs.dtype)
    alive = tau.sum(0) > 1e-8  # components with posterior mass
    if not bool(alive.all()):
        notes.append(Msg("{dropped} mixture component(s) received no posterior mass and were dropped; {left} remain.",
                         dropped=int((~alive).sum()), left=int(alive.sum())))
        tau = tau[:, alive] / tau[:, alive].sum(1, keepdim=True)
    k = tau.shape[1]
    y_keep, means, var = _soft(xs[keep] if n_noise else xs, tau, p["eps"])
    posteriors = xs.new_zeros(n, k)
    posteriors[keep] = tau
    lab = torch.full_like(lab, -1)
    lab[keep] = tau.argmax(1)
    counts = torch.bincount(lab[keep], minlength=k)
    if n_noise:
        batch_mean, batch_var = _batch_stats(xs)
        y = torch.empty_like(xs)
        y[keep] = y_keep
        y[noise] = (xs[noise] - batch_mean[:, None]) * torch.rsqrt(batch_var + p["eps"])[:, None]
    else:
        y = y_keep
    if w is not None:
        y = y * w[:, None]
    if b is not None:
        y = y + b[:, None]
    return y, lab, posteriors, means, var, counts


def cluster_norm(x: torch.Tensor, **params: Any) -> torch.Tensor:
    """Cluster Normalization; only the output (``cluster_norm_details`` has the rest)."""
    return cluster_norm_details(x, **params).y


def cluster_groups(shape: tuple[int, ...], labels: Any = None, **_: Any) -> torch.Tensor:
    """ClusterNorm's groups: one per (cluster, channel), id = cluster * C + c; noise: K * C + c.

    Clusters depend on the data, so the map needs the ``labels`` (e.g.
    ``cluster_norm_details(x).labels``); they are renumbered 0..K-1 in sorted order.
    """
    if labels is None:
        raise InputError(
            "ClusterNorm's statistic groups depend on the data, so stat_groups needs labels= "
            "(one cluster id per sample, e.g. cluster_norm_details(x).labels); got labels=None."
        )
    n, c = shape[0], shape[1]
    lab, k = renumber(_as_labels(labels, n, named(TITLE, "labels")).cpu())
    ids = lab.masked_fill(lab < 0, k)[:, None] * c + torch.arange(c)  # (N, C)
    return ids.reshape((n, c) + (1,) * (len(shape) - 2)).expand(shape).contiguous()


# -- the declaration -------------------------------------------------------------------


def reduces(shape: tuple[int, ...], labels: Any = None, **_: Any) -> Reduction:
    """The samples of each cluster and every position, per channel: ``(k b) c h w -> k c 1 1``."""
    return Reduction(shape, (0,) + tuple(range(2, len(shape))), clusters=True, affine=(1,),
                     params={} if labels is None else {"labels": labels})


class PerClusterBatchNorm(nn.Module):
    """``nn.BatchNorm1d`` run on each given cluster's samples alone; noise (-1) with the whole batch.

    Built from torch modules only, it is the independent reference of hard ClusterNorm with known labels.
    """

    def __init__(self, channels: int, labels: torch.Tensor, affine: bool, device: Any = None, dtype: Any = None):
        super().__init__()
        self.bn = nn.BatchNorm1d(channels, affine=False, track_running_stats=False, device=device, dtype=dtype)
        self.register_buffer("labels", torch.as_tensor(labels).reshape(-1).long())
        self.weight = nn.Parameter(torch.ones(channels, device=device, dtype=dtype)) if affine else None
        self.bias = nn.Parameter(torch.zeros(channels, device=device, dtype=dtype)) if affine else None
        self.code = N_("nn.BatchNorm1d(C, affine=False, track_running_stats=False) on each cluster's samples")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        flat = x.reshape(x.shape[0], c, -1)  # (N, C, S)
        out = self.bn(flat)  # noise samples keep the whole-batch normalization
        labels = self.labels.to(x.device)
        for k in labels.unique().tolist():
            if k < 0:
                continue
            rows = (labels == k).nonzero().flatten()
            part = flat.index_select(0, rows)
            # one value per channel: torch refuses; its variance is 0, so the output is 0
            out[rows] = self.bn(part) if part.shape[0] * part.shape[2] > 1 else 0
        if self.weight is not None:
            out = out * self.weight[:, None] + self.bias[:, None]
        return out.reshape(x.shape)


def module(shape: tuple[int, ...], affine: bool | None, running: bool | None, device: Any, dtype: Any,
           labels: Any = None, mode: str = "hard", weight: Any = None, bias: Any = None, eps: float = 1e-5,
           seed: int = 0, **params: Any) -> nn.Module:
    """With ``labels``: ``PerClusterBatchNorm``, torch's BatchNorm on each given cluster (hard mode; the reference
    verification uses). Without: a network's layer, ``cluster_layer.ClusteredNorm``, which keeps centroids and
    per-cluster running statistics as it trains (``running`` is implied: its eval mode needs them)."""
    with_affine = has_affine(affine, weight, bias)
    if labels is None:
        from vnviz.variants.cluster_layer import ClusteredNorm  # it builds on this module

        layer = ClusteredNorm(VARIANT, tuple(shape[1:]), dict(mode=mode, eps=eps, **params), with_affine, seed)
        return layer.to(device=device, dtype=dtype) if device is not None or dtype is not None else layer
    elif mode != "hard":
        raise InputError("soft mode mixes the components' statistics, so no torch module computes it")
    else:
        mod = PerClusterBatchNorm(shape[1], labels, with_affine, device, dtype)
        mod.bn.eps = eps
    return fill_module(mod, weight, bias)


def identities(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> list[Identity]:
    spec = (N_("ClusterNorm with one cluster = BatchNorm"), ("cluster_norm", {"n_clusters": 1, "mode": "hard"}),
            ("batch_norm", {}), True)
    if x.shape[0] * values_per_channel(x) < 2:
        return [Identity(*spec, "", order=50,
                         unavailable=N_("ClusterNorm with one cluster = BatchNorm needs more than one value per "
                                        "channel."))]
    return [Identity(*spec, N_("With a single cluster every sample is in the same group, so each channel is "
                               "normalized with the statistics of the whole batch: that is BatchNorm in training mode."),
                     order=50)]


VARIANT = register(Variant(
    name="cluster_norm", title=TITLE, family="norm", fn=cluster_norm,
    params=(
        Param("method", "choice", "torch_kmeans",
              N_("How samples are clustered: torch_kmeans runs on the device; the others are scikit-learn on the CPU "
                 "(spectral and agglomerative take at most 5000 samples, dbscan and hdbscan 20000)."),
              choices=tuple(METHODS)),
        Param("n_clusters", "int", 3, N_("Number of clusters K (not used by dbscan, hdbscan or given labels)."), low=1,
              when=(("method", tuple(m for m, spec in METHODS.items() if spec[0])),)),  # not dbscan, hdbscan
        Param("mode", "choice", "hard",
              N_("hard: BatchNorm per cluster; soft: Mixture Normalization with GMM posteriors."),
              choices=MODES),
        Param("labels", "tensor", None, N_("Given cluster id per sample (N,), -1 = noise; skips clustering."),
              widget=False),
        Param("features", "choice", "flatten",
              N_("What samples are clustered on: all their values, their channel means, or a PCA projection."),
              choices=FEATURES),
        Param("pca_dim", "int", 2, N_("Dims kept by features=pca."), low=1, when=(("features", ("pca",)),)),
        Param("seed", "int", 0, N_("Seeds k-means++, the PCA and scikit-learn; the same seed gives the same clusters."),
              low=0, high=SEED_MAX),
        EPS, WEIGHT, BIAS,
        Param("max_iter", "int", 50, N_("Most k-means (and gmm EM) iterations."), low=1),
        Param("tol", "float", 1e-4, N_("k-means stops when centres move less than tol × the mean feature variance."),
              low=0.0),
        Param("em_iter", "int", 10, N_("EM steps of the torch GMM that gives soft-mode posteriors (not for gmm)."),
              low=0,
              when=(("mode", ("soft",)), ("method", tuple(m for m in METHODS if m != "gmm")))),
        Param("dbscan_eps", "float", 0.5, N_("DBSCAN: neighbourhood radius in feature units."), low=0.0, low_open=True,
              when=(("method", ("dbscan",)),)),
        Param("min_samples", "int", 5, N_("DBSCAN: neighbours (self included) that make a core point."), low=1,
              when=(("method", ("dbscan",)),)),
        Param("min_cluster_size", "int", 5, N_("HDBSCAN: the smallest group counted as a cluster."), low=2,
              when=(("method", ("hdbscan",)),)),
    ),
    reference=N_("per-cluster torch.nn.functional.batch_norm"),
    summary=N_("Samples are clustered; each cluster gets its own mean and variance per channel (BatchNorm per "
               "cluster)."),
    rule=reduces, settings=lambda shape: [], groups=cluster_groups, make_module=module, identities=identities,
    details=cluster_norm_details, baseline="batch_norm", compare_params=("n_clusters",), precedence=6, order=60, compared=True,
))
CLUSTER_NORM = VARIANT  # the declaration, for the ClusterNorm page
