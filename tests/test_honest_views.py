"""Views that never lie (issue 12): the library and figure parts of its items, checked by value and structure.

The page behaviour is in tests/test_app_*.py (AppTest) and tests/test_browser_views.py (a real browser).
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import vnviz
from vnviz.analysis.axis_report import report_rows
from vnviz.analysis import matrix_view
from vnviz.analysis.pairs import example_pair
from vnviz.analysis.infer import infer_axes
from vnviz.analysis.verify import verify
from vnviz.analysis.view import explore_view
from vnviz.variants.registry import norm_variants
from vnviz.data import make_source
from vnviz.figures import matrix as fm
from vnviz.figures import norm as fig
from vnviz.ui.data_panel import SHAPE

ROOT = Path(__file__).resolve().parents[1]


# -- item 3: an upload says what was converted (float16 is kept since issue 17) --------------------------


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def test_an_upload_reports_its_stored_dtype():
    half = vnviz.load_arrays(_npy(np.ones((3, 4), np.float16)), "half.npy")
    assert half.stored == {"x": "float16"} and half["x"].dtype == torch.float16
    assert half.conversion("x") == ""  # kept as it is: every norm computes in float16
    buf = io.BytesIO()
    torch.save({"a": torch.ones(2, 3, dtype=torch.int32), "b": torch.ones(2, 3, dtype=torch.bfloat16)}, buf)
    both = vnviz.load_arrays(buf.getvalue(), "two.pt")
    assert both.stored == {"a": "int32", "b": "bfloat16"} and both.conversion("b") == ""
    assert both.conversion("a") == ("The file stores the array 'a' as int32; vnviz converted them to float32 (whole "
                                    "numbers above 2^24 are rounded).")
    ints = vnviz.load_arrays(_npy(np.arange(12, dtype=np.int64).reshape(3, 4)), "ints.npy")
    assert "int64" in ints.conversion("x") and "2^24" in ints.conversion("x")
    assert vnviz.load_arrays(_npy(np.ones((3, 4), np.float64)), "f.npy").conversion("x") == ""  # kept as it is
    assert vnviz.load_arrays(b"1,2\n3,4\n", "t.csv").conversion("x") == ""  # text is read as numbers: no dtype


# -- item 4: eps = 0 on a constant group -----------------------------------------------------------------


def test_eps_zero_on_constant_groups_is_undefined_not_a_mismatch():
    x = torch.randn(4, 3, 5)
    x[1, 2] = 7.0  # one constant (sample, channel) group
    _, v = verify("instance_norm", x, eps=0.0)
    assert v.undefined == 1 and not v.ok
    assert all(np.isfinite(e) for e in (v.torch_max_abs_err, v.ref64_max_abs_err, v.var_eps_dev, v.var_max_dev))
    assert v.ref64_max_abs_err < 1e-5  # the other groups still match the float64 formula
    _, fine = verify("instance_norm", x, eps=1e-5)
    assert fine.undefined == 0 and fine.ok
    _, v = verify("layer_norm", torch.randn(3, 4, 5), eps=0.0)  # no constant group: eps = 0 is fine
    assert v.undefined == 0 and v.ok


# -- item 5: the group picture is true -------------------------------------------------------------------


def _same_colour_same_group(picture) -> bool:
    z, _, distinct = fig.group_colors(picture, None)
    ids = picture.ids.reshape(-1)
    colours = z.reshape(-1)
    pairs = torch.stack(torch.meshgrid(torch.arange(ids.numel()), torch.arange(ids.numel()), indexing="ij")).reshape(2, -1)
    same_id = ids[pairs[0]] == ids[pairs[1]]
    same_colour = colours[pairs[0]] == colours[pairs[1]]
    return bool(distinct and torch.equal(same_id, same_colour))


def test_a_colour_per_group_only_where_they_are_distinct():
    x = make_source("shifted_channels", (16, 8, 4, 4), 0).x
    bn = explore_view(x, "batch_norm", {}, layout="N C H W").group_map
    assert len(bn.drawn) == 8 and _same_colour_same_group(bn)  # 8 groups: each colour is exactly one group
    gn = explore_view(x, "group_norm", {"num_groups": 4}, layout="N C H W").group_map
    assert len(gn.drawn) == 16  # 4 samples x 4 groups: more than colours, so one group is highlighted
    z, scale, distinct = fig.group_colors(gn, 5)
    assert not distinct and torch.equal(z.bool(), gn.ids == 5)  # group 5 in colour, every other group grey
    assert [c for _, c in scale][-1] == fig.AFTER_COLOR and scale[0][1] == fig.OTHER_GROUP
    # the old picture coloured id % 10: sample 3's groups (12-15) took sample 0's colours (2-5)
    assert {int(i) % 10 for i in gn.ids[3].unique()} & {int(i) % 10 for i in gn.ids[0].unique()}


def test_the_group_picture_says_what_it_draws():
    x = make_source("images", None, 0).x  # (16, 3, 32, 32)
    view = explore_view(x, "instance_norm", {}, layout="N C H W")
    text = fig.group_map_caption(view.group_map, None, view.pattern)
    assert "H·W flattened into one index" in text and "64 of its 1024 evenly spread" in text
    assert "The first 4 of the 16 samples" in text and "Blue: statistic group 0" in text
    assert "Same colour" not in text
    spec = fig.group_map(view.group_map, highlight=7).to_plotly_json()
    assert "position %{x} (H·W)" in spec["data"][0]["hovertemplate"]
    assert spec["data"][0]["x"][-1] == 1023  # the positions drawn are named by their index, not 0..63


# -- item 8: the pattern and the torch module of this data -------------------------------------------------


@pytest.mark.parametrize("name, shape, layout, params, pattern, module", [
    ("batch_norm", (8, 64, 16), "N L D", {}, "n l d -> 1 l 1", "nn.BatchNorm1d(64,"),
    ("batch_norm", (4, 3, 5, 5), "N C H W", {}, "n c h w -> 1 c 1 1", "nn.BatchNorm2d(3,"),
    ("instance_norm", (4, 3, 5, 6, 2), "N C D H W", {}, "n c d h w -> n c 1 1 1", "nn.InstanceNorm3d(3,"),
    ("group_norm", (4, 8, 5), "N C L", {"num_groups": 2}, "n (g c) l -> n g 1 1", "nn.GroupNorm(2, 8,"),
    ("layer_norm", (4, 8, 5), "N C L", {"normalized_shape": (5,)}, "n c l -> n c 1", "nn.LayerNorm((5,),"),
    ("rms_norm", (4, 8), "N C", {}, "n c -> n 1", "nn.RMSNorm((8,),"),
])
def test_the_caption_is_this_data_s(name, shape, layout, params, pattern, module):
    view = explore_view(torch.randn(*shape), name, params, layout=layout)
    assert view.pattern == pattern
    assert view.verification.reference.startswith(module)


# an independent reading of the pattern: off the group map (stat_groups), not the declaration's axes rule
def reduction_pattern(groups: torch.Tensor, letters: tuple[str, ...]) -> str:
    """The einops pattern of the statistics, read off the group map of this input (its rank and layout).

    Along each dim the first line of ids is looked at: one id, the dim is reduced (``1``); an id per
    index, it is kept; a few ids, it is split into groups (``(g c)``, kept as ``g``, rest reduced).
    E.g. BatchNorm on (N, L, D) tokens: ``n l d -> 1 l 1``.
    """
    left: list[str] = []
    right: list[str] = []
    for d, name in enumerate(letters):
        line = groups[tuple(slice(None) if i == d else 0 for i in range(groups.ndim))]
        k = int(torch.unique(line).numel())
        name = name.lower()
        if k == 1:
            left.append(name)
            right.append("1")
        elif k == groups.shape[d]:
            left.append(name)
            right.append(name)
        else:
            left.append(f"(g {name})")
            right += ["g", "1"]
    return " ".join(left) + " -> " + " ".join(right)


def test_reduction_pattern_reads_the_group_map():
    g = vnviz.stat_groups("group_norm", (2, 6, 3), num_groups=3)
    assert reduction_pattern(g, ("N", "C", "L")) == "n (g c) l -> n g 1 1"


@pytest.mark.parametrize("shape, layout", [((8, 64, 16), "N L D"), ((4, 6, 5, 5), "N C H W"), ((4, 8, 5), "N C L"),
                                           ((4, 8), "N C"), ((2, 4, 3, 3, 3), "N C D H W")])
def test_the_declared_pattern_is_the_one_the_group_map_shows(shape, layout):
    # the caption comes from the declaration's axes rule; the group map is computed apart from it (stat_groups)
    for v in norm_variants(named=True):
        if len(shape) < v.min_ndim:
            continue
        params = {"num_groups": 2} if "num_groups" in v.param_names else {}
        assert v.text(shape, layout, **params).pattern == \
            reduction_pattern(vnviz.stat_groups(v.name, shape, **params), tuple(layout.split())), v.name


# -- item 9: the axis check says a failed fit failed -------------------------------------------------------


def test_a_failed_fit_reads_as_failed_and_other_fits_are_counted():
    rows = dict(report_rows(infer_axes(*example_pair("softmax"))))
    assert rows["relative residual"].startswith("2.4e-01: does NOT explain y")
    assert "explained equally by" not in rows and "other fits that explain y" not in rows
    tokens = infer_axes(*example_pair("bn1d_tokens"))
    rows = dict(report_rows(tokens))
    assert rows["relative residual"].endswith("explains y (a fit explains y when below 1e-04)")
    others = sum(c.residual <= tokens.tolerance for c in tokens.candidates) - 1
    assert others == 4 and rows["other fits that explain y"].startswith("4 more")


# -- item 7: the defaults show something ----------------------------------------------------------------------


def test_the_default_data_is_changed_by_the_default_variant():
    from vnviz.ui.data_panel import DEFAULT_SOURCE
    from vnviz.ui.explore import VARIANT

    x = make_source(DEFAULT_SOURCE, None, 0).x
    view = explore_view(x, VARIANT.default, {}, layout="N C H W")
    before = next(a for a in view.before.axes if a.name == "C")
    after = next(a for a in view.after.axes if a.name == "C")
    assert float(before.mean.std()) > 1 and float(before.std.max() / before.std.min()) > 3  # channels differ a lot
    assert float(after.mean.abs().max()) < 1e-4 and float((after.std - 1).abs().max()) < 1e-3  # and no longer do


def test_the_readme_example_is_not_a_degenerate_case():
    text = (ROOT / "README.md").read_text()
    links = re.findall(r"/explore\?source=(\w+)&variant=group_norm&num_groups=(\d+)", text)
    assert links
    for source, groups in links:
        c = make_source(source, None, 0).x.shape[1]
        assert int(groups) not in (1, c), (source, groups)  # neither LayerNorm's nor InstanceNorm's groups


# -- item 10: the glitches ------------------------------------------------------------------------------------


def test_per_axis_ticks_are_whole_numbers():
    view = explore_view(torch.randn(2, 3, 4), "batch_norm", {}, layout="N C L")
    spec = fig.axis_profiles(view.before.axes, view.after.axes).to_plotly_json()["layout"]
    for name in ("xaxis", "xaxis3"):  # the N (2) and C (3) rows
        assert spec[name]["dtick"] == 1 and spec[name]["tick0"] == 0


def test_group_heatmap_hover_names_only_what_the_grid_indexes():
    view = explore_view(torch.randn(4, 3, 5), "batch_norm", {}, layout="N C L")
    spec = fig.group_heatmaps(view.before.groups, view.after.groups, view.group_grid, ("", "channel")).to_plotly_json()
    assert spec["data"][0]["hovertemplate"].startswith("channel %{x}: ")  # BatchNorm's one row has no name
    view = explore_view(torch.randn(4, 3, 5), "instance_norm", {}, layout="N C L")
    spec = fig.group_heatmaps(view.before.groups, view.after.groups, view.group_grid, ("sample", "channel")).to_plotly_json()
    assert spec["data"][0]["hovertemplate"].startswith("sample %{y}, channel %{x}: ")


def test_the_row_title_is_left_of_the_first_heatmap_only():
    v = matrix_view.slice_view(torch.randn(12, 12), "1:9:2", "2:10")
    layout = fm.before_after(v.before, v.after).to_plotly_json()["layout"]
    assert layout["yaxis"]["title"]["text"] == "row" and "text" not in layout["yaxis2"].get("title", {})


def test_a_bad_shape_says_what_a_shape_is():
    with pytest.raises(vnviz.InputError) as err:
        SHAPE.from_text("abc", "link")
    assert "must be a shape" not in str(err.value) and "positive whole numbers separated by commas" in str(err.value)
