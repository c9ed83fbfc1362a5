"""Which charts plotly still had to draw twice for their margins, page by page, in the running app.

    .venv/bin/python scripts/margins.py                       # the default views
    .venv/bin/python scripts/margins.py "/compare?present=1" "/explore?lang=zh"

Starts the app, opens each link in the system Chromium and, once its charts have settled, prints for
every chart the margins the figure asked for (vnviz.figures.margins.settle) and the margins plotly
drew with: when a tick label, axis title, legend or colour bar needed more room than estimated,
plotly widened the margin and drew the chart again (its auto-margins stay on). Exit status 1 when a
chart was widened. A look, not a test: tests/test_browser_margins.py checks the default views.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadtest import ARGS, CHROMIUM, ROOT, free_port, start_server  # noqa: E402

DEFAULT_LINKS = ("/explore", "/explore?tab=Per-axis+statistics", "/explore?tab=Statistic+groups", "/compare",
                 "/compare?section=Per-axis+statistics", "/compare?section=Statistic+groups",
                 "/compare?section=Equivalences", "/cluster_norm", "/slice_mask", "/axis_check", "/train")
# per chart: its title, the margins asked for and those drawn with (l, r, t, b)
MARGINS_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].filter(g => g._fullLayout).map(g => {
  const L = g._fullLayout;
  return {title: ((L.title && L.title.text) || '').replace(/<[^>]*>/g, '').slice(0, 50),
          asked: [L.margin.l, L.margin.r, L.margin.t, L.margin.b], drawn: [L._size.l, L._size.r, L._size.t, L._size.b]};
})"""


def settled_margins(page, timeout_s: float = 30.0) -> list[dict]:
    """Every chart's margins once two readings half a second apart agree (charts draw one after another)."""
    last, deadline = None, time.time() + timeout_s
    while time.time() < deadline:
        page.wait_for_timeout(500)
        now = json.dumps(page.evaluate(MARGINS_JS))
        if now == last:
            break
        last = now
    return json.loads(last or "[]")


def widened(charts: list[dict]) -> list[dict]:
    """The charts plotly drew with wider margins than the figure asked for."""
    return [c for c in charts if any(d > a for a, d in zip(c["asked"], c["drawn"]))]


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    links = (argv if argv is not None else sys.argv[1:]) or list(DEFAULT_LINKS)
    server = start_server(free_port(), script=ROOT / "app.py")
    bad = 0
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for link in links:
                page = browser.new_page(viewport={"width": 1500, "height": 1200})
                page.goto(server.url + link)
                try:
                    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
                except Exception:
                    print(f"{link}: no chart")
                    page.close()
                    continue
                charts = settled_margins(page)
                print(f"{link}: {len(charts)} charts")
                for c in charts:
                    mark = "widened" if c in widened([c]) else "ok"
                    print(f"  {mark:7} asked l r t b {c['asked']}  drawn {c['drawn']}  {c['title']!r}")
                bad += len(widened(charts))
                page.close()
    finally:
        server.kill()
    print(f"charts plotly widened (drawn twice): {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
