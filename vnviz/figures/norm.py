"""Plotly figures for the norm views: small summaries in, ``go.Figure`` out.

Builders take the dataclasses of ``vnviz.analysis`` (binned histograms,
per-axis and per-group statistics), never raw tensors, so a figure's size
does not grow with the data.
"""
from __future__ import annotations

import math
from functools import lru_cache

import plotly.graph_objects as go
import torch
from _plotly_utils.basevalidators import ColorscaleValidator

from vnviz.analysis.histogram import Histogram
from vnviz.analysis.stats import AxisStats, GroupStats
from vnviz.analysis.view import GroupPicture
from vnviz.figures.grid import Grid
from vnviz.figures.text import markup, size_texts
from vnviz.i18n import N_, Msg

BEFORE_COLOR = "#8c8c8c"  # the input, everywhere
AFTER_COLOR = "#1f6fb4"  # the output, everywhere
BAND_ALPHA = 0.18  # opacity of the ±std bands
HEIGHT_PER_ROW = 190  # px per subplot row
FACET_COLS = 4  # small multiples per row
GROUP_PALETTE = (  # qualitative colours for group ids (id % len)
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)
OTHER_GROUP = "#e4e4e4"  # the groups not highlighted in the group picture
FONT_SIZE = 14  # base font; presenter mode multiplies it
TITLE_COLOR = "#262730"  # subplot and figure titles: the page's text colour, not plotly's light grey


def _layout(fig: go.Figure, height: int, scale: float = 1.0, title_size: int = FONT_SIZE, **kw) -> go.Figure:
    # a figure title sits above the subplot titles: leave it room
    top = int((80 if "title" in kw else 50) * scale)
    fig.update_layout(
        height=int(height * scale), margin=dict(l=10, r=10, t=top, b=10), font=dict(size=int(FONT_SIZE * scale)),
        bargap=0, showlegend=kw.pop("showlegend", False), **kw,
    )
    size_texts(fig, scale)
    fig.update_layout(title_font=dict(color=TITLE_COLOR, size=int((FONT_SIZE + 3) * scale)))
    fig.update_annotations(font=dict(color=TITLE_COLOR, size=int(title_size * scale)))  # subplot titles, dark
    return fig


def _finish(grid: Grid, height: int, scale: float = 1.0, title_size: int = FONT_SIZE, title: str | None = None,
            showlegend: bool = False) -> go.Figure:
    """``_layout`` for a ``Grid``: the same sizes, margins and fonts, without validating the figure again."""
    top = int((80 if title is not None else 50) * scale)
    return grid.finish(int(height * scale), dict(l=10, r=10, t=top, b=10), dict(size=int(FONT_SIZE * scale)),
                       dict(color=TITLE_COLOR, size=int((FONT_SIZE + 3) * scale)),
                       dict(color=TITLE_COLOR, size=int(title_size * scale)), title=title, scale=scale,
                       bargap=0, showlegend=showlegend)


@lru_cache(maxsize=16)
def _colorscale(name: str) -> tuple:
    """A named plotly colorscale as the (value, colour) pairs plotly's validator makes of the name."""
    return tuple(tuple(pair) for pair in ColorscaleValidator("colorscale", "heatmap").validate_coerce(name))


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _bars(h: Histogram, color: str, name: str) -> dict:
    return dict(
        x=h.centers.tolist(), y=h.counts.tolist(), width=(h.hi - h.lo) / max(1, h.counts.shape[-1]),
        marker=dict(color=color), name=name, hovertemplate=Msg("%{{x:.4g}}: %{{y}} values<extra>{name}</extra>", name=name),
    )


def _clip_note(h: Histogram) -> str:
    parts = []
    if h.below or h.above:
        parts.append(Msg("{n} outside the range", n=h.below + h.above))
    if h.nonfinite:
        parts.append(Msg("{n} NaN/Inf not shown", n=h.nonfinite))
    return markup(" ({parts})", parts=Msg.join(parts, ", ")) if parts else ""


