"""Seeded synthetic tensors: the toy data every page starts from.

Each generator takes a shape and a seed and returns a :class:`Sample`. The
random numbers come from a CPU ``torch.Generator`` seeded with ``seed``, so the
same (shape, seed) gives the same tensor on every machine; the app moves the
tensor to the chosen device afterwards.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from vnviz.errors import InputError
from vnviz.i18n import N_, Msg, plural_msg

MAX_ELEMENTS = 16_777_216  # cap on elements of any generated or uploaded tensor
MAX_SEED = 2**63 - 1  # largest seed torch.Generator.manual_seed takes as a signed int64


@dataclass(frozen=True)
class Sample:
    """A tensor to normalize, with what the app needs to explain it."""

    x: torch.Tensor  # float32, on CPU, channel-first (N, C, *) or as described by layout
    labels: torch.Tensor | None  # int64 (N,) true class/cluster per sample, or None
    layout: str  # axis names, e.g. "N C H W", "N C L", "N C", "N L D"
    description: str  # one sentence for the UI: what this data is and its shape (a Msg)
    channel_names: tuple[str, ...] | None = None  # a name per channel (e.g. iris features), or None


@dataclass(frozen=True)
class Source:
    """A named generator or bundled dataset the user can pick."""

    name: str  # key used in links, e.g. "gaussian", "digits"
    title: str  # human title (N_)
    kind: str  # "generator" or "dataset"
    default_shape: tuple[int, ...]  # shape used when the user gives none (datasets: their natural shape)
    layout: str  # default layout string
    help: str  # one line for a tooltip (N_)
    shape_editable: bool  # generators True; datasets False (they only accept a smaller N, photos a new H, W)
    make: Callable[..., Sample]  # make(shape, seed) -> Sample


# --------------------------------------------------------------------------- checks


def fmt_shape(shape: tuple[int, ...]) -> str:
    """Write a shape as Python would, e.g. ``(64, 8, 16, 16)``, eliding very long ones."""
    shape = tuple(shape)
    if len(shape) > 8:
        return "(" + ", ".join(str(d) for d in shape[:8]) + f", ... {len(shape)} dims)"
    return str(shape)


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_shape_arg(shape: object, what: str) -> tuple[int, ...]:
    """Return ``shape`` as a tuple of Python ints, or raise if it is not a tuple of ints >= 1."""
    if not isinstance(shape, (tuple, list, torch.Size)) or not all(_is_int(d) for d in shape):
        raise InputError("The shape for {what} must be a tuple of whole numbers, got {shape!r:.80}.",
                         what=what, shape=shape)
    shape = tuple(int(d) for d in shape)
    if any(d < 1 for d in shape):
        raise InputError("Every dimension of the shape for {what} must be at least 1, got {shape}.",
                         what=what, shape=fmt_shape(shape))
    return shape


def check_seed(seed: object) -> int:
    """Return ``seed`` as an int, or raise if it is not an integer in [0, 2**63 - 1]."""
    if not _is_int(seed) or not 0 <= int(seed) <= MAX_SEED:
        raise InputError("The seed must be a whole number from 0 to {max}, got {seed!r:.40}.",
                         max=MAX_SEED, seed=seed)
    return int(seed)


def _check_generator_shape(name: str, shape: object, ndims: tuple[int, ...], axes: str) -> tuple[int, ...]:
    shape = check_shape_arg(shape, Msg("generator {name!r}", name=name))
    if len(shape) not in ndims:
        allowed = f"{ndims[0]}-d" if len(ndims) == 1 else Msg("{low}-d to {high}-d", low=ndims[0], high=ndims[-1])
        raise InputError(
            "Generator {name!r} needs a {allowed} shape ({axes}), got {shape} with {n} dims.",
            name=name, allowed=allowed, axes=axes, shape=fmt_shape(shape), n=len(shape),
        )
    check_element_cap(shape)
    return shape


def check_element_cap(shape: tuple[int, ...]) -> None:
    """Raise InputError when ``shape`` holds more than MAX_ELEMENTS values (the sentence states the cap)."""
    numel = math.prod(shape)
    if numel > MAX_ELEMENTS:
        raise InputError(
            "The shape {shape} has {numel:,} elements, more than the cap of {cap:,}; use a smaller shape.",
            shape=fmt_shape(shape), numel=numel, cap=MAX_ELEMENTS,
        )


def _generator(seed: int) -> torch.Generator:
    g = torch.Generator(device="cpu")
    g.manual_seed(seed)
    return g


def _uniform(size: tuple[int, ...], low: float, high: float, g: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(size, generator=g)


def _channel_view(v: torch.Tensor, ndim: int) -> torch.Tensor:
    """Reshape a per-channel vector (C,) to broadcast over (N, C, *): (1, C, 1, ...)."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _layout(ndim: int) -> str:
    return {2: "N C", 3: "N C L", 4: "N C H W", 5: "N C D H W"}[ndim]


