"""vnviz.figures.margins: the estimated room of a figure's labels, checked against what plotly writes and draws.

The label rules are plotly's (tick spacing, SI suffixes, log decades); the widths were measured in
Chromium (tests/test_browser_margins.py checks the drawn charts themselves)."""
from __future__ import annotations

import plotly.graph_objects as go

from vnviz.figures.margins import linear_labels, log_labels, settle, settle_figure, text_px


def test_linear_labels_follow_plotlys_suffixes_and_decimals():
    assert linear_labels(0, 12_000, 400)[-1].endswith("k")  # past 10^4: thousands as k
    assert "6000" in linear_labels(0, 6_500, 400)  # under 10^4: written out
    assert linear_labels(-4.2, 4.1, 300)[0].startswith("−")  # plotly's minus sign
    assert any(s.endswith("µ") for s in linear_labels(0, 0.0004, 300))  # under 10^-3: SI
    assert "0.002" in linear_labels(0, 0.01, 300)
    assert all("." not in s for s in linear_labels(0, 7, 200))  # whole steps: no decimals


def test_log_labels_are_decades():
    assert log_labels(1, 1e5) == ["1", "10", "100", "1000", "10k", "100k"]
    assert log_labels(0.01, 1) == ["0.01", "0.1", "1"]


def test_text_width_grows_with_characters_and_size():
    assert abs(text_px("10k", 12) - 18) < 1  # Chromium drew it 18 px wide in Source Sans at 12 px
    assert text_px("10k", 24) == 2 * text_px("10k", 12)
    assert text_px("通道", 12) > text_px("ab", 12)


def _figure(y, title="count", **layout):
    fig = go.Figure(go.Bar(x=list(range(len(y))), y=y))
    fig.update_layout(margin=dict(l=10, r=10, t=40, b=10), height=300, **layout)
    fig.update_yaxes(title_text=title, tickfont_size=12, title_font_size=14)
    fig.update_xaxes(title_text="value", tickfont_size=12, title_font_size=14)
    return fig


def test_margins_hold_the_outer_axes_and_grow_with_their_labels():
    small = settle(_figure([1, 2, 3]).to_dict())["layout"]["margin"]
    big = settle(_figure([1, 200_000, 3_000_000]).to_dict())["layout"]["margin"]
    untitled = settle(_figure([1, 2, 3], title=None).to_dict())["layout"]["margin"]
    assert small["l"] > 50 and small["b"] > 50 and small["t"] == 40  # labels and titles; the top as asked
    assert big["l"] > small["l"] > untitled["l"]
    assert big["b"] == small["b"]


def test_margins_are_never_lowered_and_settling_twice_changes_nothing():
    fig = _figure([1, 2, 3]).update_layout(margin=dict(l=300, b=200))
    once = settle(fig.to_dict())
    assert once["layout"]["margin"]["l"] == 300 and once["layout"]["margin"]["b"] == 200
    assert settle(once) == once


def test_colour_bars_and_right_legends_take_room_on_the_right():
    heat = go.Figure(go.Heatmap(z=[[0, 0.004], [0.01, 0]], colorbar=dict(title=dict(text="|diff|", side="right"))))
    heat.update_layout(margin=dict(l=10, r=10, t=40, b=10), height=300)
    assert settle(heat.to_dict())["layout"]["margin"]["r"] > 90
    two = go.Figure([go.Scatter(y=[1, 2], name="a rather long legend name"), go.Scatter(y=[2, 1], name="b")])
    two.update_layout(margin=dict(l=10, r=10, t=40, b=10), height=300)
    assert settle(two.to_dict())["layout"]["margin"]["r"] > text_px("a rather long legend name", 12)


def test_settle_figure_sets_the_margins_on_a_figure_and_leaves_other_things_alone():
    fig = _figure([1, 2, 3])
    assert settle_figure(fig) is fig and fig.layout.margin.l > 50
    assert settle_figure({"data": []}) == {"data": []}


def test_named_heatmaps_make_no_legend_room():
    fig = go.Figure([go.Heatmap(z=[[0, 1]], name="x[0]", showscale=False),
                     go.Heatmap(z=[[1, 0]], name="masked[0]", showscale=False)])
    fig.update_layout(margin=dict(l=10, r=10, t=40, b=10), height=300, legend=dict(orientation="h", y=1.14))
    margin = settle(fig.to_dict())["layout"]["margin"]
    assert margin["t"] == 40 and margin["r"] < 40  # plotly draws no legend for them: no band above, none right


def test_colour_bars_at_plotlys_default_place_are_pinned_to_the_plots_edge():
    heat = go.Figure([go.Heatmap(z=[[0, 1]]), go.Heatmap(z=[[1, 0]], colorbar=dict(x=0.46))])
    heat.update_layout(margin=dict(l=10, r=10, t=40, b=10), height=300)
    spec = settle(heat.to_dict())
    assert spec["data"][0]["colorbar"]["x"] == 1.0  # its room no longer grows with the plot's width
    assert spec["data"][1]["colorbar"]["x"] == 0.46  # placed by its builder: kept
    assert settle_figure(heat).data[0].colorbar.x == 1.0 and heat.data[1].colorbar.x == 0.46


def test_a_legend_below_the_plot_leaves_the_bottom_margin_to_plotly():
    # a wider bottom margin would shorten the plot and lift a legend at y < 0 into the x axis's title
    with_legend = _figure([1, 2, 3]).update_layout(showlegend=True, legend=dict(orientation="h", y=-0.18))
    assert settle(with_legend.to_dict())["layout"]["margin"]["b"] == settle(_figure([1, 2, 3]).to_dict())["layout"][
        "margin"]["b"]
