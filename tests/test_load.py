"""A short run of the shipped load test (scripts/loadtest.py): several browser sessions at once."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
if not Path("/usr/bin/chromium").exists():
    pytest.skip("the system Chromium is not installed (scripts/test.sh installs it)", allow_module_level=True)
sys.path.insert(0, str(ROOT / "scripts"))
import loadtest  # noqa: E402


def test_concurrent_sessions_are_served_without_errors_and_isolated():
    result = loadtest.main(["--sessions", "3", "--seconds", "30"])
    assert result["errors"] == [], result
    assert len(result["slow"]) <= 1, result  # one view may need a reload on a loaded 2-core machine, not more
    assert result["isolation_problem"] is None, result
    assert result["views"] >= 6, result
    # caches are bounded: the second half of the run adds little once the first half warmed them up
    assert result["rss_after_MiB"] - result["rss_half_MiB"] < 400, result
