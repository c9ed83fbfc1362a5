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
``TOLERANCE`` (1e-4 for float32, 1e-6 for float64 data). Occam's razor picks
among the fits within tolerance of the best one: fewest affine parameters
first; on a tie a standard layer, then an unusual set of axes, then a layer
whose affine could undo the normalization by itself (BatchNorm's per-channel
affine can make any per-channel linear map of x), then "no normalization at
all" (y = a·x + b, which is how y = 2x + 1 is told from a normalization).
"""
from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Any

import torch

from vnviz.analysis.stats import acc_dtype
from vnviz.errors import InputError

MAX_NUMEL = 2**24  # largest input accepted (16,777,216 elements)
MAX_AXES = 6  # most dims longer than 1 (2**6 - 1 = 63 subsets to try)
TOLERANCE = {  # a fit explains y when its relative residual is at most this (coarser of x's and y's dtypes)
    torch.float64: 1e-6,
    torch.float32: 1e-4,
    torch.float16: 5e-3,
    torch.bfloat16: 3e-2,
}
FLOAT_DTYPES = tuple(TOLERANCE)
TORCH_EPS = 1e-5  # torch's default eps for batch/layer/instance/group norm
EPS_LOG10 = (-12.0, 0.0)  # eps is searched in [1e-12, 1]
EPS_GRID_STEP = 0.5  # decades between the first-pass grid points
EPS_REFINE_WIDTH = 1e-8  # stop refining at this bracket width, in decades
MIN_PER_AFFINE = 3  # fewer values per affine (weight, bias) pair than this and that affine is not tried
MAX_REFINED = 24  # at most this many fits (best on the grid first) get their eps searched past the grid
COARSE_WIDTH = 2e-3  # decades: every such fit is searched this far first ...
COARSE_SLACK = 5e-3  # ... and only those this close to explaining y further

AFFINES = ("none", "scalar", "per-channel", "per-element")
_CENTERED, _UNBIASED, _RMS, _IDENTITY = "centered", "unbiased", "rms", "identity"


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
    variant: str | None = None  # "batch_norm", "layer_norm", "instance_norm", "group_norm", "rms_norm" or None
    num_groups: int | None = None  # GroupNorm's G when variant is "group_norm"
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
                f"infer_axes: {what} must hold floats (float16, float32 or float64); got numpy {value.dtype}."
            )
        t = torch.from_numpy(value.copy() if any(s < 0 for s in value.strides) else value)
    else:
        raise InputError(f"infer_axes: {what} must be a torch.Tensor or a numpy array; got {type(value).__name__}.")
    if t.dtype not in FLOAT_DTYPES:
        raise InputError(
            f"infer_axes: {what} must be a float tensor (float16, bfloat16, float32 or float64); "
            f"got {str(t.dtype).replace('torch.', '')}."
        )
    return t


def _check(x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = _as_tensor(x, "x"), _as_tensor(y, "y")
    shape = tuple(x.shape)
    if tuple(y.shape) != shape:
        raise InputError(f"infer_axes: x and y must have the same shape; got {shape} and {tuple(y.shape)}.")
    if x.ndim < 2:
        raise InputError(f"infer_axes: x needs at least 2 dims (N, C, ...); got shape {shape}.")
    if x.numel() == 0:
        raise InputError(f"infer_axes: x and y must not be empty; got shape {shape}.")
    if x.numel() > MAX_NUMEL:
        raise InputError(
            f"infer_axes takes at most {MAX_NUMEL:,} elements; got shape {shape} with {x.numel():,}."
        )
    long_dims = sum(1 for s in shape if s > 1)
    if long_dims > MAX_AXES:
        raise InputError(
            f"infer_axes handles at most {MAX_AXES} dims longer than 1; got shape {shape} with {long_dims}."
        )
    for t, what in ((x, "x"), (y, "y")):
        if not bool(torch.isfinite(t).all()):
            bad = int((~torch.isfinite(t)).sum())
            raise InputError(f"infer_axes: {what} holds {bad} NaN or Inf value(s); give finite values only.")
    if bool((x == x.reshape(-1)[0]).all()):
        raise InputError(
            f"infer_axes: x is constant, so no normalization can be told apart; got every value "
            f"{float(x.reshape(-1)[0])!r}."
        )
    if not bool((y != 0).any()):
        raise InputError("infer_axes: y is all zeros, so there is nothing to explain; give the layer's real output.")
    return x, y


# -- hypotheses --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hyp:
    """A set of dims to reduce, on x viewed as ``view`` (GroupNorm splits C into (G, C/G))."""

    view: tuple[int, ...]  # shape x is reshaped to
    reduce: tuple[int, ...]  # dims of the view reduced for the statistics (empty: no normalization)
    channel: tuple[int, ...]  # dims of the view a per-channel affine is indexed by (() when C = 1)
    element: bool  # a per-element affine over ``reduce`` is tried (reduce is trailing)
    axes: tuple[int, ...]  # the reduced dims of x
    groups: int | None  # GroupNorm's G, for channel-block hypotheses


def _hypotheses(shape: tuple[int, ...]) -> list[_Hyp]:
    r = len(shape)
    long = [d for d in range(r) if shape[d] > 1]
    out = []
    for size in range(1, len(long) + 1):
        for subset in itertools.combinations(long, size):
            s = set(subset)
            kept = [d for d in long if d not in s]
            channel = (1,) if shape[1] > 1 else ()
            if len(kept) == 1 and kept[0] >= 2:  # all but one dim: BatchNorm with the channels there
                channel = (kept[0],)
            trailing = min(s) >= 1 and all(shape[d] == 1 or d in s for d in range(min(s), r))
            out.append(_Hyp(shape, tuple(sorted(s)), channel, trailing, tuple(sorted(s)), None))
    c = shape[1]
    rest = tuple(shape[2:])
    for g in range(2, c):
        if c % g:
            continue
        view = (shape[0], g, c // g) + rest
        reduce = tuple(d for d in range(2, len(view)) if view[d] > 1)
        out.append(_Hyp(view, reduce, (1, 2), False, tuple(range(1, r)), g))
    return out


_Name = tuple[str, tuple[int, ...], dict[str, Any], tuple[int, ...]]  # name, axes of x, parameters, affine dims


def _names(h: _Hyp, stat: str, shape: tuple[int, ...]) -> list[_Name]:
    """Variants this hypothesis is, preferred first: (name, reduced dims of x, parameters, native affine dims
    of the view).

    Dims of size 1 may be counted as reduced or not (with N = 1, BatchNorm is InstanceNorm); names that need
    fewer of them come first. For rank 3 LayerNorm over the last dim comes before InstanceNorm1d (tokens).
    """
    if stat == _IDENTITY:
        return []
    if h.groups is not None:
        return [("group_norm", h.axes, {"num_groups": h.groups}, (1, 2))] if stat != _RMS else []
    r = len(shape)
    singles = [d for d in range(r) if shape[d] == 1]
    spatial = set(range(2, r))
    chan = (1,) if shape[1] > 1 else ()
    found: dict[str, _Name] = {}
    for size in range(len(singles) + 1):
        for extra in itertools.combinations(singles, size):
            full = set(h.reduce) | set(extra)
            axes = tuple(sorted(full))
            k = min(full)
            trailing = k >= 1 and full == set(range(k, r))
            here: dict[str, _Name] = {}
            if stat == _RMS:
                if trailing:
                    here["rms_norm"] = ("rms_norm", axes, {"normalized_shape": tuple(shape[k:])}, h.reduce)
            else:
                if full == {0} | spatial:
                    here["batch_norm"] = ("batch_norm", axes, {}, chan)
                if r >= 3 and full == spatial:
                    here["instance_norm"] = ("instance_norm", axes, {}, chan)
                    here["group_norm"] = ("group_norm", tuple(range(1, r)), {"num_groups": shape[1]}, chan)
                if trailing:
                    here["layer_norm"] = ("layer_norm", axes, {"normalized_shape": tuple(shape[k:])}, h.reduce)
                    if k == 1:
                        here.setdefault("group_norm", ("group_norm", tuple(range(1, r)), {"num_groups": 1}, chan))
            order = ("batch_norm", "layer_norm", "instance_norm", "group_norm", "rms_norm") if r == 3 else \
                ("batch_norm", "instance_norm", "layer_norm", "group_norm", "rms_norm")
            for n in order:
                if n in here:
                    found.setdefault(n, here[n])
    return list(found.values())


# -- sums and fits ------------------------------------------------------------------------


def _affine_dims(h: _Hyp, kind: str) -> tuple[int, ...] | None:
    """Dims of the view that index the affine of ``kind`` (None: not tried for this hypothesis)."""
    if kind in ("none", "scalar"):
        return ()
    if kind == "per-channel":
        if h.element and set(h.channel) == set(h.reduce):
            return None  # the same affine as per-element, which is how LayerNorm and RMSNorm name it
        return h.channel or None
    return h.reduce if h.element else None


def _params(h: _Hyp, kind: str) -> int:
    if kind == "none":
        return 0
    dims = _affine_dims(h, kind) or ()
    return 2 * math.prod(h.view[d] for d in dims)


class _YStats:
    """x, y, their shared products, and y's mean and centered sum of squares per affine group (cached)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        self.x, self.y = x, y
        self.x2, self.xy = x * x, x * y  # used by every RMS hypothesis
        self.total = float((y * y).sum())
        # (view, dims) -> y's mean per affine group, values per group, sum of squares about the group means
        self.cache: dict[tuple, tuple[torch.Tensor, int, float]] = {}

    def get(self, view: tuple[int, ...], dims: tuple[int, ...]) -> tuple[torch.Tensor, int, float]:
        """y's statistics per affine group, the groups indexed by ``dims`` of the view."""
        key = (view, dims)
        if key not in self.cache:
            yv = self.y.reshape(view)
            other = tuple(d for d in range(len(view)) if d not in dims)
            if other:
                mean = yv.mean(other, keepdim=True)
                yss = float((yv - mean).square_().sum())
            else:
                mean, yss = yv, 0.0
            self.cache[key] = (mean.reshape(-1), math.prod(view[d] for d in other), yss)
        return self.cache[key]