def distributions(before: Histogram, after: Histogram, log_y: bool = False, scale: float = 1.0) -> go.Figure:
    """All values before | after, each on its own x range (their scales differ)."""
    fig = Grid(1, 2, (markup("{title}{note}", title=N_("before: all values"), note=_clip_note(before)),
                      markup("{title}{note}", title=N_("after: all values"), note=_clip_note(after))))
    fig.add("bar", 1, 1, **_bars(before, BEFORE_COLOR, N_("before")))
    fig.add("bar", 1, 2, **_bars(after, AFTER_COLOR, N_("after")))
    fig.yaxes(1, 1, type="log" if log_y else "linear", title=dict(text=N_("count")))
    fig.yaxes(1, 2, type="log" if log_y else "linear")
    fig.xaxes(title=dict(text=N_("value")))
    return _finish(fig, 320, scale)


def facets(h: Histogram, title: str, color: str, labels: list[str] | None = None, log_y: bool = False,
           scale: float = 1.0) -> go.Figure:
    """Small multiples: one histogram per channel (rows of ``h.counts``), shared x range."""
    k = h.counts.shape[0] if h.counts.ndim == 2 else 0
    if k == 0:
        return _layout(go.Figure(), 200, scale, title=title)
    rows = math.ceil(k / FACET_COLS)
    labels = labels or [Msg("channel {i}", i=i) for i in range(k)]
    fig = Grid(rows, min(k, FACET_COLS), labels[:k], shared_xaxes=True,
               vertical_spacing=0.12 / max(1, rows - 1) if rows > 1 else 0.1)
    width = (h.hi - h.lo) / h.counts.shape[1]
    centers = h.centers.tolist()
    counts = h.counts.tolist()
    for i in range(k):
        fig.add("bar", i // FACET_COLS + 1, i % FACET_COLS + 1, x=centers, y=counts[i], width=width,
                marker=dict(color=color), name=labels[i],
                hovertemplate=markup("%{{x:.4g}}: %{{y}}<extra>{label}</extra>", label=labels[i]))
    fig.yaxes(type="log" if log_y else "linear", showticklabels=False)
    return _finish(fig, 90 + 120 * rows, scale, title_size=11, title=title)


def axis_profiles(before: tuple[AxisStats, ...], after: tuple[AxisStats, ...], scale: float = 1.0) -> go.Figure:
    """Per-axis mean ± std per index, before | after: flat lines are the equalised axes."""
    n = len(before)
    titles = []
    for a in before:
        titles += [Msg("before: per {axis} index", axis=a.name), Msg("after: per {axis} index", axis=a.name)]
    fig = Grid(n, 2, titles, vertical_spacing=0.4 / max(1, n))
    for row, pair in enumerate(zip(before, after), start=1):
        for col, (a, color, side) in enumerate(((pair[0], BEFORE_COLOR, N_("before")), (pair[1], AFTER_COLOR, N_("after"))), start=1):
            x = a.index.tolist()
            mean, std = a.mean, a.std
            fig.add("scatter", row, col,
                    x=x + x[::-1], y=(mean + std).tolist() + (mean - std).tolist()[::-1], fill="toself", mode="lines",
                    fillcolor=_rgba(color, BAND_ALPHA), line=dict(width=0), hoverinfo="skip",
                    name=Msg("{side} ±std", side=side))
            fig.add("scatter", row, col,
                    x=x, y=mean.tolist(), mode="lines+markers" if len(x) <= 64 else "lines", line=dict(color=color),
                    marker=dict(size=5), name=Msg("{side} mean", side=side),
                    customdata=torch.stack([std, a.min, a.max], 1).tolist(),
                    hovertemplate=Msg("{axis}=%{{x}}: mean %{{y:.4g}}, std %{{customdata[0]:.4g}}, "
                                      "min %{{customdata[1]:.4g}}, max %{{customdata[2]:.4g}}<extra></extra>", axis=a.name))
            label = a.name if a.block == 1 else Msg("{axis} (blocks of {block})", axis=a.name, block=a.block)
            # indices are whole numbers: a tick at every one on a short axis, never at 0.5
            ticks = dict(tick0=0, dtick=a.block) if len(x) <= 12 else dict(tickformat="d")
            fig.xaxes(row, col, title=dict(text=label, standoff=int(6 * scale)), automargin=True, **ticks)
    return _finish(fig, 60 + 230 * n, scale)


