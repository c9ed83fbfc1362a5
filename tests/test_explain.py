"""vnviz.explain: one element's group, statistics and arithmetic, against apply and float64 maths;
the element picture (analysis.element_picture) and its figure (figures.explain) by structure.
"""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sentences import assert_one_sentence

import vnviz
from vnviz import InputError
from vnviz.analysis.element_picture import MAX_COLS, MAX_ROWS, element_picture
from vnviz.analysis.explain import Step, accumulation_dtype, check_index
from vnviz.analysis.explain_words import TITLES, WORDS, render
from vnviz.figures.explain import element_figure
from vnviz.variants import norm_variants
from vnviz.variants.params import quote

NORMS = tuple(v.name for v in norm_variants())  # every norm of the registry, ClusterNorm included
KINDS = ("gather", "mean", "variance", "normalize", "affine")
DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)  # every dtype the norms take
SETTINGS = settings(max_examples=20, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _group_map(name: str, e: vnviz.Explanation, x: torch.Tensor, params: dict) -> torch.Tensor:
    """The group map of this run: stat_groups, with ClusterNorm's labels from its own details."""
    v = vnviz.VARIANTS[name]
    if v.details is not None:
        params = {**params, **v.details(x, **params).group_params}
    return vnviz.stat_groups(name, tuple(x.shape), **{k: p for k, p in params.items()
                                                       if not isinstance(p, torch.Tensor) or k == "labels"})


def _check_stats64(e: vnviz.Explanation, values: torch.Tensor) -> None:
    """e.mean and e.var against a float64 computation over ``values`` (the group's members)."""
    v64 = values.double().flatten()
    t = (16 + math.sqrt(v64.numel())) * torch.finfo(e.var.dtype).eps
    if e.centered:
        m, var = float(v64.mean()), float(((v64 - v64.mean()) ** 2).mean())
        assert abs(float(e.mean) - m) <= t * (abs(m) + math.sqrt(var)) + 1e-300
        assert abs(float(e.var) - var) <= t * (math.sqrt(var) + abs(m)) ** 2 + 1e-300
    else:
        assert e.mean is None
        ms = float((v64 * v64).mean())
        assert abs(float(e.var) - ms) <= t * ms + 1e-300


def _check_steps(e: vnviz.Explanation) -> None:
    assert tuple(s.kind for s in e.steps) == KINDS
    for s in e.steps:
        assert isinstance(s, Step) and s.key in WORDS and s.title == TITLES[s.kind]
        assert s.text == render(s.key, s.numbers) and "{" not in s.text


@st.composite
def cases(draw, name: str):
    """A random input, index and parameters for variant ``name``, built from its declaration alone."""
    v = vnviz.VARIANTS[name]
    ndim = draw(st.integers(max(2, v.min_ndim), 5))
    shape = (draw(st.integers(3, 6)),) + tuple(draw(st.integers(1, 5)) for _ in range(ndim - 1))
    dtype = draw(st.sampled_from(DTYPES))
    gen = _gen(draw(st.integers(0, 2**31 - 1)))
    x = (torch.randn(shape, generator=gen, dtype=torch.float64) * draw(st.sampled_from([1.0, 10.0]))
         + draw(st.sampled_from([0.0, 3.0]))).to(dtype)
    index = tuple(draw(st.integers(-s, s - 1)) for s in shape)
    settings_ = v.settings(shape) if v.settings else [{}]
    params = dict(draw(st.sampled_from(settings_))) if settings_ else {}
    red = v.reduction(shape, **params)
    aff = tuple(shape[d] for d in red.affine)
    for p in ("weight", "bias"):
        if p in v.param_names:
            kind = draw(st.sampled_from(["none", "number", "tensor"]))
            if kind == "number":
                params[p] = draw(st.sampled_from([2.0, -0.5]))
            elif kind == "tensor":
                params[p] = torch.randn(aff, generator=gen, dtype=dtype)
    if "training" in v.param_names and draw(st.booleans()):
        params["training"] = False  # eval mode: the running statistics, when the variant uses them
    if "running_mean" in v.param_names and draw(st.booleans()):  # in training, updated in place by apply
        c = shape[1]
        params["running_mean"] = torch.randn(c, generator=gen, dtype=dtype)
        params["running_var"] = torch.rand(c, generator=gen, dtype=dtype) + 0.5
    return x, index, params


# -- every variant: y, groups, statistics --------------------------------------------------------


@pytest.mark.parametrize("name", NORMS)
@SETTINGS
@given(data=st.data())
def test_explain_matches_apply(name, data):
    x, index, params = data.draw(cases(name))
    v = vnviz.VARIANTS[name]
    before = {k: p.clone() for k, p in params.items() if isinstance(p, torch.Tensor)}
    try:
        y = vnviz.apply(name, x, **{k: (p.clone() if isinstance(p, torch.Tensor) else p) for k, p in params.items()})
    except InputError as err:  # e.g. one value per group: explain says the same sentence
        with pytest.raises(InputError) as info:
            vnviz.explain(name, x, index, **params)
        assert str(info.value) == str(err)
        return
    e = vnviz.explain(name, x, index, **params)
    idx = tuple(i % s for i, s in zip(index, x.shape))
    assert e.index == idx and e.variant == name
    if v.alone is not None or v.details is not None:  # the kernel's own y: bitwise on the CPU
        assert torch.equal(e.y, y[idx]), (float(e.y), float(y[idx]))
    else:  # a variant that declares no way to run one group alone: the formula, to rounding
        torch.testing.assert_close(e.y, y[idx], rtol=e.tolerance, atol=e.tolerance)
    assert e.y.dtype == x.dtype and e.var.dtype == accumulation_dtype(x.dtype)
    assert e.residual <= e.tolerance, (e.residual, e.tolerance)
    gmap = _group_map(name, e, x, params)
    assert e.group == int(gmap[idx])
    assert e.group_size == int((gmap == e.group).sum())
    if e.source == "group" or e.source == "cluster":
        assert e.count == e.group_size
        _check_stats64(e, x[gmap == e.group])
    if v.running(params):
        c = idx[1]
        rm, rv = params.get("running_mean"), params.get("running_var")
        assert e.source == ("fresh" if rm is None else "running") and e.count is None
        assert float(e.mean) == (0.0 if rm is None else float(rm[c]))
        assert float(e.var) == (1.0 if rv is None else float(rv[c]))
    assert e.x.item() == x[idx].item()
    _check_steps(e)
    for k, p in before.items():  # never the caller's buffers (nor any tensor it gave)
        assert torch.equal(params[k], p)


@pytest.mark.parametrize("layout", ["channels_last", "permuted", "strided"])
@pytest.mark.parametrize("name", NORMS)
def test_non_contiguous_input_to_float_rounding(name, layout):
    """x's kernel takes another path on a non-contiguous x, so y agrees to rounding (bitwise: contiguous x)."""
    base = torch.randn(5, 4, 6, 7, generator=_gen(20)) * 2 + 1
    x = {"channels_last": base.to(memory_format=torch.channels_last), "permuted": base.permute(0, 1, 3, 2),
         "strided": base[..., ::2]}[layout]
    params = {"weight": torch.randn(4, generator=_gen(21))} if vnviz.VARIANTS[name].affine == "channel" else {}
    y = vnviz.apply(name, x, **params)
    for index in ((0, 0, 0, 0), (4, 3, 2, 1), (2, 1, -1, -1)):
        e = vnviz.explain(name, x, index, **params)
        torch.testing.assert_close(e.y, y[index], rtol=e.tolerance, atol=e.tolerance)
        assert e.residual <= e.tolerance


def test_every_norm_is_explained():
    """The loop above covers the registry: every norm variant (LayerNorm2d too, once declared)."""
    names = {v.name for v in vnviz.VARIANTS.values() if v.family == "norm"}
    assert set(NORMS) == names and {"batch_norm", "cluster_norm", "rms_norm"} <= names


def test_large_tensor_reads_one_group():
    """A NaN outside the element's group makes apply refuse, while explain reads that group only."""
    x = torch.randn(8, 6, 16, 16, generator=_gen(1))
    x[5, 4, 3, 2] = math.nan
    for name, params in (("layer_norm", {}), ("group_norm", {"num_groups": 3}), ("batch_norm", {}),
                         ("instance_norm", {}), ("rms_norm", {})):
        with pytest.raises(InputError):
            vnviz.apply(name, x, **params)
        e = vnviz.explain(name, x, (1, 0, 7, 7), **params)
        clean = x.clone()
        clean[5, 4, 3, 2] = 0.0  # the same element's output once the far NaN is gone
        assert torch.equal(e.y, vnviz.apply(name, clean, **params)[1, 0, 7, 7])


# -- eval mode, buffers, RMSNorm, the affine --------------------------------------------------------


def test_eval_uses_the_running_statistics():
    x = torch.randn(6, 4, 5, 5, generator=_gen(2)) * 2 + 1
    rm, rv = torch.tensor([0.5, -1.0, 2.0, 0.0]), torch.tensor([4.0, 0.25, 1.0, 9.0])
    e = vnviz.explain("batch_norm", x, (2, 1, 3, 4), training=False, running_mean=rm, running_var=rv)
    assert e.source == "running" and float(e.mean) == -1.0 and float(e.var) == 0.25 and e.count is None
    assert torch.equal(e.y, vnviz.apply("batch_norm", x, training=False, running_mean=rm, running_var=rv)[2, 1, 3, 4])
    assert float(e.x_hat) == pytest.approx((float(x[2, 1, 3, 4]) + 1.0) / math.sqrt(0.25 + 1e-5), rel=1e-6)
    mean_step, var_step = e.steps[1], e.steps[2]
    assert mean_step.key == "mean.running" and mean_step.uses == ("running",)
    assert "running mean of channel 1" in mean_step.text and "not the batch's" in mean_step.text
    batch = x[:, 1].double()
    assert mean_step.numbers["batch_mean"] == pytest.approx(float(batch.mean()), rel=1e-5)
    assert var_step.numbers["batch_var"] == pytest.approx(float(batch.var(correction=0)), rel=1e-5)
    assert "running" in e.steps[0].text


def test_eval_without_buffers_is_a_fresh_layer():
    x = torch.randn(5, 3, 4, generator=_gen(3))
    e = vnviz.explain("batch_norm", x, (0, 2, 1), training=False)
    assert e.source == "fresh" and float(e.mean) == 0.0 and float(e.var) == 1.0
    assert torch.equal(e.y, vnviz.apply("batch_norm", x, training=False)[0, 2, 1])
    assert e.steps[1].key == "mean.fresh" and "fresh" in e.steps[1].text


def test_instance_norm_eval_with_running_statistics():
    x = torch.randn(4, 3, 6, generator=_gen(4))
    rm, rv = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 4.0, 0.5])
    p = dict(training=False, running_mean=rm, running_var=rv)
    e = vnviz.explain("instance_norm", x, (3, 2, 5), **p)
    assert e.source == "running" and float(e.mean) == 3.0 and float(e.var) == 0.5
    assert torch.equal(e.y, vnviz.apply("instance_norm", x, **p)[3, 2, 5])
    e = vnviz.explain("instance_norm", x, (3, 2, 5), running_mean=rm, running_var=rv)  # training: its own stats
    assert e.source == "group" and float(e.mean) == pytest.approx(float(x[3, 2].mean()), rel=1e-6)


