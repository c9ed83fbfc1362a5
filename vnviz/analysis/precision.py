"""A norm computed in a low-precision dtype, against float64 maths: the error per group, in ulps, and the traps.

``precision_report(name, x, compute_dtype, **params)`` runs ``apply`` on x
cast to ``compute_dtype`` (float16, bfloat16, float32 or float64; None: x's
own dtype) and measures the output against the float64 formula of
``verify.reference64`` twice: on x as given (the whole error of computing in
that dtype, the rounding of x itself included) and on x rounded to the dtype
(what the kernel adds). Errors are absolute and in ulps, units in the last
place of the dtype at the reference value (``rounding.ulp``). The result is a
small summary, a few numbers per statistic group at most, ready for
``figures.precision``; the traps of that dtype on that data are said in plain
sentences: the general ones here (x² overflowing float16, an eps below the
dtype's spacing near the variance, cancellation when |mean| ≫ std), each
variant's own in its declaration (``Traps.precision``: rounded statistics,
RMSNorm's eps=None, what CUDA autocast does with it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from vnviz.analysis.chunks import like, row_blocks
from vnviz.analysis.rounding import significant_bits, tolerance, ulp
from vnviz.analysis.stats import acc_dtype, group_stats
from vnviz.analysis.verify import _eps, _formula64, _mixture64, _noise_rows_batch64, reference64
from vnviz.errors import InputError
from vnviz.i18n import N_, Msg
from vnviz.variants.norms import FLOAT_DTYPES, accumulation_dtype, check_input, dtype_name
from vnviz.variants.params import Param, quote
from vnviz.variants.registry import get_variant, norm_variants

COMPUTE_CHOICES = ("data", "float16", "bfloat16", "float32", "float64")  # "data": as the data is
COMPUTE_IN = Param(
    "compute_in", "choice", "data",
    N_("Run the layer in this dtype (the data is cast first); 'data' keeps the data's own dtype."),
    choices=COMPUTE_CHOICES,
)  # the Explore link key of the "compute in" control
MAX_GROUPS = 4096  # per-group errors longer than this are kept as maxima over blocks of consecutive groups
WORST = 8  # how many of the worst groups are named
ULP_EDGES = (0.5, 1.0, 2.0, 4.0, 16.0, 256.0)  # histogram of the errors in ulps: ≤ 0.5 (correctly rounded), ...
CANCELLATION_BITS = 4  # |mean| / std at or above 2**this is reported as cancellation


@dataclass(frozen=True)
class PrecisionReport:
    """How far a variant computed in ``dtype`` lands from float64 maths (tensors small and on the CPU)."""

    variant: str  # registry name
    dtype: torch.dtype  # the dtype it was computed in
    source_dtype: torch.dtype  # x's dtype as given
    accumulation: torch.dtype  # the dtype torch's kernels sum the statistics in (float32 for half dtypes)
    groups: int  # statistic groups
    group_size: int  # values in the largest group
    block: int  # consecutive group ids per entry of group_ulp (1 unless there are more than MAX_GROUPS groups)
    group_ulp: torch.Tensor  # (P,) largest error in ulps per group (or block of groups), against x as given
    group_kernel_ulp: torch.Tensor  # (P,) the same against x rounded to dtype: the kernel's own share
    worst_groups: tuple[tuple[int, float], ...]  # (group id, largest ulp error) of the worst groups, worst first
    max_abs: float  # largest |y - reference| against x as given
    max_ulp: float  # largest error in ulps against x as given
    max_scaled: float  # largest |y - reference| / (eps · max(1, |reference|)), eps = finfo(dtype).eps: the error in
    #   units of the dtype at the output's scale, the units ``tolerance`` is in (near-zero outputs do not inflate it)
    kernel_max_abs: float  # largest |y - reference| against x rounded to dtype
    kernel_max_ulp: float  # largest error in ulps against x rounded to dtype
    kernel_max_scaled: float  # max_scaled against x rounded to dtype
    ulp_edges: tuple[float, ...]  # the upper edges of ulp_counts' bins (the last bin is everything above)
    ulp_counts: torch.Tensor  # (len(ulp_edges) + 1,) outputs per bin of error in ulps, against x as given
    worst_index: tuple[int, ...]  # the element with the largest ulp error
    worst_x: float  # its input, as given
    worst_y: float  # its output in dtype
    worst_reference: float  # its float64 reference
    cancellation: float  # the largest |group mean| / group std (0 for RMSNorm)
    tolerance: float  # rounding.tolerance for this dtype, group size and cancellation (relative to max(1, |ref|))
    within_tolerance: bool  # max_abs <= tolerance * max(1, largest |reference|)
    traps: tuple[str, ...]  # plain sentences: what can go wrong in this dtype on this data

    @property
    def within_one_ulp(self) -> float:
        """Fraction of outputs at most one ulp from the reference (as given)."""
        total = int(self.ulp_counts.sum())
        return float(self.ulp_counts[:2].sum()) / total if total else 1.0


def dtype_for(choice: str | torch.dtype | None, data_dtype: torch.dtype) -> torch.dtype:
    """The dtype a "compute in" choice stands for: "data" (or None) is the data's own dtype."""
    if isinstance(choice, torch.dtype):
        if choice not in FLOAT_DTYPES:
            raise InputError("compute_in must be one of {choices}; got {dtype}.",
                             choices=", ".join(COMPUTE_CHOICES), dtype=dtype_name(choice))
        return choice
    if choice is None or choice == "data":
        return data_dtype
    if choice not in COMPUTE_CHOICES:
        raise InputError("compute_in must be one of {choices}; got {got}.", choices=", ".join(COMPUTE_CHOICES),
                         got=quote(choice))
    return getattr(torch, choice)


