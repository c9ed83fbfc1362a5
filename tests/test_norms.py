"""The norm variants against torch's modules and an independent float64 formula.

Every case is checked two ways: (a) the matching ``torch.nn`` module with the
same affine parameters and buffers copied in, (b) a textbook formula written
here in numpy float64 (not vnviz's own reference). Tables of shapes and of bad
inputs live at module level, einops-style.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from precision_support import group_tolerance, max_error
from sentences import assert_one_sentence
from torch import nn

import vnviz
from vnviz import InputError
from vnviz.analysis.rounding import tolerance

NORMS = tuple(v.name for v in vnviz.variants.norm_variants(named=True))  # the registry's (ClusterNorm: test_cluster)
C = 12  # channels in the main tables: every GroupNorm divisor 1, 2, 3, 4, 6, 12

# random shapes (N, C), (N, C, L), (N, C, H, W), (N, C, D, H, W) and edge shapes
SHAPES = [
    (8, C),
    (4, C, 7),
    (3, C, 5, 4),
    (2, C, 3, 4, 5),
    (1, C, 5),  # N = 1
    (5, 1, 6),  # C = 1
    (6, 1),  # C = 1, no spatial dims
    (3, C, 1),  # one spatial element
    (4, C, 1, 1),  # one spatial element, 4-d
]
DTYPES = [torch.float32, torch.float64]
HALF_DTYPES = [torch.float16, torch.bfloat16]  # computed by torch's kernels with float32 sums
AFFINE_FORMS = ["none", "tensor", "number"]
EPS_VALUES = [1e-5, 1e-3, 0.1, 0.0]
GN_DIVISORS = [1, 2, 3, 4, 6, 12]
DEFAULT_EPS = {"layer_norm_2d": 1e-6}  # eps when none is given, where it is not torch's 1e-5 (ConvNeXt, SAM)


# -- helpers -------------------------------------------------------------------



def raises_input_error(fn, *args, **kwargs) -> InputError:
    """Call fn; it must raise InputError (one sentence) and nothing else."""
    try:
        fn(*args, **kwargs)
    except Exception as err:  # noqa: BLE001 - we check the type ourselves
        assert_one_sentence(err)
        return err
    raise AssertionError("no exception raised")


def valid_for(name: str, shape: tuple[int, ...], num_groups: int | None = None, training: bool = True) -> bool:
    """Whether the shape is a possible input for the variant (by torch's rules)."""
    n, c = shape[:2]
    spatial = math.prod(shape[2:])
    if name == "batch_norm":
        return not training or n * spatial > 1
    if name == "instance_norm":
        return len(shape) >= 3 and spatial > 1
    if name == "group_norm":
        g = num_groups if num_groups is not None else default_groups(c)
        return c % g == 0 and (c // g) * spatial > 1
    return True


def default_groups(c: int) -> int:
    return next(d for d in range(2, c + 1) if c % d == 0) if c > 1 else 1


def affine_shape(name: str, shape: tuple[int, ...], normalized_shape=None) -> tuple[int, ...]:
    if name in ("layer_norm", "rms_norm"):
        if normalized_shape is None:
            return tuple(shape[1:])
        return (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    return (shape[1],)


def make_affine(name: str, shape, form: str, dtype, normalized_shape=None) -> dict:
    """weight/bias parameters in one of the forms: none, tensor (random), number (broadcast)."""
    has_bias = name != "rms_norm"
    if form == "none":
        return {}
    if form == "number":
        return {"weight": 1.5, "bias": -0.25} if has_bias else {"weight": 1.5}
    ash = affine_shape(name, shape, normalized_shape)
    out = {"weight": torch.rand(ash, dtype=dtype) + 0.5}
    if has_bias:
        out["bias"] = torch.randn(ash, dtype=dtype)
    return out


def full_affine(value, ash, dtype) -> torch.Tensor | None:
    """weight/bias as a full tensor (numbers broadcast), or None."""
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        return value.to(dtype)
    return torch.full(ash, float(value), dtype=dtype)


def np_standardize(a: np.ndarray, axes: tuple[int, ...], eps: float) -> np.ndarray:
    mean = a.mean(axis=axes, keepdims=True)
    var = ((a - mean) ** 2).mean(axis=axes, keepdims=True)  # biased
    return (a - mean) / np.sqrt(var + eps)


def textbook(name: str, x: torch.Tensor, params: dict) -> np.ndarray:
    """The variant's output by the textbook formula, in numpy float64 (training statistics)."""
    a = x.detach().double().numpy()
    shape = a.shape
    nd = a.ndim
    ns = params.get("normalized_shape")
    if name == "rms_norm":  # eps=None: the machine epsilon of the dtype torch computes in (float32 for half input)
        eps = params.get("eps")
        eps = torch.finfo(torch.float64 if x.dtype == torch.float64 else torch.float32).eps if eps is None else eps
    else:
        eps = params.get("eps", DEFAULT_EPS.get(name, 1e-5))
    if name == "batch_norm":
        y = np_standardize(a, (0,) + tuple(range(2, nd)), eps)
    elif name == "instance_norm":
        y = np_standardize(a, tuple(range(2, nd)), eps)
    elif name == "group_norm":
        g = params.get("num_groups") or default_groups(shape[1])
        y = np_standardize(a.reshape(shape[0], g, -1), (2,), eps).reshape(shape)
    elif name == "layer_norm":
        k = nd - 1 if ns is None else len(affine_shape(name, shape, ns))
        y = np_standardize(a, tuple(range(nd - k, nd)), eps)
    elif name == "rms_norm":
        k = nd - 1 if ns is None else len(affine_shape(name, shape, ns))
        ms = (a**2).mean(axis=tuple(range(nd - k, nd)), keepdims=True)
        y = a / np.sqrt(ms + eps)
    elif name == "layer_norm_2d":  # the channels of each position
        y = np_standardize(a, (1,), eps)
    else:
        raise AssertionError(name)
    ash = affine_shape(name, shape, ns)
    w = full_affine(params.get("weight"), ash, torch.float64)
    b = full_affine(params.get("bias"), ash, torch.float64)
    if name in ("layer_norm", "rms_norm"):
        view = ash
    else:
        view = (1, shape[1]) + (1,) * (nd - 2)
    if w is not None:
        y = y * w.numpy().reshape(view)
    if b is not None:
        y = y + b.numpy().reshape(view)
    return y


class ChannelsFirst(nn.Module):
    """nn.LayerNorm(C) fed x.movedim(1, -1), its output moved back: the channels-first LayerNorm (ConvNeXt, SAM)."""

    def __init__(self, inner: nn.LayerNorm):
        super().__init__()
        self.inner = inner
        self.weight, self.bias = inner.weight, inner.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.movedim(1, -1)).movedim(-1, 1)


BN_CLASSES = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}
IN_CLASSES = {3: nn.InstanceNorm1d, 4: nn.InstanceNorm2d, 5: nn.InstanceNorm3d}


def torch_module(name: str, x: torch.Tensor, params: dict) -> nn.Module:
    """The torch module for a training-mode call without running statistics, affine copied in."""
    c = x.shape[1]
    ns = params.get("normalized_shape")
    ash = affine_shape(name, tuple(x.shape), ns)
    w = full_affine(params.get("weight"), ash, x.dtype)
    b = full_affine(params.get("bias"), ash, x.dtype)
    affine = w is not None or b is not None
    eps = params.get("eps", DEFAULT_EPS.get(name, 1e-5))
    if name == "batch_norm":
        mod = BN_CLASSES[x.ndim](c, eps=eps, affine=affine, track_running_stats=False)
    elif name == "instance_norm":
        mod = IN_CLASSES[x.ndim](c, eps=eps, affine=affine)
    elif name == "group_norm":
        mod = nn.GroupNorm(params.get("num_groups") or default_groups(c), c, eps=eps, affine=affine)
    elif name == "layer_norm":
        mod = nn.LayerNorm(ash, eps=eps, elementwise_affine=affine)
    elif name == "rms_norm":
        mod = nn.RMSNorm(ash, eps=params.get("eps"), elementwise_affine=affine)
    elif name == "layer_norm_2d":
        mod = ChannelsFirst(nn.LayerNorm(c, eps=eps, elementwise_affine=affine, dtype=x.dtype))
    else:
        raise AssertionError(name)
    mod = mod.to(x.dtype)
    with torch.no_grad():
        if affine:
            mod.weight.copy_(w if w is not None else torch.ones(ash))
            if getattr(mod, "bias", None) is not None:
                mod.bias.copy_(b if b is not None else torch.zeros(ash))
    return mod.train()


def check_against_references(name: str, x: torch.Tensor, params: dict) -> torch.Tensor:
    y = vnviz.apply(name, x, **params)
    assert isinstance(y, torch.Tensor)
    assert y.shape == x.shape and y.dtype == x.dtype and y.device == x.device
    with torch.no_grad():
        y_mod = torch_module(name, x, params)(x)
    ref = torch.from_numpy(textbook(name, x, params))
    if x.dtype in HALF_DTYPES:
        assert torch.equal(y, y_mod)  # the same CPU kernel on the same dtype: bit for bit
        # against float64 maths: what the dtype's rounding allows (rounding.tolerance), relative to max(1, |ref|)
        err, scale = max_error(y, ref)
        assert err <= group_tolerance(name, x, params) * scale, err
        return y
    torch.testing.assert_close(y, y_mod)
    tol = 1e-9 if x.dtype == torch.float64 else 2e-4
    torch.testing.assert_close(y.double(), ref, rtol=tol, atol=tol)
    return y


def cases():
    for name in NORMS:
        for shape in SHAPES:
            if not valid_for(name, shape):
                continue
            for dtype in DTYPES + HALF_DTYPES:
                for form in AFFINE_FORMS:
                    yield pytest.param(name, shape, dtype, form, id=f"{name}-{'x'.join(map(str, shape))}-{str(dtype)[6:]}-{form}")


# -- every variant against torch and the textbook --------------------------------


@pytest.mark.parametrize("name, shape, dtype, form", list(cases()))
def test_variant_matches_torch_and_textbook(name, shape, dtype, form):
    x = torch.randn(shape, dtype=dtype) * 2 + 0.5
    params = make_affine(name, shape, form, dtype)
    check_against_references(name, x, params)


@pytest.mark.parametrize("eps", EPS_VALUES)
@pytest.mark.parametrize("name", NORMS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_eps_values(name, eps, dtype):
    if name == "batch_norm" and eps == 0:
        pytest.skip("torch forbids eps=0 for BatchNorm in training: see test_batch_norm_training_eps_zero_is_input_error")
    x = torch.randn(4, 6, 5, dtype=dtype)
    params = {"eps": eps, **make_affine(name, x.shape, "tensor", dtype)}
    if name == "group_norm":
        params["num_groups"] = 3
    check_against_references(name, x, params)


@pytest.mark.parametrize("eps", [0.1, 1.0])
def test_eps_changes_the_result_as_the_formula_says(eps):
    """A large eps visibly shrinks the output: var(y) = var / (var + eps)."""
    x = torch.randn(16, 3, 10, dtype=torch.float64) * 0.5
    y = vnviz.apply("batch_norm", x, eps=eps)
    var = x.var(dim=(0, 2), correction=0)
    torch.testing.assert_close(y.var(dim=(0, 2), correction=0), var / (var + eps))


@pytest.mark.parametrize("g", GN_DIVISORS)
@pytest.mark.parametrize("shape", [(3, C, 5), (2, C, 3, 4)])
def test_group_norm_every_divisor(g, shape):
    x = torch.randn(shape) * 3 - 1
    params = {"num_groups": g, **make_affine("group_norm", shape, "tensor", torch.float32)}
    check_against_references("group_norm", x, params)


def test_layer_norm_2d_is_the_channels_first_layer_norm_of_convnext_and_sam():
    """ConvNeXt's LayerNorm(data_format="channels_first") written out as there, and F.layer_norm on x.movedim(1, -1)."""
    x = torch.randn(4, 6, 5, 3, dtype=torch.float64) * 3 + 1
    w, b = torch.rand(6, dtype=torch.float64) + 0.5, torch.randn(6, dtype=torch.float64)
    y = vnviz.apply("layer_norm_2d", x, weight=w, bias=b)
    u = x.mean(1, keepdim=True)
    s = (x - u).pow(2).mean(1, keepdim=True)
    torch.testing.assert_close(y, w[:, None, None] * (x - u) / torch.sqrt(s + 1e-6) + b[:, None, None])
    torch.testing.assert_close(y, torch.nn.functional.layer_norm(x.movedim(1, -1), (6,), w, b, 1e-6).movedim(-1, 1))
    assert y.is_contiguous()
    small = x * 1e-3  # variances near eps: the default eps is 1e-6, not torch's 1e-5
    torch.testing.assert_close(vnviz.apply("layer_norm_2d", small), vnviz.apply("layer_norm_2d", small, eps=1e-6))
    assert not torch.allclose(vnviz.apply("layer_norm_2d", small), vnviz.apply("layer_norm_2d", small, eps=1e-5))
    # on (N, C) it is LayerNorm(C)
    flat = x[:, :, 0, 0]
    torch.testing.assert_close(vnviz.apply("layer_norm_2d", flat, eps=1e-5), vnviz.apply("layer_norm", flat))


def test_group_norm_default_groups_is_smallest_divisor_above_one():
    for c, g in [(12, 2), (9, 3), (7, 7), (1, 1)]:
        x = torch.randn(3, c, 4)
        y = vnviz.apply("group_norm", x)
        torch.testing.assert_close(y, nn.GroupNorm(g, c, affine=False)(x))


def test_affine_number_is_broadcast():
    x = torch.randn(4, 6, 5)
    a = vnviz.apply("batch_norm", x, weight=2.0, bias=-1.0)
    b = vnviz.apply("batch_norm", x, weight=torch.full((6,), 2.0), bias=torch.full((6,), -1.0))
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, 2.0 * vnviz.apply("batch_norm", x) - 1.0)
    ln = vnviz.apply("layer_norm", x, normalized_shape=(5,), weight=3, bias=1)
    torch.testing.assert_close(ln, 3 * vnviz.apply("layer_norm", x, normalized_shape=(5,)) + 1)


def test_affine_only_weight_or_only_bias():
    x = torch.randn(4, 6, 5)
    w = torch.rand(6) + 0.5
    b = torch.randn(6)
    plain = vnviz.apply("instance_norm", x)
    torch.testing.assert_close(vnviz.apply("instance_norm", x, weight=w), plain * w[:, None])
    torch.testing.assert_close(vnviz.apply("instance_norm", x, bias=b), plain + b[:, None])


def test_numpy_input_is_accepted():
    a = np.random.default_rng(0).standard_normal((4, 3, 5))
    y = vnviz.apply("layer_norm", a)
    torch.testing.assert_close(y, nn.LayerNorm((3, 5), elementwise_affine=False).double()(torch.from_numpy(a)))


def test_numpy_input_with_negative_strides_is_accepted():
    """A reversed numpy view is an ordinary float array: it should work (or at worst raise InputError)."""
    a = np.random.default_rng(0).standard_normal((4, 3, 5))[::-1]
    y = vnviz.apply("batch_norm", a)
    torch.testing.assert_close(y, vnviz.apply("batch_norm", torch.from_numpy(a.copy())))


def test_result_keeps_autograd_and_gradients_match_torch():
    x = torch.randn(4, 6, 5, dtype=torch.float64, requires_grad=True)
    w = (torch.rand(6, dtype=torch.float64) + 0.5).requires_grad_()
    vnviz.apply("group_norm", x, num_groups=3, weight=w).pow(3).sum().backward()
    x2 = x.detach().clone().requires_grad_()
    mod = nn.GroupNorm(3, 6).double()
    with torch.no_grad():
        mod.weight.copy_(w)
    mod(x2).pow(3).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad)
    torch.testing.assert_close(w.grad, mod.weight.grad)


