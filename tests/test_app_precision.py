"""Explore's "compute in" control and precision view under AppTest (issue 17): links, half uploads, downloads."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

import apptest_support as support
import vnviz
from apptest_support import assert_clean, charts, link, texts
from vnviz.ui import explore as ui
from vnviz.ui.data_panel import Data

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "explore.py")
LESSON = {"source": "heavy_tailed", "variant": "layer_norm", "compute_in": "float16"}  # the autocast lesson's link


def open_page(query: dict[str, str] | None = None) -> AppTest:
    return support.open_page(PAGE, query)


def shown(at: AppTest) -> str:
    return next(c for c in texts(at, "caption") if c.startswith("Shown:"))


def precision_heading(at: AppTest) -> str | None:
    return next((m for m in texts(at, "markdown") if m.startswith("**Precision:")), None)


def precision_chart(at: AppTest) -> dict | None:
    return next((f for f in charts(at) if "in ulps" in str(f["layout"].get("annotations", ""))), None)


def traps(at: AppTest) -> str:
    return next((w for w in texts(at, "warning") if w.startswith("**What can go wrong")), "")


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="upload_file").upload(name, data).run()
    return at


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def pt(t: torch.Tensor) -> bytes:
    buf = io.BytesIO()
    torch.save(t, buf)
    return buf.getvalue()


def open_tab(at: AppTest, tab: str) -> AppTest:
    """Open a tab of Explore's (only the open tab is drawn)."""
    at.session_state["tab"] = tab
    return at.run()


def download_labels(at: AppTest) -> list[str]:
    """The download buttons' labels, on the Share & export tab (only the open tab is drawn)."""
    at.session_state["tab"] = "Share & export"
    at.run()
    return [b.proto.label for b in at.get("download_button")]


def test_the_lessons_compute_in_link_opens_the_precision_view():
    at = open_page(LESSON)
    assert_clean(at)
    assert at.selectbox(key="compute_in").value == "float16" and link(at) == LESSON
    assert precision_heading(at) == "**Precision: LayerNorm in float16** (cast from float32) against float64 maths"
    fig = precision_chart(at)
    assert fig is not None and fig["layout"]["title"]["text"].startswith("LayerNorm in float16: max error")
    assert len(fig["data"][0]["x"]) == 64  # one point per sample: LayerNorm's groups
    assert "dtype float16 (cast from float32)" in shown(at)
    assert any(c.startswith("Computing in float16: the float32 data is cast to float16") for c in texts(at, "caption"))
    open_tab(at, "Verification")
    verdict = next(m for m in texts(at, "markdown") if "statistic groups, computed on" in m)
    assert "in float16," in verdict and "for float16." in verdict
    open_tab(at, "Share & export")
    assert "x = x.to(torch.float16)" in at.code[0].value
    # the same page without compute_in: the data's own float32, no precision view
    plain = open_page({k: v for k, v in LESSON.items() if k != "compute_in"})
    assert_clean(plain)
    assert precision_heading(plain) is None and precision_chart(plain) is None
    assert "dtype float32." in shown(plain)


def test_switching_compute_in_runs_the_variant_in_that_dtype():
    at = open_page({"source": "heavy_tailed", "variant": "layer_norm"})
    at.selectbox(key="compute_in").set_value("bfloat16").run()
    assert_clean(at)
    assert "dtype bfloat16 (cast from float32)" in shown(at)  # (AppTest does not write bound widgets to the link)
    assert precision_heading(at).startswith("**Precision: LayerNorm in bfloat16**")
    assert "output (.pt, bfloat16)" in download_labels(at)
    at.selectbox(key="compute_in").set_value("data").run()
    assert_clean(at)
    assert precision_heading(at) is None and "dtype float32." in shown(at)


def test_traps_are_said_for_heavy_tailed_data_in_float16():
    at = open_page(LESSON)
    said = traps(at)
    assert "x² overflows float16 above √65504 = 255.9" in said and "|x| reaches 896.9" in said
    assert "eps = 1e-05 is below half the spacing of float16 numbers" in said
    assert "Under CUDA autocast torch runs layer_norm in float32" in said
    why = next(e for e in at.expander if e.label == "Why torch's autocast runs layer_norm and group_norm in float32")
    assert "AT_FORALL_FP32" in why.markdown[0].value and "batch_norm" in why.markdown[0].value


def test_cancellation_and_rmsnorm_eps_none_are_said():
    shifted = open_page({"source": "shifted_channels", "variant": "batch_norm", "compute_in": "bfloat16"})
    assert_clean(shifted)
    assert "Cancellation: a group's |mean| is" in traps(shifted)
    assert "rounds each channel's mean and inverse std to bfloat16" in traps(shifted)
    rms = open_page({"source": "shifted_channels", "variant": "rms_norm", "compute_in": "float16"})
    assert_clean(rms)
    assert "eps=None is float32's machine epsilon" in traps(rms)


def test_a_bad_compute_in_value_in_a_link_gets_the_pages_notice():
    at = open_page({"source": "gaussian", "compute_in": "float8"})
    assert not at.exception
    notice = " ".join(texts(at, "info"))
    assert "compute_in" in notice and "float8" in notice and "Using data instead." in notice
    assert at.selectbox(key="compute_in").value == "data" and "compute_in" not in link(at)
    assert precision_heading(at) is None


