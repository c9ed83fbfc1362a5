"""Verification of a norm variant's output, three ways.

1. The group check: after undoing the affine, every statistic group of the
   output has mean 0 and variance ``var / (var + eps)`` (≈ 1), RMSNorm mean
   square ``ms / (ms + eps)``.
2. Against the matching torch module (``nn.BatchNorm2d``, ``nn.LayerNorm``, ...)
   with the same affine parameters and buffers, running-statistics updates
   included.
3. Against an independent float64 formula driven by the group map alone.

Every check allows what the dtype's rounding allows (``rounding.tolerance``:
the dtype's eps, the group size and how far the groups' means sit from 0 in
units of their std), so a float16 or bfloat16 run passes exactly when it is
as good as a correct float32-accumulating kernel can be in that dtype.
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from vnviz.analysis.chunks import like, max_abs_diff, row_blocks
from vnviz.analysis.rounding import TOLERANCE, tolerance  # noqa: F401  (TOLERANCE re-exported)
from vnviz.analysis.stats import GroupStats, acc_dtype, group_stats
from vnviz.device import synchronize
from vnviz.errors import InputError
from vnviz.i18n import N_, Msg
from vnviz.variants.norms import affine_param, default_eps, dtype_name, params_dtype, trailing_shape
from vnviz.variants.registry import Reduction, apply, get_variant, module_code


@dataclass(frozen=True)
class Verification:
    """What the checks found; ``ok`` is True when all of them pass."""

    variant: str  # registry name
    groups: int  # number of statistic groups
    mean_max_abs: float  # largest |group mean| of the output with the affine undone (nan: not checked)
    var_max_dev: float  # largest |group variance - 1| (RMSNorm: mean square)
    var_eps_dev: float  # largest |group variance - var/(var+eps)|: what eps alone explains removed
    torch_max_abs_err: float  # largest |output - torch module output|
    ref64_max_abs_err: float  # largest |output - float64 group-map formula|
    running_max_abs_err: float | None  # largest |running stats - torch module's| after the update
    tolerance: float  # allowed error (relative to max(1, max |reference|)): rounding.tolerance for the dtype
    ok: bool  # every check within tolerance
    reference: str  # the torch module compared against, as code
    device: str  # where the variant ran
    seconds: float  # wall time of the variant alone, device synchronised
    note: str  # why a check was skipped, or "" when none was (a Msg: translated when drawn)
    undefined: int = 0  # groups whose output is 0/0 (eps = 0 and variance 0): not compared, and ok is False
    dtype: str = ""  # the dtype the variant ran in (x's), e.g. "float16"


def _eps(name: str, x: torch.Tensor, params: dict[str, Any]) -> float:
    """The eps a run used: the given one, else its declaration's default; None (RMSNorm's) is the machine epsilon
    of the dtype torch's kernel computes in (``norms.default_eps``: float32's for float16/bfloat16 input)."""
    eps = params.get("eps", get_variant(name).param("eps").default)
    return default_eps(x.dtype) if eps is None else eps


def _clone_buffers(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.detach().clone() if isinstance(v, torch.Tensor) else copy.copy(v)) for k, v in params.items()}


def _affine_pair(name: str, x: torch.Tensor, params: dict[str, Any]) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """weight and bias as full tensors of the variant's affine shape (or None), in the dtype the kernel takes them in
    (``params_dtype``: x's, or float32 for a float16/bfloat16 x given float32 parameters)."""
    variant = get_variant(name)
    if variant.affine == "trailing":
        shape = trailing_shape(params.get("normalized_shape"), tuple(x.shape), variant.title)
    elif variant.affine == "channel":
        shape = (x.shape[1],)
    else:
        return None, None
    dtype = params_dtype(x, params, variant.title)
    w = affine_param(params.get("weight"), shape, x, "weight", dtype)
    b = affine_param(params.get("bias"), shape, x, "bias", dtype) if "bias" in variant.param_names else None
    return w, b


def _broadcast(t: torch.Tensor, name: str, shape: tuple[int, ...]) -> torch.Tensor:
    """An affine tensor viewed so that it broadcasts against the input."""
    if get_variant(name).affine == "channel":
        return t.reshape((1, shape[1]) + (1,) * (len(shape) - 2))
    return t


def torch_module(name: str, x: torch.Tensor, params: dict[str, Any]) -> tuple[nn.Module | None, str]:
    """The torch module equivalent to ``apply(name, x, **params)`` (the declaration's), buffers and affine copied.

    The module is built in the dtype the kernel takes the parameters in
    (``params_dtype``): x's, or float32 for a float16/bfloat16 x given float32
    weight, bias or running statistics (torch's mixed precision, as a float32
    layer fed half activations). Returns (module, its code), or (None, why)
    when torch has none for this input.
    """
    try:
        dtype = params_dtype(x, params, get_variant(name).title)
        mod = get_variant(name).module(tuple(x.shape), device=x.device, dtype=dtype, **params)
    except InputError as err:
        return None, err.msg.without_period()
    return mod, module_code(mod)


def _formula64(name: str, x: torch.Tensor, params: dict[str, Any], groups: torch.Tensor,
               x_stats: GroupStats | None = None) -> Callable[[Any], torch.Tensor]:
    """``reference64`` as a function of an index into dim 0: the float64 output of ``x[s]``.

    The group statistics are computed once, up front; each call then widens
    only its block of samples, so a caller can walk a large tensor in blocks.
    """
    variant = get_variant(name)
    dt = acc_dtype(x.device)
    shape = tuple(x.shape)
    ids = like(groups, x)
    eps = _eps(name, x, params)
    if variant.stat == "rms":
        stats = x_stats if x_stats is not None else group_stats(x, ids, transform=torch.square)  # mean squares
        ms = stats.mean.to(x.device, dt)

        def core(s: Any) -> torch.Tensor:
            return x[s].detach().to(dt) / torch.sqrt(ms[ids[s]] + eps)
    else:
        rm, rv = params.get("running_mean"), params.get("running_var")
        use_running = variant.running(params)
        if use_running and rm is None:  # a fresh module's running statistics
            rm, rv = torch.zeros(shape[1], device=x.device), torch.ones(shape[1], device=x.device)
        if use_running:
            m = rm.to(x.device, dt).reshape((1, shape[1]) + (1,) * (len(shape) - 2))
            v = rv.to(x.device, dt).reshape(m.shape)

            def core(s: Any) -> torch.Tensor:
                return (x[s].detach().to(dt) - m) / torch.sqrt(v + eps)
        else:
            stats = x_stats if x_stats is not None else group_stats(x, ids)
            gm, gv = stats.mean.to(x.device, dt), stats.var.to(x.device, dt)

            def core(s: Any) -> torch.Tensor:
                i = ids[s]
                return (x[s].detach().to(dt) - gm[i]) / torch.sqrt(gv[i] + eps)
    w, b = _affine_pair(name, x, params)
    w = _broadcast(w.to(dt), name, shape) if w is not None else None
    b = _broadcast(b.to(dt), name, shape) if b is not None else None

    def formula(s: Any) -> torch.Tensor:
        y = core(s)
        if w is not None:
            y = y * w
        if b is not None:
            y = y + b
        return y

    return formula


def _cancellation(stats: GroupStats, eps: float, centered: bool, running: tuple[Any, Any] = (None, None)) -> float:
    """How many of its standard deviations the farthest group mean sits from 0 (0 when no mean is removed): what
    the float rounding of the mean costs in ``rounding.tolerance``."""
    if not centered:
        return 0.0
    used = stats.count > 0
    r = float((stats.mean[used].abs() / torch.sqrt(stats.var[used] + eps)).max()) if bool(used.any()) else 0.0
    rm, rv = running
    if rm is not None and rv is not None:
        r = max(r, float((rm.detach().double().abs() / torch.sqrt(rv.detach().double() + eps)).max()))
    return r if math.isfinite(r) else 0.0


def reference64(name: str, x: torch.Tensor, params: dict[str, Any], groups: torch.Tensor,
                x_stats: GroupStats | None = None) -> torch.Tensor:
    """The variant's output from its group map and the textbook formula, in float64.

    Independent of torch's fused kernels: group means and variances come from
    ``group_stats`` (index_add in float64), or from the running statistics in
    eval mode. ``x_stats``, when already computed on this map, are the group
    statistics the formula needs: of ``x``, or of ``x**2`` for RMSNorm.
    """
    return _formula64(name, x, params, groups, x_stats)(...)


def verify(name: str, x: torch.Tensor, **params: Any) -> tuple[torch.Tensor, Verification]:
    """Run ``apply(name, x, **params)`` and check its output three ways.

    Running-statistics buffers in ``params`` are updated in place, as by
    ``apply``; the torch module gets copies of their values from before.
    Returns (output, Verification).
    """
    y, v, _ = run_checked(name, x, params)
    return y, v


@dataclass(frozen=True)
class Checked:
    """What ``run_checked`` learnt besides the output and its verification."""

    groups: torch.Tensor  # the statistic-group map of this run (int64, shaped like x)
    cluster: Any = None  # ClusterNorm's ClusterResult (labels, statistics, warnings), else None
    x_stats: GroupStats | None = None  # the input's per-group mean and variance
    y_stats: GroupStats | None = None  # the output's, when it was computed on the way (no affine)


def run_checked(name: str, x: torch.Tensor, params: dict[str, Any]) -> tuple[torch.Tensor, Verification, Checked]:
    """``verify``, also returning the group map (and ClusterNorm's clustering) for the page."""
    variant = get_variant(name)
    before = _clone_buffers(params)
    cluster = None
    synchronize(x.device)
    t0 = time.perf_counter()
    if variant.details is not None:  # e.g. ClusterNorm's clusters, which its groups and checks need
        cluster = variant.details(x, **variant.check_params(params))
        y = cluster.y
        before.update(cluster.group_params)
    else:
        y = apply(name, x, **params)
    synchronize(x.device)
    seconds = time.perf_counter() - t0

    groups = variant.groups(tuple(x.shape), **{k: v for k, v in before.items() if not isinstance(v, torch.Tensor) or k == "labels"})
    if cluster is not None:
        y_v, v = _verify_cluster(name, x, y, before, cluster, groups, seconds)
        return y_v, v, Checked(groups.to(x.device), cluster)
    groups = groups.to(x.device)
    dt = acc_dtype(x.device)
    notes = []

    # 1. group check on the output with the affine undone (block by block, inside group_stats)
    w, b = _affine_pair(name, x, before)
    shift = _broadcast(b.to(dt), name, tuple(x.shape)) if b is not None else None
    scale_by = _broadcast(w.to(dt), name, tuple(x.shape)) if w is not None else None
    checked = True
    if w is not None and bool((w == 0).any()):
        checked = False
        notes.append(N_("a weight is 0, so the affine cannot be undone and the group check is skipped"))

    def undo_affine(v: torch.Tensor) -> torch.Tensor:
        if shift is not None:
            v = v - shift
        return v / scale_by if scale_by is not None else v
    if variant.running(before):
        checked = False
        notes.append(N_("eval mode normalizes with running statistics, so output groups are not mean 0 / variance 1"))
    ngroups = int(groups.max()) + 1
    mean_max = var_dev = var_eps = math.nan
    x_stats = group_stats(x, groups, ngroups)
    out = None
    # what the float64 formula needs: the groups' statistics of x, or of x**2 for RMSNorm
    src = group_stats(x, groups, ngroups, x_stats.count, torch.square) if variant.stat == "rms" else x_stats
    # eps = 0 with a constant group: (x - mean) / sqrt(var + eps) is 0/0 there (torch's kernels give 0)
    eps0 = before.get("eps") if variant.stat == "rms" else before.get("eps", 1e-5)
    spread = src.mean if variant.stat == "rms" else src.var
    zero = (spread == 0) & (x_stats.count > 0) if eps0 == 0 else torch.zeros_like(spread, dtype=torch.bool)
    undefined = int(zero.sum())
    if checked:
        out = group_stats(y, groups, ngroups, x_stats.count, undo_affine)
        eps = _eps(name, x, before)
        defined = ~zero.to(out.mean.device)
        if variant.stat == "rms":
            second = out.var + out.mean**2  # mean square of the output
            expected = src.mean / (src.mean + eps)
            mean_max = math.nan
            var_dev = float((second - 1).abs()[defined].max()) if bool(defined.any()) else math.nan
            var_eps = float((second - expected).abs()[defined].max()) if bool(defined.any()) else math.nan
        else:
            expected = src.var / (src.var + eps)
            mean_max = float(out.mean.abs().max())
            var_dev = float((out.var - 1).abs()[defined].max()) if bool(defined.any()) else math.nan
            var_eps = float((out.var - expected).abs()[defined].max()) if bool(defined.any()) else math.nan

    # 2. the torch module
    mod, code = torch_module(name, x, before)
    running_err = None
    if mod is not None:
        with torch.no_grad():
            y_mod = mod(x.detach())
        torch_err = max_abs_diff(y, y_mod)
        if before.get("running_mean") is not None and before.get("training", True):
            running_err = max(max_abs_diff(params["running_mean"], mod.running_mean),
                              max_abs_diff(params["running_var"], mod.running_var))
    else:
        torch_err = math.nan
        notes.append(code)

    # 3. the float64 formula, block by block: its largest difference from y, and its largest value
    formula = _formula64(name, x, before, groups, src)
    ref_err_t = top = torch.zeros((), dtype=dt, device=x.device)
    for s in row_blocks(tuple(x.shape), x.device):
        y64 = formula(s)
        if undefined:  # the 0/0 groups have no reference value: compare the others
            y64 = torch.where(torch.isnan(y64), y[s].detach().to(dt), y64)
        ref_err_t = torch.maximum(ref_err_t, (y[s].detach().to(dt) - y64).abs().max())
        top = torch.maximum(top, y64.abs().max())
    ref_err = float(ref_err_t)

    eps = _eps(name, x, before)
    running = (before.get("running_mean"), before.get("running_var")) if variant.running(before) else (None, None)
    size = int(x_stats.count.max()) if x_stats.count.numel() else x.numel()
    tol = tolerance(x.dtype, size, _cancellation(x_stats, eps, variant.stat != "rms", running))
    scale = max(1.0, float(top))
    errs = [e for e in (torch_err, ref_err) if e is not None and not math.isnan(e)]
    ok = all(e <= tol * scale for e in errs)
    if running_err is not None:  # the buffers have their own size
        size = max(1.0, float(mod.running_var.abs().max()), float(mod.running_mean.abs().max()))
        ok = ok and running_err <= tol * size
    if checked:
        ok = ok and (math.isnan(var_eps) or var_eps <= 10 * tol) and (math.isnan(mean_max) or mean_max <= 10 * tol)
    ok = ok and not undefined
    return y, Verification(
        variant=name, groups=ngroups, mean_max_abs=mean_max, var_max_dev=var_dev, var_eps_dev=var_eps,
        torch_max_abs_err=torch_err, ref64_max_abs_err=ref_err, running_max_abs_err=running_err,
        tolerance=tol, ok=ok, reference=code, device=str(x.device), seconds=seconds, note=Msg.join(notes, "; "),
        undefined=undefined, dtype=dtype_name(x.dtype),
    ), Checked(groups, None, x_stats, out if out is not None and w is None and b is None else None)


def _mixture64(x: torch.Tensor, tau: torch.Tensor, eps: float) -> torch.Tensor:
    """Mixture Normalization in float64 from the posteriors, written from the formula (no shared code)."""
    n, c = x.shape[:2]
    xs = x.detach().to(torch.float64).reshape(n, c, -1)  # (N, C, S)
    t = tau.to(torch.float64)  # (N, K)
    w = t[:, :, None, None]  # (N, K, 1, 1)
    lam = w.sum(0) * xs.shape[2]  # (K, 1, 1) elements weighted per component
    mu = (w * xs[:, None]).sum((0, 3), keepdim=True) / lam  # (1, K, C, 1)
    var = (w * (xs[:, None] - mu) ** 2).sum((0, 3), keepdim=True) / lam  # (1, K, C, 1)
    pi = t.sum(0) / n  # (K,)
    parts = (w / pi.sqrt()[None, :, None, None]) * (xs[:, None] - mu) / torch.sqrt(var + eps)  # (N, K, C, S)
    return parts.sum(1).reshape(x.shape)


def _noise_rows_batch64(name: str, x: torch.Tensor, eps: float, labels: torch.Tensor,
                        y64: torch.Tensor) -> torch.Tensor:
    """Put the float64 whole-batch normalization (each channel over the batch) into the rows of noise samples."""
    noise = (labels < 0).nonzero().flatten().to(x.device)
    if noise.numel():
        per_channel = Reduction(tuple(x.shape), (0,) + tuple(range(2, x.ndim))).group_map()
        batch = reference64(name, x, {"eps": eps}, per_channel)
        y64[noise] = batch[noise]
    return y64


def _verify_cluster(name: str, x: torch.Tensor, y: torch.Tensor, params: dict[str, Any], res: Any,
                    groups: torch.Tensor, seconds: float) -> tuple[torch.Tensor, Verification]:
    """Groups that are clusters of samples (ClusterNorm): group check and the declaration's torch module on each
    cluster (hard mode), the float64 mixture formula from the posteriors (soft mode)."""
    eps = _eps(name, x, params)
    shape = tuple(x.shape)
    w, b = _affine_pair(name, x, params)
    dt = acc_dtype(x.device)
    u = y.detach().to(dt)
    if b is not None:
        u = u - _broadcast(b.to(dt), name, shape)
    notes = []
    if w is not None and bool((w == 0).any()):
        notes.append(N_("a weight is 0, so the affine cannot be undone"))
        w = None
    elif w is not None:
        u = u / _broadcast(w.to(dt), name, shape)
    ngroups = int(groups.max()) + 1
    src = group_stats(x.detach(), groups, ngroups)
    size = int(src.count.max()) if src.count.numel() else x.numel()
    tol = tolerance(x.dtype, size, _cancellation(src, eps, True))
    mean_max = var_dev = var_eps = torch_err = math.nan
    if params.get("mode", "hard") == "hard":
        out = group_stats(u, groups, ngroups)
        # noise samples are normalized with the whole batch's statistics, so their group is not standardized
        clusters = int(res.counts.numel())
        used = (out.count > 0) & (torch.arange(ngroups) < clusters * shape[1])
        expected = src.var / (src.var + eps)
        if bool(used.any()):  # all noise leaves no cluster group to check (the batch rows are checked below)
            mean_max = float(out.mean[used].abs().max())
            var_dev = float((out.var[used] - 1).abs().max())
            var_eps = float((out.var[used] - expected[used]).abs().max())
        else:
            notes.append(N_("every sample is noise, so the output is plain BatchNorm of the whole batch"))
        mod, code = torch_module(name, x, {"labels": res.labels, "mode": "hard", "eps": eps})
        with torch.no_grad():
            torch_err = max_abs_diff(u, mod(x.detach())) if mod is not None else math.nan
        y64 = _noise_rows_batch64(name, x, eps, res.labels, reference64(name, x, {"eps": eps}, groups))
        ref_err = max_abs_diff(u, y64)
    else:
        notes.append(N_("soft mode mixes the components' statistics, so no group is standardized on its own"))
        tau = res.posteriors
        keep = res.labels >= 0
        y64 = _noise_rows_batch64(name, x, eps, res.labels, reference64(name, x, {"eps": eps}, groups))
        if bool(keep.any()):
            rows = keep.nonzero().flatten().to(x.device)
            y64[rows] = _mixture64(x.index_select(0, rows), tau[keep.to(tau.device)].to(x.device), eps)
        ref_err = max_abs_diff(u, y64)
        code = N_("float64 Mixture Normalization formula from the posteriors")
    scale = max(1.0, float(y64.abs().max()))
    errs = [e for e in (torch_err, ref_err) if not math.isnan(e)]
    ok = all(e <= tol * scale for e in errs)
    if not math.isnan(var_eps):
        ok = ok and var_eps <= 10 * tol and mean_max <= 10 * tol
    return y, Verification(
        variant=name, groups=ngroups, mean_max_abs=mean_max, var_max_dev=var_dev, var_eps_dev=var_eps,
        torch_max_abs_err=torch_err, ref64_max_abs_err=ref_err, running_max_abs_err=None, tolerance=tol, ok=ok,
        reference=code, device=str(x.device), seconds=seconds, note=Msg.join(notes, "; "), dtype=dtype_name(x.dtype),
    )
