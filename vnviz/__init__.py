"""vnviz: see what normalization layers and matrix slicing/masking do to a tensor.

The public API::

    vnviz.VARIANTS                     # name -> Variant declaration
    vnviz.apply(name, x, **params)     # the result, on x.device
    vnviz.stat_groups(name, shape, **params)   # int64 group map shaped like the input
    vnviz.explain(name, x, index, **params)    # one element: its group, statistics and arithmetic, step by step
    vnviz.load_array(data, filename)   # an uploaded file as a tensor, never unpickled
    vnviz.pick_device(prefer="auto")   # CUDA, then MPS, then CPU
    vnviz.InputError                   # every bad input or parameter
"""
from __future__ import annotations

from vnviz import analysis, data
from vnviz.analysis.explain import Explanation, Step, explain
from vnviz.analysis.infer import infer_axes
from vnviz.data import load_array, load_arrays
from vnviz.device import describe_device, pick_device
from vnviz.errors import InputError
from vnviz.variants import VARIANTS, Param, Variant, apply, get_variant, stat_groups
from vnviz.variants.cluster import ClusterResult, cluster_norm_details

__all__ = [
    "VARIANTS", "Param", "Variant", "InputError", "apply", "get_variant", "stat_groups",
    "load_array", "load_arrays", "pick_device", "describe_device", "analysis", "data",
    "ClusterResult", "cluster_norm_details", "infer_axes", "explain", "Explanation", "Step",
]
__version__ = "0.1.0"
