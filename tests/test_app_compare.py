"""The Compare page under AppTest: default view, its tabs, subsets, links, bad links, presenter mode."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
import apptest_support as support
from apptest_support import assert_clean, charts, link, texts

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "compare.py")
SMALL = {"source": "shifted_channels", "shape": "8,4,6,6"}
DEFAULT_VARIANTS = ["batch_norm", "layer_norm", "instance_norm", "group_norm", "cluster_norm"]


EQUIV = {"section": "Equivalences"}
TAB_CHARTS = {"Distributions": 1, "Per-axis statistics": 1, "Statistic groups": 1, "Equivalences": 5, "Verification": 0}


def open_page(query: dict[str, str] | None = None) -> AppTest:
    return support.open_page(PAGE, query)


def pick_tab(at: AppTest, label: str) -> AppTest:
    """Open the tab ``label`` as a click on it does: the page runs again, that tab drawn."""
    at.session_state["section"] = label
    return at.run()


def shown(at: AppTest) -> str:
    """The page's line with every value the outputs were computed from."""
    return next(c for c in texts(at, "caption") if c.startswith("Shown:"))


def column_titles(spec: dict) -> list[str]:
    return [a["text"].split("</b>")[0].removeprefix("<b>") for a in spec["layout"]["annotations"] if "<b>" in a["text"]]


def test_default_view_compares_five_variants():
    at = open_page(SMALL)
    assert_clean(at)
    assert at.multiselect(key="variants").value == DEFAULT_VARIANTS and "variants" not in at.query_params
    assert at.selectbox(key="num_groups").value == 2 and at.number_input(key="n_clusters").value == 3
    assert "group_norm(num_groups=2)" in shown(at) and "cluster_norm(n_clusters=3)" in shown(at)
    assert [x.label for x in at.tabs] == list(TAB_CHARTS)
    figs = charts(at)
    assert len(figs) == 1  # the open tab only: the distributions grid
    assert column_titles(figs[0]) == ["input", "BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm", "ClusterNorm"]
    assert len(figs[0]["data"]) == 6 and len(figs[0]["data"][1]["y"]) == 60  # binned, not the tensor
    assert sum(figs[0]["data"][1]["y"]) == 8 * 4 * 6 * 6
    assert figs[0]["layout"]["font"]["size"] == 14  # not presenter mode
    at = pick_tab(at, "Verification")
    assert_clean(at)
    assert len([m for m in texts(at, "markdown") if "**Verified**" in m]) == 5 and not charts(at)
    at = pick_tab(at, "Equivalences")
    assert_clean(at)
    assert len(charts(at)) == 5  # five equivalence heatmaps
    headers = [m for m in texts(at, "markdown") if "\nvs `" in m]
    assert len(headers) == 5 and any("(C, \\*)" in h for h in headers)  # the * does not start an emphasis


@pytest.mark.parametrize("tab", list(TAB_CHARTS))
def test_each_tab_draws_only_itself_and_the_link_opens_it(tab):
    at = open_page({**SMALL, "section": tab})
    assert_clean(at)
    assert at.session_state["section"] == tab
    figs = charts(at)
    assert len(figs) == TAB_CHARTS[tab]
    if tab in ("Distributions", "Per-axis statistics", "Statistic groups"):  # one grid: input, then five variants
        assert len(column_titles(figs[0])) == 6


def test_the_equivalences_are_computed_only_when_their_tab_is_open(monkeypatch):
    from vnviz.ui import compare as ui

    calls = []
    real = ui.equivalences
    monkeypatch.setattr(ui, "equivalences", lambda x: calls.append(1) or real(x))
    at = open_page({**SMALL, "seed": "7"})  # a seed no other test uses: nothing cached
    assert_clean(at)
    assert not calls
    pick_tab(at, "Equivalences")
    assert_clean(at)
    assert calls == [1] and len(charts(at)) == 5


def test_an_unknown_tab_in_a_link_falls_back_with_a_notice():
    at = open_page({**SMALL, "section": "Secrets"})
    assert not at.exception
    assert any("section" in t and "Secrets" in t for t in texts(at, "info"))
    assert at.session_state["section"] == "Distributions" and "section" not in link(at)
    assert len(charts(at)) == 1


def test_a_chosen_subset():
    at = open_page(SMALL)
    at.multiselect(key="variants").set_value(["layer_norm", "rms_norm"]).run()
    assert_clean(at)
    assert "`layer_norm(), rms_norm()`" in shown(at)
    assert not [w for w in list(at.selectbox) + list(at.number_input) if w.key in ("num_groups", "n_clusters")]
    figs = charts(at)
    assert column_titles(figs[0]) == ["input", "LayerNorm", "RMSNorm"]
    at = pick_tab(at, "Statistic groups")
    assert len(charts(at)[0]["data"]) == 2  # one group picture per variant


def test_link_round_trip_reproduces_the_view():
    first = open_page({**SMALL, "variants": "group_norm,instance_norm", "num_groups": "4", "seed": "3",
                       "section": "Statistic groups"})
    assert_clean(first)
    link = {k: v for k, v in first.query_params.items()}
    assert link["variants"] == ["group_norm", "instance_norm"]  # the older comma-separated form, now repeated keys
    assert link["num_groups"] == "4" and link["seed"] == "3" and link["section"] == "Statistic groups"
    second = open_page(link)
    assert_clean(second)
    assert {k: v for k, v in second.query_params.items()} == link
    for a, b in zip(charts(first), charts(second)):
        assert a["data"] == b["data"]
    notes = [a["text"] for a in charts(second)[0]["layout"]["annotations"]]
    assert sum("32 groups" in t for t in notes) == 2  # GroupNorm(4 of 4 channels) = InstanceNorm: 8 x 4 groups


