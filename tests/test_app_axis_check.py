"""The Axis check page under AppTest: plans, examples, uploads, links; no exception anywhere."""
from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from vnviz.analysis.pairs import EXAMPLES
import apptest_support as support
from apptest_support import assert_clean, charts, link, texts

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "axis_check.py")
KEY = "ax:"
# example -> the kind of headline it gets
HEADLINES = {
    "bn1d_tokens": "warning", "instance_over_batch": "success", "unbiased_var": "warning", "missing_eps": "warning",
    "layer_norm_tokens": "success", "group_norm": "success", "batch_norm2d_affine": "success", "rms_norm": "success",
    "softmax": "info", "scale_shift": "info",
}


def open_page(query: dict[str, str] | None = None) -> AppTest:
    return support.open_page(PAGE, query)


def markdown(at: AppTest) -> str:
    return "\n".join(texts(at, "markdown"))


def one_sentence(text: str) -> bool:
    return text.endswith(".") and not re.search(r"[.!?] [A-Z]", text)


def test_default_view():
    at = open_page()
    assert_clean(at)
    assert link(at) == {}  # every value is its default: N C H W, a torch layer, BatchNorm, the token example
    assert at.selectbox(key="dims").value == "N C H W" and at.selectbox(key="layer").value == "batch_norm"
    assert at.selectbox(key="example").value == "bn1d_tokens"
    md = markdown(at)
    assert "nn.BatchNorm2d(C)" in md and "n c h w -> 1 c 1 1" in md and "(1, C, 1, 1)" in md
    assert len(charts(at)) == 3  # the boxes, every group at once, the candidates
    assert any("Known traps" in e.label for e in at.expander)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_each_example(name):
    at = open_page({"example": name})
    assert_clean(at)
    assert link(at).get("example", "bn1d_tokens") == name == at.selectbox(key="example").value
    kind = HEADLINES[name]
    assert texts(at, kind), f"a {kind} headline"
    md = markdown(at)
    assert "reduced axes" in md and "relative residual" in md
    bars = charts(at)[-1]["data"][0]
    assert bars["orientation"] == "h" and len(bars["y"]) >= 5
    if name == "bn1d_tokens":
        assert "BatchNorm1d fed (N, L, D) tokens" in texts(at, "warning")[0]
    if name == "group_norm":
        assert "GroupNorm(2) over C, H, W" in texts(at, "success")[0]


def test_ticking_axes():
    at = open_page()
    at.radio(key="by").set_value("axes").run()
    assert_clean(at)
    pills = at.button_group(key="reduce")
    assert list(pills.value) == ["N", "H", "W"]  # starts from the layer shown so far
    assert "Reduces over N, H, W" in markdown(at) and "reduce" not in link(at)  # the layer's axes: the default
    pills.set_value(["H", "W"]).run()
    assert_clean(at)
    assert "Reduces over H, W" in markdown(at)
    assert "nn.InstanceNorm2d(C, affine=True)" in markdown(at)
    at.button_group(key="reduce").set_value(["N", "C"]).run()
    assert_clean(at)
    md = markdown(at)
    assert "no standard layer" in md and "F.layer_norm(x.permute(2, 3, 0, 1), (N, C))" in md
    assert "nn.BatchNorm2d(C)" in md  # the closest one
    at.button_group(key="reduce").set_value([]).run()
    assert not at.exception
    assert any("Tick at least one axis" in t for t in texts(at, "info"))


