"""Low precision: ulps, the derived tolerance, the precision report against float64 maths, its traps and its figure."""
from __future__ import annotations

import math
import re

import pytest
import torch
from sentences import assert_one_sentence

import vnviz
from vnviz import InputError
from vnviz.analysis.precision import (
    COMPUTE_CHOICES, COMPUTE_IN, MAX_GROUPS, ULP_EDGES, PrecisionReport, dtype_for, precision_report,
)
from vnviz.analysis.rounding import ROUNDINGS, SUMS, TOLERANCE, significant_bits, tolerance, ulp
from vnviz.figures.precision import GIVEN_NAME, KERNEL_NAME, precision_figure, ulp_bin_labels
from vnviz.variants import norm_variants

NORMS = tuple(v.name for v in norm_variants())  # ClusterNorm included
HALF = (torch.float16, torch.bfloat16)
DTYPES = HALF + (torch.float32, torch.float64)
FLOAT32_KERNEL = ("layer_norm", "layer_norm_2d", "group_norm", "rms_norm")  # CPU: float32 maths rounded once


def _x(shape=(12, 6, 5, 4), scale=2.0, shift=0.5, seed=0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale + shift


# -- ulps and the tolerance ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype, value, spacing", [
    (torch.float16, 1.0, 2.0**-10), (torch.float16, 1.5, 2.0**-10), (torch.float16, 2.0, 2.0**-9),
    (torch.float16, 65504.0, 32.0), (torch.float16, 0.0, 2.0**-24), (torch.float16, 3e-6, 2.0**-24),
    (torch.bfloat16, 1.0, 2.0**-7), (torch.bfloat16, -3.0, 2.0**-6), (torch.bfloat16, 0.0, 2.0**-133),
    (torch.float32, 1.0, 2.0**-23), (torch.float64, 1.0, 2.0**-52), (torch.float64, -0.75, 2.0**-53),
])
def test_ulp_is_the_spacing_of_the_dtype_at_the_value(dtype, value, spacing):
    assert float(ulp(torch.tensor([value], dtype=torch.float64), dtype)[0]) == spacing


@pytest.mark.parametrize("dtype", DTYPES)
def test_ulp_is_the_gap_to_the_next_representable_number(dtype):
    values = torch.tensor([1.0, 3.0, 100.0, 0.01, 123.456], dtype=torch.float64).to(dtype)  # representable
    up = torch.nextafter(values, torch.full_like(values, math.inf))
    assert torch.equal(ulp(values.double(), dtype), (up.double() - values.double()))


def test_significant_bits():
    assert [significant_bits(d) for d in DTYPES] == [11, 8, 24, 53]


def test_tolerance_is_derived_from_eps_group_size_and_cancellation():
    for dtype in HALF:
        u, a = torch.finfo(dtype).eps, torch.finfo(torch.float32).eps
        assert tolerance(dtype, 100, 3.0) == pytest.approx(u * (ROUNDINGS + 3.0) + a * (SUMS * 10 + 9.0))
        assert tolerance(dtype) < 2.01 * u  # not a loosened constant: two units of rounding on small groups
        assert tolerance(dtype, 10_000) > tolerance(dtype, 100) and tolerance(dtype, 100, 8) > tolerance(dtype, 100)
    assert tolerance(torch.bfloat16) > 7 * tolerance(torch.float16)  # 8 significant bits against 11
    assert tolerance(torch.float32) == TOLERANCE[torch.float32] and tolerance(torch.float64) == TOLERANCE[torch.float64]
    assert tolerance(torch.float32, 10**6, 30.0) > TOLERANCE[torch.float32]  # the floor, unless the bound is larger


# -- the report against float64 maths ---------------------------------------------------------------


