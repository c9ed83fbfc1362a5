"""The training lab's library: determinism, the BatchNorm Figure 1 effect, every norm as a layer, bad configs.

Every number here comes from a run; nothing is hard-coded but the issue's
claim itself (BatchNorm reaches 90% in at most a quarter of the steps no norm
needs). Runs are short except the Figure 1 measurement, which stops each run
as soon as it reaches 90%.
"""
from __future__ import annotations

import math

import pytest
import torch
from sentences import assert_one_sentence
from torch import nn

from vnviz import VARIANTS, InputError
from vnviz.train import MAX_STEPS, TrainConfig, check, train
from vnviz.train.config import norm_specs, parse_spec, spec_title
from vnviz.train.data import DATASETS, load_split
from vnviz.train.experiments import EXPERIMENTS, FIG1, median_steps, runs, stop_at, sweep_config
from vnviz.train.history import HIST_BINS, LANDSCAPE_SCALES
from vnviz.train.layers import ClusteredNorm, NormLayer, norm_layer
from vnviz.train.models import build_model

SHORT = TrainConfig(steps=40, eval_every=10)  # the digits MLP, a few evaluations
CNN = SHORT.with_(model="cnn", hidden=(8, 16), activation="relu", lr=0.2)
RELU = SHORT.with_(activation="relu", lr=0.1)  # learns within 40 steps under every norm
NORM_VARIANTS = tuple(name for name, v in VARIANTS.items() if v.family == "norm")


def fits(spec: str, model: str) -> bool:
    """Whether the declaration lets the norm follow the model's hidden layers ((N, F) or (N, C, H, W))."""
    name, _ = parse_spec(spec)
    return name == "none" or VARIANTS[name].min_ndim <= (2 if model == "mlp" else 4)


def identical(a: torch.Tensor, b: torch.Tensor) -> None:
    """Bit for bit (NaN where the other has NaN)."""
    torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)


def same_history(a, b) -> None:
    assert a.steps == b.steps
    for field in ("test_accuracy", "test_loss", "train_accuracy", "train_loss"):
        identical(torch.tensor(getattr(a, field)), torch.tensor(getattr(b, field)))
    for field in ("percentiles", "histograms", "grad_norms", "outside", "cluster_counts"):
        x, y = getattr(a, field), getattr(b, field)
        assert x.keys() == y.keys()
        for k in x:
            identical(x[k], y[k])


# -- determinism -----------------------------------------------------------------


@pytest.mark.parametrize("spec", ["none", "batch_norm", "cluster_norm", "cluster_norm:soft"])
def test_the_same_config_gives_the_same_history_bit_for_bit(spec):
    name, params = parse_spec(spec)
    cfg = SHORT.with_(norm=name, norm_params=params, seed=3)
    same_history(train(cfg), train(cfg))


def test_a_different_seed_gives_a_different_run():
    a, b = train(SHORT.with_(seed=0)), train(SHORT.with_(seed=1))
    assert a.test_loss != b.test_loss


def test_every_norm_starts_from_the_same_weights_and_sees_the_same_batches():
    seen: dict[str, list[torch.Tensor]] = {}
    weights = {}
    for spec in norm_specs():
        if not fits(spec, "mlp"):
            continue
        name, params = parse_spec(spec)
        cfg = SHORT.with_(norm=name, norm_params=params, steps=5, eval_every=5, seed=7)
        split = load_split(cfg.dataset)
        model = build_model(cfg, split.sample_shape, split.classes)
        weights[spec] = [lin.weight.detach().clone() for lin in model.linears]
        batches = []

        def hook(module, args):
            if isinstance(module, nn.Linear) and module.training and module.in_features == 64:
                batches.append(args[0].detach().clone())

        handle = torch.nn.modules.module.register_module_forward_pre_hook(hook)
        try:
            train(cfg)
        finally:
            handle.remove()
        batches = batches[:6]  # the config check's probe batch, then the 5 training steps
        assert len(batches) == 6
        seen[spec] = batches
    first = next(iter(seen))
    for spec in seen:
        assert all(torch.equal(a, b) for a, b in zip(weights[spec], weights[first])), spec
        assert all(torch.equal(a, b) for a, b in zip(seen[spec], seen[first])), spec


# -- the Figure 1 effect -------------------------------------------------------------


