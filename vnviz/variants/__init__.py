"""The registry of variants and their implementations (torch only)."""
from __future__ import annotations

from vnviz.variants import norms  # noqa: F401  (registers the norm variants)
from vnviz.variants import cluster  # noqa: F401
from vnviz.variants import matrix  # noqa: F401
from vnviz.variants.registry import VARIANTS, Param, Variant, apply, get_variant, register, stat_groups

__all__ = ["VARIANTS", "Param", "Variant", "apply", "get_variant", "register", "stat_groups"]
