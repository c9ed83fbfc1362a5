"""A picture of one sample around a selected element: its channels × positions, groups and the element's group.

``element_picture`` is the small summary the element inspector draws
(``vnviz.figures.explain.element_figure``): at most ``MAX_ROWS`` channels
and ``MAX_COLS`` positions of the element's sample, each cell one element
of x (an even sample of the channels and positions for large tensors, the
selected element's own channel and position always among them), with the
full index of every cell, so that a click on a cell selects that element.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from vnviz.analysis.explain import Explanation, _explain, group_ids
from vnviz.variants.registry import get_variant

MAX_ROWS = 32  # channels (dim 1) shown at most
MAX_COLS = 64  # positions (dims 2.., flattened) shown at most


@dataclass(frozen=True)
class ElementPicture:
    """One sample of x as channels × positions around a selected element (small CPU tensors)."""

    explanation: Explanation  # the selected element's arithmetic; its steps drive the step-by-step highlight
    sample: int  # the sample shown: the element's index along dim 0
    rows: torch.Tensor  # (R,) int64 the channels (dim 1) shown, ascending; the element's among them
    cols: torch.Tensor  # (P,) int64 the flat positions over dims 2.. shown, ascending; the element's among them
    positions: tuple[int, ...]  # the sizes of dims 2.. (() for an (N, C) input: one column)
    values: torch.Tensor  # (R, P) float64: x at each cell
    groups: torch.Tensor  # (R, P) int64: each cell's statistic group (as vnviz.stat_groups)
    in_group: torch.Tensor  # (R, P) bool: the cell shares the selected element's statistics (its group)
    cell_index: torch.Tensor  # (R, P, ndim) int64: the full index into x of each cell
    selected: tuple[int, int]  # (row, col) of the selected element's cell
    group_here: int  # elements of its group in this sample, shown or not
    channels: int  # C, the size of dim 1
    length: int  # the positions of one channel, prod(positions)

    @property
    def full(self) -> bool:
        """Every channel and position of the sample has its cell (nothing was left out)."""
        return self.rows.numel() == self.channels and self.cols.numel() == self.length

    @property
    def group_elsewhere(self) -> int:
        """Elements of its group in the other samples (BatchNorm's: the rest of the batch)."""
        return self.explanation.group_size - self.group_here


def _pick(n: int, k: int, must: int) -> torch.Tensor:
    """At most ``k`` of 0..n-1, evenly spread, ascending, ``must`` among them."""
    if n <= k:
        return torch.arange(n)
    pick = torch.linspace(0, n - 1, k).round().long()  # distinct: the step is above 1
    pick[int((pick - must).abs().argmin())] = must  # the nearest one: the order stays
    return pick


def element_picture(name: str, x: torch.Tensor, index: Any, max_rows: int = MAX_ROWS, max_cols: int = MAX_COLS,
                    **params: Any) -> ElementPicture:
    """The element ``x[index]`` in a picture of its sample: channels × positions, group ids, its group's cells.

    Args:
        name, x, index, params: as ``explain`` (which this runs; its Explanation is in the result).
        max_rows, max_cols: the most channels and positions shown; larger samples are shown at evenly
            spread channels and positions (each cell is one element, not an average).

    Reads the element's group and R·P elements of x, nothing more (ClusterNorm
    clusters the batch first, as ``explain`` does).
    """
    e, red, gp, x = _explain(name, x, index, params)
    v = get_variant(name)
    shape = red.shape
    n, c = e.index[0], e.index[1]
    positions = tuple(shape[2:])
    length = math.prod(positions)
    flat = 0
    for i, s in zip(e.index[2:], positions):
        flat = flat * s + i
    rows = _pick(shape[1], max_rows, c)
    cols = _pick(length, max_cols, flat)
    coords = torch.unravel_index(cols, positions) if positions else ()
    r, p = rows.numel(), cols.numel()
    cell = torch.empty((r, p, len(shape)), dtype=torch.long)
    cell[..., 0] = n
    cell[..., 1] = rows[:, None]
    for d, t in enumerate(coords):
        cell[..., 2 + d] = t[None, :]
    at = tuple(cell[..., d].to(x.device) for d in range(len(shape)))
    values = x.detach()[at].to("cpu", torch.float64)  # (R, P)
    groups = group_ids(v, red, gp, cell.reshape(-1, len(shape))).reshape(r, p).cpu()
    here = math.prod((s.stop - s.start) if s.start is not None else shape[d]
                     for d, s in enumerate(e.members) if d >= 1)
    return ElementPicture(
        explanation=e, sample=n, rows=rows, cols=cols, positions=positions, values=values, groups=groups,
        in_group=groups == e.group, cell_index=cell,
        selected=(int((rows == c).nonzero()[0]), int((cols == flat).nonzero()[0])),
        group_here=here, channels=shape[1], length=length,
    )
