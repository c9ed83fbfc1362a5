"""axis_plan, the built-in examples, the known traps and the axis-check figures.

Every plan's calls and modules are run with torch and compared with a float64
normalization on the plan's group map; every einops pattern is evaluated by a
small reducer here; every example is run through infer_axes.
"""
from __future__ import annotations

import itertools
import math
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import vnviz
from vnviz.analysis.axes import DEFAULT_SHAPES, LAYOUTS, PLAN_VARIANTS, axis_plan, group_choices
from vnviz.analysis.axis_report import axes_text, candidate_label, report_rows, report_verdict
from vnviz.analysis.pairs import EXAMPLES, example_pair, pair_from_arrays
from vnviz.analysis.traps import KNOWN_TRAPS
from vnviz.analysis.infer import infer_axes
from vnviz.errors import InputError
from vnviz.figures import axes as fa

# (layout, variant, reduced letters, layer, call, pattern, mean/var shape, affine shape)
VARIANT_PLANS = [
    ("N C H W", "batch_norm", "N H W", "nn.BatchNorm2d(C)", "F.batch_norm(x, None, None, training=True)",
     "n c h w -> 1 c 1 1", "(1, C, 1, 1)", "(C,)"),
    ("N C H W", "layer_norm", "C H W", "nn.LayerNorm([C, H, W])", "F.layer_norm(x, x.shape[-3:])",
     "n c h w -> n 1 1 1", "(N, 1, 1, 1)", "(C, H, W)"),
    ("N C H W", "instance_norm", "H W", "nn.InstanceNorm2d(C, affine=True)", "F.instance_norm(x)",
     "n c h w -> n c 1 1", "(N, C, 1, 1)", "(C,)"),
    ("N C H W", "group_norm", "C H W", "nn.GroupNorm(G, C)", "F.group_norm(x, G)",
     "n (g c) h w -> n g 1 1 1", "(N, G, 1, 1, 1)", "(C,)"),
    ("N C H W", "rms_norm", "C H W", "nn.RMSNorm([C, H, W])", "F.rms_norm(x, x.shape[-3:])",
     "n c h w -> n 1 1 1", "(N, 1, 1, 1)", "(C, H, W)"),
    ("N C L", "batch_norm", "N L", "nn.BatchNorm1d(C)", "F.batch_norm(x, None, None, training=True)",
     "n c l -> 1 c 1", "(1, C, 1)", "(C,)"),
    ("N C L", "layer_norm", "C L", "nn.LayerNorm([C, L])", "F.layer_norm(x, x.shape[-2:])",
     "n c l -> n 1 1", "(N, 1, 1)", "(C, L)"),
    ("N C L", "instance_norm", "L", "nn.InstanceNorm1d(C, affine=True)", "F.instance_norm(x)",
     "n c l -> n c 1", "(N, C, 1)", "(C,)"),
    ("N C L", "group_norm", "C L", "nn.GroupNorm(G, C)", "F.group_norm(x, G)",
     "n (g c) l -> n g 1 1", "(N, G, 1, 1)", "(C,)"),
    ("N C L", "rms_norm", "C L", "nn.RMSNorm([C, L])", "F.rms_norm(x, x.shape[-2:])",
     "n c l -> n 1 1", "(N, 1, 1)", "(C, L)"),
    ("N L D", "batch_norm", "N L", "nn.BatchNorm1d(D) on x.transpose(1, 2)",
     "F.batch_norm(x.transpose(1, 2), None, None, training=True).transpose(1, 2)",
     "n l d -> 1 1 d", "(1, 1, D)", "(D,)"),
    ("N L D", "layer_norm", "D", "nn.LayerNorm(D)", "F.layer_norm(x, x.shape[-1:])",
     "n l d -> n l 1", "(N, L, 1)", "(D,)"),
    ("N L D", "instance_norm", "L", "nn.InstanceNorm1d(D, affine=True) on x.transpose(1, 2)",
     "F.instance_norm(x.transpose(1, 2)).transpose(1, 2)", "n l d -> n 1 d", "(N, 1, D)", "(D,)"),
    ("N L D", "group_norm", "L D", "nn.GroupNorm(G, D) on x.transpose(1, 2)",
     "F.group_norm(x.transpose(1, 2), G).transpose(1, 2)", "n l (g d) -> n 1 g 1", "(N, 1, G, 1)", "(D,)"),
    ("N L D", "rms_norm", "D", "nn.RMSNorm(D)", "F.rms_norm(x, x.shape[-1:])",
     "n l d -> n l 1", "(N, L, 1)", "(D,)"),
    ("N C", "batch_norm", "N", "nn.BatchNorm1d(C)", "F.batch_norm(x, None, None, training=True)",
     "n c -> 1 c", "(1, C)", "(C,)"),
    ("N C", "layer_norm", "C", "nn.LayerNorm(C)", "F.layer_norm(x, x.shape[-1:])", "n c -> n 1", "(N, 1)", "(C,)"),
    ("N C", "group_norm", "C", "nn.GroupNorm(G, C)", "F.group_norm(x, G)", "n (g c) -> n g 1", "(N, G, 1)", "(C,)"),
    ("N C", "rms_norm", "C", "nn.RMSNorm(C)", "F.rms_norm(x, x.shape[-1:])", "n c -> n 1", "(N, 1)", "(C,)"),
    ("N C D H W", "batch_norm", "N D H W", "nn.BatchNorm3d(C)", "F.batch_norm(x, None, None, training=True)",
     "n c d h w -> 1 c 1 1 1", "(1, C, 1, 1, 1)", "(C,)"),
    ("N C D H W", "layer_norm", "C D H W", "nn.LayerNorm([C, D, H, W])", "F.layer_norm(x, x.shape[-4:])",
     "n c d h w -> n 1 1 1 1", "(N, 1, 1, 1, 1)", "(C, D, H, W)"),
    ("N C D H W", "instance_norm", "D H W", "nn.InstanceNorm3d(C, affine=True)", "F.instance_norm(x)",
     "n c d h w -> n c 1 1 1", "(N, C, 1, 1, 1)", "(C,)"),
    ("N C D H W", "group_norm", "C D H W", "nn.GroupNorm(G, C)", "F.group_norm(x, G)",
     "n (g c) d h w -> n g 1 1 1 1", "(N, G, 1, 1, 1, 1)", "(C,)"),
    ("N C D H W", "rms_norm", "C D H W", "nn.RMSNorm([C, D, H, W])", "F.rms_norm(x, x.shape[-4:])",
     "n c d h w -> n 1 1 1 1", "(N, 1, 1, 1, 1)", "(C, D, H, W)"),
    # the channels-first LayerNorm of ConvNeXt and SAM: torch's LayerNorm over C moved last
    ("N C H W", "layer_norm_2d", "C", "nn.LayerNorm(C) on x.movedim(1, -1)",
     "F.layer_norm(x.movedim(1, -1), (C,)).movedim(-1, 1)", "n c h w -> n 1 h w", "(N, 1, H, W)", "(C,)"),
    ("N C L", "layer_norm_2d", "C", "nn.LayerNorm(C) on x.transpose(1, 2)",
     "F.layer_norm(x.transpose(1, 2), (C,)).transpose(1, 2)", "n c l -> n 1 l", "(N, 1, L)", "(C,)"),
    ("N L D", "layer_norm_2d", "D", "nn.LayerNorm(D)", "F.layer_norm(x, (D,))", "n l d -> n l 1", "(N, L, 1)",
     "(D,)"),
    ("N C", "layer_norm_2d", "C", "nn.LayerNorm(C)", "F.layer_norm(x, (C,))", "n c -> n 1", "(N, 1)", "(C,)"),
    ("N C D H W", "layer_norm_2d", "C", "nn.LayerNorm(C) on x.movedim(1, -1)",
     "F.layer_norm(x.movedim(1, -1), (C,)).movedim(-1, 1)", "n c d h w -> n 1 d h w", "(N, 1, D, H, W)", "(C,)"),
]

