"""Infer the axes a normalization layer reduced over, from an (input, output) pair.

Every normalization is ``y = affine((x - mean) / sqrt(var + eps))`` with the
statistics taken over some set of dims. ``infer_axes`` tries each set in turn:

- every non-empty subset of the dims longer than 1 (BatchNorm ``b c h w -> 1 c 1 1``,
  LayerNorm ``b c h w -> b 1 1 1``, InstanceNorm ``b c h w -> b c 1 1``, ...),
  and GroupNorm's channel blocks ``b (g c) h w -> b g 1 1 1`` for every divisor G of C;
- each centered (mean and variance, the biased and the unbiased estimator) or
  RMS (mean square, nothing removed);
- each with an affine fitted by least squares in closed form: none, one scalar
  pair, one pair per channel or one pair per element of the normalized dims;
- each with eps = 0 and eps on a half-decade log grid in [1e-12, 1]; the fits
  that could explain y then get a golden-section search on log eps.

Everything is accumulated in float64 on x's device (float32 on MPS). With eps
a group's normalized values only change by one factor, so the fits come from
per-(statistic group, affine group) sums taken once per hypothesis and trying
eps values costs little. The chosen fit is then recomputed element by element:
that gives the reported residual and affine, sharpens eps to float64's floor
and tells whether eps can be identified at all.

A fit explains y when its relative residual ||y - fit|| / ||y|| is within
``TOLERANCE`` for the coarser of x's and y's dtypes (1e-6 for float64, 1e-4 for
float32, 5e-3 for float16, 3e-2 for bfloat16 data: a half-precision layer's y is
rounded to about 5e-4 and 4e-3 of its size, so a float32 tolerance would
explain nothing). Pairs keep their dtype through an upload (``load_arrays``). Occam's razor picks
among the fits within tolerance of the best one: fewest affine parameters
first; on a tie a standard layer, then an unusual set of axes, then a layer
whose affine could undo the normalization by itself (BatchNorm's per-channel
affine can make any per-channel linear map of x), then "no normalization at
all" (y = a·x + b, which is how y = 2x + 1 is told from a normalization).

The maths is in ``infer_fit``, the naming from the variants' declarations in
``infer_names``, the words in ``infer_words``.
"""
from __future__ import annotations
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from vnviz.analysis.infer_fit import (
    FLOAT_DTYPES, TOLERANCE, _CENTERED, _IDENTITY, _RMS, _UNBIASED, _affine_shape,
    _estimate_eps, _first_pass, _fit_identity, _hypotheses, _Pair, _second_pass, _YStats,
)
from vnviz.analysis.infer_names import _capable, _names, _occam, _primary, _variance
from vnviz.analysis.infer_words import _nothing, _with_explanation
from vnviz.analysis.stats import acc_dtype
from vnviz.errors import InputError

MAX_NUMEL = 2**24  # largest input accepted (16,777,216 elements)
MAX_AXES = 6  # most dims longer than 1 (2**6 - 1 = 63 subsets to try)




@dataclass(frozen=True)
class Candidate:
    """One hypothesis tried: a set of axes, a statistic and its best affine."""

    name: str | None  # the vnviz variant it matches, or None (unusual axes or no normalization)
    axes: tuple[int, ...]  # dims of x reduced for the statistics; () is "no normalization" (y = affine(x))
    num_groups: int | None  # GroupNorm's G for channel-block hypotheses, else None
    residual: float  # relative residual ||y - fit|| / ||y|| at the best eps
    affine: str  # "none", "scalar", "per-channel" or "per-element"
    centered: bool  # True: mean removed and divided by the std; False: RMS (or no normalization)
    variance: str  # "biased", "unbiased" or "none" (RMS and no normalization)
    eps: float  # the eps the residual was computed with
    params: int  # affine parameters fitted (weights and biases); Occam counts these
    absorbed: bool  # the affine alone could undo the normalization, so this fit proves no axes


