"""GroupNorm: one mean and variance per (sample, block of C/G consecutive channels)."""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vnviz.errors import InputError
from vnviz.i18n import N_, Msg
from vnviz.variants.norms import (
    BIAS, EPS, WEIGHT, affine_param, autocast_note, channel_part, check_input, dtype_errors, fill_module, finite_result,
    has_affine, param_dtype, resolve_num_groups, tokens_trap, values_per_channel,
)
from vnviz.variants.params import Param, named
from vnviz.variants.registry import Code, Identity, Reduction, Traps, Variant, register

TITLE = N_("GroupNorm")


def group_norm(
    x: torch.Tensor,
    num_groups: int | None = None,
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
) -> torch.Tensor:
    r"""Group Normalization: standardize each (sample, group of channels).

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} * \gamma + \beta

    The C channels are split into ``num_groups`` blocks of C/G consecutive
    channels; mean and (biased) variance are taken over each block and all
    positions of one sample. Reduction: ``b (g c) h w -> b g 1 1 1``.
    ``num_groups=1`` is LayerNorm over ``(C, *)`` (but with a per-channel
    affine); ``num_groups=C`` is InstanceNorm.

    Precision: float16/bfloat16 input is accumulated in float32 and the output
    computed in float32 and rounded once to x's dtype (on the CPU
    ``F.group_norm(x.float(), ...).to(x.dtype)``, but for about one element in
    10⁴ that is one unit apart: the float32 sums run in another order); the
    statistics torch hands back are rounded to x's dtype (float32 with float32
    weight and bias). CUDA autocast runs group_norm in float32 (docs/precision.md).

    Args:
        x: input ``(N, C, *)``, float16, bfloat16, float32 or float64.
        num_groups: G, must divide C. Default: the smallest divisor of C above 1.
        weight, bias: ``(C,)`` tensors, numbers or None. Default: None.
        eps: added to the variance. Default: 1e-5.
    """
    x = check_input(x, TITLE)
    c = x.shape[1]
    g = resolve_num_groups(num_groups, c)
    per_group = (c // g) * math.prod(x.shape[2:])
    if per_group < 2:
        raise InputError(
            "GroupNorm needs more than one value per group to compute a variance; with shape {shape} and "
            "num_groups={g} each group has one; use fewer groups or spatial dims.",
            shape=tuple(x.shape), g=g,
        )
    pdt = param_dtype(x, TITLE, weight=weight, bias=bias)
    w = affine_param(weight, (c,), x, named(TITLE, "weight"), pdt)
    b = affine_param(bias, (c,), x, named(TITLE, "bias"), pdt)
    n = x.shape[0]
    # torch.native_group_norm is what F.group_norm runs, and it also returns the statistics the finiteness check
    # reads: 1.10x F.group_norm's time this way, 1.84x with F.group_norm and a scan of y
    # (measured with `python -m vnviz.bench --sections norms` on (64, 32, 32, 32) float32, 2 CPU cores, median of 5 runs of paired ratios to torch's F.group_norm alone)
    if x.device.type != "cpu" and pdt != x.dtype:  # mixed precision elsewhere: torch's public call, whatever it does
        with dtype_errors(TITLE, x, pdt):
            return finite_result(F.group_norm(x, g, w, b, eps), x, TITLE)
    y, mean, rstd = torch.native_group_norm(x.contiguous(), w, b, n, c, math.prod(x.shape[2:]), g, eps)
    return finite_result(y, x, TITLE, (mean, rstd), per_group, w, b)


# -- the declaration ------------------------------------------------------------------------------


def reduces(shape: tuple[int, ...], num_groups: int | None = None, **_: Any) -> Reduction:
    """Each sample's blocks of C/G channels and every position: ``b (g c) h w -> b g 1 1 1``."""
    g = resolve_num_groups(num_groups, shape[1])
    return Reduction(shape, tuple(range(1, len(shape))), blocks=g, affine=(1,), params={"num_groups": g})


def settings(shape: tuple[int, ...]) -> list[dict[str, Any]]:
    """Every num_groups that divides the channels."""
    return [{"num_groups": g} for g in range(1, shape[1] + 1) if shape[1] % g == 0]


def module(shape: tuple[int, ...], affine: bool | None, running: bool | None, device: Any, dtype: Any,
           num_groups: int | None = None, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> nn.Module:
    g = resolve_num_groups(num_groups, shape[1])
    mod = nn.GroupNorm(g, shape[1], eps=eps, affine=has_affine(affine, weight, bias), device=device, dtype=dtype)
    return fill_module(mod, weight, bias)


def code(letters: tuple[str, ...], shape: tuple[int, ...], params: dict[str, Any], affine: bool | None) -> Code:
    """G as written: "1", the channel letter when G = C, else "G" (or the text given, e.g. num_groups="G")."""
    g = params.get("num_groups")
    text = g if isinstance(g, str) else "1" if g == 1 else letters[1] if g == shape[1] else "G"
    flag = ", affine=False" if affine is False else ""
    return Code(f"nn.GroupNorm({text}, {letters[1]}{flag})", f"F.group_norm({{x}}, {text})")


def warnings(x: torch.Tensor, params: dict[str, Any], layout: str | None) -> list[str]:
    out = []
    g = params.get("num_groups")
    if g == 1:
        out.append(N_("GroupNorm with one group normalizes like LayerNorm over (C, *), but its affine is per channel, "
                      "not per element."))
    elif g == x.shape[1]:
        out.append(N_("GroupNorm with num_groups = C is InstanceNorm (with a per-channel affine)."))
    return out + tokens_trap(TITLE, tuple(x.shape), layout)


def plan_notes(letters: tuple[str, ...], red: Reduction) -> list[str]:
    ch = letters[red.channel]
    out = []
    if red.blocks == 1:
        rest = [t for i, t in enumerate(letters) if i != 0]
        out.append(Msg("GroupNorm(1, {ch}) normalizes like LayerNorm over ({rest}), but its affine is per channel "
                       "({ch},), not per element.", ch=ch, rest=", ".join(rest)))
    if red.blocks == red.shape[red.channel] and len(red.shape) >= 3:
        out.append(Msg("GroupNorm({ch}, {ch}) is InstanceNorm with a per-channel affine.", ch=ch))
    return out


def identities(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> list[Identity]:
    c, per_channel = x.shape[1], values_per_channel(x)
    out = []
    if x.ndim >= 3 and per_channel > 1:
        out.append(Identity(
            PER_CHANNEL,
            ("group_norm", {"num_groups": c, "weight": weight, "bias": bias}),
            ("instance_norm", {"weight": weight, "bias": bias}), True,
            Msg("With num_groups = C = {c}, each GroupNorm group is one (sample, channel) pair, exactly InstanceNorm's "
                "group, and both apply the same per-channel weight and bias.", c=c), order=10))
    else:
        out.append(Identity(PER_CHANNEL, ("group_norm", {}), ("instance_norm", {}), True, "", order=10,
                            unavailable=Msg("GroupNorm(C) = InstanceNorm needs positions after (N, C): this input is "
                                            "{shape}, so each (sample, channel) group would hold one value.",
                                            shape=tuple(x.shape))))
    if c * per_channel > 1:
        rest = tuple(x.shape[1:])
        out.append(Identity(
            N_("GroupNorm with one group = LayerNorm over (C, *)"),
            ("group_norm", {"num_groups": 1}), ("layer_norm", {"normalized_shape": rest}), True,
            N_("With num_groups = 1 the only group of a sample is all of its channels and positions, which is what "
               "LayerNorm over every dim after N standardizes; without an affine nothing else happens."), order=20))
        out.append(Identity(
            N_("GroupNorm(1) with a per-channel weight ≠ a fresh LayerNorm over (C, *)"),
            ("group_norm", {"num_groups": 1, "weight": weight, "bias": bias}),
            ("layer_norm", {"normalized_shape": rest, "weight": 1.0, "bias": 0.0}), False,
            Msg("The statistics are the same, but GroupNorm's affine has one weight per channel ({c} values) and "
                "LayerNorm's one per element of {rest}, here at its initial ones and zeros, so they differ by exactly "
                "GroupNorm's affine (the stripes, one per channel): copy w into every position, "
                "w[:, None, None].expand(C, H, W), to make them equal.", c=c, rest=rest), order=30))
    return out


PER_CHANNEL = N_("GroupNorm with one group per channel = InstanceNorm")


def precision_notes(x: torch.Tensor, params: dict[str, Any], dtype: torch.dtype) -> list[str]:
    """What GroupNorm's kernel does in a half dtype: float32 statistics, and CUDA autocast runs it in float32."""
    return autocast_note(TITLE, "group_norm", dtype)


TRAPS = Traps(
    known=(
        N_("GroupNorm(1, C) normalizes exactly like LayerNorm([C, H, W]), but its affine is per channel, shape (C,), "
           "while LayerNorm's is per element, shape (C, H, W)."),
        N_("GroupNorm(C, C) is InstanceNorm with a per-channel affine; nn.InstanceNorm2d itself has no affine unless "
           "you pass affine=True."),
    ),
    precision=precision_notes, run=warnings, plan=plan_notes,
)

register(Variant(
    name="group_norm", title=TITLE, family="norm", fn=group_norm,
    params=(Param("num_groups", "int", None,
                  N_("Number of channel groups G; must divide C (1 = LayerNorm, C = InstanceNorm)."), low=1),
            EPS, WEIGHT, BIAS),
    summary=N_("One mean and variance per (sample, block of C/G channels): between LayerNorm and InstanceNorm."),
    rule=reduces, settings=settings, make_module=module, code=code, traps=TRAPS, identities=identities,
    label=lambda p: Msg("GroupNorm({g})", g=p["num_groups"]) if p.get("num_groups") else TITLE,
    alone=lambda x, p, sel: channel_part(x, p, sel, TITLE, num_groups=1),
    compare_params=("num_groups",), grid_labels=(N_("sample"), N_("channel group")), precedence=3, order=40, compared=True,
))
