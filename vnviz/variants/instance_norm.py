"""InstanceNorm: one mean and variance per (sample, channel), over its positions."""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vnviz.errors import InputError
from vnviz.i18n import N_
from vnviz.variants.norms import (
    BIAS, EPS, MOMENTUM, RUNNING_MEAN, RUNNING_VAR, SPATIAL_DIM, TRAINING, WEIGHT, affine_param, autocast_note,
    channel_part, check_input, dtype_errors, fill_module, finite_result, has_affine, param_dtype, rounded_stats_note,
    running_stat, spatial, tokens_trap,
)
from vnviz.variants.params import named
from vnviz.variants.registry import Code, Reduction, Traps, Variant, register

TITLE = N_("InstanceNorm")


def instance_norm(
    x: torch.Tensor,
    running_mean: torch.Tensor | None = None,
    running_var: torch.Tensor | None = None,
    weight: Any = None,
    bias: Any = None,
    training: bool = True,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
) -> torch.Tensor:
    r"""Instance Normalization: standardize each (sample, channel) over its positions.

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} * \gamma + \beta

    with mean and (biased) variance over the spatial dims ``*`` of each
    ``(n, c)``. Reduction: ``b c h w -> b c 1 1``. Like ``nn.InstanceNorm2d``'s
    defaults there is no affine and no running statistics unless given; with
    running statistics and ``training=False`` the running values are used, so
    it behaves like BatchNorm in eval mode.

    Precision: torch computes it as BatchNorm over ``(1, N*C, *)``, so it rounds
    as BatchNorm does (float16/bfloat16 accumulated in float32; on the CPU the
    statistics rounded to x's dtype unless the parameters are float32).

    Args:
        x: input ``(N, C, L, ...)``, at least one spatial dim with 2+ elements.
        running_mean, running_var: ``(C,)`` buffers or None. Default: None.
        weight, bias: ``(C,)`` tensors, numbers or None. Default: None.
        training: use the instance statistics (torch's ``use_input_stats``). Default: True.
        momentum: running-average factor. Default: 0.1.
        eps: added to the variance. Default: 1e-5.
    """
    x = check_input(x, TITLE, min_ndim=3)
    c = x.shape[1]
    spatial = math.prod(x.shape[2:])
    pdt = param_dtype(x, TITLE, weight=weight, bias=bias, running_mean=running_mean, running_var=running_var)
    rm = running_stat(running_mean, c, x, named(TITLE, "running_mean"), pdt)
    rv = running_stat(running_var, c, x, named(TITLE, "running_var"), pdt)
    if (rm is None) != (rv is None):
        raise InputError("InstanceNorm: give both running_mean and running_var, or neither.")
    use_input_stats = training or rm is None
    if use_input_stats and spatial < 2:
        raise InputError(
            "InstanceNorm needs more than one value per (sample, channel) to compute a variance; input shape "
            "{shape} has {spatial}; give it spatial dims (N, C, L) or (N, C, H, W).",
            shape=tuple(x.shape), spatial=spatial,
        )
    w = affine_param(weight, (c,), x, named(TITLE, "weight"), pdt)
    b = affine_param(bias, (c,), x, named(TITLE, "bias"), pdt)
    if rm is None and x.device.type == "cpu":
        # what F.instance_norm runs: BatchNorm over (1, N*C, *) with the affine repeated N times, through the
        # kernel that also returns the statistics the finiteness check reads: 1.05x F.instance_norm's time this
        # way, 1.32x with F.instance_norm and a scan of y (measured with `python -m vnviz.bench --sections norms` on (64, 32, 32, 32) float32, 2 CPU cores, median of 5 runs of paired ratios to torch's F.instance_norm alone)
        n = x.shape[0]
        y, mean, invstd = torch.native_batch_norm(
            x.reshape((1, n * c) + tuple(x.shape[2:])), None if w is None else w.repeat(n),
            None if b is None else b.repeat(n), None, None, True, 0.0, eps)
        return finite_result(y.reshape(x.shape), x, TITLE, (mean, invstd), spatial, w, b)
    # nn.InstanceNorm passes momentum=None on as 0.0: the running statistics stay as they are
    with dtype_errors(TITLE, x, pdt):
        y = F.instance_norm(x, rm, rv, w, b, use_input_stats, 0.0 if momentum is None else momentum, eps)
    return finite_result(y, x, TITLE)


