"""Axis inference: outputs of torch's own modules (random affine, various eps) are recognised.

Every pair below is made by a ``torch.nn`` module with random weight and bias
copied in, never by vnviz, so the inference is checked against an independent
reference. Tables of layouts and of bad inputs live at module level.
"""
from __future__ import annotations

import dataclasses
import io
import math
import re

import numpy as np
import pytest
import torch
from torch import nn

from vnviz.analysis.infer import MAX_NUMEL, TOLERANCE, AxisReport, Candidate, infer_axes
from vnviz.analysis.pairs import pair_from_arrays
from vnviz.data import load_arrays
from vnviz.errors import InputError

RESIDUAL = 1e-5  # a recognised module's relative residual stays below this


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors: one intra-op thread per test worker avoids oversubscribing the cores under xdist."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# -- helpers -------------------------------------------------------------------------------


def randomized(module: nn.Module, seed: int = 0) -> nn.Module:
    """The module with random weights (0.5 to 1.5, either sign) and biases copied in."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        w = getattr(module, "weight", None)
        if w is not None:
            sign = torch.where(torch.rand(w.shape, generator=g) < 0.2, -1.0, 1.0)
            w.copy_(sign * (0.5 + torch.rand(w.shape, generator=g)))
        b = getattr(module, "bias", None)
        if b is not None:
            b.copy_(torch.randn(b.shape, generator=g))
    return module


class ChannelsFirst(nn.Module):
    """nn.LayerNorm(C) fed x.movedim(1, -1), its output moved back: ConvNeXt's channels-first LayerNorm, SAM's
    LayerNorm2d."""

    def __init__(self, inner: nn.LayerNorm):
        super().__init__()
        self.inner = inner
        self.weight, self.bias, self.eps = inner.weight, inner.bias, inner.eps  # the affine is the inner one's

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.movedim(1, -1)).movedim(-1, 1)


def run(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    module.train()
    with torch.no_grad():
        return module(x)


def data(shape: tuple[int, ...], seed: int = 1) -> torch.Tensor:
    """Random data with a different mean and scale per channel, so wrong axes show."""
    g = torch.Generator().manual_seed(seed)
    c = shape[1]
    scale = (0.5 + 2 * torch.rand(c, generator=g)).reshape((1, c) + (1,) * (len(shape) - 2))
    shift = torch.randn(c, generator=g).reshape(scale.shape)
    return torch.randn(shape, generator=g) * scale + shift


def assert_one_sentence(err: BaseException) -> None:
    assert type(err) is InputError, f"expected InputError, got {type(err).__name__}: {err}"
    msg = str(err)
    assert msg.endswith(".") and "\n" not in msg and len(msg) < 300, msg
    body = msg[:-1].replace("e.g.", "eg")
    assert not re.search(r"\.\s+[A-Z]", body), f"more than one sentence: {msg!r}"


# -- every variant and layout, from the torch modules ---------------------------------------

C = 6
# (id, shape, module factory, variant, axes, num_groups, affine)
MODULE_CASES = [
    # (N, C)
    ("bn1d-NC", (16, C), lambda: randomized(nn.BatchNorm1d(C)), "batch_norm", (0,), None, "per-channel"),
    ("bn1d-NC-plain", (16, C), lambda: nn.BatchNorm1d(C, affine=False, eps=1e-3), "batch_norm", (0,), None, "none"),
    ("ln-NC", (16, C), lambda: randomized(nn.LayerNorm(C)), "layer_norm", (1,), None, "per-element"),
    ("gn3-NC", (16, C), lambda: randomized(nn.GroupNorm(3, C)), "group_norm", (1,), 3, "per-channel"),
    ("rms-NC", (16, C), lambda: randomized(nn.RMSNorm(C)), "rms_norm", (1,), None, "per-element"),
    # (N, C, L)
    ("bn1d-NCL", (8, C, 10), lambda: randomized(nn.BatchNorm1d(C, eps=1e-3)), "batch_norm", (0, 2), None, "per-channel"),
    # without an affine InstanceNorm1d on (N, C, L) is LayerNorm(L): rank 3 is named LayerNorm (tokens)
    ("in1d-NCL", (8, C, 10), lambda: nn.InstanceNorm1d(C), "layer_norm", (2,), None, "none"),
    ("in1d-NCL-affine", (8, C, 10), lambda: randomized(nn.InstanceNorm1d(C, affine=True)), "instance_norm", (2,), None,
     "per-channel"),
    ("gn2-NCL", (8, C, 10), lambda: randomized(nn.GroupNorm(2, C, eps=0.037)), "group_norm", (1, 2), 2, "per-channel"),
    ("ln-CL", (8, C, 10), lambda: randomized(nn.LayerNorm((C, 10))), "layer_norm", (1, 2), None, "per-element"),
    ("rms-L", (8, C, 10), lambda: randomized(nn.RMSNorm(10, eps=1e-4)), "rms_norm", (2,), None, "per-element"),
    ("ln2d-CL", (8, C, 10), lambda: ChannelsFirst(randomized(nn.LayerNorm(C, eps=1e-6))), "layer_norm_2d", (1,), None,
     "per-channel"),
    # (N, C, H, W)
    ("bn2d", (6, C, 5, 4), lambda: randomized(nn.BatchNorm2d(C)), "batch_norm", (0, 2, 3), None, "per-channel"),
    ("bn2d-plain", (6, C, 5, 4), lambda: nn.BatchNorm2d(C, affine=False, eps=0.2), "batch_norm", (0, 2, 3), None, "none"),
    ("in2d", (6, C, 5, 4), lambda: nn.InstanceNorm2d(C), "instance_norm", (2, 3), None, "none"),
    ("in2d-affine", (6, C, 5, 4), lambda: randomized(nn.InstanceNorm2d(C, affine=True, eps=1e-3)), "instance_norm",
     (2, 3), None, "per-channel"),
    ("gn1", (6, C, 5, 4), lambda: randomized(nn.GroupNorm(1, C)), "group_norm", (1, 2, 3), 1, "per-channel"),
    ("gn2", (6, C, 5, 4), lambda: randomized(nn.GroupNorm(2, C)), "group_norm", (1, 2, 3), 2, "per-channel"),
    ("gn3", (6, C, 5, 4), lambda: randomized(nn.GroupNorm(3, C, eps=0.01)), "group_norm", (1, 2, 3), 3, "per-channel"),
    ("gn3-plain", (6, C, 5, 4), lambda: nn.GroupNorm(3, C, affine=False), "group_norm", (1, 2, 3), 3, "none"),
    ("gnC", (6, C, 5, 4), lambda: randomized(nn.GroupNorm(C, C)), "instance_norm", (2, 3), None, "per-channel"),
    ("ln-CHW", (6, C, 5, 4), lambda: randomized(nn.LayerNorm((C, 5, 4))), "layer_norm", (1, 2, 3), None, "per-element"),
    ("ln-HW", (6, C, 5, 4), lambda: randomized(nn.LayerNorm((5, 4), eps=1e-3)), "layer_norm", (2, 3), None,
     "per-element"),
    ("ln-W", (6, C, 5, 4), lambda: randomized(nn.LayerNorm(4)), "layer_norm", (3,), None, "per-element"),
    ("ln-CHW-plain", (6, C, 5, 4), lambda: nn.LayerNorm((C, 5, 4), elementwise_affine=False), "layer_norm", (1, 2, 3),
     None, "none"),
    ("rms-CHW", (6, C, 5, 4), lambda: randomized(nn.RMSNorm((C, 5, 4))), "rms_norm", (1, 2, 3), None, "per-element"),
    ("rms-W", (6, C, 5, 4), lambda: randomized(nn.RMSNorm(4, eps=1e-5)), "rms_norm", (3,), None, "per-element"),
    ("ln2d", (6, C, 5, 4), lambda: ChannelsFirst(randomized(nn.LayerNorm(C, eps=1e-6))), "layer_norm_2d", (1,), None,
     "per-channel"),
    ("ln2d-plain", (6, C, 5, 4), lambda: ChannelsFirst(nn.LayerNorm(C, eps=1e-6, elementwise_affine=False)),
     "layer_norm_2d", (1,), None, "none"),
    # (N, C, D, H, W)
    ("bn3d", (4, C, 3, 4, 2), lambda: randomized(nn.BatchNorm3d(C)), "batch_norm", (0, 2, 3, 4), None, "per-channel"),
    ("in3d", (4, C, 3, 4, 2), lambda: nn.InstanceNorm3d(C, eps=1e-2), "instance_norm", (2, 3, 4), None, "none"),
    ("gn3-3d", (4, C, 3, 4, 2), lambda: randomized(nn.GroupNorm(3, C)), "group_norm", (1, 2, 3, 4), 3, "per-channel"),
    ("ln-CDHW", (4, C, 3, 4, 2), lambda: randomized(nn.LayerNorm((C, 3, 4, 2))), "layer_norm", (1, 2, 3, 4), None,
     "per-element"),
    ("rms-HW-3d", (4, C, 3, 4, 2), lambda: randomized(nn.RMSNorm((4, 2))), "rms_norm", (3, 4), None, "per-element"),
    ("ln2d-3d", (4, C, 3, 4, 2), lambda: ChannelsFirst(randomized(nn.LayerNorm(C, eps=1e-6))), "layer_norm_2d", (1,),
     None, "per-channel"),
    # tokens (N, L, D)
    ("tokens-ln", (4, 7, 16), lambda: randomized(nn.LayerNorm(16)), "layer_norm", (2,), None, "per-element"),
    ("tokens-ln-plain", (4, 7, 16), lambda: nn.LayerNorm(16, elementwise_affine=False), "layer_norm", (2,), None, "none"),
    ("tokens-rms", (4, 7, 16), lambda: randomized(nn.RMSNorm(16)), "rms_norm", (2,), None, "per-element"),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", MODULE_CASES, ids=[c[0] for c in MODULE_CASES])
def test_module_outputs_are_recognised(case, dtype):
    _, shape, make, variant, axes, groups, affine = case
    x = data(shape).to(dtype)
    m = make().to(dtype)
    r = infer_axes(x, run(m, x))
    assert (r.variant, r.axes, r.num_groups, r.affine) == (variant, axes, groups, affine), r.explanation
    assert r.residual < (RESIDUAL if dtype == torch.float32 else 1e-10), r.explanation
    assert r.tolerance == TOLERANCE[dtype]
    assert r.explanation.startswith("y is ")
    if variant in ("layer_norm", "rms_norm"):
        assert r.normalized_shape == tuple(shape[axes[0]:])
    assert r.centered == (variant != "rms_norm")
    assert r.variance == ("none" if variant == "rms_norm" else "biased")
    if affine == "none":
        assert r.weight is None and r.bias is None and r.affine_shape is None
        return
    # the fitted affine is the module's (BatchNorm's absorbs the normalization and eps: it is read at eps 1e-5)
    assert r.affine_shape == tuple(m.weight.shape)
    assert r.weight.shape == m.weight.shape and r.weight.dtype == torch.float64 and r.weight.device.type == "cpu"
    if dtype == torch.float64 and (variant != "batch_norm" or m.eps == 1e-5):  # BatchNorm: at torch's eps
        torch.testing.assert_close(r.weight, m.weight.detach().double(), rtol=1e-6, atol=1e-8)
        if getattr(m, "bias", None) is None:
            assert r.bias is None
        else:
            torch.testing.assert_close(r.bias, m.bias.detach().double(), rtol=1e-6, atol=1e-8)


def test_numpy_arrays_and_mixed_dtypes():
    x = data((6, C, 5, 4))
    y = run(randomized(nn.GroupNorm(3, C)), x)
    r = infer_axes(x.numpy(), y.double().numpy())
    assert (r.variant, r.num_groups) == ("group_norm", 3)
    assert r.tolerance == TOLERANCE[torch.float32]  # the coarser of the two dtypes


HALF_CASES = [
    # (id, dtype, shape, module, variant, axes, num_groups, file format)
    ("gn3-float16-npz", torch.float16, (6, C, 5, 4), lambda: randomized(nn.GroupNorm(3, C)), "group_norm", (1, 2, 3), 3,
     "npz"),
    ("ln-bfloat16-pt", torch.bfloat16, (4, 7, 16), lambda: randomized(nn.LayerNorm(16)), "layer_norm", (2,), None, "pt"),
    ("bn-float16-pt", torch.float16, (6, C, 5, 4), lambda: randomized(nn.BatchNorm2d(C)), "batch_norm", (0, 2, 3), None,
     "pt"),
    ("rms-bfloat16-pt", torch.bfloat16, (4, 7, 16), lambda: randomized(nn.RMSNorm(16)), "rms_norm", (2,), None,
     "pt"),
]


@pytest.mark.parametrize("case", HALF_CASES, ids=[c[0] for c in HALF_CASES])
def test_half_precision_pairs_are_recognised_through_an_upload(case):
    """A real float16/bfloat16 layer's pair, saved to a file and read back as the Axis check page reads it, is named:
    its tolerance follows the pair's dtype (issue 17: the upload used to cast it to float32, whose 1e-4 tolerance is
    below float16's own rounding of y, so nothing explained it)."""
    _, dtype, shape, make, variant, axes, groups, fmt = case
    m = make().to(dtype)
    x = data(shape).to(dtype)
    y = run(m, x)
    buf = io.BytesIO()
    if fmt == "npz":
        np.savez(buf, x=x.numpy(), y=y.numpy())
    else:
        torch.save({"x": x, "y": y}, buf)
    arrays = load_arrays(buf.getvalue(), f"pair.{fmt}")
    px, py = pair_from_arrays(arrays, None)
    r = infer_axes(px, py)
    assert (r.variant, r.axes, r.num_groups) == (variant, axes, groups), r.explanation
    assert px.dtype == py.dtype == dtype
    assert r.tolerance == TOLERANCE[dtype]
    assert TOLERANCE[torch.float32] < r.residual < r.tolerance  # float32's tolerance could not explain it


