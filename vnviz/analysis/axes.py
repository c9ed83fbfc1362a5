"""Which axes does a normalization reduce over? Plans, built-in (input, output) pairs and known traps.

``axis_plan`` answers the question both ways round: from a variant (BatchNorm,
LayerNorm, ...) to the axes it reduces, or from a set of ticked axes to the
torch layer that reduces exactly those (or the closest one, and an exact
recipe, when none does). Every set of axes is a valid "which elements share a
statistic" map, so every plan carries its group map for a small tensor a
person can read.

``EXAMPLES`` are seeded (x, y) pairs for ``infer_axes``, the classic mistakes
among them; ``KNOWN_TRAPS`` says the traps in plain words.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from vnviz.analysis.infer import AxisReport, Candidate
from vnviz.errors import InputError
from vnviz.variants.norms import resolve_num_groups
from vnviz.variants.registry import VARIANTS, quote, stat_groups

LAYOUTS = ("N C H W", "N C L", "N L D", "N C", "N C D H W")  # the layouts a plan is drawn for
DEFAULT_SHAPES = {  # small shapes a person can read, per layout
    "N C H W": (2, 4, 3, 3),
    "N C L": (2, 4, 5),
    "N L D": (2, 6, 4),
    "N C": (4, 6),
    "N C D H W": (2, 4, 2, 2, 2),
}
PLAN_VARIANTS = ("batch_norm", "layer_norm", "instance_norm", "group_norm", "rms_norm")
MAX_PLAN_ELEMENTS = 4096  # largest tensor a plan draws the group map of
TITLES = {n: VARIANTS[n].title for n in PLAN_VARIANTS}
_BN_DIM = {2: 1, 3: 1, 4: 2, 5: 3}  # rank -> the k of nn.BatchNorm{k}d / nn.InstanceNorm{k}d


@dataclass(frozen=True)
class Layer:
    """One torch way to compute a plan's statistics: a module and the same thing as a functional call."""

    layer: str  # the module, with the layout's sizes as names, e.g. "nn.BatchNorm2d(C)"
    call: str  # a Python expression of x giving the normalized output, e.g. "F.batch_norm(x, None, None, training=True)"
    affine: str  # the shape of its weight and bias, e.g. "(C,)", or "none"
    note: str = ""  # how it relates to the plan, when it is not simply "this is it"


@dataclass(frozen=True)
class AxisPlan:
    """Which axes a normalization reduces over, the torch layers that do it, and its statistic groups."""

    layout: str  # e.g. "N C H W"
    letters: tuple[str, ...]  # the layout's letters, one per dim
    shape: tuple[int, ...]  # the small tensor the group map is drawn for
    reduce: tuple[str, ...]  # letters reduced over, in layout order (GroupNorm: the channel letter too)
    dims: tuple[int, ...]  # the same as dims
    variant: str | None  # the vnviz variant this is (None: no standard layer)
    num_groups: int | None  # GroupNorm's G
    standard: bool  # a torch layer, fed x as it is or transposed, computes exactly these statistics
    layers: tuple[Layer, ...]  # the matching layer first, then equivalents; without one: the exact recipe, the closest
    pattern: str  # einops reduction of the statistics, e.g. "n c h w -> 1 c 1 1"
    stat_shape: str  # the mean/variance shape with keepdim, in letters, e.g. "(1, C, 1, 1)"
    stat_size: tuple[int, ...]  # the same for ``shape``
    affine: str  # "per-channel", "per-element" or "none" (the matching layer's weight and bias)
    affine_shape: str  # e.g. "(C,)", "(C, H, W)" or "none"
    centered: bool  # the mean is removed (False for RMSNorm)
    groups: torch.Tensor  # int64 group map shaped like ``shape``: same id, same statistics
    num_stat_groups: int  # how many groups
    group_size: int  # values in each group
    summary: str  # one sentence
    notes: tuple[str, ...] = ()  # traps and equivalences, one sentence each

    @property
    def sizes(self) -> dict[str, int]:
        """Each letter's size in ``shape`` (and G), for reading or running the calls."""
        out = dict(zip(self.letters, self.shape))
        if self.num_groups is not None:
            out["G"] = self.num_groups
        return out


# -- helpers ----------------------------------------------------------------------------------


def _tuple(items) -> str:
    items = list(items)
    return f"({items[0]},)" if len(items) == 1 else "(" + ", ".join(map(str, items)) + ")"


def _list(letters) -> str:
    letters = list(letters)
    return letters[0] if len(letters) == 1 else "[" + ", ".join(letters) + "]"


def letters_text(letters) -> str:
    """("N", "H", "W") as "N, H, W"."""
    return ", ".join(letters)


def _word(letter: str, letters: tuple[str, ...]) -> str:
    """What one index along ``letter`` is, in words."""
    if letter == "D":
        return "feature" if letters == ("N", "L", "D") else "depth slice"
    return {"N": "sample", "C": "channel", "L": "position", "H": "row", "W": "column"}[letter]


