"""Compare analysis and figures: the equivalences hold (or fail) where theory says, with the right numbers."""
from __future__ import annotations

import math

import pytest
import torch

import vnviz
from vnviz.analysis.compare import (
    MAX_DIFF_SIDE, compare_views, diff_map, equivalences, unavailable,
)
from vnviz.analysis.verify import TOLERANCE
from vnviz.data import make_source
from vnviz.figures import compare as fig

DEFAULT = [("batch_norm", {}), ("layer_norm", {}), ("instance_norm", {}), ("group_norm", {"num_groups": 2}),
           ("cluster_norm", {"n_clusters": 2, "seed": 0})]
SHAPES = [(6, 4, 5, 3), (5, 6, 7), (4, 2, 3, 3, 2)]  # small (N, C, *) shapes of rank 3 to 5


def by_title(eqs, start: str):
    return next(e for e in eqs if e.title.startswith(start))


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return make_source("shifted_channels", (6, 4, 5, 3), seed=2).x


@pytest.fixture(scope="module")
def eqs(x):
    return equivalences(x)


def test_the_five_equivalences_and_their_verdicts(eqs):
    verdicts = {e.title: (e.expected, e.equal) for e in eqs}
    assert verdicts == {
        "GroupNorm with one group per channel = InstanceNorm": (True, True),
        "GroupNorm with one group = LayerNorm over (C, *)": (True, True),
        "GroupNorm(1) with a per-channel weight ≠ a fresh LayerNorm over (C, *)": (False, False),
        "BatchNorm on one sample: eval mode ≠ training mode": (False, False),
        "ClusterNorm with one cluster = BatchNorm": (True, True),
    }
    assert all(e.as_expected for e in eqs)
    for e in eqs:
        assert e.explanation.endswith(".") and len(e.explanation.split(". ")) <= 2  # one sentence (maybe two)
        assert e.tolerance >= TOLERANCE[torch.float32]  # relative to max(1, largest |output|)
        assert e.left_code.startswith(e.left[0] + "(x") and e.right_code.startswith(e.right[0] + "(x")


@pytest.mark.parametrize("shape", SHAPES)
def test_equal_pairs_are_equal_to_float_rounding(shape):
    x = make_source("shifted_channels", shape, seed=1).x
    for e in equivalences(x):
        if e.expected:
            assert e.equal and e.max_abs_diff < 1e-4, (shape, e.title, e.max_abs_diff)
        else:
            assert not e.equal and e.max_abs_diff > 0.05, (shape, e.title, e.max_abs_diff)


def test_float64_equalities_are_tighter():
    x = make_source("gaussian", (4, 4, 3, 3), seed=0).x.double()
    eq = {e.title: e for e in equivalences(x)}
    for e in eq.values():
        if e.expected:
            assert e.max_abs_diff < 1e-10, e.title
            assert e.tolerance <= TOLERANCE[torch.float64] * max(1.0, 10.0)


def test_gn1_with_weight_differs_by_exactly_the_affine(x, eqs):
    e = by_title(eqs, "GroupNorm(1) with a per-channel weight")
    w, b = e.left[1]["weight"], e.left[1]["bias"]
    z = vnviz.apply("layer_norm", x)  # the shared normalization
    expected = ((z * w.view(1, -1, 1, 1) + b.view(1, -1, 1, 1)) - z).abs()
    assert e.max_abs_diff == pytest.approx(float(expected.max()), rel=1e-5)
    # the heatmap is the mean over samples per (channel, position): rows follow the channels' affine
    assert e.diff.rows == "channel" and tuple(e.diff.z.shape) == (4, 15)
    torch.testing.assert_close(e.diff.z, expected.mean(0).reshape(4, 15).float(), rtol=1e-5, atol=1e-6)
    # the fix the explanation names: expand w over positions, and they are equal
    y_gn = vnviz.apply("group_norm", x, num_groups=1, weight=w, bias=b)
    y_ln = vnviz.apply("layer_norm", x, weight=w[:, None, None].expand(4, 5, 3).contiguous(),
                       bias=b[:, None, None].expand(4, 5, 3).contiguous())
    torch.testing.assert_close(y_gn, y_ln, rtol=1e-5, atol=1e-5)


def test_bn_one_sample_eval_returns_the_input_and_training_is_instance_norm(x, eqs):
    e = by_title(eqs, "BatchNorm on one sample")
    x1 = x[:1]
    eval_out = vnviz.apply("batch_norm", x1, training=False)
    torch.testing.assert_close(eval_out, x1 / math.sqrt(1 + 1e-5))
    train_out = vnviz.apply("batch_norm", x1, training=True)
    torch.testing.assert_close(train_out, vnviz.apply("instance_norm", x1), rtol=1e-5, atol=1e-5)
    assert e.max_abs_diff == pytest.approx(float((eval_out - train_out).abs().max()), rel=1e-5)
    assert "1 sample" in e.diff.over
    assert "running statistics" in e.explanation and "InstanceNorm" in e.explanation


def test_gn_c_equals_instance_norm_with_the_same_affine(x, eqs):
    e = by_title(eqs, "GroupNorm with one group per channel")
    assert e.left[1]["num_groups"] == x.shape[1]
    assert e.left[1]["weight"] is e.right[1]["weight"]
    assert float(e.left[1]["weight"].std()) > 0.1  # a real per-channel weight, not ones
    assert e.max_abs_diff <= e.tolerance


