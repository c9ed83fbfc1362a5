"""The Slice & Mask page under AppTest (every mask kind, both modes, slices, links, uploads), plus its
matrix sources and figure summaries. No exception anywhere; figures checked by structure, numbers by value."""
from __future__ import annotations

import base64
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

import vnviz
from vnviz.analysis.matrix import SLICING_FORMS
from vnviz.data.generators import MAX_ELEMENTS
from vnviz.data.matrices import MATRIX_SOURCES, load_matrices, make_matrix
from vnviz.analysis import matrix_view as mv
from vnviz.figures import matrix as fm
from vnviz.variants.matrix import MASK_KINDS, build_mask
import apptest_support as support
from apptest_support import assert_clean, link, texts

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "slice_mask.py")
TIMEOUT = 60
SMALL = {"matrix": "gaussian", "matrix_shape": "8,8"}
# extra link parameters that make each kind remove something on an 8x8 matrix
KIND_PARAMS = {"rows": {"index": "1,6"}, "cols": {"index": "0"}, "magnitude": {"sparsity": "0.25"}}


# -- helpers ---------------------------------------------------------------------------


def open_page(query: dict[str, str] | None = None) -> AppTest:
    return support.open_page(PAGE, query)


def charts(at: AppTest) -> dict[str, dict]:
    """Plotly specs by chart key (every chart of the page has one; the element id ends with it)."""
    return {c.proto.id.split("-", 2)[-1]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def arr(v) -> np.ndarray:
    """A plotly data array: a typed array ({dtype, bdata, shape}) or a plain list (None -> NaN)."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        shape = tuple(int(s) for s in str(v.get("shape", len(a))).split(","))
        return a.reshape(shape).astype(float)
    return np.array([np.nan if e is None else e for e in v] if v and not isinstance(v[0], list) else
                    [[np.nan if e is None else e for e in row] for row in v], dtype=float)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


# -- the mask --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["multiply", "fill"])
@pytest.mark.parametrize("kind", [k for k in MASK_KINDS if k != "custom"])
def test_every_mask_kind_and_mode(kind, mode):
    query = {**SMALL, "op": "matrix_mask", "kind": kind, "mask_mode": mode, **KIND_PARAMS.get(kind, {})}
    if mode == "fill":
        query["value"] = "-inf"
    at = open_page(query)
    assert_clean(at)
    q = link(at)  # what the link holds: the query without its defaults (kind causal, mode multiply, value -inf)
    assert q.get("kind", "causal") == kind == at.selectbox(key="kind").value
    assert q.get("mask_mode", "multiply") == mode == at.selectbox(key="mask_mode").value and "op" not in q
    assert ("value" in [w.key for w in at.selectbox]) == (mode == "fill") and "value" not in q
    # the numbers shown are the library's, computed independently here
    x = make_matrix("gaussian", (8, 8), 0).x
    api = {"mask_mode": "mode"}  # the mask's mode has its own link key ("mode" is ClusterNorm's)
    params = {api.get(k, k): VARIANT.param(api.get(k, k)).from_text(v) for k, v in query.items()
              if api.get(k, k) in VARIANT.param_names and k != "seed"}
    if kind == "padding":  # the page's default lengths for this matrix (its box shows them)
        params.setdefault("lengths", VARIANT.param("lengths").from_text(at.text_input(key="lengths").value))
    params.setdefault("lengths", None)
    if kind == "random":
        params["seed"] = 0
    keep = build_mask(x, **{k: v for k, v in params.items() if k not in ("mode", "value", "scale")})
    removed = int((~keep).sum())
    shown = metrics(at)
    assert f"{removed} / 64" in shown.values(), shown
    assert removed > 0
    figs = charts(at)
    assert set(figs) == {"before_after", "mask", "kept", "products", "softmax_probs", "softmax_rows"}
    ba = figs["before_after"]
    heat = [t for t in ba["data"] if t["type"] == "heatmap" and t.get("coloraxis")]
    assert len(heat) == 2 and {t["coloraxis"] for t in heat} == {"coloraxis"}  # one shared colour scale
    after = arr(heat[1]["z"])
    overlays = [t for t in ba["data"] if t["type"] == "heatmap" and not t.get("coloraxis")]
    if mode == "fill":  # removed entries are -inf: a gap in the value scale, painted by their own trace
        assert np.isnan(after[~keep.numpy()]).all()
        assert [t["name"] for t in overlays] == ["−inf (filled)"]
        assert np.array_equal(~np.isnan(arr(overlays[0]["z"])), ~keep.numpy())
    else:
        assert not overlays and (after[~keep.numpy()] == 0).all()
    y = vnviz.apply("matrix_mask", x, **params)
    finite = torch.isfinite(y)
    np.testing.assert_allclose(after[finite.numpy()], y[finite].numpy(), rtol=1e-6)
    kept = arr(figs["kept"]["data"][0]["y"])
    assert kept.tolist() == keep.sum(-1).tolist()


VARIANT = vnviz.VARIANTS["matrix_mask"]


def test_causal_8x8_numbers():
    at = open_page({**SMALL, "op": "matrix_mask", "kind": "causal"})
    assert_clean(at)
    shown = metrics(at)
    assert shown["removed (sparsity 43.8%)"] == "28 / 64"  # 28 of 64 entries above the diagonal
    x = make_matrix("gaussian", (8, 8), 0).x
    assert float(shown["retained energy ‖B‖/‖A‖"]) == pytest.approx(float(x.tril().norm() / x.norm()), abs=1e-3)
    assert shown["fully masked rows"] == "0 of 8"
    figs = charts(at)
    mask = arr(figs["mask"]["data"][0]["z"])
    assert np.array_equal(mask, np.tril(np.ones((8, 8))))
    assert arr(figs["kept"]["data"][1]["y"]).tolist() == list(range(8, 0, -1))  # kept per column
    probs = figs["softmax_probs"]["data"]
    mul, fill = arr(probs[0]["customdata"]), arr(probs[1]["customdata"])
    upper = ~np.tril(np.ones((8, 8), dtype=bool))
    assert (mul[upper] > 0).all() and (fill[upper] == 0).all()  # a zero logit still gets probability
    np.testing.assert_allclose(fill.sum(1), 1.0, rtol=1e-5)
    assert any("a zero logit still gets probability" in m for m in texts(at, "markdown"))
    assert not texts(at, "warning")


def test_fully_masked_rows_explained_with_the_safe_softmax():
    at = open_page({**SMALL, "op": "matrix_mask", "kind": "padding", "lengths": "0,1,2,3,4,5,6,0",
                    "mask_mode": "fill", "value": "-inf"})
    assert_clean(at)
    assert metrics(at)["fully masked rows"] == "2 of 8"
    warning = texts(at, "warning")
    assert len(warning) == 1 and "2 of 8 rows are fully masked" in warning[0] and "NaN" in warning[0]
    assert any("keep.any(dim=-1, keepdim=True)" in c.value for c in at.code)
    probs = charts(at)["softmax_probs"]
    names = [t.get("name") for t in probs["data"]]
    assert "NaN" in names and "NaN (fully masked row)" in names
    fill = arr(probs["data"][1]["customdata"])
    assert np.isnan(fill[[0, 7]]).all() and not np.isnan(fill[1:7]).any()


def _after_title(at: AppTest) -> str:
    return charts(at)["before_after"]["layout"]["annotations"][1]["text"]


def test_fill_value_choices_and_typed_text():
    at = open_page({**SMALL, "op": "matrix_mask", "mask_mode": "fill"})
    choice = at.selectbox(key="value")
    assert choice.value == "-inf" and "removed → −inf" in _after_title(at)  # fill's default: -inf, not 0.0
    lowest = repr(float(torch.finfo(torch.float32).min))
    assert choice.options == ["-inf", "0.0", lowest]
    choice.set_value(lowest).run()
    assert_clean(at)
    assert f"removed → {lowest.replace('-', '−')}" in _after_title(at)
    typed = open_page({**SMALL, "op": "matrix_mask", "mask_mode": "fill", "value": "-2.5"})  # a number, typed or linked
    assert_clean(typed)
    assert typed.selectbox(key="value").value == "-2.5" and "removed → −2.5" in _after_title(typed)
    nan = open_page({**SMALL, "op": "matrix_mask", "mask_mode": "fill", "value": "nan"})
    assert not nan.exception and nan.selectbox(key="value").value == "-inf"
    assert any("value='nan' is not valid" in t or "not NaN" in t for t in texts(nan, "info"))
    at = open_page({**SMALL, "op": "matrix_mask", "mask_mode": "fill"})  # (AppTest cannot send a typed option on)
    at.selectbox(key="mask_mode").set_value("multiply").run()
    assert_clean(at)
    assert "value" not in [w.key for w in at.selectbox]


def test_random_mask_follows_the_page_seed():
    at = open_page({**SMALL, "op": "matrix_mask", "kind": "random", "p": "0.5", "seed": "3"})
    assert_clean(at)
    keep = build_mask((8, 8), "random", p=0.5, seed=3)
    assert metrics(at)[next(k for k in metrics(at) if k.startswith("removed"))] == f"{int((~keep).sum())} / 64"
    assert link(at)["seed"] == "3"


def test_changing_the_kind_redraws_and_relinks():
    at = open_page({**SMALL, "op": "matrix_mask", "kind": "causal"})
    before = arr(charts(at)["mask"]["data"][0]["z"])
    at.selectbox(key="kind").set_value("band").run()
    assert_clean(at)
    keys = [w.key for w in at.number_input]
    assert "width" in keys and "diagonal" not in keys  # the band's parameter is shown, the causal one hidden
    assert not np.array_equal(arr(charts(at)["mask"]["data"][0]["z"]), before)


def test_batch_of_heads_shows_the_chosen_matrix():
    at = open_page({"matrix": "attention", "matrix_shape": "3,6,6", "op": "matrix_mask", "batch": "2",
                    "kind": "padding", "lengths": "6,4,0", "mask_mode": "fill", "value": "-inf"})
    assert_clean(at)
    assert at.number_input(key="batch").value == 2
    assert metrics(at)["fully masked rows"] == "6 of 6"  # matrix 2 keeps no column
    assert "x[2]" in charts(at)["before_after"]["layout"]["annotations"][0]["text"]


def test_custom_mask_upload_good_then_wrong_shape():
    at = open_page({"matrix": "gaussian", "matrix_shape": "6,8", "op": "matrix_mask", "kind": "custom"})
    assert not at.exception and not texts(at, "error")
    assert any("Upload a 0/1 mask" in t for t in texts(at, "info"))
    assert not at.get("plotly_chart")
    good = (np.arange(48).reshape(6, 8) % 3 != 0).astype(np.float32)  # removes 16 of 48
    at.file_uploader(key="sm:mask_file").upload("mask.npy", npy(good)).run()
    assert_clean(at)
    assert metrics(at)["removed (sparsity 33.3%)"] == "16 / 48"
    assert np.array_equal(arr(charts(at)["mask"]["data"][0]["z"]), good)
    at.file_uploader(key="sm:mask_file").upload("wrong.npy", npy(np.ones((8, 6), np.float32))).run()
    assert not at.exception
    errors = texts(at, "error")
    assert len(errors) == 1, errors
    assert "(8, 6) does not broadcast" in errors[0] and "previous mask is still in use" in errors[0]
    assert metrics(at)["removed (sparsity 33.3%)"] == "16 / 48"  # the good mask still applies


# -- the slice -------------------------------------------------------------------------


def _facts(at: AppTest) -> dict[str, str]:
    table = at.table[0].value
    return dict(zip(table.iloc[:, 0], table["y (result)"]))


def test_slice_view_facts_and_write_through():
    at = open_page({"matrix": "gaussian", "matrix_shape": "6,8", "op": "matrix_slice", "rows": "1:5:2", "cols": "2:"})
    assert_clean(at)
    facts = _facts(at)
    assert facts["shape"] == "(2, 6)" and facts["strides (elements)"] == "(16, 1)"
    assert facts["storage offset"] == "10" and facts["contiguous"] == "no"
    assert facts["shares x's memory"] == "yes" and facts["is a view of x"] == "yes"
    assert any("y is a view" in s for s in texts(at, "success"))
    assert any("changed 12 entries" in c for c in texts(at, "caption"))
    figs = charts(at)
    assert set(figs) == {"before_after", "write_through"}
    after = [t for t in figs["before_after"]["data"] if t["type"] == "heatmap"][1]
    x = make_matrix("gaussian", (6, 8), 0).x
    np.testing.assert_allclose(arr(after["z"]), x[1:5:2, 2:].numpy(), rtol=1e-6)
    assert figs["before_after"]["layout"]["yaxis2"]["ticktext"] == ["1", "3"]  # source rows of y
    wb, wa = (arr(t["z"]) for t in figs["write_through"]["data"] if t["type"] == "heatmap")
    assert int((wb != wa).sum()) == 12
    forms = at.table[1].value
    assert len(forms) == len(SLICING_FORMS) and set(forms["result"]) == {"view", "copy"}


def test_slice_copy_facts():
    at = open_page({"matrix": "weight", "matrix_shape": "12,16", "op": "matrix_slice", "rows": "0,5,9", "cols": "::4"})
    assert_clean(at)
    facts = _facts(at)
    assert facts["shape"] == "(3, 4)" and facts["is a view of x"] == "no (a copy)"
    assert facts["shares x's memory"] == "no" and facts["contiguous"] == "yes"
    assert any("y is a copy" in w for w in texts(at, "warning"))
    assert any("changed nothing" in c for c in texts(at, "caption"))
    after = [t for t in charts(at)["before_after"]["data"] if t["type"] == "heatmap"][1]
    x = make_matrix("weight", (12, 16), 0).x
    np.testing.assert_allclose(arr(after["z"]), x[[0, 5, 9]][:, ::4].numpy(), rtol=1e-6)


def test_bad_slice_string_shows_one_error_and_keeps_the_data():
    at = open_page({"matrix": "gaussian", "matrix_shape": "6,8", "op": "matrix_slice"})
    assert_clean(at)
    at.text_input(key="rows").input("5:2").run()
    assert not at.exception
    errors = texts(at, "error")
    assert len(errors) == 1 and "selects none" in errors[0] and "Traceback" not in errors[0]
    assert at.text_input(key="matrix_shape").value == "6,8"  # the user's data stays
    assert at.text_input(key="rows").value == "5:2"  # and the box shows what was typed, with the sentence
    at.text_input(key="rows").input("::-1").run()
    assert not at.exception
    assert "torch.flip" in texts(at, "error")[0]


# -- links -----------------------------------------------------------------------------


def test_link_round_trip_reproduces_the_view():
    query = {"matrix": "weight", "matrix_shape": "32,48", "seed": "5", "op": "matrix_mask", "kind": "n_m",
             "n": "1", "m": "4", "mask_mode": "fill", "value": "-inf"}
    first = open_page(query)
    assert_clean(first)
    assert first.selectbox(key="matrix").value == "weight"
    assert first.text_input(key="matrix_shape").value == "32,48"
    assert first.number_input(key="seed").value == 5
    assert first.radio(key="op").value == "matrix_mask"
    assert first.selectbox(key="kind").value == "n_m"
    assert first.number_input(key="n").value == 1
    assert first.selectbox(key="value").value == "-inf"
    q = link(first)
    defaults = {("op", "matrix_mask"), ("value", "-inf"), ("m", "4")}  # left out of a link: they are the defaults
    assert q == {k: v for k, v in query.items() if (k, v) not in defaults}
    assert metrics(first)["removed (sparsity 75.0%)"] == "1152 / 1536"
    second = open_page(q)
    assert_clean(second)
    assert link(second) == q
    one, two = charts(first)["before_after"], charts(second)["before_after"]
    assert np.array_equal(arr(one["data"][1]["z"]), arr(two["data"][1]["z"]), equal_nan=True)
    slice_q = {"matrix": "low_rank", "matrix_shape": "2,10,12", "seed": "1", "op": "matrix_slice", "batch": "1",
               "rows": "2:8", "cols": "1,3"}
    third = open_page(slice_q)
    assert_clean(third)
    assert third.text_input(key="rows").value == "2:8"
    assert link(third) == slice_q


def test_invalid_link_values_fall_back_with_a_notice():
    at = open_page({"matrix": "nonsense", "op": "matrix_mask", "kind": "triangle", "mask_mode": "fill",
                    "value": "nan", "seed": "-4", "zzz": "1"})
    assert not at.exception
    notices = " ".join(texts(at, "info"))
    for key in ("matrix", "kind", "value", "seed", "zzz"):
        assert key in notices, (key, notices)
    assert link(at) == {"mask_mode": "fill"}  # the one valid value
    assert at.selectbox(key="matrix").value == "attention" and at.selectbox(key="kind").value == "causal"
    assert at.selectbox(key="value").value == "-inf" and at.number_input(key="seed").value == 0
    at = open_page({**SMALL, "op": "matrix_slice", "rows": "abc", "cols": "9:"})
    assert not at.exception and not texts(at, "error")
    notices = " ".join(texts(at, "info"))
    assert "rows='abc'" in notices and "cols=9: does not fit this matrix" in notices
    assert link(at) == {**SMALL, "op": "matrix_slice"}
    assert at.text_input(key="rows").value == ":" and at.text_input(key="cols").value == ":"
    at = open_page({**SMALL, "op": "matrix_mask", "kind": "n_m", "m": "3", "batch": "7"})
    assert not at.exception and not texts(at, "error")
    assert any("m=3 does not fit" in t for t in texts(at, "info"))
    assert any("batch=7: this is one matrix" in t for t in texts(at, "info"))
    assert at.number_input(key="m").value == 4 and link(at) == {**SMALL, "kind": "n_m"}
    at = open_page({"matrix": "attention", "matrix_shape": "5", "op": "matrix_mask"})
    assert not at.exception and not texts(at, "error")
    notices = texts(at, "info")
    assert len(notices) == 1 and "2-d shape (R, C)" in notices[0] and "default shape" in notices[0]
    assert at.text_input(key="matrix_shape").value == "4,24,24" and "matrix_shape" not in link(at)


def test_switching_operation_and_source():
    at = open_page({**SMALL, "op": "matrix_mask", "kind": "causal"})
    at.radio(key="op").set_value("matrix_slice").run()
    assert_clean(at)
    assert not [w for w in at.selectbox if w.key == "kind"] and at.text_input(key="rows").value == ":"
    assert set(charts(at)) == {"before_after", "write_through"}
    at.selectbox(key="matrix").set_value("low_rank").run()
    assert_clean(at)
    assert at.text_input(key="matrix_shape").value == "48,64"  # a new source starts from its own shape
    at.text_input(key="matrix_shape").input("2,3,9").run()
    assert_clean(at)
    assert at.number_input(key="batch").value == 0 and "[0]" in _after_title(at)



def test_other_pages_state_is_left_alone():
    """This page's matrix and operation are not Explore's source and variant: each keeps its own, and an older
    link to this page (``source=``, ``variant=``) is read with this page's names."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT * 2)
    at.query_params.update({"source": "images", "variant": "group_norm"})
    at.switch_page("app_pages/explore.py").run()
    assert_clean(at)
    at.query_params.clear()
    at.switch_page("app_pages/lessons.py").run()  # links inside the app are the lessons'
    at.query_params.update({"source": "weight", "variant": "matrix_slice"})  # an older link to Slice & Mask
    at.switch_page("app_pages/slice_mask.py").run()
    assert_clean(at)
    assert link(at) == {"matrix": "weight", "op": "matrix_slice"}
    assert at.selectbox(key="matrix").value == "weight" and at.radio(key="op").value == "matrix_slice"
    at.query_params.clear()  # back through the sidebar: Explore as it was left
    at.switch_page("app_pages/explore.py").run()
    assert_clean(at)
    assert at.selectbox(key="source").value == "images" and at.selectbox(key="variant").value == "group_norm"
    at.query_params.clear()
    at.switch_page("app_pages/slice_mask.py").run()
    assert at.selectbox(key="matrix").value == "weight" and at.radio(key="op").value == "matrix_slice"


# -- uploads ---------------------------------------------------------------------------


def test_upload_matrix_good_then_one_dimensional():
    at = open_page({"matrix": "upload", "op": "matrix_mask", "kind": "causal"})
    assert not at.exception and any("Upload a file" in t for t in texts(at, "info"))
    good = np.random.default_rng(0).normal(size=(2, 5, 5)).astype(np.float32)
    at.file_uploader(key="sm:upload_file").upload("heads.npy", npy(good)).run()
    assert_clean(at)
    assert metrics(at)["removed (sparsity 40.0%)"] == "10 / 25"
    assert "matrix_shape" not in link(at)
    at.file_uploader(key="sm:upload_file").upload("vector.npy", npy(np.arange(5.0))).run()
    assert not at.exception
    errors = texts(at, "error")
    assert len(errors) == 1 and "1-d" in errors[0] and "previous matrix is still in use" in errors[0]
    assert metrics(at)["removed (sparsity 40.0%)"] == "10 / 25"


# -- the library parts the page uses ---------------------------------------------------------


@pytest.mark.parametrize("name", list(MATRIX_SOURCES))
@pytest.mark.parametrize("shape", [(5, 7), (3, 4, 6)])
def test_matrix_sources(name, shape):
    a = make_matrix(name, shape, seed=2).x
    assert a.shape == shape and a.dtype == torch.float32 and torch.isfinite(a).all()
    assert torch.equal(a, make_matrix(name, shape, seed=2).x) and not torch.equal(a, make_matrix(name, shape, 3).x)
    assert make_matrix(name).x.shape == MATRIX_SOURCES[name].default_shape


def test_matrix_source_character():
    w = make_matrix("weight", (64, 256), 0).x
    norms = w.norm(dim=1)
    assert norms.max() > 3 * norms.median()  # a few rows of much larger norm
    assert w.abs().median() == pytest.approx(0.6745 * math.sqrt(2 / 256), rel=0.3)  # Kaiming scale in the bulk
    s = torch.linalg.svdvals(make_matrix("low_rank", (40, 48), 0).x)
    assert s[5] / s[0] < 0.2 < s[4] / s[0]  # rank 40 // 8 = 5, plus noise
    q = make_matrix("attention", (32, 32), 0).x
    near = torch.stack([q.diagonal(k).mean() for k in range(3)]).mean()
    far = torch.stack([q.diagonal(k).mean() for k in range(12, 20)]).mean()
    assert near > far  # nearby keys score higher


@pytest.mark.parametrize("shape, message", [
    ((5,), "2-d shape"), ((2, 2, 2, 2), "2-d shape"), ((0, 3), "at least 1"),
    ((MAX_ELEMENTS, 2), "more than the cap"), ("8,8", "tuple of whole numbers"),
])
def test_matrix_sources_refuse_bad_shapes(shape, message):
    with pytest.raises(vnviz.InputError, match=message):
        make_matrix("gaussian", shape)
    with pytest.raises(vnviz.InputError, match="no matrix source"):
        make_matrix("images")


def test_load_matrices():
    data = io.BytesIO()
    np.savez(data, v=np.arange(3.0), m=np.ones((2, 3)))
    assert list(load_matrices(data.getvalue(), "two.npz")) == ["m"]
    with pytest.raises(vnviz.InputError, match="1-d"):
        load_matrices(npy(np.arange(3.0)), "v.npy")
    with pytest.raises(vnviz.InputError, match="NaN or infinite"):
        load_matrices(npy(np.array([[1.0, np.inf]])), "inf.npy")


def test_figures_payload_does_not_grow():
    sizes = []
    for n in (200, 1500):
        x = torch.randn(n, n)
        v = mv.mask_view(x, {"kind": "causal", "mode": "fill", "value": -math.inf})
        assert v.before.z.shape == (128, 128) and v.kept_rows.mean.numel() <= mv.MAX_BARS
        figs = [fm.before_after(v.before, v.after), fm.softmax_rows(v.softmax), fm.softmax_probs(v.effects),
                fm.kept_counts(v.kept_rows, v.kept_cols, v.effects.shape), fm.mask_picture(v.mask)]
        sizes.append(sum(len(f.to_json()) for f in figs))
    assert sizes[1] < 1.2 * sizes[0] and sizes[1] < 1_200_000  # bounded by 128 x 128 cells a panel


def test_heatmap_pools_finite_values_and_counts_infinities():
    m = torch.arange(16.0).reshape(4, 4)
    m[0, 0] = -math.inf
    h = mv.heatmap(m, max_side=2)
    assert h.block == (2, 2) and h.rows == (0, 2) and h.cols == (0, 2)
    assert h.z[0, 0] == pytest.approx((1 + 4 + 5) / 3) and h.neg_inf[0, 0] == 0.25
    assert mv.heatmap(torch.full((2, 2), -math.inf)).z.isnan().all()
    p = mv.profile(torch.arange(1000.0), max_bars=10)
    assert p.index[:2] == (0, 100) and p.bin == 100 and p.mean[0] == pytest.approx(49.5)
    assert mv.selected("1:7:2", 8, "rows") == [1, 3, 5] and mv.selected("4,0", 8, "rows") == [4, 0]
