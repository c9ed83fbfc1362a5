"""One element followed through a normalization: its group, the statistics used, and the arithmetic.

``explain(name, x, index, **params)`` says, for the element ``x[index]``,
which values share its statistics, which mean and variance normalized it,
and the five steps that turn x into y, with the numbers. Only the element's
statistic group is read (``Reduction.members``), so a large tensor costs one
group, not the whole input; ClusterNorm is the exception: its clusters come
from the whole batch. Everything stays on x's device.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch

from vnviz.analysis.explain_words import TITLES, render
from vnviz.errors import InputError
from vnviz.variants.norms import accumulation_dtype, affine_param, check_input, default_eps, params_dtype
from vnviz.variants.params import named, quote, scalar
from vnviz.variants.registry import Reduction, Variant, get_variant, norm_variants

ROUNDING_UNITS = 16  # Explanation.tolerance: (ROUNDING_UNITS + √count) units of rounding of the statistics


@dataclass(frozen=True)
class Step:
    """One step of an element's arithmetic: a sentence key and the numbers it uses (words in ``explain_words``)."""

    kind: str  # "gather", "mean", "variance", "normalize" or "affine", in that order
    key: str  # the sentence of explain_words.WORDS that says it, e.g. "mean.running"
    numbers: dict[str, Any]  # the values the sentence shows, by its placeholder names (floats, ints, tuples, text)
    uses: tuple[str, ...]  # what it reads: "group" (the group's values), "element" (x itself), "running" (buffers),
    #   "mean", "var", "eps", "x_hat", "weight", "bias" (what a picture highlights at this step)

    @property
    def title(self) -> str:
        """The step's heading, e.g. "Its mean" (a Msg)."""
        return TITLES[self.kind]

    @property
    def text(self) -> str:
        """The step in words, numbers filled in: a Msg, English as a str (``explain_words`` holds every sentence)."""
        return render(self.key, self.numbers)


@dataclass(frozen=True)
class Explanation:
    """One element of a normalization, followed from x to y (tensors 0-d and on x's device, except where said).

    ``mean``, ``var`` and ``x_hat`` are in the dtype the kernels compute
    statistics in (``accumulation_dtype``: float32 for float16/bfloat16 input,
    else x's dtype); ``x`` and ``y`` are in x's dtype, ``weight`` and ``bias`` in
    the dtype the kernel takes them in (x's, or float32 for a float16/bfloat16 x
    given float32 parameters: ``norms.param_dtype``).
    """

    variant: str  # registry name
    index: tuple[int, ...]  # the element, every position non-negative
    group: int  # its statistic group's id, as in vnviz.stat_groups
    group_size: int  # how many elements share its statistics (the group map's count of ``group``)
    members: tuple[Any, ...]  # x[members]: the values its statistics are computed from, every dim kept
    #   (ClusterNorm: dim 0 is a LongTensor of samples); in eval mode the group the running statistics serve
    count: int | None  # how many values the statistics are computed from; None: running statistics
    source: str  # where the statistics come from: "group" (its values), "running" (the running buffers),
    #   "fresh" (eval mode without buffers: a fresh layer's mean 0, variance 1), "cluster" (its cluster's),
    #   "noise" (a noise sample: the whole batch's), "mixture" (every component's, soft ClusterNorm)
    centered: bool  # the mean is subtracted (False: RMSNorm, var is the mean square)
    mean: torch.Tensor | None  # the mean used; None without centering; mixture: (K,) each component's
    var: torch.Tensor  # the (biased) variance used, or the mean square; mixture: (K,) each component's
    eps: float  # added to var (RMSNorm's eps=None is the machine epsilon of the accumulation dtype, as nn.RMSNorm)
    x: torch.Tensor  # x[index]
    x_hat: torch.Tensor  # the normalized value, (x − μ)/√(σ² + ε) (mixture: Σₖ τₖ/√πₖ · (x − μₖ)/√(σ²ₖ + ε))
    weight: torch.Tensor | None  # γ at the element; None without one
    bias: torch.Tensor | None  # β at the element; None without one
    y: torch.Tensor  # the output at the element: apply(name, x, **params)[index]
    steps: tuple[Step, ...]  # the computation in order: gather, mean, variance, normalize, affine
    cluster: int | None = None  # ClusterNorm: the sample's cluster (soft: its most likely component), -1 noise
    posteriors: torch.Tensor | None = None  # soft ClusterNorm: (K,) the sample's posteriors τₖ
    priors: torch.Tensor | None = None  # soft ClusterNorm: (K,) the mixture weights πₖ

    @property
    def residual(self) -> float:
        """How far the reported numbers are from the kernel's y: |γ·x̂ + β − y| relative to the size of the
        arithmetic, |β| + |γ|·(1 + a·(|x| + |μ|)/√(σ² + ε)) (a = Σₖ τₖ/√πₖ for a mixture, else 1; its largest |μₖ|
        and smallest √(σ²ₖ + ε)); float rounding keeps it below ``tolerance``."""
        op = self.x_hat.dtype
        w = self.weight.to(op) if self.weight is not None else None
        b = self.bias.to(op) if self.bias is not None else None
        err = float((_affine(self.x_hat, w, b) - self.y.to(op)).abs())
        mean = 0.0 if self.mean is None else float(self.mean.abs().max())
        sd = float(torch.sqrt(self.var + self.eps).min())
        a = 1.0 if self.priors is None else float((self.posteriors / self.priors.sqrt()).sum())
        gamma = 1.0 if w is None else float(w.abs())
        size = (0.0 if b is None else float(b.abs())) + gamma * (1 + a * (float(self.x.abs()) + mean) / sd)
        return err / size if size > 0 else err

    @property
    def tolerance(self) -> float:
        """The bound on ``residual``: (ROUNDING_UNITS + √count) units of rounding of the dtype the statistics are
        computed in (they are summed in another order than the kernel's), plus one of x's dtype (y is rounded)."""
        n = self.count or 1
        return (ROUNDING_UNITS + math.sqrt(n)) * torch.finfo(self.x_hat.dtype).eps + torch.finfo(self.y.dtype).eps


