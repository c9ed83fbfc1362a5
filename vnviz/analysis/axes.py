"""Which axes does a normalization reduce over? The axis plan, read from the variants' declarations.

``axis_plan`` answers the question both ways round: from a variant (BatchNorm,
LayerNorm, ...) to the axes it reduces, or from a set of ticked axes to the
torch layers that reduce exactly those (or the closest one, and an exact
recipe, when none does). Which layer reduces what, and how torch writes it,
comes from each variant's declaration (``Variant.reduction``,
``Variant.torch_code``); every set of axes is a valid "which elements share a
statistic" map, so every plan carries its group map for a small tensor a
person can read. The report of ``infer_axes`` in words is ``axis_report``; the
built-in (input, output) pairs are ``pairs``; the known traps ``traps``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from vnviz.analysis.infer_words import affine_kind
from vnviz.errors import InputError
from vnviz.i18n import N_, Msg, plural_msg
from vnviz.variants.registry import VARIANTS, Reduction, Variant, get_variant, norm_variants, quote

LAYOUTS = ("N C H W", "N C L", "N L D", "N C", "N C D H W")  # the layouts a plan is drawn for
DEFAULT_SHAPES = {  # small shapes a person can read, per layout
    "N C H W": (2, 4, 3, 3),
    "N C L": (2, 4, 5),
    "N L D": (2, 6, 4),
    "N C": (4, 6),
    "N C D H W": (2, 4, 2, 2, 2),
}
PLAN_VARIANTS = tuple(v.name for v in norm_variants(named=True))  # the layers a plan can be asked for
MAX_PLAN_ELEMENTS = 4096  # largest tensor a plan draws the group map of
TITLES = {n: VARIANTS[n].title for n in PLAN_VARIANTS}
NO_LAYER = N_("no standard layer")  # Layer.layer when torch has no layer for the axes
NONE = N_("none")  # Layer.affine and AxisPlan.affine_shape without an affine




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
        return N_("feature") if letters == ("N", "L", "D") else N_("depth slice")
    return {"N": N_("sample"), "C": N_("channel"), "L": N_("position"), "H": N_("row"), "W": N_("column")}[letter]


def _check_layout(layout: Any) -> tuple[str, ...]:
    if layout not in LAYOUTS:
        raise InputError("axis_plan: layout must be one of {choices}; got {got}.", choices=", ".join(LAYOUTS),
                         got=quote(layout))
    return tuple(layout.split())


def _check_shape(shape: Any, layout: str, letters: tuple[str, ...]) -> tuple[int, ...]:
    if shape is None:
        return DEFAULT_SHAPES[layout]
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise InputError("axis_plan: shape must be a tuple of sizes; got {got}.", got=quote(shape)) from None
    if len(shape) != len(letters) or any(s < 1 for s in shape):
        raise InputError("axis_plan: shape must give {n} positive sizes for {layout}; got {got}.",
                         n=len(letters), layout=layout, got=quote(shape))
    if math.prod(shape) > MAX_PLAN_ELEMENTS:
        raise InputError("axis_plan draws tensors of at most {max:,} elements; got shape {shape}.",
                         max=MAX_PLAN_ELEMENTS, shape=shape)
    return shape


def _channel(letters: tuple[str, ...]) -> int:
    """The dim holding the features: dim 1, or the last dim for tokens (N L D)."""
    return len(letters) - 1 if letters == ("N", "L", "D") else 1


@dataclass(frozen=True)
class _Match:
    """A declared variant that computes a reduction, and how torch writes it for this layout."""

    variant: Variant
    red: Reduction
    layer: str  # the module, e.g. "nn.BatchNorm1d(D) on x.transpose(1, 2)"
    call: str  # the functional call
    affine_letters: tuple[str, ...]  # letters its weight and bias are indexed by

    @property
    def affine(self) -> str:
        return "per-element" if self.variant.affine == "trailing" else "per-channel"

    @property
    def channel_type(self) -> bool:  # indexed by torch's channel dim (dim 1 of what it is fed)
        return self.variant.affine == "channel"

    @property
    def fed(self) -> bool:  # fed with the layout's channels moved to dim 1
        return self.red.feed is not None


def _match(v: Variant, red: Reduction, letters: tuple[str, ...], **symbols: Any) -> _Match | None:
    layer, call = v.torch_code(red, letters, affine=True, **symbols)
    if layer is None:
        return None
    return _Match(v, red, layer, call, tuple(letters[d] for d in red.affine))


def _matches(key: tuple, centered: bool, shape: tuple[int, ...], letters: tuple[str, ...]) -> list[_Match]:
    """Every declared layer whose statistics are exactly ``key``'s, preferred first (and each layer text once).

    Channel-first layouts: by precedence. Tokens (N L D): the trailing layers as they are, then the per-channel
    ones fed the features at dim 1 (x.transpose(1, 2)), then those fed the tokens as they are.
    """
    c = _channel(letters)
    direct, moved = [], []
    for v in sorted(norm_variants(named=True), key=lambda v: v.precedence):
        for red in v.reductions(shape):
            if red.key == key and red.centered == centered:
                direct.append(_match(v, red, letters))
        if c != 1 and v.affine == "channel":
            moved += [_match(v, red, letters) for red in v.reductions(shape, c)
                      if red.key == key and red.centered == centered]
    if c != 1:
        direct = [m for m in direct if m and not m.channel_type] + moved + [m for m in direct if m and m.channel_type]
    return _once([m for m in direct if m is not None])


def _once(matches: list[_Match]) -> list[_Match]:
    seen: set[str] = set()
    out = []
    for m in matches:
        if m.layer not in seen:
            seen.add(m.layer)
            out.append(m)
    return out


def _layer(m: _Match, note: str = "") -> Layer:
    return Layer(m.layer, m.call, _tuple(m.affine_letters), note)


def _stat_shape(pattern: str, sizes: dict[str, int]) -> tuple[str, tuple[int, ...]]:
    right = pattern.split("->")[1].split()
    letters = [t.upper() if t != "1" else "1" for t in right]
    return _tuple(letters), tuple(1 if t == "1" else sizes[t] for t in letters)


def _generic_recipe(reduced: set[int], letters: tuple[str, ...]) -> Layer:
    """An exact recipe for any set of axes: kept dims first, reduced dims last, then F.layer_norm over them."""
    r = len(letters)
    red = sorted(reduced)
    if len(red) == r:
        return Layer(NO_LAYER, "F.layer_norm(x, x.shape)", NONE,
                     N_("exact: one mean and variance for the whole tensor, batch included"))
    if red == [0]:
        flat = "*".join(letters[1:])
        return Layer(f"nn.BatchNorm1d({flat}) on x.flatten(1)",
                     "F.batch_norm(x.flatten(1), None, None, training=True).view_as(x)", f"({flat},)",
                     N_("exact: every element is its own channel, averaged over the batch only"))
    if len(red) == 1:
        j = red[0]
        return Layer(f"nn.LayerNorm({letters[j]}) on x.movedim({j}, -1)",
                     f"F.layer_norm(x.movedim({j}, -1), ({letters[j]},)).movedim(-1, {j})", f"({letters[j]},)",
                     Msg("exact: {letter} moved last so LayerNorm sees it as the trailing dim", letter=letters[j]))
    kept = [d for d in range(r) if d not in reduced]
    perm = kept + red
    inv = [perm.index(d) for d in range(r)]
    return Layer(NO_LAYER,
                 f"F.layer_norm(x.permute{_tuple(perm)}, {_tuple(letters[d] for d in red)}).permute{_tuple(inv)}",
                 NONE, Msg("exact: kept dims moved first, reduced ({letters}) last",
                           letters=letters_text(letters[d] for d in red)))


def _standard_sets(letters: tuple[str, ...], shape: tuple[int, ...]) -> list[tuple[str, set[int], Layer]]:
    """The standard layers of a layout (every centered, unblocked layer at its defaults, and LayerNorm over the
    last dim), with the dims each reduces, for "closest"."""
    out = []
    c = _channel(letters)
    for v in sorted(norm_variants(named=True), key=lambda v: v.precedence):
        try:
            red = v.reduction(shape, c)
        except InputError:
            continue
        if red.centered and red.blocks is None:
            out.append((v.name, set(red.dims), _layer(_match(v, red, letters))))
    if len(letters) >= 3:
        for v in sorted(norm_variants(named=True), key=lambda v: v.precedence):
            if v.affine == "trailing":
                red = v.reduction(shape, normalized_shape=shape[-1:])
                if red.centered:
                    out.append((v.name, set(red.dims), _layer(_match(v, red, letters))))
    return out


def _closest(reduced: set[int], letters: tuple[str, ...], shape: tuple[int, ...]) -> Layer:
    """The standard layer whose axes differ least from ``reduced`` (treating the batch the same way first)."""
    def cost(item):
        _, dims, _ = item
        return ((0 in dims) != (0 in reduced), len(dims ^ reduced))

    _, dims, layer = min(_standard_sets(letters, shape), key=cost)
    extra = sorted(dims - reduced)
    missing = sorted(reduced - dims)
    diff = []
    if extra:
        diff.append(Msg("adds {letters}", letters=letters_text(letters[d] for d in extra)))
    if missing:
        diff.append(Msg("leaves out {letters}", letters=letters_text(letters[d] for d in missing)))
    return Layer(layer.layer, layer.call, layer.affine,
                 Msg("closest standard layer, not the same: it reduces over ({letters}), which {diff}",
                     letters=letters_text(letters[d] for d in sorted(dims)), diff=Msg.join(diff, " and ", clauses=True)))


# -- the plan ---------------------------------------------------------------------------------


def _notes(letters: tuple[str, ...], reduced: set[int], primary: _Match | None) -> list[str]:
    r = len(letters)
    tokens = letters == ("N", "L", "D")
    notes = []
    if primary is not None and tokens and primary.channel_type and not primary.fed:
        notes.append(Msg("{layer} fed (N, L, D) tokens as they are takes dim 1, the L positions, for channels: one mean "
                         "per position over the batch and the features. Usually one per feature is wanted: transpose "
                         "to (N, D, L) (reduce over N, L) or use LayerNorm(D).", layer=primary.layer))
    if primary is not None and tokens and "transpose" in primary.layer:
        notes.append(Msg("torch's {title} wants the features in dim 1: feed it x.transpose(1, 2), not the (N, L, D) "
                         "tokens as they are.", title=primary.variant.title))
    if 0 in reduced and len(reduced) < r:
        notes.append(N_("The statistics mix the samples of the batch: one sample's output depends on the others, and "
                        "in eval mode a layer switches to running statistics."))
    if primary is not None:
        notes += primary.variant.traps.plan_notes(letters, primary.red)
    if len(reduced) == r:
        notes.append(N_("One mean and variance for the whole tensor: the batch and every channel share them."))
    return notes


def _variant_reduction(v: Variant, letters: tuple[str, ...], shape: tuple[int, ...],
                       num_groups: int | None) -> Reduction:
    """The variant's reduction for this layout: fed its channels at dim 1 (tokens: the features)."""
    r, c = len(letters), _channel(letters)
    if r < v.min_ndim:
        fits = [lay for lay in LAYOUTS if len(lay.split()) >= v.min_ndim and _channel(tuple(lay.split())) == 1]
        raise InputError("axis_plan: {title} needs a spatial axis to average over; layout {layout} has none (choose "
                         "{fits} or {last}).",
                         title=v.title, layout=" ".join(letters), fits=", ".join(fits[:-1]), last=fits[-1])
    params = {"num_groups": num_groups} if "num_groups" in v.param_names else {}
    red = v.reduction(shape, c, **params)
    if red.group_size is not None and red.group_size < 2:
        raise InputError("axis_plan: {label} on shape {shape} puts one value in each group, so its variance is 0; "
                         "choose fewer groups.",
                         label=v.short(**red.params), shape=shape)
    return red


