"""Matrix Slice and Matrix Mask: the last two dims as a matrix (or a batch of them).

These are not normalizations: they have no statistic groups. ``matrix_slice``
is plain torch indexing written as strings a widget and a link can hold;
``matrix_mask`` builds a boolean keep-mask (``build_mask``, True = keep) and
either zeroes the removed entries or writes a fill value such as ``-inf``
(what attention does before its softmax).
"""
from __future__ import annotations

import math
import re
from typing import Any

import torch

from vnviz.errors import InputError
from vnviz.i18n import N_, Msg
from vnviz.variants.params import Param, as_shape, named
from vnviz.variants.registry import Variant, register

SLICE_TITLE = N_("Matrix Slice")
MASK_TITLE = N_("Matrix Mask")
NOUNS = {"rows": N_("rows"), "cols": N_("cols")}  # what a dim of the matrix is called in sentences

MASK_KINDS = ("causal", "band", "padding", "random", "magnitude", "n_m", "rows", "cols", "custom")
MASK_MODES = ("multiply", "fill")

_INT = re.compile(r"[+-]?\d+")  # one whole number in a slice string
_INT_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)  # rankable by |x| too

# -- shared checks -------------------------------------------------------------


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def check_matrix(x: Any, what: str, floating: bool = False) -> torch.Tensor:
    """Return ``x`` as a tensor with at least 2 dims and no zero-size dim, or raise InputError.

    Accepts a torch tensor or a numpy array (shared, not copied, except an
    array with negative strides, which torch cannot represent and is copied).
    With ``floating=True`` only floating-point dtypes are accepted.
    """
    if not isinstance(x, torch.Tensor):
        if type(x).__module__ == "numpy" and hasattr(x, "dtype"):
            try:
                x = torch.from_numpy(x if all(st >= 0 for st in x.strides) else x.copy())
            except TypeError:
                raise InputError("{what} takes numeric arrays; got numpy dtype {dtype}.", what=what, dtype=x.dtype) from None
        else:
            raise InputError("{what} takes a torch.Tensor (or numpy array); got {type}.",
                             what=what, type=type(x).__name__)
    if floating and not x.is_floating_point():
        raise InputError("{what} takes floating-point tensors (float16, bfloat16, float32 or float64); got {dtype}.",
                         what=what, dtype=_dtype_name(x.dtype))
    if x.ndim < 2:
        raise InputError("{what} needs a matrix or a batch of matrices (at least 2 dims, ... R C); got shape "
                         "{shape}.",
                         what=what, shape=tuple(x.shape))
    if x.numel() == 0:
        raise InputError("{what} needs a non-empty tensor; got shape {shape}.", what=what, shape=tuple(x.shape))
    return x


# -- matrix_slice --------------------------------------------------------------


