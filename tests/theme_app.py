"""A page for tests/test_browser_theme.py: a few figures drawn with Streamlit's plotly theme (``?draw=streamlit``:
``st.plotly_chart``'s default, the way vnviz drew every chart before) or as vnviz draws them now (``?draw=vnviz``: the
theme written into the figure, ``theme=None``, vnviz.ui.lang.plot). ``present=1`` applies presenter mode's CSS first."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from vnviz.figures.margins import settle_figure
from vnviz.ui.lang import plot
from vnviz.ui.presenter import CSS, is_presenting


ROOM = dict(l=140, r=170, t=100, b=130)


def figures() -> list[go.Figure]:
    """What vnviz's charts are made of: grids of bars with titles and reference lines, horizontal bars, heatmaps with
    their own and with shared colour scales, scatter markers and lines, a legend."""
    grid = make_subplots(rows=1, cols=3, subplot_titles=("<b>input</b>", "<b>a</b>", "<b>b</b>"))
    for col in (1, 2, 3):
        grid.add_bar(x=[-2, -1, 0, 1, 2], y=[3 * col, 40, 900, 40, 3], row=1, col=col, name=f"bars {col}")
        grid.add_hline(y=450, line_dash="dot", row=1, col=col)
    grid.update_xaxes(title_text="value")
    grid.update_yaxes(title_text="count", row=1, col=1)
    grid.update_layout(height=360, title="a grid")
    heat = make_subplots(rows=1, cols=2)
    heat.add_heatmap(z=[[1, 2, 3], [4, 5, 6]], coloraxis="coloraxis", row=1, col=1)
    heat.add_heatmap(z=[[6, 5, 4], [3, 2, 1]], coloraxis="coloraxis", row=1, col=2)
    heat.update_layout(height=380, coloraxis=dict(colorscale="RdBu"))
    own = go.Figure(go.Heatmap(z=[[0.1, 0.5], [0.9, 0.3]], xgap=1, ygap=1), layout=dict(height=300))
    own.update_xaxes(title_text="column", tickcolor="black")
    lines = go.Figure(layout=dict(height=300, legend=dict(orientation="h", y=1.1)))
    lines.add_scatter(x=[0, 1, 2, 3], y=[0.5, 0.7, 0.8, 0.85], mode="lines+markers", name="with the norm")
    lines.add_scatter(x=[0, 1, 2, 3], y=[0.3, 0.4, 0.6, 0.62], mode="lines", name="without")
    lines.add_scatter(x=[1, 2], y=[0.2, 0.9], mode="markers", marker=dict(color=[0.1, 0.9], colorscale="Viridis",
                                                                           showscale=False), name="points")
    bars = go.Figure(go.Bar(x=[3, 1, 2], y=["N", "C", "HW"], orientation="h"), layout=dict(height=250))
    figs = [grid, heat, own, lines, bars]
    for fig in figs:  # room for every label: plotly's auto-margins (which redraw a chart) stay out of the comparison
        fig.update_layout(margin=ROOM)
    return figs


if is_presenting():
    st.html(CSS)
for i, fig in enumerate(figures()):
    if st.query_params.get("draw") == "streamlit":
        st.plotly_chart(settle_figure(fig), key=f"chart_{i}")  # the theme as Streamlit applies it
    else:
        plot(fig, key=f"chart_{i}")  # the theme written in
