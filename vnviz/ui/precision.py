"""Explore's "compute in" control and its precision view.

The control is the link key ``compute_in`` (``vnviz.analysis.precision.COMPUTE_IN``: ``data``,
``float16``, ``bfloat16``, ``float32``, ``float64``). "data" runs the variant on the data as it is;
another dtype casts the input to it first, so the whole page (figures, verification, the output's
download, the snippet) is of the run in that dtype, and one caption under the control says so.
Whenever a dtype is chosen, or the data itself is float16 or bfloat16 (an upload), the precision
view (``view``) shows how far that run lands from float64 maths (``precision_report``, drawn by
``precision_figure``), the traps of that dtype on this data in plain sentences, and why torch's
autocast runs layer_norm and group_norm in float32 (docs/precision.md).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import streamlit as st
import torch

from vnviz.analysis.precision import COMPUTE_IN, PrecisionReport, dtype_for, precision_report
from vnviz.analysis.precision import _overflow as refuse_overflow
from vnviz.errors import InputError
from vnviz.figures.precision import precision_figure
from vnviz.i18n import N_, Msg
from vnviz.ui.compute import on_device, resolve_device, with_cpu_fallback
from vnviz.ui.data_panel import Data
from vnviz.ui.lang import plot, t
from vnviz.ui.widgets import linked
from vnviz.variants.norms import AUTOCAST_FP32_NORMS, HALF_DTYPES, accumulation_dtype, dtype_name

REPORT_ENTRIES = 32  # precision reports cached (a few numbers per group each)
NEAR_ZERO = 1 / 16  # an output below this in magnitude has ulps 16 times finer than at 1: the caption says so
AUTOCAST_WHY = Msg(
    "torch's CUDA autocast runs matrix multiplies and convolutions in float16 or bfloat16, and sends a list of ops "
    "back to float32: among them `{norms}` (torch's `AT_FORALL_FP32` list in `aten/src/ATen/autocast_mode.h`, the "
    "AMP docs' \"CUDA Ops that can autocast to float32\"), beside `exp`, `log`, `pow`, `rsqrt`, `norm` and the "
    "matrix norms, `cosine_similarity` and the losses. A norm squares its inputs and sums over a whole group: in "
    "float16 x² overflows as soon as |x| passes 256, every addition to a long sum loses bits, and an eps of 1e-5 is "
    "below the spacing of the numbers near a variance of 1; such reductions, in the AMP docs' words, \"often require "
    "the dynamic range of float32\". torch's kernels already sum half inputs in float32; autocast makes the whole "
    "layer float32, affine and output included. `batch_norm` and `instance_norm` are in no list: autocast leaves "
    "them in the activations' dtype, and their CUDA kernels (cuDNN's included) keep float32 statistics by "
    "themselves. CPU autocast (`torch.autocast(\"cpu\")`) leaves all of these norms in the input's dtype. More in "
    "docs/precision.md.", norms="`, `".join(AUTOCAST_FP32_NORMS))


@dataclass(frozen=True)
class Precision:
    """The "compute in" choice, applied to the data."""

    choice: str  # the control's value: "data" or a dtype name
    dtype: torch.dtype  # the dtype the variant runs in
    given: Data  # the data as it is, before any cast

    @property
    def cast(self) -> bool:
        """Whether the input was cast to another dtype before the variant runs."""
        return self.dtype != self.given.x.dtype

    @property
    def shows_view(self) -> bool:
        """Whether the precision view is drawn: a dtype was chosen, or the data itself is half precision."""
        return self.choice != "data" or self.dtype in HALF_DTYPES

    def headline(self, what: str) -> str:
        """Presenter mode's title ``what`` (a Msg), with " in float16" when the run is cast, or not in float32."""
        if self.cast or self.dtype != torch.float32:
            return Msg("{what} in {dtype}", what=what, dtype=dtype_name(self.dtype))
        return what

    @property
    def snippet(self) -> str:
        """The line a "reproduce in Python" snippet adds ("" when nothing is cast)."""
        return f"x = x.to(torch.{dtype_name(self.dtype)})  # compute in {dtype_name(self.dtype)}" if self.cast else ""


def compute_in_control(data: Data | None, container: Any = st) -> tuple[Data | None, Precision | None]:
    """Draw the "compute in" control (link key ``compute_in``) and apply it to ``data``.

    Returns the data the variant is to run on (cast to the chosen dtype, with its own cache key) and the
    choice; (None, None) while there is no data. A cast that would overflow the dtype is refused with one
    sentence, and the data is used as it is.
    """
    choice = linked(COMPUTE_IN, label=N_("compute in"), container=container)
    if data is None:
        return None, None
    given = data.x.dtype
    try:
        dtype = dtype_for(choice, given)
        if dtype != given:
            refuse_overflow(data.x, dtype)  # the library's sentence
    except InputError as err:
        container.error(t(Msg.join([err.msg, Msg("Computing in {dtype}, the data's own dtype.",
                                                 dtype=dtype_name(given))])))
        return data, Precision("data", given, data)
    p = Precision(choice, dtype, data)
    if p.cast:
        container.caption(t(Msg(
            "Computing in {dtype}: the {given} data is cast to {dtype} before the variant runs, so every figure, check "
            "and download below is of the {dtype} run (torch's kernels sum in {sums}).", dtype=dtype_name(dtype),
            given=dtype_name(given), sums=dtype_name(accumulation_dtype(dtype)))))
        data = replace(data, x=data.x.to(dtype), key=f"{data.key}:as:{dtype_name(dtype)}")
    elif choice != "data":
        container.caption(t(Msg("The data is {dtype} already: nothing is cast.", dtype=dtype_name(given))))
    return data, p


