"""The five experiments of the training lab as presets, and the sweeps and summaries they need.

An experiment is data (like a lesson): a base config, the norms it compares,
the seeds, and for experiments 2 and 3 the swept field and its values.
``run_sweep`` trains every (norm, value, seed) and reduces each run to a few
numbers; ``steps_to_target`` is the Figure 1 measurement.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from vnviz.i18n import N_, Msg
from vnviz.train.config import TrainConfig, parse_spec
from vnviz.train.data import load_split
from vnviz.train.history import History
from vnviz.train.loop import train

SWEEPS = ("none", "batch_size", "lr")  # what a sweep varies ("none": a plain comparison)
TARGET = 0.9  # the accuracy Figure 1's measurement counts steps to


@dataclass(frozen=True)
class Experiment:
    """One preset of the lab: what to train and what to compare."""

    slug: str  # short id, the page's ``preset`` and the lesson's name
    title: str  # one line (N_)
    config: TrainConfig  # the base run (its norm is replaced by each of ``norms``)
    norms: tuple[str, ...]  # the norms compared side by side, as specs ("batch_norm", "cluster_norm:soft")
    seeds: tuple[int, ...] = (0,)  # every norm trains once per seed
    sweep: str = "none"  # one of SWEEPS
    values: tuple[float, ...] = ()  # the swept values (batch sizes or learning rates)
    scale_lr: bool = False  # batch-size sweep: lr scaled with the batch (lr × batch / the config's batch_size)
    same_samples: bool = False  # batch-size sweep: steps scaled so every run sees as many samples as the config's
    norm_params: dict[str, dict] = field(default_factory=dict)  # per norm variant name, its parameters


def sweep_config(base: TrainConfig, sweep: str, value: float, scale_lr: bool = False,
                 same_samples: bool = False) -> TrainConfig:
    """``base`` with the swept field set to ``value`` (and lr/steps scaled for a batch-size sweep when asked)."""
    if sweep == "lr":
        return base.with_(lr=float(value))
    if sweep == "batch_size":
        b = int(value)
        lr = base.lr * b / base.batch_size if scale_lr else base.lr
        steps = max(1, round(base.steps * base.batch_size / b)) if same_samples else base.steps
        return base.with_(batch_size=b, lr=lr, steps=steps, eval_every=max(1, steps // 20))
    return base


@dataclass(frozen=True)
class SweepRow:
    """One run of a sweep, reduced to what the sweep chart draws."""

    norm: str
    value: float  # the swept value
    seed: int
    test_error: float  # 1 - final held-out accuracy, eval mode (running statistics); 1.0 when it diverged
    train_error: float  # 1 - accuracy on the last training batches, training mode (batch statistics)
    batch_stats_error: float | None  # 1 - held-out accuracy with batch statistics (norms with running statistics)
    diverged: bool  # the loss or the activations became NaN or Inf
    steps: int
    failed: bool = False  # diverged, or ended below twice the chance accuracy (it did not learn)


def summarize(norm: str, value: float, seed: int, h: History) -> SweepRow:
    """A finished run as one sweep row."""
    last_test = h.test_accuracy[-1] if h.test_accuracy else float("nan")
    last_train = h.train_accuracy[-1] if h.train_accuracy else float("nan")
    bs = h.batch_stats_accuracy
    test_error = 1.0 if h.diverged or math.isnan(last_test) else 1.0 - last_test
    chance = 1.0 / load_split(h.config.dataset).classes
    return SweepRow(
        norm, value, seed, test_error,
        1.0 if h.diverged or math.isnan(last_train) else 1.0 - last_train,
        None if bs is None or math.isnan(bs) else 1.0 - bs,
        h.diverged, h.steps[-1] if h.steps else 0,
        h.diverged or 1.0 - test_error < 2 * chance,
    )


def runs(exp: Experiment) -> list[tuple[str, float, int, TrainConfig]]:
    """Every (norm, swept value, seed, config) the experiment trains, in order."""
    values = exp.values if exp.sweep != "none" else (math.nan,)
    out = []
    for norm in exp.norms:
        name, mode = parse_spec(norm)
        params = exp.norm_params.get(name, {}) | mode
        for value in values:
            base = exp.config.with_(norm=name, norm_params=params)
            cfg = sweep_config(base, exp.sweep, value, exp.scale_lr, exp.same_samples)
            for seed in exp.seeds:
                out.append((norm, value, seed, cfg.with_(seed=seed)))
    return out


def run_sweep(exp: Experiment, runner: Callable[[TrainConfig], History] = train) -> list[SweepRow]:
    """Train every run of ``exp`` (through ``runner``, e.g. a cached one) and summarize each."""
    return [summarize(norm, value, seed, runner(cfg)) for norm, value, seed, cfg in runs(exp)]


def steps_to_target(histories: Iterable[History], target: float = TARGET) -> list[int | None]:
    """Per run, the first evaluated step with held-out accuracy >= target (None: never)."""
    return [h.steps_to(target) for h in histories]


def median_steps(steps: list[int | None], cap: float = math.inf) -> float:
    """The median of steps-to-target, a run that never got there counting as ``cap``."""
    return statistics.median([cap if s is None else s for s in steps])


def stop_at(target: float = TARGET) -> Callable[[History], bool]:
    """An ``on_eval`` that stops a run once its held-out accuracy reaches ``target``."""
    return lambda h: not (h.test_accuracy and h.test_accuracy[-1] >= target)


FIG1 = TrainConfig(dataset="digits", model="mlp", hidden=(100, 100, 100), activation="sigmoid", batch_size=60,
                   steps=3000, optimizer="sgd", lr=1.0, eval_every=50)

EXPERIMENTS: dict[str, Experiment] = {e.slug: e for e in (
    Experiment("bn_figure1", N_("BatchNorm, Figure 1: faster training and stable inputs to the sigmoids"),
               FIG1, ("none", "batch_norm"), seeds=(0, 1, 2)),
    Experiment("batch_size", N_("Batch size: BatchNorm against GroupNorm and LayerNorm at tiny batches"),
               FIG1.with_(activation="relu", batch_size=32, lr=0.1, steps=300, eval_every=30), ("batch_norm", "group_norm", "layer_norm"),
               norm_params={"group_norm": {"num_groups": 4}}, sweep="batch_size", values=(32, 16, 8, 4, 2), scale_lr=True, same_samples=True),
    Experiment("lr_robustness", N_("Learning-rate robustness: which norms diverge"),
               FIG1.with_(activation="relu", steps=500), ("none", "batch_norm", "layer_norm", "group_norm", "rms_norm"),
               sweep="lr", values=(0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)),
    Experiment("landscape", N_("Loss landscape: BatchNorm makes the loss and its gradient smoother along the "
                               "gradient"),
               FIG1.with_(activation="relu", lr=0.1, steps=1000, landscape_every=50), ("none", "batch_norm")),
    Experiment("cluster_norm", N_("ClusterNorm and Mixture Normalization as layers, against BatchNorm"),
               FIG1.with_(steps=1000), ("batch_norm", "cluster_norm", "cluster_norm:soft"), seeds=(0, 1, 2)),
)}


def run_table(results: Sequence[tuple[str, float, int, History]], target: float = TARGET) -> list[dict[str, object]]:
    """One row per run: steps to ``target`` (None: never), best and final accuracies, speed; for a comparison
    of several norms also the steps each took to reach the first norm's best held-out accuracy (same seed).
    The column names are Msgs (English as str; translated when drawn)."""
    from vnviz.train.config import spec_title

    first = results[0][0] if results else None
    best_of_first = {(v, s): h.best_accuracy() for n, v, s, h in results if n == first}
    several = len({n for n, *_ in results}) > 1
    rows = []
    for norm, value, seed, h in results:
        row: dict[str, object] = {N_("norm"): spec_title(norm), N_("seed"): seed}
        if not math.isnan(value):
            row[N_("value")] = value
        reached = h.steps_to(target)
        row[Msg("steps to {target:.0%}", target=target)] = reached  # None: never
        if several:
            ref = best_of_first.get((value, seed))
            hit = None if ref is None or math.isnan(ref) else h.steps_to(ref)
            row[Msg("steps to {norm}'s best", norm=spec_title(first))] = hit
        row[N_("best held-out")] = round(h.best_accuracy(), 4)
        row[N_("final held-out")] = round(h.test_accuracy[-1], 4) if h.test_accuracy else None
        row[N_("final training batches")] = round(h.train_accuracy[-1], 4) if len(h.train_accuracy) > 1 else None
        bs = h.batch_stats_accuracy
        row[N_("held-out, batch statistics")] = None if bs is None or math.isnan(bs) else round(bs, 4)
        row[N_("steps/s")] = round(h.steps_per_second)
        row[N_("notes")] = Msg.join(h.notes, " ")
        rows.append(row)
    return rows


def run_key(norm: str, value: float, seed: int) -> tuple:
    """How a run is named in snippets: (norm, seed), or (norm, value, seed) in a sweep."""
    return (norm, seed) if math.isnan(value) else (norm, value, seed)


def results_csv(results: Sequence[tuple[str, float, int, History]]) -> str:
    """Every run's ``History.to_csv`` rows, each prefixed with its norm, swept value and seed."""
    out = []
    for i, (norm, value, seed, h) in enumerate(results):
        head, *rows = h.to_csv().strip().split("\n")
        if i == 0:
            out.append("norm,value,seed," + head)
        prefix = f"{norm},{'' if math.isnan(value) else repr(value)},{seed},"
        out += [prefix + row for row in rows]
    return "\n".join(out) + "\n"


def snippet(exp: Experiment) -> str:
    """Python that trains every run of ``exp`` again, as the app did, and prints what each reached."""
    lines = ["from vnviz.train import TrainConfig, train", "", "runs = {"]
    for norm, value, seed, cfg in runs(exp):
        lines.append(f"    {run_key(norm, value, seed)!r}: {cfg!r},")
    lines += [
        "}",
        "histories = {key: train(cfg) for key, cfg in runs.items()}",
        "for key, h in histories.items():",
        f"    print(key, 'steps to {TARGET:.0%}:', h.steps_to({TARGET}), 'final held-out accuracy:', "
        "round(h.test_accuracy[-1], 4))",
    ]
    return "\n".join(lines) + "\n"
