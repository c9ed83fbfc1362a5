"""Parameter declarations: what a variant's parameter accepts, its widget and its link text.

A ``Param`` checks a value (one plain sentence per mistake, quoting the bad
value) and turns it into, and back from, the text a URL query string holds.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import torch

from vnviz.errors import InputError
from vnviz.i18n import N_, Msg

PARAM_KINDS = ("float", "int", "bool", "choice", "shape", "str", "ints", "affine", "tensor")
QUOTE_CHARS = 60  # a quoted bad value is cut to this many characters
LINK = N_("link")  # where a parameter read from a URL comes from, in its sentences
KIND_WORDS = {  # what Param.allowed says of the kinds without a range or choices
    "bool": N_("true or false"), "shape": N_("one or more positive whole numbers separated by commas, such as 16,8,32,32"),
    "str": N_("text"), "ints": N_("whole numbers separated by commas, such as 0,2,5"), "affine": N_("a number"),
    "tensor": N_("a tensor"),
}


def quote(value: Any) -> str:
    """``repr(value)`` on one line, cut to QUOTE_CHARS, for "got ..." in messages (kept as it is in every
    language; what is not a repr, "a tensor of shape (8, 6)", is a Msg)."""
    if isinstance(value, torch.Tensor) and value.numel() > 4:
        return Msg("a tensor of shape {shape}", shape=tuple(value.shape))
    if type(value).__module__ == "numpy" and getattr(value, "size", 1) > 4:
        return Msg("an array of shape {shape}", shape=tuple(value.shape))
    try:
        text = " ".join(repr(value).split())
    except ValueError:  # int too large to print
        return N_("a whole number with thousands of digits")
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
    help: str  # one line for a tooltip (N_: translated when drawn)
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
            raise InputError("{where}: {name} cannot be None; it must be {allowed}.",
                             where=where, name=self.name, allowed=self.allowed())
        if self.kind in ("float", "int"):
            return self._check_number(value, where)
        if self.kind == "bool":
            value = scalar(value)
            if isinstance(value, (bool, int)) and value in (0, 1):
                return bool(value)
            raise InputError("{where}: {name} must be True or False; got {got}.",
                             where=where, name=self.name, got=quote(value))
        if self.kind == "choice":
            if isinstance(value, (str, int, float)) and not isinstance(value, bool) and value in self.choices:
                return value
            raise InputError("{where}: {name} must be one of {choices}; got {got}.",
                             where=where, name=self.name, choices=", ".join(map(str, self.choices)), got=quote(value))
        if self.kind == "shape":
            return as_shape(value, named(where, self.name))
        if self.kind == "ints":
            return as_ints(value, named(where, self.name))
        if self.kind == "str":
            if isinstance(value, str):
                return value
            raise InputError("{where}: {name} must be a string; got {got}.",
                             where=where, name=self.name, got=quote(value))
        if self.kind == "affine":  # a number here; tensors are checked by the variant against the input
            value = scalar(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return Param(self.name, "float", value, "").check(value, where)
        return value

    def _check_number(self, value: Any, where: str) -> float | int:
        is_int = self.kind == "int"
        kind = N_("a whole number") if is_int else N_("a number")
        value = scalar(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError("{where}: {name} must be {kind}; got {got}.",
                             where=where, name=self.name, kind=kind, got=quote(value))
        if is_int and isinstance(value, float):
            raise InputError("{where}: {name} must be {kind}; got {got}.",
                             where=where, name=self.name, kind=kind, got=quote(value))
        if not is_int:
            try:
                value = float(value)
            except OverflowError:
                raise InputError("{where}: {name} must be {allowed}; got {got}.",
                                 where=where, name=self.name, allowed=self.allowed(), got=quote(value)) from None
            if not math.isfinite(value):
                raise InputError("{where}: {name} must be a finite number; got {got}.",
                                 where=where, name=self.name, got=quote(value))
        too_low = self.low is not None and (value < self.low or (self.low_open and value == self.low))
        too_high = self.high is not None and (value > self.high or (self.high_open and value == self.high))
        if too_low or too_high:
            raise InputError("{where}: {name} must be {allowed}; got {got}.",
                             where=where, name=self.name, allowed=self.allowed(), got=quote(value))
        return value

    def allowed(self) -> str:
        """The allowed values, in words (">= 0 and <= 1"), as a Msg."""
        if self.kind in ("float", "int"):
            lo = None if self.low is None else ("> " if self.low_open else ">= ") + f"{self.low:g}"
            hi = None if self.high is None else ("< " if self.high_open else "<= ") + f"{self.high:g}"
            if lo and hi:
                text = Msg("{low} and {high}", low=lo, high=hi)
            else:
                text = lo or hi or N_("any finite number")
            return Msg("{allowed} (or None)", allowed=text) if self.optional else text
        if self.kind == "choice":
            return Msg("one of {choices}", choices=", ".join(map(str, self.choices)))
        words = KIND_WORDS.get(self.kind, f"a {self.kind}")
        return Msg("{words} (or None)", words=words) if self.kind == "affine" and self.optional else words

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

    def from_text(self, text: str, where: str = LINK) -> Any:
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
                    raise InputError("{where}: {name}={text} is not valid; {name} must be a finite number.",
                                     where=where, name=self.name, text=quote(text))
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
            raise InputError("{where}: {name}={text} is not valid; {name} must be {allowed}.",
                             where=where, name=self.name, text=quote(text), allowed=self.allowed()) from None


def as_ints(value: Any, what: str) -> tuple[int, ...]:
    value = scalar(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    if isinstance(value, torch.Size):
        return tuple(value)
    if isinstance(value, (str, bytes)) or (isinstance(value, torch.Tensor) and value.ndim != 1):
        raise InputError("{what} must be a whole number or a list of whole numbers; got {got}.",
                         what=what, got=quote(value))
    try:
        items = tuple(value)
    except TypeError:
        raise InputError("{what} must be a whole number or a list of whole numbers; got {got}.",
                         what=what, got=quote(value)) from None
    out = []
    for v in items:
        v = scalar(v)
        if isinstance(v, bool) or not isinstance(v, int):
            raise InputError("{what} must hold whole numbers only; got {got}.", what=what, got=quote(value))
        out.append(int(v))
    return tuple(out)


def as_shape(value: Any, what: str) -> tuple[int, ...]:
    shape = as_ints(value, what)
    if not shape or any(s < 1 for s in shape) or any(s > 2**40 for s in shape):
        raise InputError("{what} must be one or more positive sizes; got {got}.", what=what, got=quote(value))
    return shape


@functools.lru_cache(maxsize=1024, typed=True)  # typed: a plain str and a Msg of the same text stay apart
def named(where: str, name: str) -> Msg:
    """"GroupNorm: weight": what a sentence is about, ``where`` translated and the parameter's ``name`` kept.

    Cached: every call of a variant names its parameters before it knows whether a sentence is needed.
    """
    return Msg("{where}: {name}", where=where, name=name)
