"""The registry of variants and their implementations (torch only).

Every module of this package is imported here, and each module that declares
a variant registers it: adding a variant is adding (or editing) one module.
``VARIANTS`` is ordered by each declaration's ``order`` (the menus' order).
"""
from __future__ import annotations

import importlib
import pkgutil

from vnviz.variants.registry import (
    VARIANTS, Code, Identity, Param, Reduction, Text, Traps, Variant, apply, get_variant, norm_variants, register,
    stat_groups,
)

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")

__all__ = [
    "VARIANTS", "Code", "Identity", "Param", "Reduction", "Text", "Traps", "Variant", "apply", "get_variant",
    "norm_variants", "register", "stat_groups",
]
