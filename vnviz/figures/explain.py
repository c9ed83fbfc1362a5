"""The element inspector's figure: one sample's values and statistic groups, a selected element and its group.

``element_figure`` draws an ``ElementPicture`` (``vnviz.analysis.element_picture``):
left the values of x, right the group map, one cell per element. The
selected element's group is outlined on both (and the rest dimmed while a
step uses the group's values), the element itself boxed. Every cell carries
its full index into x as ``customdata`` on a layer of invisible markers
(plotly selects markers, not heatmap cells), so
``st.plotly_chart(fig, on_select="rerun", selection_mode="points")`` hands
the clicked element's index back as ``points[0]["customdata"]``.

Its texts are marked (vnviz.i18n) and translated by the UI (``vnviz.ui.lang.chart``).
"""
from __future__ import annotations

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from vnviz.analysis.element_picture import ElementPicture
from vnviz.errors import InputError
from vnviz.figures.norm import FONT_SIZE, GROUP_PALETTE, TITLE_COLOR
from vnviz.figures.text import size_texts
from vnviz.i18n import N_, Msg

VALUE_SCALE = "RdBu_r"  # diverging, 0 in white: negative blue, positive red
DIM_COLOR = "rgba(255,255,255,0.7)"  # laid over the cells outside the group while a step uses the group
OUTLINE_COLOR = "#111111"  # the group's outline
ELEMENT_COLOR = "#ffb000"  # the selected element's box
CELL_PX = 18  # height of one row of cells
MIN_HEIGHT = 300  # px, before the presenter scale


def _outline(mask: torch.Tensor) -> tuple[list, list]:
    """Line segments (x, y with None between them) along the border of the True cells of ``mask`` (R, P)."""
    r, p = mask.shape
    m = torch.zeros((r + 2, p + 2), dtype=torch.bool)
    m[1:-1, 1:-1] = mask
    xs: list = []
    ys: list = []
    rows, cols = torch.nonzero(m[1:, 1:-1] != m[:-1, 1:-1], as_tuple=True)  # edges between rows i-1 and i
    for i, j in zip(rows.tolist(), cols.tolist()):
        xs += [j - 0.5, j + 0.5, None]
        ys += [i - 0.5, i - 0.5, None]
    rows, cols = torch.nonzero(m[1:-1, 1:] != m[1:-1, :-1], as_tuple=True)  # edges between columns j-1 and j
    for i, j in zip(rows.tolist(), cols.tolist()):
        xs += [j - 0.5, j - 0.5, None]
        ys += [i - 0.5, i + 0.5, None]
    return xs, ys


