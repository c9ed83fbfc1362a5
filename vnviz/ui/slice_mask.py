"""Controls, caching and wording of the Slice & Mask page.

The link keys are DESIGN.md's: ``source``, ``shape``, ``seed``, ``variant``
(matrix_slice or matrix_mask), ``batch`` (which matrix of a batch is shown)
and every variant parameter under its API name (``rows=0:8:2``, ``kind=causal``,
``value=-inf``). The variant widgets come from the registry through
``variant_widgets``; this module adds only what a generic widget cannot do:
the fill ``value`` (a number input cannot hold ``-inf``) and the custom mask,
which is a file; when each mask parameter matters is declared with it (``Param.when``).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st
import torch

from vnviz.analysis.matrix import MaskEffects
from vnviz.data import EXTENSIONS, MAX_UPLOAD_BYTES
from vnviz.data.matrices import MATRIX_SOURCES, MatrixSample, load_matrices, make_matrix
from vnviz.data.upload import load_array
from vnviz.errors import InputError
from vnviz.analysis.matrix_view import MaskView, SliceView, mask_view, slice_view
from vnviz.ui.compute import CACHE_ENTRIES, digest, on_device, resolve_device
from vnviz.ui.state import LINK_FRESH, link_keys, read_link, variant_key, write_link
from vnviz.ui.upload import kept_upload
from vnviz.ui.widgets import refill_shape_text, variant_widgets
from vnviz.variants.matrix import as_keep_mask
from vnviz.variants.registry import VARIANTS, Param, Variant, apply

PAGE = "slice_mask"
KEY = "sm:"  # prefix of this page's own session keys (other pages use "source", "seed", ... too)
UPLOAD = "upload"
VARIANT_NAMES = ("matrix_mask", "matrix_slice")
COMMON = (
    Param("source", "choice", "attention", "Which matrix to start from, or your own file.",
          choices=tuple(MATRIX_SOURCES) + (UPLOAD,)),
    Param("shape", "shape", None, "(R, C) for one matrix or (B, R, C) for a batch, comma-separated."),
    Param("seed", "int", 0, "Seed of the matrix and of a random mask (same seed, same picture).",
          low=0, high=2**31 - 1),
    Param("variant", "choice", "matrix_mask", "Slice the matrix, or mask it.", choices=VARIANT_NAMES),
    Param("batch", "int", 0, "Which matrix of the batch to show (row-major over the leading dims).", low=0),
)
VALUE_CHOICES = ("-inf", "0.0", "lowest", "other")  # the fill value selectbox
MASK_FILE = KEY + "mask_file"  # uploader key of a custom mask
DATA_FILE = KEY + "upload_file"  # uploader key of an uploaded matrix
REPAIRS = "_sm_link_repairs"  # session key: notices about link parameters that did not fit the matrix


def ui_variant(name: str) -> Variant:
    """The registry's variant (its parameters declare when they matter)."""
    return VARIANTS[name]


@dataclass(frozen=True)
class MatrixData:
    """The matrix (or batch of matrices) the page works on."""

    key: str  # cache key: source, shape and seed, or the upload's digest and array name
    x: torch.Tensor  # float32/float64 on the CPU, (..., R, C)
    description: str  # one sentence


@dataclass(frozen=True)
class Controls:
    """What the user chose on the Slice & Mask page."""

    data: MatrixData  # the input
    variant: Variant  # matrix_slice or matrix_mask
    params: dict[str, Any]  # keyword parameters for vnviz.apply (a custom mask included)
    params_key: str  # the parameters as text (cache key; a custom mask by its digest)
    batch: int  # which matrix is shown
    notices: list[str]  # link values that were invalid and replaced


# -- caching (keyed on strings; tensors ride along as underscore arguments) -----------


@st.cache_resource(max_entries=CACHE_ENTRIES, show_spinner=False)
def matrix_sample(name: str, shape: tuple[int, ...] | None, seed: int) -> MatrixSample:
    """A generated matrix (CPU), shared by every session."""
    return make_matrix(name, shape, seed)


