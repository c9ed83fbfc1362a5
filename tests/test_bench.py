"""The benchmark runs end to end on a tiny configuration and writes what it printed as JSON."""
from __future__ import annotations

import json

import pytest

from vnviz import bench


def test_bench_small_run_writes_every_section(tmp_path, capsys):
    out = tmp_path / "bench.json"
    result = bench.main([
        "--device", "cpu", "--repeats", "1", "--norm-shape", "4,8,4,4", "--sizes", "2e3,2e4",
        "--cluster-sizes", "300", "--cluster-methods", "torch_kmeans,kmeans", "--json", str(out),
    ])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert result["norms"]["shape"] == [4, 8, 4, 4]
    rows = result["norms"]["rows"]
    assert {(r["variant"], r["dtype"]) for r in rows} == {(v, d) for v in bench.TORCH_KERNELS for d in bench.NORM_DTYPES}
    assert all(r["ratio_to_torch"] > 0 and r["ratio_to_floor"] > 0 for r in rows)
    assert all(r["bitwise"] for r in rows)  # every norm is torch's own kernel on the CPU, in every dtype
    assert set(result["norms"]["floors"]) == set(bench.NORM_DTYPES)
    views = result["views"]
    assert [r["variant"] for r in views] == ["batch_norm", "group_norm"] * 2
    assert all(r["ns_per_element"] > 0 and 0 < r["browser_bytes"] <= 1_000_000 for r in views)
    methods = [r["method"] for r in result["cluster"]]
    assert methods[1:] == ["torch_kmeans", "kmeans"] and result["cluster"][0]["ratio_to_baseline"] == 1.0
    printed = capsys.readouterr().out
    assert "1. norms on (4, 8, 4, 4) in float32, float64, float16, bfloat16" in printed and "bfloat16" in printed
    assert "ns/elem" in printed and "torch_kmeans" in printed


def test_bench_dtypes_option(capsys):
    result = bench.main(["--device", "cpu", "--repeats", "1", "--norm-shape", "4,8,4,4", "--sections", "norms",
                         "--dtypes", "bfloat16"])
    assert {r["dtype"] for r in result["norms"]["rows"]} == {"bfloat16"}
    with pytest.raises(SystemExit):
        bench.main(["--sections", "norms", "--dtypes", "float8"])
    assert "unknown dtype(s) float8" in capsys.readouterr().err


def test_bench_precision_section(capsys):
    rows = bench.main(["--device", "cpu", "--sections", "precision"])["precision"]
    assert {(r["variant"], r["dtype"]) for r in rows} == {(v, d) for v in bench.TORCH_KERNELS
                                                           for d in ("float16", "bfloat16")}
    assert all(r["within_tolerance"] for r in rows)
    by = {(r["variant"], r["dtype"]): r for r in rows}
    assert by[("layer_norm", "float16")]["differ_from_float32_once"] < 1e-3  # float32 maths rounded once ...
    assert by[("batch_norm", "float16")]["differ_from_float32_once"] > 0.1  # ... BatchNorm rounds its statistics
    assert "7. how each kernel rounds" in capsys.readouterr().out


def test_bench_refuses_an_unknown_method(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--sections", "cluster", "--cluster-methods", "kmeans,fastest"])
    assert "unknown clustering method(s) fastest" in capsys.readouterr().err


def test_bench_train_section_compares_train_with_plain_loops(capsys):
    result = bench.main(["--device", "cpu", "--sections", "train", "--train-steps", "20", "--train-repeats", "1"])
    rows = result["train"]
    assert [(r["model"], r["norm"]) for r in rows] == [(m, n) for m, _, n, _ in bench.TRAIN_CASES]
    for r in rows:
        assert r["steps"] == 20 and r["train_steps_per_s"] > 0 and r["ratio_to_same_net"] > 0
        assert ("ratio_to_torch" in r) == (r["norm"] != "cluster_norm")
    printed = capsys.readouterr().out
    assert "6. the training lab: 20 steps" in printed and "x same net" in printed