# (layout, ticked letters, variant or None, first layer, standard)
TICK_PLANS = [
    ("N C H W", "N H W", "batch_norm", "nn.BatchNorm2d(C)", True),
    ("N C H W", "H W", "instance_norm", "nn.InstanceNorm2d(C, affine=True)", True),
    ("N C H W", "C H W", "layer_norm", "nn.LayerNorm([C, H, W])", True),
    ("N C H W", "W", "layer_norm", "nn.LayerNorm(W)", True),
    ("N C H W", "N", None, "nn.BatchNorm1d(C*H*W) on x.flatten(1)", False),
    ("N C H W", "C", "layer_norm_2d", "nn.LayerNorm(C) on x.movedim(1, -1)", True),  # ConvNeXt's, SAM's
    ("N C L", "C", "layer_norm_2d", "nn.LayerNorm(C) on x.transpose(1, 2)", True),
    ("N C H W", "H", None, "nn.LayerNorm(H) on x.movedim(2, -1)", False),
    ("N C H W", "N C", None, "no standard layer", False),
    ("N C H W", "N C H W", None, "no standard layer", False),
    ("N L D", "N L", "batch_norm", "nn.BatchNorm1d(D) on x.transpose(1, 2)", True),
    ("N L D", "N D", "batch_norm", "nn.BatchNorm1d(L)", True),  # BatchNorm1d fed the tokens as they are
    ("N L D", "D", "layer_norm", "nn.LayerNorm(D)", True),
    ("N L D", "L", "instance_norm", "nn.InstanceNorm1d(D, affine=True) on x.transpose(1, 2)", True),
    ("N L D", "L D", "layer_norm", "nn.LayerNorm([L, D])", True),
    ("N C L", "L", "instance_norm", "nn.InstanceNorm1d(C, affine=True)", True),
    ("N C", "N", "batch_norm", "nn.BatchNorm1d(C)", True),
    ("N C", "C", "layer_norm", "nn.LayerNorm(C)", True),
    ("N C D H W", "H W", "layer_norm", "nn.LayerNorm([H, W])", True),
    ("N C D H W", "N D H W", "batch_norm", "nn.BatchNorm3d(C)", True),
]


