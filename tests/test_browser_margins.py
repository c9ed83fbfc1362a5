"""Each chart drawn once for its margins (issue 13), in a real browser.

vnviz.figures.margins raises every figure's margins to what its labels, titles, legends and colour
bars take, so that plotly's auto-margins (on in Streamlit's theme) find nothing to widen and the
chart is not drawn a second time. Only a browser measures the labels: these views are opened and,
for every chart, the margins plotly drew with must be the ones the figure asked for
(scripts/margins.py prints the same for any link).
"""
from __future__ import annotations

import pytest
from browser_support import open_view

from margins import settled_margins, widened

pytestmark = pytest.mark.browser

LINKS = ("/explore", "/explore?tab=Per-axis+statistics&present=1", "/explore?layout=N+H+W+C",
         "/compare", "/compare?source=digits&section=Per-axis+statistics", "/compare?section=Statistic+groups&present=1",
         "/compare?section=Equivalences", "/cluster_norm", "/slice_mask?lang=zh", "/axis_check")


@pytest.mark.parametrize("link", LINKS)
def test_no_chart_is_drawn_again_for_its_margins(browser, app_url, link):
    page = open_view(browser, app_url + link)
    try:
        charts = settled_margins(page)
        assert charts, f"{link}: no chart drawn"
        assert not widened(charts), f"{link}: plotly widened these charts' margins: {widened(charts)}"
    finally:
        page.close()
