"""The fitting maths of ``infer_axes``: hypotheses, per-group sums, eps searches and the explicit fit.

A hypothesis is a set of dims to reduce (or GroupNorm's channel blocks). Every
hypothesis is fitted, centered or RMS, with each affine kind in closed form
(least squares on per-(statistic group, affine group) sums, taken once), on a
half-decade eps grid; the fits that could explain y then get a golden-section
search on log eps; the chosen one is recomputed element by element
(``_Explicit``), which gives the residual, the affine and the eps estimate.
Everything is in float64 on x's device (float32 on MPS). Naming the fits is
``infer_names``'s job, words are ``infer_words``'s.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass

import torch

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