# -- the index -----------------------------------------------------------------------------------


def check_index(index: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    """``index`` as a tuple of non-negative ints into ``shape`` (negatives count from the end), or InputError."""
    raw = index
    if isinstance(index, torch.Tensor) or type(index).__module__ == "numpy":
        index = index.tolist() if getattr(index, "ndim", 0) == 1 else scalar(index)
    if isinstance(index, int) and not isinstance(index, bool):
        index = (index,)
    try:
        items = tuple(scalar(v) for v in index)
    except TypeError:
        items = None
    if items is None or isinstance(index, (str, bytes)) or any(isinstance(v, bool) or not isinstance(v, int)
                                                               for v in items):
        raise InputError("explain: index must be a tuple of whole numbers, one per dim of shape {shape}; got {got}.",
                         shape=shape, got=quote(raw))
    if len(items) != len(shape):
        raise InputError("explain: index {raw} gives {given} position(s), but x has shape {shape}, so it needs {needed}.",
                         raw=quote(raw), given=len(items), shape=shape, needed=len(shape))
    for d, (i, s) in enumerate(zip(items, shape)):
        if not -s <= i < s:
            raise InputError("explain: index {raw} is out of range for shape {shape}: dim {d} takes {low} to {high}.",
                             raw=quote(raw), shape=shape, d=d, low=-s, high=s - 1)
    return tuple(i % s for i, s in zip(items, shape))


# -- shared pieces ---------------------------------------------------------------------------------


def group_ids(v: Variant, red: Reduction, group_params: dict[str, Any], idx: torch.Tensor) -> torch.Tensor:
    """The statistic-group ids (as ``stat_groups``) at the positions ``idx`` (M, ndim), without the whole map.

    Ids never depend on the sizes of the dims a group spans whole, so the map
    is built on the shape with those dims cut to 1 (ClusterNorm's samples kept).
    """
    shape = red.shape
    small = tuple(1 if d in red.reduced and not (d == 0 and red.clusters) else s for d, s in enumerate(shape))
    if red.clusters:
        gmap = v.groups(small, **group_params)
    else:
        gmap = dataclasses.replace(red, shape=small).group_map()
    idx = idx.to(gmap.device)
    return gmap[tuple(idx[:, d] if small[d] > 1 else torch.zeros_like(idx[:, d]) for d in range(len(shape)))]


def _eps(v: Variant, params: dict[str, Any], dtype: torch.dtype) -> float:
    """The eps the kernel adds; None (RMSNorm's default) is the machine epsilon of the dtype it computes in."""
    eps = params["eps"] if "eps" in params else v.param("eps").default if "eps" in v.param_names else 0.0
    return default_eps(dtype) if eps is None else float(eps)


def _affine_at(v: Variant, red: Reduction, x: torch.Tensor, params: dict[str, Any],
               idx: tuple[int, ...]) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """γ and β at the element (0-d, in the dtype the kernel takes them in: x's, or float32 for a half x given float32
    parameters), or None; a number is that number, a tensor is checked first."""
    if v.affine == "none":
        return None, None
    shape = tuple(red.shape[d] for d in red.affine)
    at = tuple(idx[d] for d in red.affine)
    dtype = params_dtype(x, params, v.title)
    out = []
    for name in ("weight", "bias"):
        value = scalar(params.get(name)) if name in v.param_names else None
        if value is None:
            out.append(None)
        elif isinstance(value, (int, float)):
            out.append(affine_param(value, (), x, named(v.title, name), dtype))
        else:
            out.append(affine_param(value, shape, x, named(v.title, name), dtype)[at].clone())
    return out[0], out[1]


def _text_index(idx: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, idx)) + "]"


