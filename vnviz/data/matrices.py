"""Seeded matrices for the Slice & Mask page, and uploads read as (batches of) matrices.

Each source takes a shape, ``(R, C)`` or a batch ``(B, R, C)``, and a seed; the
random numbers come from a CPU ``torch.Generator`` seeded with ``seed``, so the
same (shape, seed) gives the same matrix on every machine. ``make_matrix`` builds
one; ``load_matrices`` reads an uploaded file with :func:`vnviz.data.load_arrays`
and keeps the arrays that are matrices (>= 2 dims, the last two are the matrix).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from vnviz.data.generators import check_element_cap, check_seed, check_shape_arg, fmt_shape
from vnviz.data.upload import load_arrays
from vnviz.errors import InputError
from vnviz.i18n import N_, Msg, plural_msg

HEAD_DIM = 16  # d of the attention source's q and k
POSITION_WEIGHT = 1.5  # strength of the shared sinusoidal position code in q and k (makes attention local)
OUTLIER_SCALE = (4.0, 8.0)  # the weight source's large rows/columns are this many times larger
NOISE = 0.1  # std of the noise added to the low-rank source


@dataclass(frozen=True)
class MatrixSample:
    """A matrix (or a batch of them) to slice and mask."""

    x: torch.Tensor  # float32 on the CPU, (R, C) or (B, R, C)
    description: str  # one sentence for the UI: what this matrix is (a Msg)


@dataclass(frozen=True)
class MatrixSource:
    """A named matrix generator the user can pick."""

    name: str  # key used in links, e.g. "attention"
    title: str  # human title (N_)
    default_shape: tuple[int, ...]  # shape used when the user gives none
    help: str  # one line for a tooltip (N_)
    make: Callable[[tuple[int, ...], int], MatrixSample]  # make(shape, seed) -> MatrixSample


def check_matrix_shape(shape: object, name: str) -> tuple[int, ...]:
    """``shape`` as a tuple of ints: 2-D ``(R, C)`` or 3-D ``(B, R, C)``, at most MAX_ELEMENTS elements."""
    shape = check_shape_arg(shape, Msg("matrix source {name!r}", name=name))
    if len(shape) not in (2, 3):
        raise InputError(
            "Matrix source {name!r} needs a 2-d shape (R, C) or a 3-d batch (B, R, C), got {shape} with {n} dims.",
            name=name, shape=fmt_shape(shape), n=len(shape),
        )
    check_element_cap(shape)
    return shape


def _generator(seed: int) -> torch.Generator:
    return torch.Generator(device="cpu").manual_seed(check_seed(seed))


def _batched(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(B, R, C) of a 2-D or 3-D shape (B = 1 for a single matrix)."""
    return (1,) + shape if len(shape) == 2 else shape  # type: ignore[return-value]