def every_plan() -> list:
    plans = []
    for layout in LAYOUTS:
        letters = layout.split()
        for k in range(1, len(letters) + 1):
            plans += [axis_plan(layout, r) for r in itertools.combinations(letters, k)]
        plans += [axis_plan(layout, None, v) for v in PLAN_VARIANTS if not (v == "instance_norm" and layout == "N C")]
        plans += [axis_plan(layout, None, "group_norm", g) for g in group_choices(layout)]
    return plans


PLANS = every_plan()


def plan_id(p) -> str:
    how = p.variant if p.variant else "none"
    return f"{p.layout.replace(' ', '')}-{''.join(p.reduce)}-{how}{p.num_groups or ''}"


def reference(x: torch.Tensor, groups: torch.Tensor, centered: bool, eps: float) -> torch.Tensor:
    """float64 normalization of each group of the map (biased variance), independent of any layer."""
    g, v = groups.reshape(-1), x.reshape(-1).double()
    k = int(g.max()) + 1
    count = torch.zeros(k, dtype=torch.float64).index_add_(0, g, torch.ones_like(v))
    if not centered:
        ms = torch.zeros(k, dtype=torch.float64).index_add_(0, g, v * v) / count
        return (v / torch.sqrt(ms[g] + eps)).reshape(x.shape)
    mean = torch.zeros(k, dtype=torch.float64).index_add_(0, g, v) / count
    var = torch.zeros(k, dtype=torch.float64).index_add_(0, g, (v - mean[g]) ** 2) / count
    return ((v - mean[g]) / torch.sqrt(var[g] + eps)).reshape(x.shape)


