"""Explore's element inspector under AppTest: links open an element and a step, previous/next walk the steps,
the numbers are vnviz.explain's for the page's data, bad indices get one sentence, eval BatchNorm, RMSNorm and
ClusterNorm say where their statistics come from."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import apptest_support as support
import vnviz
from apptest_support import assert_clean, link, texts
from vnviz.analysis.explain import check_index
from vnviz.data import make_source
from vnviz.errors import InputError
from vnviz.ui.inspect import PICTURE, TAB

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "explore.py")
NEXT, PREVIOUS = "_inspect_next", "_inspect_previous"


def open_page(query: dict[str, str]) -> AppTest:
    return support.open_page(PAGE, {"tab": TAB} | query)


def picture(at: AppTest) -> dict:
    """The element figure's spec (the chart keyed PICTURE)."""
    charts = [c for c in at.get("plotly_chart") if PICTURE in c.proto.id]
    assert len(charts) == 1
    return support.spec_of(charts[0])


def steps_shown(at: AppTest) -> list[str]:
    """The panel's five lines, "k · title: sentence" (the current one in bold, with a ▶)."""
    return [m for m in texts(at, "markdown") if re.match(r"\*\*(▶ )?[1-5] · ", m)]


def title(spec: dict) -> str:
    t = spec["layout"].get("title") or {}
    return t.get("text", "") if isinstance(t, dict) else str(t)


def test_a_link_opens_that_element_and_step_with_explains_numbers():
    at = open_page({"element": "3,1,4,2", "step": "2"})
    assert_clean(at)
    assert at.text_input(key="element").value == "3,1,4,2" and at.radio(key="step").value == 2
    assert link(at)["element"] == "3,1,4,2" and link(at)["step"] == "2"  # the link is kept as it came
    x = make_source("shifted_channels").x  # the page's default data
    e = vnviz.explain("batch_norm", x, (3, 1, 4, 2))
    lines = steps_shown(at)
    assert len(lines) == 5
    for i, (line, step) in enumerate(zip(lines, e.steps), start=1):
        assert step.text in line and step.title in line
        assert line.startswith("**▶") == (i == 2)  # only the current step is marked
    texts_ = texts(at, "markdown")
    assert f"**{e.steps[1].text}**" in texts_  # the current step beside the buttons
    assert title(picture(at)) == "Step 2 of 5: Its mean"
    ok = texts(at, "success")
    assert ok == [f"y = {float(e.y):.6g} equals the output: the layer run on the whole tensor gives "
                  f"{float(e.y):.6g} at x[3, 1, 4, 2].".replace("-", "−")]
    # the picture is the element's sample, and its cells carry their full index (what a click hands back)
    spec = picture(at)
    cells = [tuple(c) for t in spec["data"] if t.get("customdata") for c in t["customdata"]]
    assert (3, 1, 4, 2) in cells and {c[0] for c in cells} == {3}
    assert "x[3, 1, 4, 2] is boxed; its statistic group 1 holds 16,384 values" in " ".join(texts(at, "caption"))


def test_next_and_previous_walk_the_steps_and_update_the_link():
    at = open_page({"element": "0,2,1,1"})
    assert_clean(at)
    assert at.radio(key="step").value == 0 and "step" not in link(at)  # every step, none highlighted
    assert at.button(key=PREVIOUS).disabled and not at.button(key=NEXT).disabled
    assert not title(picture(at))
    at.button(key=NEXT).click().run()
    assert at.radio(key="step").value == 1 and link(at)["step"] == "1"
    assert title(picture(at)) == "Step 1 of 5: Gather the group"
    for _ in range(6):  # past the last step: it stays at 5, and "next" is disabled there
        if not at.button(key=NEXT).disabled:
            at.button(key=NEXT).click().run()
    assert at.radio(key="step").value == 5 and link(at)["step"] == "5" and at.button(key=NEXT).disabled
    assert title(picture(at)) == "Step 5 of 5: Affine"
    at.button(key=PREVIOUS).click().run()
    assert at.radio(key="step").value == 4 and link(at)["step"] == "4"
    assert link(at)["element"] == "0,2,1,1"  # the element stays
    assert_clean(at)


