"""The data panel: a generator, a bundled dataset or an upload, and its layout.

It returns the input in torch's channel-first layout and says in words what it
permuted to get there. Its link keys (``source``, ``shape``, ``seed`` in the
sidebar, ``layout``, ``channel_axis``, ``nonfinite``) are shared by the pages that
draw it: the data chosen on Explore is the data on Compare and ClusterNorm.
"""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
import torch

from vnviz.data import EXTENSIONS, MAX_ELEMENTS, MAX_UPLOAD_BYTES, SOURCES
from vnviz.errors import InputError
from vnviz.i18n import N_, Msg
from vnviz.ui.compute import data_summary, digest, source_sample, upload_arrays
from vnviz.ui.lang import t
from vnviz.ui.sidebar import SEED
from vnviz.ui.upload import kept_upload
from vnviz.ui.widgets import linked, parsed, shape_box
from vnviz.variants.registry import Param

LAYOUTS = ("N C", "N C L", "N L D", "N C H W", "N C D H W", "N C H W D", "N H W C")
NATURAL = {2: "N C", 3: "N C L", 4: "N C H W", 5: "N C D H W"}  # an upload's layout, by rank
NONFINITE = {"keep": N_("keep (the variant refuses)"), "drop": N_("drop those samples"), "zero": N_("replace with 0")}
UPLOAD = "upload"
DEFAULT_SOURCE = "shifted_channels"  # channels with their own offset and scale: every norm visibly changes them
SOURCE = Param("source", "choice", DEFAULT_SOURCE, N_("Seeded synthetic generators, datasets that ship inside "
               "scikit-learn, or your own file (upload)."), choices=tuple(SOURCES) + (UPLOAD,))
SHAPE = Param("shape", "shape", None, N_("The shape to generate, comma-separated (empty: the source's own)."))
LAYOUT = Param("layout", "choice", None, N_("What each dim of the data means; its default is the source's own."),
               choices=LAYOUTS)
CHANNEL_AXIS = Param("channel_axis", "int", None, N_("Which dim is the channel axis; it is moved to dim 1 (torch's "
                     "layout). Its default is the layout's C (dim 1 when it has none)."), low=1, high=5)
NAN_FIX = Param("nonfinite", "choice", "keep", N_("What to do with samples holding NaN or Inf."), choices=tuple(NONFINITE))
SOURCE_PARAMS = (SOURCE, SHAPE, SEED, LAYOUT, CHANNEL_AXIS, NAN_FIX)


def legacy(raw: dict) -> dict:
    """Older links said ``layout=auto`` (or ``auto (N C H W)``) for the source's own layout: now its default."""
    if str(raw.get("layout", "")).startswith("auto"):
        raw.pop("layout")
    return raw


@dataclass(frozen=True)
class Data:
    """The input as the variant sees it."""

    key: str  # cache key: what made the data (source, shape, seed, permutation) or the upload's digest
    x: torch.Tensor  # channel-first, on the CPU, in its own float dtype (float16/bfloat16 uploads kept)
    layout: str  # layout letters of x (after the permutation)
    labels: torch.Tensor | None  # true class per sample, when the source has one
    description: str  # one sentence on what the data is
    permuted: str  # "" or a sentence saying which dims were moved
    source: str = ""  # the source's name, or "upload"
    title: str = ""  # the source's title (or the file's name), for headlines
    shape: tuple[int, ...] | None = None  # the shape asked for (None: the source's own, or an upload)
    seed: int = 0  # the generator's seed
    axis: int = 1  # the channel axis chosen, before the permutation


