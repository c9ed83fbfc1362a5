"""The variant declarations, parameter specs (checks and link text) and device choice."""
from __future__ import annotations

import math

import pytest
import torch
from sentences import assert_one_sentence

import vnviz
from vnviz import InputError, Param
from vnviz.variants.registry import PARAM_KINDS, norm_variants, register

NORMS = tuple(v.name for v in norm_variants(named=True))  # the registry's norms (not ClusterNorm: test_cluster)
TORCH_NAMES = {"eps", "momentum", "weight", "bias", "training", "running_mean", "running_var", "num_groups",
               "normalized_shape", "num_batches_tracked"}
PATTERNS = {  # STYLE 6: the reduction pattern for an (N, C, H, W) input
    "batch_norm": "b c h w -> 1 c 1 1",
    "instance_norm": "b c h w -> b c 1 1",
    "layer_norm": "b c h w -> b 1 1 1",
    "rms_norm": "b c h w -> b 1 1 1",
    "layer_norm_2d": "b c h w -> b 1 h w",
}
REFERENCES = {  # the torch class each norm's title and reference name, written here
    "batch_norm": "BatchNorm", "layer_norm": "LayerNorm", "instance_norm": "InstanceNorm",
    "group_norm": "GroupNorm", "rms_norm": "RMSNorm", "layer_norm_2d": "LayerNorm",
}
EPS_DEFAULTS = {"batch_norm": 1e-5, "layer_norm": 1e-5, "instance_norm": 1e-5, "group_norm": 1e-5, "rms_norm": None,
                "layer_norm_2d": 1e-6}  # ConvNeXt's and SAM's LayerNorm2d use 1e-6



def widget_params():
    for name in NORMS:
        for p in vnviz.VARIANTS[name].widget_params:
            yield pytest.param(name, p, id=f"{name}.{p.name}")


def all_params():
    for name in NORMS:
        for p in vnviz.VARIANTS[name].params:
            yield pytest.param(name, p, id=f"{name}.{p.name}")


# -- declarations -------------------------------------------------------------------


def test_every_norm_is_registered():
    assert set(REFERENCES) <= set(vnviz.VARIANTS)
    for name in NORMS:
        assert vnviz.get_variant(name) is vnviz.VARIANTS[name]
        assert vnviz.VARIANTS[name].name == name


def test_these_tables_cover_every_registered_norm():
    assert set(REFERENCES) == set(EPS_DEFAULTS) == set(NORMS), "a new norm needs its rows in this module's tables"
    assert set(PATTERNS) <= set(NORMS)


@pytest.mark.parametrize("name", NORMS)
def test_declaration_is_complete(name):
    v = vnviz.VARIANTS[name]
    assert isinstance(v, vnviz.Variant)
    assert v.family == "norm"
    assert v.title and REFERENCES[name] in v.title
    assert v.summary and v.summary.endswith(".") and "\n" not in v.summary and len(v.summary) < 200
    assert "->" in v.pattern and v.pattern.startswith("b ")
    if name in PATTERNS:
        assert v.pattern == PATTERNS[name]
    assert v.reference.startswith("torch.nn.") and REFERENCES[name] in v.reference
    assert callable(v.fn) and callable(v.groups)
    assert v.stat in ("standardize", "rms")
    assert v.affine in ("channel", "trailing", "none")
    assert v.params, "no parameters declared"
    assert len(set(v.param_names)) == len(v.param_names), "a parameter is declared twice"


@pytest.mark.parametrize("name, p", list(all_params()))
def test_param_declaration(name, p):
    assert isinstance(p, Param)
    assert p.kind in PARAM_KINDS
    assert p.name in TORCH_NAMES, f"{p.name} is not a torch parameter name"
    assert p.help and "\n" not in p.help and len(p.help) < 200
    if p.low is not None and p.high is not None:
        assert p.low <= p.high
    if p.kind == "choice":
        assert p.default in p.choices
    assert vnviz.VARIANTS[name].param(p.name) is p


def test_declared_semantics():
    v = vnviz.VARIANTS
    assert v["rms_norm"].stat == "rms"
    assert v["layer_norm"].affine == v["rms_norm"].affine == "trailing"
    assert v["batch_norm"].affine == v["group_norm"].affine == v["instance_norm"].affine == "channel"
    assert "bias" not in v["rms_norm"].param_names
    assert v["instance_norm"].min_ndim == 3
    eps = {name: v[name].param("eps") for name in NORMS}
    assert all(p.low == 0 for p in eps.values())
    assert eps["rms_norm"].default is None and eps["rms_norm"].optional
    assert all(eps[n].default == EPS_DEFAULTS[n] for n in NORMS)
    m = v["batch_norm"].param("momentum")
    assert (m.default, m.low, m.high, m.optional) == (0.1, 0.0, 1.0, True)
    assert v["batch_norm"].param("training").default is True
    assert v["group_norm"].param("num_groups").low == 1


@pytest.mark.parametrize("name, p", list(widget_params()))
def test_widget_default_passes_its_own_check(name, p):
    assert p.check(p.default, "test") == p.default


