"""The Explore page under AppTest: every norm variant, links, uploads, no exception anywhere."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import vnviz
import apptest_support as support
from apptest_support import assert_clean, charts, link, texts

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "explore.py")
NORMS = [n for n, v in vnviz.VARIANTS.items() if v.family == "norm"]
SOURCES = ["gaussian", "tokens", "digits", "iris"]


def open_page(query: dict[str, str] | None = None) -> AppTest:
    return support.open_page(PAGE, query)


def shown(at: AppTest) -> str:
    """The page's line with every value the output was computed from."""
    return next(c for c in texts(at, "caption") if c.startswith("Shown:"))


@pytest.mark.parametrize("variant", NORMS)
@pytest.mark.parametrize("source", SOURCES)
def test_every_norm_on_every_source(variant, source):
    query = {"variant": variant, "source": source}
    if variant == "cluster_norm":
        query["n_clusters"] = "2"
    at = open_page(query)
    if variant == "instance_norm" and source == "iris":  # (N, C): one value per (sample, channel)
        assert not at.exception
        assert texts(at, "error") == [
            "InstanceNorm needs at least 3 dims (N, C, L, ...): it averages over the positions of each "
            "(sample, channel); got shape (150, 4)."]
        return
    assert_clean(at)
    figs = charts(at)
    assert len(figs) == 3  # the open tab's only: distributions and the 2 facet grids (test_only_the_open_tab_is_drawn)
    before = figs[0]["data"][0]
    # what the browser gets is the binned summary, not the tensor
    assert len(before["y"]) == 60
    # the link names what is shown (a value equal to its widget's default is left out, and means it)
    assert at.query_params.get("variant", "batch_norm") == variant == at.selectbox(key="variant").value
    assert at.query_params.get("source", "shifted_channels") == source == at.selectbox(key="source").value
    at.session_state["tab"] = "Verification"  # as a click on the tab does: the page runs again, that tab drawn
    at.run()
    assert_clean(at)
    verdict = [m for m in texts(at, "markdown") if "Verified" in m or "Does not match" in m]
    assert verdict and "**Verified**" in verdict[0], verdict
    assert not charts(at)  # (the browser tests check that the link follows a click on a tab)


TAB_CHARTS = {"Distributions": 3, "Per-axis statistics": 1, "Statistic groups": 2, "Follow one element": 1,
              "Verification": 0, "Share & export": 0}


@pytest.mark.parametrize("tab", list(TAB_CHARTS))
def test_only_the_open_tab_is_drawn_and_a_link_opens_any_tab(tab):
    at = open_page({"source": "images", "variant": "group_norm", "num_groups": "1", "tab": tab})
    assert_clean(at)
    assert at.session_state["tab"] == tab == link(at).get("tab", "Distributions")  # the link opens it, and keeps it
    figs = charts(at)
    assert len(figs) == TAB_CHARTS[tab]  # the closed tabs' figures are neither built nor sent
    titles = [a["text"] for f in figs for a in f["layout"].get("annotations", ())]
    marks = " ".join(texts(at, "markdown"))
    if tab == "Distributions":
        assert "before: all values" in titles and "channel 0" in titles
    if tab == "Per-axis statistics":
        assert "after: per C index" in titles
    if tab == "Statistic groups":
        assert "after: group mean" in titles and "sample 0" in titles
    assert ("**Verified**" in marks) == (tab == "Verification")
    assert ("Reproduce in Python" in marks) == (tab == "Share & export")
    assert [d.label for d in at.get("download_button")] == (["output (.npy, float32)", "statistics (.csv)"]
                                                           if tab == "Share & export" else [])


def test_link_round_trip_reproduces_the_view():
    first = open_page({"source": "images", "variant": "group_norm", "num_groups": "1", "eps": "0.001", "seed": "7"})
    assert_clean(first)
    link = {k: v for k, v in first.query_params.items()}
    assert link["num_groups"] == "1" and link["eps"] == "0.001" and link["seed"] == "7"
    second = open_page(link)
    assert_clean(second)
    assert {k: v for k, v in second.query_params.items()} == link
    assert charts(first)[0]["data"][0]["y"] == charts(second)[0]["data"][0]["y"]
    assert charts(first)[1]["data"][1]["y"] == charts(second)[1]["data"][1]["y"]


def test_invalid_link_values_fall_back_with_a_notice():
    at = open_page({"source": "nonsense", "variant": "layer_norm", "eps": "-1", "bins": "many", "zzz": "1",
                    "momentum": "0.5"})
    assert not at.exception
    notices = " ".join(texts(at, "info"))
    assert "source" in notices and "eps" in notices and "bins" in notices and "zzz" in notices
    assert "'momentum' does not apply" in notices  # a BatchNorm parameter in a LayerNorm link
    # the defaults are shown, and the link holds only what is valid (a default is left out of it)
    assert at.selectbox(key="source").value == "shifted_channels" and at.number_input(key="eps").value == 1e-05
    assert at.slider(key="bins").value == 60
    assert link(at) == {"variant": "layer_norm"}