class _Stat:
    """x normalized one way (eps = 0) and the per-cell sums every affine fit needs.

    With eps the normalized value of group g is x̂ · t_g, t_g = 1 / sqrt(1 + eps / var_g),
    so the sums of x̂, x̂² and x̂·y over each affine group, for any eps, follow from
    sums over (statistic group, affine group) cells taken once here.
    """

    def __init__(self, ys: _YStats, h: _Hyp, stat: str):
        self.h, self.stat = h, stat
        view, dims = h.view, h.reduce
        xv, yv = ys.x.reshape(view), ys.y.reshape(view)
        self.centered = stat != _RMS
        if self.centered:  # two passes: exact to rounding
            mean = xv.mean(dims, keepdim=True)
            dev = xv - mean
            sq = dev * dev
            var = sq.mean(dims, keepdim=True)
            pos = var > 1e-24 * mean * mean  # a constant group (up to rounding) normalizes to 0
            dy = dev * yv
        else:
            dev, sq, dy = xv, ys.x2.reshape(view), ys.xy.reshape(view)
            var = sq.mean(dims, keepdim=True)  # mean square per group
            pos = var > 0
        self.n = math.prod(view[d] for d in dims)  # values per statistic group
        self.inv_var = torch.where(pos, 1 / torch.where(pos, var, torch.ones_like(var)), torch.zeros_like(var))
        scale = self.inv_var.sqrt()  # x̂ = dev * scale with eps = 0
        # cells = statistic groups: sums of x̂ (0 when centered), x̂² (n) and x̂·y
        sx = torch.zeros_like(var) if self.centered else dev.sum(dims, keepdim=True) * scale
        self.kcells = (sx, pos.to(var.dtype) * self.n, dy.sum(dims, keepdim=True) * scale)
        kept = {d for d in range(len(view)) if d not in dims}
        self.ccells = None  # cells = (statistic group, channel), when the channel is reduced
        if h.channel and not set(h.channel) <= kept:
            red = tuple(d for d in dims if d not in h.channel)
            self.ccells = tuple(t.sum(red, keepdim=True) * f if red else t * f
                                for t, f in ((dev, scale), (sq, self.inv_var), (dy, scale)))
        self.full = None  # (groups, n) x̂, x̂², x̂·y for the per-element affine
        if h.element:
            self.full = tuple((t * f).reshape(-1, self.n) for t, f in ((dev, scale), (sq, self.inv_var), (dy, scale)))

    def curves(self, points: dict[tuple[str, str], torch.Tensor], ys: _YStats) -> dict[tuple[str, str], list[float]]:
        """Relative residual of each (statistic, affine) key at each of its eps values.

        For the unbiased statistic the eps values are the biased model's: the
        residual returned belongs to eps / c², c² = (n - 1) / n. Keys given the
        same tensor share its per-group factors.
        """
        h = self.h
        uniq: dict[int, torch.Tensor] = {id(v): v for v in points.values()}
        offsets, start = {}, 0
        for k, v in uniq.items():
            offsets[k] = (start, start + v.numel())
            start += v.numel()
        eps = torch.cat(list(uniq.values())) if len(uniq) > 1 else next(iter(uniq.values()))
        e = eps.reshape((-1,) + (1,) * self.inv_var.ndim)
        t2 = (e * self.inv_var).add_(1).reciprocal_()  # (E, *groups) squared factor per group
        t = t2.sqrt()
        tk, t2k = t.reshape(t.shape[0], -1), t2.reshape(t.shape[0], -1)
        rss: dict[tuple[str, str], torch.Tensor] = {}
        s0_cache: dict[int, tuple] = {}
        for key, v in points.items():
            label, kind = key
            lo, hi = offsets[id(v)]
            if kind in ("none", "scalar"):
                if id(v) not in s0_cache:
                    kx, kxx, kxy = (c.reshape(-1, 1) for c in self.kcells)
                    sx = None if self.centered else tk[lo:hi] @ kx
                    s0_cache[id(v)] = (sx, t2k[lo:hi] @ kxx, tk[lo:hi] @ kxy)
                s0 = s0_cache[id(v)]
                if kind == "none":
                    c = math.sqrt((self.n - 1) / self.n) if label == _UNBIASED else 1.0
                    rss[key] = torch.add(s0[2], s0[1], alpha=-0.5 * c).mul_(-2 * c).add_(ys.total)[:, 0]
                else:
                    rss[key] = _rss(*s0, ys.get(h.view, ()))
            elif kind == "per-channel":
                cells = self.ccells if self.ccells is not None else self.kcells
                zero = self.ccells is None and self.centered  # cells = groups: each group's sum of x̂ is 0
                sc = [None if (i == 0 and zero) else _contract(f[lo:hi], c, h.channel)
                      for i, (f, c) in enumerate(zip((t, t2, t), cells))]
                rss[key] = _rss(*sc, ys.get(h.view, h.channel))
            else:
                f = self.full
                se = (tk[lo:hi] @ f[0], t2k[lo:hi] @ f[1], tk[lo:hi] @ f[2])
                rss[key] = _rss(*se, ys.get(h.view, h.reduce))
        norm = math.sqrt(ys.total)
        return {k: [math.sqrt(max(r, 0.0)) / norm for r in v.tolist()] for k, v in rss.items()}


