"""The shipped latency benchmark (scripts/latency.py) runs: one small pass, no timed assertion."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
if not Path("/usr/bin/chromium").exists():
    pytest.skip("the system Chromium is not installed (scripts/test.sh installs it)", allow_module_level=True)
sys.path.insert(0, str(ROOT / "scripts"))
import latency  # noqa: E402


def test_one_pass_over_the_floor_and_explore_measures_every_kind(tmp_path, capsys):
    out = latency.main(["--pages", "explore", "--controls", "1", "--repeats", "1", "--json", str(tmp_path / "l.json")])
    rows = {(r["page"], r["what"]): r for r in out["table"]}
    assert set(rows) == {("floor", "cold"), ("floor", "warm"), ("floor", "redraw: data -> set 2"),
                         ("explore", "cold"), ("explore", "warm"), ("explore", "redraw: variant -> layer_norm")}
    floor = {what.split(":")[0]: r for (page, what), r in rows.items() if page == "floor"}  # cold, warm, redraw
    for (page, what), r in rows.items():
        assert r["median_s"] > 0 and r["n"] == 1, r
        if page == "explore":  # each ratio is to the floor's time of the same kind
            base = floor[what.split(":")[0]]["median_s"]
            assert r["ratio"] == pytest.approx(r["median_s"] / base, abs=0.01), r
    for key, samples in out["samples"].items():
        s = samples[0]
        assert s["bytes"] > 0 and s["frames"] > 0, (key, s)  # the server answered over the websocket
        assert s["charts"] == (4 if key.startswith("floor") else 3), (key, s)  # every chart of the open tab was drawn
        assert 0 < s["last_frame_s"] <= s["seconds"], (key, s)  # drawn after the last message, not before
    printed = capsys.readouterr().out
    assert "| explore | redraw: variant -> layer_norm |" in printed, printed
    # passes measured at different times pool into one table: one pass merged alone gives its own table back
    assert latency.main(["--merge", str(tmp_path / "l.json")])["table"] == out["table"]


def test_a_control_that_is_not_on_the_page_is_named_with_the_labels_there(monkeypatch):
    monkeypatch.setitem(latency.PAGES, "floor", latency.PageSpec("/", (latency.Control("select", "no such box", "x"),),
                                                                 floor=True))
    with pytest.raises(latency.LatencyError, match=r"labelled 'no such box'.*\['data'\]"):
        latency.main(["--pages", "", "--repeats", "1"])
