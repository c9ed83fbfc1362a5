"""BatchNorm: one mean and variance per channel, shared by every sample and position of the batch."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vnviz.errors import InputError
from vnviz.i18n import N_, Msg
from vnviz.variants.norms import (
    BIAS, EPS, MOMENTUM, RUNNING_MEAN, RUNNING_VAR, SPATIAL_DIM, TRAINING, WEIGHT, affine_param, autocast_note,
    channel_part, check_input, counter, dtype_errors, fill_module, finite_result, has_affine, momentum_factor,
    param_dtype, rounded_stats_note, running_stat, spatial, tokens_trap, values_per_channel,
)
from vnviz.variants.params import Param, named, quote
from vnviz.variants.registry import Code, Identity, Reduction, Traps, Variant, register

TITLE = N_("BatchNorm")


def batch_norm(
    x: torch.Tensor,
    running_mean: torch.Tensor | None = None,
    running_var: torch.Tensor | None = None,
    weight: Any = None,
    bias: Any = None,
    training: bool = True,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
    num_batches_tracked: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Batch Normalization: standardize each channel over the batch and every position.

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} * \gamma + \beta

    with mean and variance per channel ``c`` over ``(N, *)``; the variance is
    biased. Reduction: ``b c h w -> 1 c 1 1``.

    In training mode the batch statistics are used and, when given,
    ``running_mean``/``running_var`` are updated in place exactly as torch does:
    ``running = (1 - momentum) * running + momentum * batch`` with the *unbiased*
    batch variance; ``momentum=None`` is the cumulative average (it counts in
    ``num_batches_tracked``, a one-element int64 tensor, updated in place).
    In eval mode the running statistics are used; without them, those of a
    freshly built ``nn.BatchNorm`` (mean 0, variance 1), so ``y ≈ x``.

    Precision: the output has x's dtype. float16/bfloat16 input is accumulated
    in float32; on the CPU, with parameters in x's dtype, the per-channel mean
    and inverse std are then rounded to x's dtype before the output is
    computed (in float32, rounded once), so y carries that rounding too; with
    float32 parameters (``param_dtype``) they stay float32. On CUDA the
    statistics stay float32 (native kernel or cuDNN).

    Args:
        x: input ``(N, C, *)``, float16, bfloat16, float32 or float64.
        running_mean, running_var: ``(C,)`` buffers or None, in x's dtype (or float32
            for float16/bfloat16 x). Default: None.
        weight, bias: ``(C,)`` tensors, numbers (broadcast) or None. Default: None.
        training: use batch statistics. Default: True.
        momentum: running-average factor in [0, 1], or None. Default: 0.1.
        eps: added to the variance. Default: 1e-5.

    Shape: input ``(N, C, *)``, output the same.
    Raises InputError in training with a single value per channel.
    """
    x = check_input(x, TITLE)
    pdt = param_dtype(x, TITLE, weight=weight, bias=bias, running_mean=running_mean, running_var=running_var)
    c = x.shape[1]
    if training and x.numel() // c < 2:
        raise InputError(
            "BatchNorm in training mode needs more than one value per channel to compute a variance; input shape "
            "{shape} has one; use a batch of 2 or more, or eval mode.",
            shape=tuple(x.shape),
        )
    if training and eps <= 0:
        raise InputError("BatchNorm in training mode needs eps > 0 (torch refuses 0); got eps={eps}.", eps=quote(eps))
    w = affine_param(weight, (c,), x, named(TITLE, "weight"), pdt)
    b = affine_param(bias, (c,), x, named(TITLE, "bias"), pdt)
    rm = running_stat(running_mean, c, x, named(TITLE, "running_mean"), pdt)
    rv = running_stat(running_var, c, x, named(TITLE, "running_var"), pdt)
    if (rm is None) != (rv is None):
        raise InputError("BatchNorm: give both running_mean and running_var, or neither.")
    num_batches_tracked = counter(num_batches_tracked, named(TITLE, "num_batches_tracked"), x)
    if not training and rm is None:
        rm = torch.zeros(c, dtype=pdt, device=x.device)
        rv = torch.ones(c, dtype=pdt, device=x.device)
    factor = momentum_factor(momentum, num_batches_tracked if rm is not None else None, training)
    group = x.numel() // c
    if x.device.type == "cpu" and training:
        # torch.native_batch_norm is the kernel F.batch_norm runs here, and it also returns the per-channel
        # statistics, which the finiteness check reads instead of scanning y: 1.09x F.batch_norm's time this way,
        # 1.27x with F.batch_norm and a scan of y (measured with `python -m vnviz.bench --sections norms` on (64, 32, 32, 32) float32, 2 CPU cores, median of 5 runs of paired ratios to torch's F.batch_norm alone)
        y, mean, invstd = torch.native_batch_norm(x, w, b, rm, rv, training, factor, eps)
        return finite_result(y, x, TITLE, (mean, invstd), group, w, b)
    with dtype_errors(TITLE, x, pdt):
        y = F.batch_norm(x, rm, rv, w, b, training, factor, eps)  # cuDNN where present
    return finite_result(y, x, TITLE)