# -- BatchNorm: running statistics, momentum, eval ---------------------------------


def bn_reduce_dims(ndim: int) -> tuple[int, ...]:
    return (0,) + tuple(range(2, ndim))


@pytest.mark.parametrize("momentum", [0.1, 0.35, 0.0, 1.0])
@pytest.mark.parametrize("shape", [(8, 5), (6, 5, 7), (4, 5, 3, 3), (3, 5, 2, 3, 2)])
def test_batch_norm_running_stats_update_in_place(shape, momentum):
    c = shape[1]
    x = torch.randn(shape) * 2 + 1
    rm0, rv0 = torch.randn(c), torch.rand(c) + 0.5
    rm, rv = rm0.clone(), rv0.clone()
    w, b = torch.rand(c) + 0.5, torch.randn(c)
    y = vnviz.apply("batch_norm", x, running_mean=rm, running_var=rv, momentum=momentum, weight=w, bias=b)
    # the textbook update: unbiased batch variance, (1 - m) * running + m * batch
    dims = bn_reduce_dims(x.ndim)
    xd = x.double()
    n = x.numel() // c
    mean = xd.mean(dims)
    var_unbiased = xd.var(dims, correction=0) * n / (n - 1)
    torch.testing.assert_close(rm.double(), (1 - momentum) * rm0.double() + momentum * mean, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(rv.double(), (1 - momentum) * rv0.double() + momentum * var_unbiased, rtol=1e-5, atol=1e-5)
    # and the torch module, buffer by buffer
    mod = BN_CLASSES[x.ndim](c, momentum=momentum)
    with torch.no_grad():
        mod.running_mean.copy_(rm0)
        mod.running_var.copy_(rv0)
        mod.weight.copy_(w)
        mod.bias.copy_(b)
        y_mod = mod.train()(x)
    torch.testing.assert_close(y, y_mod)
    torch.testing.assert_close(rm, mod.running_mean)
    torch.testing.assert_close(rv, mod.running_var)
    # the output itself used the batch statistics with the biased variance
    ref = textbook("batch_norm", x, {"weight": w, "bias": b})
    torch.testing.assert_close(y.double(), torch.from_numpy(ref), rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("shape", [(4, 3, 5, 5), (2, 3, 6, 4)])
def test_batch_norm_momentum_none_is_cumulative_average(shape):
    c = shape[1]
    rm, rv = torch.zeros(c), torch.ones(c)
    nbt = torch.tensor(0, dtype=torch.long)
    mod = nn.BatchNorm2d(c, momentum=None).train()
    batch_means, batch_vars = [], []
    for k in range(3):
        x = torch.randn(shape) * (k + 1) + k
        y = vnviz.apply("batch_norm", x, running_mean=rm, running_var=rv, num_batches_tracked=nbt, momentum=None)
        with torch.no_grad():
            y_mod = mod(x)
        torch.testing.assert_close(y, y_mod)
        torch.testing.assert_close(rm, mod.running_mean)
        torch.testing.assert_close(rv, mod.running_var)
        assert int(nbt) == int(mod.num_batches_tracked) == k + 1
        batch_means.append(x.double().mean((0, 2, 3)))
        batch_vars.append(x.double().var((0, 2, 3), correction=1))
    # cumulative average of the three batches (the initial buffers are forgotten at k=1)
    torch.testing.assert_close(rm.double(), torch.stack(batch_means).mean(0), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(rv.double(), torch.stack(batch_vars).mean(0), rtol=1e-5, atol=1e-5)


def test_batch_norm_counter_counts_with_a_momentum_too_and_not_in_eval():
    x = torch.randn(4, 3, 5)
    rm, rv, nbt = torch.zeros(3), torch.ones(3), torch.tensor(0)
    vnviz.apply("batch_norm", x, running_mean=rm, running_var=rv, num_batches_tracked=nbt, momentum=0.1)
    assert int(nbt) == 1
    vnviz.apply("batch_norm", x, running_mean=rm, running_var=rv, num_batches_tracked=nbt, training=False)
    assert int(nbt) == 1


def test_batch_norm_eval_with_momentum_none_and_a_zero_counter():
    """Eval mode never updates buffers; torch ignores the counter there (no division by it)."""
    x = torch.randn(4, 3, 5)
    rm, rv = torch.randn(3), torch.rand(3) + 0.5
    mod = nn.BatchNorm1d(3, momentum=None, affine=False)
    with torch.no_grad():
        mod.running_mean.copy_(rm)
        mod.running_var.copy_(rv)
        y_mod = mod.eval()(x)
    y = vnviz.apply("batch_norm", x, training=False, momentum=None, running_mean=rm, running_var=rv,
                    num_batches_tracked=torch.tensor(0))
    torch.testing.assert_close(y, y_mod)


@pytest.mark.parametrize("shape", [(8, 5), (6, 5, 7), (4, 5, 3, 3), (1, 5), (1, 5, 1)])
def test_batch_norm_eval_uses_running_stats(shape):
    c = shape[1]
    x = torch.randn(shape)
    rm, rv = torch.randn(c), torch.rand(c) + 0.5
    rm0, rv0 = rm.clone(), rv.clone()
    w, b = torch.rand(c) + 0.5, torch.randn(c)
    y = vnviz.apply("batch_norm", x, training=False, running_mean=rm, running_var=rv, weight=w, bias=b, eps=1e-3)
    view = (1, c) + (1,) * (x.ndim - 2)
    expected = (x.double() - rm.double().reshape(view)) / torch.sqrt(rv.double().reshape(view) + 1e-3)
    expected = expected * w.double().reshape(view) + b.double().reshape(view)
    torch.testing.assert_close(y.double(), expected, rtol=1e-5, atol=1e-5)
    assert torch.equal(rm, rm0) and torch.equal(rv, rv0)  # eval never updates
    mod = BN_CLASSES[x.ndim](c, eps=1e-3)
    with torch.no_grad():
        mod.running_mean.copy_(rm)
        mod.running_var.copy_(rv)
        mod.weight.copy_(w)
        mod.bias.copy_(b)
        torch.testing.assert_close(y, mod.eval()(x))


def test_batch_norm_eval_eps_zero_matches_torch():
    x = torch.randn(4, 3, 5)
    rm, rv = torch.randn(3), torch.rand(3) + 0.5
    y = vnviz.apply("batch_norm", x, training=False, running_mean=rm, running_var=rv, eps=0.0)
    torch.testing.assert_close(y, (x - rm[:, None]) / rv[:, None].sqrt())


@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5, 5), (1, 4)])
def test_batch_norm_eval_without_running_stats_is_fresh_module(shape):
    x = torch.randn(shape)
    y = vnviz.apply("batch_norm", x, training=False, eps=1e-3)
    torch.testing.assert_close(y, x / math.sqrt(1 + 1e-3))
    torch.testing.assert_close(y, BN_CLASSES[len(shape)](shape[1], eps=1e-3).eval()(x))