# -- equivalences ----------------------------------------------------------------------------


def test_instance_norm_without_affine_is_also_layer_norm_and_group_norm_c():
    x = data((6, C, 5, 4))
    r = infer_axes(x, run(nn.InstanceNorm2d(C), x))
    assert r.variant == "instance_norm" and r.axes == (2, 3)
    assert set(r.also) == {"layer_norm", "group_norm"}
    assert "LayerNorm over (5, 4)" in r.explanation and f"GroupNorm({C})" in r.explanation


def test_group_norm_c_is_instance_norm():
    x = data((6, C, 5, 4))
    r = infer_axes(x, run(randomized(nn.GroupNorm(C, C)), x))
    assert r.variant == "instance_norm" and "group_norm" in r.also
    assert "layer_norm" not in r.also  # LayerNorm over (H, W) has no per-channel affine


def test_group_norm_1_and_layer_norm_differ_only_in_affine_shape():
    x = data((6, C, 5, 4))
    r = infer_axes(x, run(randomized(nn.GroupNorm(1, C)), x))
    assert (r.variant, r.num_groups, r.affine) == ("group_norm", 1, "per-channel") and r.also == ("layer_norm",)
    r = infer_axes(x, run(randomized(nn.LayerNorm((C, 5, 4))), x))
    assert (r.variant, r.affine) == ("layer_norm", "per-element") and "group_norm" not in r.also
    r = infer_axes(x, run(nn.LayerNorm((C, 5, 4), elementwise_affine=False), x))
    assert r.variant == "layer_norm" and r.also == ("group_norm",)