def _params(name: str) -> dict:
    return {"cluster_norm": {"n_clusters": 2}, "group_norm": {"num_groups": 3}}.get(name, {})


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NORMS)
def test_report_against_float64_maths(name, dtype):
    x = _x().float()
    r = precision_report(name, x, dtype, **_params(name))
    assert isinstance(r, PrecisionReport) and r.variant == name and r.dtype == dtype and r.source_dtype == torch.float32
    assert r.accumulation == (torch.float32 if dtype in HALF else dtype)
    assert r.within_tolerance, (r.max_abs, r.tolerance)
    assert r.groups == r.group_ulp.numel() * r.block and r.group_ulp.shape == r.group_kernel_ulp.shape
    assert int(r.ulp_counts.sum()) == x.numel() and r.ulp_counts.numel() == len(ULP_EDGES) + 1
    assert r.max_ulp == pytest.approx(float(r.group_ulp.max()), rel=1e-6)
    assert r.kernel_max_ulp == pytest.approx(float(r.group_kernel_ulp.max()), rel=1e-6)
    assert r.worst_groups[0][1] == pytest.approx(r.max_ulp, rel=1e-6)
    assert 0.0 <= r.within_one_ulp <= 1.0
    # the worst element is what it says: its output is apply's on x in dtype, its error that many ulps
    y = vnviz.apply(name, x.to(dtype), **_params(name))
    assert r.worst_y == float(y[r.worst_index]) and r.worst_x == float(x[r.worst_index])
    units = abs(r.worst_y - r.worst_reference) / float(ulp(torch.tensor(r.worst_reference, dtype=torch.float64), dtype))
    assert units == pytest.approx(r.max_ulp, rel=1e-6)


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", FLOAT32_KERNEL)
def test_float32_kernels_are_correctly_rounded_in_half(name, dtype):
    """On the CPU LayerNorm, GroupNorm and RMSNorm compute in float32 and round once: half a unit at most, at the
    output's scale, against float64 maths on the rounded input; BatchNorm rounds its statistics first."""
    x = _x().float()
    r = precision_report(name, x, dtype, **_params(name))
    assert r.kernel_max_scaled <= 0.5 + 2**-8, r.kernel_max_scaled
    assert r.max_scaled >= r.kernel_max_scaled  # rounding x itself only adds
    bn = precision_report("batch_norm", x, dtype)
    assert 0.5 + 2**-8 < bn.kernel_max_scaled <= bn.tolerance / torch.finfo(dtype).eps


def test_report_in_the_data_dtype_and_upcast():
    x = _x().to(torch.float16)
    same = precision_report("layer_norm", x, "data")
    assert same.dtype == torch.float16 and same.max_abs == same.kernel_max_abs  # nothing rounded on the way
    up = precision_report("layer_norm", x, torch.float64)
    assert up.dtype == torch.float64 and up.max_abs < 1e-12


def test_report_of_many_groups_is_kept_small():
    x = _x((64, 8, 16, 4))  # LayerNorm over the last dim: 8192 groups
    r = precision_report("layer_norm", x, torch.bfloat16, normalized_shape=(4,))
    assert r.groups == 8192 and r.block == 2 and r.group_ulp.numel() == MAX_GROUPS
    assert r.worst_groups[0][1] == pytest.approx(float(r.group_ulp.max()), rel=1e-6)


def test_eval_mode_and_running_buffers_are_not_touched():
    x = _x().float()
    rm, rv = torch.randn(6), torch.rand(6) + 0.5
    keep = rm.clone(), rv.clone()
    r = precision_report("batch_norm", x, torch.float16, running_mean=rm, running_var=rv, training=True)
    assert torch.equal(rm, keep[0]) and torch.equal(rv, keep[1]) and r.within_tolerance
    r = precision_report("batch_norm", x, torch.bfloat16, running_mean=rm, running_var=rv, training=False)
    assert r.within_tolerance and "float32" in " ".join(r.traps)  # float32 buffers: torch's mixed mode


# -- the traps ---------------------------------------------------------------------------------------


def test_float16_square_overflow_trap():
    x = _x(scale=1.0) * 100  # |x| reaches about 300
    traps = precision_report("layer_norm", x, torch.float16).traps
    assert any("x² overflows float16" in t and "255.9" in t and "256" in t for t in traps), traps
    assert not any("overflows" in t for t in precision_report("layer_norm", x / 10, torch.float16).traps)


def test_eps_below_the_spacing_trap():
    x = _x(scale=1.0, shift=0.0)
    bf = precision_report("batch_norm", x, torch.bfloat16, eps=1e-5).traps
    assert any("eps = 1e-05 is below half the spacing of bfloat16" in t and "8 significant bits" in t for t in bf)
    assert not any("spacing" in t for t in precision_report("batch_norm", x, torch.bfloat16, eps=0.01).traps)
    assert not any("spacing" in t for t in precision_report("batch_norm", x, torch.float32).traps)