# -- the declaration ------------------------------------------------------------------------------


def reduces(shape: tuple[int, ...], **_: Any) -> Reduction:
    """Every dim but the channels: ``b c h w -> 1 c 1 1``."""
    return Reduction(shape, (0,) + spatial(shape), affine=(1,))


def module(shape: tuple[int, ...], affine: bool | None, running: bool | None, device: Any, dtype: Any,
           running_mean: Any = None, running_var: Any = None, weight: Any = None, bias: Any = None,
           training: bool = True, momentum: float | None = 0.1, eps: float = 1e-5, num_batches_tracked: Any = None) -> nn.Module:
    """``nn.BatchNorm1d/2d/3d(C)`` with the running statistics it is given (fresh ones in eval mode without)."""
    k = SPATIAL_DIM.get(len(shape))
    if k is None:
        raise InputError("no batch-norm module for {n}-d input", n=len(shape))
    cls = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[k]
    track = running_mean is not None or not training if running is None else running
    mod = cls(shape[1], eps=eps, momentum=momentum, affine=has_affine(affine, weight, bias),
              track_running_stats=track, device=device, dtype=dtype)
    return fill_module(mod, weight, bias, running_mean, running_var, num_batches_tracked, training)


def code(letters: tuple[str, ...], shape: tuple[int, ...], params: dict[str, Any], affine: bool | None) -> Code:
    k = SPATIAL_DIM.get(len(shape))
    args = letters[1] + (", affine=False" if affine is False else "")
    return Code(None if k is None else f"nn.BatchNorm{k}d({args})", "F.batch_norm({x}, None, None, training=True)")


def warnings(x: torch.Tensor, params: dict[str, Any], layout: str | None) -> list[str]:
    out = []
    training = params.get("training", True)
    per_channel = x.numel() // x.shape[1]
    if not training and params.get("running_mean") is None:
        out.append(N_("Eval mode with untouched running statistics (mean 0, variance 1) divides by sqrt(1 + eps) and "
                      "nothing else: the output is the input."))
    elif training and per_channel < 16:
        out.append(Msg("BatchNorm estimates each channel's statistics from only {n} values here; with tiny batches "
                       "they are noisy and training and eval outputs differ a lot.", n=per_channel))
    tokens = tokens_trap(TITLE, tuple(x.shape), layout)
    if tokens:
        out += tokens
    elif x.ndim == 3 and x.shape[1] > 4 * x.shape[2] and layout is None:
        out.append(Msg("Dim 1 ({dim1}) is much longer than dim 2 ({dim2}): if this is (N, L, D) token data, "
                       "BatchNorm1d is normalizing over positions instead of features.",
                       dim1=x.shape[1], dim2=x.shape[2]))
    return out