def group_colors(picture: GroupPicture, highlight: int | None) -> tuple[torch.Tensor, list, bool]:
    """(z, colorscale, distinct): one colour per group when the picture holds at most ``len(GROUP_PALETTE)``
    groups (each colour is then exactly one group), else group ``highlight`` in colour and the rest grey."""
    drawn = picture.drawn
    if len(drawn) <= len(GROUP_PALETTE):
        rank = {g: i for i, g in enumerate(drawn)}
        z = picture.ids.clone().apply_(rank.__getitem__)
        k = max(1, len(drawn))
        scale = []
        for i in range(k):
            scale += [[i / k, GROUP_PALETTE[i]], [(i + 1) / k, GROUP_PALETTE[i]]]
        return z.float() + 0.5, scale, True
    target = drawn[0] if highlight is None or highlight not in drawn else highlight
    return (picture.ids == target).float(), [[0, OTHER_GROUP], [0.5, OTHER_GROUP], [0.5, AFTER_COLOR], [1, AFTER_COLOR]], False


def group_map(picture: GroupPicture | None, highlight: int | None = None, scale: float = 1.0) -> go.Figure:
    """Which elements share a mean and variance: one panel per sample drawn, channels down, positions across.

    With few groups drawn each has its own colour; with more, group ``highlight`` is drawn in colour
    and every other group in grey (``group_colors``). Hover a cell for its group.
    """
    if picture is None:
        return _layout(go.Figure(), 200, scale, title=N_("no statistic groups"))
    s, r, p = picture.ids.shape
    z, colorscale, distinct = group_colors(picture, highlight)
    top = len(colorscale) // 2 if distinct else 1
    where = picture.position_name or N_("position")
    fig = Grid(1, s, [Msg("sample {i}", i=i) for i in range(s)], horizontal_spacing=0.03)
    x = picture.position_index.tolist()
    zs, ids = z.tolist(), picture.ids.tolist()
    for i in range(s):
        fig.add("heatmap", 1, i + 1,
                z=zs[i], x=x, customdata=ids[i], zmin=0, zmax=top, colorscale=colorscale,
                showscale=False, hovertemplate=Msg("sample {i}, channel %{{y}}, position %{{x}} ({where}): "
                                                   "group %{{customdata}}<extra></extra>", i=i, where=where),
                xgap=1 if p <= 32 else 0, ygap=1 if r <= 32 else 0)
        fig.yaxes(1, i + 1, autorange="reversed", showticklabels=i == 0)
        if i == 0:
            fig.yaxes(1, 1, title=dict(text=N_("channel")))
        if picture.position_name:
            fig.xaxes(1, i + 1, title=dict(text=Msg("position ({where})", where=where)))
    return _finish(fig, 140 + min(400, 12 * r), scale)


