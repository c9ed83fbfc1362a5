"""The Explore page under AppTest: every norm variant, links, uploads, no exception anywhere."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import vnviz
import apptest_support as support
from apptest_support import assert_clean, charts, texts

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "explore.py")
NORMS = [n for n, v in vnviz.VARIANTS.items() if v.family == "norm"]
SOURCES = ["gaussian", "tokens", "digits", "iris"]


def open_page(query: dict[str, str] | None = None) -> AppTest:
    return support.open_page(PAGE, query)


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
    verdict = [m for m in texts(at, "markdown") if "Verified" in m or "Does not match" in m]
    assert verdict and "**Verified**" in verdict[0], verdict
    figs = charts(at)
    assert len(figs) >= 5  # distributions, 2 facet grids, axis profiles, group map, group stats
    before = figs[0]["data"][0]
    # what the browser gets is the binned summary, not the tensor
    assert len(before["y"]) == 60
    assert at.query_params["variant"] == variant and at.query_params["source"] == source


def test_link_round_trip_reproduces_the_view():
    first = open_page({"source": "images", "variant": "group_norm", "num_groups": "3", "eps": "0.001", "seed": "7"})
    assert_clean(first)
    link = {k: v for k, v in first.query_params.items()}
    assert link["num_groups"] == "3" and link["eps"] == "0.001" and link["seed"] == "7"
    second = open_page(link)
    assert_clean(second)
    assert {k: v for k, v in second.query_params.items()} == link
    assert charts(first)[0]["data"][0]["y"] == charts(second)[0]["data"][0]["y"]
    assert charts(first)[1]["data"][1]["y"] == charts(second)[1]["data"][1]["y"]


def test_invalid_link_values_fall_back_with_a_notice():
    at = open_page({"source": "nonsense", "variant": "layer_norm", "eps": "-1", "bins": "many", "zzz": "1"})
    assert not at.exception
    notices = " ".join(texts(at, "info"))
    assert "source" in notices and "eps" in notices and "bins" in notices and "zzz" in notices
    assert at.query_params["source"] == "gaussian"
    assert at.query_params["eps"] == "1e-05"


def test_group_count_that_does_not_divide_c_falls_back():
    at = open_page({"source": "images", "variant": "group_norm", "num_groups": "4"})
    assert not at.exception
    assert any("num_groups=4 does not fit" in t for t in texts(at, "info"))


def test_changing_a_control_redraws():
    at = open_page({"variant": "batch_norm"})
    before = charts(at)[2]["data"][0]["y"]  # after, channel 0
    at.selectbox(key="variant").set_value("instance_norm").run()
    assert_clean(at)
    assert at.query_params["variant"] == "instance_norm"
    assert charts(at)[2]["data"][0]["y"] != before


def test_a_click_that_overtakes_the_url_is_kept():
    """A click can reach the server before the browser has taken the page's latest URL: its rerun then
    carries the query string from before. That is the session's own old link, not a new one: the click stands."""
    at = open_page({"variant": "batch_norm"})
    older = dict(at.query_params.items())
    at.selectbox(key="variant").set_value("layer_norm").run()
    assert at.query_params["variant"] == "layer_norm"
    at.query_params.clear()
    at.query_params.update(older)  # the browser still shows the first link
    at.slider(key="bins").set_value(30).run()
    assert_clean(at)
    assert at.selectbox(key="variant").value == "layer_norm"
    assert at.query_params["variant"] == "layer_norm" and at.query_params["bins"] == "30"


def test_a_link_from_another_page_is_applied_even_when_seen_before():
    """Arriving from another page (a lesson's button) applies its link, though this page wrote it earlier."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=support.TIMEOUT)
    at.switch_page("app_pages/explore.py").run()
    first = dict(at.query_params.items())
    assert first["variant"] == "batch_norm"
    at.selectbox(key="variant").set_value("rms_norm").run()
    assert at.query_params["variant"] == "rms_norm"
    at.switch_page("app_pages/lessons.py").run()
    at.query_params.clear()
    at.query_params.update(first)
    at.switch_page("app_pages/explore.py").run()
    assert_clean(at)
    assert at.selectbox(key="variant").value == "batch_norm"
    assert at.query_params["variant"] == "batch_norm"


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


def test_upload_good_then_bad_keeps_the_good_data():
    at = open_page({"source": "upload", "variant": "layer_norm"})
    assert not at.exception
    assert any("Upload a file" in t for t in texts(at, "info"))
    good = np.random.default_rng(0).normal(3, 2, size=(10, 4, 6)).astype(np.float32)
    at.file_uploader(key="upload_file").upload("good.npy", _npy(good)).run()
    assert_clean(at)
    assert any("**Verified**" in m for m in texts(at, "markdown"))
    hist_before = charts(at)[0]["data"][0]["y"]
    assert sum(hist_before) == good.size
    at.file_uploader(key="upload_file").upload("bad.npy", b"\x93NUMPY" + b"garbage").run()
    assert not at.exception
    errors = texts(at, "error")
    assert len(errors) == 1 and "bad.npy" in errors[0] and "previous data is still in use" in errors[0]
    assert charts(at)[0]["data"][0]["y"] == hist_before  # the good data is still shown


def test_upload_with_nan_is_explained_not_crashed():
    arr = np.random.default_rng(1).normal(size=(8, 3, 5)).astype(np.float32)
    arr[0, 0, 0] = np.nan
    at = open_page({"source": "upload"})
    at.file_uploader(key="upload_file").upload("nan.npy", _npy(arr)).run()
    assert not at.exception
    assert any("NaN" in e for e in texts(at, "error"))


def test_snippet_reproduces_the_output():
    at = open_page({"source": "images", "variant": "group_norm", "num_groups": "3", "weight": "2.0", "seed": "3"})
    assert_clean(at)
    code = [c.value for c in at.code][0]
    scope: dict = {}
    exec(code, scope)  # the snippet is the user's own reproduction recipe
    y = scope["y"]
    x = vnviz.data.make_source("images", seed=3).x
    expected = vnviz.apply("group_norm", x, num_groups=3, weight=2.0)
    assert (y - expected).abs().max() == 0
