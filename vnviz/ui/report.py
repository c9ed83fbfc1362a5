"""Plain-words text for verification results and the variant's caption."""
from __future__ import annotations

import math
from typing import Any

from vnviz.analysis.verify import Verification
from vnviz.variants.registry import Variant


def _num(v: float | None) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2e}"


def problem_text(v: Verification | None) -> list[str]:
    """Sentences for what makes the output meaningless, shown as errors above the figures (eps = 0 on a constant group)."""
    if v is None or not v.undefined:
        return []
    return [f"eps = 0 and {v.undefined} of the {v.groups} statistic groups are constant (variance 0), so "
            "(x − mean) / √(var + eps) is 0/0 for them: the normalization is undefined there. torch's kernels "
            "return 0 for such a group and vnviz does the same, which hides the division by zero; raise eps above "
            "0 to normalize every group."]


def verification_text(v: Verification | None) -> str:
    """Markdown for a Verification: the verdict first, then each check."""
    if v is None:
        return "Verification applies to normalizations only."
    if v.undefined:
        verdict = f":red[**Undefined for {v.undefined} of {v.groups} groups**] (eps = 0, variance 0)"
    else:
        verdict = ":green[**Verified**]" if v.ok else ":red[**Does not match**]"
    dtype = f" in {v.dtype}," if v.dtype else ""
    lines = [f"{verdict} — {v.groups} statistic groups, computed on `{v.device}`{dtype} in {v.seconds * 1e3:.2f} ms."]
    others = f" (the other {v.groups - v.undefined} groups)" if v.undefined else ""
    if not math.isnan(v.var_max_dev):
        what = "mean square" if math.isnan(v.mean_max_abs) else "variance"
        mean = "" if math.isnan(v.mean_max_abs) else f"mean 0 ± {v.mean_max_abs:.1e} and "
        lines.append(f"- With the affine undone, every group{others} has {mean}{what} 1 ± {v.var_max_dev:.1e} "
                     f"(± {v.var_eps_dev:.1e} once eps is accounted for: {what} = s / (s + eps)).")
    lines.append(f"- Largest difference from `{v.reference}`: {_num(v.torch_max_abs_err)}.")
    lines.append(f"- Largest difference from the float64 formula on the group map{others}: {_num(v.ref64_max_abs_err)}.")
    if v.running_max_abs_err is not None:
        lines.append(f"- Running statistics after the update differ from torch's by {_num(v.running_max_abs_err)}.")
    lines.append(f"- Tolerance: {v.tolerance:.0e} × max(1, largest output)" + (f", for {v.dtype}." if v.dtype else "."))
    if v.undefined:
        lines.append(f"- The {v.undefined} constant groups have no reference value (0/0); torch returns 0 for them.")
    if v.note:
        lines.append(f"- Note: {v.note}.")
    return "\n".join(lines)


def variant_caption(variant: Variant, view: Any) -> str:
    """The variant's sentence, then what it reduces on this data and the torch module that computes the same."""
    pattern = getattr(view, "pattern", "") or variant.pattern
    reference = view.verification.reference if getattr(view, "verification", None) is not None else variant.reference
    return f"{variant.summary}  \nOn this data: reduces `{pattern}` · torch: `{reference}`"
