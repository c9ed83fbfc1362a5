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


def charts(at: AppTest) -> list[dict]:
    """Every plotly chart's spec, in page order."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def link(at: AppTest) -> dict[str, str]:
    """The page's URL query string after the run."""
    return {k: v for k, v in at.query_params.items()}


def assert_clean(at: AppTest) -> None:
    """No exception and no error element anywhere on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not texts(at, "error"), texts(at, "error")
