"""(input, output) pairs for "check my layer": built-in examples and pairs from uploaded files.

``EXAMPLES`` are seeded (x, y) pairs for ``infer_axes``, made by torch's own
modules or by hand-written (sometimes buggy) normalizations, the classic
mistakes among them; ``pair_from_arrays`` picks x and y out of one or two
uploaded files.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from vnviz.errors import InputError
from vnviz.i18n import N_
from vnviz.variants.params import quote


# -- uploads ----------------------------------------------------------------------------------


def pair_from_arrays(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor] | None,
                     names: tuple[str, str] = ("input", "output")) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The (x, y) pair from one file holding arrays ``x`` and ``y``, or from two files.

    Returns None when the first file holds a single array and the second is still awaited.
    Raises InputError (one sentence) when a file holds several arrays but no ``x``/``y``, or the shapes differ.
    """
    def pick(arrays: dict[str, torch.Tensor], want: str, label: str) -> torch.Tensor:
        if want in arrays:
            return arrays[want]
        if len(arrays) == 1:
            return next(iter(arrays.values()))
        raise InputError("{label} holds the arrays {arrays}; name them x and y, or upload the input and the output as "
                         "two files.",
                         label=label, arrays=', '.join(list(arrays)[:6]))

    if second is None:
        if "x" in first and "y" in first:
            x, y = first["x"], first["y"]
        elif len(first) == 1:
            return None
        else:
            raise InputError("The {name} file holds the arrays {arrays} but not both x and y; name them x and y, or "
                             "upload the output as a second file.",
                             name=names[0], arrays=', '.join(list(first)[:6]))
    else:
        x, y = pick(first, "x", f"The {names[0]} file"), pick(second, "y", f"The {names[1]} file")
    if tuple(x.shape) != tuple(y.shape):
        raise InputError("The input has shape {shape} but the output {output}; a normalization keeps the shape, so "
                         "give a layer's input and its own output.",
                         shape=tuple(x.shape), output=tuple(y.shape))
    return x, y


# -- built-in examples ------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """A built-in (input, output) pair for the "check my layer" part."""

    title: str  # a few words (N_)
    description: str  # one sentence: what made y (N_)
    layout: str  # what x's dims mean
    build: Callable[[int], tuple[torch.Tensor, torch.Tensor]]  # seed -> (x, y), float32 on the CPU


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _data(shape: tuple[int, ...], seed: int, spread: bool = False) -> torch.Tensor:
    """Seeded data whose channels (dim 1) have their own offsets and scales (from 1e-3 to 1 with ``spread``)."""
    g = _gen(seed)
    x = torch.randn(shape, generator=g)
    view = (1, shape[1]) + (1,) * (len(shape) - 2)
    scale = torch.logspace(-3, 0, shape[1]) if spread else 0.5 + torch.rand(shape[1], generator=g) * 2
    return x * scale.reshape(view) + torch.randn(shape[1], generator=g).reshape(view)


def _randomize(m: nn.Module, seed: int) -> nn.Module:
    """Give a module's affine seeded values away from (1, 0), as a trained layer's."""
    g = _gen(seed + 1)
    with torch.no_grad():
        if getattr(m, "weight", None) is not None:
            m.weight.copy_(1 + 0.5 * torch.randn(m.weight.shape, generator=g))
        if getattr(m, "bias", None) is not None:
            m.bias.copy_(0.5 * torch.randn(m.bias.shape, generator=g))
    return m