@pytest.mark.parametrize("name", ["batch_norm", "instance_norm"])
def test_the_callers_running_buffers_are_untouched(name):
    x = torch.randn(6, 3, 4, 4, generator=_gen(5)) * 3 + 2
    rm, rv = torch.zeros(3), torch.ones(3)
    p = dict(running_mean=rm, running_var=rv, momentum=None if name == "batch_norm" else 0.1)
    if name == "batch_norm":
        p["num_batches_tracked"] = torch.tensor(4)
    before = {k: t.clone() for k, t in p.items() if isinstance(t, torch.Tensor)}
    e = vnviz.explain(name, x, (1, 2, 0, 3), **p)
    for k, t in before.items():
        assert torch.equal(p[k], t), k
    y = vnviz.apply(name, x, **p)  # apply itself does update them, in place: the check above can fail
    assert not torch.equal(rm, before["running_mean"])
    assert torch.equal(e.y, y[1, 2, 0, 3])


@pytest.mark.parametrize("dtype", DTYPES)
def test_rms_norm_has_no_centering(dtype):
    x = (torch.randn(3, 4, 5, generator=_gen(6), dtype=torch.float64) + 2).to(dtype)
    e = vnviz.explain("rms_norm", x, (1, 3, 2))
    assert e.mean is None and not e.centered and e.eps == torch.finfo(accumulation_dtype(dtype)).eps  # eps=None
    assert float(e.var) == pytest.approx(float((x[1].double() ** 2).mean()), rel=1e-6)
    assert e.steps[1].key == "mean.none" and "No centering" in e.steps[1].text
    assert e.steps[2].key == "variance.rms" and e.steps[3].key == "normalize.rms"
    e = vnviz.explain("rms_norm", x, (1, 3, 2), normalized_shape=(5,), eps=0.5, weight=torch.arange(5.0).to(dtype))
    assert e.eps == 0.5 and float(e.weight) == 2.0 and e.group_size == 5
    assert torch.equal(e.y, vnviz.apply("rms_norm", x, normalized_shape=(5,), eps=0.5,
                                        weight=torch.arange(5.0).to(dtype))[1, 3, 2])