def _text_members(sel: tuple[Any, ...]) -> str:
    """x[sel] as code: "x[:, 1, :, :]", GroupNorm "x[3, 2:4, :, :]", a set of samples "x[S, 1, :, :]"."""
    parts = []
    for s in sel:
        if not isinstance(s, slice):
            parts.append("S")
        elif s.start is None:
            parts.append(":")
        elif s.stop - s.start == 1:
            parts.append(str(s.start))
        else:
            parts.append(f"{s.start}:{s.stop}")
    return "x[" + ", ".join(parts) + "]"


def _stats(part: torch.Tensor, op: torch.dtype, centered: bool) -> tuple[torch.Tensor | None, torch.Tensor]:
    """The group's mean and biased variance (or None and its mean square), computed in ``op``."""
    values = part.detach().to(op)
    if not centered:
        return None, values.square().mean()
    var, mean = torch.var_mean(values, correction=0)
    return mean, var


def _normalized(xv: torch.Tensor, mean: torch.Tensor | None, var: torch.Tensor, eps: float) -> torch.Tensor:
    centred = xv if mean is None else xv - mean
    return centred / torch.sqrt(var + eps)


def _affine(x_hat: torch.Tensor, w: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor:
    y = x_hat if w is None else x_hat * w.to(x_hat.dtype)
    return y if b is None else y + b.to(x_hat.dtype)


def _clone(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v.detach().clone() if isinstance(v, torch.Tensor) else v for k, v in params.items()}


def _alone_y(v: Variant, x: torch.Tensor, params: dict[str, Any], sel: tuple[slice, ...],
             idx: tuple[int, ...]) -> torch.Tensor:
    """The kernel's own output at the element, from running ``fn`` on the element's group alone."""
    part = x[sel].detach().contiguous()  # as the kernel reads a contiguous x: bitwise its output on the CPU
    try:
        out = v.fn(part, **v.alone(x, params, sel))
    except InputError:
        v.fn(x, **_clone(params))  # the sentence the whole input gets (it quotes x's shape), never its buffers
        raise
    return out[tuple(i - (s.start or 0) for i, s in zip(idx, sel))].clone()


# -- the steps -------------------------------------------------------------------------------------


def _n(t: torch.Tensor | None) -> Any:
    """A 0-d tensor as a float, a 1-d one as a tuple of floats."""
    if t is None:
        return None
    return float(t) if t.ndim == 0 else tuple(t.tolist())


def _tail_steps(x: float, mean: Any, var: Any, eps: float, x_hat: float, w: Any, b: Any, y: float,
                centered: bool) -> list[Step]:
    """Steps 4 and 5: normalize and the affine."""
    if centered:
        norm = Step("normalize", "normalize", {"x": x, "mean": mean, "var": var, "eps": eps, "x_hat": x_hat},
                    ("element", "mean", "var", "eps"))
    else:
        norm = Step("normalize", "normalize.rms", {"x": x, "var": var, "eps": eps, "x_hat": x_hat},
                    ("element", "var", "eps"))
    key = {(True, True): "affine", (True, False): "affine.weight", (False, True): "affine.bias",
           (False, False): "affine.none"}[(w is not None, b is not None)]
    numbers = {"x_hat": x_hat, "y": y}
    numbers |= ({"weight": w} if w is not None else {}) | ({"bias": b} if b is not None else {})
    uses = ("element", "x_hat") + (("weight",) if w is not None else ()) + (("bias",) if b is not None else ())
    return [norm, Step("affine", key, numbers, uses)]


def _group_steps(gather: Step, mean: float | None, var: float, count: int) -> list[Step]:
    """Steps 2 and 3 from the group's own values."""
    if mean is None:
        return [gather, Step("mean", "mean.none", {}, ()),
                Step("variance", "variance.rms", {"var": var, "count": count}, ("group",))]
    return [gather, Step("mean", "mean", {"sum": mean * count, "count": count, "mean": mean}, ("group",)),
            Step("variance", "variance", {"var": var, "count": count}, ("group", "mean"))]


# -- explain ---------------------------------------------------------------------------------------


def explain(name: str, x: torch.Tensor, index: Any, **params: Any) -> Explanation:
    """Follow the element ``x[index]`` through ``apply(name, x, **params)``: its group, statistics and arithmetic.

    Args:
        name: a norm variant of ``vnviz.VARIANTS``.
        x: the input, as ``apply`` takes it.
        index: a full index into x, one whole number per dim (negatives count from the end).
        params: the variant's parameters, as ``apply`` takes them.

    The statistics are those the layer actually uses for this element: the
    group's own mean and biased variance (batch, instance or group statistics
    in training); the running ones in eval mode (``Variant.running``; without
    buffers those of a freshly built module, mean 0 and variance 1); for
    RMSNorm no mean and the mean square; for ClusterNorm the sample's
    cluster's (a noise sample: the whole batch's; soft mode: every component's,
    with the sample's posteriors τ and the mixture weights π). They are
    recomputed from the group in the dtype torch's kernels compute statistics
    in (``accumulation_dtype``: float32 for float16/bfloat16, not float64), so
    they agree with the kernel's own to float rounding, and ``weight·x_hat +
    bias`` with ``y`` too (``Explanation.residual`` below ``.tolerance``).

    ``y`` is the kernel's own output: the variant run on the element's group
    alone (``Variant.alone``), which for a contiguous x on the CPU equals
    ``apply(name, x, **params)[index]`` bitwise; a channels-last, permuted or
    strided x, and other devices' kernels, sum in another order, so there it
    agrees to float rounding (within ``Explanation.tolerance``). ClusterNorm
    first clusters the whole batch and ``y`` is its output, bitwise. A variant declaring no ``alone`` gets ``y`` from the
    formula, rounded to x's dtype. Only the element's group is checked: a NaN
    elsewhere, which makes ``apply`` raise, does not stop ``explain``. Running
    buffers are never updated (the group runs on copies), so the caller's stay
    as they were, unlike ``apply`` in training mode.

    Raises InputError for what ``apply`` refuses, for a variant that is not a
    normalization, and for an index that does not fit x's shape.
    """
    return _explain(name, x, index, params)[0]


Found = tuple[Explanation, Reduction, dict[str, Any], torch.Tensor]  # what _explain finds


def _explain(name: str, x: Any, index: Any, params: dict[str, Any]) -> Found:
    """``explain``, also returning the reduction, the parameters that fix the groups and x as a tensor."""
    v = get_variant(name)
    if v.rule is None:
        names = ", ".join(n.name for n in norm_variants())
        raise InputError("explain: {title} is not a normalization, so no element has a statistic group; choose one "
                         "of {names}.",
                         title=v.title, names=names)
    x = check_input(x, v.title, v.min_ndim)
    shape = tuple(x.shape)
    idx = check_index(index, shape)
    params = v.check_params(params)
    if v.details is not None:
        return _explain_by_data(v, x, idx, params)
    eps = _eps(v, params, x.dtype)
    op = accumulation_dtype(x.dtype)
    red = v.reduction(shape, **params)
    sel = red.members(idx)
    y = _alone_y(v, x, params, sel, idx) if v.alone is not None else None  # first: its checks, its sentences
    part = x[sel]
    xv = x[idx].detach().clone()
    w, b = _affine_at(v, red, x, params, idx)
    gid = int(group_ids(v, red, {}, torch.tensor([idx]))[0])
    c = idx[red.channel]
    element, members = _text_index(idx), _text_members(sel)
    if v.running(params):
        batch_mean, batch_var = _stats(part, op, red.centered)
        rm, rv = params.get("running_mean"), params.get("running_var")
        source = "fresh" if rm is None else "running"
        if rm is None:  # what a freshly built module holds
            mean, var = torch.zeros((), dtype=op, device=x.device), torch.ones((), dtype=op, device=x.device)
        else:
            mean, var = rm.detach()[c].to(op), rv.detach()[c].to(op)
        count = None
        running = {"channel": c, "batch_mean": _n(batch_mean), "batch_var": _n(batch_var)}
        steps = [
            Step("gather", "gather.running", {"element": element, "members": members, "group_size": red.group_size},
                 ("group",)),
            Step("mean", f"mean.{source}", {**running, "mean": _n(mean)}, ("running",)),
            Step("variance", f"variance.{source}", {**running, "var": _n(var)}, ("running",)),
        ]
    else:
        source, count = "group", part.numel()
        mean, var = _stats(part, op, red.centered)
        gather = Step("gather", "gather", {"element": element, "members": members, "count": count}, ("group",))
        steps = _group_steps(gather, _n(mean), _n(var), count)
    x_hat = _normalized(xv.to(op), mean, var, eps)
    if y is None:
        y = _affine(x_hat, w, b).to(x.dtype)
    steps += _tail_steps(_n(xv), _n(mean), _n(var), eps, _n(x_hat), _n(w), _n(b), _n(y), red.centered)
    e = Explanation(
        variant=v.name, index=idx, group=gid, group_size=red.group_size, members=sel, count=count, source=source,
        centered=red.centered, mean=mean, var=var, eps=eps, x=xv, x_hat=x_hat, weight=w, bias=b, y=y,
        steps=tuple(steps),
    )
    return e, red, {}, x


def _explain_by_data(v: Variant, x: torch.Tensor, idx: tuple[int, ...], params: dict[str, Any]) -> Found:
    """An element of a variant whose groups come from the data (ClusterNorm): its ``details`` on the whole batch."""
    res = v.details(x, **params)
    gp = res.group_params
    red = v.reduction(tuple(x.shape), **{**params, **gp})
    shape = red.shape
    eps = _eps(v, params, x.dtype)
    op = accumulation_dtype(x.dtype)
    n, c = idx[0], idx[red.channel]
    labels = res.labels
    label = int(labels[n])
    per_sample = math.prod(shape[2:])
    sel = red.members(idx, labels)
    xv = x[idx].detach().clone()
    w, b = _affine_at(v, red, x, params, idx)
    gid = int(group_ids(v, red, gp, torch.tensor([idx]))[0])
    group_size = int((labels == label).sum()) * per_sample
    element = _text_index(idx)
    tau = pi = None
    if label < 0:  # noise: the whole batch's statistics of its channel
        source = "noise"
        part = x[sel]
        count = part.numel()
        mean, var = _stats(part, op, True)
        gather = Step("gather", "gather.noise", {"sample": n, "noise": -1, "element": element,
                                                 "members": _text_members(sel), "count": count}, ("group",))
        steps = _group_steps(gather, _n(mean), _n(var), count)
        x_hat = _normalized(xv.to(op), mean, var, eps)
    elif res.posteriors is not None:  # soft mode: every component, weighted by the sample's posteriors
        source = "mixture"
        keep = labels >= 0
        samples = int(keep.sum())
        count = samples * per_sample
        sel = (slice(None) if samples == shape[0] else keep.nonzero().flatten(),) + sel[1:]
        tau, pi = res.posteriors[n].to(op), res.priors.to(op)
        mean, var = res.means[:, c].to(op), res.vars[:, c].to(op)
        terms = tau / pi.sqrt() * (xv.to(op) - mean) / torch.sqrt(var + eps)  # (K,)
        x_hat = terms.sum()
        steps = [
            Step("gather", "gather.mixture", {"sample": n, "tau": _n(tau), "members": _text_members((None,) + sel[1:]),
                                              "samples": samples, "count": count}, ("group",)),
            Step("mean", "mean.mixture", {"channel": c, "mean": _n(mean)}, ("group",)),
            Step("variance", "variance.mixture", {"channel": c, "var": _n(var)}, ("group", "mean")),
            Step("normalize", "normalize.mixture", {"x": _n(xv), "mean": _n(mean), "var": _n(var), "eps": eps,
                                                    "tau": _n(tau), "pi": _n(pi), "terms": _n(terms),
                                                    "x_hat": _n(x_hat)}, ("element", "mean", "var", "eps")),
        ]
    else:  # hard mode: its cluster's statistics
        source = "cluster"
        count = int(res.counts[label]) * per_sample
        mean, var = res.means[label, c].to(op), res.vars[label, c].to(op)
        gather = Step("gather", "gather.cluster", {"element": element, "members": _text_members(sel),
                                                   "samples": int(res.counts[label]), "cluster": label,
                                                   "count": count}, ("group",))
        steps = _group_steps(gather, _n(mean), _n(var), count)
        x_hat = _normalized(xv.to(op), mean, var, eps)
    y = res.y[idx].detach().clone()
    tail = _tail_steps(_n(xv), _n(mean), _n(var), eps, _n(x_hat), _n(w), _n(b), _n(y), True)
    steps += tail[1:] if source == "mixture" else tail
    e = Explanation(
        variant=v.name, index=idx, group=gid, group_size=group_size, members=sel, count=count, source=source,
        centered=True, mean=mean, var=var, eps=eps, x=xv, x_hat=x_hat, weight=w, bias=b, y=y, steps=tuple(steps),
        cluster=label, posteriors=tau, priors=pi,
    )
    return e, red, gp, x
