"""Figures of the Compare page: one column per variant, and the equivalence diff heatmaps.

Two steps, as everywhere in vnviz: ``columns`` turns a ``CompareView`` into
small per-column summaries (testable without plotly), and the builders turn
those into ``go.Figure`` objects (subplot grids built as dicts, ``vnviz.figures.grid``): every grid has the
input first, then one column per variant, so the three grids line up.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import plotly.graph_objects as go
import torch

from vnviz.analysis.compare import CompareView, DiffMap, Equivalence
from vnviz.analysis.histogram import Histogram
from vnviz.analysis.stats import AxisStats
from vnviz.analysis.view import GroupPicture
from vnviz.figures.grid import Grid, _merge
from vnviz.figures.norm import AFTER_COLOR, BEFORE_COLOR, FONT_SIZE, OTHER_GROUP, TITLE_COLOR
from vnviz.figures.text import markup, size_texts, text_sizes
from vnviz.i18n import N_, Msg
from vnviz.variants.registry import get_variant

MEAN_COLOR = "#e07b00"  # per-index means
STD_COLOR = AFTER_COLOR  # per-index stds
TARGET_COLOR = "#9a9a9a"  # the dashed 0 and 1 reference lines
DIST_HEIGHT = 260  # px of the distributions row
AXIS_ROW_HEIGHT = 170  # px per axis row
GROUP_HEIGHT = 300  # px of the group pictures
DIFF_HEIGHT = 300  # px of one diff heatmap
DIFF_FLOOR = 0.01  # the diff colour scale reaches at least this, so float noise stays white
DIFF_SCALE = [[0.0, "#ffffff"], [0.35, "#fcae91"], [1.0, "#a50f15"]]  # |difference|: white = none
INPUT_TITLE = N_("input")
VERIFIED = "<span style='color:#2e7d32'>✓</span>"  # in a column title: checked against torch and float64
MISMATCH = markup("<span style='color:#c62828'>✗ {word}</span>", word=N_("mismatch"))  # in a column title: a check failed


@dataclass(frozen=True)
class Column:
    """What one column of the grids draws: the input, or one variant's output."""

    title: str  # "input" or the variant's title, e.g. "BatchNorm"
    subtitle: str  # the reduction pattern (variants) or the layout (input)
    verdict: str  # VERIFIED, MISMATCH, "" for the input, "cannot run" on an error
    hist: Histogram | None  # all values (input: before; variants: after); None when it could not run
    axes: tuple[AxisStats, ...]  # per-axis statistics of the same tensor
    picture: GroupPicture | None  # the group ids of the first samples; None for the input
    groups: int  # number of statistic groups (0 for the input)
    error: str  # why the variant could not run, or ""

    @property
    def is_input(self) -> bool:
        return self.title == INPUT_TITLE


def columns(view: CompareView) -> tuple[Column, ...]:
    """The input column, then one column per variant of ``view``."""
    first = view.input
    out = []
    if first is not None:
        out.append(Column(INPUT_TITLE, view.layout, "", first.before.hist, first.before.axes, None, 0, ""))
    for name, v, err in zip(view.names, view.views, view.errors):
        variant = get_variant(name)
        if v is None:
            out.append(Column(variant.title, variant.pattern, N_("cannot run"), None, (), None, 0, err))
            continue
        ok = v.verification is not None and v.verification.ok
        groups = v.verification.groups if v.verification is not None else 0
        out.append(Column(variant.title, v.pattern or variant.pattern, VERIFIED if ok else MISMATCH, v.after.hist,
                          v.after.axes, v.group_map, groups, ""))
    return tuple(out)


def _layout(fig: go.Figure, height: int, scale: float, **kw) -> go.Figure:
    fig.update_layout(height=int(height * scale), margin=dict(l=10, r=10, t=int(70 * scale), b=10),
                      font=dict(size=int(FONT_SIZE * scale)), bargap=0, showlegend=kw.pop("showlegend", False), **kw)
    columns = sum(1 for a in fig.layout.annotations if "<b>" in str(a.text))
    text_scale = min(scale, 1.15) if columns >= 6 else scale  # six titles side by side must fit at 1024 px
    size_texts(fig, text_scale)
    size = FONT_SIZE * text_scale
    for a in fig.layout.annotations:  # titles dark and sized with the scale; notes keep their own colour
        a.font.size = int(size)
        if a.font.color is None:
            a.font.color = TITLE_COLOR
    return fig


