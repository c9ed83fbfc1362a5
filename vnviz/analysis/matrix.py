"""What slicing and masking a matrix do: view/copy facts and mask effects.

Pure torch: each function computes small numbers (and small CPU tensors) that
the figures draw, on the input's device. Nothing here imports streamlit or
plotly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from vnviz.errors import InputError
from vnviz.i18n import N_, Msg
from vnviz.variants.matrix import MASK_MODES, as_keep_mask, check_matrix, matrix_slice

MAX_POINTS = 512  # longest vector returned for a plot (y = A v)
MAX_SIDE = 128  # largest side of a probability matrix returned for a heatmap
SUPPORT_EPS = 1e-6  # a probability above this counts towards the support

# -- slicing -------------------------------------------------------------------

# (expression on a contiguous 2-D x, "view" or "copy", why). Every row is checked
# empirically in tests/test_matrix.py.
SLICING_FORMS: list[tuple[str, str, str]] = [
    ("x[1:3, :]", N_("view"), N_("basic slicing moves the storage offset and shrinks the shape; strides stay")),
    ("x[..., 1:3]", N_("view"), N_("slicing the last dim is basic slicing too: rows keep their stride")),
    ("x[:, ::2]", N_("view"), N_("a step multiplies the stride (here the column stride becomes 2)")),
    ("x[1]", N_("view"), N_("an integer index drops that dim and moves the offset; the rest is still x's memory")),
    ("x[[0, 2]]", N_("copy"), N_("a list is advanced indexing: the rows are gathered into new memory")),
    ("x.index_select(0, torch.tensor([0, 2]))", N_("copy"), N_("index_select gathers like a list index")),
    ("x[x > 0]", N_("copy"), N_("a boolean mask picks a data-dependent set of elements: a new 1-D tensor")),
    ("x[1:3].reshape(-1)", N_("view"), N_("whole contiguous rows can be flattened by changing strides alone")),
    ("x[:, ::2].reshape(-1)", N_("copy"), N_("a strided view cannot be flattened with strides, so reshape copies")),
    ("x.contiguous()", N_("view"), N_("x is already contiguous, so contiguous() returns x itself")),
    ("x.T.contiguous()", N_("copy"), N_("x.T is not contiguous, so contiguous() copies it into row-major order")),
    ("x.T", N_("view"), N_("transposing swaps the strides; no element moves")),
    ("x.narrow(1, 1, 2)", N_("view"), N_("narrow(dim, start, length) is basic slicing x[:, 1:3]")),
    ("x.select(0, 1)", N_("view"), N_("select(dim, i) is the integer index x[1]")),
    ("x.unsqueeze(0).expand(3, -1, -1)", N_("view"), N_("expand repeats with stride 0: three 'copies' in one memory")),
    ("x.flip(0)", N_("copy"), N_("torch has no negative strides, so reversing must copy")),
    ("x.clone()", N_("copy"), N_("clone always copies")),
]


def shares_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether ``a`` and ``b`` use the same memory: the same storage, or overlapping storages.

    This is storage-level: two disjoint slices of one tensor share memory in
    this sense (writing one never changes the other, but both live in x's storage).
    """
    if a.device != b.device:
        return False
    sa, sb = a.untyped_storage(), b.untyped_storage()
    pa, pb = sa.data_ptr(), sb.data_ptr()
    if pa == pb:
        return sa.nbytes() > 0 or sb.nbytes() > 0 or a is b
    return pa < pb + sb.nbytes() and pb < pa + sa.nbytes()


@dataclass(frozen=True)
class SliceFacts:
    """How a result ``y`` sits in memory, compared with its source ``x``."""

    shape: tuple[int, ...] = ()  # y's shape
    strides: tuple[int, ...] = ()  # y's strides, in elements
    storage_offset: int = 0  # where y starts in its storage, in elements
    is_contiguous: bool = True  # y is row-major with no gaps
    shares_memory: bool = False  # y uses x's storage (same or overlapping)
    is_view: bool = False  # torch tracks y as a view of x (or y is x): writing to y writes x
    source_shape: tuple[int, ...] = ()  # x's shape
    source_strides: tuple[int, ...] = ()  # x's strides, in elements
    source_storage_offset: int = 0  # x's storage offset
    note: str = ""  # one sentence for the app