@pytest.mark.parametrize("weight, bias, key", [
    (None, None, "affine.none"), (2.5, None, "affine.weight"), (None, -1.0, "affine.bias"),
    ("tensor", "tensor", "affine"), (3, torch.tensor(0.5), "affine"),
])
def test_affine_numbers_and_tensors(weight, bias, key):
    x = torch.randn(4, 6, 3, 3, generator=_gen(7))
    g = _gen(8)
    w = torch.randn(6, generator=g) if weight == "tensor" else weight
    b = torch.randn(6, generator=g) if bias == "tensor" else bias
    e = vnviz.explain("group_norm", x, (2, 4, 1, 0), num_groups=2, weight=w, bias=b)
    assert torch.equal(e.y, vnviz.apply("group_norm", x, num_groups=2, weight=w, bias=b)[2, 4, 1, 0])
    assert e.steps[4].key == key
    if w is None:
        assert e.weight is None
    else:
        assert float(e.weight) == float(w[4] if isinstance(w, torch.Tensor) and w.ndim else w)
    if b is not None:
        assert float(e.bias) == float(b[4] if isinstance(b, torch.Tensor) and b.ndim else b)
        assert "β" in e.steps[4].text
    assert e.residual <= e.tolerance


def test_layer_norm_per_element_affine():
    x = torch.randn(2, 5, 8, generator=_gen(9))
    w, b = torch.randn(8, generator=_gen(10)), torch.randn(8, generator=_gen(11))
    e = vnviz.explain("layer_norm", x, (1, 3, -2), normalized_shape=(8,), weight=w, bias=b)
    assert float(e.weight) == float(w[6]) and float(e.bias) == float(b[6])
    assert e.group_size == 8 and "x[1, 3, :]" in e.steps[0].text