def test_a_float16_upload_states_its_dtype_and_shows_the_precision_view():
    at = open_page({"source": "upload", "variant": "layer_norm"})
    arr = (np.random.default_rng(0).standard_normal((16, 4, 8, 8)) * 3 + 40).astype(np.float16)
    upload(at, "half.npy", npy(arr))
    assert_clean(at)
    assert any(c.startswith("Uploaded half.npy: (16, 4, 8, 8) float16,") for c in texts(at, "caption"))
    assert "dtype float16." in shown(at)
    assert at.selectbox(key="compute_in").value == "data"
    assert precision_heading(at) == "**Precision: LayerNorm in float16** (the data's own dtype) against float64 maths"
    assert precision_chart(at) is not None
    assert any("The data is float16 already, so all of the error is the kernel's." in c for c in texts(at, "caption"))
    assert "output (.npy, float16)" in download_labels(at)
    # computed in float32 instead: the float16 values are cast up (exactly), and the view is of float32
    at.selectbox(key="compute_in").set_value("float32").run()
    assert_clean(at)
    assert "dtype float32 (cast from float16)" in shown(at)
    assert precision_heading(at).startswith("**Precision: LayerNorm in float32** (cast from float16)")


def test_a_bfloat16_pt_upload_and_its_download_do_not_crash():
    x = (torch.randn(8, 3, 5, 5) * 2 + 1).to(torch.bfloat16)
    at = open_page({"source": "upload", "variant": "batch_norm"})
    upload(at, "act.pt", pt(x))
    assert_clean(at)
    assert any(c.startswith("Uploaded act.pt: (8, 3, 5, 5) bfloat16,") for c in texts(at, "caption"))
    assert "dtype bfloat16." in shown(at) and precision_heading(at).startswith("**Precision: BatchNorm in bfloat16**")
    assert "output (.pt, bfloat16)" in download_labels(at)
    assert any(".npy has no bfloat16" in c for c in texts(at, "caption"))


def _controls(x: torch.Tensor, name: str = "batch_norm") -> ui.Controls:
    data = Data("test", x, "N C H W", None, "", "", "upload", "t.pt")
    return ui.Controls(data, vnviz.VARIANTS[name], {}, "", 60, None, False, "cpu", [])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_the_output_downloads_in_its_own_dtype(dtype):
    """npy_bytes crashed on bfloat16 (numpy has none): now .npy widens it to float32 exactly, and .pt keeps it."""
    x = (torch.randn(4, 3, 2, 2) * 3 - 1).to(dtype)
    y = vnviz.apply("batch_norm", x)
    c = _controls(x)
    got = np.load(io.BytesIO(ui.npy_bytes(c)), allow_pickle=False)
    assert got.dtype == (np.float32 if dtype == torch.bfloat16 else {torch.float16: np.float16, torch.float32: np.float32,
                                                                     torch.float64: np.float64}[dtype])
    assert torch.equal(torch.from_numpy(got), y.float() if dtype == torch.bfloat16 else y)
    back = torch.load(io.BytesIO(ui.pt_bytes(c)), weights_only=True)
    assert back.dtype == dtype and torch.equal(back, y)
    assert vnviz.load_array(ui.pt_bytes(c), "y.pt").dtype == dtype  # the app reads its own download back


def test_a_cast_that_would_overflow_is_refused_and_the_data_kept():
    at = open_page({"source": "upload", "variant": "layer_norm", "compute_in": "float16"})
    big = np.linspace(-1e6, 1e6, 2 * 3 * 16, dtype=np.float32).reshape(2, 3, 16)
    upload(at, "big.npy", npy(big))
    assert not at.exception
    errors = texts(at, "error")
    assert len(errors) == 1 and "values up to 1e+06, beyond float16's largest 65504" in errors[0]
    assert "Computing in float32, the data's own dtype." in errors[0]
    assert "dtype float32." in shown(at) and precision_heading(at) is None
    open_tab(at, "Verification")
    assert any("**Verified**" in m for m in texts(at, "markdown"))


@pytest.mark.parametrize("variant", [n for n, v in vnviz.VARIANTS.items() if v.family == "norm"])
def test_every_norm_runs_in_bfloat16_with_its_precision_view(variant):
    query = {"source": "images", "variant": variant, "compute_in": "bfloat16", "tab": "Verification"}
    if variant == "cluster_norm":
        query["n_clusters"] = "2"
    at = open_page(query)
    assert_clean(at)
    assert precision_heading(at).startswith("**Precision:") and "in bfloat16**" in precision_heading(at)
    assert precision_chart(at) is not None and "dtype bfloat16 (cast from float32)" in shown(at)
    verdict = next(m for m in texts(at, "markdown") if "statistic groups, computed on" in m)
    assert "**Verified**" in verdict and "in bfloat16," in verdict


def test_float64_is_offered_too():
    at = open_page({"source": "gaussian", "variant": "group_norm", "compute_in": "float64"})
    assert_clean(at)
    assert precision_heading(at).startswith("**Precision: GroupNorm in float64** (cast from float32)")
    assert "x = x.to(torch.float64)" in open_tab(at, "Share & export").code[0].value


def test_presenter_modes_title_names_the_dtype():
    at = open_page({**LESSON, "present": "1"})
    assert_clean(at)
    assert at.title[0].value == "LayerNorm on Heavy-tailed (Student-t) (64, 8, 16, 16) in float16"
    half = open_page({"source": "upload", "variant": "layer_norm", "present": "1"})
    upload(half, "half.npy", npy(np.ones((6, 3, 4), np.float16) * np.arange(4, dtype=np.float16)))
    assert_clean(half)
    assert half.title[0].value.endswith("(6, 3, 4) in float16")  # the data's own dtype, not float32