def test_batch_norm_training_needs_more_than_one_value_per_channel():
    err = raises_input_error(vnviz.apply, "batch_norm", torch.randn(1, 5))
    assert "one value per channel" in str(err)
    x = torch.randn(1, 5, 4)  # N = 1 but 4 values per channel: fine
    check_against_references("batch_norm", x, {})


def test_batch_norm_training_eps_zero_is_input_error():
    """torch refuses eps=0 in training (ValueError without a period); vnviz must say so as InputError."""
    raises_input_error(vnviz.apply, "batch_norm", torch.randn(4, 3, 5), eps=0.0)


def test_failed_call_leaves_running_buffers_untouched():
    """A call that raises must not have updated the running statistics or the counter."""
    x = torch.randn(4, 3, 5)
    rm, rv, nbt = torch.zeros(3), torch.ones(3), torch.tensor(0)
    with pytest.raises(InputError):
        vnviz.apply("batch_norm", x, eps=0.0, running_mean=rm, running_var=rv, num_batches_tracked=nbt)
    assert torch.equal(rm, torch.zeros(3)) and torch.equal(rv, torch.ones(3)) and int(nbt) == 0


# -- InstanceNorm ------------------------------------------------------------------


def test_instance_norm_defaults_no_affine_no_running_stats():
    v = vnviz.VARIANTS["instance_norm"]
    defaults = {p.name: p.default for p in v.params}
    assert defaults["weight"] is None and defaults["bias"] is None
    assert defaults["running_mean"] is None and defaults["running_var"] is None
    x = torch.randn(3, 4, 6, 6) * 5 + 2
    y = vnviz.apply("instance_norm", x)
    torch.testing.assert_close(y, nn.InstanceNorm2d(4)(x))
    torch.testing.assert_close(y.double(), torch.from_numpy(textbook("instance_norm", x, {})), rtol=2e-4, atol=2e-4)
    # eval without running stats still uses the instance statistics, as torch does
    torch.testing.assert_close(vnviz.apply("instance_norm", x, training=False), nn.InstanceNorm2d(4).eval()(x))


