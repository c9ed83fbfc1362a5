"""The Training lab page under AppTest: links train the right runs, results are cached, bad input gets a sentence.

The page's numbers are compared with runs of the library itself (``vnviz.train.train``), never with constants.
"""
from __future__ import annotations

import math
from pathlib import Path

import pytest
from apptest_support import assert_clean, charts, open_page, texts
from sentences import assert_one_sentence

from vnviz.errors import InputError
from vnviz.figures import train as fig
from vnviz.figures.norm import FONT_SIZE
from vnviz.train import TrainConfig, train
from vnviz.train.experiments import EXPERIMENTS, runs
from vnviz.train.views import DEFAULT, experiment_from, link_params, link_query, values_of
from vnviz.ui import train as ui
from vnviz.ui.presenter import SCALE

PAGE = str(Path(__file__).resolve().parents[1] / "app_pages" / "train.py")
QUICK = {"steps": "100", "eval_every": "25"}  # a short run of the default comparison (none, BatchNorm)


def table(at) -> list[dict]:
    return at.table[0].value.to_dict("records")


def same_step(shown: str, step: int | None) -> bool:
    """A table cell against a step count ("—": never reached)."""
    return shown == ("—" if step is None else str(step))


def stored(cfg: TrainConfig):
    return ui.results_store().get(cfg.key())


def test_the_default_view_trains_none_and_batchnorm_and_draws_everything():
    at = open_page(PAGE, QUICK)
    assert_clean(at)
    specs = charts(at)
    assert len(specs) == 4  # curves, percentile bands, heatmaps, gradient norms
    titles = [s["layout"]["title"]["text"] for s in specs]
    assert titles == ["Loss and accuracy", "hidden 3, unit 0: input to its activation",
                      "hidden 3: all pre-activations, step × value", "Weight-gradient norm per hidden layer"]
    rows = table(at)
    assert [r["norm"] for r in rows] == ["no norm", "BatchNorm"]
    exp = experiment_from(values_of(DEFAULT) | {"steps": 100, "eval_every": 25})
    for row, (norm, _, seed, cfg) in zip(rows, runs(exp)):
        h = train(cfg)  # the library, run again: the page shows exactly its numbers
        assert row["final held-out"] == f"{round(h.test_accuracy[-1], 4):.4g}"
        assert same_step(row["steps to 90%"], h.steps_to(0.9))
        assert stored(cfg).test_accuracy == h.test_accuracy
    curves = specs[0]["data"]
    assert {t["name"] for t in curves} >= {"no norm, held-out", "BatchNorm, training batches"}


def test_a_link_sets_every_control():
    query = {"dataset": "wine", "hidden": "16,8", "activation": "tanh", "optimizer": "adam", "lr": "0.01",
             "batch_size": "16", "steps": "60", "eval_every": "20", "norms": ["layer_norm", "group_norm"],
             "seeds": "1,2", "group_norm.num_groups": "4"}
    at = open_page(PAGE, query)
    assert_clean(at)
    rows = table(at)
    assert [(r["norm"], r["seed"]) for r in rows] == [("LayerNorm", "1"), ("LayerNorm", "2"), ("GroupNorm", "1"),
                                                       ("GroupNorm", "2")]
    cfg = TrainConfig(dataset="wine", hidden=(16, 8), activation="tanh", optimizer="adam", lr=0.01, batch_size=16,
                      steps=60, eval_every=20, norm="group_norm", norm_params={"num_groups": 4}, seed=2)
    assert stored(cfg) is not None and stored(cfg).steps[-1] == 60
    assert at.multiselect(key="norms").value == ["layer_norm", "group_norm"]


