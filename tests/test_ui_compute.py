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
    x = torch.randn(4, 3, 5)
    calls = []

    def fake_on_device(data_key, device, _x):
        calls.append(device)
        return _x

    real_view = compute.cached_view

    def fake_view(data_key, device, *args):
        if device == "cuda":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1 TiB")
        return real_view(data_key, device, *args)

    monkeypatch.setattr(compute, "on_device", fake_on_device)
    monkeypatch.setattr(compute, "cached_view", fake_view)
    monkeypatch.setattr(compute, "describe_device", lambda d: "CUDA: test GPU")
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    view, note = compute.run_view("k", x, torch.device("cuda"), "batch_norm", {}, "", "N C L", 20, None)
    assert note == "CUDA: test GPU ran out of memory for this tensor; computed on the CPU instead."
    assert view.verification.ok and view.verification.device == "cpu"


def test_cpu_out_of_memory_is_one_sentence(monkeypatch):
    def oom(*args):
        raise torch.OutOfMemoryError("out of memory")

    monkeypatch.setattr(compute, "cached_view", oom)
    with pytest.raises(vnviz.InputError, match="ran out of memory; choose a smaller shape"):
        compute.run_view("k", torch.randn(2, 3), torch.device("cpu"), "batch_norm", {}, "", "N C", 20, None)