def test_group_count_that_does_not_divide_c_falls_back():
    at = open_page({"source": "images", "variant": "group_norm", "num_groups": "4"})
    assert not at.exception
    assert any("num_groups=4 does not fit" in t for t in texts(at, "info"))
    assert at.selectbox(key="num_groups").value == 3 and "num_groups" not in link(at)  # 3 is GroupNorm's own default


def test_changing_a_control_redraws():
    at = open_page({"variant": "batch_norm"})
    before = charts(at)[2]["data"][0]["y"]  # after, channel 0
    at.selectbox(key="variant").set_value("instance_norm").run()
    assert_clean(at)
    assert "`instance_norm(" in shown(at)  # the output was computed with the new variant
    assert charts(at)[2]["data"][0]["y"] != before  # (the browser tests check that the link follows)


def test_a_variant_s_default_follows_the_variant():
    """eps is 1e-5 for BatchNorm and None for RMSNorm: an eps left at its default moves with the variant
    (the link leaves a default out, so a kept 1e-5 under RMSNorm would disagree with it); a chosen one stays."""
    at = open_page({"variant": "batch_norm"})
    at.selectbox(key="variant").set_value("rms_norm").run()
    assert_clean(at)
    assert at.number_input(key="eps").value is None and "eps=none" in shown(at)
    at.selectbox(key="variant").set_value("layer_norm").run()
    assert at.number_input(key="eps").value == 1e-05 and "eps=1e-05" in shown(at)
    at.number_input(key="eps").set_value(0.001).run()
    at.selectbox(key="variant").set_value("rms_norm").run()
    assert_clean(at)
    assert at.number_input(key="eps").value == 0.001 and "eps=0.001" in shown(at)


def test_a_link_from_another_page_is_applied_even_when_seen_before():
    """Arriving from another page (a lesson's button) applies its link, though this session chose otherwise:
    what the link names is shown, and what it leaves out is the default."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=support.TIMEOUT)
    at.switch_page("app_pages/explore.py").run()
    at.selectbox(key="variant").set_value("rms_norm").run()
    at.toggle(key="log_y").set_value(True).run()
    at.switch_page("app_pages/lessons.py").run()
    at.query_params.clear()
    at.query_params.update({"variant": "batch_norm", "source": "images"})  # batch_norm is the default
    at.switch_page("app_pages/explore.py").run()
    assert_clean(at)
    assert at.selectbox(key="variant").value == "batch_norm" and at.selectbox(key="source").value == "images"
    assert at.toggle(key="log_y").value is False  # not in the link: the default
    assert "`batch_norm(" in shown(at) and "on images" in shown(at)


def test_traps_are_warned():
    at = open_page({"variant": "batch_norm", "training": "false"})
    assert any("Eval mode with untouched running statistics" in w for w in texts(at, "warning"))
    at = open_page({"variant": "batch_norm", "source": "tokens"})
    assert any("(N, L, D) tokens" in w for w in texts(at, "warning"))


def test_channel_axis_permutation_is_said():
    at = open_page({"variant": "batch_norm", "source": "tokens", "channel_axis": "2"})
    assert_clean(at)
    assert any("Permuted (N, L, D) to (N, D, L)" in t for t in texts(at, "info"))
    assert not any("(N, L, D) tokens" in w for w in texts(at, "warning"))


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def test_an_older_auto_layout_link_is_the_default_layout():
    """Links once held layout=auto, and once the widget's label itself (layout=auto+(N+C+H+W)): both mean the default."""
    for old in ("auto", "auto (N C H W)"):
        at = open_page({"source": "images", "layout": old})
        assert_clean(at)
        assert not texts(at, "info") and at.selectbox(key="layout").value == "N C H W" and link(at) == {"source": "images"}


def test_an_upload_changes_nothing_else():
    """Item 1 of issue 12: uploading a file kept BatchNorm's training switch, and every other choice."""
    at = open_page({"variant": "batch_norm", "eps": "0.001"})
    at.selectbox(key="source").set_value("upload").run()
    assert any("Upload a file" in t for t in texts(at, "info"))
    good = np.random.default_rng(0).normal(3, 2, size=(10, 4, 6)).astype(np.float32)
    at.file_uploader(key="upload_file").upload("good.npy", _npy(good)).run()
    assert_clean(at)
    assert at.toggle(key="training").value is True and at.number_input(key="eps").value == 0.001
    assert "training=true" in shown(at) and "eps=0.001" in shown(at)
    assert not any("the output is the input" in w for w in texts(at, "warning"))
    at.toggle(key="log_y").set_value(True).run()
    assert_clean(at)
    assert at.toggle(key="training").value is True and "training=true" in shown(at)


def test_a_float16_upload_is_kept_and_an_integer_one_says_it_was_converted():
    at = open_page({"source": "upload"})
    at.file_uploader(key="upload_file").upload("half.npy", _npy(np.ones((6, 3, 4), np.float16) * 2)).run()
    assert_clean(at)
    assert not any("converted" in w for w in texts(at, "warning"))
    assert any("float16" in c for c in texts(at, "caption"))
    at.file_uploader(key="upload_file").upload("ints.npy", _npy(np.arange(72, dtype=np.int64).reshape(6, 3, 4))).run()
    assert_clean(at)
    assert any("stores its values as int64" in w and "converted them to float32" in w for w in texts(at, "warning"))


