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
- a variant whose groups depend on the data (``Variant.by_data``: ClusterNorm)
  becomes the layer its declaration builds (``Variant.module(..., running=True)``:
  ``vnviz.variants.cluster_layer.ClusteredNorm``, which clusters as it trains).

The forward calls the variant's own function (``Variant.fn``) with the
checked parameters, so the layer computes exactly what ``vnviz.apply`` does.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any

import torch
from torch import nn

from vnviz.errors import InputError
from vnviz.i18n import N_
from vnviz.variants.cluster_layer import LAYER_FEATURES, LAYER_PARAMS, ClusteredNorm  # noqa: F401  (re-exported)
from vnviz.variants.registry import VARIANTS, Param, Variant, quote

THIS_LAYER = N_("this layer")  # what a layer is called in its sentences when its place is not given
OWNED = ("training", "normalized_shape", "weight", "bias", "running_mean", "running_var", "num_batches_tracked",
         "labels", "seed")  # parameters the layer sets itself; the rest pass through


def layer_params(variant: Variant) -> tuple[Param, ...]:
    """The declared parameters a layer of ``variant`` passes through (what the app offers as widgets).

    Everything but what the layer owns (mode, affine, buffers, shapes, seed);
    for a clustering variant, what :class:`ClusteredNorm` uses besides its
    method and mode (listed apart as ``name:mode``), its features restricted
    to LAYER_FEATURES.
    """
    if variant.by_data:
        out = []
        for p in variant.widget_params:
            if p.name in LAYER_PARAMS and p.name not in ("method", "mode"):
                out.append(dataclasses.replace(p, choices=LAYER_FEATURES) if p.name == "features" else p)
        return tuple(out)
    return tuple(p for p in variant.widget_params if p.name not in OWNED and p.kind not in ("affine", "tensor"))


def pass_through(variant: Variant, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` checked against the declaration; InputError for unknown names or ones the layer owns."""
    for name in params:
        if name in OWNED and name in variant.param_names:
            raise InputError(
                "{title}'s {name} is set by the training layer itself (its mode, buffers and affine), so "
                "norm_params cannot hold it; got {name}={value}.",
                title=variant.title, name=name, value=quote(params[name]),
            )
    return variant.check_params(params)


def _fits(variant: Variant, feature_shape: tuple[int, ...], where: str) -> None:
    """InputError when the activations (N, *feature_shape) have fewer dims than the variant needs."""
    ndim = len(feature_shape) + 1
    if ndim < variant.min_ndim:
        shape = "(N, " + ", ".join(map(str, feature_shape)) + ")"
        raise InputError(
            "{title} needs inputs with at least {min_ndim} dims (N, C, positions), but {where} gives activations "
            "of shape {shape}; choose the cnn model or another norm.",
            title=variant.title, min_ndim=variant.min_ndim, where=where, shape=shape,
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


def norm_layer(name: str, feature_shape: tuple[int, ...], params: dict[str, Any] | None = None, affine: bool = True,
               seed: int = 0, where: str = THIS_LAYER) -> nn.Module:
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
    if variant.by_data:  # statistic groups that depend on the data: the declared layer clusters as it trains
        return variant.module((2,) + tuple(feature_shape), affine=affine, running=True, seed=seed,
                              **pass_through(variant, params))
    return NormLayer(variant, tuple(feature_shape), params, affine)
