"""Naming the fits of ``infer_axes`` from the declarations, and choosing among them (Occam's razor).

Which variant a set of reduced axes is comes from the variants themselves:
each declares the reductions it can make on a shape (``Variant.reductions``),
and a hypothesis is named by every variant whose reduction groups the elements
the same way. Dims of size 1 may be counted as reduced or not (with N = 1,
BatchNorm is InstanceNorm): names that need fewer of them come first, then the
declared ``precedence``; at rank 3, a layer over the trailing dims comes first,
as (N, L, D) tokens are more common than (N, C, L) signals.
"""
from __future__ import annotations

import functools
from typing import Any

from vnviz.analysis.infer_fit import _CENTERED, _IDENTITY, _RMS, _UNBIASED, _affine_dims, _Hyp, _Pair
from vnviz.variants.registry import Reduction, Variant, norm_variants

_Name = tuple[str, tuple[int, ...], dict[str, Any], tuple[int, ...]]  # name, axes of x, parameters, affine dims


@functools.lru_cache(maxsize=32)
def _table(shape: tuple[int, ...]) -> tuple[tuple[Variant, Reduction], ...]:
    """Every (variant, reduction) the declarations can name on ``shape`` (taken once per shape)."""
    return tuple((v, red) for v in norm_variants(named=True) for red in v.reductions(shape))


def _rank_order(v: Variant, rank: int) -> tuple[int, int]:
    return (0 if rank == 3 and v.affine == "trailing" else 1, v.precedence)


def _names(h: _Hyp, stat: str, shape: tuple[int, ...]) -> list[_Name]:
    """Variants this hypothesis is, preferred first: (name, reduced dims of x, parameters, native affine dims
    of the view)."""
    if stat == _IDENTITY:
        return []
    centered = stat != _RMS
    singles = {d for d, s in enumerate(shape) if s == 1}
    found: dict[str, tuple[tuple, _Name]] = {}
    for v, red in _table(shape):
        if red.centered != centered or red.clusters:
            continue
        if h.groups is not None:  # channel blocks: the view splits dim 1 into (G, C/G)
            if red.split != h.groups:
                continue
            size, native = 0, tuple(e for d in red.affine for e in ((1, 2) if d == 1 else (d + 1,)))
        else:
            reduced = set(red.reduced)
            if red.split is not None or reduced - singles != set(h.reduce):
                continue
            size, native = len(reduced & singles), tuple(d for d in red.affine if shape[d] > 1)
        key = (size, _rank_order(v, len(shape)))
        if v.name not in found or key < found[v.name][0]:
            found[v.name] = (key, (v.name, tuple(red.dims), dict(red.params), native))
    return [n for _, n in sorted(found.values(), key=lambda t: t[0])]


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


def _variance(stat: str) -> str:
    return {_CENTERED: "biased", _UNBIASED: "unbiased"}.get(stat, "none")