def test_batchnorm_reaches_90_percent_in_at_most_a_quarter_of_the_steps_no_norm_needs():
    steps = {}
    for norm in ("none", "batch_norm"):
        found = [train(FIG1.with_(norm=norm, seed=seed), on_eval=stop_at(0.9)).steps_to(0.9) for seed in (0, 1, 2)]
        steps[norm] = median_steps(found, cap=FIG1.steps + 1)
    assert steps["none"] <= FIG1.steps, steps  # without a norm it does get there, slowly
    assert steps["batch_norm"] <= steps["none"] / 4, steps


def test_stopping_from_on_eval():
    seen = []
    h = train(SHORT.with_(steps=200), on_eval=lambda h: seen.append(h.steps[-1]) or h.steps[-1] < 30)
    assert h.stopped and h.steps == [0, 10, 20, 30] and seen == h.steps


# -- every norm as a layer ---------------------------------------------------------


@pytest.mark.parametrize("model", ["mlp", "cnn"])
@pytest.mark.parametrize("spec", norm_specs())
def test_every_norm_trains_where_it_fits_and_explains_where_it_does_not(spec, model):
    name, params = parse_spec(spec)
    cfg = (RELU if model == "mlp" else CNN).with_(norm=name, norm_params=params)
    if not fits(spec, model):
        with pytest.raises(InputError) as err:
            train(cfg)
        assert_one_sentence(err.value)
        assert VARIANTS[name].title in str(err.value) and "cnn" in str(err.value)
        return
    h = train(cfg)
    assert not h.diverged and not h.notes
    assert h.steps == [0, 10, 20, 30, 40]
    assert all(math.isfinite(v) for v in h.test_loss + h.train_loss[1:])
    assert h.test_loss[-1] < h.test_loss[0], "the held-out loss went down"
    assert set(h.percentiles) == set(h.layers) == set(h.grad_norms) == {f"hidden {i + 1}" for i in range(len(cfg.hidden))}


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_percentiles_are_ordered_and_shaped(model):
    cfg = (SHORT if model == "mlp" else CNN).with_(norm="batch_norm")
    h = train(cfg)
    for layer, p in h.percentiles.items():
        assert p.shape == (len(h.steps), 3)
        assert bool((p[:, 0] <= p[:, 1]).all() and (p[:, 1] <= p[:, 2]).all()), layer
        assert h.histograms[layer].shape == (len(h.steps), HIST_BINS)
        assert torch.allclose(h.histograms[layer].sum(1), torch.ones(len(h.steps)))
        assert h.grad_norms[layer].shape == (len(h.steps),)
        assert math.isnan(h.grad_norms[layer][0]) and bool((h.grad_norms[layer][1:] > 0).all())
    assert math.isnan(h.train_loss[0]) and all(0 <= a <= 1 for a in h.train_accuracy[1:] + h.test_accuracy)


def test_percentiles_are_those_of_one_unit_over_the_held_out_set():
    cfg = SHORT.with_(norm="batch_norm", steps=10, eval_every=10)
    h = train(cfg)
    split = load_split(cfg.dataset)
    model = build_model(cfg, split.sample_shape, split.classes)  # the same initial network: step 0
    model.eval()
    with torch.no_grad():
        _, pre = model(split.x_test, record=True)
    for layer, z in zip(h.layers, pre):
        expected = torch.quantile(z[:, 0], torch.tensor([0.15, 0.5, 0.85]))
        torch.testing.assert_close(h.percentiles[layer][0], expected)


def test_batchnorm_layer_matches_torch_batchnorm_in_training_and_eval():
    layer = norm_layer("batch_norm", (6,))
    ref = nn.BatchNorm1d(6)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        layer.weight.copy_(torch.rand(6, generator=g))
        ref.weight.copy_(layer.weight)
    for _ in range(3):
        x = torch.randn(10, 6, generator=g) * 4 + 2
        torch.testing.assert_close(layer(x), ref(x))
    torch.testing.assert_close(layer.running_mean, ref.running_mean)
    torch.testing.assert_close(layer.running_var, ref.running_var)
    layer.eval(), ref.eval()
    x = torch.randn(5, 6, generator=g)
    torch.testing.assert_close(layer(x), ref(x))


def test_layers_keep_running_statistics_only_where_eval_mode_needs_them():
    for name in NORM_VARIANTS:
        v = VARIANTS[name]
        shape = (8, 4, 4) if v.min_ndim > 2 else (8,)
        layer = norm_layer(name, shape)
        if isinstance(layer, ClusteredNorm):
            continue
        has = hasattr(layer, "running_mean")
        assert has == layer.running
        if "running_mean" not in v.param_names:
            assert not has, name
    assert norm_layer("batch_norm", (8,)).running  # BatchNorm's eval mode needs them
    assert not norm_layer("instance_norm", (8, 4, 4)).running  # InstanceNorm's does not (nn.InstanceNorm2d default)


