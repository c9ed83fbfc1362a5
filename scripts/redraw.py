"""How long the Explore page takes to redraw after one control changes, in a real browser.

    .venv/bin/python scripts/redraw.py [--shape 64,32,32,32]

Starts the app on a loopback port, opens Explore on a generated tensor of
``--shape`` (2M values by default) in the system Chromium, then switches the
variant six times and reports the seconds from the click until Streamlit has
finished the run and the new charts are drawn. The browser shares the machine
with the server, so this is an upper bound on what a visitor waits.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadtest import ARGS, CHROMIUM, free_port, start_server
from playwright.sync_api import sync_playwright

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--shape", default="64,32,32,32")
args = parser.parse_args()
proc = start_server(free_port())
try:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = b.new_page(viewport={"width": 1500, "height": 1200})
        page.goto(proc.url + f"/explore?source=gaussian&shape={args.shape}&variant=layer_norm")
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=120000)
        page.wait_for_timeout(2000)
        times = []
        for target in ["instance_norm", "group_norm", "batch_norm", "rms_norm", "layer_norm", "instance_norm"]:
            page.locator('input[aria-label="variant"]').click()
            t0 = time.perf_counter()
            page.get_by_role("option", name=target, exact=True).click()
            # the app is done when Streamlit's running indicator is gone and the "Shown:" line names the new layer
            page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60000)
            page.get_by_text(f"{target}(", exact=False).first.wait_for(timeout=60000)
            page.wait_for_selector(".js-plotly-plot .main-svg")
            times.append(time.perf_counter() - t0)
        print(f"redraw after a variant change on shape ({args.shape}), seconds:", [round(t, 2) for t in times])
        b.close()
finally:
    proc.terminate()
