"""Controls, caching and wording of the Slice & Mask page.

The link keys: ``matrix`` (which matrix, or ``upload``), ``matrix_shape``, ``seed`` (the
app's one seed), ``op`` (matrix_slice or matrix_mask), ``batch`` (which matrix of a batch
is shown) and every variant parameter under its API name (``rows=0:8:2``, ``kind=causal``,
``value=-inf``), but the mask's ``mode``, which is ``mask_mode``: a link key means one thing
on every page (``vnviz.ui.state``), and ``source``, ``shape``, ``variant`` and ``mode`` are
Explore's and ClusterNorm's. Older links with those names are rewritten.
The variant widgets come from the registry through ``variant_widgets``; this
module adds only what a generic widget cannot do (when each mask parameter
matters is declared with it, ``Param.when``): the fill ``value`` (a number box cannot hold ``-inf``; its
default here is ``-inf``, since a fill with 0.0 is the same as multiply), the
custom mask, which is a file, and a link value that does not fit the matrix.
"""
from __future__ import annotations

import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import streamlit as st
import torch

from vnviz.analysis.matrix import MaskEffects
from vnviz.data import EXTENSIONS, MAX_UPLOAD_BYTES
from vnviz.data.matrices import MATRIX_SOURCES, MatrixSample, load_matrices, make_matrix
from vnviz.data.upload import load_array
from vnviz.errors import InputError
from vnviz.i18n import N_, Msg
from vnviz.analysis.matrix_view import MaskView, SliceView, mask_view, slice_view
from vnviz.ui import state
from vnviz.ui.compute import CACHE_ENTRIES, TTL, digest, on_device, resolve_device, with_cpu_fallback
from vnviz.ui.lang import t
from vnviz.ui.presenter import is_presenting
from vnviz.ui.upload import kept_upload
from vnviz.ui.widgets import GOOD, TEXT_ERROR, _after, _draw, link_params, linked, parsed, shape_box, variant_widgets
from vnviz.variants.matrix import as_keep_mask
from vnviz.variants.registry import VARIANTS, Param, Variant, apply

UPLOAD = "upload"
VARIANT_NAMES = ("matrix_mask", "matrix_slice")
SOURCE = Param("matrix", "choice", "attention", N_("Which matrix to start from, or your own file (upload)."),
               choices=tuple(MATRIX_SOURCES) + (UPLOAD,))
SHAPE = Param("matrix_shape", "shape", None, N_("(R, C) for one matrix or (B, R, C) for a batch, comma-separated."))
SEED = Param("seed", "int", 0, N_("Seed of the matrix and of a random mask (same seed, same picture)."), low=0,
             high=2**31 - 1)
OPERATION = Param("op", "choice", "matrix_mask", N_("Slice the matrix, or mask it."), choices=VARIANT_NAMES)
LINK_NAMES = {"mode": "mask_mode"}  # the mask's mode; "mode" is ClusterNorm's (hard or soft)
LINK_NAMES_BACK = {v: k for k, v in LINK_NAMES.items()}
OLD_NAMES = {"source": "matrix", "shape": "matrix_shape", "variant": "op", "mode": "mask_mode"}  # older links
BATCH = Param("batch", "int", 0, N_("Which matrix of the batch to show (row-major over the leading dims)."), low=0)
COMMON = (SOURCE, SHAPE, SEED, OPERATION, BATCH)
FILL_DEFAULT = -math.inf  # the page's fill value: what fill is for (0.0 would be the same as multiply)
MASK_FILE = "sm:mask_file"  # uploader key of a custom mask
DATA_FILE = "sm:upload_file"  # uploader key of an uploaded matrix


def _ui_param(p: Param) -> Param:
    return replace(p, default=FILL_DEFAULT) if p.name == "value" else p


def ui_variant(name: str) -> Variant:
    """The registry's variant (its parameters declare when they matter), with -inf to fill with."""
    v = VARIANTS[name]
    return replace(v, params=tuple(_ui_param(p) for p in v.params))