def _cast_params(params: dict[str, Any], dtype: torch.dtype) -> dict[str, Any]:
    """Parameters for the run in ``dtype``: float tensors follow x into it (float32 ones stay float32 next to a
    half dtype, torch's mixed mode); running buffers are copied, so the caller's stay as they were."""
    out = {}
    for k, v in params.items():
        if isinstance(v, torch.Tensor) and v.is_floating_point():
            keep = dtype in (torch.float16, torch.bfloat16) and v.dtype == torch.float32
            v = v.detach().clone() if keep else v.detach().to(dtype)
        out[k] = v
    return out


def _overflow(x: torch.Tensor, dtype: torch.dtype) -> None:
    """Refuse values that the cast to ``dtype`` would turn into Inf."""
    biggest = float(x.detach().abs().max())
    limit = torch.finfo(dtype).max
    if math.isfinite(biggest) and biggest > limit:
        raise InputError("The data holds values up to {biggest:.4g}, beyond {dtype}'s largest {limit:.6g}: "
                         "computing in {dtype} would turn them into Inf; rescale it or compute in a wider dtype.",
                         biggest=biggest, dtype=dtype_name(dtype), limit=limit)


def precision_report(name: str, x: Any, compute_dtype: str | torch.dtype | None = None,
                     **params: Any) -> PrecisionReport:
    """Run ``apply(name, x.to(compute_dtype), **params)`` and measure it against float64 maths.

    Args:
        name: a norm variant of ``vnviz.VARIANTS``.
        x: the data, in any float dtype ``apply`` takes.
        compute_dtype: float16, bfloat16, float32 or float64 (a torch dtype or
            its name; ``"data"`` or None: x's own dtype).
        params: the variant's parameters, as ``apply`` takes them (float weight
            and bias tensors follow x into the dtype, float32 ones next to a
            half dtype excepted: torch's mixed mode).

    Returns a :class:`PrecisionReport`: the error per statistic group in ulps
    against float64 maths on x as given and on x rounded to the dtype, overall
    max abs and ulp errors, where the worst one is, a histogram of the errors
    in ulps, the ``rounding.tolerance`` they are judged by, and the traps.
    Outputs near 0 have tiny ulps, so an absolute error there (a rounded mean,
    cancellation, or float32 sums) shows as many ulps, also for a kernel that
    is as exact as its dtype allows: ``worst_reference`` tells, and
    ``max_scaled`` gives the error in units of the dtype at the output's scale.
    Raises InputError for what ``apply`` refuses and for values beyond the
    dtype's range.
    """
    v = get_variant(name)
    if v.rule is None:
        names = ", ".join(n.name for n in norm_variants())
        raise InputError("precision_report: {title} is not a normalization; choose one of {names}.",
                         title=v.title, names=names)
    x = check_input(x, v.title, v.min_ndim)
    dtype = dtype_for(compute_dtype, x.dtype)
    params = v.check_params(params)
    _overflow(x, dtype)
    xc = x.detach().to(dtype)
    run = _cast_params(params, dtype)
    shape = tuple(x.shape)
    cluster = None
    if v.details is not None:
        cluster = v.details(xc, **run)
        y = cluster.y
        group_params = cluster.group_params
    else:
        y = v.fn(xc, **run)
        group_params = {k: p for k, p in params.items() if not isinstance(p, torch.Tensor)}
    groups = like(v.groups(shape, **group_params), x)
    ngroups = int(groups.max()) + 1
    eps = _eps(name, xc, run)  # the one the run added (RMSNorm's None: the compute dtype's, not x's)
    ref_params = {**run, "eps": eps}
    ref_given = _reference(name, x, ref_params, groups, ngroups, cluster, eps)
    ref_kernel = _reference(name, xc, ref_params, groups, ngroups, cluster, eps)
    m = _measure(y, groups, ngroups, dtype, ref_given, ref_kernel, shape)
    stats = group_stats(x.detach(), groups, ngroups)
    size = int(stats.count.max())
    cancel = _cancellation(stats, eps) if v.stat != "rms" else 0.0
    tol = tolerance(dtype, size, cancel)
    notes = general_traps(x, dtype, stats, eps, v.stat != "rms", v.title) + v.traps.precision_notes(x, params, dtype)
    return PrecisionReport(
        variant=v.name, dtype=dtype, source_dtype=x.dtype, accumulation=accumulation_dtype(dtype), groups=ngroups,
        group_size=size, block=m["block"], group_ulp=m["group_ulp"], group_kernel_ulp=m["group_kernel_ulp"],
        worst_groups=m["worst_groups"], max_abs=m["max_abs"], max_ulp=m["max_ulp"], max_scaled=m["max_scaled"],
        kernel_max_abs=m["kernel_max_abs"], kernel_max_ulp=m["kernel_max_ulp"],
        kernel_max_scaled=m["kernel_max_scaled"], ulp_edges=ULP_EDGES,
        ulp_counts=m["ulp_counts"], worst_index=m["worst_index"], worst_x=float(x.reshape(-1)[m["worst_flat"]]),
        worst_y=float(y.reshape(-1)[m["worst_flat"]]), worst_reference=m["worst_reference"], cancellation=cancel,
        tolerance=tol, within_tolerance=m["max_abs"] <= tol * max(1.0, m["top"]), traps=tuple(notes),
    )


