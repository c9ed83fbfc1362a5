"""Figures of the axis check: statistic groups as cubes, and the candidates of an axis inference.

``cube_summary`` turns a group map into the (N, channel, positions) block the
Group Normalization paper draws (Wu & He, 2018, figure 2): three visible faces
of a box, the elements of one statistic group coloured and the rest light grey.
``group_cubes`` draws one such box per highlighted group with plotly's own
subplots, as flat polygons (no WebGL, crisp on a projector).
``candidate_bars`` / ``candidates_chart`` show how well each hypothesis of
``infer_axes`` explains the output, on a log scale.
"""
from __future__ import annotations

from typing import NamedTuple

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from vnviz.analysis.axis_report import candidate_label
from vnviz.analysis.infer import AxisReport
from vnviz.figures.norm import TITLE_COLOR
from vnviz.figures.text import markup, size_texts
from vnviz.i18n import N_, Msg

HIGHLIGHT = ("#1f6fb4", "#5b9bd5", "#15508a")  # the highlighted group: front, top, side face
OTHER = ("#e4e4e4", "#f3f3f3", "#c9c9c9")  # every other element: front, top, side face
EDGE = "#ffffff"  # cell borders
DEPTH = 0.6  # how far one sample sits behind the previous one (in cell widths), before capping
MAX_DEPTH = 3.0  # total depth of the box, in cell widths, at most
MAX_PANELS = 4  # groups highlighted, one box each
FONT_SIZE = 14  # base font; presenter mode multiplies it
CHOSEN = "#1f6fb4"  # the bar of the fit the report chose
EXPLAINS = "#9ecae1"  # bars of other fits that explain y as well
FAILS = "#c4c4c4"  # bars of fits that do not
RESIDUAL_FLOOR = 1e-17  # a zero residual is drawn here (log axis)
MAX_BARS = 14  # candidates drawn


class CubeSummary(NamedTuple):
    """The group map as the box the figure draws: depth = samples, across = channels, down = positions."""

    groups: torch.Tensor  # (N, K, P) group ids: N samples, K channels (or features), P positions flattened
    labels: tuple[str, str, str]  # names of the three axes, e.g. ("N", "C", "H·W")
    highlights: tuple[int, ...]  # the group ids drawn coloured, one box each
    num_groups: int  # groups in the map


def cube_summary(groups: torch.Tensor, letters: tuple[str, ...], channel: int = 1,
                 panels: int = MAX_PANELS) -> CubeSummary:
    """Rearrange a group map (shaped like the input) into the (N, channel, positions) box.

    Args:
        groups: int64 group ids shaped like the input.
        letters: the layout's letters, one per dim.
        channel: the dim drawn across (1; the last for tokens N L D). Default: 1.
        panels: how many groups to highlight, spread evenly over the ids. Default: 4.
    """
    r = groups.ndim
    rest = [d for d in range(1, r) if d != channel]
    box = groups.permute([0, channel] + rest).reshape(groups.shape[0], groups.shape[channel], -1)
    count = int(groups.max()) + 1 if groups.numel() else 0
    k = max(0, min(panels, count))
    picks = torch.linspace(0, count - 1, k).round().long().unique().tolist() if k else []
    labels = (letters[0], letters[channel], "·".join(letters[d] for d in rest) or "—")
    return CubeSummary(box.cpu(), labels, tuple(int(p) for p in picks), count)


def _faces(n: int, k: int, p: int, depth: float):
    """The visible cells of an (n, k, p) box: (face, (i, j, m) index, polygon corners)."""
    ox = oy = depth
    for j in range(k):  # front face: sample 0
        for m in range(p):
            yield 0, (0, j, m), [(j, -m), (j + 1, -m), (j + 1, -m - 1), (j, -m - 1)]
    for i in range(n):  # top face: position 0
        for j in range(k):
            yield 1, (i, j, 0), [(j + i * ox, i * oy), (j + 1 + i * ox, i * oy),
                                 (j + 1 + (i + 1) * ox, (i + 1) * oy), (j + (i + 1) * ox, (i + 1) * oy)]
    for i in range(n):  # side face: the last channel
        for m in range(p):
            yield 2, (i, k - 1, m), [(k + i * ox, -m + i * oy), (k + (i + 1) * ox, -m + (i + 1) * oy),
                                     (k + (i + 1) * ox, -m - 1 + (i + 1) * oy), (k + i * ox, -m - 1 + i * oy)]


