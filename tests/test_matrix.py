"""Matrix Slice, Matrix Mask and their analysis, against plain torch."""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import vnviz
from vnviz.analysis.matrix import (
    SLICING_FORMS, MaskEffects, SliceFacts, demo_write, mask_effects, shares_memory, slice_facts, spread,
)
from vnviz.variants.matrix import build_mask, matrix_mask, matrix_slice

# -- tables ----------------------------------------------------------------------

SHAPES = [(6, 7), (3, 6, 7), (2, 3, 6, 7)]

# (rows, cols, the same selection as python indices for x[..., r, c]); ints stay a dim
SLICES = [
    (":", ":", slice(None), slice(None)),
    ("", " : ", slice(None), slice(None)),
    ("1:4", "2:", slice(1, 4), slice(2, None)),
    ("::2", "1::3", slice(None, None, 2), slice(1, None, 3)),
    ("-3:", ":-2", slice(-3, None), slice(None, -2)),
    ("-5:-1:2", "0:7:6", slice(-5, -1, 2), slice(0, 7, 6)),
    ("0:100", "-100:3", slice(0, 100), slice(-100, 3)),
    ("3", "-1", slice(3, 4), slice(-1, None)),
    ("0", "6", slice(0, 1), slice(6, 7)),
    (" 1 : 5 : 2 ", "+2:", slice(1, 5, 2), slice(2, None)),
]
LISTS = [
    ("0,2,5", ":", [0, 2, 5], slice(None)),
    (":", "6,0,0", slice(None), [6, 0, 0]),
    ("1,-1", "3,1", [1, 5], [3, 1]),
    ("4,", "1:6:2", [4], slice(1, 6, 2)),
    ("::2", "-7, 2", slice(None, None, 2), [0, 2]),
]

# (params, a piece of the expected message); x is (6, 7)
BAD_SLICES = [
    (dict(rows="5:2"), "selects none"),
    (dict(cols="7:"), "selects none"),
    (dict(rows="::-1"), "torch.flip"),
    (dict(cols="5:1:-2"), "negative step"),
    (dict(rows="::0"), "step 0"),
    (dict(rows="a"), "'a'"),
    (dict(rows="1:2:3:4"), "not valid"),
    (dict(cols="1,,2"), "not valid"),
    (dict(cols=","), "not valid"),
    (dict(rows="1.5"), "not valid"),
    (dict(rows="6"), "out of range"),
    (dict(cols="-8"), "out of range"),
    (dict(rows="0,6"), "out of range"),
    (dict(rows=3), "string"),
    (dict(depth=":"), "no parameter"),
]

# (params, a piece of the expected message); x is (2, 6, 8)
BAD_MASKS = [
    (dict(kind="triangle"), "kind must be one of"),
    (dict(mode="add"), "mode must be one of"),
    (dict(mode="fill", value=float("nan")), "not NaN"),
    (dict(mode="fill", value="-inf"), "float('-inf')"),
    (dict(kind="band", width=-1), "width"),
    (dict(kind="band", width=1.5), "whole number"),
    (dict(kind="causal", diagonal="1"), "whole number"),
    (dict(kind="padding"), "needs lengths"),
    (dict(kind="padding", lengths=[1, 2, 3]), "lengths must give"),
    (dict(kind="padding", lengths=[1, 9]), "between 0 and the 8 columns"),
    (dict(kind="padding", lengths=[1, -1]), "between 0"),
    (dict(kind="padding", lengths=[1.0, 2.0]), "whole numbers"),
    (dict(kind="random", p=1.0), "p must be"),
    (dict(kind="random", p=-0.1), "p must be"),
    (dict(kind="random", seed=-1), "seed must be"),
    (dict(kind="random", seed=2**64), "below 2**64"),
    (dict(mode="fill", value=True), "number"),
    (dict(kind="random", scale="yes"), "True or False"),
    (dict(kind="magnitude", sparsity=1.5), "sparsity must be"),
    (dict(kind="n_m", n=2, m=3), "must divide 8"),
    (dict(kind="n_m", n=5, m=4), "at most m=4"),
    (dict(kind="n_m", n=0, m=4), "n must be"),
    (dict(kind="n_m", m=0), "m must be"),
    (dict(kind="rows", index=[6]), "out of range"),
    (dict(kind="cols", index=[-9]), "out of range"),
    (dict(kind="custom"), "mask is missing"),
    (dict(kind="custom", mask=torch.full((6, 8), 0.5)), "only 0 and 1"),
    (dict(kind="custom", mask=torch.ones(8, 6)), "does not broadcast"),
    (dict(kind="custom", mask=torch.ones(3, 6, 8)), "does not broadcast"),
    (dict(width=1, colour="red"), "no parameter"),
]


