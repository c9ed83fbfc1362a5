"""RMSNorm: each sample divided by its root mean square over the trailing dims; the mean is not removed."""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vnviz.i18n import N_, Msg
from vnviz.variants.layer_norm import trailing
from vnviz.variants.norms import (
    NORMALIZED_SHAPE, WEIGHT, affine_param, autocast_note, check_input, default_eps, dtype_errors, dtype_name,
    fill_module, finite_result, has_affine, letters_list, param_dtype, same_params, trailing_label, trailing_settings,
    trailing_shape,
)
from vnviz.variants.params import Param, named
from vnviz.variants.registry import Code, Reduction, Traps, Variant, register

TITLE = N_("RMSNorm")


def rms_norm(
    x: torch.Tensor,
    normalized_shape: Any = None,
    weight: Any = None,
    eps: float | None = None,
) -> torch.Tensor:
    r"""Root Mean Square Layer Normalization: rescale each sample to unit RMS.

    .. math:: y = \frac{x}{\sqrt{\mathrm{E}[x^2] + \epsilon}} * \gamma

    over the trailing ``normalized_shape`` dims. The mean is not removed and
    there is no bias. Reduction (default): ``b c h w -> b 1 1 1``.

    Precision: float16/bfloat16 input is accumulated in float32, the inverse
    RMS kept in float32 and the output computed in float32 and rounded once to
    x's dtype (on the CPU ``F.rms_norm(x.float(), ...).to(x.dtype)``, to the
    order of the float32 sums).

    Args:
        x: input ``(N, *)``, float16, bfloat16, float32 or float64.
        normalized_shape: trailing dims. Default: ``x.shape[1:]``.
        weight: tensor of ``normalized_shape``, a number or None. Default: None.
        eps: added to the mean square; None is the machine epsilon of the dtype
            the kernel computes in (``default_eps``): ``torch.finfo(torch.float32).eps``
            for float16, bfloat16 and float32 input, float64's for float64, as
            ``nn.RMSNorm`` (not float16's 9.8e-4). Default: None.
    """
    x = check_input(x, TITLE)
    ns = trailing_shape(normalized_shape, tuple(x.shape), TITLE)
    pdt = param_dtype(x, TITLE, weight=weight)
    w = affine_param(weight, ns, x, named(TITLE, "weight"), pdt)
    # torch._fused_rms_norm is the kernel F.rms_norm runs, and it also returns the inverse RMS the finiteness check
    # reads: 1.10x F.rms_norm's time this way, 1.72x with F.rms_norm and a scan of y
    # (measured with `python -m vnviz.bench --sections norms` on (64, 32, 32, 32) float32, 2 CPU cores, median of 5 runs of paired ratios to torch's F.rms_norm alone)
    fused = getattr(torch, "_fused_rms_norm", None)
    if fused is not None and (x.device.type == "cpu" or (x.device.type == "cuda" and pdt == x.dtype)):
        y, rstd = fused(x, list(ns), w, eps)
        return finite_result(y, x, TITLE, (rstd,), math.prod(ns), w)
    with dtype_errors(TITLE, x, pdt):  # F.rms_norm falls back to its composite for a float32 weight on CUDA
        return finite_result(F.rms_norm(x, ns, w, eps), x, TITLE)


# -- the declaration ------------------------------------------------------------------------------


def reduces(shape: tuple[int, ...], normalized_shape: Any = None, **_: Any) -> Reduction:
    """The trailing dims, by the mean square: ``b c h w -> b 1 1 1`` by default."""
    return trailing(shape, normalized_shape, TITLE, centered=False)


def module(shape: tuple[int, ...], affine: bool | None, running: bool | None, device: Any, dtype: Any,
           normalized_shape: Any = None, weight: Any = None, eps: float | None = None) -> nn.Module:
    ns = trailing_shape(normalized_shape, shape, TITLE)
    mod = nn.RMSNorm(ns, eps=eps, elementwise_affine=has_affine(affine, weight), device=device, dtype=dtype)
    return fill_module(mod, weight)


def code(letters: tuple[str, ...], shape: tuple[int, ...], params: dict[str, Any], affine: bool | None) -> Code:
    k = len(params["normalized_shape"])
    flag = ", elementwise_affine=False" if affine is False else ""
    return Code(f"nn.RMSNorm({letters_list(letters[-k:])}{flag})", f"F.rms_norm({{x}}, x.shape[-{k}:])")


def warnings(x: torch.Tensor, params: dict[str, Any], layout: str | None) -> list[str]:
    out = []
    ns = trailing_shape(params.get("normalized_shape"), tuple(x.shape), TITLE)
    if math.prod(ns) == 1:
        out.append(Msg("normalized_shape {ns} puts a single element in every group: RMSNorm outputs ±1 (its sign).",
                       ns=ns))
    m = float(x.detach().double().mean())
    s = float(x.detach().double().std()) if x.numel() > 1 else 0.0
    if abs(m) > 0.5 * max(s, 1e-12):
        out.append(Msg("The data has mean {mean:.3g}: RMSNorm does not remove it, so the output is not centred.",
                       mean=m))
    return out


def precision_notes(x: torch.Tensor, params: dict[str, Any], dtype: torch.dtype) -> list[str]:
    """RMSNorm's own traps in a low-precision dtype: what eps=None stands for there, and autocast."""
    out = autocast_note(TITLE, "rms_norm", dtype)
    if params.get("eps") is None and dtype in (torch.float16, torch.bfloat16):
        out.append(Msg("eps=None is float32's machine epsilon ({eps:.3g}) for {dtype} input, the dtype torch's kernel "
                       "computes in, not torch.finfo({dtype}).eps ({half_eps:.3g}); a hand-written RMSNorm adding the "
                       "latter to the mean square gets a different output wherever the mean square is small.",
                       eps=default_eps(dtype), dtype=dtype_name(dtype), half_eps=torch.finfo(dtype).eps))
    return out


TRAPS = Traps(
    known=(N_("RMSNorm does not remove the mean and has no bias; nn.RMSNorm's eps=None means the machine epsilon of "
              "the dtype it computes in (float32's, 1.19e-07, also for float16 and bfloat16 input; float64's for "
              "float64), not 1e-5."),),
    run=warnings, precision=precision_notes,
    plan=lambda letters, red: [N_("RMSNorm divides by the root mean square: the mean is not removed and there is no "
                                  "bias.")],
)

register(Variant(
    name="rms_norm", title=TITLE, family="norm", fn=rms_norm,
    params=(NORMALIZED_SHAPE,
            Param("eps", "float", None, N_("Added to the mean square; None = machine epsilon of the dtype torch "
                                           "computes in (float32's for float16/bfloat16/float32 input), as nn.RMSNorm."),
                  low=0.0, optional=True),
            WEIGHT),
    summary=N_("Divides each sample by its root mean square over the trailing dims; the mean is not removed."),
    rule=reduces, settings=trailing_settings, make_module=module, code=code, traps=TRAPS,
    label=trailing_label(TITLE), alone=same_params, stat="rms", affine="trailing",
    grid_labels=(N_("sample"), N_("position")), precedence=4, order=50,
))
