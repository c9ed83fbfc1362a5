"""vnviz's benchmark: vnviz beside torch, scikit-learn and the memory-bandwidth floor.

Run ``python -m vnviz.bench`` (``--device cuda``, ``--sizes 1e4,1e5,1e6,1e7``,
``--json out.json``, ``--sections norms,views``; ``--help`` lists the rest). Every figure is a median over repeats, with
the device synchronised around each timed call; ratios are taken within one run
so that a noisy machine cancels out (vnviz against torch: the median of the
round-by-round ratios, vnviz and torch timed in turn).

Sections:
1. each norm's ``vnviz.apply`` against torch's fused kernel and the bandwidth
   floor (one read-twice/write-once pass, from a large copy on the same device),
   in each dtype (``--dtypes``, default float32, float64, float16, bfloat16);
2. the full analysis behind one Explore view, by size;
3. the bytes a view sends to the browser, by size;
4. ClusterNorm with each clustering method against scikit-learn KMeans + BatchNorm;
5. on CUDA: peak GPU memory of the view;
6. the training lab (``--sections train``): steps/s of ``vnviz.train.train`` with everything
   recorded, against a plain loop over the same network and against a plain loop
   over the matching torch modules (``nn.Linear``/``nn.Conv2d``, ``nn.BatchNorm1d``, ...);
7. ``precision`` (not in the default sections): how each norm's kernel rounds
   float16 and bfloat16 on this device, against float32 maths rounded once and
   against float64 maths (``analysis.precision.precision_report``).
"""
from __future__ import annotations

import argparse
import ctypes
import json
import math
import statistics
import time
from typing import Any, Callable

import torch
import torch.nn.functional as F

import vnviz
from vnviz.analysis.view import explore_view
from vnviz.device import describe_device, synchronize

NORM_SHAPE = (64, 32, 32, 32)  # the reference tensor: 2M float32 values
NORM_DTYPES = ("float32", "float64", "float16", "bfloat16")  # section 1's dtypes, in this order
TORCH_KERNELS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "batch_norm": lambda x: F.batch_norm(x, None, None, training=True),
    "layer_norm": lambda x: F.layer_norm(x, x.shape[1:]),
    "instance_norm": lambda x: F.instance_norm(x),
    "group_norm": lambda x: F.group_norm(x, 2),
    "rms_norm": lambda x: F.rms_norm(x, x.shape[1:]),
    # torch's kernel on the channels moved last, the output back in x's layout (as ConvNeXt's and SAM's modules)
    "layer_norm_2d": lambda x: F.layer_norm(x.movedim(1, -1), x.shape[1:2], eps=1e-6).movedim(-1, 1).contiguous(),
}


def steady_malloc() -> bool:
    """Ask glibc to keep freed blocks of up to 32 MB for reuse; True when it agreed.

    By default glibc hands a large freed block back to the kernel (``munmap``,
    or trimming the heap top), and the next call of the same size faults all its
    pages in again: a few milliseconds for an 8 MB output on this machine, paid
    by one side of a comparison or the other depending on heap layout. A
    long-running process such as the app server reaches this steady state on its
    own; fixing the thresholds (32 MB is the largest glibc allows for mmap)
    reaches it from the first round. Linux/glibc only; a no-op elsewhere.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 32 << 20)) and bool(libc.mallopt(m_trim_threshold, 1 << 30))


def timeit(fn: Callable[[], Any], device: torch.device, repeats: int = 15, warmup: int = 3) -> float:
    """Median seconds of ``fn()`` over ``repeats`` runs, the device synchronised around each."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved(fns: dict[str, Callable[[], Any]], device: torch.device, repeats: int = 15) -> dict[str, list[float]]:
    """Seconds of several functions timed in turn (A B C A B C ...), one list per function.

    Entry i of every list comes from the same round, so a ratio taken round by
    round compares runs made moments apart: drift and bursts of load on a
    shared machine hit both sides of it alike.
    """
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            synchronize(device)
            t0 = time.perf_counter()
            fn()
            synchronize(device)
            times[k].append(time.perf_counter() - t0)
    return times