def parse_index(text: str, size: int, what: str) -> slice | list[int]:
    """Parse one slice string for a dim of ``size`` into a python slice or a list of indices.

    Forms: ``"start:stop:step"`` (each part optional, step > 0), a single index
    ``"3"`` (read as ``"3:4"`` so the dim is kept), or a comma list ``"0,2,5"``
    (negative indices count from the end; a trailing comma makes ``"3,"`` a list).
    A blank string means ``":"``. ``what`` names the parameter in messages, e.g.
    ``"Matrix Slice: rows"``.
    """
    t = text.strip()
    noun = what.rsplit(" ", 1)[-1]  # "rows" or "cols"
    noun = NOUNS.get(noun, noun)
    syntax = Msg("{what}={text!r} is not valid; use 'start:stop:step' (parts optional, e.g. '1:5:2'), one index like "
                 "'3', or a list like '0,2,5'.", what=what, text=text)
    if t == "":
        return slice(None)
    if "," in t:
        parts = [p.strip() for p in t.split(",")]
        if parts[-1] == "":
            parts = parts[:-1]
        if not parts or not all(_INT.fullmatch(p) for p in parts):
            raise InputError(syntax)
        idx = [int(p) for p in parts]
        bad = [i for i in idx if not -size <= i < size]
        if bad:
            raise InputError(
                "{what}={text!r} has index {index}, out of range for {size} {noun} (allowed: {low} to {high}).",
                what=what, text=text, index=bad[0], size=size, noun=noun, low=-size, high=size - 1,
            )
        return [i % size for i in idx]
    if ":" in t:
        parts = [p.strip() for p in t.split(":")]
        if len(parts) > 3 or not all(p == "" or _INT.fullmatch(p) for p in parts):
            raise InputError(syntax)
        start, stop, step = ([None if p == "" else int(p) for p in parts] + [None])[:3]
        if step == 0:
            raise InputError("{what}={text!r} has step 0; the step must be a positive whole number, e.g. '::2'.",
                             what=what, text=text)
        if step is not None and step < 0:
            raise InputError(
                "{what}={text!r} has a negative step, but torch has no negative-step slices; slice with a positive "
                "step and reverse with torch.flip(y, dims=[{dim}]).",
                what=what, text=text, dim=-2 if noun == "rows" else -1,
            )
        sl = slice(start, stop, step)
        if len(range(*sl.indices(size))) == 0:
            raise InputError(
                "{what}={text!r} selects none of the {size} {noun}; give a start before the stop, both within 0 to "
                "{size}, e.g. '0:{size}'.",
                what=what, text=text, size=size, noun=noun,
            )
        return sl
    if _INT.fullmatch(t):
        i = int(t)
        if not -size <= i < size:
            raise InputError("{what}={text!r} is out of range for {size} {noun} (allowed: {low} to {high}).",
                             what=what, text=text, size=size, noun=noun, low=-size, high=size - 1)
        i %= size
        return slice(i, i + 1)
    raise InputError(syntax)


def matrix_slice(x: torch.Tensor, rows: str = ":", cols: str = ":") -> torch.Tensor:
    r"""Matrix Slice: ``x[..., rows, cols]`` with rows and cols written as strings.

    Works on the last two dims, ``... r c -> ... r' c'``, for any dtype. Each of
    ``rows``/``cols`` is one of:

    * a slice ``"start:stop:step"`` (parts optional, python semantics, step > 0):
      the result is a **view** of ``x`` (shares its memory; only the shape,
      strides and storage offset change), exactly ``x[..., rows, cols]``;
    * a single index ``"3"``, read as ``"3:4"`` (``"-1"`` as ``"-1:"``): a bare
      integer would *drop* the dim in torch, and the result must stay a matrix;
    * a comma list ``"0,2,5"`` (negative indices allowed): advanced indexing,
      which **copies**. A rows list and a cols list select the *outer* product,
      the submatrix ``x[..., rows, :][..., cols]`` (via ``index_select``);
      numpy/torch-style ``x[..., [0, 2], [1, 3]]`` would instead *pair* them
      and return the two elements ``(0, 1)`` and ``(2, 3)``.

    A blank string means ``":"``. Slices are applied first (views), lists after.

    Args:
        x: input ``(*, R, C)``, any dtype (tensor or numpy array).
        rows: selection of the R rows. Default: ``":"``.
        cols: selection of the C columns. Default: ``":"``.

    Shape: input ``(*, R, C)``, output ``(*, R', C')`` with R', C' >= 1.
    Raises InputError on bad syntax, step 0, a negative step (torch has no
    negative-step slices; use ``torch.flip``), an index out of range, or an
    empty selection.
    """
    x = check_matrix(x, SLICE_TITLE)
    if not isinstance(rows, str) or not isinstance(cols, str):
        bad = rows if not isinstance(rows, str) else cols
        raise InputError("Matrix Slice: rows and cols must be strings like '1:5:2', '3' or '0,2,5'; got {bad!r}.",
                         bad=bad)
    r = parse_index(rows, x.shape[-2], named(SLICE_TITLE, "rows"))
    c = parse_index(cols, x.shape[-1], named(SLICE_TITLE, "cols"))
    y = x[..., r if isinstance(r, slice) else slice(None), c if isinstance(c, slice) else slice(None)]  # view
    if isinstance(r, list):
        y = y.index_select(-2, torch.tensor(r, dtype=torch.long, device=x.device))  # copy, (*, len(r), C')
    if isinstance(c, list):
        y = y.index_select(-1, torch.tensor(c, dtype=torch.long, device=x.device))  # copy, (*, R', len(c))
    return y