def slice_facts(x: torch.Tensor, y: torch.Tensor) -> SliceFacts:
    """Shape, strides, storage offset, contiguity and memory sharing of ``y = f(x)``."""
    for name, t in (("x", x), ("y", y)):
        if not isinstance(t, torch.Tensor):
            raise InputError("slice_facts takes torch tensors; got {type} for {name}.",
                             type=type(t).__name__, name=name)
    shared = shares_memory(x, y)
    is_view = shared and (y is x or y._base is not None)
    strides = tuple(y.stride())
    if is_view:
        note = Msg("y is a view: it reads x's memory from offset {offset} with strides {strides}, so writing to y "
                   "changes x.", offset=y.storage_offset(), strides=strides)
    elif shared:
        note = N_("y shares x's memory without being tracked as a view of it, so writing to y changes x.")
    else:
        note = N_("y is a copy in its own memory: writing to y leaves x unchanged.")
    return SliceFacts(
        shape=tuple(y.shape), strides=strides, storage_offset=y.storage_offset(),
        is_contiguous=y.is_contiguous(), shares_memory=shared, is_view=is_view,
        source_shape=tuple(x.shape), source_strides=tuple(x.stride()),
        source_storage_offset=x.storage_offset(), note=note,
    )


def demo_write(x: torch.Tensor, rows: str = ":", cols: str = ":", value: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Write through ``matrix_slice(x, rows, cols)`` and show what happens to the source.

    Works on a clone of ``x`` (the caller's tensor is untouched): slices it,
    fills the slice with ``value`` (default: one more than the largest ``|x|``,
    so the written cells stand out; True for bool), and returns the source's
    first matrix ``(R, C)`` before and after, on the CPU. A view (slices) changes
    the source; a copy (index lists) leaves ``after == before``.
    """
    src = check_matrix(x, "demo_write").detach().clone()
    y = matrix_slice(src, rows, cols)
    if value is None:
        if src.dtype == torch.bool:
            value = True
        elif src.is_complex():
            value = float(src.abs().max()) + 1.0
        else:
            value = src.abs().max().item() + 1
            if not src.is_floating_point():
                value = min(value, torch.iinfo(src.dtype).max)
    first = (0,) * (src.ndim - 2)
    before = src[first].cpu().clone()  # (R, C)
    y.fill_(value)
    after = src[first].cpu().clone()  # (R, C)
    return before, after


# -- masks ---------------------------------------------------------------------


def _empty() -> torch.Tensor:
    return torch.empty(0)


@dataclass(frozen=True)
class MaskEffects:
    """What a keep-mask M does to one matrix A: sparsity, A·v and a row softmax.

    B is the masked matrix (``mode="multiply"``: M ⊙ A; ``"fill"``: A with
    ``value`` where removed). Ratios with a zero denominator are NaN.
    """

    batch_index: int = 0  # which matrix of the batch (row-major over the leading dims)
    shape: tuple[int, int] = (0, 0)  # (R, C) of that matrix
    sparsity: float = 0.0  # fraction of entries removed
    kept_per_row: torch.Tensor = field(default_factory=_empty)  # (R,) int64, entries kept in each row
    kept_per_col: torch.Tensor = field(default_factory=_empty)  # (C,) int64, entries kept in each column
    retained_energy: float = 1.0  # ‖B‖_F / ‖A‖_F
    product_ratio: float = 1.0  # ‖B v‖ / ‖A v‖
    product_error: float = 0.0  # ‖B v − A v‖ / ‖A v‖
    y_index: torch.Tensor = field(default_factory=_empty)  # rows shown in y_full/y_masked (<= MAX_POINTS, spread)
    y_full: torch.Tensor = field(default_factory=_empty)  # (A v)[y_index]
    y_masked: torch.Tensor = field(default_factory=_empty)  # (B v)[y_index]
    leaked: torch.Tensor = field(default_factory=_empty)  # (R,) probability softmax(M ⊙ A) gives removed entries
    entropy_multiply: torch.Tensor = field(default_factory=_empty)  # (R,) entropy (nats) of softmax(M ⊙ A)
    entropy_fill: torch.Tensor = field(default_factory=_empty)  # (R,) entropy of the safe -inf softmax (0 if fully masked)
    support_multiply: torch.Tensor = field(default_factory=_empty)  # (R,) probabilities > SUPPORT_EPS, multiply
    support_fill: torch.Tensor = field(default_factory=_empty)  # (R,) probabilities > SUPPORT_EPS, safe -inf fill
    fully_masked_rows: int = 0  # rows with every entry removed
    nan_rows: int = 0  # rows where the plain softmax of the -inf-filled logits is NaN
    prob_rows: torch.Tensor = field(default_factory=_empty)  # rows shown in the probs_* matrices (<= MAX_SIDE)
    prob_cols: torch.Tensor = field(default_factory=_empty)  # columns shown in the probs_* matrices (<= MAX_SIDE)
    probs_multiply: torch.Tensor = field(default_factory=_empty)  # softmax(M ⊙ A) at (prob_rows, prob_cols)
    probs_fill: torch.Tensor = field(default_factory=_empty)  # plain softmax of A filled with -inf (NaN rows kept)
    probs_fill_safe: torch.Tensor = field(default_factory=_empty)  # the same with fully masked rows set to 0


def spread(n: int, k: int = MAX_POINTS) -> torch.Tensor:
    """At most ``k`` evenly spread indices into ``range(n)``, first and last included (all when n <= k)."""
    if n <= k:
        return torch.arange(n)
    return torch.linspace(0, n - 1, k, dtype=torch.float64).round().long().unique()


def _ratio(num: torch.Tensor, den: torch.Tensor) -> float:
    d = float(den)
    return float(num) / d if d != 0 else float("nan")


def mask_effects(
    x: torch.Tensor,
    mask: Any,
    v: Any = None,
    mode: str = "multiply",
    value: float = 0.0,
    seed: int = 0,
    batch_index: int = 0,
) -> MaskEffects:
    r"""The effect of keep-mask ``mask`` on one matrix ``A`` of ``x``.

    Reports on the matrix ``batch_index`` of the batch (row-major over the
    leading dims; default the first), not an average: ``A = x.reshape(-1, R, C)[batch_index]``.

    * sparsity, kept entries per row and per column;
    * retained energy ``‖B‖_F / ‖A‖_F`` with B the masked matrix (``mode="multiply"``:
      ``M ⊙ A``; ``"fill"``: ``value`` where removed — a non-finite value makes the
      norms infinite, so these numbers become inf/NaN);
    * for ``y = A v`` (``v`` given, length C, or ``torch.randn(C)`` from ``seed`` on
      the CPU): ``‖B v‖/‖A v‖``, the relative error ``‖B v − A v‖/‖A v‖`` and both
      y vectors at ≤ ``MAX_POINTS`` evenly spread rows;
    * a softmax over each row, with A as the logits: removed logits set to 0
      (multiply: they still get ``exp(0)/Z``, the *leaked* probability) versus set
      to ``-inf`` (fill: exactly 0). Entropies are in nats with ``0 log 0 = 0``.
      A fully masked row is all ``-inf``, whose plain softmax is NaN
      (``nan_rows``); ``probs_fill_safe`` sets those rows to 0 with ``torch.where``,
      and the fill entropy/support are computed from it. The softmax part does
      not depend on ``mode``/``value``.

    Computed on ``x.device`` (float32 at least); returned as floats and small CPU tensors.

    Args:
        x: the unmasked input ``(*, R, C)``, floating point, finite.
        mask: keep-mask, bool or 0/1, broadcastable to ``x`` (e.g. ``build_mask(x, ...)``).
        v: vector of length C for ``A v``, or None for a seeded random one. Default: None.
        mode: ``"multiply"`` or ``"fill"``, as in matrix_mask. Default: ``"multiply"``.
        value: fill value for ``mode="fill"``. Default: 0.0.
        seed: seed of the random v. Default: 0.
        batch_index: which matrix of the batch to report on. Default: 0.
    """
    x = check_matrix(x, "mask_effects", floating=True)
    if not bool(torch.isfinite(x).all()):
        raise InputError(
            "mask_effects needs a finite x (the unmasked input, not the output of mode='fill'); got {bad} NaN or Inf "
            "value(s).",
            bad=int((~torch.isfinite(x)).sum())
        )
    if mode not in MASK_MODES:
        raise InputError("mask_effects: mode must be one of {choices}; got {mode!r}.", choices=', '.join(MASK_MODES), mode=mode)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise InputError("mask_effects: value must be a number, -inf or inf (not NaN); got {value!r}.", value=value)
    shape = tuple(x.shape)
    r, c = shape[-2:]
    count = math.prod(shape[:-2])
    if isinstance(batch_index, bool) or not isinstance(batch_index, int) or not 0 <= batch_index < count:
        raise InputError("mask_effects: batch_index must be a whole number from 0 to {last}; got {batch_index!r}.",
                         last=count - 1, batch_index=batch_index)
    keep = as_keep_mask(mask, shape, x.device, "mask_effects: mask").reshape(-1, r, c)[batch_index]  # (R, C)
    dtype = torch.promote_types(x.dtype, torch.float32)
    a = x.detach().reshape(-1, r, c)[batch_index].to(dtype)  # (R, C)
    removed = ~keep

    # sparsity and the matrix-vector product
    b = a.masked_fill(removed, 0.0 if mode == "multiply" else float(value))  # (R, C)
    if v is None:
        v = torch.randn(c, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    v = torch.as_tensor(v)
    if v.is_complex() or v.dtype == torch.bool or v.numel() != c or v.ndim > 2 or (v.ndim == 2 and 1 not in v.shape):
        raise InputError("mask_effects: v must be a real vector of length C={c}; got shape {shape}.",
                         c=c, shape=tuple(v.shape))
    v = v.reshape(c).to(device=x.device, dtype=dtype)
    if not bool(torch.isfinite(v).all()):
        raise InputError("mask_effects: v must hold finite values only.")
    norm = torch.linalg.vector_norm
    y_full, y_masked = a @ v, b @ v  # (R,), (R,)
    rows = spread(r, MAX_POINTS).to(x.device)

    # row softmax: multiply (removed logits 0) vs fill (-inf)
    p_mul = torch.softmax(a.masked_fill(removed, 0.0), dim=-1)  # (R, C)
    p_fill = torch.softmax(a.masked_fill(removed, float("-inf")), dim=-1)  # (R, C), NaN rows where fully masked
    full = removed.all(dim=-1)  # (R,)
    p_safe = torch.where(full[:, None], torch.zeros((), dtype=dtype, device=x.device), p_fill)  # (R, C)
    pr, pc = spread(r, MAX_SIDE).to(x.device), spread(c, MAX_SIDE).to(x.device)

    def grid(t: torch.Tensor) -> torch.Tensor:
        return t.index_select(0, pr).index_select(1, pc).cpu()

    return MaskEffects(
        batch_index=batch_index,
        shape=(r, c),
        sparsity=float(removed.sum()) / (r * c),
        kept_per_row=keep.sum(dim=-1).cpu(),
        kept_per_col=keep.sum(dim=-2).cpu(),
        retained_energy=_ratio(norm(b), norm(a)),
        product_ratio=_ratio(norm(y_masked), norm(y_full)),
        product_error=_ratio(norm(y_masked - y_full), norm(y_full)),
        y_index=rows.cpu(),
        y_full=y_full[rows].cpu(),
        y_masked=y_masked[rows].cpu(),
        leaked=(p_mul * removed).sum(dim=-1).cpu(),
        entropy_multiply=-torch.special.xlogy(p_mul, p_mul).sum(dim=-1).cpu(),
        entropy_fill=-torch.special.xlogy(p_safe, p_safe).sum(dim=-1).cpu(),
        support_multiply=(p_mul > SUPPORT_EPS).sum(dim=-1).cpu(),
        support_fill=(p_safe > SUPPORT_EPS).sum(dim=-1).cpu(),
        fully_masked_rows=int(full.sum()),
        nan_rows=int(torch.isnan(p_fill).any(dim=-1).sum()),
        prob_rows=pr.cpu(),
        prob_cols=pc.cpu(),
        probs_multiply=grid(p_mul),
        probs_fill=grid(p_fill),
        probs_fill_safe=grid(p_safe),
    )