@dataclass(frozen=True)
class AxisReport:
    """What ``infer_axes`` found: the axes, the variant, its affine, eps and the evidence."""

    axes: tuple[int, ...] = ()  # dims reduced for the statistics, sorted; () when nothing explains y
    variant: str | None = None  # the vnviz variant (a name of vnviz.VARIANTS), or None when no variant is it
    num_groups: int | None = None  # the channel blocks G of a variant that has them (GroupNorm), else None
    residual: float = math.nan  # ||y - fit|| / ||y|| of this fit; with no variant, of the best normalization
    affine: str = "none"  # "none", "scalar", "per-channel" or "per-element"
    affine_shape: tuple[int, ...] | None = None  # shape of weight/bias: () scalar, (C,) channel, normalized shape
    weight: torch.Tensor | None = None  # fitted weight (float64, CPU), None without affine
    bias: torch.Tensor | None = None  # fitted bias (float64, CPU), None without affine or when it is ~0
    eps: float | None = None  # eps estimate (0.0: eps is missing), None when the pair cannot tell it
    centered: bool = False  # the mean is removed (False for RMSNorm and when nothing explains y)
    variance: str = "none"  # "biased", "unbiased" (torch uses biased) or "none" (RMS / no fit)
    normalized_shape: tuple[int, ...] | None = None  # for layer_norm and rms_norm: the trailing dims
    also: tuple[str, ...] = ()  # other variants that give the same output on this pair
    explanation: str = ""  # one to three sentences for the UI
    tolerance: float = math.nan  # the residual below which a fit counts as explaining y
    candidates: tuple[Candidate, ...] = ()  # every hypothesis tried, best first


# -- validation ------------------------------------------------------------------------