def test_upload_good_then_bad_keeps_the_good_data():
    at = open_page({"source": "upload", "variant": "layer_norm"})
    assert not at.exception
    assert any("Upload a file" in t for t in texts(at, "info"))
    good = np.random.default_rng(0).normal(3, 2, size=(10, 4, 6)).astype(np.float32)
    at.file_uploader(key="upload_file").upload("good.npy", _npy(good)).run()
    assert_clean(at)
    at.session_state["tab"] = "Verification"  # only the open tab is drawn
    at.run()
    assert any("**Verified**" in m for m in texts(at, "markdown"))
    at.session_state["tab"] = "Distributions"
    at.run()
    hist_before = charts(at)[0]["data"][0]["y"]
    assert sum(hist_before) == good.size
    at.file_uploader(key="upload_file").upload("bad.npy", b"\x93NUMPY" + b"garbage").run()
    assert not at.exception
    errors = texts(at, "error")
    assert len(errors) == 1 and "bad.npy" in errors[0] and "previous data is still in use" in errors[0]
    assert charts(at)[0]["data"][0]["y"] == hist_before  # the good data is still shown


def test_layout_names_the_channel_axis():
    """Item 2 of issue 12: a channels-last layout moves C to dim 1; a 2-D file is N C (not "auto (N C H W)")."""
    at = open_page({"source": "gaussian", "shape": "16,6,5,8", "layout": "N H W C", "variant": "batch_norm",
                    "tab": "Verification"})
    assert_clean(at)
    assert at.radio(key="channel_axis").value == 3 and "channel_axis" not in link(at)  # the layout's C, by default
    assert any("Permuted (N, H, W, C) to (N, C, H, W)" in t for t in texts(at, "info"))
    assert "shape (16, 8, 6, 5)" in shown(at)
    assert at.markdown and any("8 statistic groups" in m for m in texts(at, "markdown"))  # the 8 channels
    at.radio(key="channel_axis").set_value(1).run()  # the user may still choose H: then it says so
    assert any("not C (dim 3)" in t for t in texts(at, "info"))
    csv = open_page({"source": "upload"})
    csv.file_uploader(key="upload_file").upload("t.csv", b"1,2,3\n4,5,6\n7,8,9\n").run()
    assert_clean(csv)
    assert csv.selectbox(key="layout").value == "N C" and csv.selectbox(key="layout").options == ["N C"]


def test_eps_zero_on_constant_groups_is_an_error():
    """Item 4 of issue 12: the lesson's eps=0 on blank digit columns says the groups are 0/0."""
    at = open_page({"source": "digits", "channel_axis": "3", "variant": "instance_norm", "eps": "0", "tab": "Verification"})
    assert not at.exception
    errors = texts(at, "error")
    assert len(errors) == 1 and "eps = 0" in errors[0] and "constant (variance 0)" in errors[0] and "0/0" in errors[0]
    verdict = next(m for m in texts(at, "markdown") if "statistic groups, computed on" in m)
    assert "Undefined for" in verdict and "nan" not in verdict and "Does not match" not in verdict
    fine = open_page({"source": "digits", "channel_axis": "3", "variant": "instance_norm", "tab": "Verification"})
    assert_clean(fine)


def test_the_caption_follows_the_data():
    """Item 8 of issue 12: tokens (N, L, D) through BatchNorm reduce n l d -> 1 l 1 with nn.BatchNorm1d(L)."""
    at = open_page({"source": "tokens", "variant": "batch_norm"})
    assert_clean(at)
    caption = next(c for c in texts(at, "caption") if c.startswith("One mean and variance per channel"))
    assert "`n l d -> 1 l 1`" in caption and "nn.BatchNorm1d(64," in caption and "b c h w" not in caption


def test_upload_with_nan_is_explained_not_crashed():
    arr = np.random.default_rng(1).normal(size=(8, 3, 5)).astype(np.float32)
    arr[0, 0, 0] = np.nan
    at = open_page({"source": "upload"})
    at.file_uploader(key="upload_file").upload("nan.npy", _npy(arr)).run()
    assert not at.exception
    assert any("NaN" in e for e in texts(at, "error"))


def test_snippet_reproduces_the_output():
    at = open_page({"source": "images", "variant": "group_norm", "num_groups": "3", "weight": "2.0", "seed": "3",
                    "tab": "Share & export"})
    assert_clean(at)
    code = [c.value for c in at.code][0]
    scope: dict = {}
    exec(code, scope)  # the snippet is the user's own reproduction recipe
    y = scope["y"]
    x = vnviz.data.make_source("images", seed=3).x
    expected = vnviz.apply("group_norm", x, num_groups=3, weight=2.0)
    assert (y - expected).abs().max() == 0
