"""Streamlit's plotly theme written into the figures (vnviz.figures.theme), so that the browser draws each chart once.

The browser side (the theme is the one Streamlit hands plotly.js; a chart draws the same pixels either way) is
tests/test_browser_theme.py; these check the writing itself, and that every chart of every page is drawn through it.
"""
from __future__ import annotations

import re
from pathlib import Path

import plotly.graph_objects as go
import pytest
from apptest_support import charts, open_page
from plotly.subplots import make_subplots

from vnviz.figures.theme import GRID, ROOT_PX, SANS, digest, streamlit_theme, themed
from vnviz.ui.presenter import ROOT_PX as PRESENTER_ROOT_PX

ROOT = Path(__file__).resolve().parents[1]
QUERIES = {"compare": {"shape": "8,4,6,6", "section": "Equivalences"}, "slice_mask": {}}  # small data: quick runs


def spec(fig: go.Figure) -> dict:
    return themed(fig.to_dict())


def test_the_theme_fills_what_the_figure_leaves_unset_and_keeps_what_it_sets():
    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]), layout=dict(xaxis=dict(tickfont=dict(size=19.2)), height=300))
    s = spec(fig)
    x, y = s["layout"]["xaxis"], s["layout"]["yaxis"]
    assert x["tickfont"] == {"size": 19.2, "color": "#808495"}  # the figure's size, the theme's colour
    assert x["showgrid"] is False and y["gridcolor"] == GRID and y["automargin"] is True
    assert s["layout"]["font"]["family"] == SANS and s["layout"]["height"] == 300
    assert s["data"][0]["marker"] == {"line": {"width": 0}}  # the theme's scatter defaults
    assert "template" not in s["layout"]


def test_every_axis_and_shared_colour_scale_of_a_grid_gets_the_theme():
    fig = make_subplots(rows=1, cols=3)
    for col in (1, 2, 3):
        fig.add_bar(y=[1, 2], row=1, col=col)
    fig.add_heatmap(z=[[1, 2]], coloraxis="coloraxis2", row=1, col=3)
    s = spec(fig)
    for name in ("xaxis", "xaxis2", "xaxis3", "yaxis", "yaxis2", "yaxis3"):
        assert s["layout"][name]["automargin"] is True, name
    assert s["layout"]["coloraxis2"]["colorbar"]["thickness"] == 16  # referenced only by the trace: created
    # an axis only a trace names (no layout entry yet) is created too
    bare = themed({"data": [{"type": "bar", "y": [1], "xaxis": "x4", "yaxis": "y4"}], "layout": {}})
    assert bare["layout"]["xaxis4"]["tickfont"]["color"] == "#808495"


def test_switches_plotly_turns_on_for_a_given_colour_stay_as_the_template_leaves_them():
    """plotly.js shows ticks when a tick colour is given (not templated), the grid and zero line when their colour is,
    and the minor grid when its colour is: written in, the theme's colours must not switch them on."""
    fig = make_subplots(rows=1, cols=3)
    fig.add_scatter(y=[1, 2], row=1, col=1)
    fig.add_heatmap(z=[[1, 2], [3, 4]], row=1, col=2)  # heatmaps: outside ticks by default
    fig.add_bar(x=[1, 2], y=["a", "b"], orientation="h", row=1, col=3)  # a bar's position axis: no grid by default
    s = spec(fig)["layout"]
    assert s["xaxis"]["ticks"] == "" and s["yaxis"]["ticks"] == ""
    assert s["xaxis2"]["ticks"] == "outside" and s["yaxis2"]["ticks"] == "outside"
    assert s["yaxis"]["showgrid"] is True and s["yaxis"]["zeroline"] is True
    assert s["yaxis3"]["showgrid"] is False and s["yaxis3"]["zeroline"] is False
    assert s["xaxis"]["showgrid"] is False and s["xaxis"]["zeroline"] is False  # the theme's own x axis switches
    assert all(s[a]["minor"]["showgrid"] is False for a in ("xaxis", "yaxis", "xaxis2", "yaxis3"))
    # the figure's own choices win
    own = themed({"data": [{"type": "scatter", "y": [1]}],
                  "layout": {"yaxis": {"ticks": "inside", "showgrid": False, "minor": {"gridcolor": "red"}},
                             "xaxis": {"tickcolor": "black"}}})["layout"]
    assert own["yaxis"]["ticks"] == "inside" and own["yaxis"]["showgrid"] is False
    assert "showgrid" not in own["yaxis"]["minor"]  # a minor grid colour of its own: plotly decides, as before
    assert "ticks" not in own["xaxis"]  # a tick colour of its own shows ticks, as it did