def _x(shape, seed=0, dtype=torch.float32):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# -- matrix_slice ----------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("rows, cols, r, c", SLICES)
def test_slice_is_torch_view(shape, rows, cols, r, c):
    x = _x(shape)
    y = vnviz.apply("matrix_slice", x, rows=rows, cols=cols)
    ref = x[..., r, c]
    assert torch.equal(y, ref)
    assert y.shape == ref.shape and y.stride() == ref.stride() and y.storage_offset() == ref.storage_offset()
    assert shares_memory(x, y) and y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    facts = slice_facts(x, y)
    assert facts.is_view and facts.shares_memory and facts.strides == ref.stride()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("rows, cols, r, c", LISTS)
def test_slice_lists_are_outer_copies(shape, rows, cols, r, c):
    x = _x(shape)
    y = vnviz.apply("matrix_slice", x, rows=rows, cols=cols)
    ref = x[..., r, :][..., c]
    assert torch.equal(y, ref)
    assert not shares_memory(x, y)
    facts = slice_facts(x, y)
    assert not facts.is_view and not facts.shares_memory and "copy" in facts.note


_PART = st.one_of(st.none(), st.integers(-9, 9))


@settings(max_examples=100, deadline=None)
@given(start=_PART, stop=_PART, step=st.one_of(st.none(), st.integers(1, 4)), ndim=st.integers(2, 4))
def test_slice_strings_match_python(start, stop, step, ndim):
    shape = (2, 3, 6, 7)[4 - ndim:]
    x = torch.arange(math.prod(shape)).reshape(shape)
    text = ("" if start is None else str(start)) + ":" + ("" if stop is None else str(stop))
    text += "" if step is None else ":" + str(step)
    ref = x[..., 1:5, start:stop:step]
    if ref.shape[-1] == 0:
        with pytest.raises(vnviz.InputError, match="selects none"):
            vnviz.apply("matrix_slice", x, rows="1:5", cols=text)
        return
    y = vnviz.apply("matrix_slice", x, rows="1:5", cols=text)
    assert torch.equal(y, ref) and y.stride() == ref.stride() and y.storage_offset() == ref.storage_offset()


def test_slice_lists_pair_in_numpy_but_not_here():
    x = torch.arange(20).reshape(4, 5)
    y = vnviz.apply("matrix_slice", x, rows="0,2", cols="1,3")
    assert y.tolist() == [[1, 3], [11, 13]]
    assert x[..., [0, 2], [1, 3]].tolist() == [1, 13]  # what torch's paired indexing would do


@pytest.mark.parametrize("dtype", [torch.int64, torch.int8, torch.bool, torch.float64, torch.float16])
def test_slice_any_dtype_and_numpy(dtype):
    x = (torch.arange(30).reshape(5, 6) % 3).to(dtype)
    assert torch.equal(vnviz.apply("matrix_slice", x, rows="1:4", cols="::2"), x[1:4, ::2])
    a = np.arange(30.0).reshape(5, 6)
    y = vnviz.apply("matrix_slice", a, rows="2", cols="1:3")
    assert y.tolist() == [[13.0, 14.0]]
    y[0, 0] = -1.0  # a view of the numpy array's memory
    assert a[2, 1] == -1.0
    flipped = a[::-1]  # negative strides: torch cannot share these, so the array is copied
    assert vnviz.apply("matrix_slice", flipped, rows="0", cols=":").tolist() == [a[4].tolist()]
    with pytest.raises(vnviz.InputError, match="numeric"):
        vnviz.apply("matrix_slice", np.array([["a", "b"]]))