_LETTERS = "abcdefghijklmnopqrstuvwx"


def _contract(t: torch.Tensor, cells: torch.Tensor, keep: tuple[int, ...]) -> torch.Tensor:
    """Sum of t (E, *groups) times cells (*cells) over every dim but ``keep``: (E, prod kept sizes)."""
    nd = cells.ndim
    ts = [d for d in range(nd) if t.shape[1 + d] > 1]
    cs = [d for d in range(nd) if cells.shape[d] > 1]
    ks = [d for d in keep if cells.shape[d] > 1 or t.shape[1 + d] > 1]
    sub = f"z{''.join(_LETTERS[d] for d in ts)},{''.join(_LETTERS[d] for d in cs)}->z{''.join(_LETTERS[d] for d in ks)}"
    tt = t.reshape((t.shape[0],) + tuple(t.shape[1 + d] for d in ts))
    cc = cells.reshape(tuple(cells.shape[d] for d in cs))
    return torch.einsum(sub, tt, cc).reshape(t.shape[0], -1)


def _moments(xv: torch.Tensor, dims: tuple[int, ...], stat: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x minus its group mean (x itself for RMS), the group's biased variance (mean square) and whether it is
    above zero; two passes, so exact to rounding."""
    if stat == _RMS:
        var = (xv * xv).mean(dims, keepdim=True)
        return xv, var, var > 0
    mean = xv.mean(dims, keepdim=True)
    dev = xv - mean
    var = (dev * dev).mean(dims, keepdim=True)
    return dev, var, var > 1e-24 * mean * mean  # a constant group (up to rounding) normalizes to 0


def _rss(sx: torch.Tensor | None, sxx: torch.Tensor, sxy: torch.Tensor, ystats: tuple) -> torch.Tensor:
    """Residual sum of squares (E,) of the least-squares fit y = w x̂ + b in each affine group.

    sx, sxx, sxy: (E, groups) sums of x̂, x̂², x̂·y per affine group (sx None: all 0).
    """
    ymean, n, yss = ystats
    if sx is None:
        varx, cov = sxx.clamp_min(1e-9 * n), sxy
    else:
        varx = torch.addcmul(sxx, sx, sx, value=-1.0 / n).clamp_min_(1e-9 * n)  # a constant x̂ explains nothing
        cov = torch.addcmul(sxy, sx, ymean, value=-1.0)
    return (cov * cov).div_(varx).sum(1).neg_().add_(yss)


def _grid(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """The first-pass eps grid: 0, then 10**logs."""
    logs = torch.arange(EPS_LOG10[0], EPS_LOG10[1] + 1e-9, EPS_GRID_STEP, dtype=dtype)
    return torch.cat([torch.zeros(1, dtype=dtype), 10.0 ** logs]), logs


_PHI = (math.sqrt(5) - 1) / 2  # golden-section ratio


class _Golden:
    """A golden-section search for the best log10(eps) of one fit, one new point per step."""

    def __init__(self, lo: float, hi: float, best: float, best_eps: float):
        self.a, self.b = lo, hi  # the bracket, in log10(eps)
        self.c, self.d = hi - _PHI * (hi - lo), lo + _PHI * (hi - lo)  # the interior points
        self.fc = self.fd = None  # residuals there, once known
        self.best, self.best_eps = best, best_eps  # the best residual seen and its eps

    def pending(self) -> list[float]:
        """The points to evaluate next."""
        return [v for v, f in ((self.c, self.fc), (self.d, self.fd)) if f is None]

    def update(self, values: list[float]) -> None:
        pts = self.pending()
        for pt, f in zip(pts, values):
            if f < self.best:
                self.best, self.best_eps = f, 10.0 ** pt
            if pt == self.c and self.fc is None:
                self.fc = f
            else:
                self.fd = f
        if self.fc is None or self.fd is None:
            return
        if self.fc <= self.fd:  # the minimum is in [a, d]
            self.b, self.d, self.fd = self.d, self.c, self.fc
            self.c, self.fc = self.b - _PHI * (self.b - self.a), None
        else:  # in [c, b]
            self.a, self.c, self.fc = self.c, self.d, self.fd
            self.d, self.fd = self.a + _PHI * (self.b - self.a), None

    @property
    def width(self) -> float:
        return self.b - self.a


def _search(st: _Stat, ys: _YStats, searches: dict[tuple[str, str], _Golden], width: float) -> None:
    """Step every search, all keys of one statistic in one evaluation a step, until each bracket is narrower
    than ``width`` decades."""
    dtype, device = st.inv_var.dtype, st.inv_var.device
    while True:
        live = {k: g for k, g in searches.items() if g.width > width}
        if not live:
            return
        pts = {k: g.pending() for k, g in live.items()}
        res = st.curves({k: 10.0 ** torch.tensor(p, dtype=dtype, device=device) for k, p in pts.items()}, ys)
        for k, g in live.items():
            g.update(res[k])


@dataclass(frozen=True)
class _Pair:
    """One fit: a hypothesis, a statistic and an affine kind, with its best residual and eps so far."""

    h: _Hyp  # the hypothesis
    stat: str  # _CENTERED, _UNBIASED, _RMS or _IDENTITY
    kind: str  # affine kind
    residual: float  # at eps
    eps: float  # best eps of this model (0 for the identity)
    bracket: tuple[float, float] | None  # log10 bracket of the biased model's eps still to search, None when done
    bound: float  # the lowest residual searching that bracket could reach
    params: int  # affine parameters
    absorbed: bool  # the affine could undo the normalization


def _absorbed(h: _Hyp, kind: str) -> bool:
    """Whether each statistic group lies inside one affine group, so the affine can undo the normalization."""
    if kind == "none" or not h.reduce:
        return False
    adims = set(_affine_dims(h, kind) or ())
    kept = {d for d in range(len(h.view)) if d not in h.reduce and h.view[d] > 1}
    return kept <= adims


def _wanted(h: _Hyp, stat: str, ys: _YStats) -> set[tuple[str, str]]:
    """The (statistic, affine) pairs tried for this hypothesis."""
    out = set()
    for label in ((_CENTERED, _UNBIASED) if stat == _CENTERED else (_RMS,)):
        for kind in (("none",) if label == _UNBIASED else AFFINES):
            adims = _affine_dims(h, kind)
            if adims is None or (kind != "none" and ys.get(h.view, adims)[1] < MIN_PER_AFFINE):
                continue
            out.add((label, kind))
    return out


def _c2(h: _Hyp, label: str) -> float:
    """eps of the unbiased model = eps of the biased one / c²."""
    if label != _UNBIASED:
        return 1.0
    n = math.prod(h.view[d] for d in h.reduce)
    return (n - 1) / n


def _first_pass(ys: _YStats, h: _Hyp, stat: str) -> list[_Pair]:
    """Every wanted (statistic, affine) of one hypothesis on the eps grid: its best grid point, the bracket
    around it and a lower bound for what searching that bracket could reach."""
    st = _Stat(ys, h, stat)
    wanted = _wanted(h, stat, ys)
    grid, logs = _grid(ys.x.dtype)
    g = grid.to(ys.x.device)
    out = []
    for (label, kind), res in st.curves({k: g for k in wanted}, ys).items():
        i = min(range(len(res)), key=res.__getitem__)
        absorbed = _absorbed(h, kind)
        bracket, bound = None, res[i]
        if i > 0 and not absorbed:
            lo = float(logs[i - 2]) if i >= 2 else EPS_LOG10[0] - EPS_GRID_STEP
            hi = float(logs[i]) if i < len(logs) else EPS_LOG10[1]
            # between grid points the residual cannot fall by more than twice its steepest step next to the
            # best point (a V-shaped minimum between two points is the worst case)
            steep = max(res[j] - res[i] for j in (i - 1, min(i + 1, len(res) - 1)))
            bracket, bound = (lo, hi), res[i] - 2 * steep
        out.append(_Pair(h, label, kind, res[i], float(grid[i]) / _c2(h, label), bracket, bound,
                         _params(h, kind), absorbed))
    return out


def _second_pass(ys: _YStats, pairs: list[_Pair], best: float, tol: float) -> list[_Pair]:
    """Search eps past the grid for the fits that could explain y (or come within tolerance of the best).

    First every such fit to COARSE_WIDTH decades, then only those still within reach to EPS_REFINE_WIDTH.
    """
    limit = min(best, tol) + tol
    todo = sorted((p for p in pairs if p.bracket is not None and p.bound <= limit), key=lambda p: p.residual)
    done: dict[int, _Pair] = {}
    by_hyp: dict[tuple[_Hyp, str], list[_Pair]] = {}
    for p in todo[:MAX_REFINED]:
        by_hyp.setdefault((p.h, _RMS if p.stat == _RMS else _CENTERED), []).append(p)
    searches: dict[int, _Golden] = {}
    for (h, stat), ps in by_hyp.items():
        group = {(p.stat, p.kind): _Golden(*p.bracket, p.residual, p.eps * _c2(h, p.stat)) for p in ps}
        _search(_Stat(ys, h, stat), ys, group, COARSE_WIDTH)
        searches.update({id(p): group[(p.stat, p.kind)] for p in ps})
    reach = min(min([best] + [g.best for g in searches.values()]), tol) + tol + COARSE_SLACK
    for (h, stat), ps in by_hyp.items():
        # eps known to COARSE_WIDTH decades leaves at most ~1e-3 of residual to gain: the rest cannot fit
        group = {(p.stat, p.kind): searches[id(p)] for p in ps if searches[id(p)].best <= reach}
        if group:  # the hypothesis' sums are taken again rather than kept: they can be large
            _search(_Stat(ys, h, stat), ys, group, EPS_REFINE_WIDTH)
    for p in todo[:MAX_REFINED]:
        g = searches[id(p)]
        done[id(p)] = dataclasses.replace(p, residual=g.best, eps=g.best_eps / _c2(p.h, p.stat), bracket=None,
                                          bound=g.best)
    return [done.get(id(p), p) for p in pairs]


def _fit_identity(x: torch.Tensor, ys: _YStats) -> list[_Pair]:
    """y = affine(x) without any normalization: the "does it normalize at all?" hypotheses."""
    shape = tuple(x.shape)
    h = _Hyp(shape, (), (1,) if shape[1] > 1 else (), False, (), None)
    out = []
    norm = math.sqrt(ys.total)
    for kind in ("none", "scalar", "per-channel"):
        adims = _affine_dims(h, kind)
        if adims is None:
            continue
        yst = ys.get(shape, adims)
        if kind != "none" and yst[1] < MIN_PER_AFFINE:
            continue
        other = tuple(d for d in range(len(shape)) if d not in adims)
        sx, sxx, sxy = [t.sum(other).reshape(1, -1) if other else t.reshape(1, -1) for t in (x, ys.x2, ys.xy)]
        if kind == "none":
            r = math.sqrt(max(ys.total - 2 * float(sxy.sum()) + float(sxx.sum()), 0.0)) / norm
        else:
            r = math.sqrt(max(float(_rss(sx, sxx, sxy, yst)), 0.0)) / norm
        out.append(_Pair(h, _IDENTITY, kind, r, 0.0, None, r, _params(h, kind), False))
    return out


# -- the explicit fit of the chosen hypothesis ---------------------------------------------


class _Explicit:
    """Pair ``p`` fitted element by element: ``fit(eps)`` gives (residual, weight, bias).

    Its group statistics are taken once (two passes); each eps then costs a few passes.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, p: _Pair):
        h = self.h = p.h
        self.p = p
        self.xv, self.yv = x.reshape(h.view), y.reshape(h.view)
        self.dev = self.var = self.pos = None
        if p.stat != _IDENTITY:
            self.dev, self.var, self.pos = _moments(self.xv, h.reduce, p.stat)
            if p.stat == _UNBIASED:
                n = math.prod(h.view[d] for d in h.reduce)
                self.var = self.var * (n / (n - 1))
        self.other = None
        if p.kind != "none":
            adims = _affine_dims(h, p.kind) or ()
            self.other = tuple(d for d in range(len(h.view)) if d not in adims)
            self.ym = self.yv.mean(self.other, keepdim=True)
            self.yc = self.yv - self.ym
        self.ynorm = float(torch.linalg.vector_norm(self.yv))

    def fit(self, eps: float) -> tuple[float, torch.Tensor | None, torch.Tensor | None]:
        if self.dev is None:
            xh = self.xv
        else:
            denom = torch.where(self.pos, self.var + eps, torch.ones_like(self.var))
            xh = self.dev * torch.where(self.pos, denom.rsqrt(), torch.zeros_like(denom))  # constant groups give 0
        if self.other is None:
            return float(torch.linalg.vector_norm(self.yv - xh)) / self.ynorm, None, None
        other = self.other
        xm = xh.mean(other, keepdim=True)
        xc = xh - xm
        varx = (xc * xc).mean(other, keepdim=True)
        cov = (xc * self.yc).mean(other, keepdim=True)
        ok = varx > 1e-18
        w = torch.where(ok, cov / torch.where(ok, varx, torch.ones_like(varx)), torch.zeros_like(varx))
        b = self.ym - w * xm
        res = float(torch.linalg.vector_norm(self.yc - w * xc)) / self.ynorm  # y - (w x̂ + b)
        return res, w, b