def _uniform(size: tuple[int, ...], low: float, high: float, g: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(size, generator=g)


# --------------------------------------------------------------------------- sources


def gaussian(shape: tuple[int, ...], seed: int = 0) -> MatrixSample:
    """Standard normal entries: no structure at all.

    Args:
        shape: ``(R, C)`` or ``(B, R, C)``.
        seed: seed of the CPU ``torch.Generator``. Default: 0.
    """
    shape = check_matrix_shape(shape, "gaussian")
    x = torch.randn(shape, generator=_generator(seed))
    return MatrixSample(x, Msg("Standard normal matrix of shape {shape}.", shape=fmt_shape(shape)))


def weight(shape: tuple[int, ...], seed: int = 0) -> MatrixSample:
    """A weight-like matrix ``(out, in)``: Kaiming normal with a few rows and columns of much larger norm.

    ``W ~ N(0, 2 / C)`` (``torch.nn.init.kaiming_normal_`` with fan_in = C), then
    ``max(1, R // 16)`` rows and ``max(1, C // 16)`` columns are scaled by 4 to 8,
    as trained layers have a few dominant output units and input features.

    Args:
        shape: ``(R, C)`` = (out_features, in_features), or a batch ``(B, R, C)``.
        seed: seed of the CPU ``torch.Generator``. Default: 0.
    """
    shape = check_matrix_shape(shape, "weight")
    g = _generator(seed)
    b, r, c = _batched(shape)
    x = torch.randn((b, r, c), generator=g) * math.sqrt(2.0 / c)  # (B, R, C)
    kr, kc = max(1, r // 16), max(1, c // 16)
    for i in range(b):
        rows = torch.randperm(r, generator=g)[:kr]  # (kr,)
        cols = torch.randperm(c, generator=g)[:kc]  # (kc,)
        x[i, rows, :] *= _uniform((kr, 1), *OUTLIER_SCALE, g)
        x[i, :, cols] *= _uniform((1, kc), *OUTLIER_SCALE, g)
    return MatrixSample(
        x.reshape(shape),
        Msg("Weight-like matrix of shape {shape}: Kaiming normal N(0, 2/{c}) with {rows} and {cols} 4 to 8 times "
            "larger.", shape=fmt_shape(shape), c=c, rows=plural_msg("{n} row", "{n} rows", kr, n=kr),
            cols=plural_msg("{n} column", "{n} columns", kc, n=kc)),
    )


def _positions(n: int, d: int) -> torch.Tensor:
    """Sinusoidal position code (n, d), as in "Attention is all you need"."""
    pos = torch.arange(n, dtype=torch.float32)[:, None]  # (n, 1)
    freq = torch.exp(-math.log(100.0) * torch.arange(0, d, 2, dtype=torch.float32) / d)  # (d/2,)
    code = torch.zeros(n, d)
    code[:, 0::2] = torch.sin(pos * freq)
    code[:, 1::2] = torch.cos(pos * freq)
    return code


def attention(shape: tuple[int, ...], seed: int = 0) -> MatrixSample:
    """Attention logits ``q kᵀ / √d`` of seeded queries and keys, one matrix per head.

    ``q`` is ``(R, d)`` and ``k`` is ``(C, d)`` with ``d = HEAD_DIM``: standard
    normal plus a shared sinusoidal position code, so nearby positions score
    higher (the diagonal band real attention often shows). ``(L, L)`` is
    self-attention; ``(B, L, L)`` is a batch of B heads.

    Args:
        shape: ``(L, L)`` (or ``(R, C)``: R queries, C keys), or ``(B, R, C)`` heads.
        seed: seed of the CPU ``torch.Generator``. Default: 0.
    """
    shape = check_matrix_shape(shape, "attention")
    g = _generator(seed)
    b, r, c = _batched(shape)
    d = HEAD_DIM
    q = torch.randn((b, r, d), generator=g) + POSITION_WEIGHT * _positions(r, d)  # (B, R, d)
    k = torch.randn((b, c, d), generator=g) + POSITION_WEIGHT * _positions(c, d)  # (B, C, d)
    x = q @ k.transpose(-2, -1) / math.sqrt(d)  # (B, R, C)
    values = dict(d=d, shape=fmt_shape(shape), r=r, c=c)
    if len(shape) == 2:
        text = Msg("Attention logits q·kᵀ/√{d}, shape {shape}: {r} queries by {c} keys, with a position code that makes "
                   "nearby keys score higher.", **values)
    else:
        text = Msg("Attention logits q·kᵀ/√{d} for {b} heads, shape {shape}: {r} queries by {c} keys, with a position "
                   "code that makes nearby keys score higher.", b=b, **values)
    return MatrixSample(x.reshape(shape), text)


def low_rank(shape: tuple[int, ...], seed: int = 0) -> MatrixSample:
    """A rank-r matrix plus a little noise: ``U Vᵀ / √r + 0.1 ε`` with ``r = max(1, min(R, C) // 8)``.

    Args:
        shape: ``(R, C)`` or ``(B, R, C)``.
        seed: seed of the CPU ``torch.Generator``. Default: 0.
    """
    shape = check_matrix_shape(shape, "low_rank")
    g = _generator(seed)
    b, r, c = _batched(shape)
    rank = max(1, min(r, c) // 8)
    u = torch.randn((b, r, rank), generator=g)  # (B, R, r)
    v = torch.randn((b, c, rank), generator=g)  # (B, C, r)
    x = u @ v.transpose(-2, -1) / math.sqrt(rank) + NOISE * torch.randn((b, r, c), generator=g)  # (B, R, C)
    return MatrixSample(x.reshape(shape), Msg("Rank-{rank} matrix plus noise (std {noise}), shape {shape}.",
                                              rank=rank, noise=NOISE, shape=fmt_shape(shape)))


MATRIX_SOURCES: dict[str, MatrixSource] = {
    s.name: s
    for s in (
        MatrixSource("gaussian", N_("Gaussian matrix"), (16, 16), N_("Standard normal entries."), gaussian),
        MatrixSource("weight", N_("Weight matrix"), (64, 96),
                     N_("Kaiming-scaled normal (out, in) with a few much larger rows and columns."), weight),
        MatrixSource("attention", N_("Attention logits"), (4, 24, 24),
                     N_("q·kᵀ/√d of seeded queries and keys; (B, L, L) is a batch of heads."), attention),
        MatrixSource("low_rank", N_("Low-rank + noise"), (48, 64), N_("Rank min(R, C)//8 plus a little noise."),
                     low_rank),
    )
}


def make_matrix(name: str, shape: tuple[int, ...] | None = None, seed: int = 0) -> MatrixSample:
    """Build a matrix of a source in :data:`MATRIX_SOURCES`.

    Args:
        name: a key of :data:`MATRIX_SOURCES`, e.g. ``"attention"``.
        shape: ``(R, C)`` or ``(B, R, C)``; None gives the source's default. Default: None.
        seed: seed of the CPU ``torch.Generator``, 0 to 2**63 - 1. Default: 0.

    Raises:
        InputError: unknown name, a shape that is not 2-d/3-d or too big, or a bad seed.
    """
    source = MATRIX_SOURCES.get(name) if isinstance(name, str) else None
    if source is None:
        raise InputError("There is no matrix source named {name!r:.40}; choose one of {names}.",
                         name=name, names=', '.join(MATRIX_SOURCES))
    check_seed(seed)
    return source.make(source.default_shape if shape is None else shape, seed)


def as_matrices(t: torch.Tensor, where: str) -> torch.Tensor:
    """``t`` if it is a usable (batch of) matrices: >= 2 dims and finite; else InputError."""
    if t.ndim < 2:
        raise InputError(
            "{where} is 1-d with shape {shape}, but this page needs a matrix (R, C) or a batch of them (..., R, C); "
            "save it as a 2-d array.",
            where=where, shape=fmt_shape(tuple(t.shape)),
        )
    bad = int((~torch.isfinite(t)).sum())
    if bad:
        raise InputError("{where} holds {bad:,} NaN or infinite values; this page needs finite numbers.",
                         where=where, bad=bad)
    return t


def load_matrices(data: bytes, filename: str) -> dict[str, torch.Tensor]:
    """The arrays of an uploaded file that are (batches of) matrices, by name.

    Reads with :func:`vnviz.data.load_arrays` (never unpickles). Arrays with
    fewer than 2 dims or with NaN/Inf are left out; if none is left, the
    sentence about the first one is raised as InputError.
    """
    arrays = load_arrays(data, filename)
    usable: dict[str, torch.Tensor] = {}
    first_error: InputError | None = None
    for name, t in arrays.items():
        where = N_("The upload") if len(arrays) == 1 else Msg("Array {name!r:.40} of the upload", name=name)
        try:
            usable[name] = as_matrices(t, where)
        except InputError as err:
            first_error = first_error or err
    if not usable:
        assert first_error is not None
        raise first_error
    return usable


__all__ = ["MATRIX_SOURCES", "MatrixSample", "MatrixSource", "as_matrices", "load_matrices", "make_matrix"]