@st.cache_resource(max_entries=CACHE_ENTRIES, show_spinner=False)
def upload_matrices(data_digest: str, filename: str, _data: bytes) -> dict[str, torch.Tensor]:
    """The usable matrices of an uploaded file, keyed on its SHA-256."""
    return load_matrices(_data, filename)


@st.cache_resource(max_entries=CACHE_ENTRIES, show_spinner=False)
def cached_slice(data_key: str, device: str, params_key: str, batch: int, _x: torch.Tensor,
                 _params: dict[str, Any]) -> SliceView:
    return slice_view(_x, _params["rows"], _params["cols"], batch)


@st.cache_resource(max_entries=CACHE_ENTRIES, show_spinner=False)
def cached_mask(data_key: str, device: str, params_key: str, batch: int, _x: torch.Tensor,
                _params: dict[str, Any]) -> MaskView:
    return mask_view(_x, _params, batch)


def run_view(c: Controls) -> SliceView | MaskView:
    """The page's view on the best device (the CPU after an out-of-memory); InputError on bad parameters."""
    device, _ = resolve_device("auto")
    fn = cached_slice if c.variant.name == "matrix_slice" else cached_mask
    try:
        x = on_device(c.data.key, str(device), c.data.x)
        return fn(c.data.key, str(device), c.params_key, c.batch, x, c.params)
    except torch.OutOfMemoryError:
        if device.type == "cpu":
            raise InputError("The computation ran out of memory; choose a smaller shape.") from None
        torch.cuda.empty_cache()
        return fn(c.data.key, "cpu", c.params_key, c.batch, c.data.x, c.params)


# -- link state ---------------------------------------------------------------------------


def _variant_of(state: Any) -> Variant:
    name = state.get("variant") if "variant" in link_keys() else state.get(KEY + "variant")
    return ui_variant(name if name in VARIANT_NAMES else COMMON[3].default)


def _read_link() -> list[str]:
    """read_link for this page, moving the common values into this page's own session keys.

    read_link keeps common values under their link names, which other pages use
    for their own state; those are put back as they were.
    """
    names = [p.name for p in COMMON]
    saved = {n: st.session_state[n] for n in names if n in st.session_state}
    notices = read_link(PAGE, COMMON, _variant_of)
    in_query = link_keys()
    if st.session_state.get(LINK_FRESH):
        for n in names:
            if n in in_query:
                st.session_state[KEY + n] = st.session_state[n]
        variant = _variant_of(st.session_state)
        for p in variant.widget_params:  # text widgets must show the link's text, not an older one
            if p.kind in ("str", "ints", "shape") and p.name in in_query:
                value = st.session_state[variant_key(variant, p)]
                st.session_state[variant_key(variant, p) + ":text"] = "" if value is None else p.to_text(value)
    for n in names:
        if n in saved:
            st.session_state[n] = saved[n]
        else:
            st.session_state.pop(n, None)
    return notices


def _applicable(variant: Variant) -> dict[str, Any]:
    """The current values (session) of the parameters that matter for the current kind/mode."""
    values = {p.name: st.session_state.get(variant_key(variant, p), p.default) for p in variant.widget_params}
    return {p.name: values[p.name] for p in variant.widget_params if p.applies(values)}