def _check_layout(layout: Any) -> tuple[str, ...]:
    if layout not in LAYOUTS:
        raise InputError(f"axis_plan: layout must be one of {', '.join(LAYOUTS)}; got {quote(layout)}.")
    return tuple(layout.split())


def _check_shape(shape: Any, layout: str, letters: tuple[str, ...]) -> tuple[int, ...]:
    if shape is None:
        return DEFAULT_SHAPES[layout]
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise InputError(f"axis_plan: shape must be a tuple of sizes; got {quote(shape)}.") from None
    if len(shape) != len(letters) or any(s < 1 for s in shape):
        raise InputError(f"axis_plan: shape must give {len(letters)} positive sizes for {layout}; got {quote(shape)}.")
    if math.prod(shape) > MAX_PLAN_ELEMENTS:
        raise InputError(f"axis_plan draws tensors of at most {MAX_PLAN_ELEMENTS:,} elements; got shape {shape}.")
    return shape


def _channel(letters: tuple[str, ...]) -> int:
    """The dim holding the features: dim 1, or the last dim for tokens (N L D)."""
    return len(letters) - 1 if letters == ("N", "L", "D") else 1


@dataclass(frozen=True)
class _Match:
    variant: str
    layer: str
    call: str
    affine: str  # "per-channel" or "per-element"
    affine_letters: tuple[str, ...]
    channel_type: bool  # indexed by torch's channel dim (BatchNorm, InstanceNorm, GroupNorm)
    num_groups: str | None = None  # GroupNorm's G, as a letter or number


def _torch_matches(reduced: frozenset[int], fl: tuple[str, ...], rms: bool) -> list[_Match]:
    """Standard layers that reduce exactly ``reduced`` of an input whose dims are ``fl`` (channel at dim 1)."""
    r = len(fl)
    spatial = set(range(2, r))
    k = _BN_DIM[r]
    out: list[_Match] = []
    trailing = bool(reduced) and min(reduced) >= 1 and reduced == set(range(min(reduced), r))
    if rms:
        if trailing:
            ns = fl[min(reduced):]
            out.append(_Match("rms_norm", f"nn.RMSNorm({_list(ns)})", f"F.rms_norm(x, x.shape[-{len(ns)}:])",
                              "per-element", ns, False))
        return out
    if reduced == {0} | spatial:
        out.append(_Match("batch_norm", f"nn.BatchNorm{k}d({fl[1]})", "F.batch_norm(x, None, None, training=True)",
                          "per-channel", (fl[1],), True))
    if r >= 3 and reduced == spatial:
        out.append(_Match("instance_norm", f"nn.InstanceNorm{k}d({fl[1]}, affine=True)", "F.instance_norm(x)",
                          "per-channel", (fl[1],), True))
    if trailing:
        ns = fl[min(reduced):]
        out.append(_Match("layer_norm", f"nn.LayerNorm({_list(ns)})", f"F.layer_norm(x, x.shape[-{len(ns)}:])",
                          "per-element", ns, False))
        if min(reduced) == 1:
            out.append(_Match("group_norm", f"nn.GroupNorm(1, {fl[1]})", "F.group_norm(x, 1)", "per-channel",
                              (fl[1],), True, "1"))
    if r >= 3 and reduced == spatial:
        out.append(_Match("group_norm", f"nn.GroupNorm({fl[1]}, {fl[1]})", f"F.group_norm(x, {fl[1]})", "per-channel",
                          (fl[1],), True, fl[1]))
    return out


def _transposed(m: _Match, a: int, b: int) -> _Match:
    """The match fed x.transpose(a, b) (its own inverse)."""
    t = f".transpose({a}, {b})"
    return _Match(m.variant, f"{m.layer} on x{t}", m.call.replace("(x,", f"(x{t},", 1).replace("(x)", f"(x{t})", 1) + t,
                  m.affine, m.affine_letters, m.channel_type, m.num_groups)


def _layer(m: _Match, note: str = "") -> Layer:
    return Layer(m.layer, m.call, _tuple(m.affine_letters), note)


def _pattern(letters: tuple[str, ...], reduced: set[int], group_dim: int | None = None) -> str:
    """einops reduction: "n c h w -> 1 c 1 1"; with GroupNorm's blocks "n (g c) h w -> n g 1 1 1"."""
    low = [s.lower() for s in letters]
    left = [f"(g {s})" if i == group_dim else s for i, s in enumerate(low)]
    right: list[str] = []
    for i, s in enumerate(low):
        if i == group_dim:
            right += ["g", "1"]
        else:
            right.append("1" if i in reduced else s)
    return " ".join(left) + " -> " + " ".join(right)


def _stat_shape(pattern: str, sizes: dict[str, int]) -> tuple[str, tuple[int, ...]]:
    right = pattern.split("->")[1].split()
    letters = [t.upper() if t != "1" else "1" for t in right]
    return _tuple(letters), tuple(1 if t == "1" else sizes[t] for t in letters)