def test_affine_shapes_come_from_the_declaration():
    for name in NORM_VARIANTS:
        v = VARIANTS[name]
        shape = (8, 4, 4)
        layer = norm_layer(name, shape)
        expected = {"channel": (8,), "trailing": shape, "none": None}[v.affine]
        for p in ("weight", "bias"):
            t = getattr(layer, p, None)
            if p in v.param_names and expected is not None:
                assert t is not None and tuple(t.shape) == expected, (name, p)
            else:
                assert t is None, (name, p)
        assert all(getattr(norm_layer(name, shape, affine=False), p, None) is None for p in ("weight", "bias"))


def test_one_cluster_is_batchnorm_in_training_and_eval():
    g = torch.Generator().manual_seed(2)
    cn = norm_layer("cluster_norm", (6,), {"n_clusters": 1})
    bn = norm_layer("batch_norm", (6,))
    for _ in range(3):
        x = torch.randn(12, 6, generator=g) * 3 - 1
        torch.testing.assert_close(cn(x), bn(x))
    torch.testing.assert_close(cn.running_mean[0], bn.running_mean)
    torch.testing.assert_close(cn.running_var[0], bn.running_var)
    cn.eval(), bn.eval()
    x = torch.randn(7, 6, generator=g)
    torch.testing.assert_close(cn(x), bn(x))


def test_clustered_layer_normalizes_each_cluster_of_a_batch():
    g = torch.Generator().manual_seed(3)
    centres = torch.tensor([[-20.0] * 4, [20.0] * 4])
    x = torch.cat([centres[0] + torch.randn(30, 4, generator=g), centres[1] + 3 * torch.randn(30, 4, generator=g)])
    layer = norm_layer("cluster_norm", (4,), {"n_clusters": 2}, affine=False)
    y = layer(x)
    assert sorted(layer.counts.tolist()) == [30, 30]
    for part in (y[:30], y[30:]):  # each cluster standardized on its own
        torch.testing.assert_close(part.mean(0), torch.zeros(4), atol=1e-5, rtol=0)
        torch.testing.assert_close(part.var(0, correction=0), torch.ones(4), atol=1e-3, rtol=0)
    soft = norm_layer("cluster_norm", (4,), {"n_clusters": 2, "mode": "soft"}, affine=False)
    y = soft(x)
    assert torch.isfinite(y).all() and sorted(soft.counts.tolist()) == [30, 30]


def test_cluster_counts_are_recorded():
    h = train(SHORT.with_(norm="cluster_norm", norm_params={"n_clusters": 3}))
    for layer in h.layers:
        counts = h.cluster_counts[layer]
        assert counts.shape == (len(h.steps), 3) and bool((counts.sum(1) == 450).all())


# -- recording and its outputs -----------------------------------------------------


def test_landscape_probes_do_not_change_the_run():
    cfg = SHORT.with_(norm="batch_norm", lr=0.5)
    plain, probed = train(cfg), train(cfg.with_(landscape_every=10))
    same_history(plain, probed)
    assert probed.landscape_steps == [10, 20, 30, 40]
    assert probed.landscape_loss.shape == probed.landscape_grad_change.shape == (4, len(LANDSCAPE_SCALES))
    assert bool((probed.landscape_grad_norm > 0).all()) and bool((probed.landscape_loss > 0).all())
    assert not plain.landscape_steps and probed.landscape_etas == tuple(0.5 * s for s in LANDSCAPE_SCALES)


def test_landscape_loss_is_the_loss_after_a_step_along_the_gradient():
    cfg = SHORT.with_(steps=1, eval_every=1, landscape_every=1, lr=0.3)
    h = train(cfg)
    split = load_split(cfg.dataset)
    model = build_model(cfg, split.sample_shape, split.classes)
    from vnviz.train.loop import BATCH_SEED_OFFSET, _batches

    idx = _batches(split.x_train.shape[0], cfg.batch_size, torch.Generator().manual_seed(cfg.seed + BATCH_SEED_OFFSET))[0]
    xb, yb = split.x_train[idx], split.y_train[idx]
    loss = nn.functional.cross_entropy(model(xb), yb)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    eta = cfg.lr * LANDSCAPE_SCALES[2]
    with torch.no_grad():
        for p, g in zip(model.parameters(), grads):
            p -= eta * g
    torch.testing.assert_close(h.landscape_loss[0, 2], nn.functional.cross_entropy(model(xb), yb).detach())