def test_a_second_visit_replays_from_the_cache(monkeypatch):
    assert_clean(open_page(PAGE, QUICK))

    def refuse(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(ui, "train", refuse)
    at = open_page(PAGE, QUICK)
    assert_clean(at)
    assert len(charts(at)) == 4


def test_a_norm_that_cannot_fit_gets_one_sentence():
    at = open_page(PAGE, QUICK | {"norms": ["instance_norm"]})
    assert not at.exception
    errors = texts(at, "error")
    assert len(errors) == 1 and "InstanceNorm" in errors[0] and "cnn" in errors[0]
    assert_one_sentence(InputError(errors[0]))
    assert not charts(at)


def test_batch_of_one_with_batchnorm_gets_one_sentence():
    at = open_page(PAGE, QUICK | {"batch_size": "1"})
    errors = texts(at, "error")
    assert len(errors) == 1 and "BatchNorm" in errors[0]
    assert_one_sentence(InputError(errors[0]))


def test_invalid_link_values_fall_back_with_a_notice():
    at = open_page(PAGE, QUICK | {"activation": "gelu", "hidden": "ten", "colour": "red"})
    assert_clean(at)
    notices = " ".join(texts(at, "info"))
    assert "activation='gelu'" in notices and "hidden" in notices and "'colour' is not used" in notices
    assert at.selectbox(key="activation").value == "sigmoid"
    assert len(charts(at)) == 4


def test_sweep_mode_draws_error_against_the_swept_value():
    query = {"steps": "60", "eval_every": "30", "norms": ["batch_norm"], "sweep": "lr", "sweep_values": "0.1,1"}
    at = open_page(PAGE, query)
    assert_clean(at)
    (spec,) = charts(at)
    assert spec["layout"]["title"]["text"].startswith("Final error against the learning rate")
    test_trace = next(t for t in spec["data"] if t["name"] == "BatchNorm, held-out")
    for value, error in zip(test_trace["x"], test_trace["y"]):
        h = train(TrainConfig(norm="batch_norm", steps=60, eval_every=30, lr=value))
        assert math.isclose(error, 1 - h.test_accuracy[-1])
    assert [r["value"] for r in table(at)] == ["0.1", "1"]


def test_bad_sweep_values_get_one_sentence():
    at = open_page(PAGE, QUICK | {"sweep": "batch_size", "sweep_values": "8,2.5"})
    errors = texts(at, "error")
    assert len(errors) == 1 and "whole numbers" in errors[0]


def test_the_snippet_reproduces_the_page():
    at = open_page(PAGE, QUICK | {"norms": ["none", "batch_norm", "cluster_norm:soft"]})
    assert_clean(at)
    (code,) = [c.value for c in at.code]
    scope: dict = {}
    exec(code, scope)  # noqa: S102 - the page's own snippet
    exp = experiment_from(values_of(DEFAULT) | {"steps": 100, "eval_every": 25,
                                                "norms": ("none", "batch_norm", "cluster_norm:soft")})
    assert list(scope["runs"].values()) == [cfg for *_, cfg in runs(exp)]
    for cfg, h in zip(scope["runs"].values(), scope["histories"].values()):
        assert h.test_accuracy == stored(cfg).test_accuracy and h.train_loss[1:] == stored(cfg).train_loss[1:]


def test_the_csv_export_holds_every_evaluation_of_every_run():
    at = open_page(PAGE, QUICK)
    (button,) = at.get("download_button")
    exp = experiment_from(values_of(DEFAULT) | {"steps": 100, "eval_every": 25})
    data = ui.results_csv([(norm, value, seed, stored(cfg)) for norm, value, seed, cfg in runs(exp)])
    lines = data.strip().split("\n")
    assert lines[0].startswith("norm,value,seed,step,train_loss")
    assert len(lines) == 1 + 2 * 5  # two runs, evaluations at 0, 25, 50, 75, 100
    assert "no norm" not in data and lines[1].startswith("none,,0,0,") and lines[-1].startswith("batch_norm,,0,100,")
    assert button.proto.label == "history (CSV)"


def test_presenter_mode_scales_the_figures():
    normal = charts(open_page(PAGE, QUICK))
    big = charts(open_page(PAGE, QUICK | {"present": "1"}))
    assert len(normal) == len(big) == 4
    for a, b in zip(normal, big):
        assert a["layout"]["height"] == fig.HEIGHT and b["layout"]["height"] == int(fig.HEIGHT * SCALE)
        assert b["layout"]["font"]["size"] == int(FONT_SIZE * SCALE) > a["layout"]["font"]["size"]


def test_the_experiment_menu_sets_the_controls():
    at = open_page(PAGE, QUICK)
    at.selectbox(key=ui.PRESET).set_value("landscape").run()
    assert_clean(at)
    exp = EXPERIMENTS["landscape"]
    assert at.number_input(key="lr").value == exp.config.lr
    assert at.number_input(key="landscape_every").value == exp.config.landscape_every
    assert at.selectbox(key="activation").value == exp.config.activation
    assert len(charts(at)) == 5  # the landscape chart too
    assert any("loss landscape smoother" in i.value for i in at.info)  # the lesson of the experiment


def test_a_stopped_view_does_not_train_until_asked():
    exp = experiment_from(values_of(DEFAULT) | {"steps": 80, "eval_every": 40})
    view = ui._view_key(runs(exp))
    at_query = {"steps": "80", "eval_every": "40"}
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=120)
    at.query_params.update(at_query)
    at.session_state[ui.STOPPED] = view
    at.run()
    assert_clean(at)
    assert any(i.value.startswith("Training stopped: 0 of 2 runs finished") for i in at.info)
    assert not charts(at)
    at.button(key="train_resume").click().run()
    assert_clean(at)
    assert len(charts(at)) == 4 and all(stored(cfg) is not None for *_, cfg in runs(exp))


@pytest.mark.parametrize("slug", list(EXPERIMENTS))
def test_an_experiment_link_describes_exactly_the_experiment(slug):
    exp = EXPERIMENTS[slug]
    params = link_params()
    values = values_of(DEFAULT)
    for key, text in link_query(exp).items():  # the values as the page's widgets read them from the link
        if isinstance(text, tuple):
            values[key] = tuple(params[key].from_text(t) for t in text)
        elif key == "sweep_values":
            values[key] = text
        else:
            values[key] = params[key].from_text(text)
    again = experiment_from(values)
    assert runs(again) == runs(exp)