def _ticks(labels: list[str], most: int = 12) -> dict:
    step = max(1, -(-len(labels) // most))
    return dict(tickvals=list(range(0, len(labels), step)), ticktext=labels[::step])


def element_figure(pic: ElementPicture, step: int | None = None, scale: float = 1.0) -> go.Figure:
    """x and the statistic groups of the selected element's sample, its group outlined, the element boxed.

    Args:
        pic: the summary (``element_picture``).
        step: the step to highlight, 1 to len(steps) as the step-through counts them (``step=2`` in a link:
            its mean): a step that uses the group's values dims every other cell, one that uses the element
            boxes it thicker; None shows the group and the element without a step.
        scale: presenter mode's size factor.

    Clicking a cell selects it: each cell's marker carries its full index into x
    as ``customdata``.
    """
    steps = pic.explanation.steps
    if step is not None and not (isinstance(step, int) and 1 <= step <= len(steps)):
        raise InputError("element_figure: step must be a whole number from 1 to {n}; got {step!r}.",
                         n=len(steps), step=step)
    current = steps[step - 1] if step is not None else None
    uses = current.uses if current is not None else ("group", "element")
    r, p = pic.values.shape
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=(Msg("x, sample {n}", n=pic.sample),
                                        Msg("statistic groups, sample {n}", n=pic.sample)))
    xs, ys = list(range(p)), list(range(r))
    values = pic.values.tolist()
    top = float(pic.values.abs().max()) if pic.values.numel() else 1.0
    fig.add_trace(go.Heatmap(z=values, x=xs, y=ys, colorscale=VALUE_SCALE, zmid=0.0, zmin=-top, zmax=top,
                             hoverinfo="skip", colorbar=dict(x=0.46, len=0.9, thickness=12)), row=1, col=1)
    k = len(GROUP_PALETTE)
    palette = [[i / (k - 1), color] for i, color in enumerate(GROUP_PALETTE)]
    fig.add_trace(go.Heatmap(z=(pic.groups % k).tolist(), x=xs, y=ys, colorscale=palette, zmin=0, zmax=k - 1,
                             showscale=False, hoverinfo="skip"), row=1, col=2)
    ox, oy = _outline(pic.in_group)
    sr, sc = pic.selected
    wide = "element" in uses
    index_text = "x[" + ", ".join(f"%{{customdata[{d}]}}" for d in range(pic.cell_index.shape[-1])) + "]"
    cells = pic.cell_index.reshape(r * p, -1).tolist()
    hover = [Msg("{value:.4g}, group {group}", value=v, group=g)
             for v, g in zip(pic.values.reshape(-1).tolist(), pic.groups.reshape(-1).tolist())]
    gx = [j for _ in range(r) for j in range(p)]
    gy = [i for i in range(r) for _ in range(p)]
    for col in (1, 2):
        if "group" in uses:
            fig.add_trace(go.Heatmap(z=(~pic.in_group).float().tolist(), x=xs, y=ys, zmin=0, zmax=1, showscale=False,
                                     colorscale=[[0, "rgba(0,0,0,0)"], [1, DIM_COLOR]], hoverinfo="skip"),
                          row=1, col=col)
        fig.add_trace(go.Scatter(x=ox, y=oy, mode="lines", line=dict(color=OUTLINE_COLOR, width=2),
                                 hoverinfo="skip", name=N_("group")), row=1, col=col)
        fig.add_shape(type="rect", x0=sc - 0.5, x1=sc + 0.5, y0=sr - 0.5, y1=sr + 0.5,
                      line=dict(color=ELEMENT_COLOR, width=4 if wide else 2), row=1, col=col)
        fig.add_trace(go.Scatter(
            x=gx, y=gy, mode="markers", customdata=cells, text=hover, name=N_("cells"),
            marker=dict(symbol="square", size=CELL_PX * scale, opacity=0),
            selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0)),
            hovertemplate=index_text + " = %{text}<extra></extra>"), row=1, col=col)
    channels = [str(c) for c in pic.rows.tolist()]
    positions = [str(q) for q in pic.cols.tolist()]
    fig.update_yaxes(title_text=N_("channel (dim 1)"), **_ticks(channels), row=1, col=1)
    fig.update_yaxes(showticklabels=False, ticks="", row=1, col=2)  # the channels on the left
    fig.update_xaxes(title_text=N_("position (dims 2.., flattened)") if pic.positions else "", **_ticks(positions))
    # the cells fill each panel exactly (row 0 on top), whatever the markers' size
    fig.update_xaxes(range=[-0.5, p - 0.5], showgrid=False, zeroline=False)
    fig.update_yaxes(range=[r - 0.5, -0.5], showgrid=False, zeroline=False)
    title = None
    if current is not None:
        if "running" in uses:
            title = Msg("Step {step} of {n}: {title} (the running statistics, not these values)", step=step,
                        n=len(steps), title=current.title)
        else:
            title = Msg("Step {step} of {n}: {title}", step=step, n=len(steps), title=current.title)
    height = max(MIN_HEIGHT, CELL_PX * r + 140)
    size_texts(fig, scale)
    fig.update_layout(
        height=int(height * scale), margin=dict(l=10, r=10, t=int((80 if title else 50) * scale), b=10),
        font=dict(size=int(FONT_SIZE * scale)), showlegend=False, clickmode="event+select", hovermode="closest",
        hoverdistance=-1, title=title, title_font=dict(color=TITLE_COLOR, size=int((FONT_SIZE + 3) * scale)),
    )
    fig.update_annotations(font=dict(color=TITLE_COLOR, size=int(FONT_SIZE * scale)))  # subplot titles, dark
    return fig