def paired_ratio(a: list[float], b: list[float]) -> float:
    """The median over rounds of a[i] / b[i]."""
    return statistics.median(x / y for x, y in zip(a, b))


def bandwidth_floor(x: torch.Tensor, repeats: int) -> tuple[float, float]:
    """(seconds of one read-twice/write-once pass over x, copy bandwidth in GB/s), from a large copy."""
    big = torch.empty(max(x.numel(), 1 << 26), dtype=x.dtype, device=x.device)  # >= 256 MB: beyond the caches
    out = torch.empty_like(big)
    t = timeit(lambda: out.copy_(big), x.device, repeats)
    bytes_per_s = 2 * big.numel() * big.element_size() / t
    floor = 3 * x.numel() * x.element_size() / bytes_per_s
    return floor, bytes_per_s / 1e9


def bench_norms(device: torch.device, repeats: int, shape: tuple[int, ...] = NORM_SHAPE,
                dtypes: tuple[str, ...] = NORM_DTYPES) -> dict[str, Any]:
    """Section 1: each norm's vnviz.apply against torch's kernel on the same dtype, and the floor of that dtype.

    Each row also says whether vnviz's output equals torch's bit for bit (the same kernel on the same data).
    """
    base = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    rows, floors = [], {}
    for dtype_name in dtypes:
        x = base.to(device=device, dtype=getattr(torch, dtype_name))
        floor, gbps = bandwidth_floor(x, repeats)
        floors[dtype_name] = {"floor_ms": floor * 1e3, "copy_GBps": gbps}
        for name, kernel in TORCH_KERNELS.items():
            params = {"num_groups": 2} if name == "group_norm" else {}
            t = interleaved({"vnviz": lambda: vnviz.apply(name, x, **params), "torch": lambda: kernel(x)}, device,
                            repeats)
            ours, theirs = statistics.median(t["vnviz"]), statistics.median(t["torch"])
            rows.append({"variant": name, "dtype": dtype_name, "vnviz_ms": ours * 1e3, "torch_ms": theirs * 1e3,
                         "ratio_to_torch": paired_ratio(t["vnviz"], t["torch"]), "ratio_to_floor": ours / floor,
                         "bitwise": bool(torch.equal(vnviz.apply(name, x, **params), kernel(x)))})
    first = floors[dtypes[0]]
    return {"shape": list(shape), "floor_ms": first["floor_ms"], "copy_GBps": first["copy_GBps"], "floors": floors,
            "dtypes": list(dtypes), "rows": rows}