@pytest.mark.parametrize("params, message", BAD_SLICES)
def test_slice_bad_params(params, message):
    with pytest.raises(vnviz.InputError) as err:
        vnviz.apply("matrix_slice", _x((6, 7)), **params)
    assert message in str(err.value), str(err.value)


@pytest.mark.parametrize("x", [torch.zeros(5), torch.zeros(0, 3), [[1, 2]], "x"])
def test_slice_bad_inputs(x):
    with pytest.raises(vnviz.InputError):
        vnviz.apply("matrix_slice", x)


def test_demo_write_view_and_copy():
    x = _x((2, 4, 5))
    keep = x.clone()
    before, after = demo_write(x, "1:3", "::2")
    assert torch.equal(x, keep)  # the caller's data is untouched
    assert torch.equal(before, x[0])
    changed = after != before
    expected = torch.zeros(4, 5, dtype=torch.bool)
    expected[1:3, ::2] = True
    assert torch.equal(changed, expected)
    assert torch.all(after[1:3, ::2] == x.abs().max() + 1)
    before, after = demo_write(x, "0,2", ":")  # a copy: the source does not change
    assert torch.equal(before, after)
    b, a = demo_write(torch.zeros(3, 3, dtype=torch.bool), "1", "1")
    assert int(a.sum()) == 1 and not bool(b.any())
    b, a = demo_write(torch.full((2, 2), 127, dtype=torch.int8), ":", "0", value=None)
    assert a[:, 0].tolist() == [127, 127]


def test_slice_facts_fields():
    x = torch.arange(20.0).reshape(4, 5)
    f = slice_facts(x, x[1:3, ::2])
    assert isinstance(f, SliceFacts)
    assert (f.shape, f.strides, f.storage_offset, f.is_contiguous) == ((2, 3), (5, 2), 5, False)
    assert (f.source_shape, f.source_strides, f.source_storage_offset) == ((4, 5), (5, 1), 0)
    f = slice_facts(x, x[1:3])
    assert f.is_contiguous and f.is_view
    with pytest.raises(vnviz.InputError):
        slice_facts(x, np.zeros(3))


@pytest.mark.parametrize("expr, kind, why", SLICING_FORMS)
def test_slicing_forms_table(expr, kind, why):
    x = torch.arange(20.0).reshape(4, 5) - 7.0  # contiguous, with positives and negatives
    y = eval(expr, {"torch": torch}, {"x": x})  # the table's own expressions
    assert kind in ("view", "copy") and why
    assert shares_memory(x, y) == (kind == "view"), expr
    assert slice_facts(x, y).is_view == (kind == "view"), expr
    snapshot = y.clone()
    x.add_(100.0)  # a view sees the change, a copy does not
    assert torch.equal(y, snapshot) == (kind == "copy"), expr


def test_slicing_forms_cover_the_issue():
    exprs = " ".join(e for e, _, _ in SLICING_FORMS)
    for piece in ("[1:3", "::2", "x[1]", "[[0, 2]]", "x > 0", ".reshape(", ".contiguous()", ".T", ".narrow(", ".select("):
        assert piece in exprs, piece


# -- masks -------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 5), (4, 7), (7, 4), (2, 3, 6, 6)])
@pytest.mark.parametrize("diagonal", [-2, 0, 1, 9])
def test_causal_is_tril(shape, diagonal):
    x = _x(shape)
    y = vnviz.apply("matrix_mask", x, kind="causal", diagonal=diagonal)
    torch.testing.assert_close(y, torch.tril(x, diagonal), rtol=0, atol=0)
    keep = build_mask(shape, "causal", diagonal=diagonal)
    assert keep.dtype == torch.bool and keep.shape == shape
    assert torch.equal(keep, torch.ones(shape, dtype=torch.bool).tril(diagonal))


