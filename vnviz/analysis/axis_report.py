"""``infer_axes``'s report in words: the rows of a table, a headline verdict, and each hypothesis's label."""
from __future__ import annotations

from vnviz.analysis.infer import AxisReport, Candidate
from vnviz.variants.registry import VARIANTS


def _tuple(items) -> str:
    items = list(items)
    return f"({items[0]},)" if len(items) == 1 else "(" + ", ".join(map(str, items)) + ")"


def letters_text(letters) -> str:
    """("N", "H", "W") as "N, H, W"."""
    return ", ".join(letters)


def _title(name: str | None) -> str:
    return VARIANTS[name].title if name in VARIANTS else (name or "")


def axes_text(axes: tuple[int, ...], letters: tuple[str, ...] | None) -> str:
    """Reduced dims as "N, H, W (dims 0, 2, 3)", or "dims (0, 2, 3)" without letters."""
    if not axes:
        return "none"
    nums = ", ".join(map(str, axes))
    if letters and len(letters) > max(axes):
        return f"{letters_text(letters[d] for d in axes)} (dim{'s' if len(axes) > 1 else ''} {nums})"
    return f"dim{'s' if len(axes) > 1 else ''} {nums}"


def candidate_label(c: Candidate, letters: tuple[str, ...] | None = None) -> str:
    """One hypothesis of ``infer_axes`` in a few words, e.g. "GroupNorm(2) over C, H, W · per-channel affine"."""
    if not c.axes:
        return f"no normalization: y = a·x + b ({c.affine})"
    if letters and len(letters) > max(c.axes):
        over = letters_text(letters[d] for d in c.axes)
    else:
        over = "dims " + ", ".join(map(str, c.axes))
    if c.num_groups and c.name:
        head = VARIANTS[c.name].short(num_groups=c.num_groups)
    elif c.num_groups:
        head = f"{'normalize' if c.centered else 'RMS'} in {c.num_groups} channel groups"
    elif c.name:
        head = _title(c.name)
    else:
        head = "normalize" if c.centered else "RMS"
    var = " · unbiased var" if c.variance == "unbiased" else ""
    return f"{head} over {over}{var} · {c.affine} affine"


def report_rows(r: AxisReport, letters: tuple[str, ...] | None = None,
                shape: tuple[int, ...] | None = None) -> tuple[tuple[str, str], ...]:
    """``infer_axes``'s report as (field, value) rows a table shows (``shape``: x's, for the statistics' shape)."""
    found = bool(r.axes)
    if not found or shape is None:
        stat_shape = "—"
    elif r.num_groups:
        stat_shape = f"({shape[0]}, {r.num_groups}): one per (sample, group)"
    else:
        stat_shape = _tuple(1 if d in r.axes else s for d, s in enumerate(shape)) + " with keepdim"
    if r.variant and r.num_groups:
        layer = f"{_title(r.variant)} (num_groups = {r.num_groups})"
    elif r.variant:
        layer = _title(r.variant) + (f" over {tuple(r.normalized_shape)}" if r.normalized_shape else "")
    else:
        layer = "no standard layer" if found else "none: nothing normalizes like this"
    if not found:
        stat = "—"
    elif not r.centered:
        stat = "mean square (RMS), mean not removed"
    else:
        stat = "mean and biased variance (as torch)" if r.variance == "biased" else \
            "mean and UNBIASED variance (torch uses the biased one)"
    if r.affine == "none":
        affine = "none"
    else:
        affine = f"{r.affine}, shape {tuple(r.affine_shape) if r.affine_shape is not None else '?'}" + \
            ("" if r.bias is not None else ", no bias")
    if not found:
        eps = "—"
    elif r.eps is None:
        eps = "cannot be identified from this pair"
    elif r.eps == 0:
        eps = "0: eps is MISSING (torch adds 1e-05)"
    else:
        eps = f"≈ {r.eps:.2g}"
    also = ", ".join(_title(a) for a in r.also) or "—"
    # the other hypotheses that explain y too (light blue in the chart): a larger affine can undo a normalization
    others = sum(1 for c in r.candidates if c.residual <= r.tolerance) - (1 if found else 0)
    if found:
        residual = f"{r.residual:.1e}: explains y (a fit explains y when below {r.tolerance:.0e})"
    else:
        residual = f"{r.residual:.1e}: does NOT explain y (a fit explains y only below {r.tolerance:.0e})"
    rows = [
        ("reduced axes", axes_text(r.axes, letters)),
        ("matching layer", layer),
        ("statistics", stat),
        ("mean / variance shape", stat_shape),
        ("affine", affine),
        ("eps", eps),
        ("relative residual", residual),
    ]
    if found:
        rows.append(("same output as", also))
        rows.append(("other fits that explain y", f"{others} more, with at least as many affine parameters "
                     "(light blue in the chart)" if others > 0 else "none"))
    return tuple(rows)


def report_verdict(r: AxisReport, letters: tuple[str, ...] | None = None) -> tuple[str, str]:
    """("ok" | "mistake" | "unusual" | "none", one sentence): the headline of a check."""
    if not r.axes:
        return "none", "No normalization explains this output."
    over = axes_text(r.axes, letters)
    variant = VARIANTS.get(r.variant) if r.variant else None
    name = variant.short(**({"num_groups": r.num_groups} if r.num_groups else {})) if variant else ""
    problems = variant.traps.mistakes(letters, r.axes) if variant else []
    if r.variance == "unbiased":
        problems.append("it divides by the unbiased variance, where torch uses the biased one")
    if r.eps == 0:
        problems.append("eps is missing")
    if problems:
        return "mistake", f"{name or 'A normalization'} over {over}, but {' and '.join(problems)}."
    if not r.variant:
        return "unusual", f"A normalization over {over}, which no standard layer reduces over."
    return "ok", f"{name} over {over}."