# --------------------------------------------------------------------------- generators

_ANY_NDIM = (2, 3, 4, 5)
_ANY_AXES = "N, C, *"


def gaussian(shape: tuple[int, ...], seed: int = 0) -> Sample:
    """Standard normal noise, mean 0 and variance 1 everywhere.

    Args:
        shape: 2-d to 5-d shape ``(N, C, *)``.
        seed: seed of the CPU ``torch.Generator``. Default: 0.
    """
    shape = _check_generator_shape("gaussian", shape, _ANY_NDIM, _ANY_AXES)
    x = torch.randn(shape, generator=_generator(check_seed(seed)))
    return Sample(x, None, _layout(len(shape)), Msg("Standard normal noise of shape {shape}.", shape=fmt_shape(shape)))


def shifted_channels(shape: tuple[int, ...], seed: int = 0) -> Sample:
    """Normal noise whose channels have wildly different means and scales.

    ``x[:, c] = mean_c + std_c * z`` with ``mean_c ~ U(-5, 5)`` and ``std_c``
    log-uniform in [0.1, 10]; BatchNorm and InstanceNorm remove the differences,
    LayerNorm does not.

    Args:
        shape: 2-d to 5-d shape ``(N, C, *)``.
        seed: seed of the CPU ``torch.Generator``. Default: 0.
    """
    shape = _check_generator_shape("shifted_channels", shape, _ANY_NDIM, _ANY_AXES)
    g = _generator(check_seed(seed))
    c = shape[1]
    mean = _uniform((c,), -5.0, 5.0, g)  # (C,)
    std = 10.0 ** _uniform((c,), -1.0, 1.0, g)  # (C,)
    x = _channel_view(mean, len(shape)) + _channel_view(std, len(shape)) * torch.randn(shape, generator=g)
    return Sample(
        x,
        None,
        _layout(len(shape)),
        Msg("Normal noise of shape {shape} whose {c} channels have means from -5 to 5 and standard deviations from 0.1 "
            "to 10.", shape=fmt_shape(shape), c=c),
    )


def mixture(shape: tuple[int, ...], seed: int = 0) -> Sample:
    """Samples drawn from K = min(3, N) well separated Gaussian clusters.

    Each cluster k has its own per-channel means ``mu_k[c]`` (levels 8 apart,
    in a random order per channel, jittered by up to 1) and a per-channel
    standard deviation in [0.5, 1.5]; the samples are split evenly over the
    clusters in a random order. ``labels`` holds each sample's cluster.

    Args:
        shape: 2-d to 5-d shape ``(N, C, *)``.
        seed: seed of the CPU ``torch.Generator``. Default: 0.
    """
    shape = _check_generator_shape("mixture", shape, _ANY_NDIM, _ANY_AXES)
    g = _generator(check_seed(seed))
    n, c = shape[0], shape[1]
    k = min(3, n)
    levels = 8.0 * (torch.arange(k, dtype=torch.float32) - (k - 1) / 2)  # (K,)
    order = torch.stack([torch.randperm(k, generator=g) for _ in range(c)], dim=1)  # (K, C)
    mu = levels[order] + _uniform((k, c), -1.0, 1.0, g)  # (K, C)
    sigma = _uniform((k, c), 0.5, 1.5, g)  # (K, C)
    labels = (torch.arange(n) % k)[torch.randperm(n, generator=g)]  # (N,) balanced, shuffled
    extra = (1,) * (len(shape) - 2)
    x = mu[labels].reshape((n, c) + extra) + sigma[labels].reshape((n, c) + extra) * torch.randn(shape, generator=g)
    return Sample(
        x,
        labels.to(torch.int64),
        _layout(len(shape)),
        Msg("A mixture of {k} Gaussian clusters over {n} samples, shape {shape}, each cluster with its own per-channel "
            "means and scales, so BatchNorm mixes them and ClusterNorm keeps them apart.", k=k, n=n, shape=fmt_shape(shape)),
    )


