"""Property tests: over every norm's parameter space, in range and garbage, and random inputs,
``vnviz.apply`` returns a finite tensor shaped like the input or raises InputError, nothing else.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from precision_support import group_tolerance, max_error
from sentences import assert_one_sentence

import vnviz
from vnviz import InputError

NORMS = tuple(v.name for v in vnviz.variants.norm_variants(named=True))  # every norm but the data-grouped ones
SETTINGS = settings(max_examples=60, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# floats most of the time; the rest must be refused
DTYPES = [torch.float32] * 4 + [torch.float64] * 3 + [torch.float16, torch.bfloat16, torch.int64, torch.bool,
                                                       torch.complex64]
DATA_KINDS = ["randn", "randn", "randn", "offset", "constant", "zeros", "huge", "tiny", "nan", "inf", "ints"]



@st.composite
def tensors(draw, min_ndim=1, max_ndim=5, min_size=0, max_size=6, dtypes=DTYPES, kinds=DATA_KINDS):
    ndim = draw(st.integers(min_ndim, max_ndim))
    size = st.one_of(st.integers(max(1, min_size), max_size), st.integers(min_size, max_size))  # 0 now and then
    shape = tuple(draw(st.lists(size, min_size=ndim, max_size=ndim)))
    dtype = draw(st.sampled_from(dtypes))
    kind = draw(st.sampled_from(kinds))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    if kind == "offset":
        x = x * 0.01 + 100.0
    elif kind == "constant":
        x = torch.full(shape, 2.5, dtype=torch.float64)
    elif kind == "zeros":
        x = torch.zeros(shape, dtype=torch.float64)
    elif kind == "huge":
        x = x * 1e30
    elif kind == "tiny":
        x = x * 1e-30
    elif kind == "ints":
        x = x.round()
    elif kind in ("nan", "inf") and x.numel():
        x.view(-1)[draw(st.integers(0, x.numel() - 1))] = math.nan if kind == "nan" else -math.inf
    return x.to(dtype)


GARBAGE = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=3),
    st.integers(-10**6, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just(10**400),
    st.just(1j),
    st.lists(st.floats(-2, 2), max_size=3),
    st.lists(st.integers(-1, 6), max_size=3),
    st.sampled_from(["float32", "cpu", "none", "", "1e-5", "2"]),
    st.integers(0, 3).map(lambda k: torch.ones(k)),
    st.just(torch.ones(2, 2)),
    st.just(torch.tensor(2.5)),
    st.just(torch.tensor(3)),
    st.just(torch.tensor([1.0, math.nan])),
    st.just(np.float32(0.5)),
    st.just(np.array([1.0, 2.0])),
    st.just(np.int64(2)),
    st.just(object()),
)


def in_range(draw, p: vnviz.Param, x: torch.Tensor, variant: vnviz.Variant):
    """A value from the declared range of ``p`` (shaped for ``x`` where it is a tensor)."""
    shape = tuple(x.shape)
    c = shape[1] if len(shape) > 1 else 1
    fdtype = x.dtype if x.is_floating_point() else torch.float32
    if (p.optional or p.default is None) and p.kind != "tensor" and draw(st.integers(0, 4)) == 0:
        return None
    if p.kind == "float":
        low = p.low if p.low is not None else -10.0
        high = p.high if p.high is not None else 1e6
        specials = [v for v in (low, high, 0.0, 1e-5, 1e-3, 0.1, 1.0) if low <= v <= high]
        return draw(st.one_of(st.sampled_from(specials), st.floats(low, high, allow_nan=False)))
    if p.kind == "int":
        divisors = [d for d in range(1, c + 1) if c % d == 0] or [1]
        return draw(st.one_of(st.sampled_from(divisors), st.sampled_from(divisors), st.integers(int(p.low or 0), 13)))
    if p.kind == "bool":
        return draw(st.booleans())
    if p.kind == "shape":
        if len(shape) < 1:
            return draw(st.integers(1, 4))
        k = draw(st.integers(1, len(shape)))
        ns = shape[len(shape) - k:]
        return draw(st.sampled_from([ns, list(ns), ns[0] if k == 1 else ns]))
    if p.kind == "affine":
        if draw(st.booleans()):
            return draw(st.floats(-3, 3, allow_nan=False))
        ash = (c,) if variant.affine == "channel" else shape[1:]
        return torch.rand(ash, dtype=fdtype) + 0.5
    if p.kind == "tensor":
        if p.name == "num_batches_tracked":
            return torch.tensor(draw(st.integers(0, 5)), dtype=torch.long)
        buf = torch.randn(c, dtype=fdtype)
        return buf.abs() + 0.1 if p.name == "running_var" else buf
    return p.default


@st.composite
def calls(draw, name: str, garbage: bool):
    """(name, x, params): params drawn from the declared ranges; with ``garbage`` one of them is garbage.

    Without garbage the input is anything (ndim 1..5, sizes 0..6, any dtype and data); with garbage
    it is an ordinary float tensor so that the bad parameter is what gets checked.
    """
    variant = vnviz.VARIANTS[name]
    if garbage:
        x = draw(tensors(min_ndim=variant.min_ndim, min_size=1, dtypes=[torch.float32, torch.float64],
                         kinds=["randn", "offset"]))
    else:
        x = draw(tensors())
    params = {}
    for p in variant.params:
        if draw(st.booleans()):
            params[p.name] = in_range(draw, p, x, variant)
    if "running_mean" in variant.param_names and draw(st.integers(0, 4)):  # the pair goes together, mostly
        if ("running_mean" in params) != ("running_var" in params):
            for key in ("running_mean", "running_var"):
                params[key] = in_range(draw, variant.param(key), x, variant)
    if garbage:
        if draw(st.integers(0, 9)) == 0:
            params[draw(st.sampled_from(["momentun", "groups", "axis", "num_groups", "bias", "dim"]))] = draw(GARBAGE)
        else:
            params[draw(st.sampled_from(variant.param_names))] = draw(GARBAGE)
    as_numpy = draw(st.integers(0, 9)) == 0 and x.dtype in (torch.float32, torch.float64)
    return name, (x.numpy() if as_numpy else x), params


def check_call(name, x, params) -> None:
    """The property: a finite tensor shaped like the input, or one-sentence InputError."""
    shape = tuple(x.shape)
    try:
        y = vnviz.apply(name, x, **params)
    except InputError as err:
        assert_one_sentence(err)
        return
    assert isinstance(y, torch.Tensor)
    assert tuple(y.shape) == shape
    expected_dtype = x.dtype if isinstance(x, torch.Tensor) else torch.from_numpy(x[:0]).dtype
    assert y.dtype == expected_dtype
    assert bool(torch.isfinite(y).all())


@pytest.mark.parametrize("name", NORMS)
@SETTINGS
@given(data=st.data())
def test_apply_in_range_params_any_input(name, data):
    check_call(*data.draw(calls(name, garbage=False)))


@pytest.mark.parametrize("name", NORMS)
@SETTINGS
@given(data=st.data())
def test_apply_one_garbage_param(name, data):
    check_call(*data.draw(calls(name, garbage=True)))


@SETTINGS
@given(st.sampled_from(NORMS), st.lists(st.integers(0, 6), min_size=0, max_size=5), st.data())
def test_stat_groups_is_a_dense_map_or_input_error(name, shape, data):
    shape = tuple(shape)
    params = {}
    if name == "group_norm" and data.draw(st.booleans()):
        params["num_groups"] = data.draw(st.one_of(st.integers(-1, 13), GARBAGE))
    if name in ("layer_norm", "rms_norm") and data.draw(st.booleans()):
        k = data.draw(st.integers(1, max(1, len(shape))))
        params["normalized_shape"] = data.draw(st.one_of(st.just(shape[len(shape) - k:]), GARBAGE))
    try:
        groups = vnviz.stat_groups(name, shape, **params)
    except InputError as err:
        assert_one_sentence(err)
        return
    assert groups.dtype == torch.int64 and tuple(groups.shape) == shape
    g = int(groups.max()) + 1
    assert torch.equal(torch.unique(groups), torch.arange(g))
    assert math.prod(shape) % g == 0
    assert bool((torch.bincount(groups.reshape(-1)) == math.prod(shape) // g).all())


# -- valid calls agree with the textbook formula -----------------------------------------


def textbook(name: str, x: torch.Tensor, params: dict) -> torch.Tensor:
    """float64 textbook result from the statistic groups the variant documents."""
    a = x.double()
    nd = a.ndim
    ns = params.get("normalized_shape")
    k = nd - 1 if ns is None else (1 if isinstance(ns, int) else len(ns))
    if name == "batch_norm":
        dims = (0,) + tuple(range(2, nd))
    elif name == "instance_norm":
        dims = tuple(range(2, nd))
    elif name == "layer_norm_2d":  # the channels of each position
        dims = (1,)
    elif name == "group_norm":
        g = params["num_groups"]
        flat = a.reshape(a.shape[0], g, -1)  # (N, G, C/G * positions): each block over its last dim
        y = textbook("layer_norm", flat, {"eps": params["eps"], "normalized_shape": flat.shape[2:]}).reshape(a.shape)
        return y
    else:
        dims = tuple(range(nd - k, nd))
    if name == "rms_norm":
        return a / torch.sqrt(a.pow(2).mean(dims, keepdim=True) + params["eps"])
    mean = a.mean(dims, keepdim=True)
    var = (a - mean).pow(2).mean(dims, keepdim=True)
    return (a - mean) / torch.sqrt(var + params["eps"])


@st.composite
def valid_calls(draw):
    name = draw(st.sampled_from(NORMS))
    ndim = draw(st.integers(3 if name == "instance_norm" else 2, 5))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=ndim, max_size=ndim)))
    c, spatial = shape[1], math.prod(shape[2:])
    params = {"eps": draw(st.sampled_from([1e-5, 1e-3, 0.1, 1.0]))}
    if name == "group_norm":
        params["num_groups"] = draw(st.sampled_from([d for d in range(1, c + 1) if c % d == 0]))
        if (c // params["num_groups"]) * spatial < 2:
            params["num_groups"] = 1
        if c * spatial < 2:
            shape = (shape[0], 2) + shape[2:]
    if name in ("layer_norm", "rms_norm") and draw(st.booleans()):
        params["normalized_shape"] = shape[ndim - draw(st.integers(1, ndim - 1)):]
    if name == "batch_norm" and shape[0] * spatial < 2:
        shape = (2,) + shape[1:]
    if name == "instance_norm" and spatial < 2:
        shape = shape[:2] + (2,) + shape[3:]
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    x = torch.randn(shape, generator=gen, dtype=torch.float64) * draw(st.sampled_from([1e-3, 1.0, 1e3]))
    dtype = draw(st.sampled_from([torch.float64, torch.float64, torch.float32, torch.float16, torch.bfloat16]))
    return name, x.to(dtype), params


@SETTINGS
@given(valid_calls())
def test_valid_calls_match_the_textbook(call):
    """In every dtype: the output keeps x's dtype and is as close to float64 maths on x as the dtype's rounding allows
    (rounding.tolerance of the variant's groups: the dtype's eps, the group size, the cancellation)."""
    name, x, params = call
    y = vnviz.apply(name, x, **params)
    assert y.dtype == x.dtype
    ref = textbook(name, x, params)
    if x.dtype == torch.float64:
        torch.testing.assert_close(y, ref, rtol=1e-7, atol=1e-7)
        return
    err, scale = max_error(y, ref)
    assert err <= group_tolerance(name, x, params, params["eps"]) * scale, (err, scale)