def _link_params(raw: Mapping[str, Any]) -> dict[str, Param]:
    name = raw.get(OPERATION.name, OPERATION.default)
    variant = ui_variant(name if name in VARIANT_NAMES else OPERATION.default)
    return {**{p.name: p for p in COMMON}, **link_params(variant, raw, link_names=LINK_NAMES)}


def _legacy(raw: dict[str, Any]) -> dict[str, Any]:
    """Older links named the matrix ``source``, its shape ``shape``, the operation ``variant``, the mask's ``mode``."""
    return {OLD_NAMES.get(k, k) if OLD_NAMES.get(k, k) not in raw else k: v for k, v in raw.items()}


PAGE = state.Page("slice_mask", _link_params, legacy=_legacy,
                  known=frozenset(p.name for p in COMMON) | {LINK_NAMES.get(p.name, p.name) for n in VARIANT_NAMES
                                                              for p in VARIANTS[n].widget_params})


@dataclass(frozen=True)
class MatrixData:
    """The matrix (or batch of matrices) the page works on."""

    key: str  # cache key: source, shape and seed, or the upload's digest and array name
    x: torch.Tensor  # float32/float64 on the CPU, (..., R, C)
    description: str  # one sentence
    title: str = ""  # the source's title or the file's name


@dataclass(frozen=True)
class Controls:
    """What the user chose on the Slice & Mask page."""

    data: MatrixData  # the input
    variant: Variant  # matrix_slice or matrix_mask
    params: dict[str, Any]  # keyword parameters for vnviz.apply (a custom mask included)
    params_key: str  # the parameters as text (cache key; a custom mask by its digest)
    batch: int  # which matrix is shown
    notices: list[str]  # link values that were invalid and replaced
    headline: str = ""  # what is shown, in a few words (presenter mode's title)


# -- caching (keyed on strings; tensors ride along as underscore arguments) -----------


@st.cache_resource(max_entries=CACHE_ENTRIES, ttl=TTL, show_spinner=False)
def matrix_sample(name: str, shape: tuple[int, ...] | None, seed: int) -> MatrixSample:
    """A generated matrix (CPU), shared by every session."""
    return make_matrix(name, shape, seed)


@st.cache_resource(max_entries=CACHE_ENTRIES, ttl=TTL, show_spinner=False)
def upload_matrices(data_digest: str, filename: str, _data: bytes) -> dict[str, torch.Tensor]:
    """The usable matrices of an uploaded file, keyed on its SHA-256."""
    return load_matrices(_data, filename)


@st.cache_resource(max_entries=CACHE_ENTRIES, ttl=TTL, show_spinner=False)
def cached_slice(data_key: str, device: str, params_key: str, batch: int, _x: torch.Tensor,
                 _params: dict[str, Any]) -> SliceView:
    return slice_view(_x, _params["rows"], _params["cols"], batch)


@st.cache_resource(max_entries=CACHE_ENTRIES, ttl=TTL, show_spinner=False)
def cached_mask(data_key: str, device: str, params_key: str, batch: int, _x: torch.Tensor,
                _params: dict[str, Any]) -> MaskView:
    return mask_view(_x, _params, batch)


def run_view(c: Controls) -> tuple[SliceView | MaskView, list[str]]:
    """The page's view on the best device (the CPU after an out-of-memory, with a notice); InputError on bad parameters."""
    device, note = resolve_device("auto")
    fn = cached_slice if c.variant.name == "matrix_slice" else cached_mask

    def run(dev: str) -> SliceView | MaskView:
        return fn(c.data.key, dev, c.params_key, c.batch, on_device(c.data.key, dev, c.data.x), c.params)

    view, oom = with_cpu_fallback(device, run)
    return view, [n for n in (note, oom) if n]


