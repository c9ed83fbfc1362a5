"""The words of ``infer_axes``: what y is, with eps, then the classic mistakes and the equivalences.

One to three sentences per report (``MAX_NOTES`` after the first). The named
layer's own traps come from its declaration (``Variant.traps.infer``). Each is
a ``vnviz.i18n.Msg``: English as a str, translated when drawn.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch

from vnviz.analysis.infer_fit import _IDENTITY, _RMS, _Explicit, _Pair
from vnviz.analysis.infer_names import _capable, _names, _primary
from vnviz.i18n import N_, Msg, plural_msg
from vnviz.variants.registry import VARIANTS

AFFINE_WORDS = {  # the kinds of affine infer_axes fits (Candidate.affine, AxisReport.affine), in words
    "none": N_("none"), "scalar": N_("scalar"), "per-channel": N_("per-channel"), "per-element": N_("per-element"),
}


def affine_kind(kind: str) -> str:
    """"per-channel" and the other kinds of affine as words (a Msg)."""
    return AFFINE_WORDS.get(kind, kind)


def _dims(axes: tuple[int, ...]) -> str:
    return Msg("dim {dim}", dim=axes[0]) if len(axes) == 1 else Msg("dims {dims}", dims=tuple(axes))


def _affine_words(kind: str, aff_shape: tuple[int, ...] | None, bias: bool) -> str:
    if kind == "none":
        return N_("no affine")
    if kind == "scalar":
        return N_("one scalar weight and bias") if bias else N_("one scalar weight")
    if bias:
        return Msg("a {kind} affine of shape {shape}", kind=affine_kind(kind), shape=aff_shape)
    return Msg("a {kind} weight (no bias) of shape {shape}", kind=affine_kind(kind), shape=aff_shape)


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
        "absorbed": N_("eps cannot be identified, as the affine absorbs it"),
        "unknown": N_("eps cannot be identified from this pair, as every group's variance is far above it"),
    }[eps_note]
    tail = Msg("(relative residual {residual:.1e}); {eps}.", residual=r.residual, eps=eps_text)
    notes: list[str] = []
    if r.variant is None:
        how = N_("RMS-normalized") if rms else N_("normalized")
        over = Msg("{dims} in {g} channel groups", dims=_dims(r.axes), g=p.h.groups) if p.h.groups else _dims(r.axes)
        first = Msg("y is x {how} over {over}, which is no standard layer, with {affine} {tail}",
                    how=how, over=over, affine=aff, tail=tail)
        kept = [d for d in range(ndim) if d not in r.axes and shape[d] > 1]
        if not rms and not p.h.groups and len(kept) == 1 and kept[0] >= 2:
            j = kept[0]
            notes.append(Msg("It is BatchNorm with the channels in dim {j} instead of dim 1 (channels last: BatchNorm "
                             "on x.movedim({j}, 1) gives the same).", j=j))
        elif not p.h.groups and len(r.axes) == 1 and 1 <= r.axes[0] < ndim - 1:
            j = r.axes[0]
            layer = "RMSNorm" if rms else "LayerNorm"
            notes.append(Msg("It is {layer}({size}) along dim {j}, as on x.movedim({j}, -1) (ConvNeXt's LayerNorm "
                             "for channels-first data).", layer=layer, size=shape[j], j=j))
    else:
        extra = {"normalized_shape": r.normalized_shape} if r.normalized_shape else \
            ({"num_groups": r.num_groups} if r.num_groups else {})
        verb = N_("RMS-normalizes") if rms else N_("normalizes")
        first = Msg("y is {label}: it {verb} over {dims} with {affine} {tail}",
                    label=_label(r.variant, extra), verb=verb, dims=_dims(r.axes), affine=aff, tail=tail)
    if rms and r.affine == "scalar" and r.bias is None and r.weight is not None:
        n = math.prod(p.h.view[d] for d in p.h.reduce)
        if abs(float(r.weight) * math.sqrt(n) - 1) <= 1e-3:
            dim = r.axes[0] if len(r.axes) == 1 else r.axes
            notes.append(Msg("Its weight is 1/sqrt({n}): this is L2 normalization, F.normalize(x, dim={dim}).",
                             n=n, dim=dim))
    # the classic mistakes
    if r.variance == "unbiased":
        n = math.prod(p.h.view[d] for d in p.h.reduce)
        ratio = math.sqrt(n / (n - 1))
        notes.append(Msg("It divides by the unbiased standard deviation (n - 1 = {n1} in the variance), but torch "
                         "normalizes with the biased one (n = {n}): its outputs are {ratio:.4g}x torch's.",
                         n1=n - 1, n=n, ratio=ratio))
    if eps_note == "missing" and rms:
        notes.append(N_("eps is missing: torch adds the dtype's machine epsilon to the mean square by default, and "
                        "without it a constant group divides by zero."))
    elif eps_note == "missing":
        notes.append(N_("eps is missing: torch adds 1e-05 to the variance by default, and without it a constant group "
                        "divides by zero."))
    if r.variant is not None:  # the named layer's own traps
        notes += VARIANTS[r.variant].traps.infer_notes(shape, r.axes, r.affine)
    if r.also:
        others: list[str] = []
        for q in [p] + [q for q in pairs if q is not p and not q.absorbed and q.residual <= best + tol]:
            for n, _, extra, native in _names(q.h, q.stat, shape):
                if n in r.also and _capable(native, q) and _label(n, extra) not in others:
                    others.append(_label(n, extra))
        notes.append(plural_msg("{others} gives the same output here.", "{others} give the same output here.",
                                len(others), others=Msg.join(others, " and ")))
    if p.absorbed:
        notes.append(Msg("Its {affine} affine could undo the normalization by itself, so the pair alone cannot prove "
                         "these axes: any {affine} linear map of x fits as well.", affine=affine_kind(r.affine)))
    return dataclasses.replace(r, explanation=Msg.join([first] + notes[:MAX_NOTES], " "))


def _nothing(chosen: _Pair, top: _Pair, best: float, tol: float, x: torch.Tensor, y: torch.Tensor,
             shape: tuple[int, ...]) -> str:
    """The explanation when no normalization explains y."""
    named = _primary(top, shape)
    where = _label(named[0], named[2]) if named else Msg("normalizing over {dims}", dims=_dims(top.h.axes))
    tail = Msg("the best normalization fit, {where}, leaves a relative residual of {residual:.2g} (tolerance "
               "{tol:.0e}).", where=where, residual=top.residual, tol=tol)
    if chosen.stat == _IDENTITY and best <= tol:
        _, w, b = _Explicit(x, y, chosen).fit(0.0)
        if chosen.kind == "none":
            form = "y = x"
        elif chosen.kind == "scalar":
            a, c = float(w.reshape(-1)[0]), float(b.reshape(-1)[0])
            shift = "" if abs(c) <= tol * float(y.abs().max()) else (f" + {c:.4g}" if c > 0 else f" - {-c:.4g}")
            form = f"y ≈ {a:.4g}·x{shift}"
        else:
            form = N_("y = a·x + b with one (a, b) per channel")
        return Msg("No normalization over any set of axes explains y: {form} is an affine map of x that needs no "
                   "statistics; {tail}", form=form, tail=tail)
    return Msg("No normalization over any set of axes explains y: {tail}", tail=tail)