# -- ClusterNorm ------------------------------------------------------------------------------------


def _blobs() -> torch.Tensor:
    g = _gen(12)
    x = torch.randn(12, 3, 4, generator=g, dtype=torch.float64)
    x[6:] += 6.0
    return x


def test_cluster_norm_hard_and_noise():
    x = _blobs()
    labels = torch.tensor([0, 0, 0, 1, 1, -1, 2, 2, 2, 2, 1, -1])
    for n, source in ((1, "cluster"), (5, "noise"), (7, "cluster")):
        e = vnviz.explain("cluster_norm", x, (n, 2, 3), labels=labels, weight=2.0)
        assert e.source == source and e.cluster == int(labels[n])
        assert torch.equal(e.y, vnviz.apply("cluster_norm", x, labels=labels, weight=2.0)[n, 2, 3])
        gmap = vnviz.stat_groups("cluster_norm", tuple(x.shape), labels=labels)
        assert e.group == int(gmap[n, 2, 3]) and e.group_size == int((gmap == e.group).sum())
        rows = torch.arange(12) if source == "noise" else (labels == labels[n]).nonzero().flatten()
        _check_stats64(e, x[rows, 2])  # noise: the whole batch's channel
        assert e.residual <= e.tolerance
        _check_steps(e)
    assert "noise" in vnviz.explain("cluster_norm", x, (5, 0, 0), labels=labels).steps[0].text