def _extent(values: list[int], size: int) -> str:
    """Indices along one axis in words: "all", "1", "0–1" or "0, 2"."""
    values = sorted(set(values))
    if len(values) == size:
        return N_("all")
    if len(values) > 1 and values[-1] - values[0] == len(values) - 1:
        return f"{values[0]}–{values[-1]}"
    return ", ".join(map(str, values))


def group_title(s: CubeSummary, g: int) -> str:
    """Where group ``g`` lies in the box, e.g. "N 1 · C 0–1 · H·W all"."""
    idx = (s.groups == g).nonzero()
    if idx.numel() == 0:
        return Msg("group {g}: empty", g=g)
    parts = [markup("{label} {extent}", label=label, extent=_extent(idx[:, a].tolist(), s.groups.shape[a]))
             for a, label in enumerate(s.labels)]
    return Msg.join(parts, " · ")


def _layout(fig: go.Figure, height: int, scale: float, **kw) -> go.Figure:
    margin = kw.pop("margin", dict(l=10, r=10, t=60, b=10))
    fig.update_layout(height=int(height * scale), margin=margin, font=dict(size=int(FONT_SIZE * scale)),
                      showlegend=False, plot_bgcolor="white", **kw)
    size_texts(fig, scale)
    fig.update_layout(title_font_color=TITLE_COLOR)
    for a in fig.layout.annotations:  # subplot titles in the page's text colour, not plotly's light grey
        a.font.color = a.font.color or TITLE_COLOR
    return fig


def group_cubes(s: CubeSummary | None, scale: float = 1.0) -> go.Figure:
    """One box per highlighted group: that group's elements coloured, the rest light grey."""
    if s is None or not s.highlights:
        return _layout(go.Figure(), 200, scale, title=N_("no statistic groups"))
    n, k, p = s.groups.shape
    depth = min(DEPTH, MAX_DEPTH / max(1, n))
    cols = len(s.highlights)
    titles = [Msg("group {g} of {n}<br>{where}", g=g, n=s.num_groups, where=group_title(s, g)) for g in s.highlights]
    fig = make_subplots(rows=1, cols=cols, subplot_titles=titles, horizontal_spacing=0.04)
    fig.update_annotations(font=dict(size=int(FONT_SIZE * scale)))
    faces = list(_faces(n, k, p, depth))
    for col, g in enumerate(s.highlights, start=1):
        polys: dict[tuple[int, bool], tuple[list, list]] = {}
        hx, hy, text = [], [], []
        for face, (i, j, m), corners in faces:
            on = int(s.groups[i, j, m]) == g
            xs, ys = polys.setdefault((face, on), ([], []))
            xs += [c[0] for c in corners] + [corners[0][0], None]
            ys += [c[1] for c in corners] + [corners[0][1], None]
            hx.append(sum(c[0] for c in corners) / 4)
            hy.append(sum(c[1] for c in corners) / 4)
            text.append(Msg("{a} {i}, {b} {j}, {c} {m}: group {g}", a=s.labels[0], i=i, b=s.labels[1], j=j,
                            c=s.labels[2], m=m, g=int(s.groups[i, j, m])))
        for (face, on), (xs, ys) in sorted(polys.items()):
            color = (HIGHLIGHT if on else OTHER)[face]
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=color,
                                     line=dict(color=EDGE, width=1), hoverinfo="skip",
                                     name=N_("this group") if on else N_("other groups")), row=1, col=col)
        fig.add_trace(go.Scatter(x=hx, y=hy, mode="markers", marker=dict(size=8, opacity=0), hovertext=text,
                                 hoverinfo="text", name=N_("cells")), row=1, col=col)
        _axis_labels(fig, s.labels, n, k, p, depth, col, scale)
        axis = "x" if col == 1 else f"x{col}"
        fig.update_yaxes(scaleanchor=axis, scaleratio=1, row=1, col=col)
    fig.update_xaxes(visible=False, range=[-1.4, k + n * depth + 0.3])
    fig.update_yaxes(visible=False, range=[-p - 1.2, n * depth + 0.6])
    height = 130 + min(460, 34 * (p + n * depth + 2))
    # the boxes keep their shape, so a taller figure in presenter mode would only add white space
    return _layout(fig, int(height * (1 + 0.25 * (scale - 1)) / scale), scale, margin=dict(l=10, r=10, t=90, b=10))