def test_batch_norm_affine_absorbs_the_normalization():
    x = data((6, C, 5, 4))
    r = infer_axes(x, run(randomized(nn.BatchNorm2d(C)), x))
    assert r.variant == "batch_norm" and "undo the normalization" in r.explanation
    assert r.eps is None and "cannot be identified" in r.explanation


# -- classic mistakes ---------------------------------------------------------------------------


def test_batch_norm_1d_fed_tokens():
    x = data((8, 10, 16))  # (N, L, D)
    r = infer_axes(x, run(nn.BatchNorm1d(10), x))
    assert r.variant == "batch_norm" and r.axes == (0, 2)
    assert "(0, 2)" in r.explanation and "each position" in r.explanation and "not each feature" in r.explanation


def test_channels_last_batch_norm_is_named():
    x = data((8, 10, 16))
    y = run(randomized(nn.BatchNorm1d(16)), x.transpose(1, 2)).transpose(1, 2)
    r = infer_axes(x, y)
    assert r.variant is None and r.axes == (0, 1) and r.residual < RESIDUAL
    assert "which is no standard layer" in r.explanation and "channels in dim 2" in r.explanation


def test_layer_norm_over_channels_of_channels_first_data():
    x = data((6, C, 5, 4))
    y = run(randomized(nn.LayerNorm(C)), x.movedim(1, -1)).movedim(-1, 1)  # ConvNeXt's channels-first LayerNorm
    r = infer_axes(x, y)
    assert r.variant == "layer_norm_2d" and r.axes == (1,) and r.affine == "per-channel" and r.residual < RESIDUAL
    assert "LayerNorm(6) along dim 1" in r.explanation and r.explanation.startswith("y is LayerNorm2d")