@pytest.mark.parametrize("labels", [None, torch.tensor([0, 0, 1, -1, 1, 1, 0, 2, 2, 2, 2, 1])])
def test_cluster_norm_soft_mixture(labels):
    x = _blobs()
    p = dict(mode="soft", n_clusters=2, weight=1.5, bias=-0.25) if labels is None else dict(mode="soft", labels=labels)
    res = vnviz.cluster_norm_details(x, **p)
    y = vnviz.apply("cluster_norm", x, **p)
    for n in range(12):
        e = vnviz.explain("cluster_norm", x, (n, 1, 2), **p)
        assert torch.equal(e.y, y[n, 1, 2])
        if int(res.labels[n]) < 0:
            assert e.source == "noise" and e.posteriors is None
            continue
        assert e.source == "mixture" and e.mean.shape == e.var.shape == e.posteriors.shape == e.priors.shape
        # independent float64: posterior-weighted component statistics of channel 1, and the mixed x̂
        keep = res.labels >= 0
        tau = res.posteriors[keep].double()  # (M, K)
        xc = x[keep, 1].double()  # (M, S)
        mass = tau.sum(0) * xc.shape[1]
        mu = (tau[:, :, None] * xc[:, None]).sum((0, 2)) / mass
        var = (tau[:, :, None] * (xc[:, None] - mu[None, :, None]) ** 2).sum((0, 2)) / mass
        pi = tau.sum(0) / tau.shape[0]
        assert torch.allclose(e.mean.double(), mu, atol=1e-12) and torch.allclose(e.var.double(), var, atol=1e-12)
        assert torch.allclose(e.priors.double(), pi, atol=1e-12)
        t = res.posteriors[n].double()
        x_hat = float((t / pi.sqrt() * (float(x[n, 1, 2]) - mu) / torch.sqrt(var + 1e-5)).sum())
        assert float(e.x_hat) == pytest.approx(x_hat, rel=1e-10, abs=1e-12)
        assert e.residual <= e.tolerance
        assert e.steps[3].key == "normalize.mixture" and "τ" in e.steps[0].text
        _check_steps(e)


# -- bad input ---------------------------------------------------------------------------------------

SHAPE = (4, 6, 5, 3)
BAD_INDICES = [(1, 2, 3), (0, 0, 0, 0, 0), (0, 6, 0, 0), (4, 0, 0, 0), (0, 0, -6, 0), (0, -7, 0, 0), (0.5, 0, 0, 0),
               (0, 1, "2", 0), (True, 0, 0, 0), "0,1,2,3", None, 3, [[0, 1], [2, 3]], (0, 1, 2, 3.0)]


@pytest.mark.parametrize("index", BAD_INDICES)
def test_bad_index_is_one_sentence_quoting_the_shape(index):
    x = torch.randn(SHAPE, generator=_gen(13))
    with pytest.raises(InputError) as info:
        vnviz.explain("batch_norm", x, index)
    assert_one_sentence(info.value)
    assert str(SHAPE) in str(info.value) and quote(index) in str(info.value)


def test_good_indices():
    assert check_index((-1, 0, -5, 2), SHAPE) == (3, 0, 0, 2)
    assert check_index([1, 2, 3, 0], SHAPE) == (1, 2, 3, 0)
    assert check_index(torch.tensor([1, 2, 3, 0]), SHAPE) == (1, 2, 3, 0)
    assert check_index((torch.tensor(1), 2, 3, 0), SHAPE) == (1, 2, 3, 0)


