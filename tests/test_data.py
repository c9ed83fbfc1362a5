"""Generators, bundled datasets and upload round trips (vnviz.data)."""
from __future__ import annotations

import csv
import dataclasses
import io
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from vnviz.data import MAX_ELEMENTS, SOURCES, Sample, load_array, load_arrays, make_source
from vnviz.data.generators import GENERATORS
from vnviz.errors import InputError

GENERATOR_NAMES = [n for n, s in SOURCES.items() if s.kind == "generator"]
DATASET_NAMES = [n for n, s in SOURCES.items() if s.kind == "dataset"]

EXPECTED_DEFAULTS = {
    "gaussian": (64, 8, 16, 16),
    "shifted_channels": (64, 8, 16, 16),
    "mixture": (96, 4, 8, 8),
    "heavy_tailed": (64, 8, 16, 16),
    "skewed": (64, 8, 16, 16),
    "outliers": (64, 8, 16, 16),
    "images": (16, 3, 32, 32),
    "tokens": (8, 64, 128),
    "digits": (1797, 1, 8, 8),
    "iris": (150, 4),
    "wine": (178, 13),
    "breast_cancer": (569, 30),
    "photos": (2, 3, 107, 160),
}

# (name, shape) pairs every source must refuse
BAD_SHAPES = [
    ("gaussian", (8,)),  # 1-d
    ("gaussian", (2, 2, 2, 2, 2, 2)),  # 6-d
    ("gaussian", (4, 0, 3)),  # a zero dim
    ("gaussian", (-1, 3)),
    ("gaussian", (4096, 4096, 2)),  # 33,554,432 elements
    ("gaussian", (2.0, 3)),
    ("gaussian", "64,8"),
    ("gaussian", (True, 3)),
    ("mixture", (1, 1, 5000, 5000)),
    ("images", (16, 3, 32)),
    ("images", (16, 3, 32, 32, 2)),
    ("tokens", (8, 64)),
    ("tokens", (8, 64, 128, 1)),
    ("digits", (1797, 1, 8, 9)),
    ("digits", (1798, 1, 8, 8)),
    ("digits", (0, 1, 8, 8)),
    ("digits", (1797, 64)),
    ("iris", (150, 3)),
    ("wine", (179, 13)),
    ("breast_cancer", (569, 30, 1)),
    ("photos", (3, 3, 107, 160)),
    ("photos", (2, 1, 107, 160)),
    ("photos", (2, 3, 428, 160)),
    ("photos", (2, 3, 107, 641)),
]

BAD_SEEDS = [-1, 2**63, 1.5, "3", None, True]


def assert_one_sentence(err: pytest.ExceptionInfo) -> None:
    msg = str(err.value)
    assert err.type is InputError
    assert "\n" not in msg and msg.endswith(".") and len(msg) < 300, msg
    assert not re.search(r"[.!?]\s+[A-Z]", msg), msg


# --------------------------------------------------------------------------- every source


def test_sources_catalogue() -> None:
    assert list(SOURCES) == list(EXPECTED_DEFAULTS)
    for name, src in SOURCES.items():
        assert src.name == name
        assert src.default_shape == EXPECTED_DEFAULTS[name]
        assert src.kind in ("generator", "dataset")
        assert src.shape_editable == (src.kind == "generator")
        assert len(src.layout.split()) == len(src.default_shape)
        assert src.title and src.help and "\n" not in src.help


