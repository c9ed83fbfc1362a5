"""Known traps, in plain words, for a variant about to run on an input."""
from __future__ import annotations

import math
from typing import Any

import torch

from vnviz.variants.norms import trailing_shape
from vnviz.variants.registry import get_variant


def traps(name: str, x: torch.Tensor, params: dict[str, Any], layout: str | None = None) -> list[str]:
    """Warnings for the known traps of running ``name`` on ``x`` with ``params``.

    Each is one sentence a student understands; an empty list means none applies.
    Errors that make the call impossible are not listed here: ``apply`` raises them.
    """
    variant = get_variant(name)
    shape = tuple(x.shape)
    out: list[str] = []
    nonfinite = 0
    if x.is_floating_point() and x.numel():
        lo, hi = torch.aminmax(x.detach())  # one pass; count only when NaN/Inf show in the range
        if not (math.isfinite(lo) and math.isfinite(hi)):
            nonfinite = int((~torch.isfinite(x)).sum())
    if nonfinite:
        out.append(f"The input holds {nonfinite} NaN/Inf value(s); a single one turns its whole statistic group into NaN.")
    if variant.family != "norm" or x.ndim < 2:
        return out
    training = params.get("training", True)
    c = shape[1]
    per_channel = x.numel() // c
    if name == "batch_norm":
        if not training and params.get("running_mean") is None:
            out.append(
                "Eval mode with untouched running statistics (mean 0, variance 1) divides by sqrt(1 + eps) and "
                "nothing else: the output is the input."
            )
        elif training and per_channel < 16:
            out.append(
                f"BatchNorm estimates each channel's statistics from only {per_channel} values here; "
                "with tiny batches they are noisy and training and eval outputs differ a lot."
            )
    if name == "instance_norm" and params.get("running_mean") is not None and not training:
        out.append("InstanceNorm with running statistics in eval mode uses the same statistics for every sample, like BatchNorm.")
    if name in ("layer_norm", "rms_norm"):
        ns = trailing_shape(params.get("normalized_shape"), shape, variant.title)
        if math.prod(ns) == 1:
            out.append(
                f"normalized_shape {ns} puts a single element in every group: its variance is 0, "
                "so LayerNorm outputs all zeros (plus bias)." if name == "layer_norm"
                else f"normalized_shape {ns} puts a single element in every group: RMSNorm outputs ±1 (its sign)."
            )
    if name == "group_norm":
        g = params.get("num_groups")
        if g == 1:
            out.append("GroupNorm with one group normalizes like LayerNorm over (C, *), but its affine is per channel, not per element.")
        elif g == c:
            out.append("GroupNorm with num_groups = C is InstanceNorm (with a per-channel affine).")
    if name == "rms_norm":
        m = float(x.detach().double().mean())
        s = float(x.detach().double().std()) if x.numel() > 1 else 0.0
        if abs(m) > 0.5 * max(s, 1e-12):
            out.append(f"The data has mean {m:.3g}: RMSNorm does not remove it, so the output is not centred.")
    if layout and layout.split()[:3] == ["N", "L", "D"] and name in ("batch_norm", "instance_norm", "group_norm"):
        out.append(
            f"With (N, L, D) tokens, dim 1 holds the {shape[1]} positions, not features: {variant.title} would treat "
            "every position as a channel; permute to (N, D, L) or choose LayerNorm over D."
        )
    elif x.ndim == 3 and name == "batch_norm" and shape[1] > 4 * shape[2] and layout is None:
        out.append(
            f"Dim 1 ({shape[1]}) is much longer than dim 2 ({shape[2]}): if this is (N, L, D) token data, "
            "BatchNorm1d is normalizing over positions instead of features."
        )
    return out
