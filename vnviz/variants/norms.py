"""BatchNorm, LayerNorm, InstanceNorm, GroupNorm and RMSNorm.

Every variant is "give each element a statistic group, normalize each group to
mean 0 and (biased) variance 1 with eps, then apply the optional affine". The
functions below check their inputs once (one plain sentence per mistake), then
call torch's fused kernel; the group maps explain and verify, they do not
compute.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from vnviz.errors import InputError
from vnviz.variants.registry import Param, Variant, quote, register, scalar

FLOAT_DTYPES = (torch.float32, torch.float64)

# -- shared checks -------------------------------------------------------------


def check_input(x: Any, what: str, min_ndim: int = 2) -> torch.Tensor:
    """Return ``x`` as a float tensor, or raise InputError saying what is wrong.

    Accepts a torch tensor or a numpy array of float32/float64 with at least
    ``min_ndim`` dims and no zero-size dim. Values are not scanned here: a NaN or
    Inf reaches its group's statistics, which ``finite_result`` checks.
    """
    if not isinstance(x, torch.Tensor):
        if type(x).__module__ == "numpy" and hasattr(x, "dtype"):
            if x.dtype.kind not in "fiub":
                raise InputError(f"{what} takes float32 or float64 arrays; got numpy {x.dtype}.")
            x = torch.from_numpy(x.copy() if any(s < 0 for s in x.strides) else x)
        else:
            raise InputError(f"{what} takes a torch.Tensor (or numpy array); got {type(x).__name__}.")
    if x.dtype not in FLOAT_DTYPES:
        raise InputError(f"{what} takes float32 or float64 tensors; got {str(x.dtype).replace('torch.', '')}.")
    if x.ndim < min_ndim:
        if min_ndim >= 3:
            raise InputError(
                f"{what} needs at least {min_ndim} dims (N, C, L, ...): it averages over the positions of each "
                f"(sample, channel); got shape {tuple(x.shape)}."
            )
        raise InputError(f"{what} needs at least {min_ndim} dims (N, C, ...); got shape {tuple(x.shape)}.")
    if x.numel() == 0:
        raise InputError(f"{what} needs a non-empty tensor; got shape {tuple(x.shape)}.")
    return x


def _all_finite(t: torch.Tensor) -> bool:
    if t.numel() == 0:
        return True
    lo, hi = torch.aminmax(t.detach())
    return math.isfinite(lo) and math.isfinite(hi)


def finite_result(
    y: torch.Tensor,
    x: torch.Tensor,
    what: str,
    stats: tuple[torch.Tensor, ...] = (),
    group_size: int | None = None,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """Return ``y`` when it is finite, else raise InputError saying why.

    A NaN or Inf anywhere in the input reaches its group's mean, and a zero
    variance with eps=0 reaches the inverse std, so when the kernel hands back
    its per-group statistics (``stats``, tiny; the last one the inverse std)
    checking them proves the output finite without another pass over it, unless
    an inverse std is 0 (an Inf times 0 is NaN); the affine can only overflow past
    ``|weight| * sqrt(group_size) + |bias|``, which is bounded here. Without
    statistics (eval mode, other devices) the output itself is scanned once.
    """
    ok = False
    if stats and stats[-1].numel():
        # one small reduction and one sync: NaN/Inf in a mean or inverse std shows in their sums, and an
        # inverse std of 0 (an Inf in the group, or an overflow) in their minimum
        first, inv = stats[0].detach(), stats[-1].detach()
        total, inv_total, inv_min = torch.stack([first.sum(), inv.sum(), inv.min()]).tolist()
        ok = math.isfinite(total) and math.isfinite(inv_total) and inv_min > 0
    if ok and (weight is not None or bias is not None):
        w = float(weight.detach().abs().max()) if weight is not None else 1.0
        b = float(bias.detach().abs().max()) if bias is not None else 0.0
        ok = w * math.sqrt(group_size or y.numel()) + b < torch.finfo(y.dtype).max / 4
    if ok or _all_finite(y):
        return y
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        raise InputError(
            f"{what} got an input with {bad} NaN or Inf value(s), which would spread through their whole group; "
            "replace or drop them first."
        )
    raise InputError(
        f"{what} produced NaN or Inf: a group has (almost) zero variance and eps is too small, "
        f"or the values overflow {str(y.dtype).replace('torch.', '')}; raise eps or rescale the input."
    )


def affine_param(value: Any, shape: tuple[int, ...], x: torch.Tensor, what: str) -> torch.Tensor | None:
    """``weight``/``bias`` as a tensor of ``shape`` on x's device and dtype.

    None means no affine; a number is broadcast (weight=2.0 doubles every
    output); a tensor must have exactly ``shape``.
    """
    if value is None:
        return None
    value = scalar(value) if not (isinstance(value, torch.Tensor) and value.ndim > 0) else value
    if isinstance(value, bool):
        raise InputError(f"{what} must be None, a number or a tensor of shape {shape}; got {quote(value)}.")
    if isinstance(value, (int, float)):
        limit = torch.finfo(x.dtype).max
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number) or abs(number) > limit:
            raise InputError(f"{what} must be a finite {str(x.dtype).replace('torch.', '')} number; got {quote(value)}.")
        return torch.full(shape, number, dtype=x.dtype, device=x.device)
    if type(value).__module__ == "numpy" and hasattr(value, "dtype"):
        if value.dtype.kind not in "fiu":
            raise InputError(f"{what} must hold numbers; got a numpy array of {value.dtype}.")
        value = torch.as_tensor(value.copy())
    if not isinstance(value, torch.Tensor):
        raise InputError(f"{what} must be None, a number or a tensor of shape {shape}; got {type(value).__name__}.")
    if tuple(value.shape) != tuple(shape):
        raise InputError(f"{what} must have shape {shape} to match the input; got {tuple(value.shape)}.")
    if value.is_complex() or value.dtype == torch.bool:
        raise InputError(f"{what} must hold real numbers; got {str(value.dtype).replace('torch.', '')}.")
    value = value.to(device=x.device, dtype=x.dtype)
    if not torch.isfinite(value).all():
        raise InputError(f"{what} must hold finite {str(x.dtype).replace('torch.', '')} values only.")
    return value


def running_stat(value: Any, channels: int, x: torch.Tensor, what: str) -> torch.Tensor | None:
    """Check a running-statistics buffer: a float tensor of shape (C,) on x's device.

    The buffer is updated in place in training mode, so it is not copied:
    its device and dtype must already match the input.
    """
    if value is None:
        return None
    if not isinstance(value, torch.Tensor):
        raise InputError(f"{what} must be a tensor of shape ({channels},); got {type(value).__name__}.")
    if tuple(value.shape) != (channels,):
        raise InputError(f"{what} must have shape ({channels},), one value per channel; got {tuple(value.shape)}.")
    if value.dtype != x.dtype or value.device != x.device:
        raise InputError(
            f"{what} must be {str(x.dtype).replace('torch.', '')} on {x.device} like the input "
            f"(it is updated in place); got {str(value.dtype).replace('torch.', '')} on {value.device}."
        )
    if not torch.isfinite(value).all():
        raise InputError(f"{what} must hold finite values only.")
    return value


def trailing_shape(normalized_shape: Any, shape: tuple[int, ...], what: str) -> tuple[int, ...]:
    """Resolve ``normalized_shape`` (None = every dim after the first) against ``shape``."""
    if normalized_shape is None:
        return tuple(shape[1:])
    ns = _shape_arg(normalized_shape, what)
    k = len(ns)
    if k == 0 or k > len(shape) or tuple(shape[len(shape) - k:]) != ns:
        examples = sorted({tuple(shape[-1:]), tuple(shape[1:])}, key=len)
        raise InputError(
            f"{what}: normalized_shape must equal the trailing dims of the input shape {tuple(shape)} "
            f"(e.g. {' or '.join(map(str, examples))}); got {quote(normalized_shape)}."
        )
    return ns


def _shape_arg(value: Any, what: str) -> tuple[int, ...]:
    from vnviz.variants.registry import _as_ints  # the registry's own parser, one rule everywhere

    return _as_ints(value, f"{what}: normalized_shape")


def counter(value: Any, what: str, x: torch.Tensor) -> torch.Tensor | None:
    """Check ``num_batches_tracked``: None or a one-element int64 tensor on x's device."""
    if value is None:
        return None
    if not isinstance(value, torch.Tensor) or value.numel() != 1 or value.dtype != torch.long:
        raise InputError(f"{what} must be a one-element int64 tensor (updated in place), or None; got {quote(value)}.")
    if value.device != x.device:
        raise InputError(f"{what} must be on {x.device} like the input; got {value.device}.")
    return value