def test_batch_statistics_accuracy_only_for_norms_with_running_statistics():
    assert train(SHORT.with_(norm="batch_norm")).batch_stats_accuracy is not None
    assert train(SHORT.with_(norm="layer_norm")).batch_stats_accuracy is None
    assert train(SHORT).batch_stats_accuracy is None


def test_csv_has_one_row_per_evaluation():
    h = train(SHORT.with_(norm="batch_norm"))
    lines = h.to_csv().strip().split("\n")
    head = lines[0].split(",")
    assert head[:5] == ["step", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]
    assert "hidden3_p85" in head and "hidden1_grad_norm" in head
    assert len(lines) == 1 + len(h.steps)
    last = dict(zip(head, lines[-1].split(",")))
    assert int(last["step"]) == h.steps[-1] and float(last["test_accuracy"]) == h.test_accuracy[-1]
    assert float(last["hidden2_p50"]) == float(h.percentiles["hidden 2"][-1, 1])


def test_the_snippet_reproduces_the_run(capsys):
    cfg = SHORT.with_(norm="group_norm", norm_params={"num_groups": 4}, hidden=(20, 20), lr=0.5, seed=5)
    h = train(cfg)
    scope: dict = {}
    exec(cfg.snippet(), scope)  # noqa: S102 - our own generated code
    same_history(scope["h"], h)
    assert scope["cfg"] == cfg
    assert f"test accuracy {h.test_accuracy[-1]:.4f}" in capsys.readouterr().out


def test_config_key_is_canonical():
    a = TrainConfig(norm="group_norm", norm_params={"num_groups": 4, "eps": 1e-3})
    b = TrainConfig(norm="group_norm", norm_params=(("eps", 1e-3), ("num_groups", 4)))
    assert a == b and a.key() == b.key() and hash(a) == hash(b)
    assert a.key() != a.with_(lr=0.5).key()
    assert "lr=1.0" in a.key() and "norm_params=eps:0.001,num_groups:4" in a.key()


def test_specs_and_titles():
    specs = norm_specs()
    assert specs[0] == "none" and set(NORM_VARIANTS) <= {parse_spec(s)[0] for s in specs}
    assert "cluster_norm:soft" in specs and parse_spec("cluster_norm:soft") == ("cluster_norm", {"mode": "soft"})
    assert spec_title("none") == "no norm" and spec_title("cluster_norm:soft") == "ClusterNorm (soft)"
    assert TrainConfig(norm="cluster_norm", norm_params={"mode": "soft"}).spec == "cluster_norm:soft"


def test_every_dataset_trains():
    for name in DATASETS:
        split = load_split(name)
        assert split.x_train.shape[0] > split.x_test.shape[0] > 0
        assert set(split.y_test.tolist()) == set(range(split.classes))  # stratified: every class held out
        h = train(SHORT.with_(dataset=name, norm="batch_norm", batch_size=16, hidden=(16,)))
        assert h.test_accuracy[-1] > 1.5 / split.classes, name


def test_the_split_is_fixed_and_scaled():
    a, b = load_split("digits"), load_split("digits")
    assert a is b and a.x_train.shape == (1347, 1, 8, 8) and a.x_test.shape == (450, 1, 8, 8)
    assert float(a.x_train.max()) == 1.0 and float(a.x_train.min()) == 0.0
    wine = load_split("wine")
    torch.testing.assert_close(wine.x_train.mean(0), torch.zeros(13), atol=1e-5, rtol=0)


# -- experiments -------------------------------------------------------------------


def test_experiments_are_valid_configs():
    assert len(EXPERIMENTS) == 5
    for exp in EXPERIMENTS.values():
        assert exp.norms and all(spec in norm_specs() for spec in exp.norms)
        for norm, value, seed, cfg in runs(exp):
            check(cfg)  # every run of every preset passes the config check


def test_batch_size_sweep_scales_lr_and_steps():
    base = FIG1.with_(batch_size=32, lr=0.5, steps=800)
    cfg = sweep_config(base, "batch_size", 4, scale_lr=True, same_samples=True)
    assert (cfg.batch_size, cfg.lr, cfg.steps) == (4, 0.0625, 6400)
    assert sweep_config(base, "lr", 3.0).lr == 3.0