def heavy_tailed(shape: tuple[int, ...], seed: int = 0) -> Sample:
    """Student-t noise with 2 degrees of freedom: ``z / sqrt(chi2_2 / 2)``.

    Its variance is infinite, so a few huge values dominate every mean and
    variance estimate.

    Args:
        shape: 2-d to 5-d shape ``(N, C, *)``.
        seed: seed of the CPU ``torch.Generator``. Default: 0.
    """
    shape = _check_generator_shape("heavy_tailed", shape, _ANY_NDIM, _ANY_AXES)
    g = _generator(check_seed(seed))
    z = torch.randn(shape, generator=g)
    chi2 = torch.randn(shape, generator=g).square_() + torch.randn(shape, generator=g).square_()  # chi2 with 2 dof
    x = z / (chi2 / 2).clamp_min_(1e-12).sqrt_()  # clamp: keep it finite if both normals are 0
    return Sample(
        x,
        None,
        _layout(len(shape)),
        Msg("Heavy-tailed Student-t noise with 2 degrees of freedom (infinite variance), shape {shape}.",
            shape=fmt_shape(shape)),
    )


def skewed(shape: tuple[int, ...], seed: int = 0) -> Sample:
    """Log-normal noise ``exp(z)``: positive and skewed to the right.

    Args:
        shape: 2-d to 5-d shape ``(N, C, *)``.
        seed: seed of the CPU ``torch.Generator``. Default: 0.
    """
    shape = _check_generator_shape("skewed", shape, _ANY_NDIM, _ANY_AXES)
    x = torch.randn(shape, generator=_generator(check_seed(seed))).exp_()
    return Sample(
        x, None, _layout(len(shape)),
        Msg("Right-skewed log-normal noise exp(z), all positive, shape {shape}.", shape=fmt_shape(shape)),
    )


def outliers(shape: tuple[int, ...], seed: int = 0) -> Sample:
    """Standard normal noise with 0.1% of its entries replaced by +-50 to 100.

    At least one entry is an outlier; the positions are drawn with replacement,
    so a rare repeat makes the count slightly lower.

    Args:
        shape: 2-d to 5-d shape ``(N, C, *)``.
        seed: seed of the CPU ``torch.Generator``. Default: 0.
    """
    shape = _check_generator_shape("outliers", shape, _ANY_NDIM, _ANY_AXES)
    g = _generator(check_seed(seed))
    x = torch.randn(shape, generator=g)
    count = max(1, round(1e-3 * x.numel()))
    where = torch.randint(0, x.numel(), (count,), generator=g)  # flat indices
    sign = torch.randint(0, 2, (count,), generator=g).float() * 2 - 1
    x.view(-1)[where] = sign * _uniform((count,), 50.0, 100.0, g)
    return Sample(
        x,
        None,
        _layout(len(shape)),
        Msg("Standard normal noise of shape {shape} with {count:,} entries (0.1%) replaced by +-50 to 100.",
            shape=fmt_shape(shape), count=count),
    )