def _momentum_factor(momentum: float | None, num_batches_tracked: torch.Tensor | None, training: bool) -> float:
    """The running-average factor, as torch's _BatchNorm computes it (counting the batch)."""
    if not training:
        return 0.0  # eval never updates the running statistics
    if num_batches_tracked is not None:
        num_batches_tracked.add_(1)
    if momentum is not None:
        return momentum
    if num_batches_tracked is None:
        return 1.0  # first batch of a cumulative average: the batch statistics themselves
    return 1.0 / float(num_batches_tracked)


# -- group maps ----------------------------------------------------------------


def _ids(shape: tuple[int, ...], sizes: tuple[int, ...]) -> torch.Tensor:
    """Group ids numbering the leading ``len(sizes)`` dims row-major, broadcast over the rest."""
    n = math.prod(sizes)
    ids = torch.arange(n, dtype=torch.long).reshape(sizes + (1,) * (len(shape) - len(sizes)))
    return ids.expand(shape).contiguous()


def channel_groups(shape: tuple[int, ...], **_: Any) -> torch.Tensor:
    """BatchNorm's groups: one per channel (dim 1)."""
    ids = torch.arange(shape[1], dtype=torch.long).reshape((1, shape[1]) + (1,) * (len(shape) - 2))
    return ids.expand(shape).contiguous()