def test_band():
    keep = build_mask((5, 6), "band", width=1)
    ref = torch.tensor([[abs(i - j) <= 1 for j in range(6)] for i in range(5)])
    assert torch.equal(keep, ref)
    x = _x((2, 5, 6))
    y = vnviz.apply("matrix_mask", x, kind="band", width=2)
    assert torch.equal(y, torch.triu(torch.tril(x, 2), -2))
    assert bool(build_mask((3, 3), "band", width=0).equal(torch.eye(3, dtype=torch.bool)))


def test_padding_per_row_and_per_batch():
    keep = build_mask((3, 4), "padding", lengths=[0, 2, 4])  # 2-D: one length per row
    assert keep.tolist() == [[False] * 4, [True, True, False, False], [True] * 4]
    x = _x((2, 3, 4))
    y = vnviz.apply("matrix_mask", x, kind="padding", lengths=(1, 3))  # one length per matrix
    ref = x.clone()
    ref[0, :, 1:] = 0
    ref[1, :, 3:] = 0
    assert torch.equal(y, ref)
    k4 = build_mask((2, 3, 4, 5), "padding", lengths=[2, 5])  # one per sample of dim 0, shared by heads
    assert k4[0].sum(-1).unique().tolist() == [2] and k4[1].all()
    k6 = build_mask((2, 3, 4, 5), "padding", lengths=list(range(6)))  # one per matrix, row-major
    assert k6.reshape(6, 4, 5).sum((-2, -1)).tolist() == [4 * i for i in range(6)]
    assert build_mask((2, 3, 4), "padding", lengths=[2]).sum().item() == 2 * 3 * 2  # one for all


def test_rows_cols_remove():
    x = _x((2, 4, 5))
    y = vnviz.apply("matrix_mask", x, kind="rows", index=[0, -1])
    assert torch.equal(y[:, 1:3], x[:, 1:3]) and not y[:, [0, 3]].any()
    y = vnviz.apply("matrix_mask", x, kind="cols", index=(2,))
    assert not y[..., 2].any() and torch.equal(y[..., [0, 1, 3, 4]], x[..., [0, 1, 3, 4]])
    assert torch.equal(vnviz.apply("matrix_mask", x, kind="rows"), x)  # nothing removed by default


