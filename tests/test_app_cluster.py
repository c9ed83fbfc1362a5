"""The ClusterNorm page under AppTest: every method, soft mode, noise, errors, links, uploads, no exception anywhere."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from vnviz.variants.cluster import METHODS
import apptest_support as support
from apptest_support import assert_clean, charts, link, texts

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "cluster_norm.py")
SMALL = {"source": "mixture", "shape": "60,2"}  # 3 well-separated clusters of 20 samples
METHOD_LINKS = {m: {"method": m, "n_clusters": "3"} for m in METHODS}  # each gives the 3 true clusters on SMALL
METHOD_LINKS["dbscan"] = {"method": "dbscan", "dbscan_eps": "2.0"}
METHOD_LINKS["hdbscan"] = {"method": "hdbscan", "min_cluster_size": "5"}
CHARTS = 4  # scatter, sizes, histograms, statistics


def open_page(query: dict[str, str] | None = None) -> AppTest:
    return support.open_page(PAGE, query)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_default_view_is_the_mixture_clustered_exactly():
    at = open_page()
    assert_clean(at)
    assert at.selectbox(key="source").value == "mixture"
    assert metric(at, "clusters found") == "3"
    assert metric(at, "ARI vs true classes") == "1.000"
    assert metric(at, "verified") == "both pass"
    figs = charts(at)
    assert len(figs) == CHARTS
    assert sum(len(t["x"]) for t in figs[0]["data"] if t["x"][0] is not None) == 96  # every sample, once
    assert len(figs[2]["data"]) == 2 * 3 and all(len(t["y"]) == 60 for t in figs[2]["data"])  # binned, not raw
    verdicts = [m for m in texts(at, "markdown") if "Verified" in m]
    assert len(verdicts) == 2 and "**BatchNorm**" in verdicts[0] and "**ClusterNorm**" in verdicts[1]
    assert link(at) == {}  # every value is the page's default: mixture, torch_kmeans
    assert at.selectbox(key="method").value == "torch_kmeans"


@pytest.mark.filterwarnings("ignore:Graph is not fully connected")  # scikit-learn's spectral, on 3 far-apart blobs
@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_on_the_mixture(method):
    at = open_page({**SMALL, **METHOD_LINKS[method]})
    assert_clean(at)
    assert metric(at, "clusters found") == "3"
    assert metric(at, "ARI vs true classes") == "1.000"
    assert metric(at, "verified") == "both pass"
    assert len(charts(at)) == CHARTS
    assert link(at).get("method", "torch_kmeans") == method == at.selectbox(key="method").value


def test_method_specific_parameters_show_only_where_they_apply():
    keys = lambda at: {w.key for w in at.number_input} | {w.key for w in at.selectbox}  # noqa: E731
    kmeans = keys(open_page({**SMALL, "method": "kmeans"}))
    assert "n_clusters" in kmeans
    assert not {"dbscan_eps", "min_samples", "min_cluster_size",
                "pca_dim", "em_iter"} & kmeans
    dbscan = keys(open_page({**SMALL, "method": "dbscan"}))
    assert {"dbscan_eps", "min_samples"} <= dbscan
    assert "n_clusters" not in dbscan
    soft_pca = keys(open_page({**SMALL, "mode": "soft", "features": "pca"}))
    assert {"em_iter", "pca_dim"} <= soft_pca


@pytest.mark.parametrize("method", ["torch_kmeans", "gmm"])
def test_soft_mode(method):
    at = open_page({**SMALL, "method": method, "n_clusters": "3", "mode": "soft"})
    assert_clean(at)
    assert metric(at, "ARI vs true classes") == "1.000" and metric(at, "verified") == "both pass"
    assert any("Mixture Normalization" in c for c in texts(at, "caption"))
    assert link(at)["mode"] == "soft"
    hover = " ".join(t.get("hovertemplate", "") for t in charts(at)[0]["data"])
    assert "largest posterior" in hover


def test_dbscan_noise_is_warned():
    at = open_page()  # 96 samples of 256 values: dbscan's default radius finds no cluster
    assert_clean(at)
    at.selectbox(key="method").set_value("dbscan").run()
    assert_clean(at)
    assert texts(at, "warning") == [
        "All 96 samples are noise (label -1), so the whole batch is normalized with its own statistics, "
        "as plain BatchNorm (raise dbscan_eps or lower min_samples)."]
    assert metric(at, "clusters found") == "0 + 96 noise"
    some = open_page({**SMALL, "method": "dbscan", "dbscan_eps": "1.0"})
    assert_clean(some)
    assert texts(some, "warning") == [
        "7 of 60 samples are noise (label -1) and are normalized with the statistics of the whole batch "
        "(plain BatchNorm)."]
    assert metric(some, "clusters found") == "3 + 7 noise"


def test_too_many_clusters_falls_back_with_a_notice_and_the_view_stays():
    """Item 10 of issue 12: more clusters than samples no longer removes every chart: the link's value falls back
    to the default (at most N), with a notice."""
    at = open_page({**SMALL, "n_clusters": "500"})
    assert_clean(at)
    assert any("n_clusters=500 does not fit this data (allowed: 1 to 60); using 3" in t for t in texts(at, "info"))
    assert at.number_input(key="n_clusters").value == 3 and at.number_input(key="n_clusters").max == 60
    assert len(charts(at)) == CHARTS
    assert at.selectbox(key="source").value == "mixture" and at.text_input(key="shape").value == "60,2"
    photos = open_page({"source": "photos", "n_clusters": "3"})  # the case: N = 2
    assert_clean(photos)
    assert any("n_clusters=3 does not fit" in t for t in texts(photos, "info"))
    assert len(charts(photos)) == CHARTS and metric(photos, "clusters found") == "2"


def test_method_over_its_sample_cap_is_refused():
    at = open_page({"source": "mixture", "shape": "5001,2", "method": "agglomerative", "n_clusters": "3"})
    assert not at.exception
    assert texts(at, "error") == [
        "ClusterNorm: method='agglomerative' handles at most 5000 samples (Ward linkage needs all N×N pairwise "
        "distances); got 5001; use torch_kmeans or minibatch_kmeans for large batches."]
    assert at.text_input(key="shape").value == "5001,2"


def test_link_round_trip_reproduces_the_view():
    first = open_page({**SMALL, "method": "kmeans", "n_clusters": "4", "seed": "5", "channel": "1", "eps": "0.001"})
    assert_clean(first)
    shared = link(first)
    assert shared["method"] == "kmeans" and shared["n_clusters"] == "4" and shared["seed"] == "5"
    assert shared["channel"] == "1" and shared["eps"] == "0.001" and shared["shape"] == "60,2"
    assert "source" not in shared  # mixture: this page's default
    assert "dbscan_eps" not in shared and "em_iter" not in shared  # parameters that do not apply stay out
    second = open_page(shared)
    assert_clean(second)
    assert link(second) == shared
    assert charts(first) == charts(second)
    assert "Channel 1" in charts(second)[2]["layout"]["title"]["text"]


def test_invalid_link_values_fall_back_with_a_notice():
    at = open_page({"source": "nonsense", "method": "magic", "n_clusters": "-3", "mode": "sideways",
                    "channel": "9", "zzz": "1"})
    assert_clean(at)
    notices = " ".join(texts(at, "info"))
    for key in ("source", "method", "n_clusters", "mode", "channel=9", "zzz"):
        assert key in notices, key
    assert link(at) == {}  # nothing valid was left: every widget shows its default
    assert at.selectbox(key="source").value == "mixture" and at.selectbox(key="method").value == "torch_kmeans"
    assert at.number_input(key="n_clusters").value == 3 and at.selectbox(key="mode").value == "hard"
    assert at.selectbox(key="channel").value == 0
    assert metric(at, "ARI vs true classes") == "1.000"


@pytest.mark.parametrize("source", ["iris", "wine", "digits"])
def test_real_datasets(source):
    query = {"source": source, "n_clusters": "3"}
    if source == "digits":
        query["shape"] = "300,1,8,8"
    at = open_page(query)
    assert_clean(at)
    assert metric(at, "clusters found") == "3" and metric(at, "verified") == "both pass"
    assert 0.0 < float(metric(at, "ARI vs true classes")) <= 1.0


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def test_upload_has_no_true_classes_and_an_error_keeps_it():
    at = open_page({"source": "upload"})
    assert_clean(at)
    rng = np.random.default_rng(0)
    arr = np.concatenate([rng.normal(-5, 1, (20, 3)), rng.normal(5, 1, (20, 3))]).astype(np.float32)
    at.file_uploader(key="upload_file").upload("two.npy", _npy(arr)).run()
    assert_clean(at)
    assert metric(at, "ARI vs true classes") == "n/a"
    at.number_input(key="n_clusters").set_value(2).run()
    assert_clean(at)
    assert metric(at, "clusters found") == "2"
    assert "shape" not in link(at) and at.selectbox(key="source").value == "upload"
    assert at.number_input(key="n_clusters").max == 40  # at most one cluster per sample of the upload
    at.number_input(key="n_clusters").set_value(4).run()
    assert_clean(at)  # the upload was kept
    assert metric(at, "clusters found") == "4"