def _direct_groups(shape: tuple[int, ...], reduced: set[int]) -> torch.Tensor:
    """Group ids numbering the kept dims row-major: every set of reduced dims is a valid group map."""
    kept = [d for d in range(len(shape)) if d not in reduced]
    view = [shape[d] if d in kept else 1 for d in range(len(shape))]
    ids = torch.arange(math.prod(view), dtype=torch.long).reshape(view)
    return ids.expand(shape).contiguous()


def _registry_groups(variant: str, shape: tuple[int, ...], perm: tuple[int, ...] | None, **params: Any) -> torch.Tensor:
    """``stat_groups`` of the variant, on x as its torch layer sees it (transposed for tokens), mapped back."""
    frame = tuple(shape[p] for p in perm) if perm else shape
    groups = stat_groups(variant, frame, **params)
    return groups.permute(perm).contiguous() if perm else groups  # the permutations used are their own inverse


def _generic_recipe(reduced: set[int], letters: tuple[str, ...]) -> Layer:
    """An exact recipe for any set of axes: kept dims first, reduced dims last, then F.layer_norm over them."""
    r = len(letters)
    red = sorted(reduced)
    if len(red) == r:
        return Layer("no standard layer", "F.layer_norm(x, x.shape)", "none",
                     "exact: one mean and variance for the whole tensor, batch included")
    if red == [0]:
        flat = "*".join(letters[1:])
        return Layer(f"nn.BatchNorm1d({flat}) on x.flatten(1)",
                     "F.batch_norm(x.flatten(1), None, None, training=True).view_as(x)", f"({flat},)",
                     "exact: every element is its own channel, averaged over the batch only")
    if len(red) == 1:
        j = red[0]
        return Layer(f"nn.LayerNorm({letters[j]}) on x.movedim({j}, -1)",
                     f"F.layer_norm(x.movedim({j}, -1), ({letters[j]},)).movedim(-1, {j})", f"({letters[j]},)",
                     f"exact: {letters[j]} moved last so LayerNorm sees it as the trailing dim")
    kept = [d for d in range(r) if d not in reduced]
    perm = kept + red
    inv = [perm.index(d) for d in range(r)]
    return Layer("no standard layer",
                 f"F.layer_norm(x.permute{_tuple(perm)}, {_tuple(letters[d] for d in red)}).permute{_tuple(inv)}",
                 "none", f"exact: kept dims moved first, reduced ({letters_text(letters[d] for d in red)}) last")


def _standard_sets(letters: tuple[str, ...]) -> list[tuple[str, set[int], Layer]]:
    """The standard layers of a layout, with the dims each reduces (for "closest")."""
    out = []
    for name in ("batch_norm", "layer_norm", "instance_norm"):
        try:
            p = axis_plan(" ".join(letters), None, name)
        except InputError:
            continue
        out.append((name, set(p.dims), p.layers[0]))
    r = len(letters)
    if r >= 3:  # LayerNorm over the last dim
        last = letters[-1]
        out.append(("layer_norm", {r - 1}, Layer(f"nn.LayerNorm({last})", "F.layer_norm(x, x.shape[-1:])", f"({last},)")))
    return out


def _closest(reduced: set[int], letters: tuple[str, ...]) -> Layer:
    """The standard layer whose axes differ least from ``reduced`` (treating the batch the same way first)."""
    def cost(item):
        _, dims, _ = item
        return ((0 in dims) != (0 in reduced), len(dims ^ reduced))

    _, dims, layer = min(_standard_sets(letters), key=cost)
    extra = sorted(dims - reduced)
    missing = sorted(reduced - dims)
    diff = []
    if extra:
        diff.append(f"adds {letters_text(letters[d] for d in extra)}")
    if missing:
        diff.append(f"leaves out {letters_text(letters[d] for d in missing)}")
    return Layer(layer.layer, layer.call, layer.affine,
                 f"closest standard layer, not the same: it reduces over ({letters_text(letters[d] for d in sorted(dims))}), "
                 f"which {' and '.join(diff)}")


# -- the plan ---------------------------------------------------------------------------------


def _variant_dims(variant: str, letters: tuple[str, ...]) -> set[int]:
    r, c = len(letters), _channel(letters)
    if variant == "batch_norm":
        return set(range(r)) - {c}
    if variant in ("layer_norm", "rms_norm"):
        return {r - 1} if letters == ("N", "L", "D") else set(range(1, r))
    if variant == "instance_norm":
        if r < 3:
            raise InputError(f"axis_plan: InstanceNorm needs a spatial axis to average over; layout {' '.join(letters)} "
                             "has none (choose N C L, N C H W or N C D H W).")
        return set(range(1, r)) - {c}
    return set(range(1, r))  # group_norm: the channel blocks and every other non-batch dim


