"""Everything the Slice & Mask page shows, computed in torch: small summaries of a slice or a mask.

``slice_view`` and ``mask_view`` run the variant and return frozen dataclasses
whose size does not grow with the matrix: heatmaps are pooled to at most
``MAX_SIDE`` x ``MAX_SIDE`` blocks, per-row curves to at most ``MAX_BARS``
bins. ``vnviz.figures.matrix`` draws them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from vnviz.analysis.matrix import MaskEffects, SliceFacts, demo_write, mask_effects, slice_facts
from vnviz.variants.matrix import SLICE_TITLE, build_mask, parse_index
from vnviz.variants.params import named
from vnviz.variants.registry import apply

MAX_SIDE = 128  # largest side of a heatmap sent to the browser (blocks are averaged beyond it)
HUGE_FILL = 1e30  # a fill value this large stands for ±inf (e.g. torch.finfo(float32).min): A·v uses M ⊙ A
MAX_BARS = 256  # most bars/points of a per-row or per-column curve (bins are averaged beyond it)


def _empty() -> torch.Tensor:
    return torch.empty(0)


@dataclass(frozen=True)
class Heatmap:
    """One matrix, pooled to at most MAX_SIDE x MAX_SIDE blocks (1 x 1 blocks when it is small)."""

    z: torch.Tensor = field(default_factory=_empty)  # (h, w) float64, mean of the finite entries per block, NaN if none
    neg_inf: torch.Tensor = field(default_factory=_empty)  # (h, w) fraction of -inf entries per block
    pos_inf: torch.Tensor = field(default_factory=_empty)  # (h, w) fraction of +inf entries per block
    nan: torch.Tensor = field(default_factory=_empty)  # (h, w) fraction of NaN entries per block
    rows: tuple[int, ...] = ()  # source row of each block's first row (labels for the y axis)
    cols: tuple[int, ...] = ()  # source column of each block's first column
    shape: tuple[int, int] = (0, 0)  # (R, C) of the matrix before pooling
    block: tuple[int, int] = (1, 1)  # largest block (rows, cols); (1, 1) = every entry shown


@dataclass(frozen=True)
class Profile:
    """A per-index curve (per row, per column), averaged into at most MAX_BARS bins."""

    index: tuple[int, ...] = ()  # first index of each bin
    mean: torch.Tensor = field(default_factory=_empty)  # (k,) float64, mean over the bin
    size: int = 0  # length before binning
    bin: int = 1  # largest bin width (1 = not binned)


@dataclass(frozen=True)
class SoftmaxRows:
    """Per-row softmax numbers (multiply vs fill), binned for plotting."""

    leaked: Profile = field(default_factory=Profile)  # probability given to removed entries, multiply
    entropy_multiply: Profile = field(default_factory=Profile)  # entropy (nats), multiply
    entropy_fill: Profile = field(default_factory=Profile)  # entropy (nats), safe -inf fill
    support_multiply: Profile = field(default_factory=Profile)  # probabilities > 1e-6, multiply
    support_fill: Profile = field(default_factory=Profile)  # probabilities > 1e-6, safe -inf fill


@dataclass(frozen=True)
class SliceView:
    """Everything the page shows for one matrix_slice choice."""

    before: Heatmap = field(default_factory=Heatmap)  # x[batch]
    after: Heatmap = field(default_factory=Heatmap)  # y[batch], labelled with x's row/column numbers
    facts: SliceFacts = field(default_factory=SliceFacts)  # shape, strides, offset, contiguity, sharing of y
    write_before: Heatmap = field(default_factory=Heatmap)  # x[0] of a clone, before y.fill_(...)
    write_after: Heatmap = field(default_factory=Heatmap)  # the same after writing through y
    written: int = 0  # entries of that x[0] the write changed (0 for a copy)
    batch: int = 0  # which matrix is shown (row-major over the leading dims)
    count: int = 1  # matrices in the batch


@dataclass(frozen=True)
class MaskView:
    """Everything the page shows for one matrix_mask choice."""

    before: Heatmap = field(default_factory=Heatmap)  # x[batch]
    after: Heatmap = field(default_factory=Heatmap)  # matrix_mask(x)[batch]
    mask: Heatmap = field(default_factory=Heatmap)  # fraction kept per block (1 = keep)
    kept_rows: Profile = field(default_factory=Profile)  # entries kept per row
    kept_cols: Profile = field(default_factory=Profile)  # entries kept per column
    effects: MaskEffects = field(default_factory=MaskEffects)  # sparsity, A·v, softmax (small tensors)
    softmax: SoftmaxRows = field(default_factory=SoftmaxRows)  # per-row softmax curves, binned
    product_mode: str = "multiply"  # the mode used for A·v ("multiply" when the fill value is not finite)
    batch: int = 0  # which matrix is shown
    count: int = 1  # matrices in the batch


def _starts(n: int, k: int) -> torch.Tensor:
    """First index of each of the k bins adaptive pooling makes of n items."""
    return (torch.arange(k) * n) // k


def heatmap(m: torch.Tensor, max_side: int = MAX_SIDE, rows: list[int] | None = None,
            cols: list[int] | None = None) -> Heatmap:
    """Pool a matrix ``(R, C)`` to at most ``max_side`` blocks a side, keeping its non-finite entries apart.

    Each block's ``z`` is the mean of its finite entries; ``neg_inf``/``pos_inf``/``nan``
    are the fractions of such entries. ``rows``/``cols`` name the source row and
    column of every entry (default 0, 1, ...), e.g. the indices a slice kept.
    """
    r, c = m.shape[-2:]
    m = m.detach().reshape(r, c).to(torch.float64)  # (R, C)
    h, w = min(r, max_side), min(c, max_side)
    finite = torch.isfinite(m)
    parts = torch.stack([torch.where(finite, m, 0.0), finite.double(), (m == -math.inf).double(),
                         (m == math.inf).double(), m.isnan().double()])  # (5, R, C)
    if (h, w) != (r, c):
        parts = F.adaptive_avg_pool2d(parts, (h, w))  # (5, h, w), the same blocks for every part
    with torch.no_grad():
        z = torch.where(parts[1] > 0, parts[0] / parts[1].clamp_min(1e-300), math.nan)
    rs, cs = _starts(r, h), _starts(c, w)
    rows = rows if rows is not None else list(range(r))
    cols = cols if cols is not None else list(range(c))
    return Heatmap(
        z=z.cpu(), neg_inf=parts[2].cpu(), pos_inf=parts[3].cpu(), nan=parts[4].cpu(),
        rows=tuple(int(rows[i]) for i in rs.tolist()), cols=tuple(int(cols[j]) for j in cs.tolist()),
        shape=(r, c), block=(-(-r // h), -(-c // w)),
    )


def profile(values: torch.Tensor, max_bars: int = MAX_BARS) -> Profile:
    """Average a 1-D curve into at most ``max_bars`` bins (all values when it is short)."""
    v = values.detach().reshape(-1).to(torch.float64)  # (n,)
    n = v.numel()
    if n == 0:
        return Profile()
    k = min(n, max_bars)
    mean = v if k == n else F.adaptive_avg_pool1d(v[None, None], k)[0, 0]  # (k,)
    return Profile(index=tuple(_starts(n, k).tolist()), mean=mean.cpu(), size=n, bin=-(-n // k))


def selected(text: str, size: int, what: str) -> list[int]:
    """The source indices a slice string keeps, in order (``"1:7:2"`` of 8 -> [1, 3, 5])."""
    sel = parse_index(text, size, what)
    return list(range(*sel.indices(size))) if isinstance(sel, slice) else list(sel)


def _matrix(x: torch.Tensor, batch: int) -> torch.Tensor:
    r, c = x.shape[-2:]
    return x.reshape(-1, r, c)[batch]  # (R, C)


def slice_view(x: torch.Tensor, rows: str = ":", cols: str = ":", batch: int = 0) -> SliceView:
    """Slice ``x``, and summarise the result, its memory facts and the write-through demo.

    Raises InputError (one sentence) for a bad slice string.
    """
    y = apply("matrix_slice", x, rows=rows, cols=cols)
    r, c = x.shape[-2:]
    kept_r = selected(rows, r, named(SLICE_TITLE, "rows"))
    kept_c = selected(cols, c, named(SLICE_TITLE, "cols"))
    wb, wa = demo_write(x, rows, cols)  # (R, C) each, x[0] of a clone
    return SliceView(
        before=heatmap(_matrix(x, batch)), after=heatmap(_matrix(y, batch), rows=kept_r, cols=kept_c),
        facts=slice_facts(x, y), write_before=heatmap(wb), write_after=heatmap(wa),
        written=int((wa != wb).sum()), batch=batch, count=x.numel() // (r * c),
    )


def mask_view(x: torch.Tensor, params: dict[str, Any], batch: int = 0) -> MaskView:
    """Mask ``x`` with ``vnviz.apply("matrix_mask", x, **params)`` and summarise every effect.

    A·v uses the page's mode, except that a fill value standing for infinity
    (``-inf``, or ``|value| >= HUGE_FILL`` such as the lowest float) would make
    the products infinite, so then M ⊙ A is used and ``product_mode`` says so. Raises InputError (one sentence) for bad parameters.
    """
    y = apply("matrix_mask", x, **params)
    keep = build_mask(x, **{k: v for k, v in params.items() if k not in ("mode", "value", "scale")})
    mode, value = params.get("mode", "multiply"), float(params.get("value", 0.0))
    product_mode = "fill" if mode == "fill" and abs(value) < HUGE_FILL else "multiply"
    e = mask_effects(x, keep, mode=product_mode, value=value if product_mode == "fill" else 0.0,
                     seed=0, batch_index=batch)
    r, c = x.shape[-2:]
    return MaskView(
        before=heatmap(_matrix(x, batch)), after=heatmap(_matrix(y, batch)), mask=heatmap(_matrix(keep, batch)),
        kept_rows=profile(e.kept_per_row), kept_cols=profile(e.kept_per_col), effects=e,
        softmax=SoftmaxRows(profile(e.leaked), profile(e.entropy_multiply), profile(e.entropy_fill),
                            profile(e.support_multiply), profile(e.support_fill)),
        product_mode=product_mode, batch=batch, count=x.numel() // (r * c),
    )
