"""Streamlit's plotly theme written into each figure, so that the browser draws a chart once, not twice.

``st.plotly_chart(theme="streamlit")`` sends a figure with plotly.py's "streamlit" template, and the
browser (Streamlit 1.67's PlotlyChart) merges its theme's colours, fonts and sizes into that template.
Right after the first draw it applies the theme again, to a JSON copy of the figure: the copy's
template is a new object and its data arrays are new arrays, and plotly.js's ``react`` takes either
for new data and draws the whole chart again. Every chart on every page was drawn twice that way
(issue 13; docs/benchmarks.md section 8).

``themed(spec)`` writes the same theme into the figure itself, as plotly.js applies a template:
each x and y axis, shared colour scale, ternary plot and trace gets the theme's value wherever the
figure sets none, and the rest of the layout (fonts, legend, hover labels, colours, margins' pad)
likewise; a figure title is bold, as the theme makes it. Where plotly.js treats a given value unlike a
templated one (a given tick, grid or zero-line colour turns those lines on: ``Lib.coerce2``), the switches are
set as the template leaves them. The template is dropped and
``layout.datarevision`` is set to a digest of the data, so that plotly.js compares the copy by value
and finds nothing to draw again; new data has a new digest. vnviz.ui.lang.plot sends the result with
``theme=None``. The look is the theme's: tests/test_browser_theme.py checks, in the browser, that
``streamlit_theme()`` is what Streamlit hands plotly.js and that a chart draws the same pixels both ways.

The theme's sizes are rem of the page's root font, which Streamlit converts when it draws: 16 px, and
22 px in presenter mode (vnviz.ui.presenter's CSS); ``streamlit_theme(root_px)`` gives them at a root.
Two values of Streamlit's that plotly does not know (``title.color``, ``title.subtitleColor``) are left out, and
so is its one exception (icicle and sankey text colours dropped when a figure sets its font colour): vnviz draws
neither.
"""
from __future__ import annotations

import copy
import hashlib
from typing import Any

ROOT_PX = 16.0  # Streamlit's root font size

SANS = '"Source Sans", sans-serif, "Source Sans", sans-serif'  # its body font (the family as it writes it)
GRAY = "#808495"  # its gray text: ticks, axis titles, plain text
GRID = "#e6eaf1"  # grid, zero and tick lines
HEADING = "#2F2D2B"
BODY = "#262730"
BG = "#FFFFFF"
BORDER = "#DCD8D4"
CATEGORICAL = ["#0068c9", "#83c9ff", "#ff2b2b", "#ffabab", "#29b09d", "#7defa1", "#ff8700", "#ffd16a", "#6d3fc0",
               "#d5dae5"]
SEQUENTIAL = ["#e4f5ff", "#c7ebff", "#a6dcff", "#83c9ff", "#60b4ff", "#3d9df3", "#1c83e1", "#0068c9", "#0054a3",
              "#004280"]
DIVERGING = ["#7d353b", "#bd4043", "#ff4b4b", "#ff8c8c", "#ffc7c7", "#a6dcff", "#60b4ff", "#1c83e1", "#0054a3",
             "#004280"]
CARTESIAN = {"scatter", "scattergl", "bar", "heatmap", "histogram", "histogram2d", "histogram2dcontour", "contour",
             "box", "violin", "image", "funnel", "waterfall", "ohlc", "candlestick"}  # traces on x and y axes
MAPS_2D = {"heatmap", "histogram2d", "histogram2dcontour", "contour", "image"}  # plotly's "2dMap" traces
ORIENTED = {"bar", "box", "histogram", "violin", "funnel", "waterfall"}  # plotly's "oriented" traces
SUBPLOTS = ("xaxis", "yaxis", "coloraxis", "ternary")  # the theme's layout parts that apply to each of their kind


def _scale(colors: list[str]) -> list[list[Any]]:
    return [[i / (len(colors) - 1), c] for i, c in enumerate(colors)]


