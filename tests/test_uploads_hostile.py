"""Hostile uploads: every one must end in an InputError with one sentence, and nothing else.

Each bad file is built here, in memory. The table holds builders (called per
test) so that importing this module stays cheap.
"""
from __future__ import annotations

import io
import os
import pickle
import re
import struct
import tracemalloc
import zipfile
import zlib
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from vnviz.data import load_array, load_arrays
from vnviz.data import upload
from vnviz.errors import InputError

EXTENSIONS = upload.EXTENSIONS

pytestmark = pytest.mark.filterwarnings(  # building and loading a quantized tensor warns inside torch
    "ignore:.*quantize.*:UserWarning", "ignore:TypedStorage is deprecated:UserWarning"
)

# --------------------------------------------------------------------------- builders


def npy(a: np.ndarray, allow_pickle: bool = False) -> bytes:
    b = io.BytesIO()
    np.save(b, a, allow_pickle=allow_pickle)
    return b.getvalue()


def npy_header(shape: tuple[int, ...], descr: str = "<f8", version: tuple[int, int] = (1, 0)) -> bytes:
    b = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    if version == (1, 0):
        np.lib.format.write_array_header_1_0(b, header)
    else:
        np.lib.format.write_array_header_2_0(b, header)
    return b.getvalue()