def sample_groups(shape: tuple[int, ...], normalized_shape: Any = None, **_: Any) -> torch.Tensor:
    """LayerNorm's and RMSNorm's groups: one per position of the leading (un-normalized) dims."""
    ns = trailing_shape(normalized_shape, shape, "group map")
    if len(ns) == len(shape):
        return torch.zeros(shape, dtype=torch.long)  # the whole tensor is one group
    return _ids(shape, tuple(shape[: len(shape) - len(ns)]))


def instance_groups(shape: tuple[int, ...], **_: Any) -> torch.Tensor:
    """InstanceNorm's groups: one per (sample, channel) pair."""
    return _ids(shape, tuple(shape[:2]))


def channel_group_groups(shape: tuple[int, ...], num_groups: int | None = None, **_: Any) -> torch.Tensor:
    """GroupNorm's groups: one per (sample, group of C/G consecutive channels)."""
    n, c = shape[0], shape[1]
    g = resolve_num_groups(num_groups, c)
    ids = torch.arange(n * g, dtype=torch.long).reshape(n, g, 1).expand(n, g, c // g).reshape(n, c)
    return ids.reshape((n, c) + (1,) * (len(shape) - 2)).expand(shape).contiguous()


def resolve_num_groups(num_groups: int | None, channels: int) -> int:
    """``num_groups``, or by default the smallest divisor of C above 1 (2 for even C)."""
    if num_groups is None:
        return next(d for d in range(2, channels + 1) if channels % d == 0) if channels > 1 else 1
    if channels % num_groups:
        divisors = [d for d in range(1, channels + 1) if channels % d == 0]
        listed = ", ".join(map(str, divisors[:12])) + (", ..." if len(divisors) > 12 else "")
        raise InputError(
            f"GroupNorm: num_groups must divide the {channels} channels evenly (allowed: {listed}); got {quote(num_groups)}."
        )
    return num_groups


# -- the variants --------------------------------------------------------------


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

    Args:
        x: input ``(N, C, *)``, float32 or float64.
        running_mean, running_var: ``(C,)`` buffers or None. Default: None.
        weight, bias: ``(C,)`` tensors, numbers (broadcast) or None. Default: None.
        training: use batch statistics. Default: True.
        momentum: running-average factor in [0, 1], or None. Default: 0.1.
        eps: added to the variance. Default: 1e-5.

    Shape: input ``(N, C, *)``, output the same.
    Raises InputError in training with a single value per channel.
    """
    x = check_input(x, "BatchNorm")
    c = x.shape[1]
    if training and x.numel() // c < 2:
        raise InputError(
            f"BatchNorm in training mode needs more than one value per channel to compute a variance; "
            f"input shape {tuple(x.shape)} has one; use a batch of 2 or more, or eval mode."
        )
    if training and eps <= 0:
        raise InputError(f"BatchNorm in training mode needs eps > 0 (torch refuses 0); got eps={quote(eps)}.")
    w = affine_param(weight, (c,), x, "BatchNorm: weight")
    b = affine_param(bias, (c,), x, "BatchNorm: bias")
    rm = running_stat(running_mean, c, x, "BatchNorm: running_mean")
    rv = running_stat(running_var, c, x, "BatchNorm: running_var")
    if (rm is None) != (rv is None):
        raise InputError("BatchNorm: give both running_mean and running_var, or neither.")
    num_batches_tracked = counter(num_batches_tracked, "BatchNorm: num_batches_tracked", x)
    if not training and rm is None:
        rm = torch.zeros(c, dtype=x.dtype, device=x.device)
        rv = torch.ones(c, dtype=x.dtype, device=x.device)
    factor = _momentum_factor(momentum, num_batches_tracked if rm is not None else None, training)
    group = x.numel() // c
    if x.device.type == "cpu" and training:  # the kernel F.batch_norm runs here, with its statistics
        y, mean, invstd = torch.native_batch_norm(x, w, b, rm, rv, training, factor, eps)
        return finite_result(y, x, "BatchNorm", (mean, invstd), group, w, b)
    y = F.batch_norm(x, rm, rv, w, b, training, factor, eps)  # cuDNN where present
    return finite_result(y, x, "BatchNorm")


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

    Args:
        x: input ``(N, *)``, float32 or float64.
        normalized_shape: the trailing dims to normalize over. Default: ``x.shape[1:]``.
        weight, bias: tensors of ``normalized_shape``, numbers or None. Default: None.
        eps: added to the variance. Default: 1e-5.
    """
    x = check_input(x, "LayerNorm")
    ns = trailing_shape(normalized_shape, tuple(x.shape), "LayerNorm")
    w = affine_param(weight, ns, x, "LayerNorm: weight")
    b = affine_param(bias, ns, x, "LayerNorm: bias")
    y, mean, rstd = torch.native_layer_norm(x, ns, w, b, eps)  # what F.layer_norm runs, with its statistics
    return finite_result(y, x, "LayerNorm", (mean, rstd), math.prod(ns), w, b)


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

    Args:
        x: input ``(N, C, L, ...)``, at least one spatial dim with 2+ elements.
        running_mean, running_var: ``(C,)`` buffers or None. Default: None.
        weight, bias: ``(C,)`` tensors, numbers or None. Default: None.
        training: use the instance statistics (torch's ``use_input_stats``). Default: True.
        momentum: running-average factor. Default: 0.1.
        eps: added to the variance. Default: 1e-5.
    """
    x = check_input(x, "InstanceNorm", min_ndim=3)
    c = x.shape[1]
    spatial = math.prod(x.shape[2:])
    rm = running_stat(running_mean, c, x, "InstanceNorm: running_mean")
    rv = running_stat(running_var, c, x, "InstanceNorm: running_var")
    if (rm is None) != (rv is None):
        raise InputError("InstanceNorm: give both running_mean and running_var, or neither.")
    use_input_stats = training or rm is None
    if use_input_stats and spatial < 2:
        raise InputError(
            f"InstanceNorm needs more than one value per (sample, channel) to compute a variance; "
            f"input shape {tuple(x.shape)} has {spatial}; give it spatial dims (N, C, L) or (N, C, H, W)."
        )
    w = affine_param(weight, (c,), x, "InstanceNorm: weight")
    b = affine_param(bias, (c,), x, "InstanceNorm: bias")
    if rm is None and x.device.type == "cpu":
        # what F.instance_norm runs: BatchNorm over (1, N*C, *) with the affine repeated N times
        n = x.shape[0]
        y, mean, invstd = torch.native_batch_norm(
            x.reshape((1, n * c) + tuple(x.shape[2:])), None if w is None else w.repeat(n),
            None if b is None else b.repeat(n), None, None, True, 0.0, eps)
        return finite_result(y.reshape(x.shape), x, "InstanceNorm", (mean, invstd), spatial, w, b)
    # nn.InstanceNorm passes momentum=None on as 0.0: the running statistics stay as they are
    y = F.instance_norm(x, rm, rv, w, b, use_input_stats, 0.0 if momentum is None else momentum, eps)
    return finite_result(y, x, "InstanceNorm")


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

    Args:
        x: input ``(N, C, *)``.
        num_groups: G, must divide C. Default: the smallest divisor of C above 1.
        weight, bias: ``(C,)`` tensors, numbers or None. Default: None.
        eps: added to the variance. Default: 1e-5.
    """
    x = check_input(x, "GroupNorm")
    c = x.shape[1]
    g = resolve_num_groups(num_groups, c)
    per_group = (c // g) * math.prod(x.shape[2:])
    if per_group < 2:
        raise InputError(
            f"GroupNorm needs more than one value per group to compute a variance; with shape {tuple(x.shape)} "
            f"and num_groups={g} each group has one; use fewer groups or spatial dims."
        )
    w = affine_param(weight, (c,), x, "GroupNorm: weight")
    b = affine_param(bias, (c,), x, "GroupNorm: bias")
    n = x.shape[0]
    # what F.group_norm runs, with its statistics
    y, mean, rstd = torch.native_group_norm(x.contiguous(), w, b, n, c, math.prod(x.shape[2:]), g, eps)
    return finite_result(y, x, "GroupNorm", (mean, rstd), per_group, w, b)


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

    Args:
        x: input ``(N, *)``.
        normalized_shape: trailing dims. Default: ``x.shape[1:]``.
        weight: tensor of ``normalized_shape``, a number or None. Default: None.
        eps: added to the mean square; None is ``torch.finfo(x.dtype).eps``
            as in ``nn.RMSNorm``. Default: None.
    """
    x = check_input(x, "RMSNorm")
    ns = trailing_shape(normalized_shape, tuple(x.shape), "RMSNorm")
    w = affine_param(weight, ns, x, "RMSNorm: weight")
    fused = getattr(torch, "_fused_rms_norm", None)  # the kernel F.rms_norm runs, with its statistics
    if fused is not None and x.device.type in ("cpu", "cuda"):
        y, rstd = fused(x, list(ns), w, eps)
        return finite_result(y, x, "RMSNorm", (rstd,), math.prod(ns), w)
    return finite_result(F.rms_norm(x, ns, w, eps), x, "RMSNorm")


# -- declarations --------------------------------------------------------------

EPS = Param("eps", "float", 1e-5, "Added to the variance before the square root; keeps constant groups finite.", low=0.0)
MOMENTUM = Param(
    "momentum", "float", 0.1, "Running-average factor: running = (1 - m) * running + m * batch; None = cumulative average.",
    low=0.0, high=1.0, optional=True,
)
TRAINING = Param("training", "bool", True, "Training mode normalizes with batch statistics; eval mode with the running ones.")
WEIGHT = Param("weight", "affine", None, "Scale γ applied after normalizing (a number is used for every channel).", optional=True)
BIAS = Param("bias", "affine", None, "Shift β added after scaling (a number is used for every channel).", optional=True)
RUNNING_MEAN = Param("running_mean", "tensor", None, "Running mean buffer (C,), updated in place in training.", widget=False)
RUNNING_VAR = Param("running_var", "tensor", None, "Running variance buffer (C,), updated in place in training.", widget=False)
NORMALIZED_SHAPE = Param(
    "normalized_shape", "shape", None, "The trailing dims normalized together; default: every dim after the first.",
)

register(Variant(
    name="batch_norm", title="BatchNorm", family="norm", fn=batch_norm,
    params=(EPS, MOMENTUM, TRAINING, WEIGHT, BIAS, RUNNING_MEAN, RUNNING_VAR,
            Param("num_batches_tracked", "tensor", None, "Batch counter for momentum=None.", widget=False)),
    pattern="b c h w -> 1 c 1 1", reference="torch.nn.BatchNorm2d(C)",
    summary="One mean and variance per channel, shared by every sample and position of the batch.",
    groups=channel_groups, grid_labels=("", "channel"),
))
register(Variant(
    name="layer_norm", title="LayerNorm", family="norm", fn=layer_norm,
    params=(NORMALIZED_SHAPE, EPS, WEIGHT, BIAS),
    pattern="b c h w -> b 1 1 1", reference="torch.nn.LayerNorm(normalized_shape)",
    summary="One mean and variance per sample, over its trailing normalized_shape dims.",
    groups=sample_groups, affine="trailing", grid_labels=("sample", "position"),
))
register(Variant(
    name="instance_norm", title="InstanceNorm", family="norm", fn=instance_norm,
    params=(EPS, MOMENTUM, TRAINING, WEIGHT, BIAS, RUNNING_MEAN, RUNNING_VAR),
    pattern="b c h w -> b c 1 1", reference="torch.nn.InstanceNorm2d(C)",
    summary="One mean and variance per (sample, channel): every image's own contrast is removed.",
    groups=instance_groups, min_ndim=3,
))
register(Variant(
    name="group_norm", title="GroupNorm", family="norm", fn=group_norm,
    params=(Param("num_groups", "int", None, "Number of channel groups G; must divide C (1 = LayerNorm, C = InstanceNorm).", low=1),
            EPS, WEIGHT, BIAS),
    pattern="b (g c) h w -> b g 1 1 1", reference="torch.nn.GroupNorm(G, C)",
    summary="One mean and variance per (sample, block of C/G channels): between LayerNorm and InstanceNorm.",
    groups=channel_group_groups, grid_labels=("sample", "channel group"),
))
register(Variant(
    name="rms_norm", title="RMSNorm", family="norm", fn=rms_norm,
    params=(NORMALIZED_SHAPE,
            Param("eps", "float", None, "Added to the mean square; None = machine epsilon of the dtype, as nn.RMSNorm.",
                  low=0.0, optional=True),
            WEIGHT),
    pattern="b c h w -> b 1 1 1", reference="torch.nn.RMSNorm(normalized_shape)",
    summary="Divides each sample by its root mean square over the trailing dims; the mean is not removed.",
    groups=sample_groups, stat="rms", affine="trailing", grid_labels=("sample", "position"),
))