def test_cancellation_trap():
    x = _x(scale=0.01, shift=50.0)  # |mean| is ~5000 stds
    traps = precision_report("layer_norm", x, torch.float16).traps
    assert any(t.startswith("Cancellation: a group's |mean| is") for t in traps), traps
    assert not any("Cancellation" in t for t in precision_report("layer_norm", _x(), torch.float16).traps)
    assert not any("Cancellation" in t for t in precision_report("rms_norm", x, torch.float16).traps)


def test_rms_norm_eps_none_trap_and_autocast_traps():
    rms = " ".join(precision_report("rms_norm", _x(), torch.float16).traps)
    assert "eps=None is float32's machine epsilon (1.19e-07)" in rms and "0.000977" in rms
    assert "eps=None" not in " ".join(precision_report("rms_norm", _x(), torch.float16, eps=1e-6).traps)
    for name in ("layer_norm", "group_norm", "rms_norm", "layer_norm_2d"):
        traps = " ".join(precision_report(name, _x(), torch.bfloat16, **_params(name)).traps)
        assert "Under CUDA autocast torch runs" in traps and "in float32" in traps, name
    for name in ("batch_norm", "instance_norm"):
        traps = " ".join(precision_report(name, _x(), torch.float16).traps)
        assert "CUDA autocast leaves" in traps and "rounds each" in traps, name
    assert precision_report("layer_norm", _x(), torch.float32).traps == ()


def test_every_trap_is_one_sentence():
    x = _x(scale=0.01, shift=300.0)
    for name in NORMS:
        for dtype in HALF:
            for t in precision_report(name, x, dtype, **_params(name)).traps:
                body = t[:-1].replace("e.g.", "eg")
                assert t.endswith(".") and "\n" not in t and not re.search(r"\.\s+[A-Z]", body), t


# -- bad calls ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("call, needle", [
    (lambda: precision_report("layer_norm", _x() * 1e5, torch.float16), "65504"),
    (lambda: precision_report("layer_norm", _x(), "float8"), "compute_in"),
    (lambda: precision_report("layer_norm", _x(), torch.int32), "compute_in"),
    (lambda: precision_report("matrix_mask", _x(), torch.float16), "not a normalization"),
    (lambda: precision_report("layer_norm", torch.ones(3, 4, dtype=torch.int64), torch.float16), "int64"),
])
def test_bad_calls_are_one_sentence(call, needle):
    with pytest.raises(InputError) as info:
        call()
    assert_one_sentence(info.value)
    assert needle in str(info.value)


def test_compute_in_choices_and_link_text():
    assert COMPUTE_CHOICES == ("data", "float16", "bfloat16", "float32", "float64")
    assert dtype_for("data", torch.float16) == torch.float16 and dtype_for(None, torch.float64) == torch.float64
    assert dtype_for("bfloat16", torch.float32) == torch.bfloat16 and dtype_for(torch.float16, torch.float32) == torch.float16
    assert COMPUTE_IN.name == "compute_in" and COMPUTE_IN.default == "data"
    for text in COMPUTE_CHOICES:
        assert COMPUTE_IN.to_text(COMPUTE_IN.from_text(text)) == text
    with pytest.raises(InputError):
        COMPUTE_IN.from_text("half")


# -- the figure ---------------------------------------------------------------------------------------------


def test_figure_draws_the_report():
    r = precision_report("batch_norm", _x().float(), torch.bfloat16)
    fig = precision_figure(r)
    names = [t.name for t in fig.data]
    assert names == [GIVEN_NAME, KERNEL_NAME, "worst groups", "outputs"]
    given, kernel, worst, bars = fig.data
    assert len(given.x) == len(kernel.x) == r.group_ulp.numel() == r.groups
    assert list(given.customdata) == pytest.approx(r.group_ulp.tolist())
    assert list(worst.x) == [g for g, _ in r.worst_groups]
    assert list(bars.x) == ulp_bin_labels(r.ulp_edges) and sum(bars.y) == 12 * 6 * 5 * 4
    assert fig.layout.yaxis.type == "log" and "bfloat16" in fig.layout.title.text and "BatchNorm" in fig.layout.title.text
    assert len(fig.to_json()) < 60_000  # a summary, not the data
    big = precision_figure(r, scale=1.6)
    assert big.layout.font.size > fig.layout.font.size and big.layout.height > fig.layout.height


