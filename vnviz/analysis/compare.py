"""Several variants on one tensor, and the equivalences between variants.

``compare_views`` runs ``explore_view`` once per variant (no new maths): the
Compare page draws one column per variant from it. ``equivalences`` checks the
classic identities (and the classic non-identities) that the variants declare
(``Variant.identities``) numerically on the data at hand, each with a small
heatmap of where the two outputs differ: GroupNorm(C) = InstanceNorm, GroupNorm(1)
= LayerNorm over (C, *) (but not with GroupNorm's per-channel weight), BatchNorm
on one sample in eval ≠ training mode, ClusterNorm with one cluster = BatchNorm.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from vnviz.analysis.histogram import DEFAULT_BINS
from vnviz.analysis.rounding import tolerance
from vnviz.analysis.view import ExploreView, explore_view
from vnviz.errors import InputError
from vnviz.i18n import N_, plural_msg
from vnviz.variants.registry import VARIANTS, Identity, apply

MAX_DIFF_SIDE = 64  # a diff heatmap has at most this many rows and columns
AFFINE_SEED = 1234  # seed of the per-channel weight and bias used by the equivalences

VariantSpec = tuple[str, dict[str, Any]]  # (registry name, keyword parameters)


@dataclass(frozen=True)
class CompareView:
    """One tensor through several variants: an ExploreView per variant (or why it could not run)."""

    layout: str  # layout letters of the input, e.g. "N C H W"
    names: tuple[str, ...]  # registry names, in the order asked for
    params: tuple[dict[str, Any], ...]  # each variant's keyword parameters
    views: tuple[ExploreView | None, ...]  # each variant's summaries; None where it raised
    errors: tuple[str, ...]  # "" where the variant ran, else its InputError sentence (the Msg)
    seconds: float  # wall time of all the views

    @property
    def input(self) -> ExploreView | None:
        """A view that ran (its ``before`` side summarises the input), or None when none did."""
        return next((v for v in self.views if v is not None), None)


def compare_views(
    x: torch.Tensor,
    variants: list[VariantSpec],
    layout: str | None = None,
    bins: int = DEFAULT_BINS,
    percentile: float | None = None,
) -> CompareView:
    """Run every ``(name, params)`` of ``variants`` on ``x`` through ``explore_view``.

    A variant that cannot run on this input (InstanceNorm on (N, C) data, ...)
    gets ``None`` and its one-sentence InputError instead of failing the rest.
    Parameter dicts are copied, so running-statistics buffers are not shared.
    """
    names, params, views, errors = [], [], [], []
    seconds = 0.0
    letters = layout if layout and len(layout.split()) == x.ndim else " ".join(f"d{i}" for i in range(x.ndim))
    for name, p in variants:
        p = dict(p)
        names.append(name)
        params.append(p)
        try:
            view = explore_view(x, name, p, layout=letters, bins=bins, percentile=percentile)
        except InputError as err:
            views.append(None)
            errors.append(err.msg)
            continue
        seconds += view.seconds
        views.append(view)
        errors.append("")
    return CompareView(letters, tuple(names), tuple(params), tuple(views), tuple(errors), seconds)


# -- equivalences ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffMap:
    """Mean |left - right|, downsampled to at most MAX_DIFF_SIDE × MAX_DIFF_SIDE."""

    z: torch.Tensor  # (R, P) float32 mean |difference| per cell
    rows: str  # what the rows index, e.g. "channel"
    cols: str  # what the columns index, e.g. "position (flattened)"
    row_index: torch.Tensor  # (R,) first original index of each row block
    col_index: torch.Tensor  # (P,) first original index of each column block
    over: str  # what the mean runs over, e.g. "the 64 samples"


@dataclass(frozen=True)
class Equivalence:
    """Two variant calls that should (or should not) give the same output, checked on the data."""

    title: str  # e.g. "GroupNorm(C groups) = InstanceNorm"
    left: VariantSpec  # (name, params) of the first call
    right: VariantSpec  # (name, params) of the second call
    left_code: str  # the first call as code, tensors named
    right_code: str  # the second call as code
    max_abs_diff: float  # largest |left - right| over the whole output
    tolerance: float  # what counts as equal: rounding.tolerance(dtype, ...) × max(1, largest |output|)
    diff: DiffMap  # where they differ
    explanation: str  # one sentence: why they are (or are not) equal
    expected: bool  # True when the theory says they are equal
    equal: bool  # max_abs_diff <= tolerance

    @property
    def as_expected(self) -> bool:
        return self.equal == self.expected


def diff_map(a: torch.Tensor, b: torch.Tensor, max_side: int = MAX_DIFF_SIDE) -> DiffMap:
    """|a - b| as a small heatmap: per (channel, position) averaged over samples, or per (sample, channel) for 2-D.

    Computed in torch on the tensors' device; only the ≤ max_side² cells come back.
    """
    d = (a.detach().double() - b.detach().double()).abs() if a.device.type != "mps" else (a - b).abs()
    n, c = d.shape[0], d.shape[1] if d.ndim > 1 else 1
    d = d.reshape(n, c, -1)  # (N, C, P)
    if d.shape[2] > 1:
        z, rows, cols = d.mean(0), N_("channel"), N_("position (flattened)")  # (C, P)
        over = plural_msg("the {n} sample", "the {n} samples", n, n=n)
    else:
        z, rows, cols, over = d[:, :, 0], N_("sample"), N_("channel"), N_("nothing (2-D data: every value shown)")
    r, p = z.shape
    out = (min(r, max_side), min(p, max_side))
    if out != (r, p):
        z = F.adaptive_avg_pool2d(z[None, None], out)[0, 0]  # mean over blocks keeps "mean |diff|"
    row_index = torch.div(torch.arange(out[0]) * r, out[0], rounding_mode="floor")
    col_index = torch.div(torch.arange(out[1]) * p, out[1], rounding_mode="floor")
    return DiffMap(z.float().cpu(), rows, cols, row_index, col_index, over)


def _affine(c: int, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded per-channel weight (around 1) and bias (around 0), as after some training."""
    g = torch.Generator().manual_seed(AFFINE_SEED)
    w = 1.0 + 0.5 * torch.randn(c, generator=g)  # (C,)
    b = 0.3 * torch.randn(c, generator=g)  # (C,)
    return w.to(x.device, x.dtype), b.to(x.device, x.dtype)


