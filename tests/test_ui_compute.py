"""GPU faults: an absent device or a CUDA out-of-memory falls back to the CPU with a notice."""
from __future__ import annotations

import pytest
import streamlit as st
import torch

import vnviz
from vnviz.ui import compute


@pytest.fixture(autouse=True)
def _clear():
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def test_absent_device_falls_back_to_cpu_with_a_sentence():
    missing = next((d for d in ("cuda", "mps") if d not in vnviz.device.available_devices()), None)
    if missing is None:
        pytest.skip("this machine has both CUDA and MPS")
    device, note = compute.resolve_device(missing)
    assert device == torch.device("cpu")
    assert note.endswith("Computing on the CPU instead.") and missing.upper() in note


def test_cuda_out_of_memory_recomputes_on_the_cpu(monkeypatch):
    calls = []

    def run(device: str) -> str:
        calls.append(device)
        if device == "cuda":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1 TiB")
        return f"view on {device}"

    monkeypatch.setattr(compute, "describe_device", lambda d: "CUDA: test GPU")
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    view, note = compute.with_cpu_fallback(torch.device("cuda"), run)
    assert calls == ["cuda", "cpu"] and view == "view on cpu"
    assert note == "CUDA: test GPU ran out of memory for this tensor; computed on the CPU instead."
    assert compute.with_cpu_fallback(torch.device("cpu"), run) == ("view on cpu", None)


def test_cpu_out_of_memory_is_one_sentence():
    def oom(device: str):
        raise torch.OutOfMemoryError("out of memory")

    with pytest.raises(vnviz.InputError, match="ran out of memory; choose a smaller shape"):
        compute.with_cpu_fallback(torch.device("cpu"), oom)


def _fake_cuda(monkeypatch, module, cached: str):
    """The page's cached computation fails on "cuda" with an out-of-memory, as a full GPU would."""
    real = getattr(module, cached)

    def fake(data_key, device, *args):
        if device == "cuda":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1 TiB")
        return real(data_key, device, *args)

    monkeypatch.setattr(module, cached, fake)
    monkeypatch.setattr(module, "resolve_device", lambda choice: (torch.device("cuda"), None))
    monkeypatch.setattr(module, "on_device", lambda key, device, x: x)  # no GPU here: the tensor stays put
    monkeypatch.setattr(compute, "describe_device", lambda d: "CUDA: test GPU")
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)


NOTE = "CUDA: test GPU ran out of memory for this tensor; computed on the CPU instead."


def test_every_page_falls_back_to_the_cpu(monkeypatch):
    """Explore, Compare, ClusterNorm and Slice & Mask all compute through with_cpu_fallback."""
    from vnviz.ui import cluster, compare, explore, slice_mask
    from vnviz.ui.data_panel import Data

    x = torch.randn(6, 3, 5)
    data = Data("k", x, "N C L", None, "noise", "", "gaussian", "Gaussian", None, 0, 1)
    _fake_cuda(monkeypatch, explore, "cached_view")
    c = explore.Controls(data, vnviz.VARIANTS["batch_norm"], {}, "", 20, None, False, "cuda", [])
    view, notes = explore.run_view(c)
    assert notes == [NOTE] and view.verification.ok and view.verification.device == "cpu"
    _fake_cuda(monkeypatch, compare, "cached_compare")
    cc = compare.Controls(data, (("layer_norm", {}),), "layer_norm:", "cuda", [])
    view, notes = compare.run_views(cc)
    assert notes == [NOTE] and list(view.names) == ["layer_norm"]
    _fake_cuda(monkeypatch, compare, "cached_equivalences")  # Compare's Equivalences tab
    eqs, missing, notes = compare.run_equivalences(cc)
    assert notes == [NOTE] and eqs
    _fake_cuda(monkeypatch, cluster, "cached_cluster_view")
    kc = cluster.Controls(data, {"n_clusters": 2, "seed": 0}, "n_clusters=2&seed=0", "cuda", 3, [])
    view, notes = cluster.run_view(kc)
    assert notes == [NOTE] and view.n_clusters == 2
    _fake_cuda(monkeypatch, slice_mask, "cached_mask")
    mc = slice_mask.Controls(slice_mask.MatrixData("m", torch.randn(4, 4), "m"), slice_mask.ui_variant("matrix_mask"),
                             {"kind": "causal", "mode": "multiply"}, "kind=causal", 0, [])
    view, notes = slice_mask.run_view(mc)
    assert notes == [NOTE] and view.effects.shape == (4, 4)


def test_the_imports_are_frozen_once_per_batch_of_new_modules(monkeypatch):
    import gc
    import sys
    import types

    monkeypatch.setitem(compute._FROZEN, "modules", 0)
    try:
        assert compute.freeze_imports()  # the first run: everything loaded so far
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # torch's, plotly's and vnviz's objects among them
        assert not compute.freeze_imports()  # nothing new imported: no second full collection
        monkeypatch.setitem(sys.modules, "vnviz_test_new_module", types.ModuleType("vnviz_test_new_module"))
        assert compute.freeze_imports()  # a page that imported more: frozen again
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()  # the rest of the suite collects as usual
