"""The words of ``infer_axes``: what y is, with eps, then the classic mistakes and the equivalences.

One to three sentences per report (``MAX_NOTES`` after the first). The named
layer's own traps come from its declaration (``Variant.traps.infer``).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch

from vnviz.analysis.infer_fit import _IDENTITY, _RMS, _Explicit, _Pair
from vnviz.analysis.infer_names import _capable, _names, _primary
from vnviz.variants.registry import VARIANTS


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
    """The variant's short name with its parameters, e.g. "GroupNorm(3)" or "LayerNorm over (16,)"."""
    return VARIANTS[name].short(**extra)


MAX_NOTES = 2  # sentences after the first one in an explanation, most important first


def _with_explanation(r: Any, p: _Pair, eps_note: str, shape: tuple[int, ...], pairs: list[_Pair],
                      best: float, tol: float) -> Any:
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
    if r.variant is not None:  # the named layer's own traps
        notes += VARIANTS[r.variant].traps.infer_notes(shape, r.axes, r.affine)
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
    return dataclasses.replace(r, explanation=" ".join([first] + notes[:MAX_NOTES]))


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
