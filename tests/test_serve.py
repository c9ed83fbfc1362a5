"""scripts/serve.py, the app's launcher (scripts/app.sh): Streamlit's command line, the heavy imports done first."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVE = ROOT / "scripts" / "serve.py"


def test_preload_imports_torch_and_the_library_but_nothing_that_creates_st_caches():
    code = ("import sys; sys.path.insert(0, 'scripts'); import serve; serve.preload(); "
            "assert 'torch' in sys.modules and 'vnviz.figures.compare' in sys.modules; "
            "assert not [m for m in sys.modules if m.startswith(('vnviz.ui', 'streamlit'))], 'too early'; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_the_arguments_are_streamlits():
    out = subprocess.run([sys.executable, str(SERVE), "version"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "Streamlit, version 1.67" in out.stdout, (out.stdout, out.stderr)
