"""The variant registry: each variant is declared once, and the rest of vnviz reads the declaration.

A ``Variant`` holds everything the code asks about a variant: its function and
parameters; the axes it reduces for a given input shape and layout (one rule,
``reduction``, read by ``stat_groups``, ``infer_axes``, ``axis_plan``, the traps
and the captions); the torch module that computes the same thing (``module``,
for verification and for training networks); its traps; its known
equivalences; and its text (``text``: title, summary, and the einops pattern
and torch code for the actual rank and layout). Every module of
``vnviz/variants/`` is imported by the package, so adding a variant touches
one module.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from vnviz.errors import InputError
from vnviz.i18n import N_
from vnviz.variants.params import PARAM_KINDS, Param, as_ints, as_shape, named, quote, scalar  # noqa: F401  (re-exported)

LETTERS = {2: "n c", 3: "n c l", 4: "n c h w", 5: "n c d h w"}  # layout letters used when the caller gives none


# -- the axes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reduction:
    """Which elements of one input share a statistic: the axes a variant reduces over.

    Two elements share their mean and variance exactly when they agree on every
    dim that is not reduced, and (GroupNorm) lie in the same block of channels,
    and (ClusterNorm) their samples lie in the same cluster. Dims are those of
    the input as the caller holds it, also when the variant is fed a permutation.
    """

    shape: tuple[int, ...]  # the input's shape, as the caller holds it
    dims: tuple[int, ...]  # dims reduced for each statistic, sorted (GroupNorm's channel dim among them)
    channel: int = 1  # the dim the variant takes for channels: its affine and its blocks index it
    blocks: int | None = None  # GroupNorm: the channel dim is cut into this many blocks of consecutive channels
    clusters: bool = False  # ClusterNorm: dim 0 is reduced within each cluster of samples only
    affine: tuple[int, ...] = ()  # dims the weight and bias are indexed by; () when the variant has none
    centered: bool = True  # the mean is removed (False: the mean square, as RMSNorm)
    params: dict[str, Any] = field(default_factory=dict)  # parameters that give these axes, e.g. {"num_groups": 2}
    feed: tuple[int, ...] | None = None  # the variant sees x.permute(feed) (channels moved to dim 1); None: x

    @property
    def split(self) -> int | None:
        """GroupNorm's blocks when they cut the channels into 2..C-1 blocks, else None (whole or single channels)."""
        b = self.blocks
        return b if b is not None and 1 < b < self.shape[self.channel] else None

    @property
    def reduced(self) -> frozenset[int]:
        """The dims along which one group spans every index (a split channel dim is not among them)."""
        out = set(self.dims)
        if self.blocks is not None and self.blocks > 1:
            out.discard(self.channel)
        return frozenset(out)

    @property
    def key(self) -> tuple[frozenset[int], int | None, bool]:
        """What decides the groups: two reductions with the same key have the same statistic groups."""
        return self.reduced, self.split, self.clusters

    @property
    def kept(self) -> tuple[int, ...]:
        """The dims whose index separates groups (a split channel dim included), in order."""
        return tuple(d for d in range(len(self.shape)) if d not in self.reduced)

    @property
    def num_groups(self) -> int | None:
        """How many statistic groups (None for clusters: it depends on the data)."""
        if self.clusters:
            return None
        split = self.split
        return math.prod(split if d == self.channel and split else self.shape[d] for d in self.kept)

    @property
    def group_size(self) -> int | None:
        """Values in each statistic group (None for clusters)."""
        g = self.num_groups
        return None if g is None else math.prod(self.shape) // g

    def group_map(self) -> torch.Tensor:
        """Group ids shaped like the input: row-major over the kept dims (a split channel by its block), 0..G-1."""
        if self.clusters:
            raise InputError("A map of clusters depends on the data; give the cluster labels (stat_groups labels=).")
        r = len(self.shape)
        ids = torch.zeros((1,) * r, dtype=torch.long)
        split = self.split
        for d in self.kept:
            n = self.shape[d]
            view = [n if i == d else 1 for i in range(r)]
            if d == self.channel and split:
                ids = ids * split + (torch.arange(n) // (n // split)).reshape(view)
            else:
                ids = ids * n + torch.arange(n).reshape(view)
        return ids.expand(self.shape).contiguous()

    def members(self, index: tuple[int, ...], labels: torch.Tensor | None = None) -> tuple[Any, ...]:
        """An index into x that selects the elements sharing ``index``'s statistics, every dim kept.

        ``x[r.members(index)]`` is that group (the kept dims have size 1). With
        clusters the cluster ``labels`` (N,) are needed: dim 0 is then a
        LongTensor of the samples in index's cluster (every sample for noise, -1,
        which is normalized with the statistics of the whole batch).
        """
        index = as_ints(index, "members: index")
        if len(index) != len(self.shape) or any(not 0 <= i < s for i, s in zip(index, self.shape)):
            raise InputError("members: index must give one position per dim of shape {shape}; got {index}.",
                             shape=self.shape, index=index)
        split = self.split
        out: list[Any] = []
        for d, i in enumerate(index):
            if d == 0 and self.clusters:
                if labels is None:
                    raise InputError("members: the groups depend on the data; give the cluster labels (N,).")
                lab = torch.as_tensor(labels).reshape(-1)
                out.append(slice(None) if int(lab[i]) < 0 else (lab == lab[i]).nonzero().flatten())
            elif d == self.channel and split:
                size = self.shape[d] // split
                out.append(slice(i // size * size, (i // size + 1) * size))
            elif d in self.reduced:
                out.append(slice(None))
            else:
                out.append(slice(i, i + 1))
        return tuple(out)

    def pattern(self, letters: Any = None) -> str:
        """The einops reduction, e.g. "n c h w -> 1 c 1 1"; GroupNorm "n (g c) h w -> n g 1 1 1"."""
        low = [t.lower() for t in layout_letters(letters, len(self.shape))]
        split = self.split
        left: list[str] = []
        right: list[str] = []
        for d, s in enumerate(low):
            if d == self.channel and split:
                left.append(f"(g {s})")
                right += ["g", "1"]
            elif d == 0 and self.clusters:
                left.append(f"(k {s})")
                right.append("k")
            else:
                left.append(s)
                right.append("1" if d in self.reduced else s)
        return " ".join(left) + " -> " + " ".join(right)


def layout_letters(letters: Any, rank: int) -> tuple[str, ...]:
    """``letters`` ("N C H W" or a tuple) as a tuple, or the usual letters for this rank when they do not fit."""
    if isinstance(letters, str):
        letters = letters.split()
    if letters is not None and len(tuple(letters)) == rank:
        return tuple(letters)
    if rank in LETTERS:
        return tuple(LETTERS[rank].upper().split())
    return ("N", "C") + tuple(f"D{i}" for i in range(1, rank - 1))


def move_channel(rank: int, channel: int) -> tuple[int, ...]:
    """The permutation that moves dim ``channel`` to dim 1 (the others keep their order)."""
    return (0, channel) + tuple(d for d in range(1, rank) if d != channel)


def feed_text(perm: tuple[int, ...]) -> tuple[str, str]:
    """``x.permute(perm)`` as the shortest torch text, and the text that undoes it: (".transpose(1, 2)", ...)."""
    r = len(perm)
    ident = tuple(range(r))
    if tuple(perm) == ident:
        return "", ""
    diff = [i for i in range(r) if perm[i] != i]
    if len(diff) == 2 and perm[diff[0]] == diff[1]:
        t = f".transpose({diff[0]}, {diff[1]})"
        return t, t
    last = lambda d: -1 if d == r - 1 else d  # noqa: E731
    for a in range(r):
        for b in range(r):
            moved = [d for d in ident if d != a]
            moved.insert(b, a)
            if tuple(moved) == tuple(perm):
                return f".movedim({a}, {last(b)})", f".movedim({last(b)}, {a})"
    inv = tuple(perm.index(d) for d in ident)
    return f".permute{tuple(perm)}", f".permute{inv}"


# -- what a declaration holds besides the axes ----------------------------------------------------


@dataclass(frozen=True)
class Code:
    """How torch computes a reduction, for the variant's own frame (channels at dim 1)."""

    module: str | None  # the module, sizes named by layout letters, e.g. "nn.BatchNorm2d(C)"; None: torch has none
    call: str  # the functional call, "{x}" standing for the input, e.g. "F.batch_norm({x}, None, None, training=True)"
    feed: tuple[int, ...] | None = None  # the module is fed x.permute(feed) and the output permuted back


@dataclass(frozen=True)
class Text:
    """A variant in words, for one input shape and layout (captions, tables)."""

    title: str  # e.g. "BatchNorm" (a Msg, as the declaration's)
    summary: str  # one sentence: what it does (a Msg)
    pattern: str  # einops reduction, e.g. "n l d -> 1 l 1"
    torch: str  # the torch module (or call) that computes it, e.g. "torch.nn.BatchNorm1d(L)"


@dataclass(frozen=True)
class Traps:
    """A variant's known traps, each said in one plain sentence (empty lists when none applies)."""

    known: tuple[str, ...] = ()  # the traps in general, for the list on the Axis check page (Msgs, as every
    #   sentence the hooks below return: str in English, translated when drawn, vnviz.i18n)
    run: Callable[..., list[str]] | None = None  # (x, params, layout) -> warnings before running on x
    plan: Callable[..., list[str]] | None = None  # (letters, reduction) -> notes on an axis plan of this layer
    infer: Callable[..., list[str]] | None = None  # (shape, axes, affine kind) -> notes when infer_axes names it
    verdict: Callable[..., list[str]] | None = None  # (letters or None, axes) -> mistakes a check of a pair reports
    precision: Callable[..., list[str]] | None = None  # (x, params, dtype) -> what this variant's kernel does in that
    #   dtype that can surprise (rounded statistics, eps=None, autocast); the general traps are in analysis.precision

    def warnings(self, x: torch.Tensor, params: dict[str, Any], layout: str | None = None) -> list[str]:
        return list(self.run(x, params, layout)) if self.run else []

    def plan_notes(self, letters: tuple[str, ...], red: Reduction) -> list[str]:
        return list(self.plan(letters, red)) if self.plan else []

    def infer_notes(self, shape: tuple[int, ...], axes: tuple[int, ...], affine: str) -> list[str]:
        return list(self.infer(shape, axes, affine)) if self.infer else []

    def mistakes(self, letters: tuple[str, ...] | None, axes: tuple[int, ...]) -> list[str]:
        return list(self.verdict(letters, axes)) if self.verdict else []

    def precision_notes(self, x: torch.Tensor, params: dict[str, Any], dtype: torch.dtype) -> list[str]:
        return list(self.precision(x, params, dtype)) if self.precision else []


@dataclass(frozen=True)
class Identity:
    """A known equivalence (or a classic non-equivalence) of two variant calls on the same input."""

    title: str  # e.g. "GroupNorm with one group per channel = InstanceNorm" (Msg, as the sentences below)
    left: tuple[str, dict[str, Any]]  # (variant name, params) of the first call
    right: tuple[str, dict[str, Any]]  # (variant name, params) of the second call
    holds: bool  # theory says the two outputs are equal
    explanation: str  # one sentence: why they are (or are not) equal
    order: int = 50  # where it is listed among every variant's identities (lowest first)
    unavailable: str = ""  # why it cannot be checked on this input ("" when it can)
    take: Callable[[torch.Tensor], torch.Tensor] | None = None  # the part of x both calls run on (None: all of x)


# -- torch modules ----------------------------------------------------------------------------------


class Moved(nn.Module):
    """A torch module fed ``x.movedim(source, -1)``, its output moved back: LayerNorm over the channels of (N, C, *)."""

    def __init__(self, inner: nn.Module, source: int = 1):
        super().__init__()
        self.inner = inner
        self.source = source

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.movedim(self.source, -1)).movedim(-1, self.source)

    @property
    def weight(self) -> torch.Tensor | None:
        return getattr(self.inner, "weight", None)

    @property
    def bias(self) -> torch.Tensor | None:
        return getattr(self.inner, "bias", None)

    @property
    def code(self) -> str:
        return f"{module_code(self.inner)} on x.movedim({self.source}, -1)"


def module_code(mod: nn.Module) -> str:
    """A module as the code that builds it, e.g. "nn.GroupNorm(3, 6, eps=1e-05, affine=True)"."""
    return getattr(mod, "code", None) or f"nn.{type(mod).__name__}({mod.extra_repr()})"


# -- the declaration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """A declared variant: its function, parameters, axes, torch module, traps, equivalences and text."""

    name: str  # registry key, e.g. "batch_norm"
    title: str  # human name, e.g. "BatchNorm" (N_: the sentences that name it are translated with it)
    family: str  # "norm" (normalizes statistic groups) or "matrix"
    fn: Callable[..., torch.Tensor]  # the implementation, fn(x, **params)
    params: tuple[Param, ...]  # every parameter, widgets and tensors alike
    summary: str  # one sentence: what it does (N_ or Msg)
    pattern: str = ""  # einops reduction for an (N, C, H, W) input; derived from ``rule`` when empty
    reference: str = ""  # the matching torch layer for (N, C, H, W), as code; derived from ``code`` when empty
    rule: Callable[..., Reduction] | None = None  # (shape, **params) -> the Reduction of a channel-first input
    settings: Callable[[tuple[int, ...]], list[dict[str, Any]]] | None = None  # shape -> parameters giving distinct
    #   axes there (None: only the defaults); what infer_axes and the axis plan try
    groups: Callable[..., torch.Tensor] | None = None  # (shape, **params) -> group ids; built from ``rule`` when
    #   not given (ClusterNorm gives its own: its clusters come from the labels); None: no statistic groups
    make_module: Callable[..., nn.Module] | None = None  # (shape, affine, running, device, dtype, **params) -> module
    code: Callable[..., Code] | None = None  # (letters, shape, params, affine) -> Code, for the variant's own frame
    traps: Traps = Traps()  # its known traps
    identities: Callable[..., list[Identity]] | None = None  # (x, weight, bias) -> its known equivalences on x
    label: Callable[[dict[str, Any]], str] | None = None  # params -> short name, e.g. "GroupNorm(3)"; default title
    uses_running: Callable[[dict[str, Any]], bool] | None = None  # params -> it normalizes with running statistics
    details: Callable[..., Any] | None = None  # fn with everything the page shows (``.y``, ``.group_params``)
    alone: Callable[..., dict[str, Any]] | None = None  # (x, params, sel) -> the parameters with which ``fn``
    #   computes the statistic group ``x[sel]`` (``Reduction.members``) on its own exactly as inside x, e.g.
    #   GroupNorm's block with num_groups=1 and its channels' weight; None: no such parameters are declared
    #   (``explain`` then uses the formula) or only the whole input gives them (ClusterNorm's clusters)
    baseline: str | None = None  # the variant this one generalizes and is compared with (ClusterNorm: BatchNorm)
    compare_params: tuple[str, ...] = ()  # parameters the Compare page offers for this variant
    compared: bool = False  # among the columns Compare opens with (the classic set and ClusterNorm)
    stat: str = "standardize"  # "standardize" (mean 0, var 1), "rms" (mean square 1) or "none"
    affine: str = "channel"  # affine shape: "channel" (C,), "trailing" (normalized_shape) or "none"
    min_ndim: int = 2  # smallest input rank accepted
    grid_labels: tuple[str, str] = (N_("sample"), N_("channel"))  # what the rows/cols of the group grid index
    precedence: int = 50  # when several variants compute the same statistics, the lowest names them
    order: int = 50  # position in menus and in VARIANTS

    def __post_init__(self) -> None:
        if self.rule is not None and self.groups is None:
            object.__setattr__(self, "groups", self._rule_groups)
        if self.rule is not None and not self.pattern:
            object.__setattr__(self, "pattern", self.text((2, 4, 3, 3), "B C H W").pattern)
        if self.code is not None and not self.reference:
            object.__setattr__(self, "reference", self.text((2, 4, 3, 3), "N C H W").torch)

    # -- parameters ----------------------------------------------------------------------------
    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise InputError("{title} has no parameter {name}; its parameters are {names}.",
                         title=self.title, name=quote(name), names=", ".join(self.param_names))

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def widget_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.widget)

    def defaults(self) -> dict[str, Any]:
        """The default value of every widget parameter."""
        return {p.name: p.default for p in self.widget_params}

    def check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Validate keyword parameters against the declaration (unknown names included)."""
        out = {}
        for key, value in params.items():
            out[key] = self.param(key).check(value, self.title)
        return out

    def _shape(self, shape: Any) -> tuple[int, ...]:
        shape = as_shape(shape, named(self.title, "shape"))
        if len(shape) < self.min_ndim:
            raise InputError("{title} needs an input with at least {min_ndim} dims; got shape {shape}.",
                             title=self.title, min_ndim=self.min_ndim, shape=shape)
        return shape

    # -- the axes --------------------------------------------------------------------------------
    def reduction(self, shape: Any, channel: int = 1, **params: Any) -> Reduction:
        """The axes this variant reduces on an input of ``shape`` with ``params``: the one rule.

        ``channel`` is the dim that holds the channels (the features); torch's
        layers want it at dim 1, so a per-channel variant is then fed
        ``x.movedim(channel, 1)`` (``Reduction.feed``) and a trailing one
        (LayerNorm, RMSNorm) defaults to ``normalized_shape = shape[channel:]``.
        Dims in the result are those of ``shape`` as given.
        """
        if self.rule is None:
            raise InputError("{title} is not a normalization and reduces no axes.", title=self.title)
        shape = self._shape(shape)
        r = len(shape)
        if not 1 <= channel < r:
            raise InputError("{title}: channel must be a dim from 1 to {last} of shape {shape}; got {got}.",
                             title=self.title, last=r - 1, shape=shape, got=quote(channel))
        checked = self.check_params(params)
        if channel == 1:
            return self.rule(shape, **checked)
        if self.affine == "trailing":
            checked.setdefault("normalized_shape", tuple(shape[channel:]))
            return self.rule(shape, **checked)
        perm = move_channel(r, channel)
        red = self.rule(tuple(shape[p] for p in perm), **checked)
        return Reduction(
            shape=shape, dims=tuple(sorted(perm[d] for d in red.dims)), channel=perm[red.channel], blocks=red.blocks,
            clusters=red.clusters, affine=tuple(perm[d] for d in red.affine), centered=red.centered,
            params=red.params, feed=perm,
        )

    def reductions(self, shape: Any, channel: int = 1) -> list[Reduction]:
        """Every distinct reduction this variant can name on ``shape`` (one per entry of ``settings``)."""
        if self.rule is None:
            return []
        shape = as_shape(shape, named(self.title, "shape"))
        if len(shape) < self.min_ndim:
            return []
        frame = shape  # the settings are the variant's own: on its frame, with the channels at dim 1
        if channel != 1 and self.affine == "channel":
            frame = tuple(shape[p] for p in move_channel(len(shape), channel))
        out = []
        for p in (self.settings(frame) if self.settings else [{}]):
            try:
                out.append(self.reduction(shape, channel, **p))
            except InputError:
                continue
        return out

    def _rule_groups(self, shape: Any, **params: Any) -> torch.Tensor:
        """The statistic-group map (int64, shaped like the input) of the rule's reduction."""
        return self.reduction(shape, **params).group_map()

    # -- torch ---------------------------------------------------------------------------------------
    def module(self, shape: Any, affine: bool | None = None, running: bool | None = None, device: Any = None,
               dtype: torch.dtype | None = None, **params: Any) -> nn.Module:
        """A torch module computing this variant on inputs of ``shape`` with ``params``.

        ``affine``: None gives it an affine exactly when ``weight`` or ``bias``
        is given (a number fills it, a tensor is copied); True always (torch's
        ones and zeros where none is given), False never. ``running`` (variants
        with running statistics): None keeps them exactly when the buffers are
        given (or BatchNorm is in eval mode), as verification wants; True always,
        fresh ones where none are given, as a network's layer; False never.
        Given buffers are copied in and ``training`` sets its mode. For
        verification it is an independent reference; a network trains it as it is.
        Raises InputError when torch has no such module for this shape.
        """
        if self.make_module is None:
            raise InputError("{title} has no torch module.", title=self.title)
        shape = self._shape(shape)
        return self.make_module(shape, affine, running, device, dtype, **self.check_params(params))

    def torch_code(self, red: Reduction, letters: Any = None, affine: bool | None = None,
                   **overrides: Any) -> tuple[str | None, str]:
        """(module, call) computing ``red`` on x, sizes named by the caller's ``letters``; ``overrides`` replace
        parameters in the text (e.g. num_groups="G")."""
        if self.code is None:
            raise InputError("{title} has no torch code.", title=self.title)
        r = len(red.shape)
        letters = layout_letters(letters, r)
        perm = red.feed or tuple(range(r))
        code = self.code(tuple(letters[p] for p in perm), tuple(red.shape[p] for p in perm),
                         {**red.params, **overrides}, affine)
        total = tuple(perm[i] for i in code.feed) if code.feed else perm
        feed, unfeed = feed_text(total)
        module = None if code.module is None else (f"{code.module} on x{feed}" if feed else code.module)
        return module, code.call.format(x="x" + feed) + unfeed

    # -- words ---------------------------------------------------------------------------------------
    def text(self, shape: Any, layout: Any = None, channel: int = 1, **params: Any) -> Text:
        """Title, summary, einops pattern and torch code for an input of ``shape`` and ``layout``.

        ``layout`` names the dims (``"N L D"``; default: N C, N C L, N C H W, ...).
        With ``channel=1`` the text is what ``apply`` does to x as it is (tokens
        (N, L, D): ``torch.nn.BatchNorm1d(L)``, pattern ``n l d -> 1 l 1``); with
        the layout's channel dim the variant is fed its channels at dim 1
        (``torch.nn.BatchNorm1d(D) on x.transpose(1, 2)``).
        """
        if self.rule is None:
            return Text(self.title, self.summary, self.pattern, self.reference)
        red = self.reduction(shape, channel, **params)
        letters = layout_letters(layout, len(red.shape))
        torch_text = self.reference if self.code is None else None
        if torch_text is None:
            affine = True if params.get("weight") is not None or params.get("bias") is not None else None
            module, call = self.torch_code(red, letters, affine)
            torch_text = "torch." + module if module else call.replace("F.", "torch.nn.functional.", 1)
        return Text(self.title, self.summary, red.pattern(letters), torch_text)

    def short(self, **params: Any) -> str:
        """A short name with the parameters that tell it apart, e.g. "GroupNorm(3)" or "LayerNorm over (16,)"."""
        return self.label(params) if self.label else self.title

    @property
    def by_data(self) -> bool:
        """Its statistic groups depend on the data, not on the shape alone (ClusterNorm's clusters)."""
        return self.rule is not None and self.rule((2, 4, 3, 3)).clusters

    def running(self, params: dict[str, Any]) -> bool:
        """Whether, with ``params``, it normalizes with running statistics (BatchNorm in eval mode)."""
        return bool(self.uses_running and self.uses_running(params))


VARIANTS: dict[str, Variant] = {}


def register(variant: Variant) -> Variant:
    """Add a variant to ``VARIANTS`` (names are unique; VARIANTS stays sorted by ``order``)."""
    if variant.name in VARIANTS:
        raise ValueError(f"variant {variant.name!r} is registered twice")
    VARIANTS[variant.name] = variant
    ranked = sorted(VARIANTS.values(), key=lambda v: v.order)  # stable: equal orders keep registration order
    VARIANTS.clear()
    VARIANTS.update((v.name, v) for v in ranked)
    return variant


def get_variant(name: str) -> Variant:
    """The variant called ``name``, or InputError naming the known ones."""
    try:
        return VARIANTS[name]
    except (KeyError, TypeError):
        raise InputError("There is no variant called {name}; choose one of {names}.",
                         name=quote(name), names=", ".join(VARIANTS)) from None


def norm_variants(named: bool = False) -> tuple[Variant, ...]:
    """The normalizations, in menu order; ``named=True``: only those whose axes follow from the shape alone
    (what an axis plan and infer_axes can name; not ClusterNorm, whose groups depend on the data)."""
    return tuple(v for v in VARIANTS.values() if v.family == "norm" and v.rule is not None
                 and not (named and v.by_data))


def apply(name: str, x: torch.Tensor, **params: Any) -> torch.Tensor:
    """Run variant ``name`` on ``x`` with keyword parameters; the result is on x.device.

    Parameters are checked against the variant's declaration first; a norm
    variant never returns NaN or Inf (it raises InputError saying why).
    """
    variant = get_variant(name)
    checked = variant.check_params(params)
    return variant.fn(x, **checked)


def stat_groups(name: str, shape: tuple[int, ...] | torch.Size, **params: Any) -> torch.Tensor:
    """The statistic-group map of a norm variant: an int64 tensor shaped like the input.

    Elements with the same id share one mean and one variance; ids are 0..G-1.
    """
    variant = get_variant(name)
    if variant.groups is None:
        raise InputError("{title} is not a normalization and has no statistic groups.", title=variant.title)
    shape = variant._shape(shape)
    checked = variant.check_params(params)
    return variant.groups(shape, **checked)