def npz(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return b.getvalue()


def npz_patched(patch: Callable[[zipfile.ZipInfo], None], data: bytes = b"") -> bytes:
    """A one-member npz whose central directory entry is edited by ``patch`` before it is written."""
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.npy", data or npy(np.arange(10.0)))
        patch(zf.filelist[0])
    return b.getvalue()


def torch_bytes(obj: object, **kwargs: object) -> bytes:
    b = io.BytesIO()
    torch.save(obj, b, **kwargs)
    return b.getvalue()


def rezip(data: bytes, method: int) -> bytes:
    """The same zip with every member recompressed with ``method``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", method) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int, depth: int = 1, color: int = 0) -> bytes:
    """A valid all-black PNG of width x height pixels, compressed without ever holding the pixels."""
    row = b"\0" * (1 + (width * depth * (3 if color == 2 else 1) + 7) // 8)
    z = zlib.compressobj(1)
    block = row * 1000
    idat = [z.compress(block) for _ in range(height // 1000)] + [z.compress(row * (height % 1000)), z.flush()]
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    chunks = png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", b"".join(idat)) + png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def zip_bomb_npz() -> bytes:
    """An .npz whose one member really inflates to 280 MB of zeros (float64, 35M elements)."""
    n = 35_000_000
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("x.npy", "w", force_zip64=True) as f:
            f.write(npy_header((n,)))
            zeros = bytes(8 * 2**20)
            for _ in range(n * 8 // len(zeros)):
                f.write(zeros)
            f.write(bytes(n * 8 % len(zeros)))
    return b.getvalue()


def image_bytes(pixels: np.ndarray, fmt: str) -> bytes:
    b = io.BytesIO()
    Image.fromarray(pixels).save(b, fmt)
    return b.getvalue()


def random_bytes(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


class Custom:
    """A class weights_only=True refuses to rebuild."""

    def __init__(self) -> None:
        self.value = 3


def _huge_directory_zip() -> bytes:
    data = bytearray(npz({"x.npy": npy(np.arange(3.0))}))
    data[-22 + 12 : -22 + 16] = struct.pack("<I", 2**30)  # central directory "size"
    return bytes(data)


def _many_members() -> bytes:
    return npz({f"a{i}.npy": b"" for i in range(upload.MAX_ARRAYS + 1)}, zipfile.ZIP_STORED)


def _csv_too_wide() -> bytes:
    return b"1" + b",1" * upload.MAX_ELEMENTS  # 16,777,217 cells in one row


def _png_truncated() -> bytes:
    data = image_bytes(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8), "PNG")
    return data[: len(data) // 2]


def _jpeg_truncated() -> bytes:
    data = image_bytes(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8), "JPEG")
    return data[: len(data) // 2]


def _five_full_members() -> bytes:
    member = npy_header((2**24,), "|u1") + bytes(2**24)
    return npz({f"a{i}.npy": member for i in range(5)})


def _pt_not_tensor() -> bytes:
    return torch_bytes({"x": 3})


Builder = Callable[[], bytes]

# (id, filename, builder) for files that must be refused
BAD_FILES: list[tuple[str, str, Builder]] = [
    # pickles and Python objects
    ("npy_object_array", "a.npy", lambda: npy(np.array([{"a": 1}, None], dtype=object), allow_pickle=True)),
    ("npz_object_member", "a.npz", lambda: npz({"x.npy": npy(np.array([print], dtype=object), allow_pickle=True)})),
    ("pt_custom_class", "a.pt", lambda: torch_bytes({"x": torch.ones(2), "meta": Custom()})),
    ("pt_plain_int", "a.pt", lambda: torch_bytes(3)),
    ("pt_dict_with_int", "a.pt", _pt_not_tensor),
    ("pt_nested_dict", "a.pth", lambda: torch_bytes({"a": {"b": torch.ones(2)}})),
    ("pt_empty_dict", "a.pt", lambda: torch_bytes({})),
    ("pt_legacy_format", "a.pt", lambda: torch_bytes(torch.ones(3), _use_new_zipfile_serialization=False)),
    ("pt_raw_pickle", "a.pt", lambda: pickle.dumps(torch.ones(3).numpy())),
    ("pt_deflated_records", "a.pt", lambda: rezip(torch_bytes(torch.ones(3)), zipfile.ZIP_DEFLATED)),
    ("pt_complex", "a.pt", lambda: torch_bytes(torch.ones(3, dtype=torch.complex64))),
    ("pt_sparse", "a.pt", lambda: torch_bytes(torch.eye(3).to_sparse())),
    ("pt_quantized", "a.pt", lambda: torch_bytes(torch.quantize_per_tensor(torch.ones(3), 0.1, 0, torch.qint8))),
    ("pt_zero_size", "a.pt", lambda: torch_bytes(torch.ones(0, 3))),
    ("pt_scalar", "a.pt", lambda: torch_bytes(torch.tensor(1.0))),
    ("pt_7d", "a.pt", lambda: torch_bytes(torch.ones((1,) * 7))),
    ("pt_all_nan", "a.pt", lambda: torch_bytes(torch.full((4,), float("nan")))),
    ("pt_stride0_view_1e9", "a.pt", lambda: torch_bytes(torch.ones(1).expand(10**9))),
    ("pt_meta_device", "a.pt", lambda: torch_bytes(torch.ones(3, device="meta"))),
    # zip bombs and lying zips
    ("npz_zip_bomb_280MB", "a.npz", zip_bomb_npz),
    ("npz_claims_1TB_member", "a.npz", lambda: npz_patched(lambda i: setattr(i, "file_size", 2**40))),
    ("npz_claims_ratio_1e6", "a.npz", lambda: npz_patched(lambda i: setattr(i, "file_size", 200 * 2**20))),
    ("npz_understates_size", "a.npz", lambda: npz_patched(lambda i: setattr(i, "file_size", 100))),
    ("npz_bad_crc", "a.npz", lambda: npz_patched(lambda i: setattr(i, "CRC", i.CRC ^ 1))),
    ("npz_encrypted_flag", "a.npz", lambda: npz_patched(lambda i: setattr(i, "flag_bits", i.flag_bits | 1))),
    ("npz_bzip2_member", "a.npz", lambda: npz({"x.npy": npy(np.arange(5.0))}, zipfile.ZIP_BZIP2)),
    ("npz_lzma_member", "a.npz", lambda: npz({"x.npy": npy(np.arange(5.0))}, zipfile.ZIP_LZMA)),
    ("npz_huge_directory", "a.npz", _huge_directory_zip),
    ("npz_too_many_members", "a.npz", _many_members),
    ("npz_empty_zip", "a.npz", lambda: npz({})),
    ("npz_not_npy_member", "a.npz", lambda: npz({"readme.txt": b"hello"})),
    ("npz_member_not_npy_data", "a.npz", lambda: npz({"x.npy": b"hello"})),
    ("npz_member_absurd_shape", "a.npz", lambda: npz({"x.npy": npy_header((10**12,))})),
    ("npz_members_over_total", "a.npz", _five_full_members),  # each within the cap, 5 x 2**24 elements in all
    ("npz_not_a_zip", "a.npz", lambda: npy(np.arange(3.0))),
    # .npy headers
    ("npy_claims_1e12", "a.npy", lambda: npy_header((10**12,))),
    ("npy_claims_1e12_v2", "a.npy", lambda: npy_header((10**12,), version=(2, 0))),
    ("npy_truncated", "a.npy", lambda: npy(np.arange(100.0))[:-8]),
    ("npy_header_only", "a.npy", lambda: npy_header((3, 4))),
    ("npy_magic_only", "a.npy", lambda: b"\x93NUMPY"),
    ("npy_trailing_bytes", "a.npy", lambda: npy(np.arange(4.0)) + b"junk"),
    ("npy_garbage_header", "a.npy", lambda: b"\x93NUMPY\x01\x00\x10\x00{'descr': oops}\n"),
    ("npy_header_len_4GB", "a.npy", lambda: b"\x93NUMPY\x02\x00\xff\xff\xff\xff{}"),
    ("npy_version_9", "a.npy", lambda: b"\x93NUMPY\x09\x00" + npy(np.arange(3.0))[8:]),
    ("npy_negative_dim", "a.npy", lambda: npy_header((-5, 2))),
    ("npy_nested_header", "a.npy", lambda: b"\x93NUMPY\x01\x00" + struct.pack("<H", 3000) + b"(" * 2999 + b"\n"),
    ("npy_complex", "a.npy", lambda: npy(np.ones(3, dtype=np.complex64))),
    ("npy_strings", "a.npy", lambda: npy(np.array(["a", "bc"]))),
    ("npy_bytes", "a.npy", lambda: npy(np.array([b"a", b"bc"]))),
    ("npy_structured", "a.npy", lambda: npy(np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]))),
    ("npy_subarray_dtype", "a.npy", lambda: npy_header((2,), "('<f4', (3,))") + bytes(24)),
    ("npy_datetime", "a.npy", lambda: npy(np.array(["2020-01-01"], dtype="datetime64[D]"))),
    ("npy_void", "a.npy", lambda: npy(np.zeros(2, dtype="V4"))),
    ("npy_all_nan", "a.npy", lambda: npy(np.full((3, 3), np.nan))),
    ("npy_all_inf", "a.npy", lambda: npy(np.array([np.inf, -np.inf]))),
    ("npy_zero_size", "a.npy", lambda: npy(np.zeros((3, 0)))),
    ("npy_0d", "a.npy", lambda: npy(np.float64(1.0))),
    ("npy_7d", "a.npy", lambda: npy(np.zeros((1, 2, 1, 2, 1, 2, 1)))),
    ("npy_20M_elements", "a.npy", lambda: npy_header((20_000_000,), "|u1") + bytes(20_000_000)),
    # images
    ("png_bomb_30000x30000", "a.png", lambda: png_bomb(30000, 30000)),
    ("png_bomb_10000x10000", "a.png", lambda: png_bomb(10000, 10000)),
    ("png_over_cap_3000x3000_rgb", "a.png", lambda: png_bomb(3000, 3000, 8, 2)),
    ("png_truncated", "a.png", _png_truncated),
    ("jpeg_truncated", "a.jpg", _jpeg_truncated),
    ("png_header_only", "a.png", lambda: png_bomb(10, 10)[:33]),
    ("png_is_gif", "a.png", lambda: image_bytes(np.zeros((4, 4), dtype=np.uint8), "GIF")),
    ("png_is_bmp", "a.png", lambda: image_bytes(np.zeros((4, 4), dtype=np.uint8), "BMP")),
    # text tables
    ("csv_not_utf8", "a.csv", lambda: "1,2\n3,\u00e9\n".encode("latin-1")),
    ("csv_utf16", "a.csv", lambda: "1,2\n3,4\n".encode("utf-16")),
    ("csv_ragged", "a.csv", lambda: b"1,2,3\n4,5\n"),
    ("csv_ragged_header", "a.csv", lambda: b"a,b\n1,2,3\n"),
    ("csv_strings", "a.csv", lambda: b"1,2\n3,four\n"),
    ("csv_two_header_rows", "a.csv", lambda: b"a,b\nc,d\n1,2\n"),
    ("csv_empty_cell", "a.csv", lambda: b"1,2\n3,\n"),
    ("csv_only_header", "a.csv", lambda: b"alpha,beta\n"),
    ("csv_only_blank", "a.csv", lambda: b"\n \n\r\n"),
    ("csv_only_comments", "a.txt", lambda: b"# nothing\n# here\n"),
    ("csv_nul_bytes", "a.csv", lambda: b"1,2\n3,\x004\n"),
    ("csv_all_nan", "a.csv", lambda: b"nan,nan\ninf,-inf\n"),
    ("csv_huge_field", "a.csv", lambda: b'1,"' + b"1" * 200_000 + b'"\n'),
    ("txt_quoted_field", "a.txt", lambda: b'"1" "2"\n'),
    ("csv_hex_number", "a.csv", lambda: b"0x10,1\n"),
    ("csv_too_wide", "a.csv", _csv_too_wide),
    ("tsv_with_commas", "a.tsv", lambda: b"1,2\n3,4\n"),
    # names
    ("exe", "a.exe", lambda: npy(np.arange(3.0))),
    ("no_extension", "data", lambda: npy(np.arange(3.0))),
    ("double_extension", "a.npy.exe", lambda: npy(np.arange(3.0))),
    ("dot_only", "a.", lambda: npy(np.arange(3.0))),
    ("tar_gz", "a.tar.gz", lambda: b"\x1f\x8b"),
    ("newline_in_name", "evil\nname\r.exe", lambda: b"x"),
    ("long_name", "x" * 5000 + ".bin", lambda: b"x"),
]
BAD_FILES += [(f"empty{ext}", "empty" + ext, lambda: b"") for ext in EXTENSIONS]
BAD_FILES += [(f"random{ext}", "random" + ext, lambda ext=ext: random_bytes(4096, len(ext))) for ext in EXTENSIONS]
BAD_FILES += [(f"short_random{ext}", "r" + ext, lambda ext=ext: random_bytes(7, ord(ext[1]))) for ext in EXTENSIONS]

# builders whose files would cost much memory or time if read naively
BOMBS = {
    "npz_zip_bomb_280MB",
    "npz_claims_1TB_member",
    "npz_claims_ratio_1e6",
    "npz_members_over_total",
    "npz_member_absurd_shape",
    "npy_claims_1e12",
    "npy_20M_elements",
    "pt_stride0_view_1e9",
    "png_bomb_30000x30000",
    "png_bomb_10000x10000",
    "png_over_cap_3000x3000_rgb",
    "csv_too_wide",
}


_BUILT: dict[str, bytes] = {}


def built(case: str) -> tuple[str, bytes]:
    """(filename, bytes) of a table row; the costly bombs are built once per session."""
    filename, build = next(row[1:] for row in BAD_FILES if row[0] == case)
    if case not in BOMBS:
        return filename, build()
    if case not in _BUILT:
        _BUILT[case] = build()
    return filename, _BUILT[case]


def assert_one_sentence(msg: str) -> None:
    assert "\n" not in msg and "\r" not in msg, msg
    assert msg.endswith(".") and 20 < len(msg) < 300, msg
    assert msg[0].isupper(), msg
    assert "Traceback" not in msg and "Error" not in msg, msg
    assert not re.search(r"[.!?]\s+[A-Z]", msg), msg  # no second sentence


def test_table_is_big_and_unique() -> None:
    ids = [row[0] for row in BAD_FILES]
    assert len(ids) >= 30 and len(ids) == len(set(ids))
    assert BOMBS <= set(ids)


@pytest.mark.parametrize("case", [row[0] for row in BAD_FILES])
def test_bad_file_is_refused(case: str) -> None:
    filename, data = built(case)
    for reader in (load_arrays, load_array):
        with pytest.raises(InputError) as err:
            reader(data, filename)
        assert type(err.value) is InputError
        assert_one_sentence(str(err.value))


@pytest.mark.parametrize("case", sorted(BOMBS))
def test_bombs_allocate_little(case: str) -> None:
    filename, data = built(case)
    tracemalloc.start()
    try:
        with pytest.raises(InputError):
            load_arrays(data, filename)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - len(data) < 50 * 2**20, f"{case}: peak {peak:,} bytes"


# --------------------------------------------------------------------------- payloads that act if unpickled


class TouchFile:
    """Unpickling this calls open(path, "w"), which creates the file."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.path, "w"))


class RunShell:
    """Unpickling this runs a shell command that creates the file."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch '{self.path}'",))


PAYLOADS = {
    "npy": lambda obj: ("p.npy", npy(np.array([obj, 1], dtype=object), allow_pickle=True)),
    "npz": lambda obj: ("p.npz", npz({"x.npy": npy(np.array([obj], dtype=object), allow_pickle=True)})),
    "pt": lambda obj: ("p.pt", torch_bytes({"x": torch.ones(2), "payload": obj})),
    "pt_bare": lambda obj: ("p.pt", torch_bytes(obj)),
    "pt_list": lambda obj: ("p.pth", torch_bytes([torch.ones(2), obj])),
}


@pytest.mark.parametrize("payload", [TouchFile, RunShell], ids=["open", "os_system"])
@pytest.mark.parametrize("fmt", list(PAYLOADS))
def test_pickle_payload_never_runs(fmt: str, payload: type, tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    filename, data = PAYLOADS[fmt](payload(target))
    assert not target.exists()
    with pytest.raises(InputError) as err:
        load_arrays(data, filename)
    assert_one_sentence(str(err.value))
    assert "never unpickles" in str(err.value)
    assert not target.exists()


def test_payload_would_run_if_unpickled(tmp_path: Path) -> None:
    """Control: the payloads above are real, so their absence of effect means something."""
    for payload in (TouchFile, RunShell):
        target = tmp_path / payload.__name__
        np.load(io.BytesIO(npy(np.array([payload(target)], dtype=object), allow_pickle=True)), allow_pickle=True)
        assert target.exists()


# --------------------------------------------------------------------------- caps, by monkeypatching


def test_upload_byte_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    data = npy(np.arange(300.0))
    load_array(data, "a.npy")
    monkeypatch.setattr(upload, "MAX_UPLOAD_BYTES", 1000)
    for name in ("a.npy", "a.csv", "a.png", "a.pt", "a.npz"):
        with pytest.raises(InputError, match="1,000") as err:
            load_array(data, name)
        assert_one_sentence(str(err.value))


def test_element_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upload, "MAX_ELEMENTS", 100)
    monkeypatch.setattr(upload, "MAX_IMAGE_PIXELS", 30)
    cases = [
        ("a.npy", npy(np.zeros(101))),
        ("a.npz", npz({"x.npy": npy(np.zeros((11, 10)))})),
        ("a.pt", torch_bytes(torch.zeros(101))),
        ("a.csv", b"\n".join([b"1,2,3,4,5,6,7,8,9,10"] * 11)),
        ("a.png", image_bytes(np.zeros((6, 6), dtype=np.uint8), "PNG")),
    ]
    for name, data in cases:
        with pytest.raises(InputError) as err:
            load_array(data, name)
        assert_one_sentence(str(err.value))
    load_array(npy(np.zeros(100)), "a.npy")  # exactly the cap is fine


def test_archive_total_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upload, "MAX_ARCHIVE_ELEMENTS", 25)
    for name, data in [
        ("a.npz", npz({"a.npy": npy(np.ones(10)), "b.npy": npy(np.ones(10)), "c.npy": npy(np.ones(10))})),
        ("a.pt", torch_bytes([torch.ones(10), torch.ones(10), torch.ones(10)])),
    ]:
        with pytest.raises(InputError, match="25") as err:
            load_arrays(data, name)
        assert_one_sentence(str(err.value))


@pytest.mark.parametrize("data", ["text", None, 12, [1, 2]])
def test_non_bytes_data(data: object) -> None:
    with pytest.raises(InputError) as err:
        load_array(data, "a.npy")  # type: ignore[arg-type]
    assert_one_sentence(str(err.value))


def test_non_string_filename() -> None:
    with pytest.raises(InputError) as err:
        load_array(npy(np.ones(3)), None)  # type: ignore[arg-type]
    assert_one_sentence(str(err.value))


def test_bytearray_and_memoryview_are_fine() -> None:
    data = npy(np.arange(3.0))
    assert load_array(bytearray(data), "a.npy").tolist() == [0.0, 1.0, 2.0]
    assert load_array(memoryview(data), "a.npy").tolist() == [0.0, 1.0, 2.0]


def test_messages_quote_the_bad_value() -> None:
    with pytest.raises(InputError, match=r"'four'.*line 2|Line 2, column 2 .*'four'"):
        load_array(b"1,2\n3,four\n", "a.csv")
    with pytest.raises(InputError, match="Line 2 .* 2 cells .* line 1 has 3"):
        load_array(b"1,2,3\n4,5\n", "a.csv")
    with pytest.raises(InputError, match=r"'\.exe'.*\.npy"):
        load_array(b"x", "a.exe")
    with pytest.raises(InputError, match=r"1,000,000,000,000 elements"):
        load_array(npy_header((10**12,)), "a.npy")
    with pytest.raises(InputError, match=r"complex64"):
        load_array(npy(np.ones(3, dtype=np.complex64)), "a.npy")


def test_pil_global_limit_is_left_alone() -> None:
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(InputError):
        load_array(png_bomb(3000, 3000, 8, 2), "a.png")
    assert Image.MAX_IMAGE_PIXELS == before


def test_refuses_even_if_pil_limit_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(InputError, match="pixels"):
        load_array(png_bomb(30000, 30000), "a.png")


# --------------------------------------------------------------------------- fuzzing: only InputError may escape


def _valid_files() -> list[tuple[str, bytes]]:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 5)).astype(np.float32)
    b = io.BytesIO()
    np.savez_compressed(b, x=a, y=np.arange(3))
    return [
        ("f.npy", npy(a)),
        ("f.npz", b.getvalue()),
        ("f.npz", npz({"x.npy": npy(a)}, zipfile.ZIP_STORED)),
        ("f.pt", torch_bytes({"x": torch.from_numpy(a), "y": torch.arange(3)})),
        ("f.csv", b"a,b,c\n1,2,3\n4,5,6\n"),
        ("f.png", image_bytes(rng.integers(0, 256, (6, 7, 3), dtype=np.uint8), "PNG")),
        ("f.jpg", image_bytes(rng.integers(0, 256, (8, 8), dtype=np.uint8), "JPEG")),
    ]


VALID_FILES = _valid_files()


def _check_outcome(data: bytes, filename: str) -> None:
    try:
        arrays = load_arrays(data, filename)
    except InputError as e:
        assert type(e) is InputError
        assert_one_sentence(str(e))
        return
    assert arrays
    for t in arrays.values():
        assert t.device.type == "cpu" and t.is_contiguous()
        assert t.dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64)  # a mutated header may say f2
        assert 1 <= t.ndim <= 6 and 0 < t.numel() <= upload.MAX_ELEMENTS
        assert torch.isfinite(t).any()


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(0, len(VALID_FILES) - 1),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=4),
    cut=st.none() | st.floats(0, 1),
)
def test_mutated_valid_files(which: int, edits: list[tuple[float, int]], cut: float | None) -> None:
    filename, data = VALID_FILES[which]
    buf = bytearray(data)
    for where, value in edits:
        buf[int(where * len(buf))] = value
    if cut is not None:
        buf = buf[: int(cut * len(buf))]
    _check_outcome(bytes(buf), filename)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(data=st.binary(max_size=600), ext=st.sampled_from(EXTENSIONS))
@example(data=b"\n", ext=".tsv")  # once made an unguarded next() raise StopIteration
def test_random_bytes(data: bytes, ext: str) -> None:
    _check_outcome(data, "f" + ext)


