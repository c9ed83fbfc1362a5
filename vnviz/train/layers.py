"""Norm layers built from the variant declarations: the one place the training lab reads them.

``norm_layer(name, feature_shape, params)`` turns a norm variant of
``vnviz.VARIANTS`` into an ``nn.Module`` for activations shaped
``(N, *feature_shape)`` (``(N, F)`` after a linear layer, ``(N, C, H, W)``
after a convolution). Everything comes from the declaration:

- ``min_ndim``: whether the variant can follow this layer at all (InstanceNorm
  needs positions, so it cannot follow a linear layer);
- ``affine``: the shape of the learnable weight and bias ("channel": ``(C,)``,
  "trailing": the normalized trailing dims, "none": none), created only where
  the variant declares ``weight``/``bias`` parameters;
- ``params``: the layer sets what a layer owns (``training`` from the module's
  mode, the affine, ``running_mean``/``running_var``/``num_batches_tracked`` as
  buffers, ``normalized_shape`` = every dim after the batch); every other
  declared parameter (``eps``, ``momentum``, ``num_groups``, ...) passes
  through, checked once by the declaration;
- running statistics are kept only where eval mode needs them: when the
  variant declares running buffers and, without them, eval mode does not
  normalize the way training mode does (BatchNorm: yes; InstanceNorm: it
  normalizes with each sample's own statistics in both modes, as
  ``nn.InstanceNorm2d``'s default);
- a variant with a ``labels`` parameter groups samples by data-dependent labels
  (ClusterNorm): it becomes a :class:`ClusteredNorm`, which clusters as it trains.

The forward calls the variant's own function (``Variant.fn``) with the
checked parameters, so the layer computes exactly what ``vnviz.apply`` does.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import torch
from torch import nn

from vnviz.errors import InputError
from vnviz.variants.registry import VARIANTS, Param, Variant, quote

OWNED = ("training", "normalized_shape", "weight", "bias", "running_mean", "running_var", "num_batches_tracked",
         "labels", "seed")  # parameters the layer sets itself; the rest pass through
CLUSTER_MOMENTUM = 0.1  # running-average factor of the cluster centroids and per-cluster statistics
CLUSTER_PARAMS = ("method", "n_clusters", "mode", "features", "eps", "max_iter", "tol")  # what ClusteredNorm uses
CLUSTER_FEATURES = ("flatten", "channel_means")  # what a training layer can cluster on, step after step


def clusters(variant: Variant) -> bool:
    """Whether the variant's statistic groups depend on the data (it takes ``labels``): it clusters as it trains."""
    return "labels" in variant.param_names


def layer_params(variant: Variant) -> tuple[Param, ...]:
    """The declared parameters a layer of ``variant`` passes through (what the app offers as widgets).

    Everything but what the layer owns (mode, affine, buffers, shapes, seed);
    for a clustering variant, what :class:`ClusteredNorm` uses besides its
    method and mode (listed apart as ``name:mode``), its features restricted
    to CLUSTER_FEATURES.
    """
    if clusters(variant):
        out = []
        for p in variant.widget_params:
            if p.name in CLUSTER_PARAMS and p.name not in ("method", "mode"):
                out.append(dataclasses.replace(p, choices=CLUSTER_FEATURES) if p.name == "features" else p)
        return tuple(out)
    return tuple(p for p in variant.widget_params if p.name not in OWNED and p.kind not in ("affine", "tensor"))