@pytest.mark.parametrize("name", list(SOURCES))
def test_default_sample(name: str) -> None:
    s = make_source(name)
    assert isinstance(s, Sample)
    assert tuple(s.x.shape) == EXPECTED_DEFAULTS[name]
    assert s.x.dtype == torch.float32 and s.x.device.type == "cpu" and s.x.is_contiguous()
    assert torch.isfinite(s.x).all()
    assert s.layout == SOURCES[name].layout and len(s.layout.split()) == s.x.ndim
    assert s.description.endswith(".") and "\n" not in s.description
    assert str(tuple(s.x.shape)) in s.description
    if s.labels is not None:
        assert s.labels.dtype == torch.int64 and tuple(s.labels.shape) == (s.x.shape[0],)
    if s.channel_names is not None:
        assert len(s.channel_names) == s.x.shape[1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.x = torch.zeros(1)  # type: ignore[misc]


@pytest.mark.parametrize("name", list(SOURCES))
def test_seed_determinism(name: str) -> None:
    a, b, c = make_source(name, seed=7), make_source(name, seed=7), make_source(name, seed=8)
    assert torch.equal(a.x, b.x)
    if SOURCES[name].kind == "generator":
        assert not torch.equal(a.x, c.x)
    else:
        assert torch.equal(a.x, c.x)  # datasets ignore the seed


def test_gaussian_matches_torch_generator() -> None:
    g = torch.Generator().manual_seed(3)
    torch.testing.assert_close(make_source("gaussian", (4, 5, 6), 3).x, torch.randn((4, 5, 6), generator=g))


def test_mutating_a_result_does_not_change_the_next() -> None:
    for name in ("iris", "photos"):
        make_source(name).x.zero_()
        assert make_source(name).x.abs().sum() > 0


# --------------------------------------------------------------------------- generators


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    name=st.sampled_from([n for n in GENERATOR_NAMES if n not in ("images", "tokens")]),
    shape=st.lists(st.integers(1, 6), min_size=2, max_size=5).map(tuple),
    seed=st.integers(0, 2**63 - 1),
)
def test_generators_take_any_small_shape(name: str, shape: tuple[int, ...], seed: int) -> None:
    s = make_source(name, shape, seed)
    assert tuple(s.x.shape) == shape and s.x.dtype == torch.float32 and torch.isfinite(s.x).all()
    assert len(s.layout.split()) == len(shape)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 1, 5, 7), (2, 4, 64, 48)])
def test_images_shapes(shape: tuple[int, ...]) -> None:
    assert tuple(make_source("images", shape).x.shape) == shape


@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 3, 40), (1, 5, 31)])
def test_tokens_shapes(shape: tuple[int, ...]) -> None:
    assert tuple(make_source("tokens", shape).x.shape) == shape


def test_shifted_channels_differ() -> None:
    x = make_source("shifted_channels").x
    means, stds = x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3))
    assert means.max() - means.min() > 2 and stds.max() / stds.min() > 5
    assert means.abs().max() <= 5.5 and stds.min() > 0.09 and stds.max() < 11


