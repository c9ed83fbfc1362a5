"""The training loop: a plain loop over pre-shuffled index tensors, recording only at evaluations.

Two explicit generators, both seeded from ``cfg.seed``: one draws the
initial weights (``models.build_model``), the other the batch order (one
``randperm`` of the training set per epoch, the remainder dropped so every
batch has ``batch_size`` samples). Neither depends on the norm, so runs that
differ only by the norm see the same initial network and the same batches;
the same config gives the same history bit for bit on the CPU.

Per step the loop does the forward, the backward and the optimizer step,
and adds the batch's loss and correct count to two device scalars. At an
evaluation it runs the held-out set through the model in eval mode in one
batch and reads everything back in one transfer: loss and accuracy, one
unit's 15/50/85th percentiles and a histogram of all pre-activations per
hidden layer, and each layer's weight-gradient norm from the last step.
"""
from __future__ import annotations

import math
import time
from typing import Callable

import torch
import torch.nn.functional as F

from vnviz.device import describe_device, pick_device
from vnviz.errors import InputError
from vnviz.i18n import Msg
from vnviz.train.config import TrainConfig, check_config
from vnviz.train.data import Split, load_split
from vnviz.train.history import HIST_BINS, HIST_RANGE, LANDSCAPE_SCALES, PERCENTILES, History
from vnviz.train.models import Net, build_model

BATCH_SEED_OFFSET = 2**32  # the batch-order generator's seed is cfg.seed + this (the weights' is cfg.seed)
CPU_THREADS = 1  # torch threads while training on the CPU (see ``train``)
OnEval = Callable[[History], object]  # return False to stop


def check(cfg: TrainConfig) -> Split:
    """Check ``cfg`` against its data and model before training; InputError with one sentence.

    The static checks (``check_config``), then the data (a cnn needs images,
    a batch cannot exceed the training set), then one probe: a throwaway copy
    of the network runs the first training batch in training mode and two
    held-out samples in eval mode, so what only the activations show (a batch
    of one for BatchNorm, ``num_groups`` that does not divide the width) comes
    out as the variant's own sentence.
    """
    check_config(cfg)
    split = load_split(cfg.dataset)
    if cfg.model == "cnn" and not split.images:
        raise InputError("The cnn needs image data (digits); {dataset} is a table of features, so use the mlp.",
                         dataset=cfg.dataset)
    n = split.x_train.shape[0]
    if cfg.batch_size > n:
        raise InputError(
            "batch_size must be at most the {n} training samples of {dataset}; got {batch_size}.",
            n=n, dataset=cfg.dataset, batch_size=cfg.batch_size,
        )
    model = build_model(cfg, split.sample_shape, split.classes)
    first = _batches(n, cfg.batch_size, torch.Generator().manual_seed(cfg.seed + BATCH_SEED_OFFSET))[0]
    with torch.no_grad():
        model.train()
        model(split.x_train[first])
        model.eval()
        model(split.x_test[:2])
    return split