def infer_notes(shape: tuple[int, ...], axes: tuple[int, ...], affine: str) -> list[str]:
    if len(shape) == 3:
        return [N_("If x holds (N, L, D) tokens, this is BatchNorm1d fed tokens: it reduces over dims (0, 2), "
                   "so it normalizes each position over the batch and features, not each feature over dims (0, 1).")]
    if len(shape) >= 4 and affine in ("none", "scalar"):
        dims = tuple(range(2, len(shape)))
        where = Msg("dim {dim}", dim=dims[0]) if len(dims) == 1 else Msg("dims {dims}", dims=dims)
        return [Msg("If this was meant as InstanceNorm, it also averages over the batch (dim 0); InstanceNorm reduces "
                    "over {dims} only.", dims=where)]
    return []


def mistakes(letters: tuple[str, ...] | None, axes: tuple[int, ...]) -> list[str]:
    if letters == ("N", "L", "D") and axes == (0, 2):
        return [N_("it is BatchNorm1d fed (N, L, D) tokens, so it keeps one statistic per position instead of one per "
                   "feature")]
    return []


def identities(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> list[Identity]:
    if values_per_channel(x) < 2:
        return [Identity(ONE_SAMPLE, ("batch_norm", {}), ("batch_norm", {}), False, "", order=40, unavailable=Msg(
            "BatchNorm on one sample needs positions too: with shape {shape}, one sample gives each channel a single "
            "value, and BatchNorm cannot train on that (torch raises).", shape=tuple(x.shape)))]
    return [Identity(
        ONE_SAMPLE,
        ("batch_norm", {"training": False}), ("batch_norm", {"training": True}), False,
        N_("In eval mode BatchNorm uses its running statistics, which in a fresh module are mean 0 and variance 1, "
           "so it returns x/√(1+eps), the input practically unchanged; in training it uses the batch's statistics, "
           "and a batch of one sample normalizes each channel over that sample's positions alone (InstanceNorm)."),
        order=40, take=lambda t: t[:1])]


ONE_SAMPLE = N_("BatchNorm on one sample: eval mode ≠ training mode")


def precision_notes(x: torch.Tensor, params: dict[str, Any], dtype: torch.dtype) -> list[str]:
    """What BatchNorm's kernels do in a half dtype: statistics rounded on the CPU; autocast leaves it alone."""
    return rounded_stats_note(TITLE, N_("channel"), params, dtype) + autocast_note(TITLE, "batch_norm", dtype)


TRAPS = Traps(
    known=(
        N_("nn.BatchNorm1d on (N, L, D) tokens takes the L positions for channels and averages over the batch and the "
           "features; transpose to (N, D, L) first, or use nn.LayerNorm(D)."),
        N_("BatchNorm in eval mode uses its running statistics: a freshly built model in eval mode returns about x, "
           "and in training it needs more than one value per channel."),
        N_("BatchNorm's statistics come from the whole batch, so a sample's output changes with its batch mates; "
           "LayerNorm, InstanceNorm, GroupNorm and RMSNorm look at one sample only."),
    ),
    precision=precision_notes, run=warnings, infer=infer_notes, verdict=mistakes,
)

register(Variant(
    name="batch_norm", title=TITLE, family="norm", fn=batch_norm,
    params=(EPS, MOMENTUM, TRAINING, WEIGHT, BIAS, RUNNING_MEAN, RUNNING_VAR,
            Param("num_batches_tracked", "tensor", None, N_("Batch counter for momentum=None."), widget=False)),
    summary=N_("One mean and variance per channel, shared by every sample and position of the batch."),
    rule=reduces, make_module=module, code=code, traps=TRAPS, identities=identities,
    uses_running=lambda p: not p.get("training", True),
    alone=lambda x, p, sel: channel_part(x, p, sel, TITLE),
    grid_labels=("", N_("channel")), precedence=0, order=10, compared=True,
))