# -- the declaration ------------------------------------------------------------------------------


def reduces(shape: tuple[int, ...], **_: Any) -> Reduction:
    """The positions of each (sample, channel): ``b c h w -> b c 1 1``."""
    return Reduction(shape, spatial(shape), affine=(1,))


def module(shape: tuple[int, ...], affine: bool | None, running: bool | None, device: Any, dtype: Any,
           running_mean: Any = None, running_var: Any = None, weight: Any = None, bias: Any = None,
           training: bool = True, momentum: float | None = 0.1, eps: float = 1e-5) -> nn.Module:
    """``nn.InstanceNorm1d/2d/3d(C)``, tracking running statistics when it is given them."""
    k = SPATIAL_DIM.get(len(shape)) if len(shape) >= 3 else None
    if k is None:
        raise InputError("no instance-norm module for {n}-d input", n=len(shape))
    cls = {1: nn.InstanceNorm1d, 2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}[k]
    mod = cls(shape[1], eps=eps, momentum=momentum, affine=has_affine(affine, weight, bias),
              track_running_stats=running_mean is not None if running is None else running, device=device,
              dtype=dtype)
    return fill_module(mod, weight, bias, running_mean, running_var, training=training)


def code(letters: tuple[str, ...], shape: tuple[int, ...], params: dict[str, Any], affine: bool | None) -> Code:
    k = SPATIAL_DIM.get(len(shape)) if len(shape) >= 3 else None
    args = letters[1] + (", affine=True" if affine else "")
    return Code(None if k is None else f"nn.InstanceNorm{k}d({args})", "F.instance_norm({x})")


def warnings(x: torch.Tensor, params: dict[str, Any], layout: str | None) -> list[str]:
    out = []
    if params.get("running_mean") is not None and not params.get("training", True):
        out.append(N_("InstanceNorm with running statistics in eval mode uses the same statistics for every sample, "
                      "like BatchNorm."))
    return out + tokens_trap(TITLE, tuple(x.shape), layout)


def precision_notes(x: torch.Tensor, params: dict[str, Any], dtype: torch.dtype) -> list[str]:
    """What InstanceNorm's kernels do in a half dtype: statistics rounded on the CPU; autocast leaves it alone."""
    return (rounded_stats_note(TITLE, N_("(sample, channel)"), params, dtype)
            + autocast_note(TITLE, "instance_norm", dtype))


TRAPS = Traps(
    known=(N_("InstanceNorm with track_running_stats=True uses its running statistics in eval mode, the same for "
              "every sample, so it behaves like BatchNorm there."),),
    precision=precision_notes, run=warnings,
    plan=lambda letters, red: [N_("nn.InstanceNorm has no affine and no running statistics by default "
                                  "(affine=False, track_running_stats=False).")],
)

register(Variant(
    name="instance_norm", title=TITLE, family="norm", fn=instance_norm,
    params=(EPS, MOMENTUM, TRAINING, WEIGHT, BIAS, RUNNING_MEAN, RUNNING_VAR),
    summary=N_("One mean and variance per (sample, channel): every image's own contrast is removed."),
    rule=reduces, make_module=module, code=code, traps=TRAPS,
    uses_running=lambda p: not p.get("training", True) and p.get("running_mean") is not None,
    alone=lambda x, p, sel: channel_part(x, p, sel, TITLE),
    min_ndim=3, precedence=1, order=30, compared=True,
))
