"""How long the garbage collector's full pass takes in the app's process, before and after the freeze.

Streamlit runs ``gc.collect(2)`` after every script run; app.py freezes what the imports built
(``vnviz.ui.compute.freeze_imports``). This runs one Explore view of 2M elements under AppTest with
the freeze turned off, times five full passes, freezes, runs another view and times five more.
A benchmark, not a test::

    .venv/bin/python scripts/gc_pass.py
"""
from __future__ import annotations

import gc
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

import vnviz.ui.compute as compute  # noqa: E402

LINK = {"source": "gaussian", "shape": "64,8,64,64", "seed": "1", "variant": "batch_norm"}


def full_pass(label: str) -> None:
    ms = []
    for _ in range(5):
        t = time.perf_counter()
        gc.collect(2)
        ms.append((time.perf_counter() - t) * 1e3)
    print(f"{label}: {len(gc.get_objects()):,} objects tracked, gc.collect(2) median {statistics.median(ms):.1f} ms")


def main() -> None:
    compute.freeze_imports = lambda: False  # app.py imports it at each run: the first view runs without the freeze
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params.update(LINK)
    at.switch_page("app_pages/explore.py")
    at.run()
    full_pass("after one view, nothing frozen")
    gc.collect()
    gc.freeze()
    at.query_params["variant"] = "layer_norm"
    at.run()
    full_pass("frozen, after another view")


if __name__ == "__main__":
    main()
