"""The variant registry: each variant is declared once, with its parameters.

The sidebar widgets, the query-string link, the "reproduce in Python" snippet
and the tests all read these declarations, so adding a variant touches one
module.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch

from vnviz.errors import InputError

PARAM_KINDS = ("float", "int", "bool", "choice", "shape", "str", "ints", "affine", "tensor")
QUOTE_CHARS = 60  # a quoted bad value is cut to this many characters


def quote(value: Any) -> str:
    """``repr(value)`` on one line, cut to QUOTE_CHARS, for "got ..." in messages."""
    if isinstance(value, torch.Tensor) and value.numel() > 4:
        return f"a tensor of shape {tuple(value.shape)}"
    if type(value).__module__ == "numpy" and getattr(value, "size", 1) > 4:
        return f"an array of shape {tuple(value.shape)}"
    try:
        text = " ".join(repr(value).split())
    except ValueError:  # int too large to print
        text = "a whole number with thousands of digits"
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 3] + "..."


def scalar(value: Any) -> Any:
    """A 0-d tensor or numpy scalar as a Python number; anything else unchanged."""
    if isinstance(value, torch.Tensor) or type(value).__module__ == "numpy":
        if getattr(value, "ndim", 0) == 0 and not (isinstance(value, torch.Tensor) and value.is_complex()):
            item = value.item()
            if isinstance(item, (bool, int, float)):
                return item
    return value


@dataclass(frozen=True)
class Param:
    """One parameter of a variant, as the API, the widgets and the links see it."""

    name: str  # the API name (torch's name where torch has one)
    kind: str  # one of PARAM_KINDS
    default: Any  # the value used when the caller gives none
    help: str  # one line for a tooltip
    low: float | None = None  # smallest allowed value (numbers)
    high: float | None = None  # largest allowed value (numbers)
    choices: tuple[Any, ...] = ()  # allowed values ("choice")
    optional: bool = False  # None is allowed (e.g. momentum=None)
    low_open: bool = False  # the low end itself is not allowed (e.g. p < 1)
    high_open: bool = False  # the high end itself is not allowed
    widget: bool = True  # shown as a widget and kept in links (tensors are not)
    when: tuple[tuple[str, tuple[Any, ...]], ...] = ()  # shown only when each named parameter has one of these values

    def applies(self, values: dict[str, Any]) -> bool:
        """Whether this parameter matters given the other parameters' ``values`` (see ``when``)."""
        return all(values.get(name) in allowed for name, allowed in self.when)

    def check(self, value: Any, where: str) -> Any:
        """Validate and normalise ``value``; raise InputError with one sentence."""
        if value is None:
            if self.optional or self.default is None:
                return None
            raise InputError(f"{where}: {self.name} cannot be None; it must be {self.allowed()}.")
        if self.kind in ("float", "int"):
            return self._check_number(value, where)
        if self.kind == "bool":
            value = scalar(value)
            if isinstance(value, (bool, int)) and value in (0, 1):
                return bool(value)
            raise InputError(f"{where}: {self.name} must be True or False; got {quote(value)}.")
        if self.kind == "choice":
            if isinstance(value, (str, int, float)) and not isinstance(value, bool) and value in self.choices:
                return value
            raise InputError(f"{where}: {self.name} must be one of {', '.join(map(str, self.choices))}; got {quote(value)}.")
        if self.kind == "shape":
            return _as_shape(value, f"{where}: {self.name}")
        if self.kind == "ints":
            return _as_ints(value, f"{where}: {self.name}")
        if self.kind == "str":
            if isinstance(value, str):
                return value
            raise InputError(f"{where}: {self.name} must be a string; got {quote(value)}.")
        if self.kind == "affine":  # a number here; tensors are checked by the variant against the input
            value = scalar(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return Param(self.name, "float", value, "").check(value, where)
        return value

    def _check_number(self, value: Any, where: str) -> float | int:
        is_int = self.kind == "int"
        kind = "a whole number" if is_int else "a number"
        value = scalar(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{where}: {self.name} must be {kind}; got {quote(value)}.")
        if is_int and isinstance(value, float):
            raise InputError(f"{where}: {self.name} must be {kind}; got {quote(value)}.")
        if not is_int:
            try:
                value = float(value)
            except OverflowError:
                raise InputError(f"{where}: {self.name} must be {self.allowed()}; got {quote(value)}.") from None
            if not math.isfinite(value):
                raise InputError(f"{where}: {self.name} must be a finite number; got {quote(value)}.")
        too_low = self.low is not None and (value < self.low or (self.low_open and value == self.low))
        too_high = self.high is not None and (value > self.high or (self.high_open and value == self.high))
        if too_low or too_high:
            raise InputError(f"{where}: {self.name} must be {self.allowed()}; got {quote(value)}.")
        return value

    def allowed(self) -> str:
        """The allowed values, in words ("between 0 and 1")."""
        if self.kind in ("float", "int"):
            lo = None if self.low is None else ("> " if self.low_open else ">= ") + f"{self.low:g}"
            hi = None if self.high is None else ("< " if self.high_open else "<= ") + f"{self.high:g}"
            parts = [p for p in (lo, hi) if p]
            text = " and ".join(parts) if parts else "any finite number"
            return text + (" (or None)" if self.optional else "")
        if self.kind == "choice":
            return "one of " + ", ".join(map(str, self.choices))
        return {"shape": "one or more positive whole numbers separated by commas, such as 16,8,32,32",
                "ints": "whole numbers separated by commas, such as 0,2,5",
                "affine": "a number" + (" (or None)" if self.optional else ""), "bool": "true or false",
                "str": "text"}.get(self.kind, f"a {self.kind}")

    # -- links ---------------------------------------------------------------
    def to_text(self, value: Any) -> str:
        """Format a value for a URL query string (inverse of ``from_text``)."""
        if value is None:
            return "none"
        if self.kind == "bool":
            return "true" if value else "false"
        if self.kind in ("shape", "ints"):
            return ",".join(str(int(v)) for v in value)
        if self.kind == "float" or self.kind == "affine":
            return repr(float(value))
        return str(value)

    def from_text(self, text: str, where: str = "link") -> Any:
        """Parse a query-string value; raise InputError when it is not valid."""
        t = text.strip()
        if t.lower() in ("none", "") and (self.optional or self.default is None):
            return None
        try:
            if self.kind == "bool":
                if t.lower() in ("true", "1", "yes", "on"):
                    return True
                if t.lower() in ("false", "0", "no", "off"):
                    return False
                raise ValueError(t)
            if self.kind == "int":
                return self.check(int(t), where)
            if self.kind in ("float", "affine"):
                value = float(t)
                if self.kind == "affine" and not math.isfinite(value):
                    raise InputError(f"{where}: {self.name}={quote(text)} is not valid; {self.name} must be a finite number.")
                return self.check(value, where)
            if self.kind in ("shape", "ints"):
                return self.check(tuple(int(p) for p in t.split(",") if p.strip() != ""), where)
            if self.kind == "choice":
                for c in self.choices:
                    if str(c) == t:
                        return c
                raise ValueError(t)
            return t
        except ValueError as err:
            if isinstance(err, InputError):
                raise
            raise InputError(f"{where}: {self.name}={quote(text)} is not valid; {self.name} must be {self.allowed()}.") from None


def _as_ints(value: Any, what: str) -> tuple[int, ...]:
    value = scalar(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    if isinstance(value, torch.Size):
        return tuple(value)
    if isinstance(value, (str, bytes)) or (isinstance(value, torch.Tensor) and value.ndim != 1):
        raise InputError(f"{what} must be a whole number or a list of whole numbers; got {quote(value)}.")
    try:
        items = tuple(value)
    except TypeError:
        raise InputError(f"{what} must be a whole number or a list of whole numbers; got {quote(value)}.") from None
    out = []
    for v in items:
        v = scalar(v)
        if isinstance(v, bool) or not isinstance(v, int):
            raise InputError(f"{what} must hold whole numbers only; got {quote(value)}.")
        out.append(int(v))
    return tuple(out)


def _as_shape(value: Any, what: str) -> tuple[int, ...]:
    shape = _as_ints(value, what)
    if not shape or any(s < 1 for s in shape) or any(s > 2**40 for s in shape):
        raise InputError(f"{what} must be one or more positive sizes; got {quote(value)}.")
    return shape


@dataclass(frozen=True)
class Variant:
    """A declared variant: its function, parameters and what it reduces over."""

    name: str  # registry key, e.g. "batch_norm"
    title: str  # human name, e.g. "BatchNorm"
    family: str  # "norm" (normalizes statistic groups) or "matrix"
    fn: Callable[..., torch.Tensor]  # the implementation, fn(x, **params)
    params: tuple[Param, ...]  # every parameter, widgets and tensors alike
    pattern: str  # einops-style reduction for an (N, C, H, W) input
    reference: str  # the matching torch layer, as code
    summary: str  # one sentence: what it does
    groups: Callable[..., torch.Tensor] | None = None  # (shape, **params) -> LongTensor group map
    stat: str = "standardize"  # "standardize" (mean 0, var 1), "rms" (mean square 1) or "none"
    affine: str = "channel"  # affine shape: "channel" (C,), "trailing" (normalized_shape) or "none"
    min_ndim: int = 2  # smallest input rank accepted
    grid_labels: tuple[str, str] = ("sample", "channel")  # what the rows/cols of the group grid index

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise InputError(f"{self.title} has no parameter {quote(name)}; its parameters are {', '.join(self.param_names)}.")

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


VARIANTS: dict[str, Variant] = {}


def register(variant: Variant) -> Variant:
    """Add a variant to ``VARIANTS`` (names are unique)."""
    if variant.name in VARIANTS:
        raise ValueError(f"variant {variant.name!r} is registered twice")
    VARIANTS[variant.name] = variant
    return variant


def get_variant(name: str) -> Variant:
    """The variant called ``name``, or InputError naming the known ones."""
    try:
        return VARIANTS[name]
    except (KeyError, TypeError):
        raise InputError(f"There is no variant called {quote(name)}; choose one of {', '.join(VARIANTS)}.") from None


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
        raise InputError(f"{variant.title} is not a normalization and has no statistic groups.")
    shape = _as_shape(shape, f"{variant.title}: shape")
    if len(shape) < variant.min_ndim:
        raise InputError(f"{variant.title} needs an input with at least {variant.min_ndim} dims; got shape {shape}.")
    checked = variant.check_params(params)
    return variant.groups(shape, **checked)
