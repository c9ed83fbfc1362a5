"""Plotly figures for the ClusterNorm page: a ``ClusterView`` in, ``go.Figure`` out.

Cluster k has the same colour in every figure (``cluster_color``); noise is
grey. The builders read the view's small summaries only, so a figure's size
is bounded by the constants of ``vnviz.analysis.cluster_view``.
"""
from __future__ import annotations

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from vnviz.analysis.cluster_view import NOISE, SIDES, ClusterView, row_name
from vnviz.figures.norm import AFTER_COLOR, BEFORE_COLOR, FONT_SIZE, GROUP_PALETTE, TITLE_COLOR
from vnviz.figures.text import markup, size_texts
from vnviz.i18n import N_, Msg, plural_msg

NOISE_COLOR = "#b0b0b0"  # noise samples (label -1)
KEY_COLOR = "#555555"  # legend markers of the true classes
BN_COLOR = "#e07b39"  # BatchNorm wherever it is compared with ClusterNorm
SIDE_COLORS = {"before": BEFORE_COLOR, "BatchNorm": BN_COLOR, "ClusterNorm": AFTER_COLOR}
SIDE_NAMES = {"before": N_("before"), "BatchNorm": N_("BatchNorm"), "ClusterNorm": N_("ClusterNorm")}  # shown
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "x", "star", "pentagon", "hexagon",
           "triangle-down")  # marker symbol per true class (class % len)
MARKER_SIZE = 7  # scatter marker px
SCATTER_HEIGHT = 460  # px
SIZES_HEIGHT = SCATTER_HEIGHT  # px, drawn next to the scatter
HIST_ROW_HEIGHT = 120  # px per cluster row of the histograms
STATS_ROW_HEIGHT = 170  # px per side row of the statistics
MARGIN = dict(l=10, r=10, t=60, b=10)


def cluster_color(k: int) -> str:
    """The colour of cluster ``k`` (grey for noise), the same in every figure of the page."""
    return NOISE_COLOR if k == NOISE else GROUP_PALETTE[k % len(GROUP_PALETTE)]


def _layout(fig: go.Figure, height: int, scale: float = 1.0, **kw) -> go.Figure:
    fig.update_layout(height=int(height * scale), margin=MARGIN, font=dict(size=int(FONT_SIZE * scale)),
                      showlegend=kw.pop("showlegend", False), **kw)
    size_texts(fig, scale)
    fig.update_layout(title_font_color=TITLE_COLOR)
    for a in fig.layout.annotations:  # subplot titles in the page's text colour, not plotly's light grey
        a.font.color = a.font.color or TITLE_COLOR
    return fig


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def _key(name: str, color: str, symbol: str, group: str) -> go.Scatter:
    """A legend entry only (no points): the scatter's traces mix symbols, so the legend gets its own markers."""
    return go.Scatter(x=[None], y=[None], mode="markers", name=name, legendgroup=group, hoverinfo="skip",
                      marker=dict(color=color, symbol=symbol, size=MARKER_SIZE + 2))


def scatter(view: ClusterView, scale: float = 1.0) -> go.Figure:
    """The samples on their top two principal axes: colour = cluster, symbol = true class (when known).

    In soft mode a marker's opacity is its largest posterior, so samples the
    mixture is unsure about fade.
    """
    pts, lab = view.points, view.point_labels
    title = N_("Samples on their top two principal axes: colour = cluster, shape = true class") \
        if view.point_true is not None else N_("Samples on their top two principal axes: colour = cluster")
    if pts.shape[0] == 0:
        return _layout(go.Figure(), SCATTER_HEIGHT, scale, title=title)
    fig = go.Figure()
    for k in sorted(set(lab.tolist()), key=lambda k: (k == NOISE, k)):  # noise last
        m = lab == k
        true = view.point_true[m] if view.point_true is not None else None
        conf = view.point_conf[m] if view.point_conf is not None else None
        custom = torch.stack([true.double() if true is not None else m[m].double() * -1,
                              conf.double() if conf is not None else m[m].double()], 1)  # (P_k, 2) class, posterior
        hover = [row_name(k)]
        if true is not None:
            hover.append(N_("true class %{customdata[0]}"))
        if conf is not None:
            hover.append(N_("largest posterior %{customdata[1]:.2f}"))
        color = cluster_color(k)
        fig.add_trace(go.Scatter(
            x=pts[m, 0].tolist(), y=pts[m, 1].tolist(), mode="markers", name=row_name(k), legendgroup=f"c{k}",
            showlegend=False,
            marker=dict(color=color, size=MARKER_SIZE * scale, line=dict(width=0.5, color="white"),
                        symbol=[SYMBOLS[t % len(SYMBOLS)] for t in true.tolist()] if true is not None else "circle",
                        opacity=conf.clamp(0.15, 1).tolist() if conf is not None else 0.85),
            customdata=custom.tolist(), hovertemplate=markup("{hover}<extra></extra>", hover=Msg.join(hover, ", "))))
        fig.add_trace(_key(row_name(k), color, "circle", f"c{k}"))  # the legend: a plain circle per cluster
    if view.point_true is not None:
        for t in sorted(set(view.point_true.tolist()))[: len(SYMBOLS)]:
            fig.add_trace(_key(Msg("class {t}", t=t), KEY_COLOR, SYMBOLS[t % len(SYMBOLS)], "classes"))
    fig.update_xaxes(title_text=Msg("PC1 ({pct} of the variance)", pct=_pct(view.explained[0])), zeroline=False)
    fig.update_yaxes(title_text=Msg("PC2 ({pct} of the variance)", pct=_pct(view.explained[1])), zeroline=False)
    return _layout(fig, SCATTER_HEIGHT, scale, title=title, showlegend=True,
                   legend=dict(title_text=N_("colour: cluster<br>shape: true class") if view.point_true is not None
                               else N_("colour: cluster"), itemsizing="constant", tracegroupgap=2))