@pytest.mark.parametrize("shape", [(96, 4, 8, 8), (30, 2), (60, 1, 16)])
def test_mixture_labels_separate_clusters(shape: tuple[int, ...]) -> None:
    s = make_source("mixture", shape, seed=5)
    assert s.labels is not None and set(s.labels.tolist()) == {0, 1, 2}
    assert torch.bincount(s.labels).tolist() == [shape[0] // 3] * 3  # balanced
    dims = [0] + list(range(2, len(shape)))
    means = torch.stack([s.x[s.labels == k].mean(dim=dims) for k in range(3)])  # (K, C)
    gaps = means.sort(dim=0).values.diff(dim=0)  # (K-1, C): per channel, clusters lie >= 4 apart
    assert (gaps > 4).all()
    assert (x_spread := s.x.std()) > 4  # the mixture is far wider than one cluster
    assert x_spread < 20


@pytest.mark.parametrize("n", [1, 2])
def test_mixture_with_fewer_samples_than_clusters(n: int) -> None:
    s = make_source("mixture", (n, 3, 4))
    assert s.labels is not None and sorted(s.labels.tolist()) == list(range(n))


def test_heavy_tailed_has_heavy_tails() -> None:
    x = make_source("heavy_tailed").x
    assert x.abs().max() > 50 and (x.abs() < 1).float().mean() > 0.5


def test_skewed_is_positive_and_skewed() -> None:
    x = make_source("skewed").x
    assert (x > 0).all() and x.mean() > x.median() * 1.3


def test_outliers_fraction() -> None:
    x = make_source("outliers").x
    big = x.abs() >= 50
    assert 100 <= big.sum() <= 131 and x.abs().max() <= 100
    assert (x[big] > 0).any() and (x[big] < 0).any()
    assert make_source("outliers", (1, 1)).x.abs().item() >= 50  # at least one outlier


def test_images_brightness_and_contrast_vary() -> None:
    x = make_source("images").x
    per_image_mean, per_image_std = x.mean(dim=(1, 2, 3)), x.std(dim=(1, 2, 3))
    assert per_image_mean.std() > 1 and per_image_std.max() / per_image_std.min() > 3
    # smooth: neighbouring pixels correlate strongly
    a, b = x[..., :, :-1].flatten(), x[..., :, 1:].flatten()
    assert torch.corrcoef(torch.stack([a, b]))[0, 1] > 0.9


def test_tokens_outlier_dims() -> None:
    s = make_source("tokens")
    std = s.x.std(dim=(0, 1))  # (D,)
    top = std.argsort(descending=True)
    assert (std[top[:4]] > 15).all() and (std[top[4:]] < 1.5).all()  # max(1, 128 // 32) = 4 outliers
    for d in top[:4].tolist():
        assert str(d) in s.description
    assert ((make_source("tokens", (2, 8, 16)).x.std(dim=(0, 1)) > 10).sum()) == 1


# --------------------------------------------------------------------------- datasets


@pytest.mark.parametrize("name", ["digits", "iris", "wine", "breast_cancer"])
def test_dataset_subset_is_the_first_samples(name: str) -> None:
    full = make_source(name)
    shape = (10,) + tuple(full.x.shape[1:])
    part = make_source(name, shape)
    assert torch.equal(part.x, full.x[:10]) and torch.equal(part.labels, full.labels[:10])
    assert make_source(name, tuple(full.x.shape)).x.shape == full.x.shape


def test_dataset_contents() -> None:
    digits = make_source("digits")
    assert digits.x.min() == 0 and digits.x.max() == 16 and set(digits.labels.tolist()) == set(range(10))
    iris = make_source("iris")
    assert iris.channel_names == ("sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)")
    cancer = make_source("breast_cancer")
    scale = cancer.x.abs().mean(dim=0)
    assert scale.max() / scale.min() > 1e4
    assert "scale" in cancer.description
    assert make_source("wine").labels.unique().tolist() == [0, 1, 2]


def test_photos() -> None:
    s = make_source("photos")
    assert s.x.min() >= 0 and s.x.max() <= 1 and s.channel_names == ("red", "green", "blue")
    small = make_source("photos", (1, 3, 20, 30))
    assert tuple(small.x.shape) == (1, 3, 20, 30) and small.labels.tolist() == [0]
    assert abs(small.x.mean() - s.x[:1].mean()) < 0.01  # area averaging keeps the mean
    assert tuple(make_source("photos", (2, 3, 427, 640)).x.shape) == (2, 3, 427, 640)


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(("name", "shape"), BAD_SHAPES)
def test_bad_shapes(name: str, shape: object) -> None:
    with pytest.raises(InputError) as err:
        make_source(name, shape)  # type: ignore[arg-type]
    assert_one_sentence(err)


def test_too_many_elements_states_the_cap() -> None:
    with pytest.raises(InputError, match=re.escape(f"{MAX_ELEMENTS:,}")):
        make_source("gaussian", (4097, 4096))
    make_source("gaussian", (4096, 4096))  # exactly the cap is fine


@pytest.mark.parametrize("name", ["gaussian", "images", "digits"])
@pytest.mark.parametrize("seed", BAD_SEEDS)
def test_bad_seeds(name: str, seed: object) -> None:
    with pytest.raises(InputError) as err:
        make_source(name, seed=seed)  # type: ignore[arg-type]
    assert_one_sentence(err)
    with pytest.raises(InputError):
        SOURCES[name].make(SOURCES[name].default_shape, seed)


@pytest.mark.parametrize("name", ["nope", "", "Gaussian", None, 3])
def test_unknown_source(name: object) -> None:
    with pytest.raises(InputError, match="gaussian") as err:
        make_source(name)  # type: ignore[arg-type]
    assert_one_sentence(err)


def test_generators_validate_when_called_directly() -> None:
    for src in GENERATORS.values():
        with pytest.raises(InputError):
            src.make((0,) * len(src.default_shape), 0)


# --------------------------------------------------------------------------- upload round trips


def _npy(a: np.ndarray) -> bytes:
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


ROUND_TRIP_ARRAYS = [
    np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32),
    np.random.default_rng(1).standard_normal((2, 3, 4, 5)),  # float64 is kept
    np.arange(24, dtype=np.int64).reshape(2, 3, 4),
    np.arange(6, dtype=np.uint8),
    np.array([[True, False], [False, True]]),
    np.array([1.5, np.nan, np.inf, -2.0], dtype=np.float16),
    np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)),
    np.arange(12, dtype=">f8").reshape(3, 4),  # big-endian
    np.ones((1, 1, 1, 1, 1, 2), dtype=np.float32),  # 6-d is the most
]


def _expected(a: np.ndarray) -> torch.Tensor:
    """What load_array gives: a float array in its own dtype (native byte order), bool and integers as float32."""
    target = a.dtype.newbyteorder("=") if a.dtype.kind == "f" else np.dtype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(a, dtype=target))