def images(shape: tuple[int, ...], seed: int = 0) -> Sample:
    """Smooth image-like fields with per-image brightness and contrast.

    A shared luminance field plus a weaker per-channel colour field, both
    upsampled (bilinear) from noise 8x coarser, plus a little pixel noise; then
    ``x[n] = brightness_n + contrast_n * field[n]`` with brightness in [-3, 3]
    and contrast log-uniform in [0.2, 3.2]. InstanceNorm removes both.

    Args:
        shape: 4-d shape ``(N, C, H, W)``.
        seed: seed of the CPU ``torch.Generator``. Default: 0.
    """
    shape = _check_generator_shape("images", shape, (4,), "N, C, H, W")
    g = _generator(check_seed(seed))
    n, c, h, w = shape
    low = (max(1, -(-h // 8)), max(1, -(-w // 8)))

    def smooth(channels: int) -> torch.Tensor:
        coarse = torch.randn((n, channels) + low, generator=g)  # (N, channels, H/8, W/8)
        return F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)  # (N, channels, H, W)

    field = smooth(1) + 0.4 * smooth(c) + 0.1 * torch.randn(shape, generator=g)  # (N, C, H, W)
    brightness = _uniform((n, 1, 1, 1), -3.0, 3.0, g)
    contrast = 10.0 ** _uniform((n, 1, 1, 1), -0.7, 0.5, g)
    x = brightness + contrast * field
    return Sample(
        x.contiguous(),
        None,
        "N C H W",
        Msg("{n} smooth image-like fields of shape {shape}, each with its own brightness and contrast, which "
            "InstanceNorm removes.", n=n, shape=fmt_shape(shape)),
    )


def tokens(shape: tuple[int, ...], seed: int = 0) -> Sample:
    """Token embeddings (N, L, D) with a few outlier feature dimensions.

    Standard normal, except that ``max(1, D // 32)`` feature dimensions are
    scaled by 20 to 60, as the "massive activations" of large language models
    are; LayerNorm over D is then dominated by those dimensions.

    Args:
        shape: 3-d shape ``(N, L, D)``.
        seed: seed of the CPU ``torch.Generator``. Default: 0.
    """
    shape = _check_generator_shape("tokens", shape, (3,), "N, L, D")
    g = _generator(check_seed(seed))
    d = shape[2]
    x = torch.randn(shape, generator=g)
    count = max(1, d // 32)
    dims = torch.randperm(d, generator=g)[:count].sort().values  # (count,)
    x[..., dims] *= _uniform((count,), 20.0, 60.0, g)
    listed = ", ".join(str(i) for i in dims[:6].tolist()) + (", ..." if count > 6 else "")
    return Sample(
        x,
        None,
        "N L D",
        plural_msg("Token embeddings of shape {shape} (batch, tokens, features) with {count} outlier feature dimension "
                   "({listed}) 20 to 60 times larger, as in large language models.",
                   "Token embeddings of shape {shape} (batch, tokens, features) with {count} outlier feature dimensions "
                   "({listed}) 20 to 60 times larger, as in large language models.",
                   count, shape=fmt_shape(shape), count=count, listed=listed),
    )


def _source(make: Callable[..., Sample], title: str, shape: tuple[int, ...], layout: str, help: str) -> Source:
    return Source(make.__name__, title, "generator", shape, layout, help, True, make)


GENERATORS: dict[str, Source] = {
    s.name: s
    for s in (
        _source(gaussian, N_("Gaussian noise"), (64, 8, 16, 16), "N C H W",
                N_("Standard normal noise: mean 0, variance 1.")),
        _source(
            shifted_channels,
            N_("Shifted channels"),
            (64, 8, 16, 16),
            "N C H W",
            N_("Each channel has its own mean (-5 to 5) and scale (0.1 to 10)."),
        ),
        _source(
            mixture,
            N_("Gaussian mixture"),
            (96, 4, 8, 8),
            "N C H W",
            N_("Samples from 3 separated clusters, with the true cluster labels."),
        ),
        _source(
            heavy_tailed,
            N_("Heavy-tailed (Student-t)"),
            (64, 8, 16, 16),
            "N C H W",
            N_("Student-t with 2 degrees of freedom: rare huge values, infinite variance."),
        ),
        _source(
            skewed, N_("Skewed (log-normal)"), (64, 8, 16, 16), "N C H W",
            N_("exp of normal noise: positive, long right tail."),
        ),
        _source(
            outliers, N_("Gaussian with outliers"), (64, 8, 16, 16), "N C H W",
            Msg("0.1{pct} of entries replaced by +-50 to 100.", pct="%"),  # "% o" in a msgid reads as %-format
        ),
        _source(
            images,
            N_("Image-like fields"),
            (16, 3, 32, 32),
            "N C H W",
            N_("Smooth fields with per-image brightness and contrast; needs (N, C, H, W)."),
        ),
        _source(
            tokens,
            N_("Token embeddings"),
            (8, 64, 128),
            "N L D",
            N_("Transformer-style (N, L, D) with a few huge outlier feature dimensions."),
        ),
    )
}