@pytest.mark.parametrize("element", ["3,1", "3,1,99,0", "0,0,0,0,0", "-65,0,0,0"])
def test_a_bad_element_gets_the_librarys_sentence_and_the_page_stays(element):
    at = open_page({"element": element, "step": "3"})
    assert not at.exception
    with pytest.raises(InputError) as err:
        check_index(tuple(int(v) for v in element.split(",")), (64, 8, 16, 16))
    assert texts(at, "error") == [str(err.value)]
    assert "(64, 8, 16, 16)" in str(err.value)  # it quotes the shape
    # everything else is shown: the view's Shown line, and the first element's picture instead
    assert any(m.startswith("Shown:") for m in texts(at, "markdown") + texts(at, "caption"))
    assert picture(at)["data"]
    assert "Showing the first element, x[0, 0, 0, 0], instead" in " ".join(texts(at, "caption"))
    assert title(picture(at)) == "Step 3 of 5: Its variance"
    assert link(at)["element"] == element  # kept, to be corrected in its box


def test_an_unreadable_element_or_step_in_a_link_is_dropped_with_a_notice():
    at = open_page({"element": "three,one", "step": "9"})
    assert not at.exception and not texts(at, "error")
    notices = " ".join(texts(at, "info"))
    assert "element" in notices and "step" in notices
    assert "element" not in link(at) and "step" not in link(at)


def test_eval_batch_norm_says_the_running_statistics_were_used():
    at = open_page({"training": "false", "element": "5,3,0,7", "step": "2"})
    assert_clean(at)
    info = " ".join(texts(at, "info"))
    assert "Eval mode: BatchNorm used its running statistics, not this batch's" in info
    x = make_source("shifted_channels").x
    e = vnviz.explain("batch_norm", x, (5, 3, 0, 7), training=False)
    assert e.source == "fresh" and float(e.mean) == 0 and float(e.var) == 1
    lines = steps_shown(at)
    assert e.steps[1].text in lines[1] and "running mean" in lines[1] and "not the batch's" in lines[1]
    assert e.steps[2].text in lines[2] and "running variance" in lines[2]
    assert "running statistics" in title(picture(at))  # the figure says it too
    assert texts(at, "success")  # y equals the page's output


def test_rms_norm_says_there_is_no_centering():
    at = open_page({"variant": "rms_norm", "element": "2,0,3,3", "step": "2"})
    assert_clean(at)
    assert any(t.startswith("No centering: RMSNorm divides by the root mean square") for t in texts(at, "info"))
    x = make_source("shifted_channels").x
    e = vnviz.explain("rms_norm", x, (2, 0, 3, 3))
    assert e.mean is None and not e.centered
    lines = steps_shown(at)
    assert "No centering" in lines[1] and e.steps[3].text in lines[3] and "x̂ = x / √(ms + ε)" in lines[3]
    assert texts(at, "success")


@pytest.mark.parametrize("mode", ["hard", "soft"])
def test_cluster_norm_follows_an_element_of_its_cluster(mode):
    query = {"variant": "cluster_norm", "source": "mixture", "n_clusters": "3", "mode": mode, "element": "7,2,1,1",
             "step": "4"}
    at = open_page(query)
    assert_clean(at)
    x = make_source("mixture").x
    e = vnviz.explain("cluster_norm", x, (7, 2, 1, 1), n_clusters=3, mode=mode, seed=0)
    assert e.source == ("cluster" if mode == "hard" else "mixture")
    info = " ".join(texts(at, "info"))
    assert (f"sample 7 is in cluster {e.cluster}" in info) if mode == "hard" else ("Soft mode" in info)
    lines = steps_shown(at)
    for line, step in zip(lines, e.steps):
        assert step.text in line
    assert texts(at, "success")  # y equals the page's output


def test_the_inspector_runs_only_while_its_tab_is_open():
    at = support.open_page(PAGE, {"element": "1,1,1,1"})
    assert_clean(at)
    assert not [c for c in at.get("plotly_chart") if PICTURE in c.proto.id]
    assert not [w for w in at.text_input if w.key == "element"]