def test_two_d_data_leaves_out_what_needs_positions():
    x = make_source("iris", (30, 4)).x
    titles = [e.title for e in equivalences(x)]
    assert titles == ["GroupNorm with one group = LayerNorm over (C, *)",
                      "GroupNorm(1) with a per-channel weight ≠ a fresh LayerNorm over (C, *)",
                      "ClusterNorm with one cluster = BatchNorm"]
    missing = unavailable(x)
    assert len(missing) == 2 and "InstanceNorm" in missing[0] and "BatchNorm" in missing[1]
    e = equivalences(x)[1]
    assert e.diff.rows == "sample" and e.diff.cols == "channel" and tuple(e.diff.z.shape) == (30, 4)


def test_diff_map_is_downsampled_to_the_limit():
    a = torch.randn(3, 100, 40, 40)
    d = diff_map(a, torch.zeros_like(a))
    assert tuple(d.z.shape) == (MAX_DIFF_SIDE, MAX_DIFF_SIDE)
    assert d.row_index[0] == 0 and d.row_index[-1] < 100 and d.col_index[-1] < 1600
    torch.testing.assert_close(d.z.mean(), a.abs().mean(), rtol=0.02, atol=0)  # block means keep the mean
    assert d.z.dtype == torch.float32 and d.z.device.type == "cpu"


def test_compare_views_runs_each_variant_and_reports_errors():
    x = make_source("iris", (40, 4)).x
    view = compare_views(x, [("batch_norm", {}), ("instance_norm", {}), ("layer_norm", {})], layout="N C")
    assert view.names == ("batch_norm", "instance_norm", "layer_norm")
    assert view.views[1] is None and "InstanceNorm needs at least 3 dims" in view.errors[1]
    assert view.views[0].verification.ok and view.views[2].verification.ok
    assert view.errors[0] == view.errors[2] == ""
    assert view.input is view.views[0]


def test_compare_views_is_explore_view_per_variant(x):
    from vnviz.analysis.view import explore_view

    view = compare_views(x, DEFAULT, layout="N C H W")
    for (name, params), v in zip(DEFAULT, view.views):
        ref = explore_view(x, name, dict(params), layout="N C H W")
        assert torch.equal(v.after.hist.counts, ref.after.hist.counts), name
        assert v.verification.groups == ref.verification.groups


def test_grid_figures_have_one_column_per_variant(x):
    view = compare_views(x, DEFAULT, layout="N C H W")
    cols = fig.columns(view)
    assert [c.title for c in cols] == ["input", "BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm", "ClusterNorm"]
    assert [c.groups for c in cols] == [0, 4, 6, 24, 12, 8]
    assert all(c.verdict == fig.VERIFIED for c in cols[1:])

    dist = fig.distributions_grid(cols)
    assert len(dist.data) == 6 and all(t.type == "bar" for t in dist.data)
    assert dist.data[0].marker.color == fig.BEFORE_COLOR and dist.data[1].marker.color == fig.AFTER_COLOR
    assert sum(dist.data[1].y) == x.numel()
    titles = [a.text for a in dist.layout.annotations]
    assert titles[0].startswith("<b>input</b>") and "n c h w -> 1 c 1 1" in titles[1]  # this data's pattern

    axes = fig.axes_grid(cols)
    assert len(axes.data) == 6 * 4 * 2  # columns x axes (N C H W) x (mean, std)
    assert fig.axis_names(cols) == ("N", "C", "H", "W")
    # BatchNorm's C row: mean 0 and std 1 at every channel
    bn_c = [t for t in axes.data if t.xaxis == "x8"]  # row 2, column 2
    assert max(abs(v) for v in bn_c[0].y) < 1e-5 and max(abs(v - 1) for v in bn_c[1].y) < 1e-3

    groups = fig.groups_grid(cols)
    assert len(groups.data) == 5 and all(t.type == "heatmap" for t in groups.data)
    hm = groups.data[0]  # BatchNorm: 4 channels down, 4 samples x 15 positions across with 3 gaps
    assert len(hm.z) == 4 and len(hm.z[0]) == 4 * 15 + 3 and hm.z[0][15] is None


def test_grid_marks_a_variant_that_cannot_run():
    x = make_source("iris", (40, 4)).x
    cols = fig.columns(compare_views(x, [("layer_norm", {}), ("instance_norm", {})], layout="N C"))
    assert cols[2].verdict == "cannot run" and cols[2].hist is None and "3 dims" in cols[2].error
    dist = fig.distributions_grid(cols)
    assert len(dist.data) == 2
    assert any("cannot run" in (a.text or "") for a in dist.layout.annotations)
    assert fig.groups_grid(cols).data[0].type == "heatmap"


def test_diff_heatmap_structure(eqs):
    same = fig.diff_heatmap(by_title(eqs, "GroupNorm with one group ="))
    assert same.data[0].type == "heatmap" and same.data[0].zmax == fig.DIFF_FLOOR  # float noise stays white
    assert "equal" in same.layout.title.text
    differ = fig.diff_heatmap(by_title(eqs, "BatchNorm on one sample"), scale=1.6)
    assert differ.data[0].zmax > 1 and "differ" in differ.layout.title.text
    assert differ.layout.height == int(fig.DIFF_HEIGHT * 1.6)
    assert len(differ.data[0].z) <= MAX_DIFF_SIDE and len(differ.data[0].z[0]) <= MAX_DIFF_SIDE


def test_empty_grids_keep_their_layout():
    assert fig.distributions_grid(()).layout.height == 200
    assert fig.axes_grid(()).layout.height == 200
    assert fig.groups_grid(()).layout.height == 200
