"""Moving between pages in one session (the sidebar), under AppTest of the whole app.

Streamlit drops the state of widgets a run does not draw, so a page left for
another and opened again must rebuild what it needs without an exception.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import apptest_support as support
from apptest_support import assert_clean

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["home", "explore", "compare", "lessons", "slice_mask", "cluster_norm", "axis_check"]


def go(at: AppTest, page: str) -> AppTest:
    at.query_params.clear()  # the sidebar opens a page without a query string
    return at.switch_page(f"app_pages/{page}.py").run()


LINKS = {  # a view other than the page's default, to come back to
    "explore": {"variant": "layer_norm", "source": "tokens", "seed": "5", "tab": "Per-axis statistics"},
    "compare": {"variants": ["batch_norm", "rms_norm"], "seed": "5", "section": "Statistic groups"},
    "lessons": {},
    "slice_mask": {"kind": "band", "seed": "5"},
    "cluster_norm": {"method": "kmeans", "n_clusters": "2", "seed": "5"},
    "axis_check": {"dims": "N L D", "reduce": ["N", "D"], "by": "axes"},
}


@pytest.mark.parametrize("page", PAGES[1:])
def test_leaving_a_page_and_coming_back(page):
    """A page left for another and opened again through the sidebar draws, and shows the view it was left with."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=support.TIMEOUT).run()
    assert_clean(at)
    at.query_params.update(LINKS[page])
    at.switch_page(f"app_pages/{page}.py").run()
    assert_clean(at)
    left_with = dict(at.query_params.items())
    assert all(left_with[k] == v for k, v in LINKS[page].items()), left_with
    for step in ("lessons" if page != "lessons" else "home", page, "explore" if page != "explore" else "compare", page):
        go(at, step)
        assert_clean(at)
        if step == page:
            assert len(at.get("plotly_chart")) + len(at.get("page_link")) > 0, step  # the page drew its content
            assert dict(at.query_params.items()) == left_with