def _batches(n: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """One epoch's batches (n // batch_size, batch_size) of a fresh permutation of 0..n-1."""
    per_epoch = n // batch_size
    return torch.randperm(n, generator=generator)[: per_epoch * batch_size].reshape(per_epoch, batch_size)


def train(cfg: TrainConfig, on_eval: OnEval | None = None) -> History:
    """Train the network of ``cfg`` and return what it recorded.

    Args:
        cfg: the run (see ``TrainConfig``).
        on_eval: called with the history so far after each evaluation (live
            charts); return False from it to stop early (``History.stopped``).

    Runs on CUDA when ``cfg.device`` is "auto" and one is present, else the
    CPU; a CUDA out-of-memory error restarts the run on the CPU with a note.
    Raises InputError (one sentence) for a bad config, before training.

    On the CPU it trains on CPU_THREADS thread(s), restoring torch's setting
    afterwards: the layers are so small that a second thread only adds
    synchronisation (on a busy 2-core machine 2 threads ran 20-50 steps/s,
    1 thread 1,300), and one thread makes the result independent of the
    machine's thread count.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(CPU_THREADS)
    try:
        split = check(cfg)
        device = pick_device("cpu" if cfg.device == "auto" and not torch.cuda.is_available() else cfg.device)
        if device.type != "cpu":
            torch.set_num_threads(threads)
        try:
            return _run(cfg, split, device, on_eval)
        except torch.OutOfMemoryError:
            if device.type != "cuda":
                raise
            torch.cuda.empty_cache()
            torch.set_num_threads(CPU_THREADS)
            h = _run(cfg, split, torch.device("cpu"), on_eval)
            h.notes.insert(0, Msg("{device} ran out of memory; trained on the CPU instead.",
                                  device=describe_device(device)))
            return h
    finally:
        torch.set_num_threads(threads)


def _run(cfg: TrainConfig, split: Split, device: torch.device, on_eval: OnEval | None) -> History:
    model = build_model(cfg, split.sample_shape, split.classes).to(device)
    xtr, ytr = split.x_train.to(device), split.y_train.to(device)
    xte, yte = split.x_test.to(device), split.y_test.to(device)
    params = [p for p in model.parameters()]
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum)
    else:
        opt = torch.optim.Adam(params, lr=cfg.lr)
    h = History(cfg, model.layer_names, device=str(device))
    gen = torch.Generator().manual_seed(cfg.seed + BATCH_SEED_OFFSET)
    n = xtr.shape[0]
    epoch = _batches(n, cfg.batch_size, gen).to(device)
    at = 0
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    since = 0
    model.train()
    start = time.perf_counter()
    if _evaluate(model, h, 0, xte, yte, None, None, 0, cfg.batch_size, on_eval, start):
        return _finish(h, start)
    for step in range(1, cfg.steps + 1):
        if at == epoch.shape[0]:
            epoch, at = _batches(n, cfg.batch_size, gen).to(device), 0
        idx = epoch[at]
        at += 1
        xb, yb = xtr.index_select(0, idx), ytr.index_select(0, idx)
        opt.zero_grad(set_to_none=True)
        try:
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            loss.backward()
            if cfg.landscape_every and step % cfg.landscape_every == 0:
                _probe_landscape(model, params, xb, yb, h, step)
        except InputError as err:  # a norm refused NaN/Inf activations: the run diverged
            h.diverged = True
            h.notes.append(Msg("Training diverged at step {step}: {error}", step=step, error=err.msg))
            break
        opt.step()
        loss_sum += loss.detach()
        correct += (logits.detach().argmax(1) == yb).sum()
        since += 1
        if step % cfg.eval_every == 0 or step == cfg.steps:
            if _evaluate(model, h, step, xte, yte, loss_sum, correct, since, cfg.batch_size, on_eval, start):
                break
            loss_sum.zero_()
            correct.zero_()
            since = 0
    h = _finish(h, start)
    if not h.diverged and any(getattr(m, "running", False) for m in model.norms):
        h.batch_stats_accuracy = _batch_stats_accuracy(model, xte, yte, cfg.batch_size)
    return h


def _finish(h: History, start: float) -> History:
    h.seconds = time.perf_counter() - start
    return h


@torch.no_grad()
def _evaluate(model: Net, h: History, step: int, xte: torch.Tensor, yte: torch.Tensor,
              loss_sum: torch.Tensor | None, correct: torch.Tensor | None, since: int, batch_size: int,
              on_eval: OnEval | None, start: float) -> bool:
    """Record one evaluation into ``h`` (one device-to-host transfer); True when training should stop."""
    model.eval()
    try:
        logits, pre = model(xte, record=True)
    except InputError as err:
        model.train()
        h.diverged = True
        h.notes.append(Msg("Training diverged by step {step}: {error}", step=step, error=err.msg))
        return True
    model.train()
    q = torch.tensor(PERCENTILES, device=xte.device, dtype=logits.dtype)
    nan = torch.full((), math.nan, device=xte.device)
    parts = [F.cross_entropy(logits, yte), (logits.argmax(1) == yte).float().mean()]
    if since:
        parts += [loss_sum / since, correct.float() / (since * batch_size)]
    else:
        parts += [nan, nan]
    per_layer = []
    for lin, z in zip(model.linears, pre):
        unit = z[:, 0].flatten()  # one unit (mlp) or one channel at every position (cnn), over the held-out set
        hist = torch.histc(z.clamp(-HIST_RANGE, HIST_RANGE), HIST_BINS, -HIST_RANGE, HIST_RANGE) / z.numel()
        outside = (z.abs() > HIST_RANGE).float().mean()
        grad = lin.weight.grad
        gnorm = grad.norm() if grad is not None else nan
        per_layer.append(torch.cat([torch.quantile(unit, q), hist, outside[None], gnorm[None]]))
    head = torch.stack(parts).cpu()
    rows = torch.stack(per_layer).cpu() if per_layer else torch.zeros(0, 3 + HIST_BINS + 2)
    h.steps.append(step)
    h.test_loss.append(float(head[0]))
    h.test_accuracy.append(float(head[1]))
    h.train_loss.append(float(head[2]))
    h.train_accuracy.append(float(head[3]))
    for name, row, norm in zip(h.layers, rows, model.norms):
        _grow(h.percentiles, name, row[:3])
        _grow(h.histograms, name, row[3:3 + HIST_BINS])
        _grow(h.outside, name, row[-2])
        _grow(h.grad_norms, name, row[-1])
        counts = getattr(norm, "counts", None)
        if counts is not None:
            _grow(h.cluster_counts, name, counts.cpu())
    if not all(math.isfinite(v) for v in head[:2].tolist() + ([float(head[2])] if since else [])):
        h.diverged = True
        h.notes.append(Msg("Training diverged by step {step}: the loss is NaN or Inf.", step=step))
    h.seconds = time.perf_counter() - start  # so far: a run interrupted inside on_eval keeps its speed
    if on_eval is not None and on_eval(h) is False:
        h.stopped = True
    return h.diverged or h.stopped


def _grow(table: dict[str, torch.Tensor], name: str, row: torch.Tensor) -> None:
    row = row.reshape(1, -1) if row.ndim else row.reshape(1)
    table[name] = torch.cat([table[name], row]) if name in table else row


def _probe_landscape(model: Net, params: list[torch.nn.Parameter], xb: torch.Tensor, yb: torch.Tensor,
                     h: History, step: int) -> None:
    """Santurkar et al.'s probe: from w, step along -g by each η and measure the loss and the gradient change.

    The gradient g is the step's own (already in ``.grad``); each probe
    computes L(w - ηg) and ∇L(w - ηg) on the same batch in training mode,
    then the weights and every buffer (running statistics, centroids) are put
    back exactly, so probing does not change the run.
    """
    grads = [p.grad.detach().clone() for p in params]
    saved = [p.detach().clone() for p in params]
    buffers = [b.detach().clone() for b in model.buffers()]
    gnorm = torch.sqrt(sum((g * g).sum() for g in grads))
    losses, changes = [], []
    for scale in LANDSCAPE_SCALES:
        eta = h.config.lr * scale
        with torch.no_grad():
            for p, w, g in zip(params, saved, grads):
                p.copy_(w - eta * g)
        loss = F.cross_entropy(model(xb), yb)
        new = torch.autograd.grad(loss, params)
        losses.append(loss.detach())
        changes.append(torch.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(new, grads))))
        with torch.no_grad():
            for b, v in zip(model.buffers(), buffers):
                b.copy_(v)
    with torch.no_grad():
        for p, w in zip(params, saved):
            p.copy_(w)
    row = torch.stack(losses + changes + [gnorm]).cpu()
    s = len(LANDSCAPE_SCALES)
    h.landscape_steps.append(step)
    h.landscape_loss = torch.cat([h.landscape_loss, row[None, :s]])
    h.landscape_grad_change = torch.cat([h.landscape_grad_change, row[None, s:2 * s]])
    h.landscape_grad_norm = torch.cat([h.landscape_grad_norm, row[-1:]])


@torch.no_grad()
def _batch_stats_accuracy(model: Net, xte: torch.Tensor, yte: torch.Tensor, batch_size: int) -> float:
    """Held-out accuracy normalizing with batch statistics (training mode, batches of ``batch_size``).

    The running statistics are saved and restored around it, so it changes
    nothing; beside the eval-mode accuracy it isolates what the running
    statistics cost (at tiny batches they average noisy batch statistics).
    """
    n = (xte.shape[0] // batch_size) * batch_size
    if n == 0:
        return float("nan")
    buffers = [b.detach().clone() for b in model.buffers()]
    model.train()
    right = torch.zeros((), dtype=torch.long, device=xte.device)
    try:
        for i in range(0, n, batch_size):
            right += (model(xte[i:i + batch_size]).argmax(1) == yte[i:i + batch_size]).sum()
        return int(right) / n
    except InputError:  # e.g. a norm that cannot use a batch of one
        return float("nan")
    finally:
        for b, v in zip(model.buffers(), buffers):
            b.copy_(v)
        model.eval()


__all__ = ["train", "check", "OnEval"]