@pytest.mark.parametrize("name", NORMS)
def test_defaults_run(name):
    v = vnviz.VARIANTS[name]
    x = torch.randn(4, 6, 5)
    y = vnviz.apply(name, x, **v.defaults())
    assert y.shape == x.shape
    assert torch.isfinite(y).all()
    assert set(v.defaults()) == {p.name for p in v.widget_params}


def test_non_widget_params_are_tensors():
    for name in NORMS:
        for p in vnviz.VARIANTS[name].params:
            assert p.widget == (p.kind not in ("tensor",)), p


def test_unknown_param_names_the_known_ones():
    with pytest.raises(InputError) as info:
        vnviz.VARIANTS["group_norm"].param("groups")
    assert_one_sentence(info.value)
    assert "num_groups" in str(info.value)


def test_unknown_variant_names_the_known_ones():
    for bad in ("batchnorm", "", None, 3, ["batch_norm"]):
        with pytest.raises(InputError) as info:
            vnviz.get_variant(bad)
        assert_one_sentence(info.value)
        assert "batch_norm" in str(info.value) and "group_norm" in str(info.value)


def test_register_twice_is_refused():
    with pytest.raises(ValueError):
        register(vnviz.VARIANTS["batch_norm"])
    assert vnviz.VARIANTS["batch_norm"].name == "batch_norm"


# -- Param.check ----------------------------------------------------------------------

EPS = vnviz.VARIANTS["batch_norm"].param("eps")
MOMENTUM = vnviz.VARIANTS["batch_norm"].param("momentum")
TRAINING = vnviz.VARIANTS["batch_norm"].param("training")
NUM_GROUPS = vnviz.VARIANTS["group_norm"].param("num_groups")
NS = vnviz.VARIANTS["layer_norm"].param("normalized_shape")
WEIGHT = vnviz.VARIANTS["layer_norm"].param("weight")

GOOD_CHECKS = [
    (EPS, 0, 0.0), (EPS, 1e-5, 1e-5), (EPS, 3, 3.0), (EPS, torch.tensor(0.5), 0.5),
    (MOMENTUM, 0.0, 0.0), (MOMENTUM, 1, 1.0), (MOMENTUM, None, None), (MOMENTUM, 0.5, 0.5),
    (TRAINING, True, True), (TRAINING, False, False), (TRAINING, 0, False), (TRAINING, 1, True),
    (NUM_GROUPS, 1, 1), (NUM_GROUPS, 12, 12), (NUM_GROUPS, None, None), (NUM_GROUPS, torch.tensor(3), 3),
    (NS, 5, (5,)), (NS, (4, 5), (4, 5)), (NS, [4, 5], (4, 5)), (NS, torch.Size([4, 5]), (4, 5)), (NS, None, None),
]


def _id(v) -> str:
    return v.name if isinstance(v, Param) else repr(v)[:30]


@pytest.mark.parametrize("p, value, expected", GOOD_CHECKS, ids=_id)
def test_param_check_normalises(p, value, expected):
    got = p.check(value, "test")
    assert got == expected and type(got) is type(expected)


BAD_CHECKS = [
    (EPS, -1e-9), (EPS, float("nan")), (EPS, float("inf")), (EPS, -math.inf), (EPS, True), (EPS, "0.1"), (EPS, [0.1]),
    (EPS, 10**400), (EPS, torch.tensor([0.1, 0.2])),
    (MOMENTUM, 1.5), (MOMENTUM, -0.01), (MOMENTUM, "0.1"),
    (TRAINING, 2), (TRAINING, "true"), (TRAINING, None), (TRAINING, 1.0),
    (NUM_GROUPS, 0), (NUM_GROUPS, -1), (NUM_GROUPS, 2.0), (NUM_GROUPS, "2"), (NUM_GROUPS, True), (NUM_GROUPS, 2.5),
    (NUM_GROUPS, torch.tensor(2.5)),
    (NS, 0), (NS, -1), (NS, ()), (NS, (4, 0)), (NS, "45"), (NS, 4.0), (NS, (4.0, 5.0)), (NS, True), (NS, (True,)),
]


@pytest.mark.parametrize("p, value", BAD_CHECKS, ids=_id)
def test_param_check_refuses(p, value):
    try:
        p.check(value, "Test")
    except Exception as err:  # noqa: BLE001
        assert_one_sentence(err)
        assert p.name in str(err)
    else:
        raise AssertionError(f"{p.name}={value!r} was accepted")


def test_allowed_in_words():
    assert MOMENTUM.allowed() == ">= 0 and <= 1 (or None)"
    assert EPS.allowed() == ">= 0"
    assert Param("p", "float", 0.5, "h", low=0, high=1, high_open=True).allowed() == ">= 0 and < 1"
    assert Param("p", "choice", "a", "h", choices=("a", "b")).allowed() == "one of a, b"