def test_a_title_is_bold_as_the_theme_makes_it_and_only_when_there_is_one():
    assert spec(go.Figure(layout=dict(title="Counts")))["layout"]["title"]["text"] == "<b>Counts</b>"
    assert "text" not in spec(go.Figure())["layout"]["title"]  # the theme's title font, no title
    assert themed({"data": [], "layout": {"title": "plain"}})["layout"]["title"]["text"] == "<b>plain</b>"


def test_sizes_follow_the_root_font_and_nothing_else_does():
    small, big = streamlit_theme(ROOT_PX), streamlit_theme(22)

    def leaves(d, path=""):
        if isinstance(d, dict):
            for k, v in d.items():
                yield from leaves(v, f"{path}.{k}")
        elif isinstance(d, list) and d and isinstance(d[0], dict):
            for i, v in enumerate(d):
                yield from leaves(v, f"{path}[{i}]")
        else:
            yield path, d

    a, b = dict(leaves(small)), dict(leaves(big))
    scaled = {p for p in a if a[p] != b[p]}
    assert scaled and all(b[p] == pytest.approx(a[p] * 22 / ROOT_PX) for p in scaled)
    assert all(re.search(r"(size|standoff|pad|xpad|\.l)$", p) for p in scaled), sorted(scaled)
    assert a[".layout.yaxis.title.standoff"] == 24 and b[".layout.yaxis.title.standoff"] == 33


def test_the_data_revision_is_a_digest_of_the_data():
    one = spec(go.Figure(go.Bar(y=[1, 2, 3])))
    same = spec(go.Figure(go.Bar(y=[1, 2, 3]), layout=dict(height=200)))
    other = spec(go.Figure(go.Bar(y=[1, 2, 4])))
    assert one["layout"]["datarevision"] == same["layout"]["datarevision"] == digest(one["data"])
    assert other["layout"]["datarevision"] != one["layout"]["datarevision"]


def test_no_page_draws_a_chart_except_through_lang_plot():
    """st.plotly_chart's own theme would bring the template back, and with it the second draw."""
    offenders = []
    for path in [*ROOT.glob("app_pages/*.py"), ROOT / "app.py", *ROOT.glob("vnviz/**/*.py")]:
        if path == ROOT / "vnviz/ui/lang.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            if re.search(r"\.plotly_chart\(", line) and "``" not in line:
                offenders.append(f"{path.relative_to(ROOT)}:{n}")
    assert not offenders, offenders


@pytest.mark.parametrize("page", ["compare", "slice_mask"])
def test_a_page_sends_its_charts_themed_without_a_template(page):
    at = open_page(str(ROOT / "app_pages" / f"{page}.py"), QUERIES[page])
    protos = list(at.get("plotly_chart"))
    assert protos
    assert all(p.proto.theme == "" for p in protos)  # theme=None
    for fig in charts(at):
        assert fig["layout"].get("template") is None and fig["layout"]["datarevision"]
        assert fig["layout"]["font"]["family"] == SANS


def test_presenter_mode_writes_the_theme_at_its_root_font():
    """Presenter mode's CSS sets the root font to 22 px; Streamlit converted the theme's rem sizes at whatever root the
    page had when it drew (16 px when the chart came first): written in, they are always presenter mode's."""
    at = open_page(str(ROOT / "app_pages" / "compare.py"), {**QUERIES["compare"], "present": "1"})
    for fig in charts(at):
        assert fig["layout"]["margin"]["pad"] == 0.5 * PRESENTER_ROOT_PX
        assert all(fig["layout"][a]["title"]["standoff"] == 1.5 * PRESENTER_ROOT_PX
                   for a in fig["layout"] if a.startswith("yaxis"))


def test_presenter_root_font_is_the_one_its_css_sets():
    from vnviz.ui.presenter import CSS

    assert f"html {{ font-size: {PRESENTER_ROOT_PX}px; }}" in CSS
