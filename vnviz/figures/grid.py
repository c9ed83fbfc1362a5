"""Subplot figures built as plain dicts, without plotly's property validation.

Building a figure the usual way (``make_subplots``, ``add_trace``, ``update_xaxes(row=, col=)``)
validates and copies every property on every call: for the Explore page's figures that cost more
than the analysis behind them (a 4×2 grid of per-axis profiles took about 80 ms on the development
machine, ``go.Figure(spec, _validate=False)`` of the same spec 3 ms). A ``Grid`` starts from the
layout ``make_subplots`` computes for its shape (cached per shape), collects traces and axis
properties as dicts, and wraps the result in a ``go.Figure`` without validating it again. The spec is
exactly what the validated calls make (tests/test_figure_grid.py builds each figure both ways and
checks that validating it changes nothing), so the figure is as informative as before.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vnviz.figures.text import layout_axes, text_sizes


@lru_cache(maxsize=256)
def _subplots_layout(rows: int, cols: int, titles: tuple[str, ...], options: tuple[tuple[str, Any], ...]) -> dict:
    return make_subplots(rows=rows, cols=cols, subplot_titles=titles or None, **dict(options)).to_dict()["layout"]


def _merge(target: dict, props: dict) -> None:
    """``target.update(props)``, merging nested dicts (as plotly's ``update`` does); None removes a key."""
    for k, v in props.items():
        if v is None:
            target.pop(k, None)
        elif isinstance(v, dict) and isinstance(target.get(k), dict):
            _merge(target[k], v)
        else:
            target[k] = copy.deepcopy(v) if isinstance(v, dict) else v


class Grid:
    """A ``rows`` × ``cols`` subplot figure as a dict: ``make_subplots``'s layout, traces and axes added by cell."""

    def __init__(self, rows: int, cols: int, titles: tuple[str, ...] | list[str] = (), **options: Any):
        self.rows, self.cols = rows, cols
        self.layout = copy.deepcopy(_subplots_layout(rows, cols, tuple(titles), tuple(sorted(options.items()))))
        self.data: list[dict] = []

    def _n(self, row: int, col: int) -> str:
        n = (row - 1) * self.cols + col
        return "" if n == 1 else str(n)

    def add(self, trace_type: str, row: int = 1, col: int = 1, **props: Any) -> None:
        """One trace (``props`` as plotly names them, nested as dicts) in the subplot at (row, col)."""
        n = self._n(row, col)
        self.data.append({"type": trace_type, **props, "xaxis": "x" + n, "yaxis": "y" + n})

    def _axes(self, letter: str, row: int | None, col: int | None) -> list[dict]:
        cells = [(r, c) for r in range(1, self.rows + 1) for c in range(1, self.cols + 1)
                 if (row is None or r == row) and (col is None or c == col)]
        return [self.layout.setdefault(f"{letter}axis{self._n(r, c)}", {}) for r, c in cells]

    def xaxes(self, row: int | None = None, col: int | None = None, **props: Any) -> None:
        """Set properties of the x axes of one cell, one row or column, or all (``update_xaxes``)."""
        for axis in self._axes("x", row, col):
            _merge(axis, props)

    def yaxes(self, row: int | None = None, col: int | None = None, **props: Any) -> None:
        """Set properties of the y axes of one cell, one row or column, or all (``update_yaxes``)."""
        for axis in self._axes("y", row, col):
            _merge(axis, props)

    def domain(self, row: int, col: int) -> list[float]:
        """The x domain (paper coordinates) of the subplot at (row, col)."""
        return self.layout[f"xaxis{self._n(row, col)}"]["domain"]

    def hline(self, row: int, col: int, y: float, line: dict) -> None:
        """A horizontal line across the subplot at (row, col) (``add_hline``; the subplot holds a trace)."""
        n = self._n(row, col)
        self.layout.setdefault("shapes", []).append(
            {"type": "line", "x0": 0, "x1": 1, "xref": f"x{n} domain", "y0": y, "y1": y, "yref": "y" + n,
             "line": dict(line)})

    def annotate(self, **props: Any) -> None:
        """One more annotation (``add_annotation``)."""
        self.layout.setdefault("annotations", []).append(props)

    def size_texts(self, scale: float = 1.0) -> None:
        """Every axis's and the legend's text sizes at ``scale`` (vnviz.figures.text.text_sizes)."""
        _merge(self.layout, text_sizes(layout_axes(self.layout), scale))

    def figure(self) -> go.Figure:
        """The figure as it stands (not validated again)."""
        return go.Figure({"data": self.data, "layout": self.layout}, _validate=False)

    def finish(self, height: int, margin: dict, font: dict, title_font: dict, annotation_font: dict,
               title: str | None = None, scale: float = 1.0, **props: Any) -> go.Figure:
        """Figure-wide properties, text sizes at ``scale``, the subplot titles' font, and the figure (not validated
        again)."""
        layout = self.layout
        self.size_texts(scale)
        _merge(layout, {"height": height, "margin": margin, "font": font, **props})
        if title is not None:
            layout["title"] = {"text": title}
        _merge(layout, {"title": {"font": title_font}})
        for a in layout.get("annotations", ()):
            _merge(a, {"font": annotation_font})
        return self.figure()