def _reference(name: str, x: torch.Tensor, params: dict[str, Any], groups: torch.Tensor, ngroups: int,
               cluster: Any, eps: float) -> Any:
    """A function of an index into dim 0 giving the float64 reference of ``x[s]`` (ClusterNorm: from its labels)."""
    if cluster is None:
        src = None
        if get_variant(name).stat == "rms":
            src = group_stats(x, groups, ngroups, transform=torch.square)
        return _formula64(name, x, params, groups, src)
    # the clusters come from the run being measured; the reference normalizes the same groups in float64
    if params.get("mode", "hard") == "hard":
        y64 = reference64(name, x, {"eps": eps}, groups)
    else:
        y64 = reference64(name, x, {"eps": eps}, groups)
        keep = cluster.labels >= 0
        if bool(keep.any()):
            rows = keep.nonzero().flatten().to(x.device)
            tau = cluster.posteriors[keep.to(cluster.posteriors.device)].to(x.device)
            y64[rows] = _mixture64(x.index_select(0, rows), tau, eps)
    y64 = _noise_rows_batch64(name, x, eps, cluster.labels, y64)
    w, b = params.get("weight"), params.get("bias")
    c = x.shape[1]
    view = (1, c) + (1,) * (x.ndim - 2)
    if w is not None:
        y64 = y64 * (torch.as_tensor(w, dtype=y64.dtype, device=x.device).reshape(-1).expand(c).reshape(view))
    if b is not None:
        y64 = y64 + (torch.as_tensor(b, dtype=y64.dtype, device=x.device).reshape(-1).expand(c).reshape(view))
    return lambda s: y64[s]