def test_not_a_normalization():
    with pytest.raises(InputError) as info:
        vnviz.explain("matrix_slice", torch.randn(3, 3), (0, 0))
    assert_one_sentence(info.value)
    assert "batch_norm" in str(info.value)


def test_refusals_say_what_apply_says():
    x = torch.randn(1, 3)
    with pytest.raises(InputError) as want:
        vnviz.apply("batch_norm", x)
    with pytest.raises(InputError) as got:
        vnviz.explain("batch_norm", x, (0, 1))
    assert str(got.value) == str(want.value) and "(1, 3)" in str(got.value)
    with pytest.raises(InputError) as got:  # a weight of the wrong size is refused, not cut to the group
        vnviz.explain("batch_norm", torch.randn(4, 3), (0, 1), weight=torch.ones(5))
    assert_one_sentence(got.value)
    assert "(3,)" in str(got.value)


@pytest.mark.parametrize("pdtype", ["same", "float32"])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", NORMS)
def test_half_precision_elements_agree_with_apply(name, dtype, pdtype):
    """In float16/bfloat16, with parameters in x's dtype or in float32 (torch's mixed mode): y is apply's, bitwise;
    the statistics are float32 (what the kernels sum in) and the arithmetic closes within the tolerance."""
    v = vnviz.VARIANTS[name]
    x = (torch.randn(6, 4, 3, 5, generator=_gen(11), dtype=torch.float64) * 3 + 1).to(dtype)
    red = v.reduction(tuple(x.shape))
    aff = tuple(x.shape[d] for d in red.affine)
    pd = dtype if pdtype == "same" else torch.float32
    params = {p: torch.rand(aff, generator=_gen(12)).to(pd) + 0.5 for p in ("weight", "bias") if p in v.param_names}
    y = vnviz.apply(name, x, **params)
    for index in ((0, 0, 0, 0), (5, 3, 2, 4), (2, 1, 1, 3)):
        e = vnviz.explain(name, x, index, **params)
        assert torch.equal(e.y, y[index]) and e.y.dtype == dtype
        assert e.var.dtype == torch.float32 and e.x_hat.dtype == torch.float32
        assert e.weight is None or e.weight.dtype == pd
        assert e.residual <= e.tolerance, (e.residual, e.tolerance)


def test_accumulation_dtype():
    assert accumulation_dtype(torch.float16) == accumulation_dtype(torch.bfloat16) == torch.float32
    assert accumulation_dtype(torch.float32) == torch.float32 and accumulation_dtype(torch.float64) == torch.float64


def test_words_are_in_one_place():
    numbers = {"x": -1.5, "mean": -0.25, "var": 2.0, "eps": 1e-5, "x_hat": -0.88}
    text = render("normalize", numbers)
    assert text == "x̂ = (x − μ) / √(σ² + ε) = (−1.5 − (−0.25)) / √(2 + 1e-05) = −0.88."
    assert render("mean.mixture", {"channel": 2, "mean": (0.5, -1.0)}).endswith("μ = (0.5, −1).")


# -- the element picture and its figure ---------------------------------------------------------------


@pytest.mark.parametrize("name", NORMS)
def test_picture_small_tensor_is_the_whole_sample(name):
    x = torch.randn(4, 6, 3, 4, generator=_gen(14))
    params = {"num_groups": 3} if "num_groups" in vnviz.VARIANTS[name].param_names else {}
    pic = element_picture(name, x, (2, 3, 1, 2), **params)
    e = pic.explanation
    assert pic.full and pic.sample == 2 and pic.positions == (3, 4)
    assert torch.equal(pic.rows, torch.arange(6)) and torch.equal(pic.cols, torch.arange(12))
    assert pic.values.shape == pic.groups.shape == pic.in_group.shape == (6, 12) and pic.cell_index.shape == (6, 12, 4)
    at = tuple(pic.cell_index[..., d] for d in range(4))
    assert torch.equal(pic.values, x[at].double())
    gmap = _group_map(name, e, x, params)
    assert torch.equal(pic.groups, gmap[at]) and torch.equal(pic.in_group, gmap[at] == e.group)
    assert tuple(pic.cell_index[pic.selected].tolist()) == e.index == (2, 3, 1, 2)
    assert pic.group_here == int((gmap[2] == e.group).sum()) == int(pic.in_group.sum())
    assert pic.group_elsewhere == e.group_size - pic.group_here