@pytest.mark.parametrize("shape, n, m", [((6, 8), 2, 4), ((2, 3, 12), 1, 3), ((4, 8), 4, 4), ((5, 8), 3, 8)])
def test_n_m_keeps_largest(shape, n, m):
    x = _x(shape, seed=3)
    keep = build_mask(x, "n_m", n=n, m=m)
    blocks_x = x.abs().reshape(*shape[:-1], shape[-1] // m, m)
    blocks_k = keep.reshape(blocks_x.shape)
    assert torch.all(blocks_k.sum(-1) == n)
    kept_min = blocks_x.masked_fill(~blocks_k, math.inf).amin(-1)
    removed_max = blocks_x.masked_fill(blocks_k, -math.inf).amax(-1)
    assert torch.all(kept_min >= removed_max)
    ref = torch.zeros_like(blocks_k).scatter_(-1, blocks_x.topk(n, dim=-1).indices, True)  # distinct values: no ties
    assert torch.equal(blocks_k, ref)
    y = vnviz.apply("matrix_mask", x, kind="n_m", n=n, m=m)
    assert torch.equal(y, x * keep)


def test_n_m_and_magnitude_ties_by_index():
    x = torch.tensor([[1.0, -1.0, 1.0, 1.0, 0.0, 0.0, -0.0, 0.0]])
    assert build_mask(x, "n_m", n=2, m=4).tolist() == [[True, True, False, False, True, True, False, False]]
    assert build_mask(x, "magnitude", sparsity=0.25).tolist() == [[True] * 4 + [False] * 2 + [True] * 2]
    k = build_mask(x, "magnitude", sparsity=0.75)  # 6 removed: the four zeros, then the lowest-index ones
    assert k.tolist() == [[False, False, True, True, False, False, False, False]]


@pytest.mark.parametrize("shape", [(10, 10), (3, 7, 9), (2, 2, 5, 4)])
@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.29, 0.5, 0.7, 0.99, 1.0])
def test_magnitude_exact_count(shape, sparsity):
    x = _x(shape, seed=1)
    keep = build_mask(x, "magnitude", sparsity=sparsity)
    r, c = shape[-2:]
    k = math.floor(round(sparsity * r * c, 9))  # 0.29 * 100 = 28.999999999999996 must count 29
    removed = (~keep).reshape(-1, r * c).sum(-1)
    assert removed.tolist() == [k] * (x.numel() // (r * c))
    a = x.abs().reshape(-1, r * c)
    kf = keep.reshape(-1, r * c)
    if 0 < k < r * c:
        assert torch.all(a.masked_fill(kf, -1).amax(-1) <= a.masked_fill(~kf, math.inf).amin(-1))
    assert build_mask((10, 10), "causal").shape == (10, 10)
    if shape == (10, 10) and sparsity == 0.29:
        assert k == 29


def test_random_matches_dropout_and_scales():
    x = _x((100, 1000), seed=2)  # 100k entries
    p = 0.3
    y = vnviz.apply("matrix_mask", x, kind="random", p=p, seed=7)
    torch.manual_seed(7)
    assert torch.equal(y, F.dropout(x, p))  # exactly torch's dropout on the CPU
    keep = build_mask(x, "random", p=p, seed=7)
    frac = 1 - keep.float().mean().item()
    sd = math.sqrt(p * (1 - p) / x.numel())
    assert abs(frac - p) < 6 * sd  # ~0.0087: far outside chance
    factor = torch.tensor(1 / (1 - p), dtype=torch.float32)
    assert torch.equal(y[keep], x[keep] * factor)
    assert not y[~keep].any()
    y2 = vnviz.apply("matrix_mask", x, kind="random", p=p, seed=7, scale=False)
    assert torch.equal(y2, x * keep)
    f = vnviz.apply("matrix_mask", x, kind="random", p=p, seed=7, mode="fill", value=-5.0)
    assert torch.all(f[~keep] == -5.0) and torch.equal(f[keep], y[keep])


def test_random_is_reproducible():
    a = build_mask((3, 40, 50), "random", p=0.5, seed=123)
    b = build_mask(torch.zeros(3, 40, 50, dtype=torch.float64), "random", p=0.5, seed=123)
    c = build_mask((3, 40, 50), "random", p=0.5, seed=124)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(a[0], a[1])  # each matrix of a batch gets its own mask
    assert build_mask((4, 4), "random", p=0.0).all()
    x = _x((4, 4))
    assert torch.equal(vnviz.apply("matrix_mask", x, kind="random", p=0.0), x)


def test_custom_mask():
    x = _x((2, 3, 4))
    m = torch.tensor([[1, 0, 1, 0]] * 3)
    y = vnviz.apply("matrix_mask", x, kind="custom", mask=m)
    assert torch.equal(y, x * m)
    assert torch.equal(build_mask(x, "custom", mask=np.array([[True], [False], [True]])),
                       torch.tensor([[True], [False], [True]]).expand(2, 3, 4))
    full = torch.rand(2, 3, 4) > 0.5
    assert torch.equal(build_mask(x, "custom", mask=full.float()), full)


@pytest.mark.parametrize("params, message", BAD_MASKS)
def test_mask_bad_params(params, message):
    x = _x((2, 6, 8))
    with pytest.raises(vnviz.InputError) as err:
        vnviz.apply("matrix_mask", x, **params)
    assert message in str(err.value), str(err.value)


@pytest.mark.parametrize("x, message", [
    (torch.ones(3, 3, dtype=torch.int64), "floating-point"),
    (torch.ones(5), "at least 2 dims"),
    (torch.ones(2, 0), "non-empty"),
    ([[1.0]], "torch.Tensor"),
])
def test_mask_bad_inputs(x, message):
    with pytest.raises(vnviz.InputError, match=message):
        vnviz.apply("matrix_mask", x)


def test_build_mask_needs_values_for_ranking():
    with pytest.raises(vnviz.InputError, match="needs the tensor"):
        build_mask((4, 4), "magnitude")
    with pytest.raises(vnviz.InputError, match="NaN"):
        build_mask(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]), "n_m", n=1, m=2)
    with pytest.raises(vnviz.InputError, match="at least 2 dims"):
        build_mask((4,), "causal")