# -- masks ---------------------------------------------------------------------


def _target(x: Any, what: str) -> tuple[tuple[int, ...], torch.device, torch.Tensor | None]:
    """(shape, device, values or None) of a tensor/array or a bare shape."""
    if isinstance(x, torch.Tensor) or (type(x).__module__ == "numpy" and hasattr(x, "dtype")):
        t = check_matrix(x, what)
        return tuple(t.shape), t.device, t
    shape = as_shape(x, named(what, "shape"))
    if len(shape) < 2:
        raise InputError("{what} needs a matrix or a batch of matrices (at least 2 dims, ... R C); got shape "
                         "{shape}.",
                         what=what, shape=shape)
    return shape, torch.device("cpu"), None


def as_keep_mask(mask: Any, shape: tuple[int, ...], device: torch.device, what: str) -> torch.Tensor:
    """A user mask (bool or 0/1 tensor, array or nested list) as a bool tensor of ``shape`` on ``device``.

    The mask must broadcast to ``shape``: ``(R, C)``, ``(1, C)``, ``(R, 1)``
    or the full shape all do. True (1) keeps an entry, False (0) removes it.
    """
    if mask is None:
        raise InputError("{what} is missing; give a 0/1 tensor of shape {matrix} or {shape}.",
                         what=what, matrix=tuple(shape[-2:]), shape=tuple(shape))
    if not isinstance(mask, torch.Tensor):
        try:
            mask = torch.as_tensor(mask)
        except (TypeError, ValueError, RuntimeError):
            raise InputError("{what} must be a 0/1 tensor or array; got {type}.",
                             what=what, type=type(mask).__name__) from None
    if mask.dtype != torch.bool:
        if mask.is_complex():
            raise InputError("{what} must hold only 0 and 1; got a complex tensor.", what=what)
        bad = (mask != 0) & (mask != 1)
        if bool(bad.any()):
            raise InputError("{what} must hold only 0 and 1 (or True/False); got value {value!r}.",
                             what=what, value=mask[bad].flatten()[0].item())
        mask = mask != 0
    try:
        ok = torch.broadcast_shapes(mask.shape, shape) == torch.Size(shape)
    except RuntimeError:
        ok = False
    if not ok:
        raise InputError(
            "{what} of shape {shape} does not broadcast to the input shape {input}; give shape {matrix} or {input}.",
            what=what, shape=tuple(mask.shape), input=tuple(shape), matrix=tuple(shape[-2:]),
        )
    return mask.to(device).expand(shape).contiguous()