def group_map_caption(picture: GroupPicture | None, highlight: int | None, pattern: str = "") -> str:
    """What the group picture shows, in words: the colours, and which samples, channels and positions are drawn."""
    if picture is None:
        return N_("No statistic groups.")
    s, r, p = picture.ids.shape
    _, _, distinct = group_colors(picture, highlight)
    drawn = len(picture.drawn)
    if distinct:
        colours = Msg("Each colour is one statistic group (one mean and one variance): the {drawn} groups drawn "
                      "here, of {groups} in all.", drawn=drawn, groups=picture.groups)
    else:
        target = picture.drawn[0] if highlight is None or highlight not in picture.drawn else highlight
        colours = Msg("Blue: statistic group {target}, the elements that share one mean and one variance; grey: "
                      "the {others} other groups ({drawn} of them drawn here). Choose the group above; hover a cell "
                      "for its group.", target=target, others=picture.groups - 1, drawn=drawn)
    parts = [colours, N_("Rows: channels.") if r == picture.channels else
             Msg("Rows: channels 0–{last} of {channels}.", last=r - 1, channels=picture.channels)]
    if picture.position_name:
        if p == picture.positions:
            parts.append(Msg("Columns: the positions, {where} flattened into one index.", where=picture.position_name))
        else:
            parts.append(Msg("Columns: the positions, {where} flattened into one index, {p} of its {positions} "
                             "evenly spread.", where=picture.position_name, p=p, positions=picture.positions))
    if s < picture.samples:
        parts.append(Msg("The first {s} of the {samples} samples, one panel each.", s=s, samples=picture.samples))
    if pattern:
        parts.append(Msg("Pattern `{pattern}`.", pattern=pattern))
    return Msg.join(parts)


def picture_of(box: torch.Tensor, position_name: str) -> GroupPicture:
    """A GroupPicture of a whole small group map already laid out as (samples, channels, positions)."""
    n, c, p = box.shape
    return GroupPicture(box, n, c, p, torch.arange(p), position_name, int(box.max()) + 1 if box.numel() else 0)


def group_heatmaps(before: GroupStats | None, after: GroupStats | None, grid: tuple[int, int],
                   labels: tuple[str, str] = (N_("sample"), N_("group")), scale: float = 1.0) -> go.Figure:
    """Group means and stds as grids, before | after, on one colour scale per row.

    Sharing the scale between before and after is what makes the point: after a
    normalization the mean row is uniformly 0 (white) and the std row uniformly 1.
    """
    if before is None or after is None:
        return _layout(go.Figure(), 200, scale, title=N_("no statistic groups"))
    rows, cols = grid
    fig = Grid(2, 2, (N_("before: group mean"), N_("after: group mean"), N_("before: group std"), N_("after: group std")),
               horizontal_spacing=0.14, vertical_spacing=0.28)
    grids = []
    for values in (before.mean, after.mean, before.var.sqrt(), after.var.sqrt()):
        z = values[: rows * cols].reshape(rows, cols).float()
        if rows > 64 or cols > 64:  # keep the payload small: average blocks of groups
            z = torch.nn.functional.adaptive_avg_pool2d(z[None, None], (min(rows, 64), min(cols, 64)))[0, 0]
        grids.append(z)
    mean_lim = max(1e-12, float(max(grids[0].abs().max(), grids[1].abs().max())))
    std_lim = max(1e-12, float(max(grids[2].max(), grids[3].max())))
    where = []  # the hover names only the grid's dims that mean something (BatchNorm's single row does not)
    if labels[0] and rows > 1:
        where.append(markup("{label} %{{y}}", label=labels[0]))
    if labels[1] and cols > 1:
        where.append(markup("{label} %{{x}}", label=labels[1]))
    hover = markup("{where}: %{{z:.4g}}<extra></extra>", where=Msg.join(where, ", ") if where else N_("group"))
    for i, z in enumerate(grids):
        r, c = i // 2 + 1, i % 2 + 1
        is_mean = r == 1
        fig.add("heatmap", r, c,
                z=z.tolist(), colorscale=_colorscale("RdBu_r" if is_mean else "Viridis"),
                zmin=-mean_lim if is_mean else 0.0, zmax=mean_lim if is_mean else std_lim,
                showscale=c == 2, colorbar=dict(len=0.36, y=0.82 if is_mean else 0.18, thickness=12),
                hovertemplate=hover)
        fig.yaxes(r, c, autorange="reversed", showticklabels=rows > 1)
        if c == 1 and labels[0]:
            fig.yaxes(r, c, title=dict(text=labels[0]))
        fig.xaxes(r, c, showticklabels=cols > 1)
        if labels[1]:
            fig.xaxes(r, c, title=dict(text=labels[1]))
    return _finish(fig, 560, scale)
