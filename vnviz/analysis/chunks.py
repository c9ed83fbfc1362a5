"""Blocks of samples, so that float64 working copies stay small.

The analysis widens values to float64 and builds temporaries (deviations,
bin indices) the size of what it reads. Over a whole 10M-element tensor each
of those is 40–80 MB: it misses every cache, and on glibc a block that large
is a fresh ``mmap`` whose pages fault in on every call. Walking the tensor in
blocks of samples keeps every temporary small and reused, so the time per
element stays what it is for small tensors.
"""
from __future__ import annotations

from collections.abc import Iterator
from types import EllipsisType

import torch

CPU_CHUNK = 1 << 18  # elements per block on the CPU: a 2 MB float64 temporary, which stays in cache
ACCELERATOR_CHUNK = 1 << 24  # on CUDA/MPS: fewer, larger launches, and a bounded peak memory


def chunk_elements(device: torch.device) -> int:
    """How many elements one block should hold on ``device``."""
    return CPU_CHUNK if device.type == "cpu" else ACCELERATOR_CHUNK


def row_blocks(shape: tuple[int, ...], device: torch.device, limit: int | None = None) -> Iterator[slice | EllipsisType]:
    """Index expressions covering dim 0 of a tensor of ``shape`` in blocks of whole samples.

    Each block holds at most ``limit`` elements (default ``chunk_elements``)
    unless one sample alone is larger, in which case a block is one sample.
    A tensor that fits in one block, or has fewer than two dims, gives ``...``
    (the whole tensor, as a view).
    """
    limit = limit or chunk_elements(device)
    numel = 1
    for s in shape:
        numel *= s
    if len(shape) < 2 or numel <= limit or shape[0] <= 1:
        yield ...
        return
    rows = max(1, limit // max(1, numel // shape[0]))
    for start in range(0, shape[0], rows):
        yield slice(start, start + rows)


def like(ids: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``ids`` on x's device with x's shape: reshaped when it has as many elements, else broadcast."""
    ids = ids.to(x.device)
    return ids.reshape(x.shape) if ids.numel() == x.numel() else ids.expand(x.shape)


def max_abs_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| in b's dtype, block by block (NaN when either holds a NaN)."""
    a = a.detach().reshape(b.shape) if a.numel() == b.numel() else a.detach()
    b = b.detach()
    best = torch.zeros((), dtype=b.dtype, device=b.device)
    for s in row_blocks(tuple(b.shape), b.device):
        best = torch.maximum(best, (a[s].to(b.dtype) - b[s]).abs().max())
    return float(best)
