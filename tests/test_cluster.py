"""ClusterNorm against an independent reference: torch's batch_norm run on each true cluster."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import adjusted_rand_score

import vnviz
from vnviz.errors import InputError
from vnviz.variants.cluster import METHODS, ClusterResult, cluster_norm_details

# Per-method parameters that make the well-separated blobs below come out as exactly 3 clusters.
METHOD_PARAMS = {m: {"n_clusters": 3} for m in METHODS}
METHOD_PARAMS["dbscan"] = {"dbscan_eps": 3.0, "min_samples": 5}
METHOD_PARAMS["hdbscan"] = {"min_cluster_size": 20}

DTYPES = (torch.float32, torch.float64)


def blobs(per: int = 60, c: int = 4, spatial: tuple[int, ...] = (2, 2), std: float = 0.1, seed: int = 0,
          dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """3 well-separated blobs of ``per`` samples (N, C, *spatial), shuffled; returns (x, true labels).

    float64 by default: tight blobs far from 0 make float32 round-off (~1e-6 × |mean| / std) exceed
    assert_close's float32 tolerance in *any* implementation, torch's batch_norm included.
    """
    g = torch.Generator().manual_seed(seed)
    shape = (c, *spatial)
    signs = torch.tensor([(-1.0) ** i for i in range(c)]).reshape(c, *(1,) * len(spatial))  # +1, -1, ... per channel
    centers = torch.stack([torch.zeros(shape), torch.full(shape, 10.0), 10.0 * signs.expand(shape)])  # (3, C, *spatial)
    scale = torch.tensor([1.0, 3.0, 0.5]).reshape(3, *(1,) * len(shape))  # different spreads per blob
    true = torch.arange(3).repeat_interleave(per)
    x = centers[true] + std * scale[true] * torch.randn((3 * per, *shape), generator=g)
    perm = torch.randperm(3 * per, generator=g)
    return x[perm].to(dtype), true[perm]


def reference(x: torch.Tensor, labels: torch.Tensor, weight=None, bias=None, eps: float = 1e-5) -> torch.Tensor:
    """torch.nn.functional.batch_norm on each label's samples, stitched back; -1 = the whole batch's statistics."""
    y = torch.empty_like(x)
    whole = F.batch_norm(x, None, None, weight, bias, True, 0.0, eps)
    for k in labels.unique().tolist():
        m = labels == k
        y[m] = whole[m] if k == -1 else F.batch_norm(x[m], None, None, weight, bias, True, 0.0, eps)
    return y


def affine(c: int, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return (torch.rand(c, generator=g) + 0.5).to(dtype), torch.randn(c, generator=g).to(dtype)


# -- every method agrees with per-cluster batch_norm ---------------------------------


@pytest.mark.filterwarnings("ignore:Graph is not fully connected")
@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_matches_per_cluster_batch_norm(method):
    x, true = blobs()
    w, b = affine(4)
    r = cluster_norm_details(x, method=method, weight=w, bias=b, **METHOD_PARAMS[method])
    assert isinstance(r, ClusterResult) and r.method == method
    assert adjusted_rand_score(true.numpy(), r.labels.numpy()) == 1.0
    assert r.labels.dtype == torch.int64 and r.warnings == ()
    torch.testing.assert_close(r.y, reference(x, r.labels, w, b))
    torch.testing.assert_close(vnviz.apply("cluster_norm", x, method=method, weight=w, bias=b,
                                           **METHOD_PARAMS[method]), r.y)
    assert r.means.shape == (3, 4) and r.vars.shape == (3, 4) and r.counts.tolist() == [60, 60, 60]


@pytest.mark.parametrize("method", ["torch_kmeans", "kmeans", "gmm"])
def test_float32_matches_per_cluster_batch_norm(method):
    x, true = blobs(dtype=torch.float32)
    r = cluster_norm_details(x, method=method)
    assert r.y.dtype == torch.float32 and adjusted_rand_score(true.numpy(), r.labels.numpy()) == 1.0
    torch.testing.assert_close(r.y, reference(x, r.labels), atol=2e-4, rtol=1e-4)


@pytest.mark.parametrize("features", ["flatten", "channel_means", "pca"])
def test_features_find_the_blobs(features):
    x, true = blobs()
    r = cluster_norm_details(x, features=features)
    assert adjusted_rand_score(true.numpy(), r.labels.numpy()) == 1.0
    torch.testing.assert_close(r.y, reference(x, r.labels))


def test_groups_are_standardized():
    x, _ = blobs()
    r = cluster_norm_details(x, eps=0.0)
    ids = vnviz.stat_groups("cluster_norm", x.shape, labels=r.labels)
    for g in ids.unique():
        vals = r.y[ids == g].double()
        assert abs(float(vals.mean())) < 1e-5 and abs(float(vals.var(correction=0)) - 1) < 1e-3


# -- one cluster is batch_norm ---------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_affine", [False, True])
@pytest.mark.parametrize("mode", ["hard", "soft"])
def test_one_cluster_is_batch_norm(mode, with_affine, dtype):
    x = (torch.randn(32, 3, 5, generator=torch.Generator().manual_seed(2)) * 3 + 7).to(dtype)
    w, b = affine(3, dtype) if with_affine else (None, None)
    y = vnviz.apply("cluster_norm", x, n_clusters=1, mode=mode, weight=w, bias=b)
    torch.testing.assert_close(y, F.batch_norm(x, None, None, w, b, True, 0.0, 1e-5))
    assert y.dtype == dtype


@pytest.mark.parametrize("method", ["torch_kmeans", "gmm"])
def test_soft_with_one_component_from_a_method_is_batch_norm(method):
    x, _ = blobs()
    r = cluster_norm_details(x, method=method, n_clusters=1, mode="soft")
    torch.testing.assert_close(r.y, F.batch_norm(x, None, None, training=True))
    torch.testing.assert_close(r.posteriors, torch.ones(180, 1, dtype=torch.float64))


# -- given labels ------------------------------------------------------------------


def test_labels_match_the_per_label_reference_and_gradients():
    x, true = blobs()
    given = torch.tensor([7, -5, 100])[true]  # any ints name the groups
    w, b = affine(4)
    xa = x.clone().requires_grad_()
    xb = x.clone().requires_grad_()
    r = cluster_norm_details(xa, labels=given, weight=w, bias=b)
    assert r.method == "labels" and r.warnings == ()
    assert torch.equal(r.labels, torch.tensor([1, 0, 2])[true])  # renumbered in sorted order: -5, 7, 100
    ref = reference(xb, given, w, b)
    torch.testing.assert_close(r.y, ref)
    g = torch.randn_like(x)
    (r.y * g).sum().backward()
    (ref * g).sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad)


@pytest.mark.parametrize("as_type", [torch.tensor, lambda v: torch.tensor(v).numpy(), list])
def test_labels_accept_tensors_arrays_and_lists(as_type):
    x, true = blobs()
    r = cluster_norm_details(x, labels=as_type(true.tolist()))
    torch.testing.assert_close(r.y, reference(x, true))


def test_noise_labels_use_batch_statistics():
    x, true = blobs()
    given = true.clone()
    given[:7] = -1
    r = cluster_norm_details(x, labels=given)
    torch.testing.assert_close(r.y, reference(x, given))
    torch.testing.assert_close(r.y[:7], F.batch_norm(x, None, None, training=True)[:7])
    assert r.warnings == ("7 of 180 samples are noise (label -1) and are normalized with the statistics of the "
                          "whole batch (plain BatchNorm).",)
    ids = vnviz.stat_groups("cluster_norm", x.shape, labels=given)
    assert ids[:7, :, 0, 0].tolist() == [[12, 13, 14, 15]] * 7  # noise: K * C + c
    assert ids.unique().tolist() == list(range(16))


@pytest.mark.parametrize("mode", ["hard", "soft"])
def test_all_noise_is_plain_batch_norm(mode):
    x, _ = blobs()
    r = cluster_norm_details(x, labels=torch.full((180,), -1), mode=mode)
    torch.testing.assert_close(r.y, F.batch_norm(x, None, None, training=True))
    assert r.warnings[0].startswith("All 180 samples are noise (label -1)")
    assert r.means.shape == (0, 4) and r.labels.eq(-1).all()


# -- soft mode ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["torch_kmeans", "gmm", "dbscan"])
def test_soft_on_separated_blobs_is_hard_over_sqrt_pi(method):
    per = torch.tensor([30, 60, 90])  # unequal sizes, so π_k differs per blob
    x, true = blobs(per=90)
    keep = torch.cat([torch.nonzero(true == k)[: int(per[k])].flatten() for k in range(3)])
    x, true = x[keep], true[keep]
    params = dict(METHOD_PARAMS[method], min_samples=3)
    hard = cluster_norm_details(x, method=method, **params)
    soft = cluster_norm_details(x, method=method, mode="soft", **params)
    assert adjusted_rand_score(true.numpy(), soft.labels.numpy()) == 1.0
    torch.testing.assert_close(soft.posteriors.sum(1), torch.ones(180, dtype=torch.float64))
    torch.testing.assert_close(soft.posteriors, F.one_hot(soft.labels, 3).double())
    pi = soft.posteriors.mean(0)  # (K,)
    expected = reference(x, soft.labels) / pi[soft.labels].sqrt()[:, None, None, None]
    torch.testing.assert_close(soft.y, expected)
    assert adjusted_rand_score(hard.labels.numpy(), soft.labels.numpy()) == 1.0


def test_soft_mixture_formula_on_overlapping_data():
    """Soft posteriors: the output is Σ_k τ_ik/√π_k · (x_i - μ_k)/√(σ²_k + eps), written out naively."""
    x = torch.randn(50, 3, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    x[:25] += 1.5
    r = cluster_norm_details(x, n_clusters=2, mode="soft", em_iter=3)
    tau = r.posteriors  # (N, K)
    assert 0.0 < float(tau.min()) and float(tau.max()) < 1.0  # really soft
    torch.testing.assert_close(tau.sum(1), torch.ones(50, dtype=torch.float64))
    lam = tau.sum(0) * 4  # (K,)
    mu = torch.einsum("nk,ncs->kc", tau, x) / lam[:, None]
    var = torch.einsum("nk,nkcs->kc", tau, (x[:, None] - mu[None, :, :, None]) ** 2) / lam[:, None]
    pi = tau.mean(0)
    xhat = (x[:, None] - mu[None, :, :, None]) / (var[None, :, :, None] + 1e-5).sqrt()  # (N, K, C, S)
    y = torch.einsum("nk,nkcs->ncs", tau / pi.sqrt(), xhat)
    torch.testing.assert_close(r.means, mu)
    torch.testing.assert_close(r.vars, var)
    torch.testing.assert_close(r.y, y)


def test_soft_with_labels_uses_one_hot_posteriors_and_noise_rows_are_zero():
    x, true = blobs()
    given = true.clone()
    given[:4] = -1
    r = cluster_norm_details(x, labels=given, mode="soft")
    assert r.posteriors[:4].eq(0).all() and torch.equal(r.posteriors[4:], F.one_hot(given[4:], 3).double())
    torch.testing.assert_close(r.y[:4], F.batch_norm(x, None, None, training=True)[:4])
    pi = torch.bincount(given[4:]).double() / 176
    torch.testing.assert_close(r.y[4:], reference(x[4:], given[4:]) / pi[given[4:]].sqrt()[:, None, None, None])
    assert "taking no part in the mixture" in r.warnings[0]


# -- edge cases ----------------------------------------------------------------------


def test_more_clusters_than_samples_is_an_input_error():
    with pytest.raises(InputError, match=r"n_clusters must be at most the number of samples N=4; got 5\."):
        vnviz.apply("cluster_norm", torch.randn(4, 3), n_clusters=5)


@pytest.mark.parametrize("bad", [0, -2])
def test_fewer_than_one_cluster_is_an_input_error(bad):
    with pytest.raises(InputError, match=f"n_clusters must be >= 1; got {bad}"):
        vnviz.apply("cluster_norm", torch.randn(4, 3), n_clusters=bad)
    with pytest.raises(InputError, match="n_clusters"):
        cluster_norm_details(torch.randn(4, 3), n_clusters=bad)


@pytest.mark.parametrize("method, cap", [("spectral", 5000), ("agglomerative", 5000), ("dbscan", 20000),
                                         ("hdbscan", 20000), ("gmm", 200000), ("birch", 10000)])
def test_slow_methods_refuse_large_batches(method, cap):
    x = torch.zeros(cap + 1, 1).expand(cap + 1, 1)  # the cap is checked before any work
    with pytest.raises(InputError, match=rf"method='{method}' handles at most {cap} samples .*use torch_kmeans"):
        vnviz.apply("cluster_norm", x, method=method)


@pytest.mark.parametrize("method", ["torch_kmeans", "kmeans"])
def test_duplicate_points_give_fewer_clusters_with_a_warning(method):
    x = torch.tensor([[0.0, 0.0], [5.0, 5.0]]).repeat(10, 1)  # 2 distinct points, 20 samples
    r = cluster_norm_details(x, method=method, n_clusters=3)
    assert sorted(r.labels.unique().tolist()) == [0, 1]
    text = " ".join(r.warnings)
    assert f"{method} found 2 cluster(s) instead of the 3 asked for" in text
    if method == "torch_kmeans":
        assert "only 2 distinct point(s), fewer than n_clusters=3" in text
    assert "constant (variance 0)" in text
    assert r.y.eq(0).all()  # every (cluster, channel) is constant: output = bias = 0


def test_singleton_without_spatial_dims_outputs_the_bias():
    x = torch.randn(10, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    labels = torch.tensor([0] * 5 + [1] * 4 + [2])
    w, b = affine(3)
    r = vnviz.apply("cluster_norm", x, labels=labels, weight=w, bias=b)
    torch.testing.assert_close(r[9], b)
    torch.testing.assert_close(r[:9], reference(x[:9], labels[:9], w, b))
    d = cluster_norm_details(x, labels=labels)
    assert d.warnings == ("1 sample(s) sit alone in their cluster: with no spatial dims each has one value per "
                          "channel, so its variance is 0, only eps keeps it finite, and its output is the bias "
                          "(0 without affine).",)


def test_singleton_with_eps_zero_is_an_input_error():
    x = torch.randn(10, 3, generator=torch.Generator().manual_seed(4))
    with pytest.raises(InputError, match=r"zero variance .* and eps=0 is too small"):
        vnviz.apply("cluster_norm", x, labels=[0] * 9 + [1], eps=0.0)


def test_singleton_with_spatial_dims_is_instance_norm():
    x = torch.randn(10, 3, 6, generator=torch.Generator().manual_seed(5))
    labels = torch.tensor([0] * 8 + [1, 2])
    r = cluster_norm_details(x, labels=labels)
    torch.testing.assert_close(r.y[8:], F.instance_norm(x[8:]))
    assert r.warnings == ("2 sample(s) sit alone in their cluster, so their statistics come from their own 6 "
                          "positions per channel, as in InstanceNorm.",)


def test_one_sample_is_defined():
    r = cluster_norm_details(torch.tensor([[1.0, 2.0]]), n_clusters=1, bias=torch.tensor([3.0, 4.0]))
    assert r.y.tolist() == [[3.0, 4.0]] and "sit alone" in r.warnings[0]


def test_dbscan_noise_uses_batch_statistics():
    x, true = blobs()
    x = torch.cat([x, torch.full((1, 4, 2, 2), 100.0)])  # one far outlier
    r = cluster_norm_details(x, method="dbscan", **METHOD_PARAMS["dbscan"])
    assert r.labels[-1] == -1 and adjusted_rand_score(true.numpy(), r.labels[:-1].numpy()) == 1.0
    torch.testing.assert_close(r.y, reference(x, r.labels))
    torch.testing.assert_close(r.y[-1], F.batch_norm(x, None, None, training=True)[-1])
    assert r.warnings == ("1 of 181 samples are noise (label -1) and are normalized with the statistics of the "
                          "whole batch (plain BatchNorm).",)


@pytest.mark.parametrize("method, params", [("dbscan", {"dbscan_eps": 1e-3}), ("hdbscan", {"min_cluster_size": 500})])
def test_all_noise_from_a_method_is_plain_batch_norm(method, params):
    x, _ = blobs()
    r = cluster_norm_details(x, method=method, **params)
    torch.testing.assert_close(r.y, F.batch_norm(x, None, None, training=True))
    assert len(r.warnings) == 1 and r.warnings[0].startswith("All 180 samples are noise (label -1)")
    assert ("dbscan_eps" if method == "dbscan" else "min_cluster_size") in r.warnings[0]


def test_stat_groups_needs_labels():
    with pytest.raises(InputError, match="stat_groups needs labels="):
        vnviz.stat_groups("cluster_norm", (6, 2, 3))
    ids = vnviz.stat_groups("cluster_norm", (4, 2, 3), labels=[1, 0, 1, -1])
    assert ids.dtype == torch.int64 and ids.shape == (4, 2, 3)
    assert ids[:, :, 0].tolist() == [[2, 3], [0, 1], [2, 3], [4, 5]]


BAD_LABELS = [
    ([0, 1], "must have shape \\(3,\\)"),
    (torch.tensor([0.0, 1.0, 1.0]), "must hold whole numbers"),
    ([True, False, True], "must hold whole numbers"),
    ("abc", "must be a tensor, array or list"),
    (torch.zeros(3, 1, dtype=torch.long), "must have shape \\(3,\\)"),
]


@pytest.mark.parametrize("labels, message", BAD_LABELS)
def test_bad_labels_are_input_errors(labels, message):
    with pytest.raises(InputError, match=message):
        vnviz.apply("cluster_norm", torch.randn(3, 2), labels=labels)


@pytest.mark.parametrize("x, message", [
    (torch.ones(4, 3, dtype=torch.int64), "float32 or float64"),
    (torch.tensor([[0.0, float("nan")], [1.0, 2.0]]), "NaN or Inf"),
    (torch.ones(4), "at least 2 dims"),
])
def test_bad_inputs_are_input_errors(x, message):
    with pytest.raises(InputError, match=message):
        vnviz.apply("cluster_norm", x)


@pytest.mark.parametrize("params, message", [
    ({"method": "kmedoids"}, "method must be one of torch_kmeans"),
    ({"mode": "fuzzy"}, "mode must be one of hard, soft"),
    ({"weight": torch.ones(5)}, "weight must have shape \\(2,\\)"),
    ({"dbscan_eps": 0.0}, "dbscan_eps must be > 0"),
])
def test_bad_parameters_are_input_errors(params, message):
    with pytest.raises(InputError, match=message):
        vnviz.apply("cluster_norm", torch.randn(6, 2), **params)


# -- determinism, declaration, device ------------------------------------------------


@pytest.mark.parametrize("method, features", [
    ("torch_kmeans", "flatten"), ("torch_kmeans", "pca"), ("kmeans", "flatten"), ("gmm", "channel_means"),
])
def test_same_seed_same_labels(method, features):
    x = torch.randn(300, 4, 3, generator=torch.Generator().manual_seed(6))  # no structure: labels depend on the seed
    runs = [cluster_norm_details(x, method=method, features=features, n_clusters=5, seed=s).labels for s in (3, 3, 4)]
    assert torch.equal(runs[0], runs[1])


def test_declaration():
    v = vnviz.VARIANTS["cluster_norm"]
    assert (v.title, v.family, v.pattern) == ("ClusterNorm", "norm", "(k b) c h w -> k c 1 1")
    assert v.param("method").choices == tuple(METHODS) and v.param("method").default == "torch_kmeans"
    assert v.param("n_clusters").low == 1 and v.param("mode").choices == ("hard", "soft")
    assert not v.param("labels").widget
    assert {"dbscan_eps", "min_samples", "min_cluster_size", "max_iter", "tol", "seed", "eps", "weight", "bias",
            "features", "pca_dim", "em_iter"} <= set(v.param_names)
    assert v.defaults()["n_clusters"] == 3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("mode", ["hard", "soft"])
def test_cuda_matches_cpu(mode):
    x, true = blobs()
    r = cluster_norm_details(x.cuda(), mode=mode)
    assert r.y.device.type == "cuda" and r.labels.device.type == "cuda"
    assert adjusted_rand_score(true.numpy(), r.labels.cpu().numpy()) == 1.0
    torch.testing.assert_close(r.y.cpu(), cluster_norm_details(x, labels=r.labels.cpu(), mode=mode).y)
