"""What the norm variants share: input checks, the affine, running statistics, and small builders.

Every normalization is "give each element a statistic group, normalize each
group to mean 0 and (biased) variance 1 with eps, then apply the optional
affine". Each variant lives in its own module (``batch_norm.py``, ...), checks
its inputs once with the helpers here (one plain sentence per mistake), then
calls torch's fused kernel; its declaration says which axes it reduces, and the
group maps built from that explain and verify, they do not compute.

Dtypes: float16, bfloat16, float32 and float64, as torch's kernels take them;
the output has the input's dtype. For float16/bfloat16 input the kernels
accumulate in float32 (``accumulation_dtype``) and take weight, bias and
running statistics either all in the input's dtype or all in float32
(``param_dtype``: torch's mixed-precision mode, an ``nn.BatchNorm`` kept in
float32 fed half activations), never a mix. Where each kernel rounds, per
device, is said in docs/precision.md.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from vnviz.errors import InputError
from vnviz.i18n import N_, Msg
from vnviz.variants.params import Param, as_ints, named, quote, scalar

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)  # what every norm takes
HALF_DTYPES = (torch.float16, torch.bfloat16)  # accumulated in float32 by torch's kernels
_NUMPY_FLOATS = {"float16": torch.float16, "float32": torch.float32, "float64": torch.float64}


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float16`` as "float16"."""
    return str(dtype).replace("torch.", "")


def accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype torch's norm kernels compute statistics in: float32 for float16/bfloat16 (torch's "opmath"
    type, on the CPU and on CUDA), else the dtype itself."""
    return torch.float32 if dtype in HALF_DTYPES else dtype


def default_eps(dtype: torch.dtype) -> float:
    """The eps that ``eps=None`` (nn.RMSNorm's default) stands for: the machine epsilon of the dtype torch's kernels
    compute in, float32's (1.19e-07) for float16, bfloat16 and float32 input and float64's for float64, on the CPU
    and on CUDA (torch 2.13's kernels and nn.RMSNorm docs; older docs said ``torch.finfo(x.dtype).eps``)."""
    return float(torch.finfo(accumulation_dtype(dtype)).eps)


def _given_dtype(value: Any) -> torch.dtype | None:
    """The float dtype of a tensor (or numpy array) parameter, None for numbers and None."""
    if isinstance(value, torch.Tensor) and value.ndim > 0:
        return value.dtype
    if type(value).__module__ == "numpy" and getattr(value, "ndim", 0) > 0:
        return _NUMPY_FLOATS.get(str(value.dtype))
    return None


def param_dtype(x: torch.Tensor, what: str, **tensors: Any) -> torch.dtype:
    """The dtype weight, bias and running statistics go to the kernel in, as torch decides it.

    For float32/float64 input it is the input's dtype (a tensor of another
    dtype is cast to it, numbers are filled in it). For float16/bfloat16 input
    torch's kernels take every parameter in the input's dtype, or every one in
    float32 (mixed precision: the statistics and the affine then stay float32
    until the output is rounded): float32 when a given tensor is float32, else
    the input's dtype. A mix of the two is refused, as torch refuses it.
    """
    if x.dtype not in HALF_DTYPES:
        return x.dtype
    found = {name: d for name, d in ((n, _given_dtype(v)) for n, v in tensors.items())
             if d in (x.dtype, torch.float32)}
    kinds = set(found.values())
    if len(kinds) > 1:
        listed = Msg.join((f"{name} {dtype_name(d)}" for name, d in found.items()), " and ")
        raise InputError(
            "{what}: with a {dtype} input, torch's kernels take weight, bias and running statistics all in {dtype} "
            "or all in float32, not a mix; got {listed}.",
            what=what, dtype=dtype_name(x.dtype), listed=listed,
        )
    return kinds.pop() if kinds else x.dtype


@contextlib.contextmanager
def dtype_errors(what: str, x: torch.Tensor, dtype: torch.dtype) -> Iterator[None]:
    """Turn torch's refusal of a dtype combination (a RuntimeError naming a scalar type or dtype) into one sentence.

    On the CPU every combination torch refuses is refused earlier (``param_dtype``); a kernel on another device
    may refuse more, e.g. float32 weight next to a float16 input, and then says so here.
    """
    try:
        yield
    except RuntimeError as err:
        text = str(err).lower()
        if "scalar type" not in text and "dtype" not in text:
            raise
        raise InputError(
            "{what}: torch's kernel on {device} refuses a {dtype} input with {param_dtype} weight, bias or running "
            "statistics; give them in {dtype}.",
            what=what, device=x.device.type, dtype=dtype_name(x.dtype), param_dtype=dtype_name(dtype),
        ) from None


def params_dtype(x: torch.Tensor, params: dict[str, Any], what: str) -> torch.dtype:
    """``param_dtype`` of the weight, bias and running statistics found in ``params``."""
    names = ("weight", "bias", "running_mean", "running_var")
    return param_dtype(x, what, **{n: params[n] for n in names if params.get(n) is not None})

# -- shared checks -------------------------------------------------------------


def check_input(x: Any, what: str, min_ndim: int = 2) -> torch.Tensor:
    """Return ``x`` as a float tensor, or raise InputError saying what is wrong.

    Accepts a torch tensor or a numpy array of float16, bfloat16 (tensors
    only: numpy has none), float32 or float64 with at least ``min_ndim`` dims
    and no zero-size dim; the dtype is kept. Values are not scanned here: a
    NaN or Inf reaches its group's statistics, which ``finite_result`` checks.
    """
    if not isinstance(x, torch.Tensor):
        if type(x).__module__ == "numpy" and hasattr(x, "dtype"):
            if x.dtype.kind not in "fiub":
                raise InputError("{what} takes float16, float32 or float64 arrays; got numpy {dtype}.",
                                 what=what, dtype=x.dtype)
            x = torch.from_numpy(x.copy() if any(s < 0 for s in x.strides) else x)
        else:
            raise InputError("{what} takes a torch.Tensor (or numpy array); got {type}.",
                             what=what, type=type(x).__name__)
    if x.dtype not in FLOAT_DTYPES:
        raise InputError("{what} takes float16, bfloat16, float32 or float64 tensors; got {dtype}; convert it "
                         "first, e.g. x.float().",
                         what=what, dtype=dtype_name(x.dtype))
    if x.ndim < min_ndim:
        if min_ndim >= 3:
            raise InputError(
                "{what} needs at least {min_ndim} dims (N, C, L, ...): it averages over the positions of each "
                "(sample, channel); got shape {shape}.",
                what=what, min_ndim=min_ndim, shape=tuple(x.shape),
            )
        raise InputError("{what} needs at least {min_ndim} dims (N, C, ...); got shape {shape}.",
                         what=what, min_ndim=min_ndim, shape=tuple(x.shape))
    if x.numel() == 0:
        raise InputError("{what} needs a non-empty tensor; got shape {shape}.", what=what, shape=tuple(x.shape))
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
    ``|weight| * sqrt(group_size) + |bias|``, which is bounded here against a
    quarter of y's dtype's largest value (16376 in float16, so a float16 output
    that would pass 65504 is caught by the scan). Statistics may come in the
    input's half dtype (torch's CPU kernels round them so) or in float32
    (``_fused_rms_norm``'s rstd, mixed precision): they are summed in at least
    float32, so many finite half values cannot add up to a false Inf. Without
    statistics (eval mode, other devices) the output itself is scanned once.
    """
    ok = False
    if stats and stats[-1].numel():
        # one small reduction and one sync: NaN/Inf in a mean or inverse std shows in their sums, and an
        # inverse std of 0 (an Inf in the group, or an overflow) in their minimum
        first, inv = stats[0].detach(), stats[-1].detach()
        acc = torch.promote_types(inv.dtype, torch.float32)
        sums = [first.sum(dtype=acc), inv.sum(dtype=acc), inv.min().to(acc)]
        total, inv_total, inv_min = torch.stack(sums).tolist()
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
            "{what} got an input with {bad} NaN or Inf value(s), which would spread through their whole group; "
            "replace or drop them first.",
            what=what, bad=bad,
        )
    raise InputError(
        "{what} produced NaN or Inf: a group has (almost) zero variance and eps is too small, or the values "
        "overflow {dtype} (largest {max:.6g}); raise eps or rescale the input.",
        what=what, dtype=dtype_name(y.dtype), max=torch.finfo(y.dtype).max,
    )


def affine_param(value: Any, shape: tuple[int, ...], x: torch.Tensor, what: str,
                 dtype: torch.dtype | None = None) -> torch.Tensor | None:
    """``weight``/``bias`` as a tensor of ``shape`` on x's device, in ``dtype`` (default x's; see ``param_dtype``).

    None means no affine; a number is broadcast (weight=2.0 doubles every
    output) and must fit the dtype; a tensor must have exactly ``shape``.
    """
    if value is None:
        return None
    dtype = x.dtype if dtype is None else dtype
    value = scalar(value) if not (isinstance(value, torch.Tensor) and value.ndim > 0) else value
    if isinstance(value, bool):
        raise InputError("{what} must be None, a number or a tensor of shape {shape}; got {got}.",
                         what=what, shape=shape, got=quote(value))
    if isinstance(value, (int, float)):
        limit = torch.finfo(dtype).max
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number) or abs(number) > limit:
            raise InputError("{what} must be a finite {dtype} number (at most {limit:.6g} in size); got {got}.",
                             what=what, dtype=dtype_name(dtype), limit=limit, got=quote(value))
        return torch.full(shape, number, dtype=dtype, device=x.device)
    if type(value).__module__ == "numpy" and hasattr(value, "dtype"):
        if value.dtype.kind not in "fiu":
            raise InputError("{what} must hold numbers; got a numpy array of {dtype}.", what=what, dtype=value.dtype)
        value = torch.as_tensor(value.copy())
    if not isinstance(value, torch.Tensor):
        raise InputError("{what} must be None, a number or a tensor of shape {shape}; got {type}.",
                         what=what, shape=shape, type=type(value).__name__)
    if tuple(value.shape) != tuple(shape):
        raise InputError("{what} must have shape {shape} to match the input; got {got}.",
                         what=what, shape=shape, got=tuple(value.shape))
    if value.is_complex() or value.dtype == torch.bool:
        raise InputError("{what} must hold real numbers; got {dtype}.", what=what, dtype=dtype_name(value.dtype))
    value = value.to(device=x.device, dtype=dtype)
    if not torch.isfinite(value).all():
        raise InputError("{what} must hold finite {dtype} values only (at most {max:.6g} in size).",
                         what=what, dtype=dtype_name(dtype), max=torch.finfo(dtype).max)
    return value


def running_stat(value: Any, channels: int, x: torch.Tensor, what: str,
                 dtype: torch.dtype | None = None) -> torch.Tensor | None:
    """Check a running-statistics buffer: a float tensor of shape (C,) on x's device, in ``dtype``.

    The buffer is updated in place in training mode, so it is not copied:
    its device must match the input's and its dtype the parameters' (x's, or
    float32 for a float16/bfloat16 input: ``param_dtype``).
    """
    dtype = x.dtype if dtype is None else dtype
    if value is None:
        return None
    if not isinstance(value, torch.Tensor):
        raise InputError("{what} must be a tensor of shape ({channels},); got {type}.",
                         what=what, channels=channels, type=type(value).__name__)
    if tuple(value.shape) != (channels,):
        raise InputError("{what} must have shape ({channels},), one value per channel; got {shape}.",
                         what=what, channels=channels, shape=tuple(value.shape))
    if value.dtype != dtype or value.device != x.device:
        dtypes = dtype_name(dtype)
        if x.dtype in HALF_DTYPES and dtype == x.dtype:
            dtypes = Msg("{dtype} or float32", dtype=dtypes)
        raise InputError(
            "{what} must be {dtypes} on {device} like the input (it is updated in place); got {got_dtype} on "
            "{got_device}.",
            what=what, dtypes=dtypes, device=x.device, got_dtype=dtype_name(value.dtype), got_device=value.device,
        )
    if not torch.isfinite(value).all():
        raise InputError("{what} must hold finite values only.", what=what)
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
            "{what}: normalized_shape must equal the trailing dims of the input shape {shape} (e.g. {examples}); got "
            "{got}.",
            what=what, shape=tuple(shape), examples=Msg.join(map(str, examples), " or "), got=quote(normalized_shape),
        )
    return ns


def _shape_arg(value: Any, what: str) -> tuple[int, ...]:
    return as_ints(value, named(what, "normalized_shape"))  # the parameters' own parser, one rule everywhere


def counter(value: Any, what: str, x: torch.Tensor) -> torch.Tensor | None:
    """Check ``num_batches_tracked``: None or a one-element int64 tensor on x's device."""
    if value is None:
        return None
    if not isinstance(value, torch.Tensor) or value.numel() != 1 or value.dtype != torch.long:
        raise InputError("{what} must be a one-element int64 tensor (updated in place), or None; got {got}.",
                         what=what, got=quote(value))
    if value.device != x.device:
        raise InputError("{what} must be on {device} like the input; got {got}.",
                         what=what, device=x.device, got=value.device)
    return value


def momentum_factor(momentum: float | None, num_batches_tracked: torch.Tensor | None, training: bool) -> float:
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


def resolve_num_groups(num_groups: int | None, channels: int) -> int:
    """``num_groups``, or by default the smallest divisor of C above 1 (2 for even C)."""
    if num_groups is None:
        return next(d for d in range(2, channels + 1) if channels % d == 0) if channels > 1 else 1
    if channels % num_groups:
        divisors = [d for d in range(1, channels + 1) if channels % d == 0]
        listed = ", ".join(map(str, divisors[:12])) + (", ..." if len(divisors) > 12 else "")
        raise InputError(
            "GroupNorm: num_groups must divide the {channels} channels evenly (allowed: {listed}); got {got}.",
            channels=channels, listed=listed, got=quote(num_groups),
        )
    return num_groups


# -- low precision: torch's autocast lists ------------------------------------------------

# The norms among the ops CUDA autocast runs in float32, quoted from torch 2.13's AT_FORALL_FP32 list in
# aten/src/ATen/autocast_mode.h (the "CUDA Ops that can autocast to float32" of the AMP docs' Autocast Op
# Reference): "_(layer_norm) _(native_layer_norm) _(rms_norm) _(group_norm)", beside exp, log, pow, rsqrt, the
# losses, norm and softplus. batch_norm and instance_norm are in no list: autocast leaves them in the input's dtype.
AUTOCAST_FP32_NORMS = ("layer_norm", "native_layer_norm", "rms_norm", "group_norm")


def autocast_note(title: str, op: str, dtype: torch.dtype) -> list[str]:
    """One sentence: what CUDA autocast does with this variant's torch op ``op`` when activations are ``dtype``."""
    if dtype not in HALF_DTYPES:
        return []
    if op in AUTOCAST_FP32_NORMS:
        return [Msg("Under CUDA autocast torch runs {op} in float32 (it is in autocast's float32 list with exp, log, "
                    "pow, rsqrt and the losses): a {dtype} activation is cast up, so {title} statistics are float32 "
                    "and its output float32, whatever the layer's neighbours compute in.",
                    op=op, dtype=dtype_name(dtype), title=title)]
    return [Msg("CUDA autocast leaves {op} in the activations' dtype ({dtype}; it is in none of autocast's lists); its "
                "CUDA kernels (cuDNN's included) keep float32 statistics, and take float32 weight and running "
                "buffers, which is how a float32 nn.{module} layer runs on half activations.",
                op=op, dtype=dtype_name(dtype), module=str(title))]


def rounded_stats_note(title: str, group: str, params: dict[str, Any], dtype: torch.dtype) -> list[str]:
    """BatchNorm's kernel on the CPU (InstanceNorm's too): the statistics are rounded to a half dtype before use."""
    if dtype not in HALF_DTYPES:
        return []
    if any(_given_dtype(params.get(n)) == torch.float32 for n in ("weight", "bias", "running_mean", "running_var")):
        return [Msg("With float32 weight, bias or running statistics torch's {title} kernels keep the statistics in "
                    "float32 and round only the output to {dtype}.", title=title, dtype=dtype_name(dtype))]
    bits = torch.finfo(dtype).bits - (5 if dtype == torch.float16 else 8)  # significand bits, the hidden one included
    return [Msg("On the CPU torch's {title} sums {dtype} values in float32 but rounds each {group}'s mean and inverse "
                "std to {dtype} ({bits} significant bits) before normalizing: where |mean| is r times the std, the "
                "normalized output is off by up to r·ε/2 (ε = {eps:.3g}), however exact the sums were (CUDA, and "
                "float32 weight and bias, keep float32 statistics).",
                title=title, dtype=dtype_name(dtype), group=group, bits=bits, eps=torch.finfo(dtype).eps)]


# -- shared parameter declarations ------------------------------------------------

EPS = Param("eps", "float", 1e-5, N_("Added to the variance before the square root; keeps constant groups finite."),
            low=0.0)
MOMENTUM = Param(
    "momentum", "float", 0.1,
    N_("Running-average factor: running = (1 - m) * running + m * batch; None = cumulative average."),
    low=0.0, high=1.0, optional=True,
)
TRAINING = Param("training", "bool", True,
                 N_("Training mode normalizes with batch statistics; eval mode with the running ones."))
WEIGHT = Param("weight", "affine", None, N_("Scale γ applied after normalizing (a number is used for every channel)."),
               optional=True)
BIAS = Param("bias", "affine", None, N_("Shift β added after scaling (a number is used for every channel)."),
             optional=True)
RUNNING_MEAN = Param("running_mean", "tensor", None, N_("Running mean buffer (C,), updated in place in training."),
                     widget=False)
RUNNING_VAR = Param("running_var", "tensor", None, N_("Running variance buffer (C,), updated in place in training."),
                    widget=False)
NORMALIZED_SHAPE = Param(
    "normalized_shape", "shape", None, N_("The trailing dims normalized together; default: every dim after the first."),
)


# -- small builders for declarations ------------------------------------------------

SPATIAL_DIM = {2: 1, 3: 1, 4: 2, 5: 3}  # input rank -> the k of torch's BatchNorm{k}d / InstanceNorm{k}d
TOKENS = ("N", "L", "D")  # the token layout's letters


def spatial(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The dims after (N, C)."""
    return tuple(range(2, len(shape)))


def letters_list(letters: tuple[str, ...]) -> str:
    """("C",) as "C", ("C", "H", "W") as "[C, H, W]" (how torch's shape arguments are written)."""
    return letters[0] if len(letters) == 1 else "[" + ", ".join(letters) + "]"


def trailing_settings(shape: tuple[int, ...]) -> list[dict[str, Any]]:
    """Every ``normalized_shape`` a trailing variant can take on ``shape``: shape[k:] for k = 1 .. rank-1."""
    return [{"normalized_shape": tuple(shape[k:])} for k in range(1, len(shape))]


def trailing_label(title: str) -> Any:
    """A label function: "LayerNorm over (16,)" when normalized_shape is known, else the title."""
    def label(params: dict[str, Any]) -> str:
        ns = params.get("normalized_shape")
        return Msg("{title} over {shape}", title=title, shape=tuple(ns)) if ns else title
    return label


def has_affine(affine: bool | None, *values: Any) -> bool:
    """A module's affine flag: ``affine`` when given, else whether any of weight / bias is given."""
    return any(v is not None for v in values) if affine is None else bool(affine)


def fill_module(mod: nn.Module, weight: Any = None, bias: Any = None, running_mean: Any = None,
                running_var: Any = None, num_batches_tracked: Any = None, training: bool = True) -> nn.Module:
    """Copy the affine (a number fills it, a tensor is copied) and running buffers into ``mod``; set its mode."""
    like = next(iter(mod.parameters()), None)
    if like is None:
        like = next(iter(mod.buffers()), torch.empty(0))
    with torch.no_grad():
        for name, value in (("weight", weight), ("bias", bias)):
            target = getattr(mod, name, None)
            if target is not None and value is not None:
                target.copy_(affine_param(value, tuple(target.shape), like, name))
        for name, value in (("running_mean", running_mean), ("running_var", running_var),
                            ("num_batches_tracked", num_batches_tracked)):
            if value is not None and getattr(mod, name, None) is not None:
                getattr(mod, name).copy_(value)
    return mod.train(training)


def tokens_trap(title: str, shape: tuple[int, ...], layout: str | None) -> list[str]:
    """The channel-first trap for (N, L, D) tokens: dim 1 holds the positions, not the features."""
    if layout and tuple(layout.split()[:3]) == TOKENS:
        return [Msg("With (N, L, D) tokens, dim 1 holds the {positions} positions, not features: {title} would treat "
                    "every position as a channel; permute to (N, D, L) or choose LayerNorm over D.",
                    positions=shape[1], title=title)]
    return []


def values_per_channel(x: torch.Tensor) -> int:
    """Values of one (sample, channel): the product of the dims after (N, C)."""
    return math.prod(x.shape[2:]) if x.ndim > 2 else 1


# -- one statistic group on its own (``Variant.alone``, what ``explain`` runs) --------------------


def channel_part(x: torch.Tensor, params: dict[str, Any], sel: tuple[Any, ...], what: str,
                 **overrides: Any) -> dict[str, Any]:
    """The parameters with which a per-channel variant computes the group ``x[sel]`` alone as inside x.

    Tensor weight, bias and running statistics are checked against x's C
    channels (the variant's own sentences), then cut to the group's channels
    ``sel[1]`` and copied, so running the group never updates the caller's
    buffers; numbers stay numbers; ``num_batches_tracked`` is dropped (it only
    counts running updates). ``overrides`` replace parameters (GroupNorm's block
    is one group: ``num_groups=1``).
    """
    c = x.shape[1]
    out = {k: v for k, v in params.items() if k != "num_batches_tracked"}
    dtype = params_dtype(x, out, what)
    for name in ("weight", "bias"):
        value = out.get(name)
        if (isinstance(value, torch.Tensor) and value.ndim > 0) or type(value).__module__ == "numpy":
            out[name] = affine_param(value, (c,), x, named(what, name), dtype)[sel[1]].clone()
    for name in ("running_mean", "running_var"):
        if out.get(name) is not None:
            out[name] = running_stat(out[name], c, x, named(what, name), dtype)[sel[1]].clone()
    return {**out, **overrides}


def same_params(x: torch.Tensor, params: dict[str, Any], sel: tuple[Any, ...]) -> dict[str, Any]:
    """The parameters with which a variant whose group spans every dim its parameters index computes the group
    ``x[sel]`` alone: the same ones (LayerNorm's and RMSNorm's normalized dims, their per-element affine
    included; a channels-first LayerNorm's channels)."""
    return dict(params)
