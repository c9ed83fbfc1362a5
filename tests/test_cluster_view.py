"""cluster_view (BatchNorm vs ClusterNorm per cluster) against independent computations; its figures by structure."""
from __future__ import annotations

import dataclasses

import pytest
import torch
from sklearn.metrics import adjusted_rand_score

from vnviz.analysis.cluster_view import (MAX_CHANNELS, MAX_CLUSTERS, MAX_POINTS, NOISE, cluster_view,
                                         payload_numbers, projection, strided)
from vnviz.data import make_source
from vnviz.errors import InputError
from vnviz.figures import cluster as fig
from vnviz.variants.cluster import cluster_norm_details
from vnviz.variants.registry import VARIANTS

MIXTURE = make_source("mixture", (48, 3, 4), 0)  # 3 clusters of 16 samples, 4 positions each
SMALL_2D = make_source("mixture", (60, 2), 0)  # dbscan_eps=1.0 leaves 7 noise samples here
PARTIAL_NOISE = {"method": "dbscan", "dbscan_eps": 1.0}


def stats_by_labels(t: torch.Tensor, labels: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-(cluster, channel) mean and biased std, a loop over clusters in float64: the reference."""
    means, stds = [], []
    for i in range(k):
        part = t[labels == i].double().transpose(0, 1).reshape(t.shape[1], -1)  # (C, n_i * S)
        means.append(part.mean(1))
        stds.append(part.std(1, correction=0))
    return torch.stack(means), torch.stack(stds)


@pytest.fixture(scope="module")
def view():
    return cluster_view(MIXTURE.x, {"method": "torch_kmeans", "n_clusters": 3}, MIXTURE.labels)


# -- the summaries -------------------------------------------------------------------


def test_clusters_the_mixture_exactly(view):
    assert view.ari == 1.0
    assert view.n_clusters == 3 and view.n_noise == 0 and view.rows == (0, 1, 2)
    assert view.sizes.tolist() == [16, 16, 16] and view.size_ids.tolist() == [0, 1, 2]
    assert view.bn_check.ok and view.cn_check.ok
    assert view.warnings == () and view.mode == "hard" and view.method == "torch_kmeans"


def test_per_cluster_statistics_match_a_loop_over_clusters(view):
    x = MIXTURE.x
    res = cluster_norm_details(x, method="torch_kmeans", n_clusters=3)
    bn = torch.nn.functional.batch_norm(x, None, None, training=True, eps=1e-5)
    assert torch.equal(res.labels.cpu(), view.point_labels)  # every sample is drawn (N <= MAX_POINTS)
    for side, t in enumerate((x, bn, res.y)):
        mean, std = stats_by_labels(t, res.labels, 3)
        torch.testing.assert_close(view.stats.mean[side], mean, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(view.stats.std[side], std, atol=1e-5, rtol=1e-5)


def test_clusternorm_centres_each_cluster_and_batchnorm_does_not(view):
    before, bn = view.stats.mean[0], view.stats.mean[1]
    torch.testing.assert_close(view.stats.mean[2], torch.zeros(3, 3, dtype=torch.float64), atol=1e-5, rtol=0)
    torch.testing.assert_close(view.stats.std[2], torch.ones(3, 3, dtype=torch.float64), atol=1e-4, rtol=0)
    assert float(bn.abs().max()) > 0.5  # the clusters keep their offsets after BatchNorm
    assert float(view.stats.std[1].max()) < 0.5  # and are narrower than 1 (the batch std holds the offsets)
    assert float(before.abs().max()) > 5


def test_histograms_count_every_value_of_each_cluster_on_shared_bins(view):
    h = view.hists
    assert h.edges.shape == (3, 61) and h.bn.shape == h.cn.shape == (3, 3, 60)
    per_cluster = torch.tensor([16 * 4] * 3)  # samples x positions
    for ch in range(3):
        assert torch.equal(h.bn[ch].sum(1), per_cluster) and torch.equal(h.cn[ch].sum(1), per_cluster)
    # ClusterNorm's cluster histograms all straddle 0; BatchNorm's do not
    centers = (h.edges[:, :-1] + h.edges[:, 1:]) / 2
    cn_mean = (h.cn[0] * centers[0]).sum(1) / h.cn[0].sum(1)
    bn_mean = (h.bn[0] * centers[0]).sum(1) / h.bn[0].sum(1)
    assert float(cn_mean.abs().max()) < 0.2 < float(bn_mean.abs().max())


def test_clusters_only_once(monkeypatch):
    calls = []

    def counting(*args, **kwargs):
        calls.append(kwargs.get("method"))
        return cluster_norm_details(*args, **kwargs)

    # verification clusters through the declaration's ``details``
    monkeypatch.setitem(VARIANTS, "cluster_norm", dataclasses.replace(VARIANTS["cluster_norm"], details=counting))
    cluster_view(MIXTURE.x, {"method": "kmeans", "n_clusters": 3}, MIXTURE.labels)
    assert calls == ["kmeans"]


def test_soft_mode_keeps_posteriors_and_verifies():
    v = cluster_view(MIXTURE.x, {"method": "torch_kmeans", "n_clusters": 3, "mode": "soft"}, MIXTURE.labels)
    assert v.mode == "soft" and v.cn_check.ok and v.ari == 1.0
    assert v.point_conf is not None and v.point_conf.shape == (48,)
    assert float(v.point_conf.min()) >= 1 / 3 - 1e-6 and float(v.point_conf.max()) <= 1 + 1e-6
    # three balanced components: Mixture Normalization scales each by 1/sqrt(1/3)
    torch.testing.assert_close(v.stats.std[2], torch.full((3, 3), 3**0.5, dtype=torch.float64), atol=1e-3, rtol=0)


def test_ari_is_sklearns_and_absent_without_labels():
    x = SMALL_2D.x
    v = cluster_view(x, {"method": "torch_kmeans", "n_clusters": 4}, SMALL_2D.labels)
    res = cluster_norm_details(x, method="torch_kmeans", n_clusters=4)
    assert v.ari == pytest.approx(adjusted_rand_score(SMALL_2D.labels.numpy(), res.labels.numpy()))
    assert v.ari < 1.0
    bare = cluster_view(x, {"method": "torch_kmeans", "n_clusters": 3})
    assert bare.ari is None and bare.point_true is None


def test_partial_noise_gets_its_own_row_normalized_as_batchnorm():
    v = cluster_view(SMALL_2D.x, PARTIAL_NOISE, SMALL_2D.labels)
    assert v.n_noise == 7 and v.rows[-1] == NOISE and len(v.rows) == v.n_clusters + 1
    assert any("noise" in w for w in v.warnings)
    torch.testing.assert_close(v.stats.mean[2, -1], v.stats.mean[1, -1])  # noise: ClusterNorm = BatchNorm
    assert v.cn_check.ok
    assert fig.sizes(v).data[0].x[-1] == "noise"


def test_all_noise_is_batchnorm_and_is_verified():
    v = cluster_view(MIXTURE.x, {"method": "dbscan"}, MIXTURE.labels)
    assert v.n_clusters == 0 and v.n_noise == 48 and v.rows == (NOISE,)
    assert any("All 48 samples are noise" in w for w in v.warnings)
    assert v.cn_check.ok
    torch.testing.assert_close(v.stats.mean[2], v.stats.mean[1])
    for build in (fig.scatter, fig.sizes, fig.histograms, fig.statistics):
        build(v)


def test_bad_parameters_raise_input_error():
    with pytest.raises(InputError, match="n_clusters must be at most the number of samples N=48; got 49"):
        cluster_view(MIXTURE.x, {"n_clusters": 49})
    with pytest.raises(InputError, match="handles at most 5000 samples"):
        cluster_view(torch.randn(5001, 2), {"method": "agglomerative"})


def test_the_summary_does_not_grow_with_the_tensor():
    params = {"method": "torch_kmeans", "n_clusters": 12, "max_iter": 5}
    small = cluster_view(torch.randn(3000, 20), params, torch.arange(3000) % 3)
    large = cluster_view(torch.randn(6000, 20), params, torch.arange(6000) % 3)
    assert small.points.shape == large.points.shape == (MAX_POINTS, 2)
    assert len(large.rows) == MAX_CLUSTERS and large.channels == MAX_CHANNELS
    assert payload_numbers(small) == payload_numbers(large)
    assert any("2000 of the 6000 samples" in n for n in large.notes)
    assert any("8 largest of the 12 clusters" in n for n in large.notes)
    assert any("first 16 of the 20 channels" in n for n in large.notes)
    # the panels show the largest clusters
    shown = large.rows
    assert min(int((large.sizes[large.size_ids == k]).item()) for k in shown) >= max(
        int(s) for k, s in zip(large.size_ids.tolist(), large.sizes.tolist()) if k not in shown)


def test_strided_is_deterministic_and_bounded():
    assert strided(5, 10).tolist() == [0, 1, 2, 3, 4]
    idx = strided(10_001, 2000)
    assert idx.numel() == 2000 and idx[0] == 0 and idx[-1] == 10_000 and bool((idx.diff() > 0).all())
    assert torch.equal(idx, strided(10_001, 2000))


def test_projection_matches_an_exact_svd():
    g = torch.Generator().manual_seed(3)
    spread = torch.linspace(0.2, 3, 15, dtype=torch.float64).reshape(3, 5)  # distinct variances: a unique PCA
    x = torch.randn(200, 3, 5, generator=g, dtype=torch.float64) * spread
    pts, explained = projection(x)
    flat = x.reshape(200, -1)
    s = torch.linalg.svdvals(flat - flat.mean(0))
    total = float((s**2).sum())
    assert explained == pytest.approx((float(s[0] ** 2) / total, float(s[1] ** 2) / total), rel=1e-5)
    torch.testing.assert_close(pts.var(0, correction=0), s[:2] ** 2 / 200, rtol=1e-5, atol=0)  # randomized SVD
    one, (e1, e2) = projection(torch.randn(10, 1))
    assert one.shape == (10, 2) and bool((one[:, 1] == 0).all()) and e1 == pytest.approx(1.0) and e2 == 0.0


# -- the figures, by structure ---------------------------------------------------------


def test_scatter_colours_clusters_and_shapes_true_classes(view):
    f = fig.scatter(view)
    points = [t for t in f.data if t.x[0] is not None]
    keys = [t for t in f.data if t.x[0] is None]
    assert sum(len(t.x) for t in points) == 48
    assert [t.name for t in points] == ["cluster 0", "cluster 1", "cluster 2"]
    assert [t.name for t in keys] == ["cluster 0", "cluster 1", "cluster 2", "class 0", "class 1", "class 2"]
    assert {t.marker.color for t in points} == {fig.cluster_color(k) for k in range(3)}
    for t in points:  # ARI 1: each cluster is one true class, so one symbol per trace
        assert len(set(t.marker.symbol)) == 1
    assert "PC1" in f.layout.xaxis.title.text and "shape = true class" in f.layout.title.text


def test_histograms_have_one_row_per_cluster_and_both_layers(view):
    f = fig.histograms(view, channel=1)
    assert len(f.data) == 2 * 3 and all(len(t.y) == 60 for t in f.data)
    assert [t.marker.color for t in f.data[::2]] == [fig.cluster_color(k) for k in range(3)]
    assert list(f.data[0].y) == view.hists.bn[1, 0].tolist() and list(f.data[1].y) == view.hists.cn[1, 0].tolist()
    texts = [a.text for a in f.layout.annotations]
    assert "after BatchNorm" in texts and "after ClusterNorm" in texts and "cluster 2" in texts
    assert "Channel 1" in f.layout.title.text
    assert fig.histograms(view, channel=99).data == ()  # a channel the view lacks: an empty figure


def test_statistics_are_small_multiples_with_error_bars(view):
    f = fig.statistics(view)
    assert len(f.data) == 3 * 3  # (before, BatchNorm, ClusterNorm) x clusters
    assert [t.name for t in f.data[::3]] == ["before", "BatchNorm", "ClusterNorm"]
    assert list(f.data[0].error_y.array) == pytest.approx(view.stats.std[0, 0].tolist())
    texts = {a.text for a in f.layout.annotations}
    assert {"before", "BatchNorm", "ClusterNorm", "cluster 0", "cluster 1", "cluster 2"} <= texts


def test_sizes_are_one_bar_per_cluster(view):
    f = fig.sizes(view)
    assert list(f.data[0].x) == ["0", "1", "2"] and list(f.data[0].y) == [16, 16, 16]
    assert "3 clusters" in f.layout.title.text