def _measure(y: torch.Tensor, groups: torch.Tensor, ngroups: int, dtype: torch.dtype, ref_given: Any,
             ref_kernel: Any, shape: tuple[int, ...]) -> dict[str, Any]:
    """Walk the output in blocks of samples: per-group maxima, overall maxima, the worst element, the histogram."""
    dt = acc_dtype(y.device)
    g_ulp = torch.zeros(ngroups, dtype=dt, device=y.device)
    g_kernel = torch.zeros(ngroups, dtype=dt, device=y.device)
    edges = torch.tensor(ULP_EDGES, dtype=dt, device=y.device)
    counts = torch.zeros(len(ULP_EDGES) + 1, dtype=torch.long, device=y.device)
    best = {"max_abs": 0.0, "kernel_max_abs": 0.0, "max_ulp": -1.0, "kernel_max_ulp": 0.0, "top": 0.0,
            "max_scaled": 0.0, "kernel_max_scaled": 0.0, "worst_flat": 0, "worst_reference": 0.0}
    unit = torch.finfo(dtype).eps
    per_row = math.prod(shape[1:])
    for s in row_blocks(shape, y.device):
        start = 0 if s is ... else s.start
        yb = y[s].detach().to(dt)
        ids = groups[s].reshape(-1)
        for ref_fn, table, key in ((ref_given, g_ulp, ""), (ref_kernel, g_kernel, "kernel_")):
            ref = ref_fn(s).to(dt)
            err = (yb - ref).abs()
            units = (err / ulp(ref, dtype)).reshape(-1)
            table.scatter_reduce_(0, ids, units, reduce="amax")
            best[f"{key}max_abs"] = max(best[f"{key}max_abs"], float(err.max()))
            scaled = float((err / (unit * ref.abs().clamp_min(1.0))).max())
            best[f"{key}max_scaled"] = max(best[f"{key}max_scaled"], scaled)
            top_ulp, where = units.max(0)
            if key == "":
                best["top"] = max(best["top"], float(ref.abs().max()))
                counts += torch.bincount(torch.bucketize(units, edges), minlength=counts.numel())
                if float(top_ulp) > best["max_ulp"]:
                    best["max_ulp"] = float(top_ulp)
                    best["worst_flat"] = start * per_row + int(where)
                    best["worst_reference"] = float(ref.reshape(-1)[where])
            else:
                best["kernel_max_ulp"] = max(best["kernel_max_ulp"], float(top_ulp))
    block = max(1, math.ceil(ngroups / MAX_GROUPS))
    order = torch.argsort(g_ulp, descending=True)[:WORST]
    worst = tuple((int(i), float(g_ulp[i])) for i in order)
    flat = best.pop("worst_flat")
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), shape))
    return {**best, "worst_flat": flat, "worst_index": index, "block": block, "worst_groups": worst,
            "group_ulp": _blocks_max(g_ulp, block), "group_kernel_ulp": _blocks_max(g_kernel, block),
            "ulp_counts": counts.cpu()}


def _blocks_max(t: torch.Tensor, block: int) -> torch.Tensor:
    """Maxima over blocks of ``block`` consecutive entries (the last one may be short), as float32 on the CPU."""
    if block > 1:
        pad = (-t.numel()) % block
        t = torch.cat([t, t.new_zeros(pad)]).reshape(-1, block).amax(1)
    return t.float().cpu()


def _cancellation(stats: Any, eps: float) -> float:
    used = stats.count > 0
    r = stats.mean[used].abs() / torch.sqrt(stats.var[used] + eps)
    worst = float(r.max()) if r.numel() else 0.0
    return worst if math.isfinite(worst) else 0.0


# -- the general traps ---------------------------------------------------------------------------------