# -- a link value that does not fit the matrix --------------------------------------------------


def _repair_link(variant: Variant, x: torch.Tensor) -> None:
    """Before the widgets take the link: a linked parameter that makes the mask or slice fail on this matrix
    is dropped from the link (the first one whose default alone makes it work), with a notice, and the page reruns."""
    link = {LINK_NAMES_BACK.get(k, k): v for k, v in state.peek_pending().items()}  # by API name
    params = {p.name: p for p in variant.widget_params}
    linked_names = [k for k in link if k in params and k not in ("kind", "mode", "seed")]
    if not linked_names:
        return
    values = {p.name: p.default for p in variant.widget_params}
    for k, v in link.items():
        if k in params:
            try:
                values[k] = params[k].from_text(str(v))
            except InputError:
                pass

    def attempt(vals: dict[str, Any]) -> InputError | None:
        used = {p.name: vals[p.name] for p in variant.widget_params if p.name != "seed" and p.applies(vals)}
        if used.get("kind") == "custom":
            return None
        if used.get("kind") == "padding" and used.get("lengths") is None:
            used["lengths"] = default_lengths(tuple(x.shape))
        try:
            apply(variant.name, x, **used)
        except InputError as err:
            return err
        return None

    err = attempt(values)
    if err is None:
        return
    bad = next((k for k in linked_names if attempt({**values, k: params[k].default}) is None), linked_names[0])
    default = params[bad].to_text(params[bad].default)
    if default:
        said = Msg("The link's {key}={value} does not fit this matrix; using {default} instead.", key=bad,
                   value=link[bad], default=default)
    else:
        said = Msg("The link's {key}={value} does not fit this matrix; using the default instead.", key=bad,
                   value=link[bad])
    why = err.msg if isinstance(err, InputError) else err
    state.drop_link_value(LINK_NAMES.get(bad, bad), Msg.join([why, said]))
    st.rerun()


# -- data -----------------------------------------------------------------------------------