def test_divergence_is_reported_not_raised():
    # no norm: the loss itself becomes NaN
    h = train(SHORT.with_(activation="relu", lr=100.0, momentum=0.999, hidden=(1024, 1024, 1024), steps=40,
                          eval_every=20))
    assert h.diverged and h.notes == ["Training diverged by step 20: the loss is NaN or Inf."]
    assert h.steps == [0, 20] and math.isnan(h.test_loss[-1])
    # BatchNorm: the variant refuses the non-finite activations with its sentence
    h = train(SHORT.with_(norm="batch_norm", activation="relu", lr=30.0, momentum=0.9, steps=200, eval_every=20))
    assert h.diverged and h.notes[0].startswith("Training diverged at step ") and "BatchNorm" in h.notes[0]


# -- bad configs: one sentence each ------------------------------------------------

BAD = [
    (dict(norm="batch_norm", batch_size=1), "batch of 2"),
    (dict(norm="group_norm", norm_params={"num_groups": 3}), "num_groups"),
    (dict(steps=MAX_STEPS + 1), f"{MAX_STEPS:,}"),
    (dict(steps=0), "steps"),
    (dict(dataset="mnist"), "mnist"),
    (dict(model="resnet"), "resnet"),
    (dict(model="cnn", dataset="iris", hidden=(8,)), "image"),
    (dict(model="cnn"), "64"),
    (dict(hidden=()), "hidden"),
    (dict(hidden=(100, 0)), "hidden"),
    (dict(activation="gelu"), "gelu"),
    (dict(norm="dropout"), "dropout"),
    (dict(norm_params={"eps": 0.1}), "without a norm"),
    (dict(norm="batch_norm", norm_params={"training": False}), "training"),
    (dict(norm="batch_norm", norm_params={"momentum": 2.0}), "momentum"),
    (dict(norm="layer_norm", norm_params={"num_groups": 2}), "num_groups"),
    (dict(norm="cluster_norm", norm_params={"method": "dbscan"}), "dbscan"),
    (dict(norm="cluster_norm", norm_params={"features": "pca"}), "pca"),
    (dict(norm="cluster_norm", norm_params={"n_clusters": 61}), "61"),
    (dict(lr=0.0), "lr"),
    (dict(lr=float("nan")), "lr"),
    (dict(optimizer="lbfgs"), "lbfgs"),
    (dict(batch_size=5000), "1347"),
    (dict(seed=-1), "seed"),
    (dict(device="tpu"), "tpu"),
    (dict(eval_every=0), "eval_every"),
]


@pytest.mark.parametrize("changes, quoted", BAD, ids=[str(b[0]) for b in BAD])
def test_a_bad_config_gets_one_sentence(changes, quoted):
    with pytest.raises(InputError) as err:
        train(SHORT.with_(**changes))
    assert_one_sentence(err.value)
    assert quoted in str(err.value)


def test_instance_norm_cannot_follow_a_linear_layer():
    for name in NORM_VARIANTS:
        if VARIANTS[name].min_ndim > 2:
            with pytest.raises(InputError) as err:
                check(SHORT.with_(norm=name))
            assert_one_sentence(err.value)
            assert "(N, 100)" in str(err.value)


def test_a_bad_config_is_refused_before_training():
    calls = []
    with pytest.raises(InputError):
        train(SHORT.with_(norm="group_norm", norm_params={"num_groups": 7}), on_eval=calls.append)
    assert not calls
    assert isinstance(norm_layer("none", (4,)), nn.Identity)
    assert isinstance(norm_layer("layer_norm", (4,)), NormLayer)


def test_cuda_out_of_memory_falls_back_to_the_cpu_with_a_note(monkeypatch):
    from vnviz.train import loop

    real = loop._run
    devices = []

    def run(cfg, split, device, on_eval):
        devices.append(device.type)
        if device.type == "cuda":
            raise torch.OutOfMemoryError("CUDA out of memory")
        return real(cfg, split, device, on_eval)

    monkeypatch.setattr(loop, "_run", run)
    monkeypatch.setattr(loop, "pick_device", lambda prefer: torch.device("cuda"))
    monkeypatch.setattr(loop, "describe_device", lambda device: "CUDA: a test GPU (1.0 GiB)")
    h = train(SHORT.with_(device="cuda"))
    assert devices == ["cuda", "cpu"] and h.device == "cpu"
    assert h.notes == ["CUDA: a test GPU (1.0 GiB) ran out of memory; trained on the CPU instead."]
    same_history(h, train(SHORT.with_(device="cpu")))


def test_training_runs_on_one_cpu_thread_and_restores_the_setting():
    before = torch.get_num_threads()
    seen = []
    train(SHORT.with_(steps=10, eval_every=10), on_eval=lambda h: seen.append(torch.get_num_threads()))
    assert seen == [1, 1] and torch.get_num_threads() == before