def general_traps(x: torch.Tensor, dtype: torch.dtype, stats: Any, eps: float, centered: bool,
                  title: str) -> list[str]:
    """What goes wrong in ``dtype`` on this data whatever the variant, one plain sentence each.

    ``stats`` are the data's per-group statistics (``group_stats``, float64),
    ``eps`` the one the kernel adds, ``centered`` whether the mean is removed.
    """
    out = []
    name = dtype_name(dtype)
    fi = torch.finfo(dtype)
    biggest = float(x.detach().abs().max())
    square_limit = math.sqrt(fi.max)
    if biggest > square_limit:
        values = dict(biggest=biggest, dtype=name, max=fi.max, limit=square_limit,
                      acc=dtype_name(accumulation_dtype(dtype)))
        if dtype == torch.float16:
            out.append(Msg("|x| reaches {biggest:.4g}, and x² overflows {dtype} above √{max:.6g} = {limit:.4g} (256 is "
                           "the first float16 whose square is Inf; 255.875 is the last that is finite): torch's kernels "
                           "square in {acc}, but a hand-written norm that computes x.pow(2).mean() in {dtype} gets "
                           "Inf, and its output NaN.", **values))
        else:
            out.append(Msg("|x| reaches {biggest:.4g}, and x² overflows {dtype} above √{max:.6g} = {limit:.4g}: torch's "
                           "kernels square in {acc}, but a hand-written norm that computes x.pow(2).mean() in {dtype} "
                           "gets Inf, and its output NaN.", **values))
    elif dtype == torch.float16 and stats.count.numel():
        n = int(stats.count.max())
        ms = float((stats.var + stats.mean**2).max())  # the largest group mean square
        if n * ms > fi.max:
            out.append(Msg("A group's sum of squares reaches {sum:.4g}, past float16's largest {max:.6g}: a "
                           "hand-written norm that sums x² in float16 before dividing by n gets Inf; torch's kernels "
                           "sum in float32.", sum=n * ms, max=fi.max))
    used = stats.count > 0
    if bool(used.any()):
        var = (stats.var if centered else stats.var + stats.mean**2)[used]  # what eps is added to
        lost = (eps > 0) & (eps < ulp(var, dtype) / 2)
        if bool(lost.any()):
            k = int(lost.nonzero()[0, 0])
            v0 = float(var[k])
            out.append(Msg("eps = {eps:.3g} is below half the spacing of {dtype} numbers near the {stat} {value:.4g} "
                           "(spacing {spacing:.3g}, {bits} significant bits) in {lost} of {groups} group(s): var + eps "
                           "rounds back to var in {dtype}, so eps does nothing there; torch's kernels add it in {acc}, "
                           "a norm written in {dtype} loses it.",
                           eps=eps, dtype=name, stat=N_("variance") if centered else N_("mean square"), value=v0,
                           spacing=float(ulp(var[k], dtype)), bits=significant_bits(dtype), lost=int(lost.sum()),
                           groups=int(used.sum()), acc=dtype_name(accumulation_dtype(dtype))))
        if centered:
            r = float((stats.mean[used].abs() / torch.sqrt(stats.var[used] + eps)).max())
            if math.isfinite(r) and r >= 2**CANCELLATION_BITS:
                bits = significant_bits(dtype)
                left = bits - math.log2(r)
                kept = (Msg("keeps only about {left:.1f} of {dtype}'s {bits} significant bits", left=left, dtype=name,
                            bits=bits) if left > 0 else
                        Msg("keeps none of {dtype}'s {bits} significant bits (the std is below the spacing of {dtype} "
                            "numbers near the mean)", dtype=name, bits=bits))
                out.append(Msg("Cancellation: a group's |mean| is {r:.3g} times its std, so x − mean {kept} once x is "
                               "rounded to {dtype}, and a one-pass E[x²] − E[x]² loses about {more:.0f} bits more "
                               "(torch's kernels subtract the mean first, in {acc}); centre the data before a {title} "
                               "in {dtype}.",
                               r=r, kept=kept, dtype=name, more=2 * math.log2(r),
                               acc=dtype_name(accumulation_dtype(dtype)), title=title))
    return out