def _notes(letters: tuple[str, ...], reduced: set[int], primary: _Match | None, rms: bool) -> list[str]:
    r = len(letters)
    tokens = letters == ("N", "L", "D")
    notes = []
    if primary is not None and tokens and primary.channel_type and "transpose" not in primary.layer:
        notes.append(f"{primary.layer} fed (N, L, D) tokens as they are takes dim 1, the L positions, for channels: "
                     "one mean per position over the batch and the features. Usually one per feature is wanted: "
                     "transpose to (N, D, L) (reduce over N, L) or use LayerNorm(D).")
    if primary is not None and tokens and "transpose" in primary.layer:
        notes.append(f"torch's {TITLES[primary.variant]} wants the features in dim 1: feed it x.transpose(1, 2), "
                     "not the (N, L, D) tokens as they are.")
    if 0 in reduced and len(reduced) < r:
        notes.append("The statistics mix the samples of the batch: one sample's output depends on the others, and "
                     "in eval mode a layer switches to running statistics.")
    if primary is not None and primary.variant == "instance_norm":
        notes.append("nn.InstanceNorm has no affine and no running statistics by default "
                     "(affine=False, track_running_stats=False).")
    if primary is not None and primary.variant == "layer_norm" and min(reduced) > 1 and not tokens:
        ns = _list(letters[min(reduced):])
        notes.append(f"LayerNorm's normalized_shape is the trailing dims: nn.LayerNorm({ns}) averages over "
                     f"{letters_text(letters[min(reduced):])} only, separately for every "
                     f"{letters_text(letters[:min(reduced)])}.")
    if primary is not None and primary.variant == "layer_norm" and not rms:
        notes.append(f"nn.RMSNorm({_list(primary.affine_letters)}) reduces over the same axes with the mean square "
                     "instead: it does not remove the mean.")
    if rms:
        notes.append("RMSNorm divides by the root mean square: the mean is not removed and there is no bias.")
    if len(reduced) == r:
        notes.append("One mean and variance for the whole tensor: the batch and every channel share them.")
    return notes