def _check_loaded(t: torch.Tensor, a: np.ndarray) -> None:
    expected = _expected(a)
    assert t.dtype == expected.dtype and t.is_contiguous() and t.device.type == "cpu"
    torch.testing.assert_close(t, expected, rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize("a", ROUND_TRIP_ARRAYS, ids=lambda a: f"{a.dtype.str}{a.shape}")
def test_npy_round_trip(a: np.ndarray) -> None:
    _check_loaded(load_array(_npy(a), "data.npy"), a)
    _check_loaded(load_array(_npy(a), "DATA.NPY"), a)


def test_npz_round_trip_and_choice() -> None:
    a, b, c = ROUND_TRIP_ARRAYS[:3]
    for save in (np.savez, np.savez_compressed):
        buf = io.BytesIO()
        save(buf, first=a, x=b, third=c)
        arrays = load_arrays(buf.getvalue(), "d.npz")
        assert list(arrays) == ["first", "x", "third"]
        for key, want in zip(arrays, (a, b, c)):
            _check_loaded(arrays[key], want)
        _check_loaded(load_array(buf.getvalue(), "d.npz"), b)  # "x" wins
        buf = io.BytesIO()
        save(buf, c, a)  # arr_0, arr_1
        _check_loaded(load_array(buf.getvalue(), "d.npz"), c)  # else the first


def test_torch_round_trip() -> None:
    t64 = torch.randn(3, 4, dtype=torch.float64)
    for obj, names in [
        (torch.randn(2, 3), ["x"]),
        ({"w": torch.arange(6).reshape(2, 3), "x": t64}, ["w", "x"]),
        ([torch.ones(2), torch.zeros(3, dtype=torch.bool).logical_not()], ["0", "1"]),
        ((torch.randn(4).to(torch.bfloat16),), ["0"]),
        (torch.nn.Parameter(torch.randn(5)), ["x"]),
    ]:
        buf = io.BytesIO()
        torch.save(obj, buf)
        for ext in (".pt", ".pth"):
            arrays = load_arrays(buf.getvalue(), "m" + ext)
            assert list(arrays) == names
            values = [obj] if isinstance(obj, torch.Tensor) else list(obj.values() if isinstance(obj, dict) else obj)
            for got, want in zip(arrays.values(), values):
                want = want.detach().to(want.dtype if want.is_floating_point() else torch.float32)  # floats kept
                assert got.dtype == want.dtype and not got.requires_grad and got.is_contiguous()
                torch.testing.assert_close(got, want, rtol=0, atol=0)
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2), "x": t64}, buf)
    assert torch.equal(load_array(buf.getvalue(), "m.pt"), t64)


def test_half_precision_uploads_keep_their_dtype() -> None:
    """A float16 .npy and float16/bfloat16 .pt come back in their own dtype, bit for bit (issue 17)."""
    a = (np.random.default_rng(3).standard_normal((2, 3, 4)) * 100).astype(np.float16)
    got = load_array(_npy(a), "h.npy")
    assert got.dtype == torch.float16 and torch.equal(got, torch.from_numpy(a))
    big = load_array(_npy(a.astype(">f2")), "h.npy")  # big-endian float16: native float16, same values
    assert big.dtype == torch.float16 and torch.equal(big, torch.from_numpy(a))
    buf = io.BytesIO()
    np.savez_compressed(buf, x=a, y=a.astype(np.float32))
    arrays = load_arrays(buf.getvalue(), "h.npz")
    assert (arrays["x"].dtype, arrays["y"].dtype) == (torch.float16, torch.float32)
    for dtype in (torch.bfloat16, torch.float16):
        t = torch.randn(3, 5).mul(50).to(dtype)
        buf = io.BytesIO()
        torch.save({"x": t, "n": torch.arange(4)}, buf)
        arrays = load_arrays(buf.getvalue(), "h.pt")
        assert arrays["x"].dtype == dtype and torch.equal(arrays["x"], t)
        assert arrays["n"].dtype == torch.float32  # integers: float32
        assert load_array(buf.getvalue(), "h.pt").dtype == dtype


def test_integer_and_exotic_float_uploads() -> None:
    """Integers become float32 (beyond 2**24 rounded to the nearest float32); longdouble float64; float8 float32."""
    ints = np.array([1, 2**24 + 1, -7], dtype=np.int64)
    got = load_array(_npy(ints), "i.npy")
    assert got.dtype == torch.float32 and got.tolist() == [1.0, float(2**24), -7.0]
    if np.dtype(np.longdouble).itemsize > 8:
        wide = load_array(_npy(np.array([1.5, -2.25], dtype=np.longdouble)), "w.npy")
        assert wide.dtype == torch.float64 and wide.tolist() == [1.5, -2.25]
    buf = io.BytesIO()
    torch.save(torch.tensor([0.5, -1.0]).to(torch.float8_e4m3fn), buf)
    eight = load_array(buf.getvalue(), "e.pt")
    assert eight.dtype == torch.float32 and eight.tolist() == [0.5, -1.0]


