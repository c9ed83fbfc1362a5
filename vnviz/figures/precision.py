"""The precision view: a norm computed in a low-precision dtype against float64 maths, in ulps.

``precision_figure(report)`` draws a ``PrecisionReport`` (``vnviz.analysis.precision``):
on the left the largest error of each statistic group in ulps, as the data
is given and the kernel's own share (the data rounded to the dtype first),
the worst groups ringed and the worst one named; on the right how many
outputs land in each bin of error in ulps (≤ ½ ulp is correctly rounded). It
only draws: every number comes from the report, whose size does not grow with
the data. Its texts are marked (vnviz.i18n) and translated by the UI (``vnviz.ui.lang.chart``).
"""
from __future__ import annotations

import math

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from vnviz.analysis.precision import PrecisionReport
from vnviz.figures.norm import AFTER_COLOR, BEFORE_COLOR, _layout
from vnviz.figures.text import markup
from vnviz.i18n import N_, Msg
from vnviz.variants.norms import dtype_name
from vnviz.variants.registry import get_variant

GIVEN_COLOR = AFTER_COLOR  # errors against float64 maths on the data as given
KERNEL_COLOR = "#e07b00"  # errors against float64 maths on the data rounded to the dtype: the kernel's share
WORST_COLOR = "#c62828"  # the worst groups' markers
LINE_COLOR = BEFORE_COLOR  # the ½-ulp and 1-ulp guides
ULP_FLOOR = 1e-3  # errors below this many ulps (exact results included) are drawn at it on the log axis
HEIGHT = 400  # px
LEGEND_ROOM = 90  # px under the plots for the axis title and the legend
TITLE_ROOM = 105  # px above the plots for the two-line title and the subplot titles
GIVEN_NAME = N_("data as given")
KERNEL_NAME = N_("kernel only (data rounded first)")


def ulp_bin_labels(edges: tuple[float, ...]) -> list[str]:
    """The histogram's bin labels: "≤ 0.5", "0.5–1", ..., "> 256"."""
    labels = [f"≤ {edges[0]:g}"] + [f"{a:g}–{b:g}" for a, b in zip(edges, edges[1:])]
    return labels + [f"> {edges[-1]:g}"]


def precision_figure(report: PrecisionReport, scale: float = 1.0) -> go.Figure:
    """Errors per statistic group in ulps (left) and the outputs' errors binned in ulps (right)."""
    name = dtype_name(report.dtype)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.64, 0.36], horizontal_spacing=0.09, subplot_titles=(
        Msg("largest error per group, in {dtype} ulps (max over blocks of {block} groups)", dtype=name,
            block=report.block) if report.block > 1 else
        Msg("largest error per group, in {dtype} ulps", dtype=name),
        N_("outputs by error in ulps"),  # (the bars' y axis: how many outputs)
    ))
    first = torch.arange(report.group_ulp.numel()) * report.block  # first group id of each point
    for values, label, color in ((report.group_ulp, GIVEN_NAME, GIVEN_COLOR),
                                 (report.group_kernel_ulp, KERNEL_NAME, KERNEL_COLOR)):
        fig.add_trace(go.Scatter(
            x=first.tolist(), y=values.clamp_min(ULP_FLOOR).tolist(), customdata=values.tolist(), mode="markers",
            name=label, marker=dict(color=color, size=6, opacity=0.8),
            hovertemplate=Msg("group %{{x}}: %{{customdata:.3g}} ulp<extra>{label}</extra>", label=label),
        ), row=1, col=1)
    worst = report.worst_groups
    fig.add_trace(go.Scatter(
        x=[g for g, _ in worst], y=[max(u, ULP_FLOOR) for _, u in worst], mode="markers+text",
        name=N_("worst groups"), text=[Msg("group {g}", g=g) for g, _ in worst[:1]] + [""] * max(0, len(worst) - 1),
        textposition="top center",
        cliponaxis=False,  # the worst one is named; the label of a group at either end is not cut off
        marker=dict(color=WORST_COLOR, size=10, symbol="circle-open", line=dict(width=2)),
        hovertemplate=N_("group %{x}: %{y:.3g} ulp<extra>worst</extra>"),
    ), row=1, col=1)
    for level in (0.5, 1.0):
        fig.add_hline(y=level, line=dict(color=LINE_COLOR, dash="dash", width=1), row=1, col=1)
    labels = ulp_bin_labels(report.ulp_edges)
    fig.add_trace(go.Bar(
        x=labels, y=report.ulp_counts.tolist(), name=N_("outputs"), marker_color=GIVEN_COLOR,
        hovertemplate=N_("%{x} ulp: %{y} outputs<extra></extra>"),
    ), row=1, col=2)
    fig.update_yaxes(type="log", dtick=1, title_text=N_("ulps"), row=1, col=1)  # a label per decade only
    fig.update_xaxes(title_text=N_("group id"), row=1, col=1)
    title = markup("{head}<br><sup>{sub}</sup>",  # two lines: the figure's width on a projector at 1024 px
                   head=Msg("{title} in {dtype}: max error {max_abs:.3g}", title=get_variant(report.variant).title,
                            dtype=name, max_abs=report.max_abs),
                   sub=Msg("{scaled:.2g} ε at the output's scale; kernel alone {kernel:.2g} ε",
                           scaled=report.max_scaled, kernel=report.kernel_max_scaled))
    fig = _layout(fig, HEIGHT, scale, title=title, showlegend=True,
                  legend=dict(orientation="h", yanchor="top", y=-0.3, x=0))
    fig.update_layout(margin=dict(t=int(TITLE_ROOM * scale), b=int(LEGEND_ROOM * scale)))
    top = max(1.0, float(report.group_ulp.max()), float(report.group_kernel_ulp.max()))
    fig.update_yaxes(range=[math.log10(ULP_FLOOR) - 0.2, math.log10(top) + 0.6], row=1, col=1)  # floor to worst
    return fig
