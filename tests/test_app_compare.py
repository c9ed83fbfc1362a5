"""The Compare page under AppTest: default view, subsets, links, bad links, presenter mode."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest
import apptest_support as support
from apptest_support import assert_clean, charts, texts

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "compare.py")
SMALL = {"source": "shifted_channels", "shape": "8,4,6,6"}
DEFAULT_VARIANTS = "batch_norm,layer_norm,instance_norm,group_norm,cluster_norm"


def open_page(query: dict[str, str] | None = None) -> AppTest:
    return support.open_page(PAGE, query)


def column_titles(spec: dict) -> list[str]:
    return [a["text"].split("</b>")[0].removeprefix("<b>") for a in spec["layout"]["annotations"] if "<b>" in a["text"]]


def test_default_view_compares_five_variants():
    at = open_page(SMALL)
    assert_clean(at)
    assert at.query_params["variants"] == DEFAULT_VARIANTS
    assert at.query_params["num_groups"] == "2" and at.query_params["n_clusters"] == "3"
    figs = charts(at)
    assert len(figs) == 3 + 5  # three grids, five equivalence heatmaps
    assert column_titles(figs[0]) == ["input", "BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm", "ClusterNorm"]
    assert len(figs[0]["data"]) == 6 and len(figs[0]["data"][1]["y"]) == 60  # binned, not the tensor
    assert sum(figs[0]["data"][1]["y"]) == 8 * 4 * 6 * 6
    verdicts = [m for m in texts(at, "markdown") if "**Verified**" in m]
    assert len(verdicts) == 5
    headers = [m for m in texts(at, "markdown") if "\nvs `" in m]
    assert len(headers) == 5 and any("(C, \\*)" in h for h in headers)  # the * does not start an emphasis
    assert at.session_state["_scale"] == 1.0


def test_a_chosen_subset():
    at = open_page(SMALL)
    at.multiselect(key="variants").set_value(["layer_norm", "rms_norm"]).run()
    assert_clean(at)
    assert at.query_params["variants"] == "layer_norm,rms_norm"
    assert "num_groups" not in at.query_params and "n_clusters" not in at.query_params
    figs = charts(at)
    assert column_titles(figs[0]) == ["input", "LayerNorm", "RMSNorm"]
    assert len(figs[2]["data"]) == 2  # one group picture per variant


def test_link_round_trip_reproduces_the_view():
    first = open_page({**SMALL, "variants": "group_norm,instance_norm", "num_groups": "4", "seed": "3"})
    assert_clean(first)
    link = {k: v for k, v in first.query_params.items()}
    assert link["variants"] == "group_norm,instance_norm" and link["num_groups"] == "4" and link["seed"] == "3"
    second = open_page(link)
    assert_clean(second)
    assert {k: v for k, v in second.query_params.items()} == link
    for a, b in zip(charts(first), charts(second)):
        assert a["data"] == b["data"]
    notes = [a["text"] for a in charts(second)[2]["layout"]["annotations"]]
    assert sum("32 groups" in t for t in notes) == 2  # GroupNorm(4 of 4 channels) = InstanceNorm: 8 x 4 groups


def test_invalid_variants_fall_back_with_a_notice():
    at = open_page({**SMALL, "variants": "batch_norm,warp_norm", "n_clusters": "0", "zzz": "1"})
    assert not at.exception
    notices = " ".join(texts(at, "info"))
    assert "variants must be comma-separated names" in notices and "'warp_norm'" in notices
    assert "n_clusters" in notices and "zzz" in notices
    assert at.query_params["variants"] == DEFAULT_VARIANTS
    assert at.query_params["n_clusters"] == "3"
    assert not texts(at, "error")


def test_num_groups_that_does_not_divide_c_falls_back():
    at = open_page({**SMALL, "variants": "group_norm", "num_groups": "3"})
    assert not at.exception
    assert any("num_groups=3 does not fit" in t for t in texts(at, "info"))
    assert at.query_params["num_groups"] == "2"


def test_no_variant_chosen_says_so():
    at = open_page(SMALL)
    at.multiselect(key="variants").set_value([]).run()
    assert not at.exception
    assert any("Choose at least one variant" in t for t in texts(at, "info"))
    assert not charts(at)


def test_a_variant_that_cannot_run_is_a_warning_not_a_crash():
    at = open_page({"source": "iris", "variants": "batch_norm,instance_norm"})
    assert_clean(at)
    assert any("InstanceNorm cannot run on this data" in w for w in texts(at, "warning"))
    assert any("Left out" in c for c in texts(at, "caption"))
    assert len(charts(at)) == 3 + 3  # three grids, three equivalences that fit 2-D data


def test_presenter_mode():
    at = open_page({**SMALL, "variants": "layer_norm,instance_norm", "present": "1"})
    assert_clean(at)
    assert at.session_state["_scale"] == 1.6
    assert at.query_params["present"] == "1"  # write_link keeps it
    assert not any("present" in t for t in texts(at, "info"))  # no "unknown key" notice
    assert any(e.label == "data and variants" for e in at.expander)  # the controls fold away
    assert "**Shifted channels** (8, 4, 6, 6) → LayerNorm, InstanceNorm" in texts(at, "markdown")
    figs = charts(at)
    assert figs[0]["layout"]["height"] == int(260 * 1.6) and figs[0]["layout"]["font"]["size"] == int(14 * 1.6)
    at.button(key="_present_exit").click().run()
    assert "present" not in at.query_params
    assert at.session_state["_scale"] == 1.0
    assert at.query_params["variants"] == "layer_norm,instance_norm"


def test_presenter_toggle_in_the_sidebar_turns_it_on():
    at = open_page(SMALL)
    at.toggle(key="_present_toggle").set_value(True).run()
    assert_clean(at)
    assert at.query_params["present"] == "1"
    assert at.session_state["_scale"] == 1.6


def test_layer_norm_2d_is_offered_and_verified():
    at = open_page({**SMALL, "variants": "layer_norm,layer_norm_2d"})
    assert_clean(at)
    assert at.query_params["variants"] == "layer_norm,layer_norm_2d"
    assert "LayerNorm2d" in at.multiselect(key="variants").options  # shown by title
    assert column_titles(charts(at)[0]) == ["input", "LayerNorm", "LayerNorm2d"]
    assert len([m for m in texts(at, "markdown") if "**Verified**" in m]) == 2