def test_torch_views_are_materialized() -> None:
    base = torch.arange(100.0)
    buf = io.BytesIO()
    torch.save({"view": base[10:20:2], "expanded": torch.ones(1).expand(3, 4)}, buf)
    arrays = load_arrays(buf.getvalue(), "v.pt")
    assert torch.equal(arrays["view"], base[10:20:2]) and arrays["view"].untyped_storage().nbytes() == 5 * 4
    assert torch.equal(arrays["expanded"], torch.ones(3, 4)) and arrays["expanded"].is_contiguous()


def _csv_bytes(rows: list[list[object]], delimiter: str = ",", bom: bool = False) -> bytes:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter).writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + text.getvalue().encode()


@pytest.mark.parametrize("header", [False, True])
@pytest.mark.parametrize(("filename", "delimiter"), [("t.csv", ","), ("t.tsv", "\t"), ("t.txt", "\t"), ("t.csv", ";")])
def test_csv_round_trip(header: bool, filename: str, delimiter: str) -> None:
    a = np.random.default_rng(2).standard_normal((5, 3)).astype(np.float32)
    a[0, 0], a[1, 2] = np.nan, -np.inf
    rows: list[list[object]] = [[repr(float(v)) for v in row] for row in a]
    if header:
        rows.insert(0, ["alpha", "beta", "gamma"])
    _check_loaded(load_array(_csv_bytes(rows, delimiter), filename), a)
    _check_loaded(load_array(_csv_bytes(rows, delimiter, bom=True), filename.upper()), a)


def test_text_table_variants() -> None:
    a = np.arange(6, dtype=np.float32).reshape(3, 2) / 4
    buf = io.BytesIO()
    np.savetxt(buf, a, header="made by numpy")  # space separated, "# " header
    _check_loaded(load_array(buf.getvalue(), "t.txt"), a)
    _check_loaded(load_array(b"0,0.25\r\n\r\n0.5,0.75\r\n1,1.25\r\n", "t.csv"), a)  # CRLF, blank line
    _check_loaded(load_array(b'"0", 0.25\n"0.5" ,0.75\n1,1.25', "t.csv"), a)  # quotes, spaces, no final newline
    _check_loaded(load_array(b"v\n1\n2\n", "t.csv"), np.array([[1], [2]], dtype=np.float32))  # one column
    _check_loaded(load_array(b"1,2,3\n", "t.csv"), np.array([[1, 2, 3]], dtype=np.float32))  # one row


def test_image_round_trip() -> None:
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (7, 9), dtype=np.uint8)
    grey16 = rng.integers(0, 65536, (7, 9), dtype=np.uint16)
    for pixels, mode, scale in [(rgb, "RGB", 255), (grey, "L", 255), (grey16, "I;16", 65535)]:
        buf = io.BytesIO()
        Image.fromarray(pixels, mode=mode if mode != "I;16" else None).save(buf, "PNG")
        want = torch.from_numpy(np.atleast_3d(pixels).astype(np.float32) / scale).permute(2, 0, 1)[None]
        got = load_array(buf.getvalue(), "p.png")
        assert got.dtype == torch.float32 and got.is_contiguous()
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    rgba = rng.integers(0, 256, (7, 9, 4), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    torch.testing.assert_close(
        load_array(buf.getvalue(), "p.PNG"), torch.from_numpy(rgba[..., :3] / np.float32(255)).permute(2, 0, 1)[None]
    )
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=95)
    decoded = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))  # JPEG is lossy: compare to PIL
    for name in ("p.jpg", "p.jpeg", "misnamed.png"):
        got = load_array(buf.getvalue(), name)
        assert got.shape == (1, 3, 7, 9) and 0 <= got.min() and got.max() <= 1
        torch.testing.assert_close(got, torch.from_numpy(decoded / np.float32(255)).permute(2, 0, 1)[None])


def test_nan_and_inf_pass_through() -> None:
    a = np.array([np.nan, np.inf, -np.inf, 1.0])
    _check_loaded(load_array(_npy(a), "a.npy"), a)