def axis_plan(
    layout: str,
    reduce: tuple[str, ...] | None = None,
    variant: str | None = None,
    num_groups: int | None = None,
    shape: tuple[int, ...] | None = None,
) -> AxisPlan:
    """The axes a normalization reduces over, the torch layers that do it, and its statistic groups.

    Give EITHER ``reduce`` (the letters of the axes to reduce over, any non-empty
    subset of the layout's) OR ``variant`` (``batch_norm``, ``layer_norm``,
    ``instance_norm``, ``group_norm`` with ``num_groups``, ``rms_norm``). For the
    token layout ``N L D`` the features are D: BatchNorm, InstanceNorm and
    GroupNorm are then fed ``x.transpose(1, 2)``, as torch wants channels in dim 1.

    Args:
        layout: one of :data:`LAYOUTS`, e.g. ``"N C H W"``.
        reduce: letters to reduce over, e.g. ``("N", "H", "W")``. Default: None.
        variant: a name of :data:`PLAN_VARIANTS`. Default: None.
        num_groups: GroupNorm's G; must divide the channels. Default: the smallest divisor above 1.
        shape: the small tensor whose group map is drawn. Default: ``DEFAULT_SHAPES[layout]``.

    Returns:
        An :class:`AxisPlan`. Reduction example: BatchNorm on ``N C H W`` is ``n c h w -> 1 c 1 1``.

    Raises InputError (one sentence) for an unknown layout, letter or variant, both or neither of
    ``reduce`` and ``variant``, or a ``num_groups`` that does not divide the channels.
    """
    letters = _check_layout(layout)
    shape = _check_shape(shape, layout, letters)
    r, c = len(letters), _channel(letters)
    sizes = dict(zip(letters, shape))
    if (reduce is None) == (variant is None):
        raise InputError("axis_plan: give either the axes to reduce over or a variant, not both or neither.")
    tokens = c != 1
    perm = (0, 2, 1) if tokens else None
    fl = tuple(letters[p] for p in perm) if perm else letters
    group_dim = None
    g = None
    rms = variant == "rms_norm"
    if variant is not None:
        if variant not in PLAN_VARIANTS:
            raise InputError(f"axis_plan: variant must be one of {', '.join(PLAN_VARIANTS)}; got {quote(variant)}.")
        reduced = _variant_dims(variant, letters)
    else:
        if isinstance(reduce, str):
            reduce = tuple(t for t in reduce.replace(",", " ").split())
        reduce = tuple(reduce)
        bad = [t for t in reduce if t not in letters]
        if bad:
            raise InputError(f"axis_plan: the axes to reduce must be letters of {layout}; got {quote(bad[0])}.")
        if not reduce:
            raise InputError(f"axis_plan: tick at least one axis of {layout} to reduce over.")
        reduced = {letters.index(t) for t in reduce}

    if variant == "group_norm":
        channels = shape[c]
        g = resolve_num_groups(num_groups, channels)
        per_group = channels // g * math.prod(shape[d] for d in range(1, r) if d != c)
        if per_group < 2:
            raise InputError(f"axis_plan: GroupNorm({g}) on shape {shape} puts one value in each group, so its "
                             f"variance is 0; choose fewer groups.")
        group_dim = c
        ch = letters[c]
        m = _Match("group_norm", f"nn.GroupNorm(G, {ch})", "F.group_norm(x, G)", "per-channel", (ch,), True, "G")
        if tokens:
            m = _transposed(m, 1, 2)
        layers = [_layer(m)]
        notes = []
        if g == 1:
            ln = _torch_matches(frozenset(range(1, r)), letters, False)[0]
            layers.append(_layer(ln, f"same statistics; its affine is per element {_tuple(ln.affine_letters)}, "
                                     f"not per channel ({ch},)"))
            notes.append(f"GroupNorm(1, {ch}) normalizes like LayerNorm over ({letters_text(letters[1:])}), but its "
                         f"affine is per channel ({ch},), not per element.")
        if g == channels and r >= 3:
            inst = next(x for x in _torch_matches(frozenset(range(2, r)), fl, False) if x.variant == "instance_norm")
            layers.append(_layer(_transposed(inst, 1, 2) if tokens else inst, "same statistics and affine shape"))
            notes.append(f"GroupNorm({ch}, {ch}) is InstanceNorm with a per-channel affine.")
        if tokens:
            notes.append("torch's GroupNorm wants the features in dim 1: feed it x.transpose(1, 2), "
                         "not the (N, L, D) tokens as they are.")
        primary = m
        groups = _registry_groups("group_norm", shape, perm, num_groups=g)
        standard, name = True, "group_norm"
        reduced_letters = tuple(letters[d] for d in sorted(reduced))
    else:
        direct = _torch_matches(frozenset(reduced), letters, rms)
        if tokens:
            framed = frozenset(perm.index(d) for d in reduced)
            moved = [_transposed(m, 1, 2) for m in _torch_matches(framed, fl, rms) if m.channel_type]
            matches = [m for m in direct if not m.channel_type] + moved + [m for m in direct if m.channel_type]
        else:
            matches = direct
        if variant is not None:
            matches = sorted(matches, key=lambda m: m.variant != variant)
        primary = matches[0] if matches else None
        if primary is not None:
            name = primary.variant
            layers = [_layer(primary)]
            for m in matches[1:]:
                same = "same statistics and affine shape" if m.affine_letters == primary.affine_letters else \
                    f"same statistics; its affine is {m.affine} {_tuple(m.affine_letters)}"
                if tokens and m.channel_type and "transpose" not in m.layer:
                    same += ", with the L positions as channels"
                layers.append(_layer(m, same))
            standard = True
            if primary.num_groups is not None and primary.variant == "group_norm":
                g = 1 if primary.num_groups == "1" else sizes.get(primary.num_groups)
            params: dict[str, Any] = {}
            frame_perm = perm if "transpose" in primary.layer else None
            if name in ("layer_norm", "rms_norm"):
                params["normalized_shape"] = tuple(sizes[t] for t in primary.affine_letters)
            if name == "group_norm":
                params["num_groups"] = g
            groups = _registry_groups(name, shape, frame_perm, **params)
        else:
            name, standard = None, False
            layers = [_generic_recipe(reduced, letters), _closest(reduced, letters)]
            groups = _direct_groups(shape, reduced)
        notes = _notes(letters, reduced, primary, rms)
        reduced_letters = tuple(letters[d] for d in sorted(reduced))

    pattern = _pattern(letters, reduced if group_dim is None else reduced - {group_dim}, group_dim)
    if group_dim is not None:
        sizes_g = {**sizes, "G": g}
        stat_text, stat_size = _stat_shape(pattern, sizes_g)
    else:
        stat_text, stat_size = _stat_shape(pattern, sizes)
    count = int(groups.max()) + 1
    per = math.prod(shape) // count
    kind = "none" if primary is None else primary.affine
    aff_shape = "none" if primary is None else _tuple(primary.affine_letters)
    stat = "mean square" if rms else "mean and variance"
    plural = "s" if count != 1 else ""
    if group_dim is not None:
        what = "features" if tokens else "channels"
        rest = [letters[d] for d in range(1, r) if d != c]
        summary = (f"{count} statistic group{plural} of {per} values: one {stat} for each sample's block of "
                   f"{shape[c] // g} consecutive {what} ({letters[c]}), taken over the block"
                   + (f" and {letters_text(rest)}." if rest else "."))
    else:
        kept = [letters[d] for d in range(r) if d not in reduced]
        if not kept:
            whom = "the whole tensor"
        elif len(kept) == 1:
            whom = f"each {_word(kept[0], letters)} ({kept[0]})"
        else:
            whom = f"each ({', '.join(kept)}) combination"
        summary = (f"{count} statistic group{plural} of {per} values: one {stat} for {whom}, "
                   f"taken over {letters_text(reduced_letters)}.")
    return AxisPlan(
        layout=layout, letters=letters, shape=shape, reduce=reduced_letters, dims=tuple(sorted(reduced)),
        variant=name, num_groups=g if name == "group_norm" else None, standard=standard, layers=tuple(layers),
        pattern=pattern, stat_shape=stat_text, stat_size=stat_size, affine=kind, affine_shape=aff_shape,
        centered=not rms, groups=groups, num_stat_groups=count, group_size=per, summary=summary, notes=tuple(notes),
    )


