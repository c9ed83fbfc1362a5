"""Known traps, in plain words: those of a variant about to run on an input, and the general list.

Each variant declares its own traps (``Variant.traps``); this module adds what
holds for every one of them and collects the declarations.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from vnviz.i18n import N_, Msg
from vnviz.variants.registry import VARIANTS, get_variant

GENERAL_TRAPS: tuple[str, ...] = (
    N_("torch normalizes with the biased variance (divide by n), but x.var() and x.std() default to the unbiased one "
       "(n - 1), so a hand-written norm built on them is off by sqrt(n / (n - 1)); only BatchNorm's running_var uses "
       "the unbiased one."),
    N_("eps goes inside the square root: (x - mean) / sqrt(var + eps), not / (std + eps); without it a constant group "
       "divides by zero."),
)


def known_traps() -> tuple[str, ...]:
    """Every declared variant's traps in general, then those of every normalization, one sentence each."""
    return tuple(t for v in VARIANTS.values() for t in v.traps.known) + GENERAL_TRAPS


def traps(name: str, x: torch.Tensor, params: dict[str, Any], layout: str | None = None) -> list[str]:
    """Warnings for the known traps of running ``name`` on ``x`` with ``params``.

    Each is one sentence a student understands; an empty list means none applies.
    Errors that make the call impossible are not listed here: ``apply`` raises them.
    """
    variant = get_variant(name)
    out: list[str] = []
    nonfinite = 0
    if x.is_floating_point() and x.numel():
        lo, hi = torch.aminmax(x.detach())  # one pass; count only when NaN/Inf show in the range
        if not (math.isfinite(lo) and math.isfinite(hi)):
            nonfinite = int((~torch.isfinite(x)).sum())
    if nonfinite:
        out.append(Msg("The input holds {n} NaN/Inf value(s); a single one turns its whole statistic group into NaN.",
                       n=nonfinite))
    if variant.family != "norm" or x.ndim < 2:
        return out
    return out + variant.traps.warnings(x, params, layout)


KNOWN_TRAPS: tuple[str, ...] = known_traps()  # the list the Axis check page shows
