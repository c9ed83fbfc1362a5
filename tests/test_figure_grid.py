"""Figures built as dicts without plotly's validation (vnviz.figures.grid) are valid and what the validated calls make."""
from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest
import torch
from plotly.subplots import make_subplots

from vnviz.analysis.compare import compare_views, equivalences
from vnviz.analysis.view import explore_view
from vnviz.data import make_source
from vnviz.figures import compare
from vnviz.figures import norm as fig
from vnviz.figures.grid import Grid
from vnviz.figures.text import size_texts

CASES = [("gaussian", (4, 6, 8, 8), "batch_norm", {}, "N C H W"), ("images", None, "group_norm", {"num_groups": 1}, "N C H W"),
         ("tokens", None, "layer_norm", {}, "N L D"), ("iris", None, "batch_norm", {}, "N C"),
         ("shifted_channels", None, "group_norm", {"num_groups": 2}, "N C H W")]


def spec(f: go.Figure) -> dict:
    return json.loads(json.dumps(f.to_dict(), default=list))


def validated(f: go.Figure) -> dict:
    """The figure built again from its spec with every property validated (raises on an invalid one)."""
    return spec(go.Figure(f.to_dict()))


def figures(view, log_y: bool, scale: float) -> dict[str, go.Figure]:
    out = {
        "distributions": fig.distributions(view.before.hist, view.after.hist, log_y, scale),
        "facets": fig.facets(view.after.facets, "after, per channel", fig.AFTER_COLOR, log_y=log_y, scale=scale),
        "axis_profiles": fig.axis_profiles(view.before.axes, view.after.axes, scale),
        "group_map": fig.group_map(view.group_map, scale=scale),
        "group_heatmaps": fig.group_heatmaps(view.before.groups, view.after.groups, view.group_grid, ("sample", "group"),
                                             scale),
    }
    if view.group_map is not None:
        out["group_map highlighted"] = fig.group_map(view.group_map, highlight=view.group_map.drawn[-1], scale=scale)
    return out


@pytest.mark.parametrize("source, shape, name, params, layout", CASES)
def test_every_explore_figure_is_valid_as_built(source, shape, name, params, layout):
    view = explore_view(make_source(source, shape, 0).x, name, params, layout=layout)
    for log_y, scale in ((False, 1.0), (True, 1.6)):
        for what, f in figures(view, log_y, scale).items():
            assert validated(f) == spec(f), (source, name, what)  # validation would change (or refuse) nothing
            assert f.data and all(t.xaxis and t.yaxis for t in f.data), what  # every trace sits in a subplot


@pytest.mark.parametrize("source, layout", [("shifted_channels", "N C H W"), ("iris", "N C"), ("tokens", "N L D")])
def test_every_compare_figure_is_valid_as_built(source, layout):
    variants = [("batch_norm", {}), ("layer_norm", {}), ("instance_norm", {}), ("group_norm", {"num_groups": 2}),
                ("rms_norm", {}), ("cluster_norm", {"n_clusters": 2, "seed": 0})]
    cols = compare.columns(compare_views(make_source(source, None, 0).x, variants, layout=layout))
    for scale in (1.0, 1.6):
        for f in (compare.distributions_grid(cols, log_y=scale > 1, scale=scale), compare.axes_grid(cols, scale),
                  compare.groups_grid(cols, scale)):
            assert validated(f) == spec(f), source  # InstanceNorm cannot run on iris: its note and hidden axes too
    for eq in equivalences(make_source(source, None, 0).x):  # the diff heatmaps are dicts too
        for scale in (1.0, 1.6):
            f = compare.diff_heatmap(eq, scale)
            assert validated(f) == spec(f), (source, eq.title)
    notes = [a["text"] for a in compare.distributions_grid(cols).to_dict()["layout"]["annotations"]]
    assert ("cannot run<br>on this data" in notes) == (source == "iris")


def test_a_grid_is_what_make_subplots_add_trace_and_update_axes_make():
    x = [0.5, 1.5, 2.5]
    ref = make_subplots(rows=2, cols=3, subplot_titles=[f"t{i}" for i in range(5)], shared_xaxes=True,
                        vertical_spacing=0.12)
    grid = Grid(2, 3, [f"t{i}" for i in range(5)], shared_xaxes=True, vertical_spacing=0.12)
    for i in range(5):
        ref.add_trace(go.Bar(x=x, y=[i, i + 1, i + 2], marker_color="#123456", name=f"c{i}"), row=i // 3 + 1,
                      col=i % 3 + 1)
        grid.add("bar", i // 3 + 1, i % 3 + 1, x=x, y=[i, i + 1, i + 2], marker=dict(color="#123456"), name=f"c{i}")
    ref.update_yaxes(type="log", showticklabels=False)
    grid.yaxes(type="log", showticklabels=False)
    ref.update_xaxes(title_text="value", title_standoff=4, row=2, col=2)
    grid.xaxes(2, 2, title=dict(text="value", standoff=4))
    ref.update_layout(height=300, margin=dict(l=1, r=2, t=3, b=4), font=dict(size=9), bargap=0, showlegend=False,
                      title="all")
    size_texts(ref)  # every axis's texts sized: what Grid.finish does in its dict
    ref.update_layout(title_font=dict(color="#000000", size=12))
    ref.update_annotations(font=dict(color="#000000", size=8))
    built = grid.finish(300, dict(l=1, r=2, t=3, b=4), dict(size=9), dict(color="#000000", size=12),
                        dict(color="#000000", size=8), title="all", bargap=0, showlegend=False)
    assert spec(built) == spec(ref)
    assert built.data[4].xaxis == "x5" and built.layout.xaxis5.title.text == "value"  # a figure like any other


def test_the_named_colorscales_are_expanded_as_plotly_does():
    view = explore_view(torch.randn(4, 3, 5), "batch_norm", {})
    f = fig.group_heatmaps(view.before.groups, view.after.groups, view.group_grid)
    ref = go.Heatmap(colorscale="RdBu_r").to_plotly_json()["colorscale"]
    assert [list(p) for p in f.data[0].colorscale] == [list(p) for p in ref]