def _finish(grid: Grid, height: int, scale: float) -> go.Figure:
    """``_layout`` for a ``Grid``: the same sizes and title fonts, without validating the figure again."""
    layout = grid.layout
    layout.update(height=int(height * scale), margin=dict(l=10, r=10, t=int(70 * scale), b=10),
                  font=dict(size=int(FONT_SIZE * scale)), bargap=0, showlegend=False)
    annotations = layout.get("annotations", [])
    columns = sum(1 for a in annotations if "<b>" in str(a.get("text")))
    text_scale = min(scale, 1.15) if columns >= 6 else scale  # six titles side by side must fit at 1024 px
    grid.size_texts(text_scale)
    size = FONT_SIZE * text_scale
    for a in annotations:  # titles dark and sized with the scale; notes keep their own colour
        font = a.setdefault("font", {})
        font["size"] = int(size)
        font.setdefault("color", TITLE_COLOR)
    return grid.figure()


def _title(col: Column) -> str:
    head = markup("<b>{title}</b> {verdict}", title=col.title, verdict=col.verdict) if col.verdict else \
        markup("<b>{title}</b>", title=col.title)
    return markup("{head}<br><span style='font-size:0.8em'>{sub}</span>", head=head, sub=col.subtitle)


def _empty(title: str, scale: float) -> go.Figure:
    return _layout(go.Figure(), 200, scale, title=title)


def _note(fig: Grid, col: int, text: str) -> None:
    """Grey text in the middle of an empty subplot of row 1 (paper coordinates from its axis domain)."""
    fig.annotate(font=dict(color=TARGET_COLOR), showarrow=False, text=text, x=sum(fig.domain(1, col)) / 2,
                 xref="paper", y=0.5, yref="paper")


def distributions_grid(cols: tuple[Column, ...], log_y: bool = False, scale: float = 1.0) -> go.Figure:
    """All values per column: the input (grey), then each variant's output (blue), each on its own x range."""
    if not cols:
        return _empty(N_("nothing to compare"), scale)
    fig = Grid(1, len(cols), [_title(c) for c in cols], horizontal_spacing=min(0.06, 0.3 / len(cols)))
    for j, c in enumerate(cols, start=1):
        if c.hist is None:
            _note(fig, j, N_("cannot run<br>on this data"))
            fig.xaxes(1, j, visible=False)
            fig.yaxes(1, j, visible=False)
            continue
        h = c.hist
        color = BEFORE_COLOR if c.is_input else AFTER_COLOR
        fig.add("bar", 1, j, x=h.centers.tolist(), y=h.counts.tolist(), width=(h.hi - h.lo) / max(1, h.counts.shape[-1]),
                marker=dict(color=color), name=c.title,
                hovertemplate=Msg("%{{x:.4g}}: %{{y}} values<extra>{title}</extra>", title=c.title))
        fig.yaxes(1, j, type="log" if log_y else "linear", showticklabels=j == 1)
        fig.xaxes(1, j, title=dict(text=N_("value")), nticks=5)
    return _finish(fig, DIST_HEIGHT, scale)


def _range(values: list[torch.Tensor], floor: tuple[float, float]) -> list[float]:
    """A y range holding every value and the floor interval, padded by 8%: flat lines stay flat."""
    lo, hi = floor
    for v in values:
        if v.numel():
            lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
    pad = 0.08 * (hi - lo) or 0.5
    return [lo - pad, hi + pad]


def axis_names(cols: tuple[Column, ...]) -> tuple[str, ...]:
    """The axis names of the rows of ``axes_grid`` (those of the first column that ran)."""
    first = next((c for c in cols if c.axes), None)
    return tuple(a.name for a in first.axes) if first else ()


