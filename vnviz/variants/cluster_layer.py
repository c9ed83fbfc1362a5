"""ClusterNorm as a network's layer: BatchNorm per cluster of samples, clusters that follow the training.

``Variant.module`` of ClusterNorm without ``labels`` builds this layer (the
training lab's); with ``labels`` it builds ``PerClusterBatchNorm``, the
independent reference that verification uses.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from vnviz.errors import InputError
from vnviz.i18n import Msg
from vnviz.variants.cluster import _soft, cluster_norm_details
from vnviz.variants.clustering import cluster_features, torch_kmeans
from vnviz.variants.params import quote

LAYER_MOMENTUM = 0.1  # running-average factor of the cluster centroids and per-cluster statistics
LAYER_PARAMS = ("method", "n_clusters", "mode", "features", "eps", "max_iter", "tol")  # what ClusteredNorm uses
LAYER_FEATURES = ("flatten", "channel_means")  # what a training layer can cluster on, step after step


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
      with a running average (factor LAYER_MOMENTUM, online k-means), so the
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

    def __init__(self, variant: Any, feature_shape: tuple[int, ...], params: dict[str, Any], affine: bool = True,
                 seed: int = 0):
        super().__init__()
        self.variant = variant
        self.feature_shape = tuple(feature_shape)
        unused = [k for k in params if k not in LAYER_PARAMS]
        if unused:
            raise InputError(
                "{title} as a training layer takes {allowed} (clustering runs on the device, step after step); got "
                "{got}.",
                title=variant.title, allowed=", ".join(LAYER_PARAMS), got=", ".join(unused),
            )
        p = variant.defaults() | variant.check_params(params)
        if p["method"] != "torch_kmeans":
            raise InputError(
                "{title} as a training layer seeds its centroids with torch_kmeans on the device; got "
                "method={method}.",
                title=variant.title, method=quote(p["method"]),
            )
        if p["features"] not in LAYER_FEATURES:
            raise InputError(
                "{title} as a training layer clusters on {allowed} (a projection that changes every step cannot keep "
                "centroids); got features={features}.",
                title=variant.title, allowed=Msg.join(LAYER_FEATURES, " or "), features=quote(p["features"]),
            )
        self.k, self.mode, self.eps, self.features = p["n_clusters"], p["mode"], p["eps"], p["features"]
        self.max_iter, self.tol, self.seed = p["max_iter"], p["tol"], seed
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
        return cluster_features(x.detach(), self.features)  # (N, F)

    def _seed_centroids(self, f: torch.Tensor) -> None:
        if f.shape[0] < self.k:
            raise InputError(
                "{title}: n_clusters must be at most the batch size {batch}; got {k}.",
                title=self.variant.title, batch=f.shape[0], k=self.k,
            )
        lab = torch_kmeans(f, self.k, self.seed, self.max_iter, self.tol)  # (N,)
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
            out = cluster_norm_details(x, labels=lab, mode="hard", eps=self.eps, weight=self.weight,
                                                     bias=self.bias)
            y = out.y
            present = self.counts > 0
            mean = torch.zeros_like(self.running_mean)
            var = torch.zeros_like(self.running_var)
            mean[present], var[present] = out.means.detach(), out.vars.detach()  # rows of the present clusters, in order
            mass = self.counts.to(x.dtype)
        else:
            y, mu, var = _soft(xs, tau, self.eps)  # the variant's Mixture Normalization
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
        m = LAYER_MOMENTUM
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
