"""The words of ``explain``: every English sentence of the step-by-step arithmetic, in one place.

A step is stored as a sentence key and its numbers (``Step.key``,
``Step.numbers``); ``render`` fills the sentence in. The sentences of ``WORDS``
and ``TITLES`` are msgids of the gettext catalogs (vnviz.i18n): a translation
keeps the keys and the placeholders, and the numbers are formatted here, apart
from the words, by ``NUMBERS``, the same in every language. In a sentence,
``{name}`` is a number as a result and ``{name:o}`` the same number as an
operand after an operator (a negative one in parentheses, so that
``x − μ`` reads ``1.5 − (−0.25)``); tuples of numbers are written ``(a, b, c)``.
"""
from __future__ import annotations

import string
from typing import Any

from vnviz.i18n import N_, Msg

DIGITS = 6  # significant digits of every number in a sentence
MINUS = "−"  # the minus sign in sentences (U+2212), as in the formulas

# the title of each kind of step, in order (the step-through's headings)
TITLES: dict[str, str] = {
    "gather": N_("Gather the group"),
    "mean": N_("Its mean"),
    "variance": N_("Its variance"),
    "normalize": N_("Normalize"),
    "affine": N_("Affine"),
}

WORDS: dict[str, str] = {
    # 1. which values share the element's statistics
    "gather": N_("The group of x{element}: {members}, {count} values that share one mean and one variance."),
    "gather.cluster": N_("The group of x{element}: {members}, where S is the {samples} sample(s) of cluster "
                         "{cluster}: {count} values that share one mean and one variance."),
    "gather.noise": N_("Sample {sample} is noise (cluster {noise}), so x{element} is normalized with the statistics "
                       "of the whole batch: {members}, {count} values."),
    "gather.mixture": N_("Sample {sample} belongs to every component of the mixture, with posteriors τ = {tau}; each "
                         "component's statistics come from {members}, where S is all {samples} samples in the mixture, "
                         "weighted by their posteriors ({count} values)."),
    "gather.running": N_("The group of x{element} is {members} ({group_size} values), but in eval mode its values are "
                         "not averaged: the layer's running statistics are used instead."),
    # 2. the mean
    "mean": N_("Mean of the group: μ = {sum} / {count} = {mean}."),
    "mean.running": N_("The running mean of channel {channel}: μ = {mean} (not the batch's: the group's own mean "
                       "would be {batch_mean})."),
    "mean.fresh": N_("No running statistics were given, so eval mode uses a fresh layer's running mean: μ = {mean} "
                     "(not the batch's: the group's own mean would be {batch_mean})."),
    "mean.none": N_("No centering: the mean is not subtracted, so μ plays no part."),
    "mean.mixture": N_("The mean of channel {channel} in each component: μ = {mean}."),
    # 3. the variance (or mean square)
    "variance": N_("Variance of the group (biased, divided by {count}): σ² = mean of (x {minus} μ)² = {var}."),
    "variance.running": N_("The running variance of channel {channel}: σ² = {var} (not the batch's: the group's own "
                           "variance would be {batch_var})."),
    "variance.fresh": N_("A fresh layer's running variance: σ² = {var} (not the batch's: the group's own variance would "
                         "be {batch_var})."),
    "variance.rms": N_("Mean square of the group (no centering): ms = mean of x² = {var}."),
    "variance.mixture": N_("The variance of channel {channel} in each component (biased, posterior-weighted): σ² = {var}."),
    # 4. normalize
    "normalize": N_("x̂ = (x {minus} μ) / √(σ² + ε) = ({x} {minus} {mean:o}) / √({var} + {eps}) = {x_hat}."),
    "normalize.rms": N_("x̂ = x / √(ms + ε) = {x} / √({var} + {eps}) = {x_hat}."),
    "normalize.mixture": N_("x̂ = Σₖ τₖ/√πₖ · (x {minus} μₖ)/√(σ²ₖ + ε) with mixture weights π = {pi}: the "
                            "components give {terms}, so x̂ = {x_hat}."),
    # 5. the affine
    "affine": N_("y = γ·x̂ + β = {weight} · {x_hat:o} + {bias:o} = {y}."),
    "affine.weight": N_("y = γ·x̂ = {weight} · {x_hat:o} = {y} (no bias)."),
    "affine.bias": N_("y = x̂ + β = {x_hat} + {bias:o} = {y} (no weight)."),
    "affine.none": N_("No affine: y = x̂ = {y}."),
}


class _Numbers(string.Formatter):
    """Formats a sentence's numbers: ``{v}`` plainly, ``{v:o}`` as an operand (negatives in parentheses)."""

    def format_field(self, value: Any, spec: str) -> str:
        if isinstance(value, bool) or not isinstance(value, (int, float, tuple)):
            return str(value)
        if isinstance(value, tuple):
            return "(" + ", ".join(self.format_field(v, "") for v in value) + ")"
        text = str(value) if isinstance(value, int) else f"{value:.{DIGITS}g}"
        if text.startswith("-"):
            text = MINUS + text[1:]
        return f"({text})" if spec == "o" and text.startswith(MINUS) else text


NUMBERS = _Numbers()


def render(key: str, numbers: dict[str, Any]) -> str:
    """The sentence ``key`` of ``WORDS`` with ``numbers`` filled in: a Msg, English as a str, translated when drawn
    (the catalog translates the sentence; its numbers are formatted here, the same in every language)."""
    return Msg.using(NUMBERS, WORDS[key], minus=MINUS, **numbers)