def test_layer_norm_over_channels_with_its_own_eps():
    x = small_variance_data()  # channel scales from 1e-3: a variance near eps somewhere
    y = run(ChannelsFirst(randomized(nn.LayerNorm(12, eps=1e-6))), x)
    r = infer_axes(x, y)
    assert (r.variant, r.axes, r.affine) == ("layer_norm_2d", (1,), "per-channel"), r.explanation
    assert r.eps is None or 0.5e-6 < r.eps < 2e-6, r.explanation


def test_instance_norm_that_also_averages_over_the_batch():
    x = data((6, C, 5, 4))
    mean = x.mean((0, 2, 3), keepdim=True)
    var = x.var((0, 2, 3), keepdim=True, unbiased=False)
    r = infer_axes(x, (x - mean) / (var + 1e-5).sqrt())
    assert r.variant == "batch_norm" and r.axes == (0, 2, 3)
    assert "InstanceNorm" in r.explanation and "batch (dim 0)" in r.explanation


def test_unbiased_variance_is_recognised():
    x = data((6, C, 5, 4))
    mean = x.mean((2, 3), keepdim=True)
    r = infer_axes(x, (x - mean) / (x.var((2, 3), keepdim=True) + 1e-5).sqrt())  # unbiased by default
    assert r.variant == "instance_norm" and r.variance == "unbiased" and r.affine == "none"
    assert "unbiased" in r.explanation and "biased one" in r.explanation


