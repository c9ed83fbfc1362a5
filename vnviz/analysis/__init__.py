"""Statistics, binned histograms, verification and traps, computed in torch."""
from __future__ import annotations

from vnviz.analysis.matrix import (
    SLICING_FORMS, MaskEffects, SliceFacts, demo_write, mask_effects, shares_memory, slice_facts,
)
from vnviz.analysis.axes import AxisPlan, axis_plan
from vnviz.analysis.element_picture import ElementPicture, element_picture
from vnviz.analysis.explain import Explanation, Step, explain
from vnviz.analysis.histogram import DEFAULT_BINS, Histogram, histogram, value_range
from vnviz.analysis.infer import AxisReport, Candidate, infer_axes
from vnviz.analysis.precision import PrecisionReport, precision_report
from vnviz.analysis.stats import AxisStats, GroupStats, ValueSummary, axis_stats, group_stats, summarize
from vnviz.analysis.traps import traps
from vnviz.analysis.verify import Verification, reference64, torch_module, verify

__all__ = [
    "DEFAULT_BINS", "Histogram", "histogram", "value_range", "AxisStats", "GroupStats", "ValueSummary",
    "axis_stats", "group_stats", "summarize", "traps", "Verification", "reference64", "torch_module", "verify",
    "AxisPlan", "axis_plan", "ElementPicture", "element_picture", "Explanation", "Step", "explain", "AxisReport", "Candidate", "infer_axes", "PrecisionReport", "precision_report", "SLICING_FORMS", "MaskEffects", "SliceFacts", "demo_write", "mask_effects", "shares_memory", "slice_facts",
]
