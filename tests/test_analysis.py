"""Per-axis and per-group statistics, histograms, summaries, verification and traps."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import vnviz
from vnviz.analysis import (
    axis_stats, group_stats, histogram, summarize, traps, value_range, verify,
)
from vnviz.analysis import chunks
from vnviz.analysis.view import explore_view
from vnviz.variants import registry


@pytest.fixture(autouse=True, params=["whole", "row", "rows"])
def blocks(request, monkeypatch):
    """Every test here runs three ways: the library's block size (small tensors: one block),
    one sample per block, and blocks of a few samples with a short last one."""
    size = {"whole": None, "row": 1, "rows": 40}[request.param]
    if size is not None:
        monkeypatch.setattr(chunks, "CPU_CHUNK", size)
    return size


# -- axis_stats ------------------------------------------------------------------------


def np_axis(a: np.ndarray, d: int):
    """mean, population std, min, max of every index of axis d over all the other axes."""
    m = np.moveaxis(a, d, 0).reshape(a.shape[d], -1)
    return m.mean(1), m.std(1), m.min(1), m.max(1)


@pytest.mark.parametrize("shape", [(7,), (3, 5), (3, 5, 7), (2, 3, 4, 5), (1, 4, 1, 3)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_axis_stats_against_numpy(shape, dtype):
    x = torch.randn(shape, dtype=dtype) * 3 + torch.arange(shape[-1], dtype=dtype)
    stats = axis_stats(x)
    assert len(stats) == x.ndim
    a = x.double().numpy()
    for d, s in enumerate(stats):
        assert (s.axis, s.name, s.size, s.block) == (d, f"d{d}", shape[d], 1)
        assert torch.equal(s.index, torch.arange(shape[d]))
        mean, std, lo, hi = np_axis(a, d)
        tol = dict(rtol=1e-9, atol=1e-9) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(s.mean.numpy(), mean, **tol)
        np.testing.assert_allclose(s.std.numpy(), std, **tol)
        np.testing.assert_allclose(s.min.numpy(), lo, **tol)
        np.testing.assert_allclose(s.max.numpy(), hi, **tol)


def test_axis_stats_names():
    x = torch.randn(2, 3, 4, 5)
    assert [s.name for s in axis_stats(x, "N C H W")] == ["N", "C", "H", "W"]
    assert [s.name for s in axis_stats(x, "N C")] == ["d0", "d1", "d2", "d3"]  # wrong length: defaults


@pytest.mark.parametrize("size, max_points", [(1000, 64), (1000, 256), (257, 256), (300, 7), (64, 64), (65, 64)])
def test_axis_stats_long_axis_is_block_averaged(size, max_points):
    """Each point equals the statistics of its contiguous block of indices, computed directly."""
    x = torch.randn(3, size, dtype=torch.float64) * 2 + torch.linspace(-5, 5, size, dtype=torch.float64)
    s = axis_stats(x, "N L", max_points=max_points)[1]
    block = math.ceil(size / max_points)
    assert s.block == block and s.size == size
    n_points = math.ceil(size / block)
    assert n_points <= max_points
    assert torch.equal(s.index, torch.arange(0, size, block))
    for t in (s.mean, s.std, s.min, s.max):
        assert t.shape == (n_points,)
    a = x.numpy()
    for i, start in enumerate(range(0, size, block)):
        chunk = a[:, start:start + block].reshape(-1)  # the last block may be short
        np.testing.assert_allclose(float(s.mean[i]), chunk.mean(), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(float(s.std[i]), chunk.std(), rtol=1e-7, atol=1e-9)
        assert float(s.min[i]) == chunk.min()
        assert float(s.max[i]) == chunk.max()
    # the other axis is not blocked
    assert axis_stats(x, max_points=max_points)[0].block == 1


def test_axis_stats_of_a_constant_block_has_zero_std():
    x = torch.full((2, 600), 3.0, dtype=torch.float64)
    s = axis_stats(x, max_points=100)[1]
    assert torch.equal(s.std, torch.zeros_like(s.std))
    assert torch.equal(s.mean, torch.full_like(s.mean, 3.0))


# -- group_stats --------------------------------------------------------------------------


def loop_group_stats(x: torch.Tensor, groups: torch.Tensor, g: int):
    means, vars_, counts = [], [], []
    a, ids = x.double().reshape(-1).tolist(), groups.reshape(-1).tolist()
    for k in range(g):
        vals = [v for v, i in zip(a, ids) if i == k]
        counts.append(len(vals))
        m = sum(vals) / len(vals) if vals else 0.0
        means.append(m)
        vars_.append(sum((v - m) ** 2 for v in vals) / len(vals) if vals else 0.0)
    return torch.tensor(means, dtype=torch.float64), torch.tensor(vars_, dtype=torch.float64), torch.tensor(counts)


@pytest.mark.parametrize("name, shape, params", [
    ("batch_norm", (4, 3, 5), {}),
    ("layer_norm", (4, 3, 5), {}),
    ("instance_norm", (4, 3, 5), {}),
    ("group_norm", (2, 6, 2, 3), {"num_groups": 3}),
    ("layer_norm", (4, 3, 5), {"normalized_shape": (5,)}),
])
def test_group_stats_against_a_loop(name, shape, params):
    x = torch.randn(shape) * 2 + 1
    groups = vnviz.stat_groups(name, shape, **params)
    g = int(groups.max()) + 1
    s = group_stats(x, groups)
    m, v, c = loop_group_stats(x, groups, g)
    assert s.mean.dtype == torch.float64
    torch.testing.assert_close(s.mean, m)
    torch.testing.assert_close(s.var, v)
    assert s.count.tolist() == c.tolist()


def test_group_stats_with_empty_groups():
    x = torch.randn(50, dtype=torch.float64)
    groups = torch.randint(0, 4, (50,)) * 2  # ids 0, 2, 4, 6 only
    s = group_stats(x, groups, num_groups=9)
    m, v, c = loop_group_stats(x, groups, 9)
    assert s.count.tolist() == c.tolist()
    assert s.count[1] == 0 and s.count[8] == 0
    torch.testing.assert_close(s.mean, m)
    torch.testing.assert_close(s.var, v)


def test_group_stats_is_two_pass_accurate():
    """A large offset does not destroy the variance (two-pass, float64)."""
    x = (torch.randn(4, 3, 100, dtype=torch.float64) + 1e6).float()
    s = group_stats(x, vnviz.stat_groups("batch_norm", x.shape))
    expected = x.double().var(dim=(0, 2), correction=0)
    torch.testing.assert_close(s.var, expected, rtol=1e-6, atol=1e-6)


# -- histogram --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("bins", [1, 7, 60])
def test_histogram_counts_equal_numpy(dtype, bins):
    x = torch.randn(5000, dtype=dtype)
    h = histogram(x, bins=bins)
    edges = h.edges.numpy()
    assert h.edges.shape == (bins + 1,) and h.counts.shape == (bins,) and h.counts.dtype == torch.int64
    assert (h.lo, h.hi) == (float(x.min()), float(x.max()))
    assert h.edges[0] == h.lo and h.edges[-1] == h.hi
    expected, _ = np.histogram(x.double().numpy(), bins=edges)
    assert h.counts.tolist() == expected.tolist()
    assert int(h.counts.sum()) == x.numel()
    assert (h.below, h.above, h.nonfinite) == (0, 0, 0)
    torch.testing.assert_close(h.centers, (h.edges[:-1] + h.edges[1:]) / 2)


def test_histogram_explicit_range():
    x = torch.randn(3000, dtype=torch.float64) * 2
    h = histogram(x, bins=20, range=(-1.0, 1.5))
    a = x.numpy()
    expected, _ = np.histogram(a, bins=h.edges.numpy())  # numpy ignores values outside the edges
    assert h.counts.tolist() == expected.tolist()
    assert h.below == int((a < -1.0).sum()) and h.above == int((a > 1.5).sum())
    assert int(h.counts.sum()) + h.below + h.above == a.size


@pytest.mark.parametrize("percentile", [0.5, 1.0, 5.0])
def test_histogram_percentile_range(percentile):
    x = torch.randn(4000, dtype=torch.float64)
    x[:5] = 1e6  # outliers
    h = histogram(x, bins=30, percentile=percentile)
    a = x.numpy()
    np.testing.assert_allclose(h.lo, np.percentile(a, percentile), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h.hi, np.percentile(a, 100 - percentile), rtol=1e-12, atol=1e-12)
    assert (h.lo, h.hi) == value_range(x, percentile)
    inside = a[(a >= h.lo) & (a <= h.hi)]
    expected, _ = np.histogram(inside, bins=h.edges.numpy())
    assert h.counts.tolist() == expected.tolist()
    assert h.below == int((a < h.lo).sum()) > 0
    assert h.above == int((a > h.hi).sum()) >= 5
    assert int(h.counts.sum()) == inside.size
    assert int(h.counts.sum()) + h.below + h.above == a.size


def test_histogram_bad_arguments():
    x = torch.randn(10)
    for bins in (0, 1001):
        with pytest.raises(ValueError):
            histogram(x, bins=bins)
    for p in (0.0 + 50, 60.0, -1.0):
        with pytest.raises(ValueError):
            value_range(x, p)


@pytest.mark.parametrize("percentile", [None, 2.0])
def test_histogram_per_group(percentile):
    x = torch.randn(6, 4, 50, dtype=torch.float64) * torch.tensor([1.0, 2.0, 3.0, 0.5]).reshape(1, 4, 1)
    ids = torch.arange(4).reshape(1, 4, 1)  # broadcast: one histogram per channel
    h = histogram(x, bins=25, percentile=percentile, groups=ids, num_groups=4)
    assert h.counts.shape == (4, 25) and h.counts.dtype == torch.int64
    a = x.numpy()
    for c in range(4):
        col = a[:, c].reshape(-1)
        expected, _ = np.histogram(col, bins=h.edges.numpy())
        assert h.counts[c].tolist() == expected.tolist(), c
        assert int(h.counts[c].sum()) == int(((col >= h.lo) & (col <= h.hi)).sum())
    assert h.below == int((a < h.lo).sum()) and h.above == int((a > h.hi).sum())
    assert int(h.counts.sum()) + h.below + h.above == a.size
    if percentile is None:
        assert h.counts.sum(1).tolist() == [300] * 4
    # the ungrouped histogram is the sum of the grouped ones
    flat = histogram(x, bins=25, range=(h.lo, h.hi))
    assert flat.counts.tolist() == h.counts.sum(0).tolist()


def test_histogram_per_group_with_a_full_map():
    x = torch.randn(4, 6, 5, dtype=torch.float64)
    groups = vnviz.stat_groups("group_norm", x.shape, num_groups=3)
    h = histogram(x, bins=10, groups=groups)
    assert h.counts.shape == (12, 10)
    _, _, count = loop_group_stats(x, groups, 12)
    assert h.counts.sum(1).tolist() == count.tolist()


@pytest.mark.parametrize("grouped", [False, True])
def test_histogram_counts_nonfinite_apart(grouped):
    x = torch.randn(3, 200, dtype=torch.float64)
    x[0, :3] = float("nan")
    x[1, :2] = float("inf")
    x[2, 0] = float("-inf")
    groups = torch.arange(3).reshape(3, 1) if grouped else None
    h = histogram(x, bins=12, groups=groups)
    finite = x[torch.isfinite(x)]
    assert h.nonfinite == 6
    assert (h.lo, h.hi) == (float(finite.min()), float(finite.max()))
    assert int(h.counts.sum()) == finite.numel() == 600 - 6
    assert (h.below, h.above) == (0, 0)
    if grouped:
        assert h.counts.sum(1).tolist() == [197, 198, 199]


def test_histogram_of_a_constant_and_of_nothing_finite():
    h = histogram(torch.full((10,), 2.0), bins=4)
    assert (h.lo, h.hi) == (1.5, 2.5)
    assert int(h.counts.sum()) == 10
    h = histogram(torch.full((5,), float("nan")), bins=4)
    assert h.nonfinite == 5 and int(h.counts.sum()) == 0
    assert (h.lo, h.hi) == (-0.5, 0.5)


# -- summarize ----------------------------------------------------------------------------------


def test_summarize_counts_nan_and_inf():
    x = torch.randn(4, 25, dtype=torch.float64)
    x[0, 0] = float("nan")
    x[1, 1] = float("nan")
    x[2, 2] = float("inf")
    x[3, 3] = float("-inf")
    x[3, 4] = float("-inf")
    s = summarize(x)
    assert (s.nan, s.posinf, s.neginf) == (2, 1, 2)
    assert s.shape == (4, 25) and s.dtype == "float64" and s.numel == 100
    finite = x[torch.isfinite(x)].numpy()
    np.testing.assert_allclose([s.mean, s.std, s.min, s.max], [finite.mean(), finite.std(), finite.min(), finite.max()],
                               rtol=1e-12)


def test_summarize_plain_and_int_and_empty():
    x = torch.randn(3, 7)
    s = summarize(x)
    a = x.double().numpy()
    np.testing.assert_allclose([s.mean, s.std, s.min, s.max], [a.mean(), a.std(), a.min(), a.max()], rtol=1e-6)
    assert (s.nan, s.posinf, s.neginf) == (0, 0, 0)
    si = summarize(torch.arange(10))
    assert si.dtype == "int64" and (si.min, si.max, si.mean) == (0.0, 9.0, 4.5)
    se = summarize(torch.empty(0, 3))
    assert se.numel == 0 and math.isnan(se.mean)


# -- verify ----------------------------------------------------------------------------------------

_G = torch.Generator().manual_seed(1)  # module-level tensors: the same in every xdist worker
VERIFY_CASES = [
    ("batch_norm", (8, 4), torch.float32, {}),
    ("batch_norm", (4, 3, 5, 5), torch.float32, {"weight": torch.rand(3, generator=_G) + 0.5, "bias": torch.randn(3, generator=_G), "eps": 1e-3}),
    ("batch_norm", (4, 3, 6), torch.float32, {"running_mean": torch.randn(3, generator=_G), "running_var": torch.rand(3, generator=_G) + 0.5}),
    ("batch_norm", (4, 3, 6), torch.float32, {"running_mean": torch.randn(3, generator=_G), "running_var": torch.rand(3, generator=_G) + 0.5,
                                              "momentum": None, "num_batches_tracked": torch.tensor(2)}),
    ("batch_norm", (4, 3, 6), torch.float32, {"running_mean": torch.randn(3, generator=_G), "running_var": torch.rand(3, generator=_G) + 0.5,
                                              "training": False}),
    ("batch_norm", (4, 3, 6), torch.float32, {"training": False}),
    ("batch_norm", (2, 3, 2, 3, 4), torch.float64, {"weight": 2.0, "bias": 0.5}),
    ("layer_norm", (4, 6, 5), torch.float32, {}),
    ("layer_norm", (4, 6, 5), torch.float32, {"normalized_shape": 5, "weight": torch.rand(5, generator=_G) + 0.5, "bias": torch.randn(5, generator=_G)}),
    ("layer_norm", (4, 6, 5), torch.float64, {"normalized_shape": (6, 5), "weight": 1.5, "eps": 0.1}),
    ("instance_norm", (4, 3, 7), torch.float32, {}),
    ("instance_norm", (2, 3, 4, 4), torch.float32, {"weight": torch.rand(3, generator=_G) + 0.5, "bias": torch.randn(3, generator=_G)}),
    ("instance_norm", (2, 3, 4, 4), torch.float32, {"running_mean": torch.randn(3, generator=_G), "running_var": torch.rand(3, generator=_G) + 0.5}),
    ("instance_norm", (2, 3, 4, 4), torch.float32, {"running_mean": torch.randn(3, generator=_G), "running_var": torch.rand(3, generator=_G) + 0.5,
                                                    "training": False}),
    ("group_norm", (4, 12, 5), torch.float32, {"num_groups": 1}),
    ("group_norm", (4, 12, 5), torch.float32, {"num_groups": 4, "weight": torch.rand(12, generator=_G) + 0.5, "bias": torch.randn(12, generator=_G)}),
    ("group_norm", (2, 12, 3, 3), torch.float64, {"num_groups": 12}),
    ("group_norm", (2, 12, 3, 3), torch.float32, {}),
    ("rms_norm", (4, 6, 5), torch.float32, {}),
    ("rms_norm", (4, 6, 5), torch.float32, {"normalized_shape": (5,), "weight": torch.rand(5, generator=_G) + 0.5, "eps": 1e-3}),
    ("rms_norm", (4, 6, 5), torch.float64, {"weight": 2.0}),
    ("layer_norm_2d", (4, 6, 5, 3), torch.float32, {}),
    ("layer_norm_2d", (4, 6, 5, 3), torch.float32, {"weight": torch.rand(6, generator=_G) + 0.5, "bias": torch.randn(6, generator=_G)}),
    ("layer_norm_2d", (4, 6, 5), torch.float64, {"eps": 1e-3, "weight": 2.0}),
    ("layer_norm_2d", (8, 6), torch.float32, {}),
]


@pytest.mark.parametrize("name, shape, dtype, params",
                         [pytest.param(*case, id=f"{case[0]}-{i}") for i, case in enumerate(VERIFY_CASES)])
def test_verify_passes_correct_variants(name, shape, dtype, params):
    x = torch.randn(shape, dtype=dtype) * 2 + 1
    params = {k: (v.to(dtype) if isinstance(v, torch.Tensor) and v.is_floating_point() else v) for k, v in params.items()}
    y, rep = verify(name, x, **params)
    assert rep.ok, rep
    assert rep.variant == name and rep.device == "cpu" and rep.seconds >= 0
    assert y.shape == x.shape
    scale = max(1.0, float(y.abs().max()))
    assert rep.torch_max_abs_err <= rep.tolerance * scale
    assert rep.ref64_max_abs_err <= rep.tolerance * scale
    assert rep.groups == int(vnviz.stat_groups(name, shape, **{k: v for k, v in params.items()
                                                            if k in ("num_groups", "normalized_shape")}).max()) + 1
    if params.get("running_mean") is not None and params.get("training", True):
        assert rep.running_max_abs_err is not None and rep.running_max_abs_err <= 1e-5
    else:
        assert rep.running_max_abs_err is None
    if not math.isnan(rep.mean_max_abs):
        assert rep.mean_max_abs < 1e-3
    assert rep.reference


def test_verify_updates_buffers_like_apply():
    x = torch.randn(4, 3, 6)
    rm, rv = torch.zeros(3), torch.ones(3)
    _, rep = verify("batch_norm", x, running_mean=rm, running_var=rv)
    assert rep.ok
    torch.testing.assert_close(rm, 0.1 * x.mean((0, 2)))


def _patched(monkeypatch, name, fn):
    monkeypatch.setitem(registry.VARIANTS, name, dataclasses.replace(registry.VARIANTS[name], fn=fn))


def _bn_unbiased(x, running_mean=None, running_var=None, weight=None, bias=None, training=True, momentum=0.1, eps=1e-5,
                 num_batches_tracked=None):
    dims = (0,) + tuple(range(2, x.ndim))
    view = (1, -1) + (1,) * (x.ndim - 2)
    m, v = x.mean(dims), x.var(dims, correction=1)  # BUG: unbiased variance in the normalization
    return (x - m.reshape(view)) / torch.sqrt(v.reshape(view) + eps)


def _bn_biased_running(x, running_mean=None, running_var=None, weight=None, bias=None, training=True, momentum=0.1,
                       eps=1e-5, num_batches_tracked=None):
    dims = (0,) + tuple(range(2, x.ndim))
    with torch.no_grad():
        running_mean.mul_(1 - momentum).add_(momentum * x.mean(dims))
        running_var.mul_(1 - momentum).add_(momentum * x.var(dims, correction=0))  # BUG: biased
    return F.batch_norm(x, None, None, weight, bias, True, 0.0, eps)


def _ln_no_eps(x, normalized_shape=None, weight=None, bias=None, eps=1e-5):
    return F.layer_norm(x, tuple(x.shape[1:]), None, None, 0.0)  # BUG: eps ignored


def _gn_interleaved(x, num_groups=None, weight=None, bias=None, eps=1e-5):
    n, c = x.shape[:2]  # BUG: groups of every G-th channel instead of consecutive channels
    perm = torch.arange(c).reshape(c // num_groups, num_groups).t().reshape(-1)
    inv = torch.argsort(perm)
    return F.group_norm(x[:, perm], num_groups, None, None, eps)[:, inv]


def _rms_mean_removed(x, normalized_shape=None, weight=None, eps=None):
    xc = x - x.mean(dim=tuple(range(1, x.ndim)), keepdim=True)  # BUG: RMSNorm that centres
    return F.rms_norm(xc, tuple(x.shape[1:]), None, eps)


def _ln2d_last_dim(x, weight=None, bias=None, eps=1e-6):
    return F.layer_norm(x, x.shape[-1:], None, None, eps)  # BUG: nn.LayerNorm(C) on channels-first data (W == C)


def _in_as_bn(x, running_mean=None, running_var=None, weight=None, bias=None, training=True, momentum=0.1, eps=1e-5):
    return F.batch_norm(x, None, None, None, None, True, 0.0, eps)  # BUG: pools over the batch


BUGGY = [
    ("batch_norm", _bn_unbiased, (4, 3, 5), {}),
    ("batch_norm", _bn_biased_running, (4, 3, 5), {"running_mean": torch.zeros(3), "running_var": torch.ones(3)}),
    ("layer_norm", _ln_no_eps, (4, 3, 5), {"eps": 0.1}),
    ("group_norm", _gn_interleaved, (4, 6, 5), {"num_groups": 2}),
    ("rms_norm", _rms_mean_removed, (4, 6, 5), {}),
    ("instance_norm", _in_as_bn, (4, 3, 5), {}),
    ("layer_norm_2d", _ln2d_last_dim, (4, 5, 3, 5), {}),
]


@pytest.mark.parametrize("name, fn, shape, params", [pytest.param(*case, id=case[1].__name__) for case in BUGGY])
def test_verify_catches_a_subtly_wrong_variant(monkeypatch, name, fn, shape, params):
    x = torch.randn(shape) * 2 + 1
    _patched(monkeypatch, name, fn)
    _, rep = verify(name, x, **params)
    assert not rep.ok, rep
    errs = [rep.torch_max_abs_err, rep.ref64_max_abs_err, rep.running_max_abs_err or 0.0]
    assert max(errs) > 100 * rep.tolerance


def test_verify_catches_unbiased_variance_with_a_big_batch(monkeypatch):
    """Even with 1000 values per channel (relative error 5e-4) the bug is caught in float64."""
    x = torch.randn(100, 2, 10, dtype=torch.float64)
    _patched(monkeypatch, "batch_norm", _bn_unbiased)
    _, rep = verify("batch_norm", x)
    assert not rep.ok


def test_verify_reports_a_zero_weight_and_skips_the_group_check():
    x = torch.randn(4, 3, 5)
    _, rep = verify("batch_norm", x, weight=torch.tensor([1.0, 0.0, 2.0]))
    assert rep.ok and math.isnan(rep.mean_max_abs) and "weight" in rep.note


def test_verify_group_check_numbers():
    x = torch.randn(8, 3, 10, dtype=torch.float64) * 0.5
    _, rep = verify("batch_norm", x, eps=0.1)
    assert rep.ok
    assert rep.mean_max_abs < 1e-12
    assert rep.var_eps_dev < 1e-12
    var = x.var(dim=(0, 2), correction=0)
    assert rep.var_max_dev == pytest.approx(float((var / (var + 0.1) - 1).abs().max()), rel=1e-9)


# -- traps -----------------------------------------------------------------------------------------


def test_trap_batch_norm_eval_with_untouched_stats():
    x = torch.randn(8, 4, 5)
    warnings = traps("batch_norm", x, {"training": False})
    assert any("Eval mode" in w and "running statistics" in w for w in warnings), warnings
    ok = traps("batch_norm", x, {"training": False, "running_mean": torch.zeros(4), "running_var": torch.ones(4)})
    assert not any("Eval mode" in w for w in ok)


@pytest.mark.parametrize("name", ["layer_norm", "rms_norm"])
def test_trap_single_element_groups(name):
    x = torch.randn(4, 6, 1)
    warnings = traps(name, x, {"normalized_shape": (1,)})
    assert any("single element" in w for w in warnings), warnings
    assert not any("single element" in w for w in traps(name, x, {}))


def test_trap_nan_input():
    x = torch.randn(4, 3, 5)
    x[0, 0, 0] = float("nan")
    x[1, 1, 1] = float("inf")
    for name in ("batch_norm", "layer_norm"):
        warnings = traps(name, x, {})
        assert any("2 NaN/Inf" in w for w in warnings), warnings


def test_trap_tokens_layout_with_batch_norm():
    x = torch.randn(4, 16, 8)  # (N, L, D)
    for name in ("batch_norm", "instance_norm", "group_norm"):
        warnings = traps(name, x, {}, layout="N L D")
        assert any("(N, L, D)" in w and "permute" in w for w in warnings), (name, warnings)
    assert not any("(N, L, D)" in w for w in traps("layer_norm", x, {"normalized_shape": (8,)}, layout="N L D"))
    # without a layout, a long dim 1 is suspicious for BatchNorm1d
    assert any("(N, L, D)" in w for w in traps("batch_norm", torch.randn(4, 64, 8), {}))
    assert not any("(N, L, D)" in w for w in traps("batch_norm", torch.randn(4, 8, 64), {}))


def test_trap_layer_norm_2d_tokens_and_one_channel():
    x = torch.randn(4, 16, 8)  # (N, L, D)
    assert any("(N, L, D)" in w and "LayerNorm2d" in w for w in traps("layer_norm_2d", x, {}, layout="N L D"))
    assert any("single channel" in w for w in traps("layer_norm_2d", torch.randn(4, 1, 5, 5), {}))
    assert traps("layer_norm_2d", torch.randn(4, 6, 5, 5), {}) == []


def test_trap_group_norm_extremes_and_rms_mean():
    x = torch.randn(4, 6, 5)
    assert any("LayerNorm" in w for w in traps("group_norm", x, {"num_groups": 1}))
    assert any("InstanceNorm" in w for w in traps("group_norm", x, {"num_groups": 6}))
    assert any("not centred" in w for w in traps("rms_norm", x + 5, {}))
    assert not any("not centred" in w for w in traps("rms_norm", x, {}))


def test_trap_small_batch():
    assert any("only 4 values" in w for w in traps("batch_norm", torch.randn(4, 3), {}))


@pytest.mark.parametrize("name, shape, params", [
    ("batch_norm", (64, 4, 3), {}),
    ("layer_norm", (8, 16), {}),
    ("instance_norm", (4, 3, 8, 8), {}),
    ("group_norm", (4, 6, 5), {"num_groups": 3}),
    ("rms_norm", (4, 6, 5), {}),
])
def test_no_traps_on_ordinary_inputs(name, shape, params):
    assert traps(name, torch.randn(shape), params) == []


def test_traps_are_sentences():
    x = torch.randn(4, 64, 1)
    x[0, 0, 0] = float("nan")
    all_warnings = (traps("batch_norm", x, {"training": False}, layout="N L D")
                    + traps("layer_norm", x, {"normalized_shape": (1,)})
                    + traps("rms_norm", x + 3, {"normalized_shape": 1}))
    assert len(all_warnings) >= 5
    for w in all_warnings:
        assert w.endswith(".") and "\n" not in w and len(w) < 300, w


def test_summary_from_axes_equals_summarize():
    from vnviz.analysis.stats import summary_from_axes

    for shape in [(7, 5, 3), (700, 5), (3, 300, 2)]:
        x = torch.randn(shape, dtype=torch.float64) * 3 + 1
        a, b = summarize(x), summary_from_axes(x, axis_stats(x))
        assert b is not None and (a.min, a.max, a.nan) == (b.min, b.max, b.nan)
        assert abs(a.mean - b.mean) < 1e-12 and abs(a.std - b.std) < 1e-12
    x = torch.randn(4, 3)
    x[0, 0] = float("nan")
    assert summary_from_axes(x, axis_stats(x)) is None


# -- blocks of samples -----------------------------------------------------------------------------


@pytest.mark.parametrize("shape, limit, expected", [
    ((10, 3, 4), 24, [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]),
    ((10, 3, 4), 30, [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]),
    ((10, 3, 4), 36, [(0, 3), (3, 6), (6, 9), (9, 10)]),
    ((10, 3, 4), 5, [(i, i + 1) for i in range(10)]),  # one sample is larger than the limit: a block per sample
])
def test_row_blocks_cover_every_sample_once(shape, limit, expected):
    got = list(chunks.row_blocks(shape, torch.device("cpu"), limit))
    assert [(s.start, min(s.stop, shape[0])) for s in got] == expected


@pytest.mark.parametrize("shape", [(5,), (1, 100), (3, 4)])
def test_row_blocks_whole_tensor_when_it_fits_or_cannot_split(shape):
    assert list(chunks.row_blocks(shape, torch.device("cpu"), 4 if shape != (3, 4) else 12)) == [...]


def test_max_abs_diff_by_blocks():
    a = torch.randn(9, 4, 3)
    b = a.clone().double()
    b[7, 2, 1] += 0.25
    assert chunks.max_abs_diff(a, b) == pytest.approx(0.25)
    b[3, 0, 0] = math.nan
    assert math.isnan(chunks.max_abs_diff(a, b))


@pytest.mark.parametrize("name, params", [
    ("batch_norm", {"weight": torch.rand(4, generator=_G) + 0.5, "bias": torch.randn(4, generator=_G)}),
    ("group_norm", {"num_groups": 2}),
    ("layer_norm", {"normalized_shape": (5, 6)}),
    ("rms_norm", {}),
])
def test_explore_view_is_the_same_in_blocks(monkeypatch, blocks, name, params):
    """The blocked analysis gives the numbers of the one-block analysis (float64 sums, reordered)."""
    x = torch.randn((7, 4, 5, 6), generator=torch.Generator().manual_seed(3)) * 3 + 1
    got = explore_view(x, name, dict(params), layout="N C H W")
    monkeypatch.setattr(chunks, "CPU_CHUNK", 1 << 30)
    want = explore_view(x, name, dict(params), layout="N C H W")
    for side in ("before", "after"):
        g, w = getattr(got, side), getattr(want, side)
        assert torch.equal(g.hist.counts, w.hist.counts) and torch.equal(g.facets.counts, w.facets.counts)
        for a, b in zip(g.axes, w.axes):
            for field in ("mean", "std", "min", "max"):
                torch.testing.assert_close(getattr(a, field), getattr(b, field), rtol=1e-12, atol=1e-12)
        if w.groups is not None:
            torch.testing.assert_close(g.groups.mean, w.groups.mean, rtol=1e-12, atol=1e-12)
            torch.testing.assert_close(g.groups.var, w.groups.var, rtol=1e-12, atol=1e-12)
    gv, wv = got.verification, want.verification
    assert gv.ok and wv.ok
    for field in ("mean_max_abs", "var_max_dev", "var_eps_dev", "torch_max_abs_err", "ref64_max_abs_err"):
        assert getattr(gv, field) == pytest.approx(getattr(wv, field), rel=1e-6, abs=1e-12, nan_ok=True), field