@pytest.mark.parametrize("momentum", [0.1, 0.4])
@pytest.mark.parametrize("shape", [(3, 4, 6), (3, 4, 5, 5), (2, 4, 2, 3, 3)])
def test_instance_norm_running_stats_like_torch(shape, momentum):
    c = shape[1]
    x = torch.randn(shape) * 2 + 1
    rm0, rv0 = torch.randn(c), torch.rand(c) + 0.5
    rm, rv = rm0.clone(), rv0.clone()
    mod = IN_CLASSES[len(shape)](c, momentum=momentum, track_running_stats=True)
    with torch.no_grad():
        mod.running_mean.copy_(rm0)
        mod.running_var.copy_(rv0)
        y_mod = mod.train()(x)
    y = vnviz.apply("instance_norm", x, running_mean=rm, running_var=rv, momentum=momentum)
    torch.testing.assert_close(y, y_mod)
    torch.testing.assert_close(rm, mod.running_mean)
    torch.testing.assert_close(rv, mod.running_var)
    # textbook: the average over samples of the per-instance mean / unbiased variance
    dims = tuple(range(2, len(shape)))
    xd = x.double()
    torch.testing.assert_close(rm.double(), (1 - momentum) * rm0.double() + momentum * xd.mean(dims).mean(0),
                               rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(rv.double(), (1 - momentum) * rv0.double() + momentum * xd.var(dims, correction=1).mean(0),
                               rtol=1e-5, atol=1e-5)
    # eval uses them
    x2 = torch.randn(shape)
    y2 = vnviz.apply("instance_norm", x2, running_mean=rm, running_var=rv, training=False)
    with torch.no_grad():
        torch.testing.assert_close(y2, mod.eval()(x2))
    view = (1, c) + (1,) * (len(shape) - 2)
    torch.testing.assert_close(y2, (x2 - rm.reshape(view)) / torch.sqrt(rv.reshape(view) + 1e-5))


def test_instance_norm_momentum_none_like_torch():
    """nn.InstanceNorm*(momentum=None, track_running_stats=True) passes momentum 0.0: buffers stay put."""
    x = torch.randn(3, 4, 6)
    rm0, rv0 = torch.randn(4), torch.rand(4) + 0.5
    rm, rv = rm0.clone(), rv0.clone()
    mod = nn.InstanceNorm1d(4, momentum=None, track_running_stats=True)
    with torch.no_grad():
        mod.running_mean.copy_(rm0)
        mod.running_var.copy_(rv0)
        mod.train()(x)
    vnviz.apply("instance_norm", x, running_mean=rm, running_var=rv, momentum=None)
    torch.testing.assert_close(rm, mod.running_mean)
    torch.testing.assert_close(rv, mod.running_var)


def test_instance_norm_eval_with_running_stats_allows_one_position():
    x = torch.randn(4, 3, 1)
    rm, rv = torch.randn(3), torch.rand(3) + 0.5
    y = vnviz.apply("instance_norm", x, running_mean=rm, running_var=rv, training=False)
    torch.testing.assert_close(y, (x - rm[:, None]) / torch.sqrt(rv[:, None] + 1e-5))


# -- LayerNorm and RMSNorm ---------------------------------------------------------


NS_FORMS = [6, (6,), [5, 6], (4, 5, 6), torch.Size([5, 6]), (3, 4, 5, 6)]


@pytest.mark.parametrize("ns", NS_FORMS, ids=str)
@pytest.mark.parametrize("name", ["layer_norm", "rms_norm"])
def test_normalized_shape_forms(name, ns):
    x = torch.randn(3, 4, 5, 6, dtype=torch.float64) + 0.3
    params = {"normalized_shape": ns, **make_affine(name, x.shape, "tensor", torch.float64, normalized_shape=ns)}
    check_against_references(name, x, params)
    # an int and a 1-tuple, a list and a tuple are the same thing
    tup = (ns,) if isinstance(ns, int) else tuple(ns)
    torch.testing.assert_close(vnviz.apply(name, x, **{**params, "normalized_shape": tup}), vnviz.apply(name, x, **params))


@pytest.mark.parametrize("ns", [(4, 5), 5, (3,), (6, 5), (2, 3, 4, 5, 6), 7], ids=str)
@pytest.mark.parametrize("name", ["layer_norm", "rms_norm"])
def test_normalized_shape_not_trailing_is_input_error(name, ns):
    err = raises_input_error(vnviz.apply, name, torch.randn(3, 4, 5, 6), normalized_shape=ns)
    assert "normalized_shape" in str(err)


def test_layer_norm_default_is_every_dim_after_the_first():
    x = torch.randn(3, 4, 5)
    torch.testing.assert_close(vnviz.apply("layer_norm", x), nn.LayerNorm((4, 5), elementwise_affine=False)(x))


@pytest.mark.parametrize("dtype", DTYPES)
def test_rms_norm_eps_none_is_machine_epsilon(dtype):
    x = torch.randn(4, 8, dtype=dtype) * 1e-4 if dtype == torch.float32 else torch.randn(4, 8, dtype=dtype) * 1e-8
    y = vnviz.apply("rms_norm", x)
    torch.testing.assert_close(y, nn.RMSNorm(8, eps=None, elementwise_affine=False).to(dtype)(x))
    eps = torch.finfo(dtype).eps
    xd = x.double()
    expected = xd / torch.sqrt(xd.pow(2).mean(-1, keepdim=True) + eps)
    torch.testing.assert_close(y.double(), expected, rtol=1e-5, atol=1e-5)
    # eps really was used: it shrinks the output visibly for such small data
    assert float(y.double().pow(2).mean()) < 0.99


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_rms_norm_eps_none_in_half_is_float32_epsilon(dtype):
    """eps=None is the machine epsilon of the dtype torch computes in: float32's for float16/bfloat16 input."""
    x = (torch.randn(4, 64, dtype=torch.float64) * 3e-4).to(dtype)  # mean square ~1e-7: eps shows
    y = vnviz.apply("rms_norm", x)
    assert torch.equal(y, nn.RMSNorm(64, eps=None, elementwise_affine=False).to(dtype)(x))
    assert torch.equal(y, F.rms_norm(x, (64,)))
    xd = x.double()
    ms = xd.pow(2).mean(-1, keepdim=True)
    for eps, close in ((torch.finfo(torch.float32).eps, True), (torch.finfo(dtype).eps, False)):
        err = float((y.double() - xd / torch.sqrt(ms + eps)).abs().max())
        assert (err <= tolerance(dtype, 64)) == close, (eps, err)


def test_rms_norm_does_not_remove_the_mean_and_has_no_bias():
    x = torch.randn(4, 8) + 3
    y = vnviz.apply("rms_norm", x, eps=0.0)
    assert float(y.mean()) > 0.5
    torch.testing.assert_close(y.pow(2).mean(-1), torch.ones(4))
    raises_input_error(vnviz.apply, "rms_norm", x, bias=0.0)


# -- known equivalences --------------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 6, 7), (2, 6, 4, 5)])
def test_group_norm_with_c_groups_is_instance_norm(shape):
    x = torch.randn(shape) * 2 + 1
    w, b = torch.rand(6) + 0.5, torch.randn(6)
    gn = vnviz.apply("group_norm", x, num_groups=6, weight=w, bias=b)
    inn = vnviz.apply("instance_norm", x, weight=w, bias=b)
    torch.testing.assert_close(gn, inn, rtol=1e-5, atol=1e-5)
    mod = IN_CLASSES[len(shape)](6, affine=True)
    with torch.no_grad():
        mod.weight.copy_(w)
        mod.bias.copy_(b)
        torch.testing.assert_close(gn, mod(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(3, 6), (3, 6, 7), (2, 6, 4, 5)])
def test_group_norm_with_one_group_is_layer_norm(shape):
    x = torch.randn(shape) * 2 + 1
    torch.testing.assert_close(vnviz.apply("group_norm", x, num_groups=1), vnviz.apply("layer_norm", x),
                               rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(vnviz.apply("group_norm", x, num_groups=1),
                               vnviz.apply("layer_norm", x, normalized_shape=shape[1:]), rtol=1e-5, atol=1e-5)


def test_batch_norm_on_a_matrix_is_column_standardization():
    x = torch.randn(50, 7, dtype=torch.float64) * torch.arange(1, 8) + torch.arange(7)
    y = vnviz.apply("batch_norm", x, eps=1e-3)
    expected = (x - x.mean(0)) / torch.sqrt(x.var(0, correction=0) + 1e-3)
    torch.testing.assert_close(y, expected)


def test_layer_norm_over_hw_is_instance_norm():
    x = torch.randn(3, 4, 5, 6) * 3 - 2
    torch.testing.assert_close(vnviz.apply("layer_norm", x, normalized_shape=(5, 6)), vnviz.apply("instance_norm", x),
                               rtol=1e-5, atol=1e-5)


def test_batch_norm_is_instance_norm_of_the_transposed_batch():
    """BN over (N, C, L) equals IN over (1, C, N*L): both pool every sample and position of a channel."""
    x = torch.randn(4, 3, 5)
    flat = x.transpose(0, 1).reshape(1, 3, -1)
    expected = vnviz.apply("instance_norm", flat).reshape(3, 4, 5).transpose(0, 1)
    torch.testing.assert_close(vnviz.apply("batch_norm", x), expected, rtol=1e-5, atol=1e-5)


# -- stat_groups: the map is the truth ------------------------------------------------

GROUP_CASES = [
    # (name, shape, params, expected number of groups)
    ("batch_norm", (4, 6, 5), {}, 6),
    ("batch_norm", (4, 6), {}, 6),
    ("batch_norm", (2, 6, 3, 4), {}, 6),
    ("layer_norm", (4, 6, 5), {}, 4),
    ("layer_norm", (4, 6, 5), {"normalized_shape": (5,)}, 24),
    ("layer_norm", (4, 6, 5), {"normalized_shape": 5}, 24),
    ("layer_norm", (4, 6, 5), {"normalized_shape": (4, 6, 5)}, 1),
    ("instance_norm", (4, 6, 5), {}, 24),
    ("instance_norm", (2, 6, 3, 4), {}, 12),
    ("group_norm", (4, 6, 5), {"num_groups": 3}, 12),
    ("group_norm", (4, 6, 5), {}, 8),
    ("group_norm", (4, 6, 5), {"num_groups": 1}, 4),
    ("group_norm", (4, 6, 5), {"num_groups": 6}, 24),
    ("group_norm", (2, 12, 2, 2), {"num_groups": 4}, 8),
    ("rms_norm", (4, 6, 5), {}, 4),
    ("rms_norm", (4, 6, 5), {"normalized_shape": (6, 5)}, 4),
    ("rms_norm", (4, 6, 5), {"normalized_shape": (5,)}, 24),
]


@pytest.mark.parametrize("name, shape, params, g", GROUP_CASES, ids=lambda v: str(v))
def test_stat_groups_shape_ids_and_count(name, shape, params, g):
    groups = vnviz.stat_groups(name, shape, **params)
    assert groups.dtype == torch.int64
    assert tuple(groups.shape) == shape
    ids, counts = torch.unique(groups, return_counts=True)
    assert torch.equal(ids, torch.arange(g))
    assert bool((counts == math.prod(shape) // g).all())  # equal-size groups
    # ids are numbered in the row-major order the groups are met
    flat = groups.reshape(-1)
    first = torch.tensor([int((flat == i).nonzero()[0]) for i in range(g)])
    assert bool((first[1:] > first[:-1]).all())
    assert vnviz.stat_groups(name, torch.Size(shape), **params).equal(groups)


@pytest.mark.parametrize("name, shape, params, g", GROUP_CASES, ids=lambda v: str(v))
def test_stat_groups_is_what_torch_normalizes(name, shape, params, g):
    """Each group of the map, in the torch module's output, has mean 0 and var = var / (var + eps)."""
    eps = 0.1
    groups = vnviz.stat_groups(name, shape, **params)
    x = torch.randn(shape, dtype=torch.float64) * 2 + 1
    p = {**params, "eps": eps}
    with torch.no_grad():
        y = torch_module(name, x, p)(x)
    for i in range(g):
        mask = groups == i
        xi, yi = x[mask], y[mask]
        if name == "rms_norm":
            ms = xi.pow(2).mean()
            torch.testing.assert_close(yi.pow(2).mean(), ms / (ms + eps))
        else:
            var = xi.var(correction=0)
            torch.testing.assert_close(yi.mean(), torch.zeros((), dtype=torch.float64), atol=1e-9, rtol=0)
            torch.testing.assert_close(yi.var(correction=0), var / (var + eps))


def test_stat_groups_batch_norm_ids_are_channels():
    groups = vnviz.stat_groups("batch_norm", (3, 4, 2, 2))
    for c in range(4):
        assert bool((groups[:, c] == c).all())


def test_stat_groups_group_norm_channels_are_consecutive():
    groups = vnviz.stat_groups("group_norm", (2, 6, 3), num_groups=3)
    assert groups[0, :, 0].tolist() == [0, 0, 1, 1, 2, 2]
    assert groups[1, :, 0].tolist() == [3, 3, 4, 4, 5, 5]


STAT_GROUP_ERRORS = [
    ("group_norm", (4, 6, 5), {"num_groups": 4}),
    ("group_norm", (4, 6, 5), {"num_groups": 0}),
    ("instance_norm", (4, 6), {}),
    ("batch_norm", (6,), {}),
    ("batch_norm", (4, 0, 5), {}),
    ("batch_norm", (), {}),
    ("layer_norm", (4, 6, 5), {"normalized_shape": (6,)}),
    ("no_such_norm", (4, 6, 5), {}),
    ("batch_norm", (4, 6, 5), {"num_groups": 2}),
    ("batch_norm", "4,6,5", {}),
]


@pytest.mark.parametrize("name, shape, params", STAT_GROUP_ERRORS, ids=lambda v: str(v))
def test_stat_groups_bad_input_is_input_error(name, shape, params):
    raises_input_error(vnviz.stat_groups, name, shape, **params)


# -- every impossible input raises InputError, one sentence ----------------------------


def _x(*shape, dtype=torch.float32):
    return lambda: torch.randn(shape, dtype=dtype)


def _special(value, shape=(4, 3, 5)):
    def make():
        x = torch.randn(shape)
        x[1, 2, 3] = value
        return x
    return make


def _constant_group(name):
    def make():
        x = torch.randn(4, 6, 5)
        if name == "batch_norm":
            x[:, 2] = 3.0  # one constant channel
        elif name == "rms_norm":
            x[1] = 0.0  # one all-zero sample
        elif name == "group_norm":
            x[1, 0:2] = 3.0  # sample 1, group 0 (num_groups=3)
        else:
            x[1] = 3.0  # one constant sample (LN) / constant (sample, channel) pairs (IN)
        return x
    return make


BAD_INPUTS = [
    # (id, variant, input factory, params, substring the message must hold or None)
    *[(f"int-tensor-{n}", n, lambda: torch.ones(4, 3, 5, dtype=torch.int64), {}, "float32") for n in NORMS],
    *[(f"complex-{n}", n, _x(4, 3, 5, dtype=torch.complex64), {}, None) for n in NORMS],
    *[(f"bool-tensor-{n}", n, lambda: torch.ones(4, 3, 5, dtype=torch.bool), {}, None) for n in NORMS],
    *[(f"python-list-{n}", n, lambda: [[1.0, 2.0], [3.0, 4.0]], {}, "list") for n in NORMS],
    *[(f"python-float-{n}", n, lambda: 1.0, {}, None) for n in NORMS],
    *[(f"none-{n}", n, lambda: None, {}, None) for n in NORMS],
    ("numpy-strings", "batch_norm", lambda: np.array([["a", "b"], ["c", "d"]]), {}, None),
    ("numpy-int", "batch_norm", lambda: np.ones((4, 3), dtype=np.int64), {}, None),
    *[(f"1d-{n}", n, _x(5), {}, None) for n in NORMS],
    *[(f"0d-{n}", n, lambda: torch.tensor(1.0), {}, None) for n in NORMS],
    *[(f"zero-size-N-{n}", n, _x(0, 3, 4), {}, None) for n in NORMS],
    *[(f"zero-size-C-{n}", n, _x(4, 0, 4), {}, None) for n in NORMS],
    *[(f"zero-size-L-{n}", n, _x(4, 3, 0), {}, None) for n in NORMS],
    *[(f"nan-{n}", n, _special(float("nan")), {}, "NaN") for n in NORMS],
    *[(f"inf-{n}", n, _special(float("inf")), {}, "Inf") for n in NORMS],
    *[(f"neg-inf-{n}", n, _special(float("-inf")), {}, "Inf") for n in NORMS],
    ("gn-not-divisor", "group_norm", _x(4, 12, 5), {"num_groups": 5}, "1, 2, 3, 4, 6, 12"),
    ("gn-more-groups-than-channels", "group_norm", _x(4, 12, 5), {"num_groups": 24}, "1, 2, 3, 4, 6, 12"),
    ("gn-zero-groups", "group_norm", _x(4, 12, 5), {"num_groups": 0}, "num_groups"),
    ("gn-negative-groups", "group_norm", _x(4, 12, 5), {"num_groups": -3}, "num_groups"),
    ("gn-string-groups", "group_norm", _x(4, 12, 5), {"num_groups": "2"}, "num_groups"),
    ("gn-float-groups", "group_norm", _x(4, 12, 5), {"num_groups": 2.0}, "num_groups"),
    ("gn-bool-groups", "group_norm", _x(4, 12, 5), {"num_groups": True}, "num_groups"),
    ("gn-one-value-per-group", "group_norm", _x(3, 4), {"num_groups": 4}, None),
    ("gn-one-value-per-group-c1", "group_norm", _x(3, 1), {}, None),
    ("gn-fractional-tensor-groups", "group_norm", _x(4, 12, 5), {"num_groups": torch.tensor(2.5)}, "num_groups"),
    ("gn-numpy-array-groups", "group_norm", _x(4, 12, 5), {"num_groups": np.array([2])}, "num_groups"),
    *[(f"negative-eps-{n}", n, _x(4, 6, 5), {"eps": -1e-5}, "eps") for n in NORMS],
    *[(f"nan-eps-{n}", n, _x(4, 6, 5), {"eps": float("nan")}, "eps") for n in NORMS],
    *[(f"inf-eps-{n}", n, _x(4, 6, 5), {"eps": float("inf")}, "eps") for n in NORMS],
    *[(f"bool-eps-{n}", n, _x(4, 6, 5), {"eps": True}, "eps") for n in NORMS],
    *[(f"string-eps-{n}", n, _x(4, 6, 5), {"eps": "1e-5"}, "eps") for n in NORMS],
    ("huge-int-eps", "batch_norm", _x(4, 6, 5), {"eps": 10**400}, "eps"),
    ("tensor-eps-2-values", "batch_norm", _x(4, 6, 5), {"eps": torch.tensor([1e-5, 1e-5])}, "eps"),
    ("numpy-eps-2-values", "layer_norm", _x(4, 6, 5), {"eps": np.array([1e-5, 1e-5])}, "eps"),
    ("none-eps-ln", "layer_norm", _x(4, 6, 5), {"eps": None}, "eps"),
    ("bn-momentum-1.5", "batch_norm", _x(4, 6, 5), {"momentum": 1.5}, "momentum"),
    ("bn-momentum-negative", "batch_norm", _x(4, 6, 5), {"momentum": -0.1}, "momentum"),
    ("in-momentum-1.5", "instance_norm", _x(4, 6, 5), {"momentum": 1.5}, "momentum"),
    ("bn-training-string", "batch_norm", _x(4, 6, 5), {"training": "yes"}, "training"),
    ("bn-training-2", "batch_norm", _x(4, 6, 5), {"training": 2}, "training"),
    ("bn-training-2d-tensor", "batch_norm", _x(4, 6, 5), {"training": torch.ones(2, 2)}, "training"),
    *[(f"wrong-weight-shape-{n}", n, _x(4, 6, 5), {"weight": torch.ones(7)}, "weight") for n in NORMS],
    *[(f"weight-2d-{n}", n, _x(4, 6, 5), {"weight": torch.ones(6, 1)}, "weight") for n in NORMS],
    *[(f"weight-nan-{n}", n, _x(4, 6, 5), {"weight": torch.tensor([1.0, float("nan"), 1, 1, 1, 1])}, "weight")
      for n in ("batch_norm", "instance_norm", "group_norm")],
    ("ln-weight-nan", "layer_norm", _x(4, 6, 5), {"normalized_shape": 5, "weight": torch.tensor([1.0, float("nan"), 1, 1, 1])}, "weight"),
    ("bn-bias-inf", "batch_norm", _x(4, 6, 5), {"bias": torch.tensor([1.0, float("inf"), 1, 1, 1, 1])}, "bias"),
    ("bn-weight-nan-number", "batch_norm", _x(4, 6, 5), {"weight": float("nan")}, "weight"),
    ("bn-weight-string", "batch_norm", _x(4, 6, 5), {"weight": "ones"}, "weight"),
    ("bn-weight-bool", "batch_norm", _x(4, 6, 5), {"weight": True}, "weight"),
    ("bn-weight-list", "batch_norm", _x(4, 6, 5), {"weight": [1.0] * 6}, "weight"),
    ("bn-weight-huge-int", "batch_norm", _x(4, 6, 5), {"weight": 10**400}, "weight"),
    ("bn-weight-1e300-on-float32", "batch_norm", _x(4, 6, 5), {"weight": 1e300}, None),
    ("ln-bias-minus-1e39-on-float32", "layer_norm", _x(4, 6, 5), {"bias": -1e39}, None),
    ("bn-momentum-tensor-2-values", "batch_norm", _x(4, 6, 5), {"momentum": torch.tensor([0.1, 0.2])}, "momentum"),
    ("gn-huge-int-groups", "group_norm", _x(4, 12, 5), {"num_groups": 10**400}, "num_groups"),
    ("gn-huge-int-groups-message-length", "group_norm", _x(4, 12, 5), {"num_groups": 10**350}, "num_groups"),
    ("ln-bias-wrong-shape", "layer_norm", _x(4, 6, 5), {"normalized_shape": (6, 5), "bias": torch.ones(5)}, "bias"),
    ("bn-running-mean-wrong-shape", "batch_norm", _x(4, 6, 5),
     {"running_mean": torch.zeros(5), "running_var": torch.ones(6)}, "running_mean"),
    ("bn-running-var-wrong-shape", "batch_norm", _x(4, 6, 5),
     {"running_mean": torch.zeros(6), "running_var": torch.ones(6, 1)}, "running_var"),
    ("bn-running-mean-wrong-dtype", "batch_norm", _x(4, 6, 5),
     {"running_mean": torch.zeros(6, dtype=torch.float64), "running_var": torch.ones(6)}, "running_mean"),
    ("bn-running-var-int", "batch_norm", _x(4, 6, 5),
     {"running_mean": torch.zeros(6), "running_var": torch.ones(6, dtype=torch.int64)}, "running_var"),
    ("bn-running-mean-list", "batch_norm", _x(4, 6, 5), {"running_mean": [0.0] * 6, "running_var": torch.ones(6)}, "running_mean"),
    ("bn-only-running-mean", "batch_norm", _x(4, 6, 5), {"running_mean": torch.zeros(6)}, "running"),
    ("bn-only-running-var", "batch_norm", _x(4, 6, 5), {"running_var": torch.ones(6)}, "running"),
    ("bn-running-mean-nan", "batch_norm", _x(4, 6, 5),
     {"running_mean": torch.full((6,), float("nan")), "running_var": torch.ones(6)}, "running_mean"),
    ("in-only-running-var", "instance_norm", _x(4, 6, 5), {"running_var": torch.ones(6)}, "running"),
    ("in-running-mean-wrong-shape", "instance_norm", _x(4, 6, 5),
     {"running_mean": torch.zeros(4), "running_var": torch.ones(4)}, "running_mean"),
    ("bn-counter-int", "batch_norm", _x(4, 6, 5),
     {"running_mean": torch.zeros(6), "running_var": torch.ones(6), "momentum": None, "num_batches_tracked": 0}, None),
    ("bn-counter-two-values", "batch_norm", _x(4, 6, 5),
     {"running_mean": torch.zeros(6), "running_var": torch.ones(6), "momentum": None,
      "num_batches_tracked": torch.zeros(2, dtype=torch.long)}, None),
    ("in-on-NC", "instance_norm", _x(4, 6), {}, None),
    ("in-training-one-position", "instance_norm", _x(4, 6, 1), {}, None),
    ("in-training-one-position-4d", "instance_norm", _x(4, 6, 1, 1), {}, None),
    ("bn-training-1xC", "batch_norm", _x(1, 6), {}, "one value per channel"),
    ("bn-training-1xCx1", "batch_norm", _x(1, 6, 1), {}, "one value per channel"),
    ("unknown-variant", "batchnorm", _x(4, 6, 5), {}, "batch_norm"),
    ("unknown-variant-empty", "", _x(4, 6, 5), {}, None),
    ("unknown-variant-none", None, _x(4, 6, 5), {}, None),
    ("unknown-variant-list", ["batch_norm"], _x(4, 6, 5), {}, None),
    ("unknown-param-bn", "batch_norm", _x(4, 6, 5), {"momentun": 0.1}, "momentun"),
    ("unknown-param-ln", "layer_norm", _x(4, 6, 5), {"num_groups": 2}, "num_groups"),
    ("unknown-param-gn", "group_norm", _x(4, 6, 5), {"groups": 2}, "groups"),
    ("unknown-param-in-counter", "instance_norm", _x(4, 6, 5), {"num_batches_tracked": torch.tensor(0)}, None),
    ("ln-ns-string", "layer_norm", _x(4, 6, 5), {"normalized_shape": "5"}, "normalized_shape"),
    ("ln-ns-zero", "layer_norm", _x(4, 6, 5), {"normalized_shape": (0,)}, "normalized_shape"),
    ("ln-ns-empty", "layer_norm", _x(4, 6, 5), {"normalized_shape": ()}, "normalized_shape"),
    ("ln-ns-2d-tensor", "layer_norm", _x(4, 6, 5), {"normalized_shape": torch.ones(2, 2)}, "normalized_shape"),
    *[(f"eps0-constant-group-{n}", n, _constant_group(n), {"eps": 0.0, **({"num_groups": 3} if n == "group_norm" else {})},
       None) for n in NORMS if n != "instance_norm"],
]


@pytest.mark.parametrize("name, make_x, params, needle", [pytest.param(*case[1:], id=case[0]) for case in BAD_INPUTS])
def test_impossible_input_is_one_sentence_input_error(name, make_x, params, needle):
    err = raises_input_error(vnviz.apply, name, make_x(), **params)
    if needle is not None:
        assert needle in str(err), f"{needle!r} not in {str(err)!r}"


def test_instance_norm_eps_zero_on_a_constant_group_is_zero_like_torch():
    """torch's instance-norm kernel gives 0 (not NaN) for a constant group with eps=0; vnviz matches it."""
    x = _constant_group("instance_norm")()
    y = vnviz.apply("instance_norm", x, eps=0.0)
    torch.testing.assert_close(y, nn.InstanceNorm1d(6, eps=0.0)(x))
    assert bool((y[1] == 0).all())


def test_input_error_is_a_value_error():
    assert issubclass(InputError, ValueError)
    assert vnviz.InputError is InputError


# -- float16 and bfloat16: torch's semantics, mixed precision included ------------------------------------


MIXED_CASES = [  # (variant, params builder(c, dtype), torch call(x, params))
    ("batch_norm", lambda c, d: {"weight": torch.rand(c, dtype=d) + 0.5, "bias": torch.randn(c, dtype=d)},
     lambda x, p: F.batch_norm(x, None, None, p["weight"], p["bias"], True)),
    ("instance_norm", lambda c, d: {"weight": torch.rand(c, dtype=d) + 0.5},
     lambda x, p: F.instance_norm(x, None, None, p["weight"])),
    ("group_norm", lambda c, d: {"num_groups": 3, "weight": torch.rand(c, dtype=d) + 0.5, "bias": torch.randn(c, dtype=d)},
     lambda x, p: F.group_norm(x, 3, p["weight"], p["bias"])),
    ("layer_norm", lambda c, d: {"normalized_shape": (5,), "weight": torch.rand(5, dtype=d) + 0.5},
     lambda x, p: F.layer_norm(x, (5,), p["weight"])),
    ("rms_norm", lambda c, d: {"normalized_shape": (5,), "weight": torch.rand(5, dtype=d) + 0.5},
     lambda x, p: F.rms_norm(x, (5,), p["weight"])),
    ("layer_norm_2d", lambda c, d: {"weight": torch.rand(c, dtype=d) + 0.5, "bias": torch.randn(c, dtype=d)},
     lambda x, p: F.layer_norm(x.movedim(1, -1), (x.shape[1],), p["weight"], p["bias"], 1e-6).movedim(-1, 1)),
]


@pytest.mark.filterwarnings("ignore:Mismatch dtype")
@pytest.mark.parametrize("pdtype", ["same", "float32"])
@pytest.mark.parametrize("dtype", HALF_DTYPES)
@pytest.mark.parametrize("name, make, call", MIXED_CASES, ids=[c[0] for c in MIXED_CASES])
def test_half_input_with_half_or_float32_parameters_is_torch_bitwise(name, make, call, dtype, pdtype):
    """Weight and bias in x's dtype, or in float32 (torch's mixed mode): the output is x's dtype, bit for bit torch's."""
    x = (torch.randn(4, 6, 3, 5) * 2 + 1).to(dtype)
    params = make(6, dtype if pdtype == "same" else torch.float32)
    y = vnviz.apply(name, x, **params)
    assert y.dtype == dtype and torch.equal(y, call(x, params).contiguous())


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_batch_norm_float32_running_buffers_with_half_input_update_like_torch(dtype):
    """An nn.BatchNorm kept in float32 fed half activations: float32 buffers, updated in place exactly as torch's."""
    x = (torch.randn(8, 6, 4, 4) * 3 + 2).to(dtype)
    mod = nn.BatchNorm2d(6)  # float32
    rm, rv, count = torch.zeros(6), torch.ones(6), torch.zeros((), dtype=torch.long)
    for _ in range(2):
        y = vnviz.apply("batch_norm", x, running_mean=rm, running_var=rv, weight=mod.weight.detach(),
                        bias=mod.bias.detach(), momentum=None, num_batches_tracked=count)
        mod.momentum = None
        y_mod = mod(x)
        assert y.dtype == y_mod.dtype == dtype and torch.equal(y, y_mod)
    assert rm.dtype == torch.float32 and torch.equal(rm, mod.running_mean) and torch.equal(rv, mod.running_var)
    mod.eval()
    assert torch.equal(vnviz.apply("batch_norm", x, running_mean=rm, running_var=rv, weight=mod.weight.detach(),
                                   bias=mod.bias.detach(), training=False), mod(x))


MIXES = [  # parameter dtypes torch refuses with a float16 input: some in float16, some in float32
    ("batch_norm", {"weight": torch.float16, "bias": torch.float32}),
    ("batch_norm", {"weight": torch.float16, "running_mean": torch.float32, "running_var": torch.float32}),
    ("batch_norm", {"running_mean": torch.float16, "running_var": torch.float16, "weight": torch.float32}),
    ("layer_norm", {"weight": torch.float32, "bias": torch.float16}),
    ("group_norm", {"weight": torch.float16, "bias": torch.float32}),
    ("instance_norm", {"weight": torch.float32, "bias": torch.float16}),
]


@pytest.mark.parametrize("name, dtypes", MIXES, ids=[f"{n}-{'-'.join(d)}" for n, d in MIXES])
def test_half_input_with_a_mix_of_parameter_dtypes_is_refused_as_torch_refuses(name, dtypes):
    x = torch.randn(4, 6, 5, dtype=torch.float16)
    size = {"layer_norm": 5}.get(name, 6)
    params = {k: (torch.ones(size) if "var" in k or k == "weight" else torch.zeros(size)).to(d) for k, d in dtypes.items()}
    if name == "layer_norm":
        params["normalized_shape"] = (5,)
    calls = {"batch_norm": lambda: F.batch_norm(x, params.get("running_mean"), params.get("running_var"),
                                                params.get("weight"), params.get("bias"), True),
             "layer_norm": lambda: F.layer_norm(x, (5,), params["weight"], params["bias"]),
             "group_norm": lambda: F.group_norm(x, 3, params["weight"], params["bias"]),
             "instance_norm": lambda: F.instance_norm(x, None, None, params["weight"], params["bias"])}
    with pytest.raises(RuntimeError):
        calls[name]()  # torch refuses the mix
    err = raises_input_error(vnviz.apply, name, x, **params)
    assert "float16" in str(err) and "float32" in str(err) and "not a mix" in str(err)


@pytest.mark.parametrize("name", NORMS)
def test_float16_output_overflow_is_an_input_error(name):
    """A finite float16 input whose affine output passes 65504 is caught (the output is scanned), in one sentence."""
    x = torch.randn(4, 6, 5, dtype=torch.float16)
    err = raises_input_error(vnviz.apply, name, x, weight=60000.0)
    assert "float16" in str(err) and "65504" in str(err)


@pytest.mark.parametrize("name", NORMS)
@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_half_input_keeps_its_dtype_and_gives_finite_output_on_tiny_groups(name, dtype):
    """Many groups with a tiny variance: inverse stds of ~1e3 whose float16 sum would pass 65504 (the finiteness
    check sums them in float32); the output is finite and in x's dtype."""
    x = (torch.randn(64, 6, 8, dtype=torch.float64) * 1e-3 + 1).to(dtype)
    y = vnviz.apply(name, x)
    assert y.dtype == dtype and bool(torch.isfinite(y).all())


def test_int_and_complex_inputs_name_the_four_float_dtypes():
    err = raises_input_error(vnviz.apply, "layer_norm", torch.ones(3, 4, dtype=torch.int32))
    assert "float16, bfloat16, float32 or float64" in str(err) and "int32" in str(err)