def sizes(view: ClusterView, scale: float = 1.0) -> go.Figure:
    """Samples per cluster (and noise), one bar each, in the clusters' colours."""
    ids = view.size_ids.tolist()
    counts = view.sizes.tolist()
    if view.n_noise:
        ids, counts = ids + [NOISE], counts + [view.n_noise]
    clusters = plural_msg("{n} cluster", "{n} clusters", view.n_clusters, n=view.n_clusters)
    if view.n_noise:
        title = Msg("Cluster sizes ({clusters}, {noise} noise, {n} samples)", clusters=clusters, noise=view.n_noise,
                    n=view.n_samples)
    else:
        title = Msg("Cluster sizes ({clusters}, {n} samples)", clusters=clusters, n=view.n_samples)
    if not ids:
        return _layout(go.Figure(), SIZES_HEIGHT, scale, title=title)
    names = [N_("noise") if k == NOISE else str(k) for k in ids]
    fig = go.Figure(go.Bar(x=names, y=counts, marker_color=[cluster_color(k) for k in ids], text=counts,
                           textposition="auto", hovertemplate=N_("cluster %{x}: %{y} samples<extra></extra>")))
    fig.update_yaxes(title_text=N_("samples"))
    fig.update_xaxes(type="category", title_text=N_("cluster"))
    return _layout(fig, SIZES_HEIGHT, scale, title=title)


def histograms(view: ClusterView, channel: int = 0, scale: float = 1.0) -> go.Figure:
    """One row per cluster: channel ``channel`` after BatchNorm | after ClusterNorm, on the same bins.

    BatchNorm uses the whole batch's statistics, so each cluster stays off
    centre (the modes stay apart, or overlap); ClusterNorm centres every
    cluster on 0 with spread 1. The dashed line marks 0.
    """
    rows = view.rows
    h = view.hists
    title = Msg("Channel {channel} per cluster: after BatchNorm | after ClusterNorm (same bins)", channel=channel)
    if not rows or not 0 <= channel < h.edges.shape[0]:
        return _layout(go.Figure(), 200, scale, title=title)
    edges = h.edges[channel]
    centers = ((edges[:-1] + edges[1:]) / 2).tolist()
    width = float(edges[1] - edges[0])
    fig = make_subplots(rows=len(rows), cols=2, shared_xaxes="all", shared_yaxes=True,
                        column_titles=[N_("after BatchNorm"), N_("after ClusterNorm")], row_titles=[row_name(k) for k in rows],
                        horizontal_spacing=0.04, vertical_spacing=min(0.06, 0.3 / len(rows)))
    for r, k in enumerate(rows):
        for col, (counts, side) in enumerate(((h.bn, "BatchNorm"), (h.cn, "ClusterNorm")), start=1):
            fig.add_trace(go.Bar(x=centers, y=counts[channel, r].tolist(), width=width, marker_color=cluster_color(k),
                                 name=row_name(k), hovertemplate=Msg("%{{x:.3g}}: %{{y}} values<extra>{cluster}, "
                                                                     "after {side}</extra>", cluster=row_name(k),
                                                                     side=SIDE_NAMES[side])), row=r + 1, col=col)
    fig.add_vline(x=0, line_dash="dash", line_color="#444", line_width=1, row="all", col="all")
    fig.update_xaxes(title_text=Msg("channel {channel} value", channel=channel), row=len(rows))
    fig.update_yaxes(showticklabels=False)
    fig.update_annotations(font_size=int(12 * scale))
    return _layout(fig, 90 + HIST_ROW_HEIGHT * len(rows), scale, title=title, bargap=0)


def statistics(view: ClusterView, scale: float = 1.0) -> go.Figure:
    """Per-cluster channel mean ± std: rows before | after BatchNorm | after ClusterNorm, one column per cluster.

    After ClusterNorm every bar is 0 with error bars ±1; after BatchNorm the
    clusters keep their own offsets and spreads.
    """
    rows = view.rows
    title = N_("Per-cluster mean ± std of each channel")
    if not rows:
        return _layout(go.Figure(), 200, scale, title=title)
    cs = view.channels
    channels = list(range(cs))
    fig = make_subplots(rows=len(SIDES), cols=len(rows), shared_yaxes=True, shared_xaxes=True,
                        column_titles=[row_name(k) for k in rows], row_titles=[SIDE_NAMES[s] for s in SIDES],
                        horizontal_spacing=0.02, vertical_spacing=0.08)
    for s, side in enumerate(SIDES):
        for c, k in enumerate(rows):
            mean = view.stats.mean[s, c].tolist()
            std = view.stats.std[s, c].tolist()
            fig.add_trace(go.Bar(
                x=channels, y=mean, error_y=dict(type="data", array=std, thickness=1.2, width=2),
                marker_color=SIDE_COLORS[side], name=SIDE_NAMES[side],
                hovertemplate=Msg("{cluster}, channel %{{x}}: mean %{{y:.3g}}, std %{{error_y.array:.3g}}"
                                  "<extra>{side}</extra>", cluster=row_name(k), side=SIDE_NAMES[side])),
                row=s + 1, col=c + 1)
    fig.update_xaxes(title_text=N_("channel"), row=len(SIDES), dtick=1 if cs <= 16 else None)
    fig.update_annotations(font_size=int(12 * scale))
    return _layout(fig, 80 + STATS_ROW_HEIGHT * len(SIDES), scale, title=title, bargap=0.15)