def test_invalid_variants_fall_back_with_a_notice():
    at = open_page({**SMALL, "variants": "batch_norm,warp_norm", "n_clusters": "0", "zzz": "1"})
    assert not at.exception
    notices = " ".join(texts(at, "info"))
    assert "variants must be comma-separated names" in notices and "'warp_norm'" in notices
    assert "n_clusters" in notices and "zzz" in notices
    assert at.multiselect(key="variants").value == DEFAULT_VARIANTS and at.number_input(key="n_clusters").value == 3
    assert link(at) == {"shape": "8,4,6,6"}  # only the valid values stay (shifted_channels is the default source)
    assert not texts(at, "error")


def test_num_groups_that_does_not_divide_c_falls_back():
    at = open_page({**SMALL, "variants": "group_norm", "num_groups": "3"})
    assert not at.exception
    assert any("num_groups=3 does not fit" in t for t in texts(at, "info"))
    assert at.selectbox(key="num_groups").value == 2 and "num_groups" not in at.query_params


def test_the_adjustment_notice_is_above_the_controls_and_says_it_once():
    """Item 10 of issue 12: the notice no longer pushes num_groups out of line, nor reads "GroupNorm: GroupNorm"."""
    at = open_page({**SMALL, "variants": "group_norm", "num_groups": "4"})  # 4 = C: GroupNorm is InstanceNorm here
    assert_clean(at)
    assert not any(w.startswith("GroupNorm: GroupNorm") for w in texts(at, "warning"))
    assert any(w.startswith("GroupNorm with num_groups = C") for w in texts(at, "warning"))
    photos = open_page({"source": "photos", "variants": "cluster_norm"})  # N = 2 samples: at most 2 clusters
    assert_clean(photos)
    assert photos.number_input(key="n_clusters").value == 2 and "cluster_norm(n_clusters=2)" in shown(photos)


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
    for tab in ("Per-axis statistics", "Statistic groups"):
        at = pick_tab(at, tab)
        assert_clean(at)
        assert len(charts(at)) == 1 and any("InstanceNorm cannot run on this data" in w for w in texts(at, "warning"))
    at = pick_tab(at, "Equivalences")
    assert_clean(at)
    assert any("Left out" in c for c in texts(at, "caption"))
    assert len(charts(at)) == 3  # the three equivalences that fit 2-D data


def test_presenter_mode():
    at = open_page({**SMALL, "variants": "layer_norm,instance_norm", "present": "1"})
    assert_clean(at)
    assert at.query_params["present"] == "1"  # the widgets' links keep it
    assert not any("present" in t for t in texts(at, "info"))  # no "unknown key" notice
    assert any(e.label == "data and variants" for e in at.expander)  # the controls fold away
    assert at.title[0].value == "LayerNorm, InstanceNorm on Shifted channels (8, 4, 6, 6)"  # so the title says it
    figs = charts(at)
    assert figs[0]["layout"]["height"] == int(260 * 1.6) and figs[0]["layout"]["font"]["size"] == int(14 * 1.6)
    at.button(key="_present_exit").click().run()
    assert "present" not in at.query_params
    assert charts(at)[0]["layout"]["font"]["size"] == 14 and at.title[0].value == "Compare normalizations"
    assert at.query_params["variants"] == ["layer_norm", "instance_norm"]


def test_presenter_toggle_in_the_sidebar_turns_it_on():
    at = open_page(SMALL)
    at.toggle(key="_present_toggle").set_value(True).run()
    assert_clean(at)
    assert at.query_params["present"] == "1"
    assert charts(at)[0]["layout"]["font"]["size"] == int(14 * 1.6)


def test_layer_norm_2d_is_offered_and_verified():
    at = open_page({**SMALL, "variants": "layer_norm,layer_norm_2d"})
    assert_clean(at)
    assert at.query_params["variants"] == ["layer_norm", "layer_norm_2d"]
    assert "layer_norm_2d" in at.multiselect(key="variants").options  # by its link name (the URL holds the label)
    assert column_titles(charts(at)[0]) == ["input", "LayerNorm", "LayerNorm2d"]
    at = pick_tab(at, "Verification")
    assert len([m for m in texts(at, "markdown") if "**Verified**" in m]) == 2


def test_presenter_mode_gives_each_equivalence_the_full_width():
    def heatmap_widths(at: AppTest) -> list[float]:
        return [c.weight for c in at.columns if c.get("plotly_chart")]

    normal, presenting = open_page({**SMALL, **EQUIV}), open_page({**SMALL, **EQUIV, "present": "1"})
    assert_clean(presenting)
    assert heatmap_widths(normal) and set(heatmap_widths(normal)) == {0.5}  # two side by side
    # at 1.6× text a heatmap and its colour scale left a plot 120 px wide at 1024 px: one a row
    assert len(heatmap_widths(presenting)) == len(heatmap_widths(normal)) and set(heatmap_widths(presenting)) == {1.0}
