"""LayerNorm: one mean and variance per sample, over its trailing ``normalized_shape`` dims."""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vnviz.i18n import N_, Msg
from vnviz.variants.norms import (
    BIAS, EPS, NORMALIZED_SHAPE, WEIGHT, affine_param, autocast_note, check_input, dtype_errors, fill_module,
    finite_result, has_affine, letters_list, param_dtype, same_params, trailing_label, trailing_settings, trailing_shape,
)
from vnviz.variants.params import named
from vnviz.variants.registry import Code, Reduction, Traps, Variant, register

TITLE = N_("LayerNorm")


def layer_norm(
    x: torch.Tensor,
    normalized_shape: Any = None,
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
) -> torch.Tensor:
    r"""Layer Normalization: standardize each sample over its trailing dims.

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} * \gamma + \beta

    with mean and (biased) variance over the last ``len(normalized_shape)`` dims.
    Reduction with the default ``normalized_shape = x.shape[1:]``:
    ``b c h w -> b 1 1 1``; for tokens ``(N, L, D)`` with ``normalized_shape=(D,)``:
    ``b l d -> b l 1``. The affine is per element of ``normalized_shape``.

    Precision: float16/bfloat16 input is accumulated in float32 and the output
    computed in float32 and rounded once to x's dtype (on the CPU
    ``F.layer_norm(x.float(), ...).to(x.dtype)``, but for about one element in
    10⁴ that is one unit apart: the float32 sums run in another order); the
    statistics are float32 inside the kernel (rounded to x's dtype where the CPU
    kernel returns them). CUDA autocast runs layer_norm in float32
    (docs/precision.md).

    Args:
        x: input ``(N, *)``, float16, bfloat16, float32 or float64.
        normalized_shape: the trailing dims to normalize over. Default: ``x.shape[1:]``.
        weight, bias: tensors of ``normalized_shape``, numbers or None. Default: None.
        eps: added to the variance. Default: 1e-5.
    """
    x = check_input(x, TITLE)
    ns = trailing_shape(normalized_shape, tuple(x.shape), TITLE)
    pdt = param_dtype(x, TITLE, weight=weight, bias=bias)
    w = affine_param(weight, ns, x, named(TITLE, "weight"), pdt)
    b = affine_param(bias, ns, x, named(TITLE, "bias"), pdt)
    # torch.native_layer_norm is what F.layer_norm runs, and it also returns the statistics the finiteness check
    # reads: 1.03x F.layer_norm's time this way, 1.87x with F.layer_norm and a scan of y
    # (measured with `python -m vnviz.bench --sections norms` on (64, 32, 32, 32) float32, 2 CPU cores, median of 5 runs of paired ratios to torch's F.layer_norm alone)
    if x.device.type != "cpu" and pdt != x.dtype:  # mixed precision elsewhere: torch's public call, whatever it does
        with dtype_errors(TITLE, x, pdt):
            return finite_result(F.layer_norm(x, ns, w, b, eps), x, TITLE)
    y, mean, rstd = torch.native_layer_norm(x, ns, w, b, eps)
    return finite_result(y, x, TITLE, (mean, rstd), math.prod(ns), w, b)


# -- the declaration ------------------------------------------------------------------------------


def trailing(shape: tuple[int, ...], normalized_shape: Any, what: str, centered: bool = True) -> Reduction:
    """The trailing ``normalized_shape`` dims, with a per-element affine over them (LayerNorm, RMSNorm)."""
    ns = trailing_shape(normalized_shape, shape, what)
    dims = tuple(range(len(shape) - len(ns), len(shape)))
    return Reduction(shape, dims, affine=dims, centered=centered, params={"normalized_shape": ns})


def reduces(shape: tuple[int, ...], normalized_shape: Any = None, **_: Any) -> Reduction:
    """The trailing dims: ``b c h w -> b 1 1 1`` by default, ``b l d -> b l 1`` with normalized_shape=(D,)."""
    return trailing(shape, normalized_shape, TITLE)


def module(shape: tuple[int, ...], affine: bool | None, running: bool | None, device: Any, dtype: Any,
           normalized_shape: Any = None, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> nn.Module:
    ns = trailing_shape(normalized_shape, shape, TITLE)
    mod = nn.LayerNorm(ns, eps=eps, elementwise_affine=has_affine(affine, weight, bias), device=device, dtype=dtype)
    return fill_module(mod, weight, bias)


def code(letters: tuple[str, ...], shape: tuple[int, ...], params: dict[str, Any], affine: bool | None) -> Code:
    k = len(params["normalized_shape"])
    flag = ", elementwise_affine=False" if affine is False else ""
    return Code(f"nn.LayerNorm({letters_list(letters[-k:])}{flag})", f"F.layer_norm({{x}}, x.shape[-{k}:])")


def warnings(x: torch.Tensor, params: dict[str, Any], layout: str | None) -> list[str]:
    ns = trailing_shape(params.get("normalized_shape"), tuple(x.shape), TITLE)
    if math.prod(ns) == 1:
        return [Msg("normalized_shape {ns} puts a single element in every group: its variance is 0, so LayerNorm "
                    "outputs all zeros (plus bias).", ns=ns)]
    return []


def plan_notes(letters: tuple[str, ...], red: Reduction) -> list[str]:
    first = min(red.dims)
    ns = letters_list(letters[first:])
    out = []
    if first > 1 and tuple(letters) != ("N", "L", "D"):
        out.append(Msg("LayerNorm's normalized_shape is the trailing dims: nn.LayerNorm({ns}) averages over {dims} "
                       "only, separately for every {kept}.",
                       ns=ns, dims=", ".join(letters[first:]), kept=", ".join(letters[:first])))
    out.append(Msg("nn.RMSNorm({ns}) reduces over the same axes with the mean square instead: it does not remove the "
                   "mean.", ns=ns))
    return out


def precision_notes(x: torch.Tensor, params: dict[str, Any], dtype: torch.dtype) -> list[str]:
    """What LayerNorm's kernel does in a half dtype: float32 statistics, and CUDA autocast runs it in float32."""
    return autocast_note(TITLE, "layer_norm", dtype)


TRAPS = Traps(
    known=(N_("LayerNorm's normalized_shape means the trailing dims: nn.LayerNorm(C) on (N, C, H, W) fails (or, when "
              "W happens to equal C, silently normalizes each row over W); for channels-first images use "
              "nn.LayerNorm([C, H, W]) or move C last."),),
    precision=precision_notes, run=warnings, plan=plan_notes,
)

register(Variant(
    name="layer_norm", title=TITLE, family="norm", fn=layer_norm,
    params=(NORMALIZED_SHAPE, EPS, WEIGHT, BIAS),
    summary=N_("One mean and variance per sample, over its trailing normalized_shape dims."),
    rule=reduces, settings=trailing_settings, make_module=module, code=code, traps=TRAPS,
    label=trailing_label(TITLE), alone=same_params, affine="trailing", grid_labels=(N_("sample"), N_("position")),
    precedence=2, order=20, compared=True,
))