def test_figure_of_blocks_says_so():
    r = precision_report("layer_norm", _x((64, 8, 16, 4)), torch.float16, normalized_shape=(4,))
    fig = precision_figure(r)
    assert len(fig.data[0].x) == MAX_GROUPS and fig.data[0].x[1] == 2
    assert "blocks of 2 groups" in fig.layout.annotations[0].text


def test_bin_labels():
    assert ulp_bin_labels((0.5, 1.0, 2.0)) == ["≤ 0.5", "0.5–1", "1–2", "> 2"]


# -- CUDA: correct by construction, checked where a GPU is present ----------------------------------------

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
TORCH_CALLS = {
    "batch_norm": lambda x, w, b: torch.nn.functional.batch_norm(x, None, None, w, b, True),
    "instance_norm": lambda x, w, b: torch.nn.functional.instance_norm(x, None, None, w, b),
    "group_norm": lambda x, w, b: torch.nn.functional.group_norm(x, 3, w, b),
    "layer_norm_2d": lambda x, w, b: torch.nn.functional.layer_norm(x.movedim(1, -1), (x.shape[1],), w, b,
                                                                    1e-6).movedim(-1, 1).contiguous(),
}


@cuda
@pytest.mark.parametrize("pdtype", ["same", "float32"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", tuple(TORCH_CALLS))
def test_cuda_matches_torch_bitwise_in_every_dtype(name, dtype, pdtype):
    """On CUDA vnviz runs the kernel F.* runs (native_group_norm, native_layer_norm; F.batch_norm and F.instance_norm
    themselves): the same bits, or, where torch's CUDA kernel refuses float32 parameters next to half input, the
    same refusal as an InputError."""
    x = _x((8, 6, 5, 4)).to("cuda", dtype)
    pd = dtype if pdtype == "same" else torch.float32
    w = (torch.rand(6, generator=torch.Generator().manual_seed(1)) + 0.5).to("cuda", pd)
    b = torch.randn(6, generator=torch.Generator().manual_seed(2)).to("cuda", pd)
    params = {"weight": w, "bias": b}
    if name == "group_norm":
        params["num_groups"] = 3
    try:
        want = TORCH_CALLS[name](x, w, b)
    except RuntimeError:
        with pytest.raises(InputError):
            vnviz.apply(name, x, **params)
        return
    y = vnviz.apply(name, x, **params)
    assert y.dtype == dtype and y.device.type == "cuda" and torch.equal(y, want)


@cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NORMS)
def test_cuda_report_is_within_tolerance_and_explain_agrees(name, dtype):
    x = _x((8, 6, 5, 4)).float().cuda()
    r = precision_report(name, x, dtype, **_params(name))
    assert r.within_tolerance, (r.max_abs, r.tolerance)
    y = vnviz.apply(name, x.to(dtype), **_params(name))
    e = vnviz.explain(name, x.to(dtype), (3, 2, 1, 0), **_params(name))
    assert e.y.dtype == dtype and e.residual <= e.tolerance
    torch.testing.assert_close(e.y, y[3, 2, 1, 0], rtol=e.tolerance, atol=e.tolerance)


@cuda
@pytest.mark.parametrize("dtype", HALF)
def test_cuda_rms_norm_and_layer_norm_with_float32_weight(dtype):
    """F.rms_norm takes a float32 weight next to half input on CUDA (its composite path): vnviz calls it then."""
    x = _x((4, 7, 16)).to("cuda", dtype)
    w = torch.rand(16, device="cuda") + 0.5
    assert torch.equal(vnviz.apply("rms_norm", x, normalized_shape=(16,), weight=w),
                       torch.nn.functional.rms_norm(x, (16,), w))
    try:
        want = torch.nn.functional.layer_norm(x, (16,), w)
    except RuntimeError:
        with pytest.raises(InputError):
            vnviz.apply("layer_norm", x, normalized_shape=(16,), weight=w)
        return
    assert torch.equal(vnviz.apply("layer_norm", x, normalized_shape=(16,), weight=w), want)