def pass_through(variant: Variant, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` checked against the declaration; InputError for unknown names or ones the layer owns."""
    for name in params:
        if name in OWNED and name in variant.param_names:
            raise InputError(
                f"{variant.title}'s {name} is set by the training layer itself (its mode, buffers and affine), "
                f"so norm_params cannot hold it; got {name}={quote(params[name])}."
            )
    return variant.check_params(params)


def _fits(variant: Variant, feature_shape: tuple[int, ...], where: str) -> None:
    """InputError when the activations (N, *feature_shape) have fewer dims than the variant needs."""
    ndim = len(feature_shape) + 1
    if ndim < variant.min_ndim:
        shape = "(N, " + ", ".join(map(str, feature_shape)) + ")"
        raise InputError(
            f"{variant.title} needs inputs with at least {variant.min_ndim} dims (N, C, positions), but {where} "
            f"gives activations of shape {shape}; choose the cnn model or another norm."
        )


@functools.lru_cache(maxsize=None)
def _eval_needs_running(name: str, feature_shape: tuple[int, ...], frozen: tuple[tuple[str, Any], ...]) -> bool:
    """Whether ``name`` in eval mode, without running statistics, differs from training mode on a probe.

    BatchNorm without running statistics is (almost) the identity in eval mode,
    so a layer must keep them; InstanceNorm normalizes each sample by itself
    in both modes, so it needs none.
    """
    variant = VARIANTS[name]
    g = torch.Generator().manual_seed(0)
    probe = torch.randn((4,) + feature_shape, generator=g) * 3 + 1
    kw = dict(frozen)
    train = variant.fn(probe, training=True, **kw)
    evaluated = variant.fn(probe, training=False, **kw)
    return not torch.allclose(train, evaluated, atol=1e-4)


class NormLayer(nn.Module):
    """A norm variant as a layer: learnable affine, buffers where the variant has them, forward = ``variant.fn``."""

    def __init__(self, variant: Variant, feature_shape: tuple[int, ...], params: dict[str, Any], affine: bool = True):
        super().__init__()
        self.variant = variant
        self.feature_shape = tuple(feature_shape)
        names = variant.param_names
        self.kwargs = pass_through(variant, params)
        c = feature_shape[0]
        shape = {"channel": (c,), "trailing": self.feature_shape}.get(variant.affine)
        make_affine = affine and shape is not None
        self.weight = nn.Parameter(torch.ones(shape)) if make_affine and "weight" in names else None
        self.bias = nn.Parameter(torch.zeros(shape)) if make_affine and "bias" in names else None
        self.takes_training = "training" in names
        self.running = (
            "running_mean" in names and "running_var" in names and self.takes_training
            and _eval_needs_running(variant.name, self.feature_shape, tuple(sorted(self.kwargs.items())))
        )
        if self.running:
            self.register_buffer("running_mean", torch.zeros(c))
            self.register_buffer("running_var", torch.ones(c))
            if "num_batches_tracked" in names:
                self.register_buffer("num_batches_tracked", torch.zeros((), dtype=torch.long).reshape(1))
        self.counter = self.running and "num_batches_tracked" in names

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kw = dict(self.kwargs)
        if self.weight is not None:
            kw["weight"] = self.weight
        if self.bias is not None:
            kw["bias"] = self.bias
        if self.takes_training:
            kw["training"] = self.training
        if self.running:
            kw["running_mean"], kw["running_var"] = self.running_mean, self.running_var
            if self.counter:
                kw["num_batches_tracked"] = self.num_batches_tracked
        return self.variant.fn(x, **kw)

    def extra_repr(self) -> str:
        return f"{self.variant.name}, {self.feature_shape}, running={self.running}, {self.kwargs}"


class ClusteredNorm(nn.Module):
    """ClusterNorm as a training layer: BatchNorm per cluster of samples; soft mode is Mixture Normalization.

    What is clustered: each sample's input to this layer, detached from the
    graph, as the variant's ``features`` ("flatten": all its values, ``(N, C*H*W)``;
    "channel_means": ``(N, C)``). Clusters are K centroids kept as buffers:

    - once, on the first training batch, the variant's k-means++ and Lloyd
      iterations (``torch_kmeans``, seeded with the config's seed) place them;
    - on every training step each sample goes to its nearest centroid (hard
      mode) or gets posteriors from a diagonal Gaussian per centroid (soft
      mode; floored at 1e-6 so no component is empty); the batch is then
      normalized by the variant's own code with those groups (hard:
      ``cluster_norm_details(x, labels=...)``, exactly ``vnviz.apply``;
      soft: its Mixture Normalization given the posteriors), and the centroids,
      per-cluster feature variances and mixture weights move toward the batch's
      with a running average (factor CLUSTER_MOMENTUM, online k-means), so the
      clusters follow the activations as the network learns;
    - per-cluster running means and variances ``(K, C)`` are updated as
      BatchNorm's are (unbiased variance, same factor); in eval mode nothing
      moves: samples are assigned with the running centroids and normalized
      with the running per-cluster statistics, as BatchNorm's eval uses its
      running ones.

    Before the first training batch (an evaluation at step 0) the centroids are
    all zero, so every sample is in cluster 0 with fresh statistics (mean 0,
    variance 1), as a fresh BatchNorm's eval mode. Cost per step: one (N, K)
    distance matmul, a few (K, C) tables and the variant's checks on the
    device; the k-means runs once. A cluster that no sample of a batch joins
    keeps its statistics; one that no sample ever joins again stays unused
    (``counts`` in the history shows it).
    """

    def __init__(self, variant: Variant, feature_shape: tuple[int, ...], params: dict[str, Any], affine: bool = True,
                 seed: int = 0):
        super().__init__()
        from vnviz.variants import cluster

        self.variant = variant
        self.feature_shape = tuple(feature_shape)
        unused = [k for k in params if k not in CLUSTER_PARAMS]
        if unused:
            raise InputError(
                f"{variant.title} as a training layer takes {', '.join(CLUSTER_PARAMS)} (clustering runs on the "
                f"device, step after step); got {', '.join(unused)}."
            )
        p = variant.defaults() | pass_through(variant, params)
        if p["method"] != "torch_kmeans":
            raise InputError(
                f"{variant.title} as a training layer seeds its centroids with torch_kmeans on the device; "
                f"got method={quote(p['method'])}."
            )
        if p["features"] not in CLUSTER_FEATURES:
            raise InputError(
                f"{variant.title} as a training layer clusters on {' or '.join(CLUSTER_FEATURES)} (a projection "
                f"that changes every step cannot keep centroids); got features={quote(p['features'])}."
            )
        self.k, self.mode, self.eps, self.features = p["n_clusters"], p["mode"], p["eps"], p["features"]
        self.max_iter, self.tol, self.seed = p["max_iter"], p["tol"], seed
        self._cluster = cluster
        c = feature_shape[0]
        dim = c if self.features == "channel_means" else math.prod(feature_shape)
        self.weight = nn.Parameter(torch.ones(c)) if affine else None
        self.bias = nn.Parameter(torch.zeros(c)) if affine else None
        self.register_buffer("centroids", torch.zeros(self.k, dim))  # (K, F)
        self.register_buffer("feature_var", torch.ones(self.k, dim))  # (K, F) soft mode's diagonal Gaussians
        self.register_buffer("mix", torch.full((self.k,), 1.0 / self.k))  # (K,) mixture weights
        self.register_buffer("running_mean", torch.zeros(self.k, c))  # (K, C)
        self.register_buffer("running_var", torch.ones(self.k, c))  # (K, C)
        self.seeded = False  # a Python flag: checking a buffer would sync with the device every step
        self.counts: torch.Tensor | None = None  # (K,) samples per cluster in the last forward (hard assignment)

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return self._cluster.cluster_features(x.detach(), self.features)  # (N, F)

    def _seed_centroids(self, f: torch.Tensor) -> None:
        if f.shape[0] < self.k:
            raise InputError(
                f"{self.variant.title}: n_clusters must be at most the batch size {f.shape[0]}; got {self.k}."
            )
        lab = self._cluster.torch_kmeans(f, self.k, self.seed, self.max_iter, self.tol)  # (N,)
        onehot = torch.nn.functional.one_hot(lab, self.k).to(f.dtype)  # (N, K)
        n = onehot.sum(0).clamp_min(1)[:, None]  # (K, 1)
        mu = onehot.T @ f / n  # (K, F)
        self.centroids.copy_(mu)
        spread = float(f.var(0, correction=0).mean()) or 1.0
        self.feature_var.copy_((onehot.T @ (f * f) / n - mu * mu).clamp_min(0) + 1e-3 * spread)
        self.mix.copy_(onehot.mean(0))
        self.seeded = True

    def _posteriors(self, f: torch.Tensor) -> torch.Tensor:
        """(N, K): hard one-hot of the nearest centroid, or soft diagonal-Gaussian posteriors."""
        c = self.centroids
        if self.mode == "hard":
            lab = torch.addmm((c * c).sum(1), f, c.T, alpha=-2).argmin(1)  # (N,) nearest centroid
            return torch.nn.functional.one_hot(lab, self.k).to(f.dtype)
        prec = self.feature_var.reciprocal()  # (K, F)
        quad = (f * f) @ prec.T - 2 * f @ (c * prec).T + (c * c * prec).sum(1)  # (N, K)
        logp = -0.5 * (quad + self.feature_var.log().sum(1)) + self.mix.clamp_min(1e-12).log()
        tau = torch.softmax(logp, dim=1).clamp_min(1e-6)
        return tau / tau.sum(1, keepdim=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[:2]
        xs = x.reshape(n, c, -1)  # (N, C, S)
        s = xs.shape[2]
        f = self._features(x)
        if self.training and not self.seeded:
            self._seed_centroids(f)
        tau = self._posteriors(f)  # (N, K)
        self.counts = torch.bincount(tau.argmax(1), minlength=self.k)
        if not self.training:
            return self._eval(xs, tau).reshape(x.shape)
        if self.mode == "hard":
            lab = tau.argmax(1)
            out = self._cluster.cluster_norm_details(x, labels=lab, mode="hard", eps=self.eps, weight=self.weight,
                                                     bias=self.bias)
            y = out.y
            present = self.counts > 0
            mean = torch.zeros_like(self.running_mean)
            var = torch.zeros_like(self.running_var)
            mean[present], var[present] = out.means.detach(), out.vars.detach()  # rows of the present clusters, in order
            mass = self.counts.to(x.dtype)
        else:
            y, mu, var = self._cluster._soft(xs, tau, self.eps)  # the variant's Mixture Normalization
            if self.weight is not None:
                y = y * self.weight[:, None]
            if self.bias is not None:
                y = y + self.bias[:, None]
            y = y.reshape(x.shape)
            mean, var, mass = mu.detach(), var.detach(), tau.sum(0)
        self._update(f, tau, mean, var, mass, s)
        return y

    @torch.no_grad()
    def _update(self, f: torch.Tensor, tau: torch.Tensor, mean: torch.Tensor, var: torch.Tensor, mass: torch.Tensor,
                s: int) -> None:
        m = CLUSTER_MOMENTUM
        live = (mass > 0.5)[:, None] if self.mode == "hard" else torch.ones_like(mass, dtype=torch.bool)[:, None]
        w = mass.clamp_min(1e-12)[:, None]  # (K, 1)
        mu_f = tau.T @ f / w  # (K, F) the batch's centroids
        var_f = (tau.T @ (f * f) / w - mu_f * mu_f).clamp_min(0) + 1e-6
        n_vals = mass[:, None] * s
        unbiased = var * n_vals / (n_vals - 1).clamp_min(1)  # BatchNorm's running variance is unbiased
        for buf, new in ((self.centroids, mu_f), (self.feature_var, var_f), (self.running_mean, mean),
                         (self.running_var, unbiased)):
            buf.copy_(torch.where(live, buf.lerp(new, m), buf))
        self.mix.lerp_(mass / mass.sum(), m)

    def _eval(self, xs: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        """Normalize (N, C, S) with the running per-cluster statistics (hard: the nearest cluster's; soft: mixed)."""
        inv = torch.rsqrt(self.running_var + self.eps)  # (K, C)
        if self.mode == "hard":
            lab = tau.argmax(1)
            y = (xs - self.running_mean[lab][..., None]) * inv[lab][..., None]
        else:
            a = tau / self.mix.clamp_min(1e-12).sqrt()  # (N, K) τ_ik / √π_k
            y = torch.einsum("nk,kc,nkcs->ncs", a, inv, xs[:, None] - self.running_mean[None, :, :, None])
        if self.weight is not None:
            y = y * self.weight[:, None]
        if self.bias is not None:
            y = y + self.bias[:, None]
        return y

    def extra_repr(self) -> str:
        return f"{self.variant.name}, {self.feature_shape}, k={self.k}, mode={self.mode}, features={self.features}"


def norm_layer(name: str, feature_shape: tuple[int, ...], params: dict[str, Any] | None = None, affine: bool = True,
               seed: int = 0, where: str = "this layer") -> nn.Module:
    """The norm variant ``name`` as a layer for activations ``(N, *feature_shape)``; "none" is the identity.

    Raises InputError (one sentence) when the variant cannot follow such a
    layer or a parameter is wrong; what only the data shows (a batch of one
    for BatchNorm, num_groups against the width) shows on the first batch.
    """
    params = dict(params or {})
    if name == "none":
        return nn.Identity()
    variant = VARIANTS[name]
    _fits(variant, tuple(feature_shape), where)
    if clusters(variant):  # statistic groups that depend on the data: cluster as it trains
        return ClusteredNorm(variant, tuple(feature_shape), params, affine, seed)
    return NormLayer(variant, tuple(feature_shape), params, affine)