def axes_grid(cols: tuple[Column, ...], scale: float = 1.0) -> go.Figure:
    """Per axis (rows) and column: the mean (orange) and std (blue) of every index over the other axes.

    An axis the variant equalises shows a flat mean at 0 and a flat std at 1
    (dashed). The variant columns of a row share one y range; the input has its own.
    """
    names = axis_names(cols)
    if not cols or not names:
        return _empty(N_("no per-axis statistics"), scale)
    rows = len(names)
    titles = [(_title(c) if r == 0 else "") for r in range(rows) for c in cols]
    fig = Grid(rows, len(cols), titles, horizontal_spacing=min(0.06, 0.3 / len(cols)),
               vertical_spacing=min(0.12, 0.5 / rows))
    for r, axis in enumerate(names, start=1):
        shared = _range([t for c in cols if not c.is_input and len(c.axes) >= r
                         for t in (c.axes[r - 1].mean, c.axes[r - 1].std)], (0.0, 1.0))
        for j, c in enumerate(cols, start=1):
            if len(c.axes) < r:
                fig.xaxes(r, j, visible=False)
                fig.yaxes(r, j, visible=False)
                continue
            a = c.axes[r - 1]
            x = a.index.tolist()
            marker = "lines+markers" if len(x) <= 32 else "lines"
            for values, color, label in ((a.mean, MEAN_COLOR, N_("mean")), (a.std, STD_COLOR, N_("std"))):
                fig.add("scatter", r, j,
                        x=x, y=values.tolist(), mode=marker, line=dict(color=color, width=2), marker=dict(size=4),
                        name=label,
                        hovertemplate=markup("{title}, {axis}=%{{x}}: {label} %{{y:.4g}}<extra></extra>", title=c.title,
                                             axis=a.name, label=label))
            for level in (0.0, 1.0):
                fig.hline(r, j, level, dict(color=TARGET_COLOR, dash="dot", width=1))
            yr = _range([a.mean, a.std], (0.0, 1.0)) if c.is_input else shared
            fig.yaxes(r, j, range=yr, showticklabels=True)
            if j == 1:
                fig.yaxes(r, j, title=dict(text=axis))
            label = Msg("{axis} index", axis=a.name) if a.block == 1 else \
                Msg("{axis} index (blocks of {block})", axis=a.name, block=a.block)
            fig.xaxes(r, j, title=dict(text=label, standoff=2) if r == rows else dict(standoff=2))
    return _finish(fig, 90 + AXIS_ROW_HEIGHT * rows, scale)


def _strip(picture: GroupPicture) -> tuple[list[list[float | None]], list[list[list[int | None]]]]:
    """Samples side by side (channels down, positions across), a gap of empty columns between samples.

    Each cell's customdata is [sample, position, group]; ``groups_grid``'s hover template puts the words around
    them (``hover_words``).

    The group of the first element is 1 (drawn in colour), every other group 0 (grey).
    """
    s, r, p = picture.ids.shape
    first = int(picture.ids[0, 0, 0])
    gap = max(1, round(p / 12))  # wide enough to see the samples apart
    positions = picture.position_index.tolist()
    z: list[list[float | None]] = [[] for _ in range(r)]
    text: list[list[list[int | None]]] = [[] for _ in range(r)]
    for i in range(s):
        ids = picture.ids[i].tolist()
        for row in range(r):
            if i:
                z[row] += [None] * gap
                text[row] += [[None, None, None]] * gap
            z[row] += [1.0 if v == first else 0.0 for v in ids[row]]
            text[row] += [[i, q, v] for q, v in zip(positions, ids[row])]
    return z, text


def hover_words(position_name: str, title: str) -> Msg:
    """The group pictures' hover: sample, position and group from the cell's customdata (``_strip``), channel = y."""
    return Msg("sample %{{customdata[0]}}, channel %{{y}}, position %{{customdata[1]}} ({where}): group "
               "%{{customdata[2]}}<extra>{title}</extra>", where=position_name or N_("position"), title=title)