def _repair_link(variant: Variant, x: torch.Tensor) -> list[str]:
    """On a fresh link, replace link parameters that do not fit this matrix by their defaults, with a notice."""
    notices: list[str] = []
    linked = [p for p in variant.widget_params if p.name in link_keys() and p.name not in ("kind", "mode", "seed")]

    def attempt() -> InputError | None:
        params = _applicable(variant)
        if params.get("kind") == "custom":
            return None
        if params.get("kind") == "padding" and params.get("lengths") is None:
            params["lengths"] = default_lengths(tuple(x.shape))
        try:
            apply(variant.name, x, **params)
        except InputError as err:
            return err
        return None

    err = attempt()
    if err is None:
        return notices
    current = {p.name: st.session_state.get(variant_key(variant, p), p.default) for p in linked}
    bad = []
    for p in linked:  # the first parameter whose default alone makes it work
        st.session_state[variant_key(variant, p)] = p.default
        if attempt() is None:
            bad = [p]
            break
        st.session_state[variant_key(variant, p)] = current[p.name]
    bad = bad or linked
    for p in bad:
        st.session_state[variant_key(variant, p)] = p.default
        st.session_state[variant_key(variant, p) + ":text"] = "" if p.default is None else p.to_text(p.default)
        notices.append(f"{err} The link's {p.name}={p.to_text(current[p.name])} does not fit this matrix; "
                       f"using {p.to_text(p.default) or 'the default'} instead.")
    return notices


# -- data -----------------------------------------------------------------------------------


def _upload(container: Any) -> MatrixData | None:
    """The matrix uploader; keeps the last good upload when a new one is bad."""

    def read(data: bytes, name: str) -> tuple[str, str, bytes]:
        d = digest(data)
        upload_matrices(d, name, data)  # parse (and cache) now, so that a bad file is refused here
        return d, name, data

    got = kept_upload(container, f"Upload a matrix ({', '.join(EXTENSIONS)}; up to {MAX_UPLOAD_BYTES // 2**20} MB)",
                      DATA_FILE, read, "matrix",
                      help="At least 2 dims: the last two are the matrix, any leading dims a batch.")
    if got is None:
        container.info("Upload a file to slice and mask it; links cannot carry uploaded data.")
        return None
    d, name, data = got
    arrays = upload_matrices(d, name, data)
    names = list(arrays)
    pick = container.selectbox("array in the file", names, key=KEY + "upload_array") if len(names) > 1 else names[0]
    x = arrays[pick]
    return MatrixData(f"upload:{d}:{pick}", x, f"Uploaded {name}: shape {tuple(x.shape)}, {str(x.dtype)[6:]}.")


def data_controls(container: Any = st) -> MatrixData | None:
    """Source, shape and seed (or an upload): the matrix, or None while an upload is awaited."""
    names = list(MATRIX_SOURCES) + [UPLOAD]
    source = container.selectbox(
        "matrix", names, key=KEY + "source", help=COMMON[0].help,
        format_func=lambda n: "upload a file" if n == UPLOAD else MATRIX_SOURCES[n].title)
    if source == UPLOAD:
        container.number_input("seed (of a random mask)", min_value=0, max_value=2**31 - 1, step=1,
                               key=KEY + "seed", help=COMMON[2].help)
        return _upload(container)
    src = MATRIX_SOURCES[source]
    if st.session_state.get("_sm_shape_source", source) != source and not st.session_state.get(LINK_FRESH):
        st.session_state[KEY + "shape"] = None  # a new source starts from its own default shape
    st.session_state["_sm_shape_source"] = source
    shape = st.session_state.get(KEY + "shape") or src.default_shape
    refill_shape_text(KEY + "shape_text", "_sm_shape_seen", shape)
    left, right = container.columns(2)
    text = left.text_input("shape", key=KEY + "shape_text", help=COMMON[1].help)
    seed = int(right.number_input("seed", min_value=0, max_value=2**31 - 1, step=1, key=KEY + "seed",
                                  help=COMMON[2].help))
    try:
        shape = COMMON[1].from_text(text, "shape") or src.default_shape  # an empty box: the default
        sample = matrix_sample(source, shape, seed)
    except InputError as err:
        container.error(f"{err} Showing the default shape {src.default_shape}.")
        shape = src.default_shape
        sample = matrix_sample(source, shape, seed)
    st.session_state[KEY + "shape"] = st.session_state["_sm_shape_seen"] = shape
    return MatrixData(f"{source}:{','.join(map(str, shape))}:{seed}", sample.x, sample.description)