def _upload(container: Any) -> MatrixData | None:
    """The matrix uploader; keeps the last good upload when a new one is bad."""

    def read(data: bytes, name: str) -> tuple[str, str, bytes]:
        d = digest(data)
        upload_matrices(d, name, data)  # parse (and cache) now, so that a bad file is refused here
        return d, name, data

    got = kept_upload(container, Msg("Upload a matrix ({types}; up to {mb} MB)", types=", ".join(EXTENSIONS),
                                     mb=MAX_UPLOAD_BYTES // 2**20),
                      DATA_FILE, read, N_("matrix"),
                      help=N_("At least 2 dims: the last two are the matrix, any leading dims a batch."))
    if got is None:
        container.info(t(N_("Upload a file to slice and mask it; links cannot carry uploaded data.")))
        return None
    d, name, data = got
    arrays = upload_matrices(d, name, data)
    names = list(arrays)
    pick = names[0] if len(names) == 1 else container.selectbox(t(N_("array in the file")), names, key="sm:upload_array",
                                                                persist_state="session")
    pick = pick if pick in arrays else names[0]
    x = arrays[pick]
    return MatrixData(f"upload:{d}:{pick}", x, Msg("Uploaded {name}: shape {shape}, {dtype}.", name=name,
                                                   shape=tuple(x.shape), dtype=str(x.dtype)[6:]), name)


def _new_source() -> None:
    """A new source starts from its own shape (the source's callback)."""
    src = MATRIX_SOURCES.get(st.session_state.get(SOURCE.name))
    if src is not None:
        st.session_state[SHAPE.name] = ",".join(map(str, src.default_shape))


def data_controls(container: Any = st) -> MatrixData | None:
    """Source, shape and seed (or an upload): the matrix, or None while an upload is awaited."""
    source = linked(SOURCE, label=N_("matrix"), container=container, on_change=_new_source)
    if source == UPLOAD:
        linked(SEED, label=N_("seed (of a random mask)"), container=container)
        return _upload(container)
    src = MATRIX_SOURCES[source]
    left, right = container.columns(2)
    text = shape_box(src.default_shape, lambda shape: matrix_sample(source, shape, 0), container=left, help=SHAPE.help,
                     key=SHAPE.name)
    seed = int(linked(SEED, container=right))
    try:
        shape = parsed(SHAPE, text) or src.default_shape  # an empty box: the default
        sample = matrix_sample(source, shape, seed)
    except InputError as err:
        container.error(t(Msg.join([err.msg, Msg("Showing the default shape {shape}.", shape=src.default_shape)])))
        shape = src.default_shape
        sample = matrix_sample(source, shape, seed)
    return MatrixData(f"{source}:{','.join(map(str, shape))}:{seed}", sample.x, sample.description, src.title)


def matrix_count(x: torch.Tensor) -> int:
    """How many matrices a (..., R, C) tensor holds."""
    return x.numel() // (x.shape[-2] * x.shape[-1])


def batch_control(x: torch.Tensor, container: Any = st) -> int:
    """Which matrix of a batch to show (no widget for a single matrix)."""
    count = matrix_count(x)
    if count == 1:
        if state.peek_pending().get("batch") is not None:  # no batch to choose from: not in the link
            state.drop_link_value("batch", Msg("batch={batch}: this is one matrix, not a batch; showing it.",
                                               batch=state.peek_pending()["batch"]))
        return 0
    return int(linked(BATCH, high=count - 1, label=Msg("matrix shown (0 to {last})", last=count - 1), container=container))


# -- the mask's special parameters -------------------------------------------------------------


def default_lengths(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Padding lengths that show something: 3/4 of the columns for one matrix, one per sample of dim 0 else."""
    c = shape[-1]
    if len(shape) == 2:
        return (max(1, 3 * c // 4),)
    b = shape[0]
    return tuple(max(1, c - i * c // (2 * b)) for i in range(b))


def _value_changed(p: Param) -> None:
    """The fill value's callback: a value that is not a number, -inf or inf goes back to the last good one."""
    text = st.session_state.get("value", "")
    try:
        p.from_text(str(text), "Matrix Mask")
    except InputError as err:
        good = st.session_state.get(GOOD + "value", "-inf")
        st.session_state[TEXT_ERROR + "value"] = Msg.join([err.msg, Msg("Keeping {good}.", good=good)])
        st.session_state["value"] = good


def value_widget(dtype: torch.dtype, container: Any = st) -> float:
    """The fill value (link key ``value``): -inf, 0.0, the dtype's lowest float, or any number typed in."""
    p = ui_variant("matrix_mask").param("value")
    lowest = p.to_text(float(torch.finfo(dtype).min))
    options = ["-inf", "0.0", lowest]
    state.prepare("value", "-inf")
    text = _draw(
        container.selectbox, t(N_("value")), options, index=0, key="value", bind="query-params", accept_new_options=True,
        on_change=_value_changed, args=(p,),
        help=t(Msg.join([p.help, Msg("The choices: −inf (softmax gives exactly 0), 0.0, the lowest {dtype} ({lowest}); "
                                     "or type a number, -inf or inf (NaN is refused).", dtype=str(dtype)[6:],
                                     lowest=lowest)])))
    error = st.session_state.pop(TEXT_ERROR + "value", None)
    if error:
        container.error(t(error))
    try:
        value = p.from_text(str(text), "Matrix Mask")
    except InputError:
        value, text = FILL_DEFAULT, "-inf"
    st.session_state[GOOD + "value"] = text
    _after(p, "value", value, p.to_text)
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

    got = kept_upload(container, Msg("0/1 mask, shape ({r}, {c}) or {shape}; 1 keeps an entry", r=r, c=c,
                                     shape=tuple(shape)), MASK_FILE, read, N_("mask"))
    if got is None:
        container.info(t(N_("Upload a 0/1 mask to apply it; links cannot carry it. Start from the template below.")))
        container.download_button(t(N_("causal template (.csv)")), mask_template(shape), "mask_template.csv", "text/csv",
                                  key="sm:template")
        return None
    return got


# -- the page's controls --------------------------------------------------------------------------


def controls() -> Controls | None:
    """Render the page's controls; None while an upload (matrix or custom mask) is awaited."""
    state.open_page(PAGE)
    # presenter mode: the controls fold away, the figures get the screen, the title says what is shown
    holder = st.expander(t(N_("matrix and operation")), expanded=False, icon=":material/tune:") if is_presenting() else st
    left, right = holder.columns([1, 1], gap="large")
    batch = 0
    with left.container(border=True):
        st.markdown(t(N_("**Matrix**")))
        data = data_controls()
        if data is not None:
            st.caption(t(data.description))
            batch = batch_control(data.x)
    with right.container(border=True):
        st.markdown(t(N_("**Operation**")))
        name = linked(OPERATION, style="radio", label=N_("operation"),
                      captions=[t(VARIANTS[n].title) for n in VARIANT_NAMES])
        variant = ui_variant(name)
        st.caption(t(Msg("{summary}  \n`{pattern}` · torch: `{reference}`", summary=variant.summary,
                         pattern=variant.pattern, reference=variant.reference)))
        params: dict[str, Any] = {}
        mask_key = ""
        if data is not None:
            shape = tuple(data.x.shape)
            _repair_link(variant, data.x)
            kind = st.session_state.get("kind") or state.peek_pending().get("kind") or "causal"  # (before it is drawn)
            if name == "matrix_mask" and kind == "padding":
                lengths = variant.param("lengths")
                variant = replace(variant, params=tuple(
                    replace(q, default=default_lengths(shape)) if q is lengths else q for q in variant.params))
            params = variant_widgets(variant, shape, skip=("value", "seed"), link_names=LINK_NAMES)
            if params.get("mode") == "fill":
                params["value"] = value_widget(data.x.dtype)
            if params.get("kind") == "random":
                params["seed"] = int(st.session_state.get("seed", 0))  # one seed in the link: the page's
            if params.get("kind") == "custom":
                got = mask_upload(shape)
                if got is not None:
                    mask_key, params["mask"] = got
    if data is None:
        return None
    if params.get("kind") == "custom" and "mask" not in params:
        return None
    params_key = "&".join(f"{k}={variant.param(k).to_text(v)}" for k, v in sorted(params.items()) if k != "mask")
    params_key += f"&mask={mask_key}" if mask_key else ""
    if name == "matrix_slice":
        what = f"y = x[..., {params.get('rows') or ':'}, {params.get('cols') or ':'}]"
    elif params.get("mode") == "fill":
        what = Msg("{kind} mask, filled with {value}", kind=params.get("kind"),
                   value=variant.param("value").to_text(params["value"]).replace("-", "−"))
    else:
        what = Msg("{kind} mask, multiplied in", kind=params.get("kind"))
    headline = Msg("{what} on {data} {shape}", what=what, data=data.title, shape=tuple(data.x.shape))
    return Controls(data, variant, params, params_key, batch, state.notices(), headline)


# -- wording ----------------------------------------------------------------------------------------


def titles(c: Controls) -> tuple[str, str]:
    """Titles of the before | after heatmaps."""
    b = f"[{c.batch}]" if matrix_count(c.data.x) > 1 else ""
    if c.variant.name == "matrix_slice":
        return f"x{b}", f"y{b} = x[..., {c.params['rows'] or ':'}, {c.params['cols'] or ':'}]"
    if c.params.get("mode") == "fill":
        value = c.variant.param("value").to_text(c.params["value"]).replace("-", "−")
        return f"x{b}", Msg("masked{b}: removed → {value}", b=b, value=value)
    return f"x{b}", Msg("masked{b}: removed → 0 (M⊙x)", b=b)


def write_text(v: SliceView) -> str:
    """What writing through y did to x."""
    if v.written:
        return Msg("`y.fill_(big)` on a clone of x changed {n} entries of x{b}: y is a view, so its writes land in "
                   "x's memory.", n=v.written, b="[0]" if v.count > 1 else "")
    return N_("`y.fill_(big)` on a clone of x changed nothing in x: y is a copy with its own memory.")


def mask_metrics(v: MaskView) -> list[tuple[str, str, str]]:
    """(label, value, help) of the mask's headline numbers."""
    e = v.effects
    r, c = e.shape
    removed = round(e.sparsity * r * c)
    return [
        (Msg("removed (sparsity {sparsity:.1%})", sparsity=e.sparsity), f"{removed} / {r * c}",
         N_("Entries the mask removes in the matrix shown.")),
        (N_("retained energy ‖B‖/‖A‖"), f"{e.retained_energy:.3f}",
         N_("Frobenius norm of the masked matrix over that of the input (B = M⊙A, or A filled with a finite value).")),
        ("‖B·v‖ / ‖A·v‖", f"{e.product_ratio:.3f}", N_("How much of the product with a random vector v survives.")),
        (N_("fully masked rows"), Msg("{n} of {r}", n=e.fully_masked_rows, r=r),
         N_("Rows with every entry removed: NaN under a plain −inf softmax.")),
    ]


def product_text(v: MaskView, mode: str) -> str:
    """Caption of the A·v figure."""
    parts = [Msg("v is a seeded random vector of length {n}. Relative error ‖B·v − A·v‖/‖A·v‖ = {err:.3g}.",
                 n=v.effects.shape[1], err=v.effects.product_error)]
    if mode == "fill" and v.product_mode == "multiply":
        parts.append(N_("The fill value stands for ±inf, so B·v would be ±inf or NaN (−inf × v); the product shown "
                        "uses M⊙A instead: −inf fills are for softmax logits, not for products."))
    return Msg.join(parts)


def softmax_text(e: MaskEffects) -> str:
    """The softmax lesson, with this matrix's numbers."""
    parts = [N_("Each row of A is read as attention logits. **Multiplying by the mask does not hide an entry from a "
                "softmax:** a removed logit becomes 0, and a zero logit still gets probability exp(0)/Z.")]
    c = e.shape[1]
    partial = (e.kept_per_row > 0) & (e.kept_per_row < c) if e.leaked.numel() else e.leaked.bool()
    if bool(partial.any()):
        leaked = e.leaked[partial]
        parts.append(Msg("Here, in the rows that keep some entries, the removed ones still take **{mean:.1%}** of "
                         "the probability on average (up to {max:.1%}).", mean=float(leaked.mean()),
                         max=float(leaked.max())))
    parts.append(N_("**Filling with −inf** gives them exactly 0: the softmax renormalises over the kept entries only."))
    return Msg.join(parts)


def nan_rows_text(e: MaskEffects) -> str | None:
    """The fully-masked-rows warning, or None when every row keeps something."""
    if not e.fully_masked_rows:
        return None
    return Msg("{n} of {rows} rows are fully masked. With −inf every logit of such a row is −inf, so the plain "
               "softmax is 0/0 = NaN ({nan} NaN rows, painted in the right-hand panel). The safe alternative sets "
               "those rows to 0 (the curves below use it); or fill with the lowest finite float instead of −inf, "
               "which makes such a row uniform instead of NaN.", n=e.fully_masked_rows, rows=e.shape[0],
               nan=e.nan_rows)


SAFE_SOFTMAX = """p = torch.softmax(scores.masked_fill(~keep, float("-inf")), dim=-1)
p = torch.where(keep.any(dim=-1, keepdim=True), p, 0.0)  # fully masked rows: 0, not NaN"""
