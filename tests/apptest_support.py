"""Helpers shared by the AppTest page tests (the page-cache clearing fixture is in conftest.py)."""
from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

TIMEOUT = 120  # seconds a page run may take under AppTest on a busy machine


def open_page(page: str, query: dict[str, str] | None = None, timeout: int = TIMEOUT) -> AppTest:
    """Run the page file ``page`` (an absolute path) as if opened with the link ``query``."""
    at = AppTest.from_file(page, default_timeout=timeout)
    if query:
        at.query_params.update(query)
    return at.run()


def texts(at: AppTest, kind: str) -> list[str]:
    """The values of every element of one kind ("error", "warning", "info", "markdown", ...)."""
    return [e.value for e in getattr(at, kind)]


def spec_of(chart) -> dict:
    """A plotly chart element's spec; its title as the figure wrote it, without the bold Streamlit's theme gives it
    (vnviz.figures.theme writes the theme into the figure; tests/test_figure_theme.py checks the bold)."""
    spec = json.loads(chart.proto.spec)
    title = spec.get("layout", {}).get("title") or {}
    text = title.get("text")
    if isinstance(text, str) and text.startswith("<b>") and text.endswith("</b>"):
        title["text"] = text[3:-4]
    return spec


def charts(at: AppTest) -> list[dict]:
    """Every plotly chart's spec (``spec_of``), in page order."""
    return [spec_of(c) for c in at.get("plotly_chart")]


def link(at: AppTest) -> dict[str, str]:
    """The page's URL query string after the run."""
    return {k: v for k, v in at.query_params.items()}


def assert_clean(at: AppTest) -> None:
    """No exception and no error element anywhere on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not texts(at, "error"), texts(at, "error")


VISIBLE = {"label", "help", "placeholder", "body", "captions", "text", "delta"}  # proto fields a user reads
PLOTLY_VISIBLE = {"text", "name", "hovertemplate", "hovertext", "ticktext", "title"}  # and in a chart's spec


def shown_strings(at: AppTest) -> list[tuple[str, str]]:
    """(element type, text) for every string a user can read on the page: titles, text, notices, widget labels,
    help, placeholders and captions, expander and tab labels, metrics, and the texts inside each plotly chart
    (titles, axis titles, annotations, trace names, hovers). Left out: code blocks (code stays as it is in every
    language), tables' data, and widget options (they are link names)."""
    from google.protobuf.json_format import MessageToDict

    out: list[tuple[str, str]] = []

    def strings(value, kind: str, keys: set[str], shown: bool = False) -> None:
        if isinstance(value, str):
            if shown:
                out.append((kind, value))
        elif isinstance(value, dict):
            for k, v in value.items():
                strings(v, kind, keys, shown or k in keys)
        elif isinstance(value, list):
            for v in value:
                strings(v, kind, keys, shown)

    for node in at._tree:
        proto = getattr(node, "proto", None)
        if proto is None:
            continue
        kind = str(getattr(node, "type", "") or "")
        if kind in ("code", "arrow_data_frame", "dataframe", "table", "imgs", "html"):
            continue
        if kind == "plotly_chart":
            spec = json.loads(proto.spec or "{}")
            strings({k: spec.get(k) for k in ("data", "layout")}, kind, PLOTLY_VISIBLE)
            continue
        strings(MessageToDict(proto), kind, VISIBLE)
    return out