def small_variance_data() -> torch.Tensor:
    """Channels whose scale spans 1e-3 to 1, so eps = 1e-2 dominates some groups."""
    g = torch.Generator().manual_seed(3)
    return torch.randn(8, 12, 5, 5, generator=g) * torch.logspace(-3, 0, 12).reshape(1, 12, 1, 1)


@pytest.mark.parametrize("make", [
    lambda: nn.InstanceNorm2d(12, eps=1e-2),
    lambda: randomized(nn.GroupNorm(4, 12, eps=1e-2)),
    lambda: randomized(nn.LayerNorm(5, eps=1e-2)),
    lambda: nn.BatchNorm2d(12, eps=1e-2, affine=False),
], ids=["instance", "group", "layer", "batch"])
def test_eps_is_estimated(make):
    x = small_variance_data()
    r = infer_axes(x, run(make(), x))
    assert r.residual < RESIDUAL
    assert r.eps is not None and 0.5e-2 < r.eps < 2e-2, r.explanation
    assert "eps ≈ 0.01." in r.explanation


def test_missing_eps_is_reported():
    x = small_variance_data()
    mean = x.mean((2, 3), keepdim=True)
    r = infer_axes(x, (x - mean) / x.var((2, 3), keepdim=True, unbiased=False).sqrt())
    assert r.variant == "instance_norm" and r.eps == 0.0
    assert "eps = 0." in r.explanation and "eps is missing" in r.explanation and "1e-05" in r.explanation


def test_eps_that_cannot_be_identified():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(4, 8, 32, 32, generator=g)  # every group's variance ~1, far above eps
    r = infer_axes(x, run(randomized(nn.LayerNorm((8, 32, 32), eps=1e-6)), x))  # the weight absorbs eps's mean
    assert r.variant == "layer_norm" and r.eps is None and "eps cannot be identified" in r.explanation


# -- not a normalization ------------------------------------------------------------------------

NOT_NORMS = [
    ("2x+1", lambda x: 2 * x + 1),
    ("x", lambda x: x.clone()),
    ("tanh", torch.tanh),
    ("softmax", lambda x: x.softmax(-1)),
    ("matmul", lambda x: x @ torch.randn(x.shape[-1], x.shape[-1], generator=torch.Generator().manual_seed(5))),
    ("square", lambda x: x * x),
    ("mean-only", lambda x: x - x.mean((2, 3), keepdim=True)),
]