def _upload_tensor(container) -> tuple[str, str, torch.Tensor, str] | None:
    """The file uploader; keeps the last good upload when a new one is bad. (key, name, x, conversion note)."""

    def read(data: bytes, name: str) -> tuple[str, str, bytes]:
        d = digest(data)
        upload_arrays(d, name, data)  # parse (and cache) now, so that a bad file is refused here
        return d, name, data

    got = kept_upload(
        container, t(Msg("Upload ({types}; up to {mb} MB, {n:,} values)", types=", ".join(EXTENSIONS),
                         mb=MAX_UPLOAD_BYTES // 2**20, n=MAX_ELEMENTS)),
        "upload_file", read, N_("data"))
    if got is None:
        container.info(t(N_("Upload a file to explore it; links cannot carry uploaded data.")))
        return None
    d, name, data = got
    arrays = upload_arrays(d, name, data)
    names = list(arrays)
    pick = names[0] if len(names) == 1 else container.selectbox(
        t(N_("array in the file")), names, key="upload_array", persist_state="session")
    if pick not in arrays:
        pick = names[0]
    x = arrays[pick]
    if x.ndim == 1:
        x = x[:, None]
    return f"upload:{d}:{pick}", name, x, arrays.conversion(pick)


def _permute(x: torch.Tensor, layout: str, axis: int) -> tuple[torch.Tensor, str, str]:
    letters = layout.split()
    if axis == 1 or axis >= x.ndim:
        return x, layout, ""
    order = [0, axis] + [i for i in range(1, x.ndim) if i != axis]
    new = " ".join(letters[i] for i in order)
    text = Msg("Permuted ({old}) to ({new}) so that {letter} is the channel axis (dim 1).", old=", ".join(letters),
               new=", ".join(new.split()), letter=letters[axis])
    return x.permute(order).contiguous(), new, text


def channel_default(letters: list[str]) -> int:
    """The channel axis a layout implies: where its C is (dim 1 when it has none, as torch assumes)."""
    return letters.index("C") if "C" in letters[1:] else 1


def _new_source() -> None:
    """A new source starts from its own shape, layout and channel axis (the source's callback)."""
    src = SOURCES.get(st.session_state.get("source"))
    if src is None:  # an upload: its layout is known once the file is read
        for key in ("layout", "channel_axis"):
            st.session_state.pop(key, None)
        return
    st.session_state["shape"] = ",".join(map(str, src.default_shape))
    st.session_state["layout"] = src.layout
    st.session_state["channel_axis"] = channel_default(src.layout.split())


def data_panel(default_source: str = DEFAULT_SOURCE, container=st) -> Data | None:
    """Render the data controls (link keys as in SOURCE_PARAMS; the seed is the sidebar's) and return the input.

    None while an upload is awaited.
    """
    source = linked(SOURCE, default=default_source, label=N_("data"), container=container, on_change=_new_source)
    seed = int(st.session_state.get("seed", SEED.default))
    labels = None
    shape = None
    conversion = ""
    if source == UPLOAD:
        got = _upload_tensor(container)
        if got is None:
            return None
        key, title, x, conversion = got
        description = Msg("Uploaded {name}:", name=title)
        natural = NATURAL.get(x.ndim, " ".join(f"d{i}" for i in range(x.ndim)))
    else:
        src = SOURCES[source]
        text = shape_box(src.default_shape, lambda shape: source_sample(source, shape, seed), container=container,
                         help=SHAPE.help)
        if not src.shape_editable:
            container.caption(t(Msg("Natural shape {shape}; you may ask for fewer samples.", shape=tuple(src.default_shape))))
        try:
            shape = parsed(SHAPE, text) or src.default_shape  # an empty box: the default
            sample = source_sample(source, shape, seed)
        except InputError as err:
            container.error(t(Msg.join([err.msg, Msg("Showing the default shape {shape}.", shape=tuple(src.default_shape))])))
            shape = src.default_shape
            sample = source_sample(source, shape, seed)
        title = src.title
        x, labels, description, natural = sample.x, sample.labels, sample.description, sample.layout
        key = f"{source}:{','.join(map(str, shape))}:{seed}"
        shape = None if tuple(shape) == tuple(src.default_shape) else tuple(shape)
    fits = [lay for lay in LAYOUTS if len(lay.split()) == x.ndim]
    layout = linked(LAYOUT, options=fits, default=natural, container=container) if fits else natural
    letters = layout.split()
    axes = list(range(1, x.ndim))
    axis = linked(CHANNEL_AXIS, options=axes, default=channel_default(letters), style="radio", label=N_("channel axis"),
                  captions=[letters[i] for i in axes], container=container,
                  describe=lambda i: f"{i} ({letters[i]})" if isinstance(i, int) and i < len(letters) else str(i))
    if "C" in letters[1:] and letters[axis] != "C":
        container.info(t(Msg("The channel axis is dim {axis} ({letter}), not C (dim {c}): per-channel statistics "
                             "are per {letter} index.", axis=axis, letter=letters[axis], c=letters.index("C"))))
    x, layout, permuted = _permute(x, layout, axis)
    summary = data_summary(f"{key}:{axis}", x)
    container.caption(t(Msg("{description} {shape} {dtype}, range [{min:.4g}, {max:.4g}], mean {mean:.4g}, "
                            "std {std:.4g}.", description=description, shape=tuple(x.shape), dtype=summary.dtype,
                            min=summary.min, max=summary.max, mean=summary.mean, std=summary.std)))
    if conversion:
        container.warning(t(conversion), icon=":material/swap_horiz:")
    bad = summary.nan + summary.posinf + summary.neginf
    if bad:
        keep = torch.isfinite(x).reshape(x.shape[0], -1).all(1)
        container.warning(t(Msg(
            "The data holds {nan} NaN and {inf} Inf values in {bad} of its {n} samples; a normalization would spread "
            "each into its whole group.", nan=summary.nan, inf=summary.posinf + summary.neginf, bad=int((~keep).sum()),
            n=x.shape[0])))
        fix = linked(NAN_FIX, style="radio", label="NaN/Inf", container=container,
                     captions=[t(NONFINITE[k]) for k in NONFINITE])
        if fix == "drop" and bool(keep.any()):
            x, labels = x[keep], (labels[keep] if labels is not None else None)
        elif fix == "zero":
            x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        key = f"{key}:{fix}"
    return Data(f"{key}:{axis}", x, layout, labels, description, permuted, source, title, shape, seed, axis)