def _axis_labels(fig: go.Figure, labels: tuple[str, str, str], n: int, k: int, p: int, depth: float, col: int,
                 scale: float) -> None:
    """Name the three edges of the box: channels under the front, positions to its left, samples up its side."""
    font = dict(size=int(FONT_SIZE * scale), color="#444444")
    xref, yref = ("x", "y") if col == 1 else (f"x{col}", f"y{col}")
    for x, y, text, anchor in (
        (k / 2, -p - 0.15, f"{labels[1]} →", "top"),
        (-0.15, -p / 2, f"{labels[2]} ↓", "middle"),
        (n * depth / 2 - 0.2, n * depth / 2 + 0.15, f"{labels[0]} ↗", "bottom"),
    ):
        fig.add_annotation(x=x, y=y, xref=xref, yref=yref, text=text, showarrow=False, font=font,
                           xanchor="right" if "↓" in text or "↗" in text else "center", yanchor=anchor)


# -- candidates -----------------------------------------------------------------------------


class CandidateBars(NamedTuple):
    """The best hypotheses of an axis inference, best first."""

    labels: tuple[str, ...]  # each hypothesis in words
    residuals: tuple[float, ...]  # relative residual ||y - fit|| / ||y||
    explains: tuple[bool, ...]  # residual within the tolerance
    params: tuple[int, ...]  # affine parameters each fit needs (the report picks the fewest among those that explain)
    chosen: int | None  # index of the fit the report chose, None when no fit explains y
    tolerance: float  # the residual below which a fit explains y


def candidate_bars(r: AxisReport | None, letters: tuple[str, ...] | None = None, limit: int = MAX_BARS) -> CandidateBars:
    """The chosen fit, then the best other candidates of a report, ``limit`` in all."""
    if r is None:
        return CandidateBars((), (), (), (), None, float("nan"))
    cands = list(r.candidates)
    chosen = next((i for i, c in enumerate(cands) if c.residual <= r.tolerance and c.axes == r.axes
                   and c.name == r.variant and c.affine == r.affine and c.variance == r.variance
                   and c.num_groups == r.num_groups), None)
    if chosen is not None:  # the chosen fit first, then the rest best first
        cands.insert(0, cands.pop(chosen))
        chosen = 0
    cands = cands[:limit]
    return CandidateBars(
        labels=tuple(Msg("{label} ({n} params)", label=candidate_label(c, letters), n=c.params) if c.params
                     else candidate_label(c, letters) for c in cands),
        residuals=tuple(float(c.residual) for c in cands),
        explains=tuple(bool(c.residual <= r.tolerance) for c in cands),
        params=tuple(int(c.params) for c in cands),
        chosen=chosen,
        tolerance=float(r.tolerance),
    )


def candidates_chart(b: CandidateBars, scale: float = 1.0) -> go.Figure:
    """Horizontal bars of each hypothesis's residual (log scale), the tolerance as a dashed line."""
    title = N_("How well each hypothesis explains y: bars left of the dashed line do")
    if not b.labels:
        return _layout(go.Figure(), 200, scale, title=title)
    xs = [max(v, RESIDUAL_FLOOR) for v in b.residuals]
    colors = [CHOSEN if i == b.chosen else (EXPLAINS if e else FAILS) for i, e in enumerate(b.explains)]
    labels = [markup("<b>{label}</b>", label=t) if i == b.chosen else t for i, t in enumerate(b.labels)]
    fig = go.Figure(go.Bar(
        x=xs, y=labels, orientation="h", marker_color=colors, customdata=list(b.params),
        text=["0" if v == 0 else f"{v:.1e}" for v in b.residuals], textposition="outside", cliponaxis=False,
        hovertemplate=N_("%{y}: residual %{text}, %{customdata} affine parameters<extra></extra>"),
    ))
    fig.add_vline(x=b.tolerance, line_dash="dash", line_color="#c0392b",
                  annotation_text=Msg("tolerance {tol:.0e}", tol=b.tolerance), annotation_position="top")
    fig.update_xaxes(type="log", title_text=N_("relative residual ‖y − fit‖ / ‖y‖"), exponentformat="power")
    fig.update_yaxes(autorange="reversed", automargin=True)
    return _layout(fig, 110 + 30 * len(b.labels), scale, title=title, bargap=0.25)