def call_code(name: str, params: dict[str, Any]) -> str:
    """``vnviz.apply(...)`` as code, tensors shown by name (w, b) with their shape."""
    parts = []
    for k, v in params.items():
        if isinstance(v, torch.Tensor):
            parts.append(f"{k}={'w' if k == 'weight' else 'b' if k == 'bias' else k}{tuple(v.shape)}")
        else:
            parts.append(f"{k}={v!r}")
    return f"{name}(x{', ' if parts else ''}{', '.join(parts)})"


def _cancellation(x: torch.Tensor) -> float:
    """The largest |mean| / std of x's finest groups the identities use (each (sample, channel) over its positions,
    or, for 2-D x, each channel and each sample): how much a mean's rounding may cost (``rounding.tolerance``)."""
    v = x.detach().to(torch.float64 if x.device.type != "mps" else torch.float32)
    n, c = v.shape[0], v.shape[1]
    parts = [v.reshape(n * c, -1)] if v[0, 0].numel() > 1 else [v.reshape(n, c), v.reshape(n, c).T]
    worst = 0.0
    for rows in parts:
        var, mean = torch.var_mean(rows, dim=1, correction=0)
        worst = max(worst, float((mean.abs() / torch.sqrt(var + 1e-12)).clamp_max(1e6).max()))
    return worst


def _check(title: str, x: torch.Tensor, left: VariantSpec, right: VariantSpec, expected: bool, explanation: str,
           codes: tuple[str, str] | None = None) -> Equivalence:
    ya = apply(left[0], x, **dict(left[1]))
    yb = apply(right[0], x, **dict(right[1]))
    biggest = max(float(ya.detach().abs().max()), float(yb.detach().abs().max()), 1.0)
    tol = tolerance(x.dtype, x.numel(), _cancellation(x)) * biggest
    diff = float((ya.detach().double() - yb.detach().double()).abs().max()) if x.device.type != "mps" \
        else float((ya - yb).abs().max())
    codes = codes or (call_code(*left), call_code(*right))
    return Equivalence(title, left, right, codes[0], codes[1], diff, tol, diff_map(ya, yb), explanation, expected,
                       equal=diff <= tol)


def _identities(x: torch.Tensor) -> list[Identity]:
    """Every variant's declared identities for ``x``, in their declared order."""
    w, b = _affine(x.shape[1], x)
    found = [i for v in VARIANTS.values() if v.identities is not None for i in v.identities(x, w, b)]
    return sorted(found, key=lambda i: i.order)


def equivalences(x: torch.Tensor) -> list[Equivalence]:
    """The classic identities between variants (each variant declares its own), checked on ``x``.

    Pairs that cannot run on this input are left out; ``unavailable(x)`` says
    which and why. The per-channel weight and bias are seeded (``AFFINE_SEED``).
    """
    out = []
    for i in _identities(x):
        if i.unavailable:
            continue
        xi = i.take(x) if i.take is not None else x
        out.append(_check(i.title, xi, i.left, i.right, i.holds, i.explanation))
    return out


def unavailable(x: torch.Tensor) -> list[str]:
    """One sentence per equivalence that ``equivalences`` leaves out for this input, saying why."""
    return [i.unavailable for i in _identities(x) if i.unavailable]