def _grid(shape: tuple[int, ...], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    r, c = shape[-2:]
    i = torch.arange(r, device=device).reshape(r, 1)  # (R, 1)
    j = torch.arange(c, device=device).reshape(1, c)  # (1, C)
    return i, j


def _padding(shape: tuple[int, ...], device: torch.device, lengths: tuple[int, ...] | None) -> torch.Tensor:
    r, c = shape[-2:]
    batch = shape[:-2]
    nmat = math.prod(batch)
    if lengths is None:
        raise InputError("Matrix Mask: kind='padding' needs lengths, the number of valid columns; got None.")
    if len(batch) == 0:
        allowed = {1: N_("one length for every row"), r: Msg("one length per row ({r})", r=r)}
    else:
        allowed = {1: N_("one length for every matrix"), batch[0]: Msg("one per sample of dim 0 ({n})", n=batch[0]),
                   nmat: Msg("one per matrix ({n})", n=nmat)}
    if len(lengths) not in allowed:
        raise InputError(
            "Matrix Mask: padding lengths must give {allowed} for input shape {shape}; got {n} value(s) {got}.",
            allowed=Msg.join(allowed.values(), " or "), shape=shape, n=len(lengths), got=tuple(lengths),
        )
    bad = [v for v in lengths if not 0 <= v <= c]
    if bad:
        raise InputError("Matrix Mask: padding lengths must be between 0 and the {c} columns; got {got}.",
                         c=c, got=bad[0])
    _, j = _grid(shape, device)
    lens = torch.tensor(lengths, dtype=torch.long, device=device)
    if len(batch) == 0:
        return (j < lens.reshape(-1, 1)).expand(shape)  # (R, C): row i keeps its first lengths[i] columns
    if len(lengths) == nmat:
        lens = lens.reshape(batch)
    else:  # one length for all, or one per sample of dim 0, broadcast over the other batch dims
        lens = lens.reshape((len(lengths),) + (1,) * (len(batch) - 1))
    return (j < lens[..., None, None]).expand(shape)  # (*, R, C)


def _random(shape: tuple[int, ...], device: torch.device, p: float, seed: int) -> torch.Tensor:
    # drawn on the CPU so a seed gives the same mask on every device; equals
    # torch.manual_seed(seed); F.dropout(x, p) on a CPU tensor
    if seed >= 2**64:
        raise InputError("Matrix Mask: seed must be below 2**64, as torch.manual_seed requires; got {seed}.",
                         seed=seed)
    g = torch.Generator().manual_seed(seed)
    noise = torch.empty(shape, dtype=torch.float32).bernoulli_(1.0 - p, generator=g)
    return (noise != 0).to(device)


def _magnitude(x: torch.Tensor, sparsity: float) -> torch.Tensor:
    shape = x.shape
    r, c = shape[-2:]
    k = math.floor(round(sparsity * r * c, 9))  # the exact count; rounding first makes 0.29 * 100 count 29
    a = x.detach().abs().reshape(-1, r * c)  # (B, R*C)
    order = torch.sort(a, dim=-1, stable=True).indices  # smallest first; ties: lower index first
    keep = torch.ones_like(a, dtype=torch.bool)
    keep.scatter_(-1, order[:, :k], False)
    return keep.reshape(shape)


def _n_m(x: torch.Tensor, n: int, m: int) -> torch.Tensor:
    shape = x.shape
    c = shape[-1]
    if n > m:
        raise InputError("Matrix Mask: n_m keeps n of every m entries, so n must be at most m={m}; got n={n}.",
                         m=m, n=n)
    if c % m:
        divisors = [d for d in range(1, c + 1) if c % d == 0]
        raise InputError(
            "Matrix Mask: n_m needs the {c} columns to split into blocks of m; m must divide {c} (allowed: {allowed}); "
            "got m={m}.",
            c=c, allowed=", ".join(map(str, divisors)), m=m,
        )
    a = x.detach().abs().reshape(shape[:-1] + (c // m, m))  # (*, R, C/m, m)
    order = torch.sort(a, dim=-1, descending=True, stable=True).indices  # largest first; ties: lower index first
    keep = torch.zeros_like(a, dtype=torch.bool)
    keep.scatter_(-1, order[..., :n], True)
    return keep.reshape(shape)


def _remove(shape: tuple[int, ...], device: torch.device, index: tuple[int, ...], dim: int) -> torch.Tensor:
    size = shape[dim]
    noun = "rows" if dim == -2 else "cols"
    bad = [i for i in index if not -size <= i < size]
    if bad:
        raise InputError(
            "Matrix Mask: kind={kind!r} index {index} is out of range for {size} {noun} (allowed: {low} to {high}).",
            kind=noun, index=bad[0], size=size, noun=NOUNS[noun], low=-size, high=size - 1,
        )
    keep = torch.ones(shape[-2:], dtype=torch.bool, device=device)
    idx = torch.tensor([i % size for i in index], dtype=torch.long, device=device)
    keep.index_fill_(dim, idx, False)
    return keep.expand(shape)


def _keep(
    shape: tuple[int, ...],
    device: torch.device,
    values: torch.Tensor | None,
    kind: str = "causal",
    diagonal: int = 0,
    width: int = 1,
    lengths: tuple[int, ...] | None = None,
    p: float = 0.5,
    seed: int = 0,
    sparsity: float = 0.5,
    n: int = 2,
    m: int = 4,
    index: tuple[int, ...] = (),
    mask: Any = None,
    **_: Any,
) -> torch.Tensor:
    """The keep-mask (True = keep), a contiguous bool tensor of ``shape`` on ``device``."""
    if kind in ("magnitude", "n_m"):
        if values is None:
            raise InputError("Matrix Mask: kind={kind!r} ranks the entries by |x|, so it needs the tensor, not "
                             "only its shape.",
                             kind=kind)
        if values.is_complex() or not (values.is_floating_point() or values.dtype in _INT_DTYPES):
            raise InputError("Matrix Mask: kind={kind!r} needs real numbers to rank; got {dtype}.",
                             kind=kind, dtype=_dtype_name(values.dtype))
        if values.is_floating_point() and bool(torch.isnan(values).any()):
            raise InputError("Matrix Mask: kind={kind!r} cannot rank NaN values by size; replace or drop them "
                             "first.",
                             kind=kind)
    if kind == "causal":
        i, j = _grid(shape, device)
        keep = (j - i <= diagonal).expand(shape)  # == torch.ones(R, C).tril(diagonal).bool()
    elif kind == "band":
        i, j = _grid(shape, device)
        keep = ((i - j).abs() <= width).expand(shape)
    elif kind == "padding":
        keep = _padding(shape, device, lengths)
    elif kind == "random":
        keep = _random(shape, device, p, seed)
    elif kind == "magnitude":
        keep = _magnitude(values, sparsity)
    elif kind == "n_m":
        keep = _n_m(values, n, m)
    elif kind == "rows":
        keep = _remove(shape, device, index, -2)
    elif kind == "cols":
        keep = _remove(shape, device, index, -1)
    else:  # "custom"
        keep = as_keep_mask(mask, shape, device, named(MASK_TITLE, "mask"))
    return keep.contiguous()



def build_mask(x: Any, kind: str = "causal", **params: Any) -> torch.Tensor:
    r"""The keep-mask of ``matrix_mask``: a bool tensor shaped like ``x``, True = keep.

    ``x`` is a tensor (the mask is on its device) or a bare shape (the mask is on
    the CPU; ``magnitude`` and ``n_m`` rank values and need the tensor).
    Parameters are those of ``matrix_mask`` (checked against its declaration;
    those of other kinds, and ``mode``/``value``/``scale``, are ignored):

    * ``causal``: keep ``j - i <= diagonal`` (``torch.tril``'s rule; 0 keeps the
      diagonal and below).
    * ``band``: keep ``|i - j| <= width``.
    * ``padding``: keep the first ``lengths`` columns. For a 2-D ``x`` (R, C),
      ``lengths`` has R entries, one per row (row i keeps columns ``0..lengths[i]-1``).
      For a batch ``(B, ..., R, C)`` it has one entry per matrix, either one per
      sample of dim 0 (B entries, shared by the other batch dims, as a key-padding
      mask for ``(N, heads, L, L)`` attention scores) or one per matrix
      (``prod(batch dims)`` entries, row-major); every row of matrix b keeps its
      first ``lengths[b]`` columns. A single entry applies to every row/matrix.
      ``0`` removes a whole row or matrix.
    * ``random``: dropout-style, each entry removed independently with
      probability ``p``; drawn on the CPU from ``seed`` (the same mask on every
      device: on a CPU tensor it is the mask of
      ``torch.manual_seed(seed); F.dropout(x, p)``).
    * ``magnitude``: per matrix, remove exactly ``floor(sparsity * R * C)`` entries
      with the smallest ``|x|``; among equal ``|x|`` the lower row-major index goes first.
    * ``n_m``: in every block of ``m`` consecutive entries along the last dim keep
      the ``n`` largest ``|x|`` (ties: lower index kept); ``m`` must divide C.
    * ``rows`` / ``cols``: remove the rows / columns listed in ``index``
      (negative indices count from the end).
    * ``custom``: ``mask``, a bool or 0/1 tensor broadcastable to ``x``'s
      shape (e.g. ``(R, C)``).

    Returns:
        a contiguous ``torch.bool`` tensor of ``x``'s shape.
    """
    checked = MATRIX_MASK.check_params({"kind": kind, **params})
    shape, device, values = _target(x, MASK_TITLE)
    return _keep(shape, device, values, **checked)


def matrix_mask(
    x: torch.Tensor,
    kind: str = "causal",
    mode: str = "multiply",
    value: float = 0.0,
    diagonal: int = 0,
    width: int = 1,
    lengths: tuple[int, ...] | None = None,
    p: float = 0.5,
    seed: int = 0,
    scale: bool = True,
    sparsity: float = 0.5,
    n: int = 2,
    m: int = 4,
    index: tuple[int, ...] = (),
    mask: Any = None,
) -> torch.Tensor:
    r"""Matrix Mask: remove entries of each matrix, by zeroing them or writing a fill value.

    .. math:: y = \begin{cases} x & M = 1 \\ 0 \text{ (multiply) or value (fill)} & M = 0 \end{cases}

    with the keep-mask ``M = build_mask(x, kind, ...)`` on the last two dims,
    ``... r c -> ... r c (masked)``. ``mode="fill"`` with ``value=float("-inf")``
    is how attention masks logits before a softmax (the removed entries get
    probability exactly 0); ``mode="multiply"`` is ``x * M`` (removed logits
    become 0 and still get probability ``exp(0)/Z``). Removed entries are set
    with ``masked_fill``, so a removed ``±inf`` becomes 0 instead of NaN.

    For ``kind="random"`` with ``scale=True`` the kept entries are multiplied by
    ``1/(1-p)`` as in dropout, so on a CPU tensor in multiply mode the result
    equals ``torch.manual_seed(seed); F.dropout(x, p)``.

    Dtypes: any floating dtype, kept (float16 and bfloat16 included); a finite
    fill ``value`` must fit it (float16 stops at 65504), ``±inf`` always does.
    The mask never depends on the dtype (random masks draw in float32), and the
    dropout factor is rounded to x's dtype, as ``F.dropout`` does.

    Args:
        x: input ``(*, R, C)``, floating point (tensor or numpy array).
        kind: one of causal, band, padding, random, magnitude, n_m, rows, cols,
            custom (see :func:`build_mask`). Default: ``"causal"``.
        mode: ``"multiply"`` (removed -> 0) or ``"fill"`` (removed -> ``value``).
            Default: ``"multiply"``.
        value: written where removed in fill mode; may be ``±inf``, not NaN.
            Ignored in multiply mode. Default: 0.0.
        diagonal: causal offset, as ``torch.tril``. Default: 0.
        width: band half-width. Default: 1.
        lengths: padding lengths (see :func:`build_mask`). Default: None (required for padding).
        p: random drop probability in [0, 1). Default: 0.5.
        seed: random seed (>= 0). Default: 0.
        scale: random: rescale kept entries by ``1/(1-p)``. Default: True.
        sparsity: magnitude: fraction of entries removed, in [0, 1]. Default: 0.5.
        n, m: n_m: keep ``n`` of every ``m``. Default: 2, 4.
        index: rows/cols: the rows or columns to remove. Default: ``()``.
        mask: custom: bool or 0/1 tensor broadcastable to ``x``. Default: None.

    Shape: input ``(*, R, C)``, output the same (a new tensor).
    """
    x = check_matrix(x, MASK_TITLE, floating=True)
    if mode == "fill" and math.isfinite(value) and abs(value) > torch.finfo(x.dtype).max:
        raise InputError("Matrix Mask: value={value:g} does not fit {dtype} (largest {max:.6g}); use a smaller "
                         "value, or float('-inf') to mask logits.",
                         value=value, dtype=_dtype_name(x.dtype), max=torch.finfo(x.dtype).max)
    keep = _keep(tuple(x.shape), x.device, x, kind, diagonal=diagonal, width=width, lengths=lengths, p=p,
                 seed=seed, sparsity=sparsity, n=n, m=m, index=index, mask=mask)
    kept = x
    if kind == "random" and scale and p > 0:
        factor = torch.ones((), dtype=x.dtype, device=x.device).div_(1.0 - p)  # 1/(1-p) rounded as dropout does
        kept = x * factor
    return kept.masked_fill(~keep, 0.0 if mode == "multiply" else value)


# -- declarations --------------------------------------------------------------


class FillParam(Param):
    """A float parameter that also accepts ``-inf`` and ``inf`` (never NaN).

    The registry's float parameters must be finite; a mask's fill value is the
    one place where ``-inf`` is the point. Text round-trips as ``"-inf"``.
    """

    def check(self, value: Any, where: str) -> Any:
        v = value.item() if isinstance(value, torch.Tensor) and value.numel() == 1 else value
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isinf(v):
            return float(v)
        if isinstance(v, float) and math.isnan(v):
            raise InputError("{where}: {name} must be a number, -inf or inf, not NaN; got {value!r}.",
                             where=where, name=self.name, value=value)
        if isinstance(v, str) or isinstance(v, bool):
            raise InputError("{where}: {name} must be a number such as 0.0 or float('-inf'); got {value!r}.",
                             where=where, name=self.name, value=value)
        return super().check(value, where)

    def allowed(self) -> str:
        return N_("any number, -inf or inf (not NaN)")


def _kind(*kinds: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A mask parameter's ``when``: it matters only for these kinds."""
    return (("kind", kinds),)


register(Variant(
    name="matrix_slice", title=SLICE_TITLE, family="matrix", fn=matrix_slice,
    params=(
        Param("rows", "str", ":",
              N_("Rows to keep: 'start:stop:step' (a view), one index '3', or a list '0,2,5' (a copy).")),
        Param("cols", "str", ":",
              N_("Columns to keep: 'start:stop:step' (a view), one index '3', or a list '0,2,5' (a copy).")),
    ),
    pattern="... r c -> ... r' c'", reference="x[..., rows, cols]",
    summary=N_("Selects a submatrix of every matrix; plain slices give a view that shares the input's memory."),
    stat="none", affine="none", min_ndim=2, order=70,
))
MATRIX_MASK = register(Variant(
    name="matrix_mask", title=MASK_TITLE, family="matrix", fn=matrix_mask,
    params=(
        Param("kind", "choice", "causal", N_("Which entries to remove: the mask's rule."), choices=MASK_KINDS),
        Param("mode", "choice", "multiply", N_("multiply: removed entries become 0; fill: they become value."),
              choices=MASK_MODES),
        FillParam("value", "float", 0.0,
                  N_("Written where removed in fill mode; -inf before a softmax gives them probability 0."),
                  when=(("mode", ("fill",)),)),
        Param("diagonal", "int", 0, N_("causal: keep j - i <= diagonal (0 = the diagonal and below), as torch.tril."),
              when=_kind("causal")),
        Param("width", "int", 1, N_("band: keep entries with |i - j| <= width."), low=0, when=_kind("band")),
        Param("lengths", "ints", None,
              N_("padding: valid columns, one per row of a 2-D input or one per matrix of a batch."),
              when=_kind("padding")),
        Param("p", "float", 0.5, N_("random: probability of removing each entry (dropout)."), low=0.0, high=1.0,
              high_open=True, when=_kind("random")),
        Param("seed", "int", 0, N_("random: seed of the mask; the same seed gives the same mask."), low=0,
              when=_kind("random")),
        Param("scale", "bool", True, N_("random: rescale kept entries by 1/(1-p), as dropout does."),
              when=_kind("random")),
        Param("sparsity", "float", 0.5, N_("magnitude: fraction of smallest-|x| entries removed per matrix."),
              low=0.0, high=1.0, when=_kind("magnitude")),
        Param("n", "int", 2, N_("n_m: entries kept in every block of m."), low=1, when=_kind("n_m")),
        Param("m", "int", 4, N_("n_m: block length along the last dim; must divide the columns."), low=1,
              when=_kind("n_m")),
        Param("index", "ints", (), N_("rows / cols: the rows or columns to remove."), when=_kind("rows", "cols")),
        Param("mask", "tensor", None, N_("custom: a 0/1 tensor broadcastable to the input (1 = keep)."), widget=False,
              when=_kind("custom")),
    ),
    pattern="... r c -> ... r c (masked)", reference="x.masked_fill(~mask, value)",
    summary=N_("Removes entries of every matrix by a rule (causal, band, padding, dropout, pruning, ...): zeroed or "
               "filled."),
    stat="none", affine="none", min_ndim=2, order=80,
))
