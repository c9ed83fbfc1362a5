"""Figures for the Slice & Mask page: small summaries in, ``go.Figure`` out.

Two steps, as everywhere in vnviz. ``vnviz.analysis.matrix_view`` computes
the summaries in torch (``slice_view``, ``mask_view``: pooled heatmaps and
binned curves whose size does not grow with the matrix); the builders here turn
those (and ``vnviz.analysis.matrix``'s ``MaskEffects``, already small) into
figures and table rows: layout and traces only.

Non-finite entries (a fill with ``-inf``) never enter the colour scale: the
heatmap's own colours are the finite values, and a second trace paints the
``-inf`` / ``+inf`` / NaN cells in their own colours, with a legend entry.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from vnviz.analysis.matrix import MaskEffects, SliceFacts
from vnviz.analysis.matrix_view import Heatmap, MaskView, Profile, SliceView, SoftmaxRows  # noqa: F401  (page)
from vnviz.figures.norm import AFTER_COLOR, BEFORE_COLOR, FONT_SIZE, TITLE_COLOR
from vnviz.figures.text import markup, size_texts
from vnviz.i18n import N_, Msg

CLIP_QUANTILE = 0.995  # the shared value scale may end at this quantile of |value| (the rest saturates) ...
CLIP_RATIO = 2.0  # ... when the largest |value| is more than this many times that quantile
HEATMAP_HEIGHT = 430  # px, a pair of heatmaps
SMALL_HEIGHT = 300  # px, a row of line/bar panels
MASK_HEIGHT = 380  # px, the mask picture
GAP_CELLS = 40  # draw 1px gaps between cells up to this many cells per side
TICKS = 8  # about this many tick labels per heatmap axis
SQUARE_UP_TO = 4  # square cells unless one side of the matrix is more than this many times the other
VALUE_SCALE = "RdBu_r"  # values: diverging around 0, shared by before and after
PROB_SCALE = "Blues"  # probabilities: 0 is white; coloured by √p so that small leaks show
PROB_TICKS = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0)  # colour-bar ticks of the probability heatmaps
KEEP_COLOR = "#1f6fb4"  # a kept entry of the mask (AFTER_COLOR)
REMOVE_COLOR = "#eeeeee"  # a removed entry of the mask
MULTIPLY_COLOR = "#e07b39"  # multiply-by-zero curves
FILL_COLOR = AFTER_COLOR  # fill-with--inf curves
NONFINITE = (  # (field of Heatmap, legend label, colour): non-finite cells, painted over the colour scale
    ("neg_inf", N_("−inf (filled)"), "#2b2b2b"),
    ("pos_inf", "+inf", "#e6b800"),
    ("nan", "NaN", "#c000c0"),
)
NAN_ROW_COLOR = "#c000c0"  # a NaN row of the plain softmax (a fully masked row)
X, Y = N_("x (source)"), N_("y (result)")  # the columns of facts_rows
YES, NO = N_("yes"), N_("no")


def facts_rows(f: SliceFacts) -> list[dict[str, str]]:
    """The memory facts of x and y as table rows (property, x, y)."""
    return [
        {"": N_("shape"), X: str(f.source_shape), Y: str(f.shape)},
        {"": N_("strides (elements)"), X: str(f.source_strides), Y: str(f.strides)},
        {"": N_("storage offset"), X: str(f.source_storage_offset), Y: str(f.storage_offset)},
        {"": N_("contiguous"), X: YES, Y: YES if f.is_contiguous else NO},
        {"": N_("shares x's memory"), X: "—", Y: YES if f.shares_memory else NO},
        {"": N_("is a view of x"), X: "—", Y: YES if f.is_view else N_("no (a copy)")},
    ]


def forms_rows(forms: list[tuple[str, str, str]]) -> list[dict[str, str]]:
    """SLICING_FORMS as table rows."""
    return [{N_("expression"): e, N_("result"): kind, N_("why"): why} for e, kind, why in forms]


# -- figures -----------------------------------------------------------------------


def _layout(fig: go.Figure, height: int, scale: float = 1.0, **kw: Any) -> go.Figure:
    fig.update_layout(height=int(height * scale), margin=dict(l=10, r=10, t=int(60 * scale), b=10),
                      font=dict(size=int(FONT_SIZE * scale)), plot_bgcolor="white", **kw)
    size_texts(fig, scale)
    fig.update_annotations(font=dict(size=int(FONT_SIZE * scale), color=TITLE_COLOR))  # panel titles, readable
    return fig


def _f32(t: torch.Tensor) -> np.ndarray:
    """A matrix as float32 numpy: plotly sends it as a compact typed array, NaN = a gap."""
    return t.detach().to(torch.float32).cpu().numpy()


def _increasing(labels: tuple[int, ...]) -> bool:
    return all(a < b for a, b in zip(labels, labels[1:]))


def _nice(x: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that is at least ``x``."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if step * m >= x:
                return step * m
        step *= 10


def _axis(labels: tuple[int, ...], pooled: bool) -> tuple[list[int], dict[str, Any]]:
    """Coordinates and ticks of a heatmap axis.

    Consecutive labels (every entry) and pooled blocks are the coordinates
    themselves, so hover and ticks say the source row/column; any other
    selection (a step, an index list in any order) is drawn at 0, 1, ... so
    its cells stay square, with the source indices as tick labels.
    """
    n = len(labels)
    if n and _increasing(labels) and (pooled or labels[-1] - labels[0] == n - 1):
        step = _nice((labels[-1] - labels[0] + 1) / TICKS)  # whole rows/columns, at most ~TICKS ticks
        return list(labels), dict(tickmode="linear", tick0=0, dtick=step)
    every = max(1, math.ceil(n / TICKS))
    pick = list(range(0, n, every))
    return list(range(n)), dict(tickmode="array", tickvals=pick, ticktext=[str(labels[i]) for i in pick])


def _block_note(h: Heatmap) -> str:
    return "" if h.block == (1, 1) else Msg(" (blocks of {rows}×{cols} averaged)", rows=h.block[0], cols=h.block[1])


def _value_limit(*maps: Heatmap) -> tuple[float, bool]:
    """The colour scale's ±limit shared by ``maps``, and whether it clips the largest values.

    The limit is the largest |value|, unless that is more than CLIP_RATIO times
    the CLIP_QUANTILE of |value|: then the quantile, so that a few huge entries
    (an outlier row times an outlier column) saturate instead of washing the
    rest out.
    """
    vals = torch.cat([m.z[m.z.isfinite()].abs().reshape(-1) for m in maps if m.z.numel()] or [torch.zeros(1)])
    top = float(vals.max())
    lim = float(torch.quantile(vals.double(), CLIP_QUANTILE)) if vals.numel() > 1 else top
    if lim <= 0 or top <= CLIP_RATIO * lim:  # nothing far out: the scale covers every value
        return (top if top > 0 else 1.0), False
    return lim, True


def _painted(h: Heatmap, attr: str) -> torch.Tensor | None:
    """Where a non-finite kind covers at least half of a block, or None when it covers none."""
    frac = getattr(h, attr)
    hit = frac >= 0.5 if frac.numel() else None
    return hit if hit is not None and bool(hit.any()) else None


def _heat(fig: go.Figure, h: Heatmap, name: str, row: int, col: int, coloraxis: str, fmt: str = ".4g",
          sqrt: bool = False) -> None:
    """One heatmap panel: the finite values on ``coloraxis``, non-finite cells painted over.

    With ``sqrt`` the colours follow √z (small values show) while hover reads z itself.
    """
    gap = 1 if max(h.z.shape) <= GAP_CELLS else 0
    x, xticks = _axis(h.cols, h.block[1] > 1)
    y, yticks = _axis(h.rows, h.block[0] > 1)
    where = N_("row %{y}, col %{x}") if (x, y) == (list(h.cols), list(h.rows)) else N_("cell (%{y}, %{x}) of the result")
    value = f"%{{customdata:{fmt}}}" if sqrt else f"%{{z:{fmt}}}"
    fig.add_trace(go.Heatmap(
        z=_f32(h.z.clamp_min(0).sqrt() if sqrt else h.z), x=x, y=y, coloraxis=coloraxis, xgap=gap, ygap=gap,
        name=name, customdata=_f32(h.z) if sqrt else None, hovertemplate=markup("{name}: {where}: {value}<extra></extra>", name=name, where=where, value=value),
    ), row=row, col=col)
    for attr, label, color in NONFINITE:  # painted over, outside the colour scale
        hit = _painted(h, attr)
        if hit is not None:
            fig.add_trace(go.Heatmap(
                z=_f32(torch.where(hit, 1.0, math.nan)), x=x, y=y, colorscale=[[0, color], [1, color]],
                showscale=False, xgap=gap, ygap=gap, name=label,
                hovertemplate=markup("{name}: {where}: {label}<extra></extra>", name=name, where=where, label=label),
            ), row=row, col=col)
    span_y = (y[-1] - y[0] + 1) if y else 1
    span_x = (x[-1] - x[0] + 1) if x else 1
    square = {}
    if max(span_x, span_y) <= SQUARE_UP_TO * min(span_x, span_y):  # square cells: a matrix looks like one
        square = dict(scaleanchor=fig.data[-1].xaxis or "x", constrain="domain", constraintoward="top")
    # the row title only left of the first panel: beside the second it would sit on the first heatmap
    fig.update_yaxes(autorange="reversed", title_text=N_("row") if col == 1 else None, row=row, col=col, **yticks,
                     **square)
    fig.update_xaxes(title_text=N_("column"), row=row, col=col, constrain="domain", **xticks)


def _legend_marks(fig: go.Figure, maps: tuple[Heatmap, ...]) -> None:
    """A legend entry (a coloured square) for each kind of non-finite cell that is painted."""
    for attr, label, color in NONFINITE:
        if any(_painted(m, attr) is not None for m in maps):
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=label, showlegend=True,
                                     marker=dict(symbol="square", size=14, color=color)))


def before_after(before: Heatmap, after: Heatmap, titles: tuple[str, str] = (N_("before"), N_("after")),
                 scale: float = 1.0, height: int = HEATMAP_HEIGHT) -> go.Figure:
    """Two matrices side by side on ONE diverging colour scale (symmetric around 0).

    ``-inf``/``+inf``/NaN cells are painted in their own colours with a legend
    entry; they never stretch the scale.
    """
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=(
        markup("{title} {r}×{c}{note}", title=titles[0], r=before.shape[0], c=before.shape[1], note=_block_note(before)),
        markup("{title} {r}×{c}{note}", title=titles[1], r=after.shape[0], c=after.shape[1], note=_block_note(after))))
    if before.z.numel() == 0 or after.z.numel() == 0:
        return _layout(fig, height, scale)
    _heat(fig, before, titles[0], 1, 1, "coloraxis")
    _heat(fig, after, titles[1], 1, 2, "coloraxis")
    _legend_marks(fig, (before, after))
    lim, clipped = _value_limit(before, after)
    title = Msg("value<br>(clipped at<br>±{lim:.3g})", lim=lim) if clipped else N_("value")
    return _layout(fig, height, scale, showlegend=True,
                   coloraxis=dict(colorscale=VALUE_SCALE, cmin=-lim, cmax=lim,
                                  colorbar=dict(thickness=12, title=title)),
                   legend=dict(orientation="h", x=1.0, xanchor="right", y=1.14, yanchor="bottom"))


def mask_picture(mask: Heatmap, scale: float = 1.0) -> go.Figure:
    """The keep-mask M: kept entries in blue, removed in light grey (the fraction kept when pooled)."""
    pooled = mask.block != (1, 1)
    fig = make_subplots(rows=1, cols=1, subplot_titles=(
        Msg("mask M {r}×{c}: blue = kept, grey = removed{note}", r=mask.shape[0], c=mask.shape[1],
            note=_block_note(mask)),))
    if mask.z.numel() == 0:
        return _layout(fig, MASK_HEIGHT, scale)
    _heat(fig, mask, N_("fraction kept") if pooled else N_("kept"), 1, 1, "coloraxis", fmt=".2f")
    return _layout(fig, MASK_HEIGHT, scale, coloraxis=dict(
        colorscale=[[0, REMOVE_COLOR], [1, KEEP_COLOR]], cmin=0, cmax=1,
        colorbar=dict(thickness=12, tickvals=[0, 1], ticktext=[N_("removed"), N_("kept")])))


def _bars(fig: go.Figure, p: Profile, color: str, name: str, row: int, col: int, what: str) -> None:
    fig.add_trace(go.Bar(x=list(p.index), y=p.mean.tolist(), marker_color=color, name=name,
                         hovertemplate=markup("{what} %{{x}}: %{{y:.4g}}<extra>{name}</extra>", what=what, name=name)),
                  row=row, col=col)


def kept_counts(rows: Profile, cols: Profile, shape: tuple[int, int], scale: float = 1.0) -> go.Figure:
    """Entries kept in each row (of C) and in each column (of R)."""
    r, c = shape
    b = lambda p: "" if p.bin == 1 else Msg(" (mean over bins of {bin})", bin=p.bin)  # noqa: E731
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=(
        Msg("kept per row (of {c}){bins}", c=c, bins=b(rows)), Msg("kept per column (of {r}){bins}", r=r, bins=b(cols))))
    _bars(fig, rows, KEEP_COLOR, N_("kept per row"), 1, 1, N_("row"))
    _bars(fig, cols, KEEP_COLOR, N_("kept per column"), 1, 2, N_("column"))
    fig.update_yaxes(range=[0, c], row=1, col=1, title_text=N_("entries kept"))
    fig.update_yaxes(range=[0, r], row=1, col=2)
    fig.update_xaxes(title_text=N_("row"), row=1, col=1)
    fig.update_xaxes(title_text=N_("column"), row=1, col=2)
    return _layout(fig, SMALL_HEIGHT, scale, showlegend=False, bargap=0.1)


def _finite(values: torch.Tensor) -> np.ndarray:
    """A curve as float32 numpy with non-finite values as NaN (not drawn)."""
    v = values.detach().to(torch.float64)
    return _f32(torch.where(torch.isfinite(v), v, math.nan))


def products(e: MaskEffects, product_mode: str = "multiply", scale: float = 1.0) -> go.Figure:
    """y = A·v and y = B·v side by side, on the same y range (B = M ⊙ A, or A filled)."""
    masked = "(M⊙A)·v" if product_mode == "multiply" else N_("B·v, B = A filled")
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06, subplot_titles=(
        N_("y = A·v (unmasked)"), markup("y = {masked}: ‖change‖/‖A·v‖ = {err:.3g}", masked=masked, err=e.product_error)))
    x = e.y_index.tolist()
    fig.add_trace(go.Bar(x=x, y=_finite(e.y_full), marker_color=BEFORE_COLOR, name="A·v",
                         hovertemplate=N_("row %{x}: %{y:.4g}<extra>A·v</extra>")), row=1, col=1)
    fig.add_trace(go.Bar(x=x, y=_finite(e.y_masked), marker_color=AFTER_COLOR, name=masked,
                         hovertemplate=N_("row %{x}: %{y:.4g}<extra>masked</extra>")), row=1, col=2)
    fig.update_yaxes(title_text=N_("y[row]"), row=1, col=1)
    fig.update_xaxes(title_text=N_("row"))
    return _layout(fig, SMALL_HEIGHT, scale, showlegend=False, bargap=0.1)


def softmax_probs(e: MaskEffects, scale: float = 1.0) -> go.Figure:
    """Row softmax of the logits A, removed entries set to 0 (multiply) vs to -inf (fill).

    One colour scale from 0 (white), coloured by √p so that the small
    probability leaked to removed entries is visible next to the exact zeros. The fill panel is the *plain* softmax, so
    a fully masked row shows as NaN (painted, with a legend entry).
    """
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=(
        N_("softmax(M⊙A): removed logits = 0 still get exp(0)/Z"),
        N_("softmax(A filled with −inf): removed get exactly 0")))
    if e.probs_multiply.numel() == 0:
        return _layout(fig, HEATMAP_HEIGHT, scale)
    rows, cols = tuple(e.prob_rows.tolist()), tuple(e.prob_cols.tolist())
    mul = Heatmap(z=e.probs_multiply.double(), neg_inf=torch.zeros_like(e.probs_multiply.double()),
                  pos_inf=torch.zeros_like(e.probs_multiply.double()), nan=torch.zeros_like(e.probs_multiply.double()),
                  rows=rows, cols=cols, shape=e.shape)
    fill = e.probs_fill.double()
    nan = fill.isnan().double()
    fil = Heatmap(z=fill, neg_inf=torch.zeros_like(fill), pos_inf=torch.zeros_like(fill), nan=nan,
                  rows=rows, cols=cols, shape=e.shape)
    _heat(fig, mul, N_("p (multiply)"), 1, 1, "coloraxis", fmt=".4f", sqrt=True)
    _heat(fig, fil, N_("p (fill −inf)"), 1, 2, "coloraxis", fmt=".4f", sqrt=True)
    top = max(float(mul.z.max()), float(fil.z.nan_to_num(0.0).max()), 1e-12)
    ticks = [t for t in PROB_TICKS if t <= top]
    if e.nan_rows:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=N_("NaN (fully masked row)"),
                                 marker=dict(symbol="square", size=14, color=NAN_ROW_COLOR)))
    return _layout(fig, HEATMAP_HEIGHT, scale, showlegend=bool(e.nan_rows),
                   coloraxis=dict(colorscale=PROB_SCALE, cmin=0.0, cmax=math.sqrt(top), colorbar=dict(
                       thickness=12, title=N_("p (√ scale)"), tickvals=[math.sqrt(t) for t in ticks],
                       ticktext=[f"{t:g}" for t in ticks])),
                   legend=dict(orientation="h", x=1.0, xanchor="right", y=1.14, yanchor="bottom"))


def _line(fig: go.Figure, p: Profile, color: str, name: str, col: int, legend: bool) -> None:
    fig.add_trace(go.Scatter(x=list(p.index), y=_finite(p.mean), mode="lines+markers" if p.size <= 64 else "lines",
                             line=dict(color=color, shape="hv" if p.size <= 64 else "linear"), marker=dict(size=5),
                             name=name, legendgroup=name, showlegend=legend,
                             hovertemplate=Msg("row %{{x}}: %{{y:.4g}}<extra>{name}</extra>", name=name)), row=1, col=col)


def softmax_rows(s: SoftmaxRows, scale: float = 1.0) -> go.Figure:
    """Per row: probability leaked to removed entries (multiply), entropy and support, multiply vs fill."""
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.07, subplot_titles=(
        N_("leaked probability (multiply)"), N_("entropy (nats)"), N_("support (p > 1e-6)")))
    multiply, fill = N_("multiply (logit 0)"), N_("fill −inf (safe)")
    _line(fig, s.leaked, MULTIPLY_COLOR, multiply, 1, True)
    _line(fig, s.entropy_multiply, MULTIPLY_COLOR, multiply, 2, False)
    _line(fig, s.entropy_fill, FILL_COLOR, fill, 2, True)
    _line(fig, s.support_multiply, MULTIPLY_COLOR, multiply, 3, False)
    _line(fig, s.support_fill, FILL_COLOR, fill, 3, False)
    fig.update_yaxes(range=[0, 1], row=1, col=1)
    fig.update_yaxes(rangemode="tozero")
    fig.update_xaxes(title_text=N_("row"))
    return _layout(fig, SMALL_HEIGHT, scale, showlegend=True,
                   legend=dict(orientation="h", x=1.0, xanchor="right", y=1.18, yanchor="bottom"))
