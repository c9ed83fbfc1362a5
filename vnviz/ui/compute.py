"""Caching wrappers around the library, keyed on the parameters that made each result.

``st.cache_data`` hashes large arrays by sampling them, which can give stale
hits; here every cache is keyed on strings we build ourselves (the source
parameters, or the SHA-256 of an upload), and the tensors ride along as
underscore arguments that Streamlit does not hash.
"""
from __future__ import annotations

import gc
import hashlib
import os
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
import torch

from vnviz.analysis.stats import ValueSummary, summarize
from vnviz.analysis.view import ExploreView, explore_view
from vnviz.data import Sample, load_arrays, make_source
from vnviz.device import describe_device, pick_device
from vnviz.errors import InputError
from vnviz.i18n import N_, Msg

TENSOR_ENTRIES = 8  # caches holding tensors (up to MAX_ELEMENTS values each): at most 8 of each
SUMMARY_ENTRIES = 64  # caches holding small summaries only
TTL = 3600  # seconds an entry may live
CACHE_ENTRIES = TENSOR_ENTRIES  # the default for page caches that hold tensors
T = TypeVar("T")


@st.cache_resource(max_entries=TENSOR_ENTRIES, ttl=TTL, show_spinner=False)
def source_sample(name: str, shape: tuple[int, ...] | None, seed: int) -> Sample:
    """A generated or bundled dataset sample (CPU), shared by every session."""
    return make_source(name, shape, seed)


@st.cache_resource(max_entries=TENSOR_ENTRIES, ttl=TTL, show_spinner=False)
def upload_arrays(digest: str, filename: str, _data: bytes) -> dict[str, torch.Tensor]:
    """The arrays of an uploaded file, keyed on its SHA-256 (the bytes are not hashed by Streamlit)."""
    return load_arrays(_data, filename)


@st.cache_resource(max_entries=SUMMARY_ENTRIES, ttl=TTL, show_spinner=False)
def data_summary(data_key: str, _x: torch.Tensor) -> ValueSummary:
    """Shape, range and NaN/Inf counts of the data, once per data key."""
    return summarize(_x)


def digest(data: bytes) -> str:
    """SHA-256 of an upload: its cache key."""
    return hashlib.sha256(data).hexdigest()


@st.cache_resource(max_entries=TENSOR_ENTRIES, ttl=TTL, show_spinner=False)
def on_device(data_key: str, device: str, _x: torch.Tensor) -> torch.Tensor:
    """The input moved to the compute device once per (data, device)."""
    return _x.to(device)


@st.cache_resource(max_entries=SUMMARY_ENTRIES, ttl=TTL, show_spinner=False)
def cached_view(data_key: str, device: str, name: str, params_key: str, layout: str, bins: int,
                percentile: float | None, _x: torch.Tensor, _params: dict[str, Any]) -> ExploreView:
    """``explore_view`` cached on (data, device, variant, parameters, view options)."""
    return explore_view(_x, name, _params, layout=layout, bins=bins, percentile=percentile)


SERVER_THREADS_ENV = "VNVIZ_TORCH_THREADS"  # torch's intra-op threads in the app server (default 1)


def server_threads() -> int:
    """Set torch's CPU threads for the app server, once per process (app.py calls it); returns the count.

    Half the CPU cores (one on a 2-core machine), unless ``VNVIZ_TORCH_THREADS`` says otherwise. The server runs every visitor's script
    in its own thread, and the browser, and often other work, share the cores: each parallel region
    of a torch op then waits for a scheduler slice. On the 2-core development machine under load,
    the whole analysis of a 2M-element Explore view took 0.3-0.6 s on one thread and 2.5-7 s on two
    (docs/benchmarks.md, section 8); alone on the machine, two threads would be faster by at most 2x.
    The other half of a larger machine is left to the browser and the other sessions.
    """
    raw = os.environ.get(SERVER_THREADS_ENV, "").strip()
    n = int(raw) if raw.isdigit() and int(raw) > 0 else max(1, (os.cpu_count() or 2) // 2)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


_FROZEN = {"modules": 0}  # how many modules were loaded at the last gc.freeze()
_FREEZE_LOCK = threading.Lock()


def freeze_imports() -> bool:
    """Take what the imports built out of the garbage collector's full passes, when a run imported more.

    Streamlit collects garbage (``gc.collect(2)``, its ``runner.postScriptGC``) after every script
    run, in the script's thread and before the run's last messages reach the browser. With torch,
    plotly, scikit-learn and vnviz loaded, such a pass walks about 230,000 objects: 0.2 s of every
    rerun on the development machine, spent on modules and classes that live as long as the server.
    ``gc.freeze()`` moves every object alive now into a generation the collector skips (reference
    counting still frees them); after it the pass takes under 1 ms. app.py calls this after each
    page run; it freezes again only when that run loaded new modules (a page's first visit), after
    one full collection so that no garbage is frozen. Returns whether it froze.
    """
    with _FREEZE_LOCK:
        if len(sys.modules) == _FROZEN["modules"]:
            return False
        gc.collect()
        gc.freeze()
        _FROZEN["modules"] = len(sys.modules)
        return True


def resolve_device(choice: str) -> tuple[torch.device, str | None]:
    """The device to use for ``choice``, falling back to the CPU with a notice."""
    try:
        return pick_device(choice), None
    except InputError as err:
        return torch.device("cpu"), Msg.join([err.msg, N_("Computing on the CPU instead.")])


def with_cpu_fallback(device: torch.device, run: Callable[[str], T]) -> tuple[T, str | None]:
    """``run(device)``; when the GPU runs out of memory, ``run("cpu")`` with a notice (every page uses this).

    ``run`` takes the device's name and does the whole computation there (moving the input included),
    so a retry on the CPU starts from the CPU copy. On the CPU itself, running out of memory is an
    InputError: the shape is too big for this machine.
    """
    try:
        return run(str(device)), None
    except torch.OutOfMemoryError:
        if device.type == "cpu":
            raise InputError("The computation ran out of memory; choose a smaller shape.") from None
        torch.cuda.empty_cache()
        return run("cpu"), Msg("{device} ran out of memory for this tensor; computed on the CPU instead.",
                               device=describe_device(device))