def test_variant_mode_and_group_norm():
    at = open_page()
    at.selectbox(key="layer").set_value("group_norm").run()
    assert_clean(at)
    assert at.selectbox(key="groups").value == 2
    at.selectbox(key="groups").set_value(4).run()
    assert_clean(at)
    md = markdown(at)
    assert "nn.GroupNorm(G, C)" in md and "GroupNorm(C, C) is InstanceNorm" in md
    at.radio(key="by").set_value("axes").run()  # away and back: the layer stays chosen
    assert list(at.button_group(key="reduce").value) == ["C", "H", "W"]
    at.radio(key="by").set_value("variant").run()
    assert_clean(at)
    assert at.selectbox(key="layer").value == "group_norm" and at.selectbox(key="groups").value == 4
    at.selectbox(key="dims").set_value("N L D").run()
    assert_clean(at)
    assert "nn.GroupNorm(G, D) on x.transpose(1, 2)" in markdown(at)
    cubes = charts(at)[0]
    assert "group 0 of 8" in cubes["layout"]["annotations"][0]["text"]


def _npz(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _group_norm_pair() -> tuple[np.ndarray, np.ndarray]:
    x = torch.randn(5, 6, 4, 4, generator=torch.Generator().manual_seed(1)) * 2 + 1
    with torch.no_grad():
        y = torch.nn.GroupNorm(3, 6)(x)
    return x.numpy(), y.numpy()


def test_upload_one_npz_then_a_mismatched_pair_keeps_the_good_one():
    at = open_page({"example": "upload"})
    assert_clean(at)
    assert any("Upload the layer's input" in t for t in texts(at, "info"))
    x, y = _group_norm_pair()
    at.file_uploader(key=KEY + "x_file").upload("pair.npz", _npz(x=x, y=y)).run()
    assert_clean(at)
    assert "GroupNorm(3) over C, H, W" in texts(at, "success")[0]
    assert link(at)["example"] == "upload"
    at.file_uploader(key=KEY + "x_file").upload("x.npy", _npy(x)).run()
    assert not at.exception
    assert any("Now upload the output y" in t for t in texts(at, "info"))
    at.file_uploader(key=KEY + "y_file").upload("y.npy", _npy(y[:, :, :3])).run()
    assert not at.exception
    errors = texts(at, "error")
    assert len(errors) == 1 and one_sentence(errors[0]) and "(5, 6, 4, 4)" in errors[0] and "(5, 6, 3, 4)" in errors[0]
    assert "GroupNorm(3) over C, H, W" in texts(at, "success")[0]  # what the user had stays
    assert any("previous pair" in c.value for c in at.caption)


def test_upload_a_float16_pair_is_recognised():
    """A real float16 GroupNorm(3) pair: the check's tolerance follows the pair's dtype, so the page names it (issue 17:
    the upload used to cast it to float32, whose tolerance is finer than float16's own rounding of y)."""
    x, _ = _group_norm_pair()
    xh = torch.from_numpy(x).half()
    with torch.no_grad():
        yh = torch.nn.GroupNorm(3, 6).half()(xh)
    at = open_page({"example": "upload"})
    at.file_uploader(key=KEY + "x_file").upload("pair16.npz", _npz(x=xh.numpy(), y=yh.numpy())).run()
    assert_clean(at)
    assert "GroupNorm(3) over C, H, W" in texts(at, "success")[0]
    assert "pair16.npz: Your pair, shape (5, 6, 4, 4), float16." in [c.value for c in at.caption]


def test_upload_two_files_and_a_bad_file():
    at = open_page({"example": "upload"})
    x, y = _group_norm_pair()
    at.file_uploader(key=KEY + "x_file").upload("x.npy", _npy(x)).run()
    at.file_uploader(key=KEY + "y_file").upload("y.npy", _npy(2 * y + 1)).run()
    assert_clean(at)
    assert "GroupNorm(3)" in texts(at, "success")[0]
    assert "x.npy → y.npy: Your pair, shape (5, 6, 4, 4), float32." in [c.value for c in at.caption]
    at.selectbox(key=KEY + "check_layout").set_value("dims only").run()
    assert_clean(at)
    assert "dims 1, 2, 3" in markdown(at)
    at.file_uploader(key=KEY + "y_file").upload("bad.npy", b"\x93NUMPY" + b"garbage").run()
    assert not at.exception
    errors = texts(at, "error")
    assert len(errors) == 1 and "bad.npy" in errors[0]
    assert "GroupNorm(3)" in texts(at, "success")[0]
    at.file_uploader(key=KEY + "y_file").upload("y.npy", _npy(np.zeros_like(y))).run()
    assert not at.exception
    errors = texts(at, "error")
    assert len(errors) == 1 and "all zeros" in errors[0]


def test_link_round_trip():
    query = {"layout": "N L D", "reduce": "N,D", "example": "rms_norm"}  # an older link: its names and form
    first = open_page(query)
    assert_clean(first)
    assert link(first) == {"dims": "N L D", "reduce": ["N", "D"], "by": "axes", "example": "rms_norm"}
    query = link(first)
    assert "nn.BatchNorm1d(L)" in markdown(first)
    assert any("takes dim 1, the L positions" in m for m in texts(first, "markdown"))
    second = open_page(link(first))
    assert_clean(second)
    assert link(second) == query and markdown(second) == markdown(first)
    assert charts(first)[0]["data"][0]["x"] == charts(second)[0]["data"][0]["x"]
    gn = open_page({"layout": "N C D H W", "variant": "group_norm", "num_groups": "4", "example": "group_norm"})
    assert_clean(gn)
    assert link(gn) == {"dims": "N C D H W", "layer": "group_norm", "groups": "4", "example": "group_norm"}


def test_invalid_link_values_fall_back_with_a_notice():
    at = open_page({"layout": "B C H W", "reduce": "N,Q", "num_groups": "many", "example": "nope", "zzz": "1"})
    assert_clean(at)
    notices = " ".join(texts(at, "info"))
    for key in ("dims", "reduce", "groups", "example", "zzz"):
        assert key in notices
    assert link(at) == {}  # the defaults, which the link leaves out


def test_link_values_that_do_not_fit_the_layout():
    at = open_page({"layout": "N C", "reduce": "N,H"})
    assert_clean(at)
    assert any("H is not an axis of N C" in t for t in texts(at, "info"))
    assert list(at.button_group(key="reduce").value) == ["N"] and "nn.BatchNorm1d(C)" in markdown(at)
    assert "reduce" not in link(at)  # N alone: BatchNorm's axes on N C, where the ticks start
    at = open_page({"layout": "N C H W", "variant": "group_norm", "num_groups": "3"})
    assert_clean(at)
    assert any("groups=3 does not fit N C H W's example" in t for t in texts(at, "info"))
    assert at.selectbox(key="groups").value == 2 and "groups" not in link(at)
    at = open_page({"layout": "N C", "variant": "instance_norm"})
    assert_clean(at)
    assert any("InstanceNorm needs a spatial axis" in t for t in texts(at, "info"))
    assert at.selectbox(key="layer").value == "batch_norm" and "layer" not in link(at)


def test_presenter_mode():
    at = open_page({"present": "1", "variant": "layer_norm"})
    assert_clean(at)
    assert link(at)["present"] == "1"
    assert charts(at)[0]["layout"]["font"]["size"] > 14


def test_layer_norm_2d_plan_and_check_my_layer():
    at = open_page({"layer": "layer_norm_2d"})
    assert_clean(at)
    assert at.selectbox(key="layer").value == "layer_norm_2d"
    md = markdown(at)
    assert "nn.LayerNorm(C) on x.movedim(1, -1)" in md and "n c h w -> n 1 h w" in md
    x = torch.randn(5, 6, 4, 4, generator=torch.Generator().manual_seed(2)) * 2 + 1
    with torch.no_grad():  # ConvNeXt's channels-first LayerNorm, made by torch's own module
        y = torch.nn.LayerNorm(6, eps=1e-6)(x.movedim(1, -1)).movedim(-1, 1)
    at = open_page({"example": "upload"})
    at.file_uploader(key=KEY + "x_file").upload("pair.npz", _npz(x=x.numpy(), y=y.numpy())).run()
    assert_clean(at)
    assert "LayerNorm2d over C (dim 1)" in texts(at, "success")[0]