def test_fill_and_multiply_modes():
    x = _x((4, 4)) + 10
    keep = build_mask(x, "causal")
    f = matrix_mask(x, mode="fill", value=float("-inf"))
    assert torch.equal(f[keep], x[keep]) and torch.all(f[~keep] == -math.inf)
    x2 = x.clone()
    x2[0, 3] = math.inf  # removed +inf becomes 0, not NaN (inf * 0)
    assert not torch.isnan(matrix_mask(x2)).any()
    assert torch.equal(matrix_mask(x, mode="multiply", value=7.0), x.tril())  # value ignored in multiply


def test_causal_fill_then_softmax_has_no_future():
    x = _x((2, 6, 6))
    p = torch.softmax(vnviz.apply("matrix_mask", x, kind="causal", mode="fill", value=float("-inf")), dim=-1)
    future = ~torch.ones(6, 6, dtype=torch.bool).tril()
    assert torch.all(p[..., future] == 0)  # exactly zero
    torch.testing.assert_close(p.sum(-1), torch.ones(2, 6))
    pm = torch.softmax(vnviz.apply("matrix_mask", x, kind="causal"), dim=-1)  # multiply: logits 0 leak
    assert torch.all(pm[..., future] > 0)


def test_declarations():
    for name, fn in (("matrix_slice", matrix_slice), ("matrix_mask", matrix_mask)):
        v = vnviz.VARIANTS[name]
        assert (v.family, v.groups, v.stat, v.affine, v.min_ndim) == ("matrix", None, "none", "none", 2)
        sig = inspect.signature(fn).parameters
        for p in v.params:  # the declaration and the function agree
            assert sig[p.name].default == p.default, p.name
            assert p.help
        assert set(v.param_names) == set(sig) - {"x"}
        for p in v.widget_params:  # defaults round-trip through links
            assert p.from_text(p.to_text(p.default)) == p.default, p.name
    value = vnviz.VARIANTS["matrix_mask"].param("value")
    assert value.from_text(value.to_text(float("-inf"))) == float("-inf")
    assert value.check(float("inf"), "t") == float("inf") and value.check(2, "t") == 2.0
    with pytest.raises(vnviz.InputError):
        value.from_text("nan")
    with pytest.raises(vnviz.InputError):
        vnviz.stat_groups("matrix_mask", (3, 3))


# -- mask_effects ----------------------------------------------------------------