def _run(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return m(x)


def _bn1d_tokens(seed: int):
    x = _data((8, 10, 16), seed)  # (N, L, D)
    return x, _run(nn.BatchNorm1d(10), x)


def _instance_over_batch(seed: int):
    x = _data((6, 4, 5, 5), seed)
    mean = x.mean((0, 2, 3), keepdim=True)  # the bug: dim 0 should not be here
    var = x.var((0, 2, 3), keepdim=True, unbiased=False)
    return x, (x - mean) / torch.sqrt(var + 1e-5)


def _unbiased_var(seed: int):
    x = _data((6, 4, 5, 5), seed)
    mean = x.mean((2, 3), keepdim=True)
    return x, (x - mean) / torch.sqrt(x.var((2, 3), keepdim=True) + 1e-5)  # x.var is unbiased by default


def _missing_eps(seed: int):
    x = _data((6, 4, 5, 5), seed, spread=True)  # channel scales down to 1e-3: eps would matter
    mean = x.mean((2, 3), keepdim=True)
    return x, (x - mean) / torch.sqrt(x.var((2, 3), keepdim=True, unbiased=False))


def _layer_norm_tokens(seed: int):
    x = _data((4, 7, 16), seed)
    return x, _run(_randomize(nn.LayerNorm(16), seed), x)


def _group_norm(seed: int):
    x = _data((4, 6, 5, 5), seed)
    return x, _run(_randomize(nn.GroupNorm(2, 6), seed), x)


def _batch_norm2d_affine(seed: int):
    x = _data((6, 4, 5, 5), seed)
    return x, _run(_randomize(nn.BatchNorm2d(4), seed), x)


def _rms_norm(seed: int):
    x = _data((4, 7, 16), seed)
    return x, _run(_randomize(nn.RMSNorm(16), seed), x)


def _softmax(seed: int):
    x = _data((6, 4, 5, 4), seed)
    return x, x.softmax(-1)


def _scale_shift(seed: int):
    x = _data((6, 4, 5, 5), seed)
    return x, 2 * x + 1


EXAMPLES: dict[str, Example] = {
    "bn1d_tokens": Example(
        N_("Mistake: BatchNorm1d fed tokens"),
        N_("nn.BatchNorm1d(10) applied to (N, L, D) = (8, 10, 16) tokens as they are, so the 10 positions act as "
           "channels."),
        "N L D", _bn1d_tokens),
    "instance_over_batch": Example(
        N_("Mistake: InstanceNorm that averages over the batch"),
        N_("A hand-written InstanceNorm whose mean and variance are taken over (N, H, W) instead of (H, W)."),
        "N C H W", _instance_over_batch),
    "unbiased_var": Example(
        N_("Mistake: unbiased variance"),
        N_("A hand-written InstanceNorm that divides by sqrt(x.var(...) + eps), and x.var is unbiased by default."),
        "N C H W", _unbiased_var),
    "missing_eps": Example(
        N_("Mistake: eps missing"),
        N_("A hand-written InstanceNorm with no eps, on channels whose scales run from 1e-3 to 1."),
        "N C H W", _missing_eps),
    "layer_norm_tokens": Example(
        N_("LayerNorm on tokens"),
        N_("nn.LayerNorm(16) with a trained-looking affine on (N, L, D) = (4, 7, 16) tokens."),
        "N L D", _layer_norm_tokens),
    "group_norm": Example(
        N_("GroupNorm(2, 6)"),
        N_("nn.GroupNorm(2, 6) with a trained-looking per-channel affine on (4, 6, 5, 5) images."),
        "N C H W", _group_norm),
    "batch_norm2d_affine": Example(
        N_("BatchNorm2d with affine"),
        N_("nn.BatchNorm2d(4) in training mode with a random per-channel affine on (6, 4, 5, 5) images."),
        "N C H W", _batch_norm2d_affine),
    "rms_norm": Example(
        N_("RMSNorm on tokens"),
        N_("nn.RMSNorm(16) with a random weight on (N, L, D) = (4, 7, 16) tokens."),
        "N L D", _rms_norm),
    "softmax": Example(
        N_("Not a normalization: softmax"),
        N_("x.softmax(-1): it sums to 1 along the last dim, but no mean and variance are taken."),
        "N C H W", _softmax),
    "scale_shift": Example(
        N_("Not a normalization: y = 2x + 1"),
        N_("A fixed affine map of x that needs no statistics at all."),
        "N C H W", _scale_shift),
}


def example_pair(name: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The (x, y) pair of a built-in example (InputError for an unknown name)."""
    if name not in EXAMPLES:
        raise InputError("There is no example called {name}; choose one of {names}.",
                         name=quote(name), names=', '.join(EXAMPLES))
    return EXAMPLES[name].build(seed)