def axis_plan(
    layout: str,
    reduce: tuple[str, ...] | None = None,
    variant: str | None = None,
    num_groups: int | None = None,
    shape: tuple[int, ...] | None = None,
) -> AxisPlan:
    """The axes a normalization reduces over, the torch layers that do it, and its statistic groups.

    Give EITHER ``reduce`` (the letters of the axes to reduce over, any non-empty
    subset of the layout's) OR ``variant`` (one of :data:`PLAN_VARIANTS`, e.g.
    ``batch_norm``, or ``group_norm`` with ``num_groups``). For the token layout
    ``N L D`` the features are D: per-channel layers (BatchNorm, InstanceNorm,
    GroupNorm, ...) are then fed ``x.transpose(1, 2)``, as torch wants channels in dim 1.

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
    r = len(letters)
    tokens = _channel(letters) != 1
    if (reduce is None) == (variant is None):
        raise InputError("axis_plan: give either the axes to reduce over or a variant, not both or neither.")
    if variant is not None:
        if variant not in PLAN_VARIANTS:
            raise InputError("axis_plan: variant must be one of {choices}; got {got}.",
                             choices=", ".join(PLAN_VARIANTS), got=quote(variant))
        v = get_variant(variant)
        red = _variant_reduction(v, letters, shape, num_groups)
        symbols = {"num_groups": "G"} if red.blocks is not None else {}
        primary = _match(v, red, letters, **symbols)
        others = [m for m in _matches(red.key, red.centered, shape, letters) if m.variant is not v]
        matches = _once([primary] + others)
    else:
        if isinstance(reduce, str):
            reduce = tuple(t for t in reduce.replace(",", " ").split())
        reduce = tuple(reduce)
        bad = [t for t in reduce if t not in letters]
        if bad:
            raise InputError("axis_plan: the axes to reduce must be letters of {layout}; got {got}.",
                             layout=layout, got=quote(bad[0]))
        if not reduce:
            raise InputError("axis_plan: tick at least one axis of {layout} to reduce over.", layout=layout)
        red = Reduction(shape, tuple(sorted({letters.index(t) for t in reduce})))
        matches = _matches(red.key, True, shape, letters)
    reduced = set(red.dims)
    reduced_letters = tuple(letters[d] for d in sorted(reduced))
    primary = matches[0] if matches else None
    if primary is not None:
        red = primary.red
        layers = [_layer(primary)]
        for m in matches[1:]:
            same = N_("same statistics and affine shape") if m.affine_letters == primary.affine_letters else \
                Msg("same statistics; its affine is {affine} {shape}", affine=affine_kind(m.affine),
                    shape=_tuple(m.affine_letters))
            if tokens and m.channel_type and not m.fed:
                same = Msg("{same}, with the L positions as channels", same=same)
            layers.append(_layer(m, same))
    else:
        layers = [_generic_recipe(reduced, letters), _closest(reduced, letters, shape)]
    groups = red.group_map()
    notes = _notes(letters, reduced, primary)

    sizes = dict(zip(letters, shape))
    blocks = red.blocks if primary is not None else None
    pattern = red.pattern(letters)
    stat_text, stat_size = _stat_shape(pattern, {**sizes, "G": blocks} if blocks is not None else sizes)
    count = int(groups.max()) + 1
    per = math.prod(shape) // count
    centered = red.centered
    kind = "none" if primary is None else primary.affine
    aff_shape = NONE if primary is None else _tuple(primary.affine_letters)
    stat = N_("mean and variance") if centered else N_("mean square")
    if blocks is not None:
        c = red.channel
        what = N_("features") if tokens else N_("channels")
        rest = [letters[d] for d in range(1, r) if d != c]
        values = dict(count=count, per=per, stat=stat, size=shape[c] // blocks, what=what, letter=letters[c])
        if rest:
            summary = plural_msg(
                "{count} statistic group of {per} values: one {stat} for each sample's block of {size} consecutive "
                "{what} ({letter}), taken over the block and {rest}.",
                "{count} statistic groups of {per} values: one {stat} for each sample's block of {size} consecutive "
                "{what} ({letter}), taken over the block and {rest}.", count, rest=letters_text(rest), **values)
        else:
            summary = plural_msg(
                "{count} statistic group of {per} values: one {stat} for each sample's block of {size} consecutive "
                "{what} ({letter}), taken over the block.",
                "{count} statistic groups of {per} values: one {stat} for each sample's block of {size} consecutive "
                "{what} ({letter}), taken over the block.", count, **values)
    else:
        kept = [letters[d] for d in range(r) if d not in reduced]
        if not kept:
            whom = N_("the whole tensor")
        elif len(kept) == 1:
            whom = Msg("each {what} ({letter})", what=_word(kept[0], letters), letter=kept[0])
        else:
            whom = Msg("each ({letters}) combination", letters=", ".join(kept))
        summary = plural_msg("{count} statistic group of {per} values: one {stat} for {whom}, taken over {reduced}.",
                             "{count} statistic groups of {per} values: one {stat} for {whom}, taken over {reduced}.",
                             count, count=count, per=per, stat=stat, whom=whom,
                             reduced=letters_text(reduced_letters))
    return AxisPlan(
        layout=layout, letters=letters, shape=shape, reduce=reduced_letters, dims=tuple(sorted(reduced)),
        variant=primary.variant.name if primary else None, num_groups=blocks, standard=primary is not None,
        layers=tuple(layers), pattern=pattern, stat_shape=stat_text, stat_size=stat_size, affine=kind,
        affine_shape=aff_shape, centered=centered, groups=groups, num_stat_groups=count, group_size=per,
        summary=summary, notes=tuple(notes),
    )


def group_choices(layout: str, shape: tuple[int, ...] | None = None) -> list[int]:
    """The num_groups a GroupNorm plan accepts: divisors of the channels leaving 2+ values per group."""
    letters = _check_layout(layout)
    shape = _check_shape(shape, layout, letters)
    c = _channel(letters)
    rest = math.prod(shape[d] for d in range(1, len(shape)) if d != c)
    return [g for g in range(1, shape[c] + 1) if shape[c] % g == 0 and shape[c] // g * rest >= 2]