def _as_tensor(value: Any, what: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        t = value.detach()
    elif type(value).__module__ == "numpy" and hasattr(value, "dtype") and hasattr(value, "shape"):
        if value.dtype.kind != "f" or value.dtype.itemsize > 8:
            raise InputError(
                "infer_axes: {what} must hold floats (float16, float32 or float64); got numpy {dtype}.",
                what=what, dtype=value.dtype
            )
        t = torch.from_numpy(value.copy() if any(s < 0 for s in value.strides) else value)
    else:
        raise InputError("infer_axes: {what} must be a torch.Tensor or a numpy array; got {type}.",
                         what=what, type=type(value).__name__)
    if t.dtype not in FLOAT_DTYPES:
        raise InputError(
            "infer_axes: {what} must be a float tensor (float16, bfloat16, float32 or float64); got {dtype}.",
            what=what, dtype=str(t.dtype).replace('torch.', '')
        )
    return t


def _check(x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = _as_tensor(x, "x"), _as_tensor(y, "y")
    shape = tuple(x.shape)
    if tuple(y.shape) != shape:
        raise InputError("infer_axes: x and y must have the same shape; got {shape} and {got}.",
                         shape=shape, got=tuple(y.shape))
    if x.ndim < 2:
        raise InputError("infer_axes: x needs at least 2 dims (N, C, ...); got shape {shape}.", shape=shape)
    if x.numel() == 0:
        raise InputError("infer_axes: x and y must not be empty; got shape {shape}.", shape=shape)
    if x.numel() > MAX_NUMEL:
        raise InputError(
            "infer_axes takes at most {max:,} elements; got shape {shape} with {numel:,}.",
            max=MAX_NUMEL, shape=shape, numel=x.numel()
        )
    long_dims = sum(1 for s in shape if s > 1)
    if long_dims > MAX_AXES:
        raise InputError(
            "infer_axes handles at most {max} dims longer than 1; got shape {shape} with {long_dims}.",
            max=MAX_AXES, shape=shape, long_dims=long_dims
        )
    for t, what in ((x, "x"), (y, "y")):
        if not bool(torch.isfinite(t).all()):
            bad = int((~torch.isfinite(t)).sum())
            raise InputError("infer_axes: {what} holds {bad} NaN or Inf value(s); give finite values only.",
                             what=what, bad=bad)
    if bool((x == x.reshape(-1)[0]).all()):
        raise InputError(
            "infer_axes: x is constant, so no normalization can be told apart; got every value {value!r}.",
            value=float(x.reshape(-1)[0])
        )
    if not bool((y != 0).any()):
        raise InputError("infer_axes: y is all zeros, so there is nothing to explain; give the layer's real output.")
    return x, y


def _candidate(p: _Pair, shape: tuple[int, ...]) -> Candidate:
    named = _primary(p, shape)
    name, axes, extra = named if named else (None, p.h.axes, {"num_groups": p.h.groups})
    return Candidate(
        name=name, axes=axes, num_groups=extra.get("num_groups"), residual=p.residual, affine=p.kind,
        centered=p.stat in (_CENTERED, _UNBIASED), variance=_variance(p.stat), eps=p.eps, params=p.params,
        absorbed=p.absorbed,
    )




# -- the public function --------------------------------------------------------------------


def infer_axes(x: Any, y: Any) -> AxisReport:
    r"""Find which axes a layer normalized over, from its input ``x`` and output ``y``.

    Tries every set of dims (and GroupNorm's channel blocks), centered or RMS,
    biased or unbiased variance, with eps fitted and an affine fitted by least
    squares (none, scalar, per channel, per element), and keeps the simplest
    fit within ``tolerance`` of the best one:

    .. math:: \hat y = w \cdot \frac{x - \mathrm{E}_S[x]}{\sqrt{\mathrm{Var}_S[x] + \epsilon}} + b,
              \quad \text{residual} = \frac{\lVert y - \hat y \rVert}{\lVert y \rVert}

    Args:
        x: the layer's input ``(N, C, *)`` (tokens ``(N, L, D)`` work too), a float
            torch tensor or numpy array, finite, at most 16,777,216 elements.
        y: the layer's output, same shape (moved to x's device).

    Returns:
        An :class:`AxisReport`: ``axes`` (reduced dims), ``variant`` (a vnviz name or
        None), ``num_groups``, ``residual``, the affine and eps estimates, the
        equivalent variants in ``also``, a plain-words ``explanation`` and every
        hypothesis in ``candidates``.

    Shape: ``x`` and ``y`` ``(N, C, *)``, at least 2 dims, at most 6 dims longer than 1.
    Raises InputError for anything else, or a constant ``x``.
    """
    x, y = _check(x, y)
    shape = tuple(x.shape)
    tol = max(TOLERANCE[x.dtype], TOLERANCE[y.dtype])
    dt = acc_dtype(x.device)
    xd = x.to(dt).contiguous()
    yd = y.to(device=x.device, dtype=dt).contiguous()
    ys = _YStats(xd, yd)

    pairs: list[_Pair] = []
    for h in _hypotheses(shape):
        for stat in (_CENTERED, _RMS):
            pairs.extend(_first_pass(ys, h, stat))
    identity = _fit_identity(xd, ys)
    pairs = _second_pass(ys, pairs, min(p.residual for p in pairs + identity), tol)
    every = pairs + identity
    best = min(p.residual for p in every)
    chosen = _occam(every, best, tol, shape)
    candidates = _candidates(pairs, identity, best, tol, shape)

    if chosen.stat == _IDENTITY or best > tol:
        real = [p for p in pairs if not p.absorbed] or pairs
        top = min(real, key=lambda p: p.residual)
        return AxisReport(
            residual=top.residual, explanation=_nothing(chosen, top, best, tol, xd, yd, shape),
            tolerance=tol, candidates=candidates,
        )
    return _report(chosen, pairs, best, tol, xd, yd, shape, candidates)


def _candidates(pairs: list[_Pair], identity: list[_Pair], best: float, tol: float,
                shape: tuple[int, ...]) -> tuple[Candidate, ...]:
    """One candidate per (hypothesis, statistic): its simplest affine within tolerance of its best."""
    groups: dict[tuple, list[_Pair]] = {}
    for p in pairs + identity:
        groups.setdefault((p.h, p.stat), []).append(p)
    out = []
    for ps in groups.values():
        local = min(p.residual for p in ps)
        out.append(_candidate(_occam(ps, local, tol, shape), shape))
    return tuple(sorted(out, key=lambda c: (c.residual, c.params)))


def _report(p: _Pair, pairs: list[_Pair], best: float, tol: float, x: torch.Tensor, y: torch.Tensor,
            shape: tuple[int, ...], candidates: tuple[Candidate, ...]) -> AxisReport:
    named = _primary(p, shape)
    name, axes, extra = named if named else (None, p.h.axes, {"num_groups": p.h.groups})
    eps, eps_note, (res, w, b) = _estimate_eps(p, x, y, tol)
    also = _also(p, pairs, best, tol, shape, name)
    weight = bias = None
    aff_shape = _affine_shape(p, shape)
    if w is not None:
        weight = w.reshape(aff_shape).cpu()
        bias = b.reshape(aff_shape).cpu()
        y_rms = float(torch.sqrt(y.pow(2).mean()))
        if float(bias.abs().max()) <= tol * y_rms:
            bias = None
    report = AxisReport(
        axes=tuple(axes), variant=name, num_groups=extra.get("num_groups"), residual=res, affine=p.kind,
        affine_shape=aff_shape, weight=weight, bias=bias, eps=eps, centered=p.stat in (_CENTERED, _UNBIASED),
        variance=_variance(p.stat), normalized_shape=extra.get("normalized_shape"), also=also,
        tolerance=tol, candidates=candidates,
    )
    return _with_explanation(report, p, eps_note, shape, pairs, best, tol)


def _also(p: _Pair, pairs: list[_Pair], best: float, tol: float, shape: tuple[int, ...],
          name: str | None) -> tuple[str, ...]:
    """Other variants that fit as well: the same statistics under another name, or other axes that tie."""
    out: list[str] = []
    for q in [p] + [q for q in pairs if q is not p and not q.absorbed and q.residual <= best + tol]:
        for n, _, _, native in _names(q.h, q.stat, shape):
            if n != name and n not in out and _capable(native, q):
                out.append(n)
    return tuple(out)