def streamlit_theme(root_px: float = ROOT_PX) -> dict[str, Any]:
    """The template Streamlit's light theme hands plotly.js, with its rem sizes at a root font of ``root_px``."""
    def rem(x: float) -> float:
        return x * root_px

    seq, div = _scale(SEQUENTIAL), _scale(DIVERGING)
    tick = {"color": GRAY, "size": rem(0.75)}
    axis_title = {"color": GRAY, "size": rem(0.875)}
    ternary_axis = {"gridcolor": GRAY, "linecolor": GRAY, "tickfont": {"family": SANS, "size": rem(0.75)}}
    layout = {
        "coloraxis": {"colorscale": seq, "colorbar": {
            "thickness": 16, "xpad": rem(1.5), "ticklabelposition": "outside", "outlinecolor": "transparent",
            "outlinewidth": 8, "len": 0.75, "y": 0.5745, "title": {"font": dict(axis_title)}, "tickfont": dict(tick)}},
        "colorscale": {"diverging": div, "sequential": seq, "sequentialminus": seq},
        "colorway": CATEGORICAL,
        "font": {"color": GRAY, "family": SANS, "size": rem(0.75), "weight": 400},
        "title": {"font": {"family": SANS, "size": rem(1.0), "color": HEADING}, "pad": {"l": rem(0.25)},
                  "xanchor": "left", "x": 0},
        "legend": {"title": {"font": {"size": rem(0.75), "color": GRAY}, "side": "top"}, "valign": "top",
                   "bordercolor": "transparent", "borderwidth": 0, "font": {"size": rem(0.75), "color": BODY}},
        "paper_bgcolor": BG,
        "plot_bgcolor": BG,
        "yaxis": {"ticklabelposition": "outside", "zerolinecolor": GRID,
                  "title": {"font": dict(axis_title), "standoff": rem(1.5)}, "tickcolor": GRID,
                  "tickfont": dict(tick), "gridcolor": GRID, "minor": {"gridcolor": GRID}, "automargin": True},
        "xaxis": {"zerolinecolor": GRID, "gridcolor": GRID, "showgrid": False, "tickfont": dict(tick),
                  "tickcolor": GRID, "title": {"font": dict(axis_title), "standoff": rem(1.25)},
                  "minor": {"gridcolor": GRID}, "zeroline": False, "automargin": True,
                  "rangeselector": {"bgcolor": BG, "bordercolor": GRID, "borderwidth": 1, "x": 0}},
        "margin": {"pad": rem(0.5), "r": 0, "l": 0},
        "hoverlabel": {"bgcolor": BG, "bordercolor": BORDER, "font": {"color": GRAY, "family": SANS,
                                                                       "size": rem(0.75)}},
        "ternary": {"gridcolor": GRAY, "bgcolor": BG, "title": {"font": {"family": SANS, "size": rem(0.875)}},
                    "color": GRAY, "aaxis": dict(ternary_axis), "baxis": copy.deepcopy(ternary_axis),
                    "caxis": copy.deepcopy(ternary_axis)},
    }
    line = "rgba(47, 45, 43, 0.1)"
    data = {
        "candlestick": [{"decreasing": {"line": {"color": "#ff2b2b"}}, "increasing": {"line": {"color": "#29b09d"}}}],
        "contourcarpet": [{"colorscale": seq}], "contour": [{"colorscale": seq}], "heatmap": [{"colorscale": seq}],
        "histogram2d": [{"colorscale": seq}],
        "icicle": [{"textfont": {"color": "white"}}], "sankey": [{"textfont": {"color": GRAY}}],
        "scatter": [{"marker": {"line": {"width": 0}}}],
        "table": [{"cells": {"fill": {"color": BG}, "font": {"color": BODY}, "line": {"color": line}},
                   "header": {"fill": {"color": "rgba(252, 252, 251, 1)"}, "font": {"color": GRAY},
                              "line": {"color": line}}}],
        "waterfall": [{"connector": {"line": {"color": GRAY, "width": 2}}, "decreasing": {"marker": {"color": "#ff2b2b"}},
                       "increasing": {"marker": {"color": "#29b09d"}}, "totals": {"marker": {"color": "#0068c9"}}}],
    }
    return {"layout": layout, "data": data}


def _under(ours: dict, theirs: dict) -> None:
    """Fill ``ours`` with ``theirs`` wherever ``ours`` sets nothing (dicts merged, any other value kept), in place."""
    for key, value in theirs.items():
        mine = ours.get(key)
        if mine is None:
            ours[key] = copy.deepcopy(value)
        elif isinstance(mine, dict) and isinstance(value, dict):
            _under(mine, value)


def _axis_defaults(traces: list[dict]) -> tuple[set[str], set[str]]:
    """The axes plotly.js gives outside ticks by default (those of heatmap-like traces) and those it gives no grid
    by default (the position axis of bars and boxes)."""
    outer: set[str] = set()
    no_grid: set[str] = set()
    for tr in traces:
        kind, axes = tr.get("type", "scatter"), _axes_of(tr)
        if axes is None:
            continue
        x, y = axes
        if kind in MAPS_2D:
            outer |= {x, y}
        if kind in ORIENTED:
            across = tr.get("orientation") or ("h" if tr.get("x") is not None and tr.get("y") is None else "v")
            no_grid.add(y if across == "h" else x)
    return outer, no_grid