def einops_mean(x: torch.Tensor, pattern: str, sizes: dict[str, int]) -> torch.Tensor:
    """A small einops.reduce(x, pattern, "mean") for the patterns plans use (one "(g c)" group at most)."""
    left, right = (side.split() for side in re.sub(r"\(([^)]*)\)", lambda m: m.group(1).replace(" ", "+"),
                                                     pattern).split("->"))
    names, view = [], []
    for tok, size in zip(left, x.shape):
        if "+" in tok:
            outer, inner = tok.split("+")
            names += [outer, inner]
            view += [sizes[outer.upper()], size // sizes[outer.upper()]]
        else:
            names.append(tok)
            view.append(size)
    kept = [t for t in right if t != "1"]
    assert kept == [n for n in names if n in kept], "kept axes keep their order"
    assert len(right) == len(names)
    reduced = [i for i, n in enumerate(names) if n not in kept]
    return x.reshape(view).mean(reduced, keepdim=True)


# -- plans for every layout and variant -------------------------------------------------------


def test_variant_plans_cover_every_layer_and_layout():
    """A plan variant of the registry needs its expected plan on every layout it takes, in VARIANT_PLANS."""
    want = {(lay, v) for lay in LAYOUTS for v in PLAN_VARIANTS if len(lay.split()) >= vnviz.VARIANTS[v].min_ndim}
    assert {(c[0], c[1]) for c in VARIANT_PLANS} == want


@pytest.mark.parametrize("case", VARIANT_PLANS, ids=[f"{c[0].replace(' ', '')}-{c[1]}" for c in VARIANT_PLANS])
def test_variant_plans(case):
    layout, variant, reduce, layer, call, pattern, stat, affine = case
    p = axis_plan(layout, None, variant)
    assert p.variant == variant and p.standard
    assert p.reduce == tuple(reduce.split())
    assert (p.layers[0].layer, p.layers[0].call) == (layer, call)
    assert p.pattern == pattern and p.stat_shape == stat and p.affine_shape == affine
    assert p.affine == ("per-element" if variant in ("layer_norm", "rms_norm") else "per-channel")
    assert p.centered == (variant != "rms_norm")
    assert p.shape == DEFAULT_SHAPES[layout] and p.groups.shape == p.shape and p.groups.dtype == torch.long
    assert p.num_stat_groups * p.group_size == math.prod(p.shape)
    assert p.summary.endswith(".") and str(p.num_stat_groups) in p.summary
    if variant == "group_norm":
        assert p.num_groups == 2 and p.sizes["G"] == 2
    else:
        assert p.num_groups is None


@pytest.mark.parametrize("case", TICK_PLANS, ids=[f"{c[0].replace(' ', '')}-{c[1].replace(' ', '')}" for c in TICK_PLANS])
def test_tick_plans(case):
    layout, reduce, variant, layer, standard = case
    p = axis_plan(layout, tuple(reduce.split()))
    assert (p.variant, p.layers[0].layer, p.standard) == (variant, layer, standard)
    if not standard:
        assert len(p.layers) == 2 and p.layers[1].note.startswith("closest standard layer")
        assert p.affine == "none"


def test_ticks_and_variants_agree():
    for layout in LAYOUTS:
        for v in PLAN_VARIANTS:
            if v in ("group_norm", "rms_norm") or (v == "instance_norm" and layout == "N C"):
                continue
            if v == "layer_norm_2d" and layout in ("N C", "N L D"):
                continue  # there it reduces the last dim alone, which the ticks name LayerNorm
            by_variant = axis_plan(layout, None, v)
            by_ticks = axis_plan(layout, by_variant.reduce)
            assert by_ticks.variant == v and by_ticks.layers[0] == by_variant.layers[0]
            assert torch.equal(by_ticks.groups, by_variant.groups)


def test_reduce_as_text_and_any_order():
    assert axis_plan("N C H W", "W,H,N").reduce == ("N", "H", "W")
    assert axis_plan("N C H W", ("W", "N", "H")).layers[0].layer == "nn.BatchNorm2d(C)"


@pytest.mark.parametrize("p", PLANS, ids=plan_id)
def test_every_call_and_module_matches_the_group_map(p):
    """Each plan's functional call and module, run by torch, normalize exactly the plan's groups."""
    x = torch.randn(p.shape, dtype=torch.float64) * 3 + 1
    env = {"x": x, "torch": torch, "nn": nn, "F": F, **p.sizes}
    rms_eps = torch.finfo(torch.float64).eps
    want = reference(x, p.groups, p.centered, 1e-5 if p.centered else rms_eps)
    for layer in p.layers:
        if layer.note.startswith("closest"):
            continue
        torch.testing.assert_close(eval(layer.call, env), want, rtol=1e-7, atol=1e-7, msg=layer.call)
        if layer.layer == "no standard layer":
            continue
        module, _, feed = layer.layer.partition(" on ")
        m = eval(module, env).double()
        with torch.no_grad():
            y = m(eval(feed, env) if feed else x)
        if "transpose" in feed:
            y = y.transpose(1, 2)
        elif "flatten" in feed:
            y = y.view_as(x)
        elif "movedim" in feed:
            y = y.movedim(-1, int(feed.split("(")[1].split(",")[0]))
        torch.testing.assert_close(y, want, rtol=1e-7, atol=1e-7, msg=layer.layer)


@pytest.mark.parametrize("p", PLANS, ids=plan_id)
def test_pattern_and_statistic_shape(p):
    """The einops pattern reduces to the mean/variance shape, and its means are the group means."""
    x = torch.randn(p.shape, dtype=torch.float64)
    mean = einops_mean(x, p.pattern, p.sizes)
    assert tuple(mean.shape) == p.stat_size
    assert len(p.stat_shape.strip("()").rstrip(",").split(",")) == len(p.stat_size)
    view = list(x.shape)
    if "(g" in p.pattern:  # GroupNorm's channel dim is split into (G, C/G)
        c = len(p.shape) - 1 if p.layout == "N L D" else 1
        view = view[:c] + [p.num_groups, view[c] // p.num_groups] + view[c + 1:]
    g = p.groups.reshape(-1)
    group_mean = torch.zeros(p.num_stat_groups, dtype=torch.float64).index_add_(0, g, x.reshape(-1))
    group_mean /= torch.bincount(g).double()
    torch.testing.assert_close(mean.expand(view).reshape(x.shape), group_mean[p.groups], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("p", PLANS, ids=plan_id)
def test_group_map_is_the_reduced_axes(p):
    """Two elements share a group exactly when they agree on every kept axis (GroupNorm: and channel block)."""
    idx = torch.stack(torch.meshgrid(*[torch.arange(s) for s in p.shape], indexing="ij"), -1).reshape(-1, len(p.shape))
    key = [idx[:, d] for d in range(len(p.shape)) if d not in p.dims]
    if p.variant == "group_norm":
        c = len(p.shape) - 1 if p.layout == "N L D" else 1
        key.append(idx[:, c] // (p.shape[c] // p.num_groups))
    key = torch.stack(key, 1) if key else torch.zeros(len(idx), 1, dtype=torch.long)
    _, want = torch.unique(key, dim=0, return_inverse=True)
    assert torch.equal(p.groups.reshape(-1), want)  # row-major numbering of the kept axes
    assert p.num_stat_groups == int(want.max()) + 1


@pytest.mark.parametrize("variant", PLAN_VARIANTS)
@pytest.mark.parametrize("layout", ["N C H W", "N C L", "N C D H W"])
def test_channel_first_group_maps_are_the_registry_s(layout, variant):
    p = axis_plan(layout, None, variant)
    params = {"num_groups": p.num_groups} if variant == "group_norm" else {}
    if variant in ("layer_norm", "rms_norm"):
        params["normalized_shape"] = p.shape[1:]
    assert torch.equal(p.groups, vnviz.stat_groups(variant, p.shape, **params))


def test_group_norm_equivalences_are_listed():
    one = axis_plan("N C H W", None, "group_norm", 1)
    assert [layer.layer for layer in one.layers] == ["nn.GroupNorm(G, C)", "nn.LayerNorm([C, H, W])"]
    assert any("GroupNorm(1, C)" in n and "per channel" in n for n in one.notes)
    every = axis_plan("N C H W", None, "group_norm", 4)
    assert every.layers[1].layer == "nn.InstanceNorm2d(C, affine=True)"
    assert any("is InstanceNorm" in n for n in every.notes)
    inst = axis_plan("N C H W", None, "instance_norm")
    assert {layer.layer for layer in inst.layers[1:]} == {"nn.LayerNorm([H, W])", "nn.GroupNorm(C, C)"}


def test_tokens_traps_are_said():
    fed = axis_plan("N L D", ("N", "D"))
    assert any("takes dim 1, the L positions, for channels" in n for n in fed.notes)
    good = axis_plan("N L D", None, "batch_norm")
    assert any("x.transpose(1, 2)" in n for n in good.notes)
    ln = axis_plan("N L D", None, "layer_norm")
    assert any("L positions as channels" in layer.note for layer in ln.layers[1:])
    row = axis_plan("N C H W", ("W",))
    assert any("normalized_shape is the trailing dims" in n for n in row.notes)
    assert any("mix the samples" in n for n in axis_plan("N C H W", None, "batch_norm").notes)


def test_closest_layer_prefers_the_same_batch_treatment():
    p = axis_plan("N C D H W", ("N",))
    assert p.layers[1].layer == "nn.BatchNorm3d(C)" and "adds D, H, W" in p.layers[1].note
    p = axis_plan("N C H W", ("N", "C"))
    assert p.layers[1].layer == "nn.BatchNorm2d(C)" and "adds H, W and leaves out C" in p.layers[1].note


def test_group_choices_leave_two_values_per_group():
    assert group_choices("N C H W") == [1, 2, 4]
    assert group_choices("N C") == [1, 2, 3]  # GroupNorm(6, 6) on (N, 6) would give groups of one value
    assert group_choices("N L D") == [1, 2, 4]


BAD_PLANS = [
    ("layout", dict(layout="B C H W", variant="batch_norm"), "layout must be one of"),
    ("letter", dict(layout="N C H W", reduce=("N", "L")), "letters of N C H W"),
    ("empty", dict(layout="N C H W", reduce=()), "tick at least one axis"),
    ("both", dict(layout="N C H W", reduce=("N",), variant="batch_norm"), "not both or neither"),
    ("neither", dict(layout="N C H W"), "not both or neither"),
    ("variant", dict(layout="N C H W", variant="cluster_norm"), "variant must be one of"),
    ("groups", dict(layout="N C H W", variant="group_norm", num_groups=3), "must divide the 4 channels"),
    ("one-value", dict(layout="N C", variant="group_norm", num_groups=6), "one value in each group"),
    ("instance-2d", dict(layout="N C", variant="instance_norm"), "needs a spatial axis"),
    ("shape-rank", dict(layout="N C H W", variant="batch_norm", shape=(2, 3)), "4 positive sizes"),
    ("shape-big", dict(layout="N C H W", variant="batch_norm", shape=(64, 64, 8, 8)), "at most 4,096"),
]


@pytest.mark.parametrize("kwargs, words", [(b[1], b[2]) for b in BAD_PLANS], ids=[b[0] for b in BAD_PLANS])
def test_bad_plans_raise_one_sentence(kwargs, words):
    with pytest.raises(InputError) as info:
        axis_plan(**kwargs)
    text = str(info.value)
    assert words in text and text.endswith(".") and len(re.findall(r"[.;] [A-Z]", text)) == 0


def test_custom_shape():
    p = axis_plan("N C H W", None, "batch_norm", shape=(3, 2, 2, 5))
    assert p.stat_size == (1, 2, 1, 1) and p.num_stat_groups == 2 and p.group_size == 30


# -- built-in examples --------------------------------------------------------------------------

# name -> (variant, axes, num_groups, affine, words in the explanation, verdict)
INTENT = {
    "bn1d_tokens": ("batch_norm", (0, 2), None, "none", "BatchNorm1d fed tokens", "mistake"),
    "instance_over_batch": ("batch_norm", (0, 2, 3), None, "none", "averages over the batch (dim 0)", "ok"),
    "unbiased_var": ("instance_norm", (2, 3), None, "none", "unbiased standard deviation", "mistake"),
    "missing_eps": ("instance_norm", (2, 3), None, "none", "eps is missing", "mistake"),
    "layer_norm_tokens": ("layer_norm", (2,), None, "per-element", "LayerNorm over (16,)", "ok"),
    "group_norm": ("group_norm", (1, 2, 3), 2, "per-channel", "GroupNorm(2)", "ok"),
    "batch_norm2d_affine": ("batch_norm", (0, 2, 3), None, "per-channel", "undo the normalization", "ok"),
    "rms_norm": ("rms_norm", (2,), None, "per-element", "RMS-normalizes", "ok"),
    "softmax": (None, (), None, "none", "No normalization over any set of axes explains y", "none"),
    "scale_shift": (None, (), None, "none", "y ≈ 2·x + 1", "none"),
}


def test_the_examples_are_the_ones_intended():
    assert set(EXAMPLES) == set(INTENT)


@pytest.mark.parametrize("name", list(INTENT))
def test_each_example_is_recognised(name):
    ex = EXAMPLES[name]
    x, y = example_pair(name)
    assert x.dtype == torch.float32 and x.shape == y.shape and x.ndim == len(ex.layout.split())
    assert x.numel() <= 2000  # small
    assert ex.description.endswith(".") and ex.title
    r = infer_axes(x, y)
    variant, axes, groups, affine, words, verdict = INTENT[name]
    assert (r.variant, r.axes, r.num_groups, r.affine) == (variant, axes, groups, affine), r.explanation
    assert words in r.explanation, r.explanation
    assert report_verdict(r, tuple(ex.layout.split()))[0] == verdict
    if name == "unbiased_var":
        assert r.variance == "unbiased"
    if name == "missing_eps":
        assert r.eps == 0.0
    if name == "instance_over_batch":
        assert "InstanceNorm" in r.explanation


def test_examples_are_seeded():
    a, b = example_pair("group_norm", 3), example_pair("group_norm", 3)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(example_pair("group_norm", 4)[0], a[0])
    with pytest.raises(InputError, match="no example called"):
        example_pair("nope")


def test_known_traps_are_plain_sentences():
    assert len(KNOWN_TRAPS) >= 8
    assert all(t.endswith(".") and "\n" not in t for t in KNOWN_TRAPS)
    text = " ".join(KNOWN_TRAPS)
    for words in ("normalized_shape means the trailing dims", "GroupNorm(1, C)", "eval mode",
                  "BatchNorm1d on (N, L, D)", "biased variance", "inside the square root"):
        assert words in text


# -- words and uploads ---------------------------------------------------------------------------


def test_report_rows_and_labels():
    x, y = example_pair("group_norm")
    r = infer_axes(x, y)
    rows = dict(report_rows(r, ("N", "C", "H", "W"), tuple(x.shape)))
    assert rows["reduced axes"] == "C, H, W (dims 1, 2, 3)"
    assert rows["matching layer"] == "GroupNorm (num_groups = 2)"
    assert rows["mean / variance shape"] == "(4, 2): one per (sample, group)"
    assert rows["affine"] == "per-channel, shape (6,)"
    assert rows["statistics"] == "mean and biased variance (as torch)"
    rows = dict(report_rows(infer_axes(*example_pair("missing_eps"))))
    assert rows["eps"].startswith("0: eps is MISSING") and rows["reduced axes"] == "dims 2, 3"
    assert axes_text((0, 2), ("N", "L", "D")) == "N, D (dims 0, 2)" and axes_text((), None) == "none"
    labels = [candidate_label(c, ("N", "C", "H", "W")) for c in r.candidates]
    assert len(set(labels)) == len(labels)
    assert labels[0] == "GroupNorm(2) over C, H, W · per-channel affine"


def test_pair_from_arrays():
    x, y = torch.randn(4, 3, 5), torch.randn(4, 3, 5)
    assert pair_from_arrays({"x": x, "y": y}, None)[1] is y
    assert pair_from_arrays({"x": x}, None) is None  # the output file is awaited
    got = pair_from_arrays({"a": x}, {"b": y})
    assert got[0] is x and got[1] is y
    assert pair_from_arrays({"x": x, "junk": y}, {"y": y})[0] is x
    with pytest.raises(InputError, match="keeps the shape"):
        pair_from_arrays({"x": x}, {"y": torch.randn(4, 3, 6)})
    with pytest.raises(InputError, match="name them x and y"):
        pair_from_arrays({"a": x, "b": y}, None)
    with pytest.raises(InputError, match="name them x and y"):
        pair_from_arrays({"a": x, "b": y}, {"y": y})


# -- figures --------------------------------------------------------------------------------------


def test_cube_summary_and_titles():
    p = axis_plan("N C H W", None, "group_norm", 2)
    s = fa.cube_summary(p.groups, p.letters)
    assert s.groups.shape == (2, 4, 9) and s.labels == ("N", "C", "H·W") and s.num_groups == 4
    assert s.highlights == (0, 1, 2, 3)
    assert fa.group_title(s, 3) == "N 1 · C 2–3 · H·W all"
    tokens = axis_plan("N L D", None, "batch_norm")
    t = fa.cube_summary(tokens.groups, tokens.letters, channel=2)
    assert t.groups.shape == (2, 4, 6) and t.labels == ("N", "D", "L")
    assert fa.group_title(t, 1) == "N all · D 1 · L all"
    many = axis_plan("N C H W", ("N", "C"))  # 9 groups: four spread over them
    assert fa.cube_summary(many.groups, many.letters).highlights == (0, 3, 5, 8)
    flat = axis_plan("N C", None, "layer_norm")
    assert fa.cube_summary(flat.groups, flat.letters).labels == ("N", "C", "—")


def test_group_cubes_structure():
    p = axis_plan("N C H W", None, "batch_norm")
    s = fa.cube_summary(p.groups, p.letters)
    f = fa.group_cubes(s)
    fills = [t for t in f.data if t.fill == "toself"]
    colors = {t.fillcolor for t in fills}
    assert {fa.HIGHLIGHT[0], fa.OTHER[0], fa.OTHER[1], fa.OTHER[2]} <= colors
    hover = [t for t in f.data if t.mode == "markers"]
    n, k, pos = s.groups.shape
    assert len(hover) == 4 and len(hover[0].x) == k * pos + n * k + n * pos  # front, top, side cells
    assert "group 0 of 4" in f.layout.annotations[0].text
    assert f.layout.yaxis.scaleanchor == "x" and f.layout.xaxis.visible is False
    empty = fa.group_cubes(None)
    assert not empty.data and empty.layout.title.text == "no statistic groups"
    big = fa.group_cubes(s, scale=1.6)
    assert big.layout.font.size > f.layout.font.size


def test_candidate_bars_and_chart():
    x, y = example_pair("bn1d_tokens")
    r = infer_axes(x, y)
    b = fa.candidate_bars(r, ("N", "L", "D"))
    assert b.chosen == 0 and b.labels[0] == "BatchNorm over N, D · none affine" and b.params[0] == 0
    assert b.explains[0] and not all(b.explains) and len(b.labels) == fa.MAX_BARS
    assert b.residuals[1:] == tuple(sorted(b.residuals[1:]))
    f = fa.candidates_chart(b)
    bar = f.data[0]
    assert f.layout.xaxis.type == "log" and bar.orientation == "h"
    assert bar.marker.color[0] == fa.CHOSEN and fa.FAILS in bar.marker.color
    assert min(bar.x) >= fa.RESIDUAL_FLOOR
    assert any(s.x0 == r.tolerance for s in f.layout.shapes)
    none = fa.candidate_bars(infer_axes(*example_pair("softmax")))
    assert none.chosen is None and not any(none.explains)
    assert not fa.candidates_chart(fa.candidate_bars(None)).data