def test_mask_effects_hand_computed():
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    keep = torch.tensor([[True, False], [False, False]])  # row 1 fully masked
    v = torch.tensor([1.0, 1.0], dtype=torch.float64)
    e = mask_effects(a, keep, v=v)
    assert isinstance(e, MaskEffects) and e.shape == (2, 2) and e.batch_index == 0
    assert e.sparsity == 0.75
    assert e.kept_per_row.tolist() == [1, 0] and e.kept_per_col.tolist() == [1, 0]
    assert e.retained_energy == pytest.approx(1 / math.sqrt(30))
    # A v = (3, 7); B v = (1, 0)
    assert e.y_full.tolist() == [3.0, 7.0] and e.y_masked.tolist() == [1.0, 0.0] and e.y_index.tolist() == [0, 1]
    assert e.product_ratio == pytest.approx(1 / math.sqrt(58))
    assert e.product_error == pytest.approx(math.sqrt(4 + 49) / math.sqrt(58))
    # multiply: row 0 logits (1, 0), row 1 logits (0, 0)
    p0 = math.exp(1) / (math.exp(1) + 1)
    torch.testing.assert_close(e.probs_multiply, torch.tensor([[p0, 1 - p0], [0.5, 0.5]], dtype=torch.float64))
    torch.testing.assert_close(e.leaked, torch.tensor([1 - p0, 1.0], dtype=torch.float64))
    h0 = -(p0 * math.log(p0) + (1 - p0) * math.log(1 - p0))
    torch.testing.assert_close(e.entropy_multiply, torch.tensor([h0, math.log(2)], dtype=torch.float64))
    assert e.support_multiply.tolist() == [2, 2]
    # fill with -inf: row 0 -> (1, 0) exactly; row 1 all -inf -> NaN, safe -> zeros
    assert e.probs_fill[0].tolist() == [1.0, 0.0] and torch.isnan(e.probs_fill[1]).all()
    assert e.probs_fill_safe.tolist() == [[1.0, 0.0], [0.0, 0.0]]
    assert e.entropy_fill.tolist() == [0.0, 0.0] and e.support_fill.tolist() == [1, 0]
    assert e.fully_masked_rows == 1 and e.nan_rows == 1
    # fill mode with a finite value changes B: B = [[1, 5], [5, 5]]
    f = mask_effects(a, keep, v=v, mode="fill", value=5.0)
    assert f.retained_energy == pytest.approx(math.sqrt(76 / 30))
    assert f.y_masked.tolist() == [6.0, 10.0]


def test_mask_effects_batch_and_defaults():
    x = _x((3, 40, 700))
    keep = build_mask(x, "random", p=0.25, seed=1)
    e = mask_effects(x, keep, batch_index=2)
    assert e.sparsity == pytest.approx(1 - keep[2].float().mean().item())
    assert e.kept_per_row.tolist() == keep[2].sum(-1).tolist() and e.kept_per_col.shape == (700,)
    assert e.retained_energy == pytest.approx((x[2] * keep[2]).norm().item() / x[2].norm().item(), rel=1e-5)
    assert e.y_full.shape == (40,) and e.probs_multiply.shape == (40, 128) and e.prob_cols[-1] == 699
    assert e.fully_masked_rows == 0 and e.nan_rows == 0 and torch.all(e.leaked > 0)
    assert torch.equal(mask_effects(x, keep, batch_index=2).y_full, e.y_full)  # seeded v
    tall = mask_effects(_x((2000, 3)), build_mask((2000, 3), "causal"))
    assert tall.y_index.shape[0] <= 512 and tall.y_index[0] == 0 and tall.y_index[-1] == 1999
    assert torch.equal(spread(5, 512), torch.arange(5))


@pytest.mark.parametrize("kwargs, message", [
    (dict(mode="zero"), "mode"),
    (dict(value=float("nan")), "value"),
    (dict(batch_index=1), "batch_index"),
    (dict(v=torch.ones(3)), "length C=4"),
    (dict(v=torch.tensor([1.0, 2.0, math.inf, 0.0])), "finite"),
    (dict(mask=torch.ones(4, 3)), "broadcast"),
])
def test_mask_effects_bad(kwargs, message):
    x = _x((3, 4))
    mask = kwargs.pop("mask", torch.ones(3, 4, dtype=torch.bool))
    with pytest.raises(vnviz.InputError, match=message):
        mask_effects(x, mask, **kwargs)
    with pytest.raises(vnviz.InputError, match="finite x"):
        mask_effects(torch.tensor([[1.0, -math.inf]]), torch.ones(1, 2, dtype=torch.bool))