def bench_precision(device: torch.device, shape: tuple[int, ...] = (64, 32, 16, 16)) -> list[dict[str, Any]]:
    """Section 7: per norm and half dtype, how the kernel rounds: the share of outputs that differ from torch's kernel
    on the float32 copy rounded once (0: float32 maths rounded once), and the error against float64 maths in units
    of the dtype at the output's scale (the kernel alone, and with x's own rounding to the dtype)."""
    from vnviz.analysis.precision import precision_report

    base = torch.randn(shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 2 + 0.5
    rows = []
    for name, kernel in TORCH_KERNELS.items():
        params = {"num_groups": 2} if name == "group_norm" else {}
        for dtype in (torch.float16, torch.bfloat16):
            x = base.to(device=device, dtype=dtype)
            y, once = kernel(x), kernel(x.float()).to(dtype)
            r = precision_report(name, base.to(device=device, dtype=torch.float32), dtype, **params)
            rows.append({"variant": name, "dtype": str(dtype).replace("torch.", ""),
                         "differ_from_float32_once": float((y != once).double().mean()),
                         "kernel_eps_units": r.kernel_max_scaled, "eps_units": r.max_scaled,
                         "kernel_max_ulp": r.kernel_max_ulp, "within_tolerance": r.within_tolerance})
    return rows


def view_payload(view: Any) -> int:
    """Bytes of JSON the Explore page's figures send to the browser for a view."""
    from vnviz.figures import norm as figs

    figures = [
        figs.distributions(view.before.hist, view.after.hist),
        figs.facets(view.before.facets, "before", figs.BEFORE_COLOR),
        figs.facets(view.after.facets, "after", figs.AFTER_COLOR),
        figs.axis_profiles(view.before.axes, view.after.axes),
        figs.group_map(view.group_map),
        figs.group_heatmaps(view.before.groups, view.after.groups, view.group_grid),
    ]
    return sum(len(f.to_json()) for f in figures)


def shape_for(numel: int) -> tuple[int, ...]:
    """An (N, 16, H, W) shape with about ``numel`` elements (square images, N >= 2)."""
    side = max(2, int(round(math.sqrt(max(numel, 64) / (16 * 16)))))
    n = max(2, int(round(numel / (16 * side * side))))
    return (n, 16, side, side)


def bench_views(device: torch.device, sizes: list[int], repeats: int, payload: bool) -> list[dict[str, Any]]:
    """Sections 2, 3 and 5: one Explore view's analysis time, payload and peak memory by size."""
    rows = []
    for numel in sizes:
        shape = shape_for(numel)
        x = torch.randn(shape, generator=torch.Generator().manual_seed(1)).to(device)
        for name, params in (("batch_norm", {}), ("group_norm", {"num_groups": 4})):
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            t = timeit(lambda: explore_view(x, name, params, layout="N C H W"), device, repeats, warmup=1)
            row = {"variant": name, "shape": list(shape), "numel": x.numel(), "view_ms": t * 1e3}
            if payload:
                row["browser_bytes"] = view_payload(explore_view(x, name, params, layout="N C H W"))
            if device.type == "cuda":
                row["peak_gpu_MiB"] = torch.cuda.max_memory_allocated(device) / 2**20
            rows.append(row)
    return rows


def bench_cluster(device: torch.device, sizes: list[int], repeats: int, features: int = 16,
                  methods: list[str] | None = None) -> list[dict[str, Any]]:
    """Section 4: ClusterNorm per method (k=8) against scikit-learn KMeans(n_init=1) + per-cluster BatchNorm."""
    import warnings

    from sklearn.cluster import KMeans

    warnings.filterwarnings("ignore", category=UserWarning)  # e.g. scikit-learn on a disconnected spectral graph

    from vnviz.variants.cluster import METHODS

    rows = []
    for n in sizes:
        g = torch.Generator().manual_seed(2)
        centers = torch.randn(8, features, generator=g) * 6
        x = (centers[torch.randint(0, 8, (n,), generator=g)] + torch.randn(n, features, generator=g)).to(device)
        xc = x.cpu().numpy()

        def sklearn_baseline() -> torch.Tensor:
            labels = torch.as_tensor(KMeans(8, n_init=1, random_state=0).fit_predict(xc), device=device)
            return vnviz.apply("cluster_norm", x, labels=labels)

        base = timeit(sklearn_baseline, device, max(1, repeats // 3), warmup=1)
        rows.append({"n": n, "method": "sklearn KMeans + BN (baseline)", "ms": base * 1e3, "ratio_to_baseline": 1.0})
        for method, info in METHODS.items():
            if methods is not None and method not in methods:
                continue
            cap = info[1]
            if cap is not None and n > cap:
                rows.append({"n": n, "method": method, "ms": None, "ratio_to_baseline": None, "note": f"refused above {cap}"})
                continue
            t = timeit(lambda: vnviz.apply("cluster_norm", x, method=method, n_clusters=8), device,
                       max(1, repeats // 3), warmup=1)
            rows.append({"n": n, "method": method, "ms": t * 1e3, "ratio_to_baseline": t / base})
    return rows


TRAIN_CASES = (  # (model, hidden, norm, the matching torch module for one hidden layer, or None)
    ("mlp", (100, 100, 100), "none", None),
    ("mlp", (100, 100, 100), "batch_norm", lambda shape: torch.nn.BatchNorm1d(shape[0])),
    ("mlp", (100, 100, 100), "layer_norm", lambda shape: torch.nn.LayerNorm(shape)),
    ("mlp", (100, 100, 100), "group_norm", lambda shape: torch.nn.GroupNorm(2, shape[0])),
    ("mlp", (100, 100, 100), "cluster_norm", None),
    ("cnn", (8, 16), "none", None),
    ("cnn", (8, 16), "batch_norm", lambda shape: torch.nn.BatchNorm2d(shape[0])),
    ("cnn", (8, 16), "group_norm", lambda shape: torch.nn.GroupNorm(2, shape[0])),
)


def _torch_net(cfg: Any, split: Any, make_norm: Callable[[tuple[int, ...]], torch.nn.Module] | None) -> torch.nn.Module:
    """The lab's network written with torch modules only (for the plain-loop baseline)."""
    from torch import nn

    layers: list[nn.Module] = [] if cfg.model == "cnn" else [nn.Flatten()]
    width = split.sample_shape[0] if cfg.model == "cnn" else math.prod(split.sample_shape)
    spatial = tuple(split.sample_shape[1:]) if cfg.model == "cnn" else ()
    for h in cfg.hidden:
        layers.append(nn.Conv2d(width, h, 3, padding=1) if cfg.model == "cnn" else nn.Linear(width, h))
        if make_norm is not None:
            layers.append(make_norm((h,) + spatial))
        layers.append(nn.Sigmoid() if cfg.activation == "sigmoid" else nn.ReLU())
        width = h
    if cfg.model == "cnn":
        layers += [nn.AvgPool2d(2), nn.Flatten()]
        width *= math.prod(s // 2 for s in spatial)
    layers.append(nn.Linear(width, split.classes))
    return nn.Sequential(*layers)


def plain_loop(model: torch.nn.Module, split: Any, cfg: Any, device: torch.device) -> float:
    """Seconds of ``cfg.steps`` bare SGD steps (forward, backward, step) over the lab's pre-shuffled batches."""
    from vnviz.train.loop import BATCH_SEED_OFFSET, _batches

    model = model.to(device).train()
    xtr, ytr = split.x_train.to(device), split.y_train.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    gen = torch.Generator().manual_seed(cfg.seed + BATCH_SEED_OFFSET)
    n = xtr.shape[0]
    epoch, at = _batches(n, cfg.batch_size, gen).to(device), 0
    synchronize(device)
    t0 = time.perf_counter()
    for _ in range(cfg.steps):
        if at == epoch.shape[0]:
            epoch, at = _batches(n, cfg.batch_size, gen).to(device), 0
        idx = epoch[at]
        at += 1
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(xtr.index_select(0, idx)), ytr.index_select(0, idx)).backward()
        opt.step()
    synchronize(device)
    return time.perf_counter() - t0


def bench_train(device: torch.device, steps: int, repeats: int) -> list[dict[str, Any]]:
    """Section 6: ``train`` with everything recorded (an evaluation every 50 steps) against plain loops.

    Each round times, in turn, ``train``, a plain loop over the same vnviz
    network (its norm layers call the variants' functions), and a plain loop
    over torch modules; the ratios are medians of the round-by-round ratios.
    On the CPU every loop runs on ``CPU_THREADS`` thread(s), as ``train`` does.
    """
    from vnviz.train import TrainConfig, train
    from vnviz.train.data import load_split
    from vnviz.train.loop import CPU_THREADS
    from vnviz.train.models import build_model

    if device.type == "cpu":  # the plain loops get the thread count train() uses on the CPU
        torch.set_num_threads(CPU_THREADS)
    rows = []
    for model, hidden, norm, make_norm in TRAIN_CASES:
        cfg = TrainConfig(model=model, hidden=hidden, norm=norm, activation="sigmoid" if model == "mlp" else "relu",
                          lr=1.0 if model == "mlp" else 0.2, steps=steps, eval_every=50, device=device.type)
        split = load_split(cfg.dataset)
        fns: dict[str, Callable[[], float]] = {
            "train": lambda: train(cfg).seconds,
            "same_net": lambda: plain_loop(build_model(cfg, split.sample_shape, split.classes), split, cfg, device),
        }
        if make_norm is not None or norm == "none":
            fns["torch"] = lambda: plain_loop(_torch_net(cfg, split, make_norm), split, cfg, device)
        for fn in fns.values():
            fn()  # warm up (and load the data)
        times: dict[str, list[float]] = {k: [] for k in fns}
        for _ in range(repeats):
            for k, fn in fns.items():
                times[k].append(fn())
        row = {"model": model, "hidden": list(hidden), "norm": norm, "steps": steps,
               "train_steps_per_s": steps / statistics.median(times["train"]),
               "same_net_steps_per_s": steps / statistics.median(times["same_net"]),
               "ratio_to_same_net": paired_ratio(times["train"], times["same_net"])}
        if "torch" in times:
            row["torch_steps_per_s"] = steps / statistics.median(times["torch"])
            row["ratio_to_torch"] = paired_ratio(times["train"], times["torch"])
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m vnviz.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto", help="auto, cuda, mps or cpu")
    parser.add_argument("--sizes", default="1e4,1e5,1e6,1e7", help="element counts for the view benchmark")
    parser.add_argument("--norm-shape", default=",".join(map(str, NORM_SHAPE)), help="input shape for section 1")
    parser.add_argument("--dtypes", default=",".join(NORM_DTYPES), help="comma-separated dtypes for section 1")
    parser.add_argument("--cluster-sizes", default="1000,10000,100000", help="samples for the ClusterNorm benchmark")
    parser.add_argument("--cluster-features", type=int, default=16, help="features per sample for ClusterNorm")
    parser.add_argument("--cluster-methods", default=None, help="comma-separated clustering methods (default: all)")
    parser.add_argument("--train-steps", type=int, default=1000, help="training steps per run for section 6")
    parser.add_argument("--train-repeats", type=int, default=3, help="rounds for section 6")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--sections", default="norms,views,cluster",
                        help="comma-separated subset of norms, views, cluster, train, precision")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--malloc", choices=("steady", "default"), default="steady",
                        help="steady: keep freed blocks for reuse (see steady_malloc); default: glibc as it comes")
    args = parser.parse_args(argv)
    from vnviz.variants.cluster import METHODS

    unknown = set(args.cluster_methods.split(",")) - set(METHODS) if args.cluster_methods else set()
    if unknown:
        parser.error(f"unknown clustering method(s) {', '.join(sorted(unknown))}; choose from {', '.join(METHODS)}")
    dtypes = tuple(args.dtypes.split(","))
    if set(dtypes) - set(NORM_DTYPES):
        parser.error(f"unknown dtype(s) {', '.join(sorted(set(dtypes) - set(NORM_DTYPES)))}; "
                     f"choose from {', '.join(NORM_DTYPES)}")
    device = vnviz.pick_device(args.device)
    sections = set(args.sections.split(","))
    malloc = "steady" if args.malloc == "steady" and steady_malloc() else "default"
    out: dict[str, Any] = {"device": describe_device(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
                           "malloc": malloc}
    print(f"device: {out['device']}, torch {out['torch']}, malloc {malloc}")
    if "norms" in sections:
        out["norms"] = bench_norms(device, args.repeats, tuple(int(v) for v in args.norm_shape.split(",")), dtypes)
        n = out["norms"]
        print(f"\n1. norms on {tuple(n['shape'])} in {', '.join(n['dtypes'])}; floor = read 2x + write 1x")
        for name, f in n["floors"].items():
            print(f"   {name}: floor {f['floor_ms']:.3f} ms at {f['copy_GBps']:.1f} GB/s copy bandwidth")
        print(f"{'variant':<14}{'dtype':<10}{'vnviz ms':>10}{'torch ms':>10}{'x torch':>9}{'x floor':>9}{'bitwise':>9}")
        for r in n["rows"]:
            print(f"{r['variant']:<14}{r['dtype']:<10}{r['vnviz_ms']:>10.3f}{r['torch_ms']:>10.3f}"
                  f"{r['ratio_to_torch']:>9.2f}{r['ratio_to_floor']:>9.2f}{'yes' if r['bitwise'] else 'no':>9}")
    if "views" in sections:
        sizes = [int(float(s)) for s in args.sizes.split(",")]
        out["views"] = bench_views(device, sizes, max(3, args.repeats // 3), payload=True)
        print("\n2-3. one Explore view (variant + statistics + histograms + verification), and bytes to the browser")
        print(f"{'variant':<12}{'elements':>11}{'view ms':>10}{'ns/elem':>9}{'browser KB':>12}")
        for r in out["views"]:
            r["ns_per_element"] = r["view_ms"] * 1e6 / r["numel"]
            print(f"{r['variant']:<12}{r['numel']:>11,}{r['view_ms']:>10.1f}{r['ns_per_element']:>9.1f}"
                  f"{r['browser_bytes'] / 1e3:>12.1f}"
                  + (f"   peak GPU {r['peak_gpu_MiB']:.0f} MiB" if "peak_gpu_MiB" in r else ""))
    if "cluster" in sections:
        sizes = [int(float(s)) for s in args.cluster_sizes.split(",")]
        methods = args.cluster_methods.split(",") if args.cluster_methods else None
        out["cluster"] = bench_cluster(device, sizes, args.repeats, args.cluster_features, methods)
        print(f"\n4. ClusterNorm, k=8, {args.cluster_features} features, against scikit-learn KMeans(n_init=1) + per-cluster BatchNorm")
        print(f"{'n':>8}  {'method':<32}{'ms':>10}{'x baseline':>12}")
        for r in out["cluster"]:
            ms = "refused" if r["ms"] is None else f"{r['ms']:.1f}"
            ratio = "" if r["ratio_to_baseline"] is None else f"{r['ratio_to_baseline']:.2f}"
            print(f"{r['n']:>8}  {r['method']:<32}{ms:>10}{ratio:>12}")
    if "train" in sections:
        out["train"] = bench_train(device, args.train_steps, args.train_repeats)
        print(f"\n6. the training lab: {args.train_steps} steps, batch 60, digits; train() records everything "
              "(an evaluation every 50 steps) vs plain loops (forward, backward, SGD step)")
        print(f"{'model':<6}{'norm':<14}{'train steps/s':>15}{'same net':>10}{'x same net':>12}{'torch':>9}{'x torch':>9}")
        for r in out["train"]:
            torch_cols = (f"{r['torch_steps_per_s']:>9.0f}{r['ratio_to_torch']:>9.2f}" if "ratio_to_torch" in r
                          else f"{'-':>9}{'-':>9}")
            print(f"{r['model']:<6}{r['norm']:<14}{r['train_steps_per_s']:>15.0f}{r['same_net_steps_per_s']:>10.0f}"
                  f"{r['ratio_to_same_net']:>12.2f}" + torch_cols)
    if "precision" in sections:
        out["precision"] = bench_precision(device)
        print("\n7. how each kernel rounds half precision (64x32x16x16, randn*2+0.5): outputs that differ from the kernel "
              "on x.float() rounded once, and the max error against float64 maths in ε at the output's scale")
        print(f"{'variant':<14}{'dtype':<10}{'differ':>9}{'kernel ε':>10}{'with x':>9}")
        for r in out["precision"]:
            print(f"{r['variant']:<14}{r['dtype']:<10}{r['differ_from_float32_once']:>9.2%}"
                  f"{r['kernel_eps_units']:>10.2f}{r['eps_units']:>9.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return out


if __name__ == "__main__":
    main()