def test_open_bounds():
    p = Param("p", "float", 0.5, "h", low=0.0, high=1.0, low_open=True, high_open=True)
    for bad in (0.0, 1.0):
        with pytest.raises(InputError):
            p.check(bad, "t")
    assert p.check(0.999, "t") == 0.999


def test_choice_param():
    p = Param("kind", "choice", "causal", "h", choices=("causal", "band"))
    assert p.check("band", "t") == "band"
    with pytest.raises(InputError) as info:
        p.check("diag", "t")
    assert_one_sentence(info.value)
    assert p.from_text(p.to_text("band")) == "band"
    with pytest.raises(InputError):
        p.from_text("diag")


# -- links: to_text / from_text -----------------------------------------------------------

SAMPLE_VALUES = {
    "float": [0.0, 1e-5, 1e-3, 0.1, 0.5, 1.0, 2.5, 1e-12, 0.30000000000000004],
    "int": [1, 2, 3, 12, 64],
    "bool": [True, False],
    "shape": [(5,), (4, 5), (1, 2, 3)],
    "affine": [0.0, 1.0, -0.5, 2.25, 1e-7],
}


@pytest.mark.parametrize("name, p", list(widget_params()))
def test_link_text_round_trip(name, p):
    values = [p.default] + [v for v in SAMPLE_VALUES.get(p.kind, []) if _accepts(p, v)]
    if p.optional or p.default is None:
        values.append(None)
    for value in values:
        text = p.to_text(value)
        assert isinstance(text, str) and "&" not in text and "=" not in text and " " not in text
        back = p.from_text(text)
        assert back == value, f"{p.name}: {value!r} -> {text!r} -> {back!r}"
        if value is not None:
            assert type(back) is type(p.check(value, "t"))
        assert p.from_text(f" {text} ") == back  # surrounding blanks are forgiven


def _accepts(p: Param, value) -> bool:
    try:
        p.check(value, "t")
    except InputError:
        return False
    return True


GARBAGE_TEXT = {
    "float": ["abc", "nan", "inf", "-inf", "1,2", "0x", "1e400", "--1"],
    "int": ["abc", "2.5", "1e3", "x2", "0", "-3", "1,2"],
    "bool": ["maybe", "2", "tru", "none"],
    "shape": ["a,b", "-1,2", "0", "4,0", "4;5", "4.0"],
    "affine": ["abc", "nan", "inf", "1,2"],
}


@pytest.mark.parametrize("name, p", list(widget_params()))
def test_link_text_garbage_is_input_error(name, p):
    bad = list(GARBAGE_TEXT.get(p.kind, []))
    if p.low is not None:
        bad.append(repr(p.low - 1))
    if p.high is not None:
        bad.append(repr(p.high + 0.5))
    if not (p.optional or p.default is None):
        bad += ["", "none"]
    assert bad
    for text in bad:
        try:
            p.from_text(text, "link")
        except Exception as err:  # noqa: BLE001
            assert_one_sentence(err)
        else:
            raise AssertionError(f"{p.name}: from_text({text!r}) was accepted")


def test_link_text_examples():
    assert EPS.to_text(1e-5) == "1e-05"
    assert EPS.from_text("1e-05") == 1e-5
    assert TRAINING.to_text(False) == "false"
    assert TRAINING.from_text("FALSE") is False and TRAINING.from_text("on") is True
    assert NS.to_text((4, 5)) == "4,5" and NS.from_text("4,5") == (4, 5)
    assert MOMENTUM.to_text(None) == "none" and MOMENTUM.from_text("None") is None
    assert NUM_GROUPS.from_text("4") == 4 and NUM_GROUPS.from_text("") is None


# -- device ---------------------------------------------------------------------------------

HAS_GPU = torch.cuda.is_available() or (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available())


@pytest.mark.skipif(HAS_GPU, reason="a GPU is present")
def test_pick_device_is_cpu_here():
    assert vnviz.pick_device() == torch.device("cpu")
    assert vnviz.pick_device("auto") == torch.device("cpu")
    assert vnviz.pick_device("cpu") == torch.device("cpu")
    assert vnviz.describe_device(vnviz.pick_device()).startswith("CPU")


def test_pick_device_cpu_always_works():
    assert vnviz.pick_device("cpu").type == "cpu"
    assert vnviz.pick_device().type in ("cuda", "mps", "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present")
def test_pick_device_cuda_without_cuda_is_input_error():
    with pytest.raises(InputError) as info:
        vnviz.pick_device("cuda")
    assert_one_sentence(info.value)
    assert "cpu" in str(info.value)


@pytest.mark.parametrize("bad", ["gpu", "CUDA", "", "cuda:0", None, 0, "tpu"])
def test_pick_device_bad_name_is_input_error(bad):
    with pytest.raises(InputError) as info:
        vnviz.pick_device(bad)
    assert_one_sentence(info.value)


def test_apply_result_is_on_the_input_device():
    x = torch.randn(4, 3, 5, device=vnviz.pick_device("cpu"))
    for name in NORMS:
        assert vnviz.apply(name, x).device == x.device
