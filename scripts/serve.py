"""Start the app with its heavy imports done before the first visitor (scripts/app.sh runs this).

    .venv/bin/python scripts/serve.py run app.py --server.port 8501

The arguments are Streamlit's, and the server is ``streamlit run``'s. The one difference: torch,
plotly and the library's analysis and figure modules are imported while the server starts. Under
``streamlit run app.py`` the first script run imports them, and the first visitor waits for it
(1.5-1.9 s on the 2-core development machine, docs/benchmarks.md section 8). Only modules that do
not use Streamlit are loaded here (nothing of ``vnviz.ui``): a page's ``st.cache_*`` functions are
created in the first script run, once the runtime exists, as under ``streamlit run``.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRELOAD = ("torch", "plotly.graph_objects", "plotly.io", "vnviz", "vnviz.analysis.view", "vnviz.analysis.compare",
           "vnviz.analysis.cluster_view", "vnviz.data", "vnviz.figures.norm", "vnviz.figures.compare",
           "vnviz.figures.cluster", "vnviz.figures.matrix")


def preload() -> None:
    """Import ``PRELOAD`` (the repository on ``sys.path`` first, as Streamlit puts the script's folder there)."""
    import importlib

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    for name in PRELOAD:
        importlib.import_module(name)
    early = sorted(m for m in sys.modules if m.startswith("vnviz.ui"))
    assert not early, f"preloading imported {early}: their st.cache_* functions would be created before the runtime"


def main() -> None:
    from streamlit.web.cli import main as streamlit_main

    preload()
    sys.argv = ["streamlit", *sys.argv[1:]]
    streamlit_main(prog_name="streamlit")


if __name__ == "__main__":
    main()