@pytest.mark.parametrize("fn", [f for _, f in NOT_NORMS], ids=[n for n, _ in NOT_NORMS])
def test_functions_that_do_not_normalize(fn):
    x = data((6, C, 5, 4))
    r = infer_axes(x, fn(x))
    assert r.variant is None and r.axes == () and r.residual > r.tolerance, r.explanation
    assert r.explanation.startswith("No normalization over any set of axes explains y")
    assert r.weight is None and r.eps is None


def test_l2_normalization_is_rms_norm_with_weight_one_over_sqrt_n():
    x = data((6, C, 5, 8))
    r = infer_axes(x, torch.nn.functional.normalize(x, dim=-1))
    assert (r.variant, r.axes, r.affine, r.bias) == ("rms_norm", (3,), "scalar", None)
    torch.testing.assert_close(r.weight, torch.tensor(8 ** -0.5, dtype=torch.float64), rtol=1e-5, atol=0)
    assert "F.normalize(x, dim=3)" in r.explanation


def test_affine_map_is_named():
    x = data((6, C, 5, 4))
    r = infer_axes(x, 2 * x + 1)
    assert "y ≈ 2·x + 1" in r.explanation and "affine map" in r.explanation


def test_nonstandard_axes_are_reported():
    x = data((6, C, 5, 4))
    mean = x.mean((0, 1), keepdim=True)
    var = x.var((0, 1), keepdim=True, unbiased=False)
    r = infer_axes(x, (x - mean) / (var + 1e-5).sqrt())
    assert r.variant is None and r.axes == (0, 1) and r.residual < RESIDUAL
    assert "dims (0, 1), which is no standard layer" in r.explanation


# -- the report ------------------------------------------------------------------------------------


def test_report_and_candidates():
    x = data((6, C, 5, 4))
    r = infer_axes(x, run(randomized(nn.GroupNorm(3, C)), x))
    assert isinstance(r, AxisReport) and dataclasses.is_dataclass(r)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.axes = (1,)
    assert all(isinstance(c, Candidate) for c in r.candidates)
    res = [c.residual for c in r.candidates]
    assert res == sorted(res)
    # 15 axis subsets and GroupNorm(2) and (3), centered (biased and unbiased) or RMS, and "no normalization"
    assert len(r.candidates) == (15 + 2) * 3 + 1
    top = r.candidates[0]
    assert (top.name, top.num_groups, top.affine) == ("group_norm", 3, "per-channel") and top.residual < RESIDUAL
    assert any(c.axes == () and c.name is None for c in r.candidates)  # the identity hypothesis
    assert len(re.findall(r"[.)] [A-Z]", r.explanation)) <= 2  # at most three sentences


# -- bad inputs ------------------------------------------------------------------------------------

GOOD = torch.randn(4, 3, 5)
BAD_INPUTS = [
    ("list", [[1.0, 2.0]], GOOD),
    ("int", torch.ones(4, 3, 5, dtype=torch.int64), GOOD),
    ("numpy-int", np.ones((4, 3, 5), dtype=np.int32), GOOD),
    ("shape-mismatch", GOOD, torch.randn(4, 3, 6)),
    ("1-d", torch.randn(5), torch.randn(5)),
    ("empty", torch.randn(0, 3), torch.randn(0, 3)),
    ("nan-x", torch.where(GOOD > 1, math.nan, GOOD), GOOD),
    ("inf-y", GOOD, torch.where(GOOD > 1, math.inf, GOOD)),
    ("constant", torch.full((4, 3, 5), 2.0), GOOD),
    ("zeros-y", GOOD, torch.zeros(4, 3, 5)),
    ("too-big", torch.zeros(1).expand(MAX_NUMEL + 1, 1), torch.zeros(1).expand(MAX_NUMEL + 1, 1)),
    ("too-many-dims", torch.randn(2, 2, 2, 2, 2, 2, 2), torch.randn(2, 2, 2, 2, 2, 2, 2)),
]


@pytest.mark.parametrize("x, y", [(b[1], b[2]) for b in BAD_INPUTS], ids=[b[0] for b in BAD_INPUTS])
def test_bad_inputs_raise_one_sentence(x, y):
    with pytest.raises(InputError) as info:
        infer_axes(x, y)
    assert_one_sentence(info.value)


def test_constant_x_message():
    with pytest.raises(InputError, match="x is constant, so no normalization can be told apart"):
        infer_axes(torch.ones(4, 3), torch.randn(4, 3))