def test_picture_large_tensor_is_sampled_around_the_element():
    x = torch.randn(3, 100, 20, 30, generator=_gen(15))
    index = (1, 57, 13, 29)
    pic = element_picture("group_norm", x, index, num_groups=10)
    r, p = pic.values.shape
    assert r == MAX_ROWS and p == MAX_COLS and not pic.full
    assert bool((pic.rows.diff() > 0).all()) and bool((pic.cols.diff() > 0).all())
    assert tuple(pic.cell_index[pic.selected].tolist()) == index
    at = tuple(pic.cell_index[..., d] for d in range(4))
    assert torch.equal(pic.values, x[at].double())
    gmap = vnviz.stat_groups("group_norm", tuple(x.shape), num_groups=10)
    assert torch.equal(pic.in_group, gmap[at] == pic.explanation.group)
    assert pic.in_group[pic.selected] and pic.group_here == 10 * 600 and pic.group_elsewhere == 0
    rows_in = pic.rows[pic.in_group.any(1)]
    assert rows_in.min() >= 50 and rows_in.max() < 60  # the block of channels 50..59


def test_picture_of_features_and_clusters():
    x = torch.randn(5, 7, generator=_gen(16))
    pic = element_picture("batch_norm", x, (3, 4))
    assert pic.positions == () and pic.values.shape == (7, 1) and pic.group_elsewhere == 4
    assert pic.in_group[:, 0].tolist() == [c == 4 for c in range(7)]
    labels = torch.tensor([0, 1, 0, 1, -1])
    pic = element_picture("cluster_norm", x, (4, 2), labels=labels)
    gmap = vnviz.stat_groups("cluster_norm", (5, 7), labels=labels)
    assert torch.equal(pic.groups[:, 0], gmap[4]) and pic.explanation.source == "noise"


def test_figure_cells_carry_their_index_and_steps_highlight():
    x = torch.randn(3, 8, 4, 4, generator=_gen(17))
    pic = element_picture("group_norm", x, (1, 5, 2, 3), num_groups=4)
    fig = element_figure(pic)
    cells = [t for t in fig.data if t.name == "cells"]
    assert len(cells) == 2  # one clickable layer per panel
    want = pic.cell_index.reshape(-1, 4).tolist()
    for t in cells:
        assert [list(c) for c in t.customdata] == want and t.marker.opacity == 0
    boxes = [s for s in fig.layout.shapes if s.type == "rect"]
    sr, sc = pic.selected
    assert len(boxes) == 2 and all(b.x0 == sc - 0.5 and b.y0 == sr - 0.5 for b in boxes)
    assert fig.layout.clickmode == "event+select"

    def dimmed(f):
        return [t for t in f.data if t.type == "heatmap" and t.colorscale and t.colorscale[-1][1] != t.colorscale[0][1]
                and "rgba(0,0,0,0)" in str(t.colorscale[0][1])]
    gather, normalize = element_figure(pic, step=1), element_figure(pic, step=4)
    assert len(dimmed(gather)) == 2 and dimmed(normalize) == []
    assert "Step 1 of 5: Gather the group" in gather.layout.title.text
    assert normalize.layout.shapes[0].line.width > gather.layout.shapes[0].line.width
    outline = [t for t in gather.data if t.name == "group"][0]
    assert len([v for v in outline.x if v is None]) == 2 * 16 + 2 * 2  # its 2 channels × 16 positions: 36 edges
    for bad in (0, 6, 1.5):
        with pytest.raises(InputError) as info:
            element_figure(pic, step=bad)
        assert_one_sentence(info.value)


def test_figure_running_step_says_so():
    x = torch.randn(3, 4, 5, generator=_gen(18))
    pic = element_picture("batch_norm", x, (0, 1, 2), training=False)
    assert "running statistics" in element_figure(pic, step=2).layout.title.text