def group_choices(layout: str, shape: tuple[int, ...] | None = None) -> list[int]:
    """The num_groups a GroupNorm plan accepts: divisors of the channels leaving 2+ values per group."""
    letters = _check_layout(layout)
    shape = _check_shape(shape, layout, letters)
    c = _channel(letters)
    rest = math.prod(shape[d] for d in range(1, len(shape)) if d != c)
    return [g for g in range(1, shape[c] + 1) if shape[c] % g == 0 and shape[c] // g * rest >= 2]


# -- reports in words -------------------------------------------------------------------------


def axes_text(axes: tuple[int, ...], letters: tuple[str, ...] | None) -> str:
    """Reduced dims as "N, H, W (dims 0, 2, 3)", or "dims (0, 2, 3)" without letters."""
    if not axes:
        return "none"
    nums = ", ".join(map(str, axes))
    if letters and len(letters) > max(axes):
        return f"{letters_text(letters[d] for d in axes)} (dim{'s' if len(axes) > 1 else ''} {nums})"
    return f"dim{'s' if len(axes) > 1 else ''} {nums}"


def candidate_label(c: Candidate, letters: tuple[str, ...] | None = None) -> str:
    """One hypothesis of ``infer_axes`` in a few words, e.g. "GroupNorm(2) over C, H, W · per-channel affine"."""
    if not c.axes:
        return f"no normalization: y = a·x + b ({c.affine})"
    if letters and len(letters) > max(c.axes):
        over = letters_text(letters[d] for d in c.axes)
    else:
        over = "dims " + ", ".join(map(str, c.axes))
    if c.num_groups:
        head = f"GroupNorm({c.num_groups})" if c.centered else f"RMS in {c.num_groups} channel groups"
    elif c.name:
        head = TITLES.get(c.name, c.name)
    else:
        head = "normalize" if c.centered else "RMS"
    var = " · unbiased var" if c.variance == "unbiased" else ""
    return f"{head} over {over}{var} · {c.affine} affine"


def report_rows(r: AxisReport, letters: tuple[str, ...] | None = None,
                shape: tuple[int, ...] | None = None) -> tuple[tuple[str, str], ...]:
    """``infer_axes``'s report as (field, value) rows a table shows (``shape``: x's, for the statistics' shape)."""
    found = bool(r.axes)
    if not found or shape is None:
        stat_shape = "—"
    elif r.variant == "group_norm" and r.num_groups:
        stat_shape = f"({shape[0]}, {r.num_groups}): one per (sample, group)"
    else:
        stat_shape = _tuple(1 if d in r.axes else s for d, s in enumerate(shape)) + " with keepdim"
    if r.variant == "group_norm":
        layer = f"GroupNorm (num_groups = {r.num_groups})"
    elif r.variant:
        layer = TITLES[r.variant] + (f" over {tuple(r.normalized_shape)}" if r.normalized_shape else "")
    else:
        layer = "no standard layer" if found else "none: nothing normalizes like this"
    if not found:
        stat = "—"
    elif not r.centered:
        stat = "mean square (RMS), mean not removed"
    else:
        stat = "mean and biased variance (as torch)" if r.variance == "biased" else \
            "mean and UNBIASED variance (torch uses the biased one)"
    if r.affine == "none":
        affine = "none"
    else:
        affine = f"{r.affine}, shape {tuple(r.affine_shape) if r.affine_shape is not None else '?'}" + \
            ("" if r.bias is not None else ", no bias")
    if not found:
        eps = "—"
    elif r.eps is None:
        eps = "cannot be identified from this pair"
    elif r.eps == 0:
        eps = "0: eps is MISSING (torch adds 1e-05)"
    else:
        eps = f"≈ {r.eps:.2g}"
    also = ", ".join(TITLES.get(a, a) for a in r.also) or "—"
    # the other hypotheses that explain y too (light blue in the chart): a larger affine can undo a normalization
    others = sum(1 for c in r.candidates if c.residual <= r.tolerance) - (1 if found else 0)
    if found:
        residual = f"{r.residual:.1e}: explains y (a fit explains y when below {r.tolerance:.0e})"
    else:
        residual = f"{r.residual:.1e}: does NOT explain y (a fit explains y only below {r.tolerance:.0e})"
    rows = [
        ("reduced axes", axes_text(r.axes, letters)),
        ("matching layer", layer),
        ("statistics", stat),
        ("mean / variance shape", stat_shape),
        ("affine", affine),
        ("eps", eps),
        ("relative residual", residual),
    ]
    if found:
        rows.append(("same output as", also))
        rows.append(("other fits that explain y", f"{others} more, with at least as many affine parameters (light blue in the chart)"
                     if others > 0 else "none"))
    return tuple(rows)


def report_verdict(r: AxisReport, letters: tuple[str, ...] | None = None) -> tuple[str, str]:
    """("ok" | "mistake" | "unusual" | "none", one sentence): the headline of a check."""
    if not r.axes:
        return "none", "No normalization explains this output."
    over = axes_text(r.axes, letters)
    name = (f"GroupNorm({r.num_groups})" if r.variant == "group_norm" else TITLES.get(r.variant, "")) if r.variant else ""
    problems = []
    if r.variant == "batch_norm" and letters == ("N", "L", "D") and r.axes == (0, 2):
        problems.append("it is BatchNorm1d fed (N, L, D) tokens, so it keeps one statistic per position instead of "
                        "one per feature")
    if r.variance == "unbiased":
        problems.append("it divides by the unbiased variance, where torch uses the biased one")
    if r.eps == 0:
        problems.append("eps is missing")
    if problems:
        return "mistake", f"{name or 'A normalization'} over {over}, but {' and '.join(problems)}."
    if not r.variant:
        return "unusual", f"A normalization over {over}, which no standard layer reduces over."
    return "ok", f"{name} over {over}."


# -- uploads ----------------------------------------------------------------------------------


def pair_from_arrays(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor] | None,
                     names: tuple[str, str] = ("input", "output")) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The (x, y) pair from one file holding arrays ``x`` and ``y``, or from two files.

    Returns None when the first file holds a single array and the second is still awaited.
    Raises InputError (one sentence) when a file holds several arrays but no ``x``/``y``, or the shapes differ.
    """
    def pick(arrays: dict[str, torch.Tensor], want: str, label: str) -> torch.Tensor:
        if want in arrays:
            return arrays[want]
        if len(arrays) == 1:
            return next(iter(arrays.values()))
        raise InputError(f"{label} holds the arrays {', '.join(list(arrays)[:6])}; name them x and y, or upload "
                         "the input and the output as two files.")

    if second is None:
        if "x" in first and "y" in first:
            x, y = first["x"], first["y"]
        elif len(first) == 1:
            return None
        else:
            raise InputError(f"The {names[0]} file holds the arrays {', '.join(list(first)[:6])} but not both x and y; "
                             "name them x and y, or upload the output as a second file.")
    else:
        x, y = pick(first, "x", f"The {names[0]} file"), pick(second, "y", f"The {names[1]} file")
    if tuple(x.shape) != tuple(y.shape):
        raise InputError(f"The input has shape {tuple(x.shape)} but the output {tuple(y.shape)}; a normalization "
                         "keeps the shape, so give a layer's input and its own output.")
    return x, y


# -- built-in examples ------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """A built-in (input, output) pair for the "check my layer" part."""

    title: str  # a few words
    description: str  # one sentence: what made y
    layout: str  # what x's dims mean
    build: Callable[[int], tuple[torch.Tensor, torch.Tensor]]  # seed -> (x, y), float32 on the CPU


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _data(shape: tuple[int, ...], seed: int, spread: bool = False) -> torch.Tensor:
    """Seeded data whose channels (dim 1) have their own offsets and scales (from 1e-3 to 1 with ``spread``)."""
    g = _gen(seed)
    x = torch.randn(shape, generator=g)
    view = (1, shape[1]) + (1,) * (len(shape) - 2)
    scale = torch.logspace(-3, 0, shape[1]) if spread else 0.5 + torch.rand(shape[1], generator=g) * 2
    return x * scale.reshape(view) + torch.randn(shape[1], generator=g).reshape(view)


def _randomize(m: nn.Module, seed: int) -> nn.Module:
    """Give a module's affine seeded values away from (1, 0), as a trained layer's."""
    g = _gen(seed + 1)
    with torch.no_grad():
        if getattr(m, "weight", None) is not None:
            m.weight.copy_(1 + 0.5 * torch.randn(m.weight.shape, generator=g))
        if getattr(m, "bias", None) is not None:
            m.bias.copy_(0.5 * torch.randn(m.bias.shape, generator=g))
    return m


def _run(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return m(x)


def _bn1d_tokens(seed: int):
    x = _data((8, 10, 16), seed)  # (N, L, D)
    return x, _run(nn.BatchNorm1d(10), x)


def _instance_over_batch(seed: int):
    x = _data((6, 4, 5, 5), seed)
    mean = x.mean((0, 2, 3), keepdim=True)  # the bug: dim 0 should not be here
    var = x.var((0, 2, 3), keepdim=True, unbiased=False)
    return x, (x - mean) / torch.sqrt(var + 1e-5)


def _unbiased_var(seed: int):
    x = _data((6, 4, 5, 5), seed)
    mean = x.mean((2, 3), keepdim=True)
    return x, (x - mean) / torch.sqrt(x.var((2, 3), keepdim=True) + 1e-5)  # x.var is unbiased by default


def _missing_eps(seed: int):
    x = _data((6, 4, 5, 5), seed, spread=True)  # channel scales down to 1e-3: eps would matter
    mean = x.mean((2, 3), keepdim=True)
    return x, (x - mean) / torch.sqrt(x.var((2, 3), keepdim=True, unbiased=False))


def _layer_norm_tokens(seed: int):
    x = _data((4, 7, 16), seed)
    return x, _run(_randomize(nn.LayerNorm(16), seed), x)


def _group_norm(seed: int):
    x = _data((4, 6, 5, 5), seed)
    return x, _run(_randomize(nn.GroupNorm(2, 6), seed), x)


def _batch_norm2d_affine(seed: int):
    x = _data((6, 4, 5, 5), seed)
    return x, _run(_randomize(nn.BatchNorm2d(4), seed), x)


def _rms_norm(seed: int):
    x = _data((4, 7, 16), seed)
    return x, _run(_randomize(nn.RMSNorm(16), seed), x)


def _softmax(seed: int):
    x = _data((6, 4, 5, 4), seed)
    return x, x.softmax(-1)


def _scale_shift(seed: int):
    x = _data((6, 4, 5, 5), seed)
    return x, 2 * x + 1


EXAMPLES: dict[str, Example] = {
    "bn1d_tokens": Example(
        "Mistake: BatchNorm1d fed tokens",
        "nn.BatchNorm1d(10) applied to (N, L, D) = (8, 10, 16) tokens as they are, so the 10 positions act as channels.",
        "N L D", _bn1d_tokens),
    "instance_over_batch": Example(
        "Mistake: InstanceNorm that averages over the batch",
        "A hand-written InstanceNorm whose mean and variance are taken over (N, H, W) instead of (H, W).",
        "N C H W", _instance_over_batch),
    "unbiased_var": Example(
        "Mistake: unbiased variance",
        "A hand-written InstanceNorm that divides by sqrt(x.var(...) + eps), and x.var is unbiased by default.",
        "N C H W", _unbiased_var),
    "missing_eps": Example(
        "Mistake: eps missing",
        "A hand-written InstanceNorm with no eps, on channels whose scales run from 1e-3 to 1.",
        "N C H W", _missing_eps),
    "layer_norm_tokens": Example(
        "LayerNorm on tokens",
        "nn.LayerNorm(16) with a trained-looking affine on (N, L, D) = (4, 7, 16) tokens.",
        "N L D", _layer_norm_tokens),
    "group_norm": Example(
        "GroupNorm(2, 6)",
        "nn.GroupNorm(2, 6) with a trained-looking per-channel affine on (4, 6, 5, 5) images.",
        "N C H W", _group_norm),
    "batch_norm2d_affine": Example(
        "BatchNorm2d with affine",
        "nn.BatchNorm2d(4) in training mode with a random per-channel affine on (6, 4, 5, 5) images.",
        "N C H W", _batch_norm2d_affine),
    "rms_norm": Example(
        "RMSNorm on tokens",
        "nn.RMSNorm(16) with a random weight on (N, L, D) = (4, 7, 16) tokens.",
        "N L D", _rms_norm),
    "softmax": Example(
        "Not a normalization: softmax",
        "x.softmax(-1): it sums to 1 along the last dim, but no mean and variance are taken.",
        "N C H W", _softmax),
    "scale_shift": Example(
        "Not a normalization: y = 2x + 1",
        "A fixed affine map of x that needs no statistics at all.",
        "N C H W", _scale_shift),
}


def example_pair(name: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The (x, y) pair of a built-in example (InputError for an unknown name)."""
    if name not in EXAMPLES:
        raise InputError(f"There is no example called {quote(name)}; choose one of {', '.join(EXAMPLES)}.")
    return EXAMPLES[name].build(seed)


