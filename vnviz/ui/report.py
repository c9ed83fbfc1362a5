"""Plain-words text for verification results."""
from __future__ import annotations

import math

from vnviz.analysis.verify import Verification


def _num(v: float | None) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2e}"


def verification_text(v: Verification | None) -> str:
    """Markdown for a Verification: the verdict first, then each check."""
    if v is None:
        return "Verification applies to normalizations only."
    verdict = ":green[**Verified**]" if v.ok else ":red[**Does not match**]"
    lines = [f"{verdict} — {v.groups} statistic groups, computed on `{v.device}` in {v.seconds * 1e3:.2f} ms."]
    if not math.isnan(v.var_max_dev):
        what = "mean square" if math.isnan(v.mean_max_abs) else "variance"
        mean = "" if math.isnan(v.mean_max_abs) else f"mean 0 ± {v.mean_max_abs:.1e} and "
        lines.append(f"- With the affine undone, every group has {mean}{what} 1 ± {v.var_max_dev:.1e} "
                     f"(± {v.var_eps_dev:.1e} once eps is accounted for: {what} = s / (s + eps)).")
    lines.append(f"- Largest difference from `{v.reference}`: {_num(v.torch_max_abs_err)}.")
    lines.append(f"- Largest difference from the float64 formula on the group map: {_num(v.ref64_max_abs_err)}.")
    if v.running_max_abs_err is not None:
        lines.append(f"- Running statistics after the update differ from torch's by {_num(v.running_max_abs_err)}.")
    lines.append(f"- Tolerance: {v.tolerance:.0e} × max(1, largest output).")
    if v.note:
        lines.append(f"- Note: {v.note}.")
    return "\n".join(lines)
