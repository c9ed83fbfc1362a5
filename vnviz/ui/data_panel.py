"""The data panel: a generator, a bundled dataset or an upload, and its layout.

It returns the input in torch's channel-first layout and says in words what it
permuted to get there.
"""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
import torch

from vnviz.data import EXTENSIONS, MAX_ELEMENTS, MAX_UPLOAD_BYTES, SOURCES
from vnviz.errors import InputError
from vnviz.ui.compute import data_summary, digest, source_sample, upload_arrays
from vnviz.ui.state import LINK_FRESH, seed_defaults
from vnviz.ui.upload import kept_upload
from vnviz.ui.widgets import refill_shape_text
from vnviz.variants.registry import Param

LAYOUTS = ("N C", "N C L", "N L D", "N C H W", "N C D H W", "N C H W D", "N H W C")
NONFINITE = {"keep": "keep (the variant refuses)", "drop": "drop those samples", "zero": "replace with 0"}
UPLOAD = "upload"
SOURCE_PARAMS = (
    Param("source", "choice", "gaussian", "Where the data comes from.", choices=tuple(SOURCES) + (UPLOAD,)),
    Param("shape", "shape", None, "The shape to generate, comma-separated (default: the source's own)."),
    Param("seed", "int", 0, "Seed of the generator (same seed, same data).", low=0, high=2**31 - 1),
    Param("layout", "choice", "auto", "What each dim of the data means.", choices=("auto",) + LAYOUTS),
    Param("channel_axis", "int", 1, "Which dim is the channel axis; it is moved to dim 1 (torch's layout).", low=1, high=5),
)


@dataclass(frozen=True)
class Data:
    """The input as the variant sees it."""

    key: str  # cache key: what made the data (source, shape, seed, permutation) or the upload's digest
    x: torch.Tensor  # channel-first, float32/float64, on the CPU
    layout: str  # layout letters of x (after the permutation)
    labels: torch.Tensor | None  # true class per sample, when the source has one
    description: str  # one sentence on what the data is
    permuted: str  # "" or a sentence saying which dims were moved


def _upload_tensor(container) -> tuple[str, torch.Tensor] | None:
    """The file uploader; keeps the last good upload when a new one is bad."""

    def read(data: bytes, name: str) -> tuple[str, str, bytes]:
        d = digest(data)
        upload_arrays(d, name, data)  # parse (and cache) now, so that a bad file is refused here
        return d, name, data

    got = kept_upload(
        container, f"Upload ({', '.join(EXTENSIONS)}; up to {MAX_UPLOAD_BYTES // 2**20} MB, {MAX_ELEMENTS:,} values)",
        "upload_file", read, "data")
    if got is None:
        container.info("Upload a file to explore it; links cannot carry uploaded data.")
        return None
    d, name, data = got
    arrays = upload_arrays(d, name, data)
    names = list(arrays)
    pick = container.selectbox("array in the file", names, key="upload_array") if len(names) > 1 else names[0]
    x = arrays[pick]
    if x.ndim == 1:
        x = x[:, None]
    return f"upload:{d}:{pick}", x


def _permute(x: torch.Tensor, layout: str, axis: int) -> tuple[torch.Tensor, str, str]:
    letters = layout.split()
    if axis == 1 or axis >= x.ndim:
        return x, layout, ""
    order = [0, axis] + [i for i in range(1, x.ndim) if i != axis]
    new = " ".join(letters[i] for i in order)
    text = f"Permuted ({', '.join(letters)}) to ({', '.join(new.split())}) so that {letters[axis]} is the channel axis (dim 1)."
    return x.permute(order).contiguous(), new, text


def data_panel(container=st) -> Data | None:
    """Render the data controls (session keys as in SOURCE_PARAMS) and return the input, or None."""
    seed_defaults(SOURCE_PARAMS)
    names = list(SOURCES) + [UPLOAD]
    source = container.selectbox(
        "data", names, key="source",
        format_func=lambda n: "upload a file" if n == UPLOAD else f"{SOURCES[n].title} ({SOURCES[n].kind})",
        help="Seeded synthetic generators, datasets that ship inside scikit-learn, or your own file.")
    labels = None
    if source == UPLOAD:
        got = _upload_tensor(container)
        if got is None:
            return None
        key, x = got
        description = "Uploaded array,"
        natural = {2: "N C", 3: "N C L", 4: "N C H W", 5: "N C D H W"}.get(x.ndim, " ".join(f"d{i}" for i in range(x.ndim)))
    else:
        src = SOURCES[source]
        if st.session_state.get("_shape_source", source) != source and not st.session_state.get(LINK_FRESH):
            st.session_state["shape"] = None  # a new source starts from its own default shape
        st.session_state["_shape_source"] = source
        shape = st.session_state.get("shape") or src.default_shape
        refill_shape_text("shape_text", "_shape_seen", shape)
        if not src.shape_editable:
            container.caption(f"Natural shape {tuple(src.default_shape)}; you may ask for fewer samples.")
        text = container.text_input("shape", key="shape_text", help=SOURCE_PARAMS[1].help)
        try:
            shape = SOURCE_PARAMS[1].from_text(text, "shape") or src.default_shape  # an empty box: the default
            sample = source_sample(source, shape, int(st.session_state["seed"]))
        except InputError as err:
            container.error(f"{err} Showing the default shape {tuple(src.default_shape)}.")
            shape = src.default_shape
            sample = source_sample(source, shape, int(st.session_state["seed"]))
        st.session_state["shape"] = st.session_state["_shape_seen"] = shape
        x, labels, description, natural = sample.x, sample.labels, sample.description, sample.layout
        key = f"{source}:{','.join(map(str, shape))}:{int(st.session_state['seed'])}"
    fits = [lay for lay in LAYOUTS if len(lay.split()) == x.ndim]
    layout_choice = container.selectbox("layout", ["auto"] + fits, key="layout",
                                        format_func=lambda v: f"auto ({natural})" if v == "auto" else v,
                                        help=SOURCE_PARAMS[3].help) if fits else "auto"
    layout = natural if layout_choice == "auto" or len(layout_choice.split()) != x.ndim else layout_choice
    letters = layout.split()
    axes = list(range(1, x.ndim))
    if st.session_state.get("channel_axis") not in axes:
        st.session_state["channel_axis"] = 1
    axis = container.selectbox("channel axis", axes, key="channel_axis",
                               format_func=lambda i: f"dim {i} ({letters[i]})", help=SOURCE_PARAMS[4].help)
    x, layout, permuted = _permute(x, layout, axis)
    summary = data_summary(f"{key}:{axis}", x)
    container.caption(
        f"{description} {tuple(x.shape)} {summary.dtype}, range [{summary.min:.4g}, {summary.max:.4g}], "
        f"mean {summary.mean:.4g}, std {summary.std:.4g}.")
    bad = summary.nan + summary.posinf + summary.neginf
    if bad:
        keep = torch.isfinite(x).reshape(x.shape[0], -1).all(1)
        container.warning(
            f"The data holds {summary.nan} NaN and {summary.posinf + summary.neginf} Inf values in "
            f"{int((~keep).sum())} of its {x.shape[0]} samples; a normalization would spread each into its whole group.")
        fix = container.radio("NaN/Inf", list(NONFINITE), key="nonfinite", horizontal=True,
                              format_func=NONFINITE.get)
        if fix == "drop" and bool(keep.any()):
            x, labels = x[keep], (labels[keep] if labels is not None else None)
        elif fix == "zero":
            x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        key = f"{key}:{fix}"
    return Data(f"{key}:{axis}", x, layout, labels, description, permuted)