@st.cache_resource(max_entries=REPORT_ENTRIES, ttl=3600, show_spinner=False)
def cached_report(data_key: str, device: str, name: str, params_key: str, dtype: str, _x: torch.Tensor,
                  _params: dict[str, Any]) -> PrecisionReport:
    """``precision_report`` cached on (data, device, variant, parameters, compute dtype)."""
    return precision_report(name, _x, dtype, **_params)


def report(c: Any) -> PrecisionReport:
    """The precision report of the Explore controls ``c`` (on their device, the CPU when it runs out of memory)."""
    p: Precision = c.precision
    device, _ = resolve_device(c.device)

    def run(dev: str) -> PrecisionReport:
        x = on_device(p.given.key, dev, p.given.x)
        return cached_report(p.given.key, dev, c.variant.name, c.params_key, dtype_name(p.dtype), x, c.params)

    return with_cpu_fallback(device, run)[0]


def summary_text(r: PrecisionReport) -> str:
    """The view's numbers in a few sentences: the whole error against float64 maths, then the kernel's own share
    (a Msg: English as a str, translated where shown)."""
    name = dtype_name(r.dtype)
    # " (ulps are tiny near 0)": joined as a sentence is, so that Chinese puts no space before it
    near_zero = Msg.join(["", N_("(ulps are tiny near 0)")]) if abs(r.worst_reference) < NEAR_ZERO else ""
    numbers = dict(max_abs=r.max_abs, scaled=r.max_scaled, dtype=name, eps=torch.finfo(r.dtype).eps,
                   tolerance=r.tolerance, within=r.within_one_ulp, ulp=r.max_ulp, worst=r.worst_reference,
                   near_zero=near_zero)
    if r.within_tolerance:
        error = Msg("Against float64 maths on the data as given: largest error {max_abs:.3g}, {scaled:.2g} ε "
                    "of {dtype} at the output's scale (ε = {eps:.3g}), within the {dtype} tolerance {tolerance:.1e} "
                    "× max(1, |output|); {within:.1%} of the outputs are within one ulp, the worst {ulp:.3g} ulps off "
                    "an exact value of {worst:.3g}{near_zero}.", **numbers)
    else:
        error = Msg("Against float64 maths on the data as given: largest error {max_abs:.3g}, {scaled:.2g} ε "
                    "of {dtype} at the output's scale (ε = {eps:.3g}), **beyond** the {dtype} tolerance "
                    "{tolerance:.1e} × max(1, |output|); {within:.1%} of the outputs are within one ulp, the worst "
                    "{ulp:.3g} ulps off an exact value of {worst:.3g}{near_zero}.", **numbers)
    kernel = (Msg("The data is {dtype} already, so all of the error is the kernel's.", dtype=name)
              if r.dtype == r.source_dtype else
              Msg("The kernel alone (the data rounded to {dtype} first): {kernel:.2g} ε.", dtype=name,
                  kernel=r.kernel_max_scaled))
    stats = Msg("Statistics summed in {sums} over {groups} groups of up to {size} values.",
                sums=dtype_name(r.accumulation), groups=r.groups, size=r.group_size)
    return Msg.join([error, kernel, stats])


def view(c: Any, scale: float = 1.0) -> None:
    """The precision view of the Explore controls ``c`` (nothing when it does not apply)."""
    p: Precision | None = getattr(c, "precision", None)
    if p is None or not p.shows_view:
        return
    name = dtype_name(p.dtype)
    with st.container(border=True):
        if p.cast:
            head = Msg("**Precision: {title} in {dtype}** (cast from {given}) against float64 maths",
                       title=c.variant.title, dtype=name, given=dtype_name(p.given.x.dtype))
        else:
            head = Msg("**Precision: {title} in {dtype}** (the data's own dtype) against float64 maths",
                       title=c.variant.title, dtype=name)
        st.markdown(t(head))
        try:
            r = report(c)
        except InputError as err:
            st.error(t(err))
            return
        st.caption(t(summary_text(r)))
        plot(precision_figure(r, scale), key="precision")
        if r.traps:
            head = t(Msg("What can go wrong in {dtype} on this data", dtype=name))
            st.warning(f"**{head}**\n\n" + "\n".join(f"- {t(trap)}" for trap in r.traps), icon=":material/warning:")
        with st.expander(t(N_("Why torch's autocast runs layer_norm and group_norm in float32"))):
            st.markdown(t(AUTOCAST_WHY))
