"""``infer_axes``'s report in words: the rows of a table, a headline verdict, and each hypothesis's label.

Every sentence is a ``vnviz.i18n.Msg`` (English as a str, translated when drawn).
"""
from __future__ import annotations

from vnviz.analysis.infer import AxisReport, Candidate
from vnviz.analysis.infer_words import affine_kind
from vnviz.i18n import N_, Msg, plural_msg
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
        return N_("none")
    nums = ", ".join(map(str, axes))
    dims = plural_msg("dim {nums}", "dims {nums}", len(axes), nums=nums)
    if letters and len(letters) > max(axes):
        return Msg("{letters} ({dims})", letters=letters_text(letters[d] for d in axes), dims=dims)
    return dims


def candidate_label(c: Candidate, letters: tuple[str, ...] | None = None) -> str:
    """One hypothesis of ``infer_axes`` in a few words, e.g. "GroupNorm(2) over C, H, W · per-channel affine"."""
    if not c.axes:
        return Msg("no normalization: y = a·x + b ({affine})", affine=affine_kind(c.affine))
    if letters and len(letters) > max(c.axes):
        over = letters_text(letters[d] for d in c.axes)
    else:
        over = Msg("dims {nums}", nums=", ".join(map(str, c.axes)))
    if c.num_groups and c.name:
        head = VARIANTS[c.name].short(num_groups=c.num_groups)
    elif c.num_groups:
        head = (Msg("normalize in {g} channel groups", g=c.num_groups) if c.centered
                else Msg("RMS in {g} channel groups", g=c.num_groups))
    elif c.name:
        head = _title(c.name)
    else:
        head = N_("normalize") if c.centered else N_("RMS")
    if c.variance == "unbiased":
        return Msg("{head} over {over} · unbiased var · {affine} affine", head=head, over=over, affine=affine_kind(c.affine))
    return Msg("{head} over {over} · {affine} affine", head=head, over=over, affine=affine_kind(c.affine))


def report_rows(r: AxisReport, letters: tuple[str, ...] | None = None,
                shape: tuple[int, ...] | None = None) -> tuple[tuple[str, str], ...]:
    """``infer_axes``'s report as (field, value) rows a table shows (``shape``: x's, for the statistics' shape)."""
    found = bool(r.axes)
    if not found or shape is None:
        stat_shape = "—"
    elif r.num_groups:
        stat_shape = Msg("({n}, {g}): one per (sample, group)", n=shape[0], g=r.num_groups)
    else:
        stat_shape = Msg("{shape} with keepdim", shape=_tuple(1 if d in r.axes else s for d, s in enumerate(shape)))
    if r.variant and r.num_groups:
        layer = Msg("{title} (num_groups = {g})", title=_title(r.variant), g=r.num_groups)
    elif r.variant and r.normalized_shape:
        layer = Msg("{title} over {shape}", title=_title(r.variant), shape=tuple(r.normalized_shape))
    elif r.variant:
        layer = _title(r.variant)
    else:
        layer = N_("no standard layer") if found else N_("none: nothing normalizes like this")
    if not found:
        stat = "—"
    elif not r.centered:
        stat = N_("mean square (RMS), mean not removed")
    else:
        stat = N_("mean and biased variance (as torch)") if r.variance == "biased" else \
            N_("mean and UNBIASED variance (torch uses the biased one)")
    if r.affine == "none":
        affine = N_("none")
    else:
        shape_text = tuple(r.affine_shape) if r.affine_shape is not None else "?"
        affine = (Msg("{affine}, shape {shape}", affine=affine_kind(r.affine), shape=shape_text) if r.bias is not None
                  else Msg("{affine}, shape {shape}, no bias", affine=affine_kind(r.affine), shape=shape_text))
    if not found:
        eps = "—"
    elif r.eps is None:
        eps = N_("cannot be identified from this pair")
    elif r.eps == 0:
        eps = N_("0: eps is MISSING (torch adds 1e-05)")
    else:
        eps = f"≈ {r.eps:.2g}"
    also = Msg.join((_title(a) for a in r.also), ", ") if r.also else "—"
    # the other hypotheses that explain y too (light blue in the chart): a larger affine can undo a normalization
    others = sum(1 for c in r.candidates if c.residual <= r.tolerance) - (1 if found else 0)
    if found:
        residual = Msg("{residual:.1e}: explains y (a fit explains y when below {tolerance:.0e})", residual=r.residual,
                       tolerance=r.tolerance)
    else:
        residual = Msg("{residual:.1e}: does NOT explain y (a fit explains y only below {tolerance:.0e})",
                       residual=r.residual, tolerance=r.tolerance)
    rows = [
        (N_("reduced axes"), axes_text(r.axes, letters)),
        (N_("matching layer"), layer),
        (N_("statistics"), stat),
        (N_("mean / variance shape"), stat_shape),
        (N_("affine"), affine),
        ("eps", eps),
        (N_("relative residual"), residual),
    ]
    if found:
        rows.append((N_("same output as"), also))
        rows.append((N_("other fits that explain y"), plural_msg(
            "{n} more, with at least as many affine parameters (light blue in the chart)",
            "{n} more, with at least as many affine parameters (light blue in the chart)", others, n=others)
            if others > 0 else N_("none")))
    return tuple(rows)


def report_verdict(r: AxisReport, letters: tuple[str, ...] | None = None) -> tuple[str, str]:
    """("ok" | "mistake" | "unusual" | "none", one sentence): the headline of a check."""
    if not r.axes:
        return "none", N_("No normalization explains this output.")
    over = axes_text(r.axes, letters)
    variant = VARIANTS.get(r.variant) if r.variant else None
    name = variant.short(**({"num_groups": r.num_groups} if r.num_groups else {})) if variant else ""
    problems = variant.traps.mistakes(letters, r.axes) if variant else []
    if r.variance == "unbiased":
        problems.append(N_("it divides by the unbiased variance, where torch uses the biased one"))
    if r.eps == 0:
        problems.append(N_("eps is missing"))
    if problems:
        return "mistake", Msg("{name} over {over}, but {problems}.", name=name or N_("A normalization"), over=over,
                              problems=Msg.join(problems, " and ", clauses=True))
    if not r.variant:
        return "unusual", Msg("A normalization over {over}, which no standard layer reduces over.", over=over)
    return "ok", Msg("{name} over {over}.", name=name, over=over)