def groups_grid(cols: tuple[Column, ...], scale: float = 1.0) -> go.Figure:
    """Each variant's statistic groups: the group of the first element in colour, the others grey.

    Per column, the first samples side by side (channels down, flattened
    positions across): BatchNorm's group runs across samples, LayerNorm's fills
    a sample, InstanceNorm's a (sample, channel) row.
    """
    if not cols:
        return _empty(N_("nothing to compare"), scale)
    colorscale = [[0, OTHER_GROUP], [0.5, OTHER_GROUP], [0.5, AFTER_COLOR], [1, AFTER_COLOR]]
    titles = [markup("<b>{title}</b><br><span style='font-size:0.8em'>{groups}</span>", title=c.title,
                     groups=N_("no groups") if c.is_input else Msg("{n} groups", n=c.groups)) for c in cols]
    fig = Grid(1, len(cols), titles, horizontal_spacing=min(0.04, 0.2 / len(cols)))
    first = next((j for j, c in enumerate(cols, start=1) if c.picture is not None), 0)
    for j, c in enumerate(cols, start=1):
        if c.picture is None:
            if not c.is_input:
                _note(fig, j, N_("cannot run"))
            fig.xaxes(1, j, visible=False)
            fig.yaxes(1, j, visible=False)
            continue
        z, text = _strip(c.picture)
        fig.add("heatmap", 1, j, z=z, customdata=text, zmin=0, zmax=1, colorscale=colorscale, showscale=False,
                hovertemplate=hover_words(c.picture.position_name, c.title), hoverongaps=False)
        s = c.picture.ids.shape[0]
        fig.yaxes(1, j, autorange="reversed", showticklabels=j == first)
        if j == first:
            fig.yaxes(1, j, title=dict(text=N_("channel")))
        fig.xaxes(1, j, title=dict(text=Msg("samples 0–{last}, positions", last=s - 1)), showticklabels=False)
    return _finish(fig, GROUP_HEIGHT, scale)


# -- equivalences ------------------------------------------------------------------------------


def diff_range(diff: DiffMap) -> float:
    """Top of the colour scale: the largest cell, but at least DIFF_FLOOR (float noise stays white)."""
    top = float(diff.z.max()) if diff.z.numel() else 0.0
    return max(top, DIFF_FLOOR) if math.isfinite(top) else DIFF_FLOOR


def verdict(eq: Equivalence) -> str:
    """"equal" or "differ", and whether that is what the theory says."""
    word = N_("equal ✓") if eq.equal else N_("differ ≠")
    return word if eq.as_expected else Msg("{word} (unexpected!)", word=word)


def diff_heatmap(eq: Equivalence, scale: float = 1.0) -> go.Figure:
    """Where two calls differ: mean |left − right| per cell (white = identical up to float rounding).

    Built as a dict without plotly's validation (as vnviz.figures.grid's figures: five of these took 50 ms of
    every Compare run validated); tests/test_figure_grid.py checks that validating it changes nothing."""
    d = eq.diff
    heatmap = {"type": "heatmap", "z": d.z.tolist(), "x": d.col_index.tolist(), "y": d.row_index.tolist(),
               "zmin": 0.0, "zmax": diff_range(d), "colorscale": DIFF_SCALE,
               "colorbar": {"title": {"text": "|diff|", "side": "right"}, "thickness": 12},
               "hovertemplate": Msg("{rows} %{{y}}, {cols} %{{x}}: mean |diff| %{{z:.3g}}<extra></extra>",
                                    rows=d.rows, cols=d.cols)}
    title = Msg("<b>{verdict}</b> · max |diff| = {diff:.2g} · mean over {over}", verdict=verdict(eq),
                diff=eq.max_abs_diff, over=d.over)
    layout: dict = {"xaxis": {"title": {"text": d.cols}}, "yaxis": {"autorange": "reversed", "title": {"text": d.rows}},
                    "height": int(DIFF_HEIGHT * scale), "margin": dict(l=10, r=10, t=int(45 * scale), b=10),
                    "font": {"size": int(FONT_SIZE * scale)}, "bargap": 0, "showlegend": False,
                    "title": {"text": title, "x": 0.01, "xanchor": "left"}}
    _merge(layout, text_sizes(["xaxis", "yaxis"], scale))
    if eq.equal:  # an all-white map could pass for a chart that did not load
        layout["annotations"] = [{"text": N_("all white: identical up to float rounding"), "showarrow": False,
                                  "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
                                  "font": {"color": TARGET_COLOR, "size": int(FONT_SIZE * scale)}}]
    return go.Figure({"data": [heatmap], "layout": layout}, _validate=False)
