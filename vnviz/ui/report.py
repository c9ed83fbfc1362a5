"""Plain-words text for verification results and the variant's caption (Msgs: translated when drawn)."""
from __future__ import annotations

import math
from typing import Any

from vnviz.analysis.verify import Verification
from vnviz.i18n import N_, Msg
from vnviz.variants.registry import Variant


def _num(v: float | None) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2e}"


def problem_text(v: Verification | None) -> list[str]:
    """Sentences for what makes the output meaningless, shown as errors above the figures (eps = 0 on a constant group)."""
    if v is None or not v.undefined:
        return []
    return [Msg("eps = 0 and {undefined} of the {groups} statistic groups are constant (variance 0), so "
                "(x − mean) / √(var + eps) is 0/0 for them: the normalization is undefined there. torch's kernels "
                "return 0 for such a group and vnviz does the same, which hides the division by zero; raise eps above "
                "0 to normalize every group.", undefined=v.undefined, groups=v.groups)]


def verification_text(v: Verification | None) -> str:
    """Markdown for a Verification: the verdict first, then each check (a Msg, lines joined by newlines)."""
    if v is None:
        return N_("Verification applies to normalizations only.")
    if v.undefined:
        verdict = Msg(":red[**Undefined for {undefined} of {groups} groups**] (eps = 0, variance 0)",
                      undefined=v.undefined, groups=v.groups)
    else:
        verdict = N_(":green[**Verified**]") if v.ok else N_(":red[**Does not match**]")
    if v.dtype:
        lines = [Msg("{verdict} — {groups} statistic groups, computed on `{device}` in {dtype}, in {ms:.2f} ms.",
                     verdict=verdict, groups=v.groups, device=v.device, dtype=v.dtype, ms=v.seconds * 1e3)]
    else:
        lines = [Msg("{verdict} — {groups} statistic groups, computed on `{device}` in {ms:.2f} ms.", verdict=verdict,
                     groups=v.groups, device=v.device, ms=v.seconds * 1e3)]
    others = Msg(" (the other {n} groups)", n=v.groups - v.undefined) if v.undefined else ""
    if not math.isnan(v.var_max_dev):
        if math.isnan(v.mean_max_abs):
            lines.append(Msg("- With the affine undone, every group{others} has mean square 1 ± {dev:.1e} (± {eps_dev:.1e} "
                             "once eps is accounted for: mean square = s / (s + eps)).", others=others,
                             dev=v.var_max_dev, eps_dev=v.var_eps_dev))
        else:
            lines.append(Msg("- With the affine undone, every group{others} has mean 0 ± {mean:.1e} and variance "
                             "1 ± {dev:.1e} (± {eps_dev:.1e} once eps is accounted for: variance = s / (s + eps)).",
                             others=others, mean=v.mean_max_abs, dev=v.var_max_dev, eps_dev=v.var_eps_dev))
    lines.append(Msg("- Largest difference from `{reference}`: {err}.", reference=v.reference,
                     err=_num(v.torch_max_abs_err)))
    lines.append(Msg("- Largest difference from the float64 formula on the group map{others}: {err}.", others=others,
                     err=_num(v.ref64_max_abs_err)))
    if v.running_max_abs_err is not None:
        lines.append(Msg("- Running statistics after the update differ from torch's by {err}.",
                         err=_num(v.running_max_abs_err)))
    if v.dtype:
        lines.append(Msg("- Tolerance: {tol:.0e} × max(1, largest output), for {dtype}.", tol=v.tolerance, dtype=v.dtype))
    else:
        lines.append(Msg("- Tolerance: {tol:.0e} × max(1, largest output).", tol=v.tolerance))
    if v.undefined:
        lines.append(Msg("- The {n} constant groups have no reference value (0/0); torch returns 0 for them.",
                         n=v.undefined))
    if v.note:
        lines.append(Msg("- Note: {note}.", note=v.note))
    return Msg.join(lines, "\n")


def variant_caption(variant: Variant, view: Any) -> str:
    """The variant's sentence, then what it reduces on this data and the torch module that computes the same."""
    pattern = getattr(view, "pattern", "") or variant.pattern
    reference = view.verification.reference if getattr(view, "verification", None) is not None else variant.reference
    return Msg("{summary}  \nOn this data: reduces `{pattern}` · torch: `{reference}`", summary=variant.summary,
               pattern=pattern, reference=reference)