def _as_from_template(axis: dict, theme_axis: dict, outer_ticks: bool, grid: bool) -> None:
    """Set the switches plotly.js turns on when a tick, grid or zero-line colour is *given* rather than templated
    (``Lib.coerce2``) to what the template leaves them at: ticks shown only on heatmap-like axes, the grid and zero
    line where plotly draws them by default (``grid``), no minor grid. A switch the figure sets, or a colour or width
    it gives itself, is left alone (in place)."""
    def unset(switch: str, given: tuple[str, ...], holder: dict = axis, theirs: dict = theme_axis) -> bool:
        return switch not in holder and switch not in theirs and not any(k in holder for k in given)

    if any(k in theme_axis for k in ("tickcolor", "ticklen", "tickwidth")) and unset(
            "ticks", ("tickcolor", "ticklen", "tickwidth")):
        axis["ticks"] = "outside" if outer_ticks else ""
    if any(k in theme_axis for k in ("gridcolor", "gridwidth", "griddash")) and unset(
            "showgrid", ("gridcolor", "gridwidth", "griddash")):
        axis["showgrid"] = grid
    if any(k in theme_axis for k in ("zerolinecolor", "zerolinewidth")) and unset(
            "zeroline", ("zerolinecolor", "zerolinewidth")):
        axis["zeroline"] = grid
    minor = axis.get("minor") or {}
    if "minor" in theme_axis and unset("showgrid", ("gridcolor", "gridwidth", "griddash"), minor, theme_axis["minor"]):
        axis["minor"] = {**minor, "showgrid": False}


def _axes_of(trace: dict) -> tuple[str, str] | None:
    """The x and y axes a trace draws on (``xaxis2``, ``yaxis2``), or None when it has none (3D, pies, tables)."""
    if trace.get("type", "scatter") not in CARTESIAN:
        return None
    return "xaxis" + (trace.get("xaxis") or "x")[1:], "yaxis" + (trace.get("yaxis") or "y")[1:]


def _used(traces: list[dict]) -> set[str]:
    """The axes and shared colour scales the traces draw on (``xaxis2``, ``coloraxis``, ...)."""
    names: set[str] = set()
    for tr in traces:
        names.update(_axes_of(tr) or ())
        for holder in (tr, tr.get("marker") or {}):
            if isinstance(holder.get("coloraxis"), str):
                names.add(holder["coloraxis"])
    return names


def digest(data: list[dict]) -> str:
    """A short digest of a figure's traces (its ``layout.datarevision``): new data, a new digest."""
    from plotly.io.json import to_json_plotly

    return hashlib.blake2b(to_json_plotly(data).encode(), digest_size=8).hexdigest()


def themed(spec: dict, root_px: float = ROOT_PX) -> dict:
    """``spec`` (a figure as a dict) with Streamlit's theme written in, its template dropped and its
    ``datarevision`` set (in place; returned)."""
    theme = streamlit_theme(root_px)
    layout = spec.setdefault("layout", {})
    traces = spec.setdefault("data", [])
    layout.pop("template", None)
    title = layout.get("title")
    if isinstance(title, str):
        layout["title"] = {"text": title}
    titled = title is not None  # the theme bolds a title the figure has (even an empty one), as Streamlit's does
    outer, no_grid = _axis_defaults(traces)
    for name in sorted(_used(traces) - set(layout)):
        layout[name] = {}
    for key, value in theme["layout"].items():
        names = [k for k in layout if k.rstrip("0123456789") == key] if key in SUBPLOTS else [key]
        for name in names:
            if key in ("xaxis", "yaxis") and isinstance(layout.get(name), dict):
                _as_from_template(layout[name], value, name in outer, name not in no_grid)
            if not isinstance(value, dict):
                if layout.get(name) is None:
                    layout[name] = copy.deepcopy(value)
            elif layout.get(name) is None or isinstance(layout[name], dict):
                if layout.get(name) is None:
                    layout[name] = {}
                _under(layout[name], value)
    seen: dict[str, int] = {}
    for tr in traces:
        kind = tr.get("type", "scatter")
        defaults = theme["data"].get(kind)
        if defaults:
            _under(tr, defaults[seen.get(kind, 0) % len(defaults)])
        seen[kind] = seen.get(kind, 0) + 1
    text = str(layout["title"].get("text") or "")
    if titled and not (text.startswith("<b>") and text.endswith("</b>")):  # bold once: themed twice, still bold
        layout["title"]["text"] = f"<b>{text}</b>"
    layout["datarevision"] = digest(traces)
    return spec