def _affine_shape(p: _Pair, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    if p.kind == "none":
        return None
    if p.kind == "scalar":
        return ()
    if p.kind == "per-channel":
        return (shape[1],) if p.h.groups is not None else tuple(p.h.view[d] for d in p.h.channel)
    return tuple(p.h.view[d] for d in p.h.reduce)


# -- naming and choosing -----------------------------------------------------------------


def _capable(native: tuple[int, ...], p: _Pair) -> bool:
    """Whether a variant whose affine is indexed by ``native`` dims can hold the fitted affine."""
    if p.kind == "none":
        return True
    return set(_affine_dims(p.h, p.kind) or ()) <= set(native)


def _primary(p: _Pair, shape: tuple[int, ...]) -> tuple[str, tuple[int, ...], dict[str, Any]] | None:
    """The variant that best names pair ``p``: the one whose own affine is the fitted one, else the first capable."""
    names = [n for n in _names(p.h, p.stat, shape) if _capable(n[3], p)]
    if not names:
        return None
    adims = set(_affine_dims(p.h, p.kind) or ())
    exact = [n for n in names if p.kind in ("per-channel", "per-element") and set(n[3]) == adims]
    return (exact or names)[0][:3]


def _tier(p: _Pair, shape: tuple[int, ...]) -> int:
    """Ties in parameter count go to: a standard layer, an unusual axis set, an absorbed fit of a standard
    layer with its own affine shape, no normalization, anything else."""
    if p.stat == _IDENTITY:
        return 3
    named = _primary(p, shape) is not None
    if not p.absorbed:
        return 0 if named else 1
    if named and p.kind in ("per-channel", "per-element"):
        adims = set(_affine_dims(p.h, p.kind) or ())
        if any(set(n[3]) == adims for n in _names(p.h, p.stat, shape) if _capable(n[3], p)):
            return 2
    return 4


_STAT_RANK = {_CENTERED: 0, _IDENTITY: 0, _RMS: 1, _UNBIASED: 2}  # last tie-break: the usual statistic first


def _occam(pairs: list[_Pair], best: float, tol: float, shape: tuple[int, ...]) -> _Pair:
    fits = [p for p in pairs if p.residual <= best + tol]
    return min(fits, key=lambda p: (p.params, _tier(p, shape), _STAT_RANK[p.stat], p.residual))


def _candidate(p: _Pair, shape: tuple[int, ...]) -> Candidate:
    named = _primary(p, shape)
    name, axes, extra = named if named else (None, p.h.axes, {"num_groups": p.h.groups})
    return Candidate(
        name=name, axes=axes, num_groups=extra.get("num_groups"), residual=p.residual, affine=p.kind,
        centered=p.stat in (_CENTERED, _UNBIASED), variance=_variance(p.stat), eps=p.eps, params=p.params,
        absorbed=p.absorbed,
    )


def _variance(stat: str) -> str:
    return {_CENTERED: "biased", _UNBIASED: "unbiased"}.get(stat, "none")


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


def _polish(ex: _Explicit, e: float, fit: tuple) -> tuple[float, tuple]:
    """Sharpen eps with the element-by-element residual: the vertex of a parabola through three points.

    The per-group sums pin eps down only as far as their ~1e-8 residual floor;
    near its best eps the squared residual is a parabola in eps, so a few vertex
    steps with shrinking brackets reach float64's floor.
    """
    for h in (0.25, 1e-2, 3e-4, 1e-5):
        f0, f1, f2 = ex.fit(e * (1 - h))[0] ** 2, fit[0] ** 2, ex.fit(e * (1 + h))[0] ** 2
        curve = f0 - 2 * f1 + f2
        if not curve > 0:
            break
        step = 0.5 * (f0 - f2) / curve * (e * h)
        new = e + max(-e * h * 4, min(e * h * 4, step))  # stay near the bracket
        trial = ex.fit(new)
        if new > 0 and trial[0] <= fit[0]:
            e, fit = new, trial
    return e, fit


def _estimate_eps(p: _Pair, x: torch.Tensor, y: torch.Tensor, tol: float) -> tuple[float | None, str, tuple]:
    """The eps estimate (None when the pair cannot tell it), why, and the explicit fit at it."""
    ex = _Explicit(x, y, p)
    default = TORCH_EPS if p.stat != _RMS else float(torch.finfo(torch.float32).eps)
    if p.absorbed:  # eps cannot matter: report the affine as it would be with torch's default eps
        return None, "absorbed", ex.fit(default)
    e = p.eps
    fit = ex.fit(e)
    if 0 < e < 1e-10:
        at0 = ex.fit(0.0)
        if at0[0] <= fit[0] * 1.01 + 1e-15:
            e, fit = 0.0, at0
    if e == 0.0:
        if ex.fit(default)[0] > 1.5 * fit[0] + 1e-12:
            return 0.0, "missing", fit
        return None, "unknown", fit
    r_lo, r_hi = ex.fit(e / 2)[0], ex.fit(e * 2)[0]
    if min(r_lo, r_hi) <= 1.5 * fit[0] + 1e-12:
        return None, "unknown", fit
    if tol <= TOLERANCE[torch.float64] or fit[0] > tol / 10:  # worth sharpening past the per-group sums' floor
        e, fit = _polish(ex, e, fit)
    return e, "found", fit


def _also(p: _Pair, pairs: list[_Pair], best: float, tol: float, shape: tuple[int, ...],
          name: str | None) -> tuple[str, ...]:
    """Other variants that fit as well: the same statistics under another name, or other axes that tie."""
    out: list[str] = []
    for q in [p] + [q for q in pairs if q is not p and not q.absorbed and q.residual <= best + tol]:
        for n, _, _, native in _names(q.h, q.stat, shape):
            if n != name and n not in out and _capable(native, q):
                out.append(n)
    return tuple(out)


# -- words ------------------------------------------------------------------------------------

_TITLES = {"batch_norm": "BatchNorm", "layer_norm": "LayerNorm", "instance_norm": "InstanceNorm",
           "group_norm": "GroupNorm", "rms_norm": "RMSNorm"}


def _dims(axes: tuple[int, ...]) -> str:
    return f"dim {axes[0]}" if len(axes) == 1 else f"dims {tuple(axes)}"


def _affine_words(kind: str, aff_shape: tuple[int, ...] | None, bias: bool) -> str:
    if kind == "none":
        return "no affine"
    if kind == "scalar":
        return "one scalar weight and bias" if bias else "one scalar weight"
    what = "affine" if bias else "weight (no bias)"
    return f"a {kind} {what} of shape {aff_shape}"


def _label(name: str, extra: dict[str, Any]) -> str:
    if "normalized_shape" in extra:
        return f"{_TITLES[name]} over {tuple(extra['normalized_shape'])}"
    if "num_groups" in extra:
        return f"GroupNorm({extra['num_groups']})"
    return _TITLES[name]


MAX_NOTES = 2  # sentences after the first one in an explanation, most important first


def _with_explanation(r: AxisReport, p: _Pair, eps_note: str, shape: tuple[int, ...], pairs: list[_Pair],
                      best: float, tol: float) -> AxisReport:
    """The report with its explanation: what y is (with eps), then the classic mistakes and equivalences."""
    ndim = len(shape)
    rms = p.stat == _RMS
    aff = _affine_words(r.affine, r.affine_shape, r.bias is not None)
    eps_text = f"eps ≈ {r.eps:.2g}" if eps_note == "found" else {
        "missing": "eps = 0",
        "absorbed": "eps cannot be identified, as the affine absorbs it",
        "unknown": "eps cannot be identified from this pair, as every group's variance is far above it",
    }[eps_note]
    tail = f"(relative residual {r.residual:.1e}); {eps_text}."
    notes: list[str] = []
    if r.variant is None:
        how = "RMS-normalized" if rms else "normalized"
        blocks = f" in {p.h.groups} channel groups" if p.h.groups else ""
        first = f"y is x {how} over {_dims(r.axes)}{blocks}, which is no standard layer, with {aff} {tail}"
        kept = [d for d in range(ndim) if d not in r.axes and shape[d] > 1]
        if not rms and not blocks and len(kept) == 1 and kept[0] >= 2:
            j = kept[0]
            notes.append(f"It is BatchNorm with the channels in dim {j} instead of dim 1 "
                         f"(channels last: BatchNorm on x.movedim({j}, 1) gives the same).")
        elif not blocks and len(r.axes) == 1 and 1 <= r.axes[0] < ndim - 1:
            j = r.axes[0]
            layer = "RMSNorm" if rms else "LayerNorm"
            notes.append(f"It is {layer}({shape[j]}) along dim {j}, as on x.movedim({j}, -1) "
                         f"(ConvNeXt's LayerNorm for channels-first data).")
    else:
        extra = {"normalized_shape": r.normalized_shape} if r.normalized_shape else \
            ({"num_groups": r.num_groups} if r.num_groups else {})
        verb = "RMS-normalizes" if rms else "normalizes"
        first = f"y is {_label(r.variant, extra)}: it {verb} over {_dims(r.axes)} with {aff} {tail}"
    if rms and r.affine == "scalar" and r.bias is None and r.weight is not None:
        n = math.prod(p.h.view[d] for d in p.h.reduce)
        if abs(float(r.weight) * math.sqrt(n) - 1) <= 1e-3:
            dim = r.axes[0] if len(r.axes) == 1 else r.axes
            notes.append(f"Its weight is 1/sqrt({n}): this is L2 normalization, F.normalize(x, dim={dim}).")
    # the classic mistakes
    if r.variance == "unbiased":
        n = math.prod(p.h.view[d] for d in p.h.reduce)
        ratio = math.sqrt(n / (n - 1))
        notes.append(f"It divides by the unbiased standard deviation (n - 1 = {n - 1} in the variance), but torch "
                     f"normalizes with the biased one (n = {n}): its outputs are {ratio:.4g}x torch's.")
    if eps_note == "missing":
        default = "the dtype's machine epsilon to the mean square" if rms else "1e-05 to the variance"
        notes.append(f"eps is missing: torch adds {default} by default, and without it a constant group "
                     f"divides by zero.")
    if r.variant == "batch_norm" and ndim == 3:
        notes.append("If x holds (N, L, D) tokens, this is BatchNorm1d fed tokens: it reduces over dims (0, 2), "
                     "so it normalizes each position over the batch and features, not each feature over dims (0, 1).")
    elif r.variant == "batch_norm" and ndim >= 4 and r.affine in ("none", "scalar"):
        notes.append(f"If this was meant as InstanceNorm, it also averages over the batch (dim 0); "
                     f"InstanceNorm reduces over {_dims(tuple(range(2, ndim)))} only.")
    if r.also:
        others: list[str] = []
        for q in [p] + [q for q in pairs if q is not p and not q.absorbed and q.residual <= best + tol]:
            for n, _, extra, native in _names(q.h, q.stat, shape):
                if n in r.also and _capable(native, q) and _label(n, extra) not in others:
                    others.append(_label(n, extra))
        notes.append(f"{' and '.join(others)} {'gives' if len(others) == 1 else 'give'} the same output here.")
    if p.absorbed:
        notes.append(f"Its {r.affine} affine could undo the normalization by itself, so the pair alone cannot prove "
                     f"these axes: any {r.affine} linear map of x fits as well.")
    return _replace(r, explanation=" ".join([first] + notes[:MAX_NOTES]))


def _replace(r: AxisReport, **changes: Any) -> AxisReport:
    fields = dict(r.__dict__)
    fields.update(changes)
    return AxisReport(**fields)


def _nothing(chosen: _Pair, top: _Pair, best: float, tol: float, x: torch.Tensor, y: torch.Tensor,
             shape: tuple[int, ...]) -> str:
    """The explanation when no normalization explains y."""
    named = _primary(top, shape)
    where = _label(named[0], named[2]) if named else f"normalizing over {_dims(top.h.axes)}"
    head = "No normalization over any set of axes explains y"
    tail = f"the best normalization fit, {where}, leaves a relative residual of {top.residual:.2g} " \
           f"(tolerance {tol:.0e})."
    if chosen.stat == _IDENTITY and best <= tol:
        _, w, b = _Explicit(x, y, chosen).fit(0.0)
        if chosen.kind == "none":
            form = "y = x"
        elif chosen.kind == "scalar":
            a, c = float(w.reshape(-1)[0]), float(b.reshape(-1)[0])
            shift = "" if abs(c) <= tol * float(y.abs().max()) else (f" + {c:.4g}" if c > 0 else f" - {-c:.4g}")
            form = f"y ≈ {a:.4g}·x{shift}"
        else:
            form = "y = a·x + b with one (a, b) per channel"
        return f"{head}: {form} is an affine map of x that needs no statistics; {tail}"
    return f"{head}: {tail}"