def matrix_count(x: torch.Tensor) -> int:
    """How many matrices a (..., R, C) tensor holds."""
    return x.numel() // (x.shape[-2] * x.shape[-1])


def batch_control(x: torch.Tensor, container: Any = st) -> int:
    """Which matrix of a batch to show (no widget for a single matrix)."""
    count = matrix_count(x)
    if count == 1:
        st.session_state[KEY + "batch"] = 0
        return 0
    if not 0 <= int(st.session_state[KEY + "batch"]) < count:
        container.info(f"batch={st.session_state[KEY + 'batch']} is out of range for {count} matrices; "
                       "showing matrix 0.")
        st.session_state[KEY + "batch"] = 0
    return int(container.number_input(f"matrix shown (0 to {count - 1})", min_value=0, max_value=count - 1, step=1,
                                      key=KEY + "batch", help=COMMON[4].help))


# -- the mask's special parameters -------------------------------------------------------------


def default_lengths(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Padding lengths that show something: 3/4 of the columns for one matrix, one per sample of dim 0 else."""
    c = shape[-1]
    if len(shape) == 2:
        return (max(1, 3 * c // 4),)
    b = shape[0]
    return tuple(max(1, c - i * c // (2 * b)) for i in range(b))


def value_widget(dtype: torch.dtype, container: Any = st) -> float:
    """The fill value: -inf, 0.0, the lowest finite float of the dtype, or any number typed (FillParam.from_text)."""
    mask = ui_variant("matrix_mask")
    p = mask.param("value")
    key = variant_key(mask, p)
    lowest = float(torch.finfo(dtype).min)
    st.session_state.setdefault(key, p.default)
    current = float(st.session_state[key])
    choice_key, text_key = key + ":choice", key + ":text"
    if st.session_state.get(LINK_FRESH) or choice_key not in st.session_state:
        named = {-math.inf: "-inf", 0.0: "0.0", lowest: "lowest"}
        st.session_state[choice_key] = named.get(current, "other")
    labels = {"-inf": "−inf (softmax gives exactly 0)", "0.0": "0.0",
              "lowest": f"lowest {str(dtype)[6:]} ({lowest:.3g})", "other": "another number…"}
    choice = container.selectbox("value", VALUE_CHOICES, key=choice_key, format_func=labels.get,
                                 help=p.help + " 'another number' also takes -inf or inf; NaN is refused.")
    if choice == "other":
        st.session_state.setdefault(text_key, p.to_text(current))
        text = container.text_input("value (a number, -inf or inf)", key=text_key)
        try:
            value = p.from_text(text, "Matrix Mask")
        except InputError as err:
            container.error(f"{err} Keeping {p.to_text(current)}.")
            value = current
    else:
        value = {"-inf": -math.inf, "0.0": 0.0, "lowest": lowest}[choice]
        st.session_state[text_key] = p.to_text(value)
    st.session_state[key] = value
    return value


def mask_template(shape: tuple[int, ...]) -> bytes:
    """A causal 0/1 mask of the matrix shape as CSV: a file to edit and upload."""
    r, c = shape[-2:]
    buf = io.StringIO()
    np.savetxt(buf, np.tril(np.ones((r, c), dtype=np.int64)), fmt="%d", delimiter=",")
    return buf.getvalue().encode()


def mask_upload(shape: tuple[int, ...], container: Any = st) -> tuple[str, torch.Tensor] | None:
    """The custom 0/1 mask file: (digest, mask) of the last good upload, or None."""
    r, c = shape[-2:]
    def read(data: bytes, name: str) -> tuple[str, torch.Tensor]:
        m = load_array(data, name)
        as_keep_mask(m, tuple(shape), torch.device("cpu"), f"The mask {name!r}")
        return digest(data), m

    got = kept_upload(container, f"0/1 mask, shape ({r}, {c}) or {tuple(shape)}; 1 keeps an entry", MASK_FILE,
                      read, "mask")
    if got is None:
        container.info("Upload a 0/1 mask to apply it; links cannot carry it. Start from the template below.")
        container.download_button("causal template (.csv)", mask_template(shape), "mask_template.csv", "text/csv",
                                  key=KEY + "template")
        return None
    return got


# -- the page's controls --------------------------------------------------------------------------


def _show(notices: list[str]) -> None:
    """Show the link notices here (the page shows them itself once there is a view)."""
    for notice in notices:
        st.info(notice)


def controls() -> Controls | None:
    """Render the page's controls; None while an upload (matrix or custom mask) is awaited."""
    notices = list(_read_link())
    for p in COMMON:
        st.session_state.setdefault(KEY + p.name, p.default)
    left, right = st.columns([1, 1], gap="large")
    with left.container(border=True):
        st.markdown("**Matrix**")
        data = data_controls()
        if data is not None:
            st.caption(data.description)
            batch = batch_control(data.x)
    if st.session_state.get(KEY + "variant") not in VARIANT_NAMES:
        st.session_state[KEY + "variant"] = COMMON[3].default
    with right.container(border=True):
        st.markdown("**Operation**")
        name = st.radio("operation", VARIANT_NAMES, key=KEY + "variant", horizontal=True, help=COMMON[3].help,
                        format_func=lambda n: VARIANTS[n].title)
        variant = ui_variant(name)
        st.caption(f"{variant.summary}  \n`{variant.pattern}` · torch: `{variant.reference}`")
        params: dict[str, Any] = {}
        mask_key = ""
        if data is not None:
            shape = tuple(data.x.shape)
            if st.session_state.get(LINK_FRESH):  # kept until the next link, like read_link's notices
                st.session_state[REPAIRS] = _repair_link(variant, data.x)
            notices += st.session_state.get(REPAIRS, [])
            if name == "matrix_mask" and _applicable(variant).get("kind") == "padding":
                lkey = variant_key(variant, variant.param("lengths"))
                if st.session_state.get(lkey) is None:  # padding needs lengths: offer ones that fit
                    st.session_state[lkey] = default_lengths(shape)
                    st.session_state[lkey + ":text"] = ",".join(map(str, st.session_state[lkey]))
            params = variant_widgets(variant, shape, skip=("value", "seed"))
            if params.get("mode") == "fill":
                params["value"] = value_widget(data.x.dtype)
            if params.get("kind") == "random":
                params["seed"] = int(st.session_state[KEY + "seed"])  # one seed in the link: the page's
            if params.get("kind") == "custom":
                got = mask_upload(shape)
                if got is not None:
                    mask_key, params["mask"] = got
    if data is None:
        _show(notices)
        return None
    values = {n: st.session_state[KEY + n] for n in ("source", "shape", "seed")}
    if values["source"] == UPLOAD:
        values.pop("shape")
    values["variant"] = name
    if matrix_count(data.x) > 1:
        values["batch"] = batch
    linked = {p.name: p for p in COMMON + variant.widget_params}
    values.update({k: v for k, v in params.items() if k not in ("mask", "seed")})
    write_link(PAGE, values, linked)
    if params.get("kind") == "custom" and "mask" not in params:
        _show(notices)
        return None
    params_key = "&".join(f"{k}={variant.param(k).to_text(v)}" for k, v in sorted(params.items()) if k != "mask")
    params_key += f"&mask={mask_key}" if mask_key else ""
    return Controls(data, variant, params, params_key, batch, notices)


# -- wording ----------------------------------------------------------------------------------------


def titles(c: Controls) -> tuple[str, str]:
    """Titles of the before | after heatmaps."""
    b = f"[{c.batch}]" if matrix_count(c.data.x) > 1 else ""
    if c.variant.name == "matrix_slice":
        return f"x{b}", f"y{b} = x[..., {c.params['rows'] or ':'}, {c.params['cols'] or ':'}]"
    if c.params.get("mode") == "fill":
        value = c.variant.param("value").to_text(c.params["value"]).replace("-", "−")
        return f"x{b}", f"masked{b}: removed → {value}"
    return f"x{b}", f"masked{b}: removed → 0 (M⊙x)"


def write_text(v: SliceView) -> str:
    """What writing through y did to x."""
    if v.written:
        return (f"`y.fill_(big)` on a clone of x changed {v.written} entries of x{'[0]' if v.count > 1 else ''}: "
                "y is a view, so its writes land in x's memory.")
    return "`y.fill_(big)` on a clone of x changed nothing in x: y is a copy with its own memory."


def mask_metrics(v: MaskView) -> list[tuple[str, str, str]]:
    """(label, value, help) of the mask's headline numbers."""
    e = v.effects
    r, c = e.shape
    removed = round(e.sparsity * r * c)
    return [
        (f"removed (sparsity {e.sparsity:.1%})", f"{removed} / {r * c}",
         "Entries the mask removes in the matrix shown."),
        ("retained energy ‖B‖/‖A‖", f"{e.retained_energy:.3f}",
         "Frobenius norm of the masked matrix over that of the input (B = M⊙A, or A filled with a finite value)."),
        ("‖B·v‖ / ‖A·v‖", f"{e.product_ratio:.3f}", "How much of the product with a random vector v survives."),
        ("fully masked rows", f"{e.fully_masked_rows} of {r}",
         "Rows with every entry removed: NaN under a plain −inf softmax."),
    ]


def product_text(v: MaskView, mode: str) -> str:
    """Caption of the A·v figure."""
    text = (f"v is a seeded random vector of length {v.effects.shape[1]}. "
            f"Relative error ‖B·v − A·v‖/‖A·v‖ = {v.effects.product_error:.3g}.")
    if mode == "fill" and v.product_mode == "multiply":
        text += (" The fill value stands for ±inf, so B·v would be ±inf or NaN (−inf × v); the product shown uses "
                 "M⊙A instead: −inf fills are for softmax logits, not for products.")
    return text


def softmax_text(e: MaskEffects) -> str:
    """The softmax lesson, with this matrix's numbers."""
    text = ("Each row of A is read as attention logits. **Multiplying by the mask does not hide an entry from a "
            "softmax:** a removed logit becomes 0, and a zero logit still gets probability exp(0)/Z. ")
    c = e.shape[1]
    partial = (e.kept_per_row > 0) & (e.kept_per_row < c) if e.leaked.numel() else e.leaked.bool()
    if bool(partial.any()):
        leaked = e.leaked[partial]
        text += (f"Here, in the rows that keep some entries, the removed ones still take "
                 f"**{float(leaked.mean()):.1%}** of the probability on average (up to {float(leaked.max()):.1%}). ")
    return text + "**Filling with −inf** gives them exactly 0: the softmax renormalises over the kept entries only."


def nan_rows_text(e: MaskEffects) -> str | None:
    """The fully-masked-rows warning, or None when every row keeps something."""
    if not e.fully_masked_rows:
        return None
    return (
        f"{e.fully_masked_rows} of {e.shape[0]} rows are fully masked. "
        "With −inf every logit of such a row is −inf, "
        f"so the plain softmax is 0/0 = NaN ({e.nan_rows} NaN rows, painted in the right-hand panel). "
        "The safe alternative sets those rows to 0 (the curves below use it); or fill with the lowest finite "
        "float instead of −inf, which makes such a row uniform instead of NaN."
    )


SAFE_SOFTMAX = """p = torch.softmax(scores.masked_fill(~keep, float("-inf")), dim=-1)
p = torch.where(keep.any(dim=-1, keepdim=True), p, 0.0)  # fully masked rows: 0, not NaN"""