KNOWN_TRAPS: tuple[str, ...] = (
    ("LayerNorm's normalized_shape means the trailing dims: nn.LayerNorm(C) on (N, C, H, W) fails (or, when W happens "
     "to equal C, silently normalizes each row over W); for channels-first images use nn.LayerNorm([C, H, W]) or move "
     "C last."),
    ("GroupNorm(1, C) normalizes exactly like LayerNorm([C, H, W]), but its affine is per channel, shape (C,), while "
     "LayerNorm's is per element, shape (C, H, W)."),
    ("GroupNorm(C, C) is InstanceNorm with a per-channel affine; nn.InstanceNorm2d itself has no affine unless you pass "
     "affine=True."),
    ("InstanceNorm with track_running_stats=True uses its running statistics in eval mode, the same for every sample, "
     "so it behaves like BatchNorm there."),
    ("nn.BatchNorm1d on (N, L, D) tokens takes the L positions for channels and averages over the batch and the "
     "features; transpose to (N, D, L) first, or use nn.LayerNorm(D)."),
    ("torch normalizes with the biased variance (divide by n), but x.var() and x.std() default to the unbiased one "
     "(n - 1), so a hand-written norm built on them is off by sqrt(n / (n - 1)); only BatchNorm's running_var uses the "
     "unbiased one."),
    ("eps goes inside the square root: (x - mean) / sqrt(var + eps), not / (std + eps); without it a constant group "
     "divides by zero."),
    ("BatchNorm in eval mode uses its running statistics: a freshly built model in eval mode returns about x, and in "
     "training it needs more than one value per channel."),
    ("BatchNorm's statistics come from the whole batch, so a sample's output changes with its batch mates; LayerNorm, "
     "InstanceNorm, GroupNorm and RMSNorm look at one sample only."),
    "RMSNorm does not remove the mean and has no bias; nn.RMSNorm's eps=None means the dtype's machine epsilon, not 1e-5.",
)
