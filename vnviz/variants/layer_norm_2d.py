"""LayerNorm2d: LayerNorm over the channels at every position, the channels-first LayerNorm of ConvNeXt and SAM."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vnviz.i18n import N_, Msg
from vnviz.variants.norms import (
    BIAS, WEIGHT, affine_param, autocast_note, check_input, dtype_errors, fill_module, finite_result, has_affine,
    param_dtype, same_params, tokens_trap,
)
from vnviz.variants.params import Param, named
from vnviz.variants.registry import Code, Moved, Reduction, Traps, Variant, register

TITLE = N_("LayerNorm2d")


def layer_norm_2d(
    x: torch.Tensor,
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-6,
) -> torch.Tensor:
    r"""Channels-first Layer Normalization: standardize the C channels of each position.

    .. math:: y_{n,:,h,w} = \frac{x_{n,:,h,w} - \mathrm{E}_c[x_{n,:,h,w}]}
              {\sqrt{\mathrm{Var}_c[x_{n,:,h,w}] + \epsilon}} * \gamma + \beta

    with mean and (biased) variance over the channels ``c`` of each
    ``(n, h, w)``, and a per-channel affine. Reduction: ``b c h w -> b 1 h w``.
    It is ConvNeXt's ``LayerNorm(data_format="channels_first")`` and
    SAM/detectron2's ``LayerNorm2d``, and equals
    ``F.layer_norm(x.movedim(1, -1), (C,)).movedim(-1, 1)``. On (N, C) it is
    ``LayerNorm(C)``. Precision: LayerNorm's kernel, so as ``layer_norm``.

    Args:
        x: input ``(N, C, *)``, float16, bfloat16, float32 or float64.
        weight, bias: ``(C,)`` tensors, numbers or None. Default: None.
        eps: added to the variance. Default: 1e-6, as ConvNeXt and SAM.

    Shape: input ``(N, C, *)``, output the same (contiguous).
    """
    x = check_input(x, TITLE)
    c = x.shape[1]
    pdt = param_dtype(x, TITLE, weight=weight, bias=bias)
    w = affine_param(weight, (c,), x, named(TITLE, "weight"), pdt)
    b = affine_param(bias, (c,), x, named(TITLE, "bias"), pdt)
    # the kernel F.layer_norm runs, on the channels moved last, with the statistics the finiteness check reads
    if x.device.type != "cpu" and pdt != x.dtype:  # mixed precision elsewhere: torch's public call, whatever it does
        with dtype_errors(TITLE, x, pdt):
            y = F.layer_norm(x.movedim(1, -1), (c,), w, b, eps)
        return finite_result(y.movedim(-1, 1).contiguous(), x, TITLE)
    y, mean, rstd = torch.native_layer_norm(x.movedim(1, -1), (c,), w, b, eps)
    return finite_result(y.movedim(-1, 1).contiguous(), x, TITLE, (mean, rstd), c, w, b)


# -- the declaration ------------------------------------------------------------------------------


def reduces(shape: tuple[int, ...], **_: Any) -> Reduction:
    """The channels of each position: ``b c h w -> b 1 h w``."""
    return Reduction(shape, (1,), affine=(1,))


def settings(shape: tuple[int, ...]) -> list[dict[str, Any]]:
    """Named where it differs from LayerNorm over the trailing dims: with positions after (N, C)."""
    return [{}] if any(s > 1 for s in shape[2:]) else []


def module(shape: tuple[int, ...], affine: bool | None, running: bool | None, device: Any, dtype: Any,
           weight: Any = None, bias: Any = None, eps: float = 1e-6) -> nn.Module:
    """``nn.LayerNorm(C)`` fed ``x.movedim(1, -1)``, its output moved back: torch's own modules only."""
    inner = nn.LayerNorm(shape[1], eps=eps, elementwise_affine=has_affine(affine, weight, bias), device=device,
                         dtype=dtype)
    return fill_module(Moved(inner, 1), weight, bias)


def code(letters: tuple[str, ...], shape: tuple[int, ...], params: dict[str, Any], affine: bool | None) -> Code:
    flag = ", elementwise_affine=False" if affine is False else ""
    channels_last = (0,) + tuple(range(2, len(shape))) + (1,)  # x.movedim(1, -1)
    return Code(f"nn.LayerNorm({letters[1]}{flag})", f"F.layer_norm({{x}}, ({letters[1]},))", channels_last)


def warnings(x: torch.Tensor, params: dict[str, Any], layout: str | None) -> list[str]:
    out = []
    if x.shape[1] == 1:
        out.append(N_("With a single channel every group holds one value: its variance is 0, so LayerNorm2d outputs "
                      "all zeros (plus bias)."))
    return out + tokens_trap(TITLE, tuple(x.shape), layout)


def plan_notes(letters: tuple[str, ...], red: Reduction) -> list[str]:
    ch = letters[red.channel]
    return [Msg("torch has no LayerNorm2d module: ConvNeXt (data_format=\"channels_first\") and SAM compute "
                "nn.LayerNorm({ch}) over the channels at every position, with eps=1e-6, not torch's 1e-5.", ch=ch)]


def infer_notes(shape: tuple[int, ...], axes: tuple[int, ...], affine: str) -> list[str]:
    return [Msg("It is LayerNorm({c}) along dim 1, as on x.movedim(1, -1) (ConvNeXt's LayerNorm for channels-first "
                "data, SAM's LayerNorm2d).", c=shape[1])]


def precision_notes(x: torch.Tensor, params: dict[str, Any], dtype: torch.dtype) -> list[str]:
    """What LayerNorm's kernel does in a half dtype: float32 statistics, and CUDA autocast runs it in float32."""
    return autocast_note(N_("LayerNorm"), "layer_norm", dtype)


TRAPS = Traps(
    known=(N_("ConvNeXt's channels-first LayerNorm and SAM's LayerNorm2d normalize each position over its C channels "
              "(nn.LayerNorm(C) on x.movedim(1, -1)), not each sample over (C, H, W) as nn.LayerNorm([C, H, W]) "
              "does; their eps is 1e-6."),),
    precision=precision_notes, run=warnings, plan=plan_notes, infer=infer_notes,
)

register(Variant(
    name="layer_norm_2d", title=TITLE, family="norm", fn=layer_norm_2d,
    params=(Param("eps", "float", 1e-6, N_("Added to the variance before the square root; 1e-6 as ConvNeXt and SAM."),
                  low=0.0),
            WEIGHT, BIAS),
    summary=N_("One mean and variance per position, over its channels (ConvNeXt's and SAM's channels-first "
               "LayerNorm)."),
    rule=reduces, settings=settings, make_module=module, code=code, traps=TRAPS, alone=same_params,
    grid_labels=(N_("sample"), N_("position")), precedence=5, order=25,
))
