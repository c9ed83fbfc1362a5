"""Lessons: one idea each, with a question for the class and a link that opens the exact view.

A lesson is data only (no Streamlit): the Lessons page draws them as cards,
and the tests check that every link is one its page accepts. ``link`` builds
the URL path with its query string; ``present=True`` adds ``present=1``
(presenter mode: no sidebar, big fonts and figures).
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping
from urllib.parse import urlencode

from vnviz.i18n import N_, Msg
from vnviz.train.experiments import EXPERIMENTS
from vnviz.train.views import link_query

PAGES = {  # stable path -> the page's title in the navigation (N_: translated when drawn)
    "/": N_("Home"), "/explore": N_("Explore"), "/compare": N_("Compare"), "/cluster_norm": N_("ClusterNorm"),
    "/slice_mask": N_("Slice & Mask"), "/axis_check": N_("Axis check"), "/lessons": N_("Lessons"),
    "/train": N_("Training lab"),
}


@dataclass(frozen=True)
class Lesson:
    """One idea to show in class."""

    slug: str  # short id, e.g. "bn_batch_of_one"
    title: str  # the idea, as a headline (N_, as the paragraph, the question and look_at: translated when drawn)
    paragraph: str  # what is going on, in a few sentences
    question: str  # the question to ask the class before revealing
    page: str  # the page's stable path, one of PAGES
    query: Mapping[str, str | tuple[str, ...]]  # the link's query, values as link text (a tuple: a repeated key)
    look_at: str  # where to look on the page, and what to change next

    def link(self, present: bool = False) -> str:
        """The page path with its query string, e.g. ``/explore?source=tokens&variant=layer_norm``."""
        query = dict(self.query) | ({"present": "1"} if present else {})
        return f"{self.page}?{urlencode(query, doseq=True, safe=',:-')}" if query else self.page


def _lesson(slug: str, title: str, paragraph: str, question: str, page: str,
            query: Mapping[str, str | tuple[str, ...]], look_at: str) -> Lesson:
    return Lesson(slug, title, paragraph, question, page, MappingProxyType(query), look_at)


LESSONS: tuple[Lesson, ...] = (
    _lesson(
        "bn_batch_of_one", N_("Why BatchNorm fails at batch size 1"),
        N_("BatchNorm normalizes each channel with the mean and variance of the whole batch. At inference (eval "
           "mode) it uses running averages collected during training instead, and a freshly built module's running "
           "averages are mean 0 and variance 1: it does nothing at all. In training mode with one sample, the 'batch' "
           "statistics are that one sample's own, so it silently becomes InstanceNorm; with no positions at all "
           "(shape (1, C)) there is one value per channel and torch refuses to train."),
        N_("This is one image through a fresh BatchNorm in eval mode. Is the output normalized? Now switch training "
           "on: whose statistics does it use, and what will the model see at test time?"),
        "/explore", {"source": "shifted_channels", "shape": "1,8,16,16", "variant": "batch_norm", "training": "false"},
        N_("Distributions: in eval mode the output is the input (x/√(1+eps)), and a warning says the running "
           "statistics are untouched. Toggle training: every channel is standardized over its own 16×16 positions."),
    ),
    _lesson(
        "ln_tokens_outliers", N_("LayerNorm vs BatchNorm on token embeddings with outlier dimensions"),
        N_("Transformers normalize each token over its D features (LayerNorm over the last dim), so every token gets "
           "mean 0 and variance 1 whatever else is in the batch. These embeddings carry a few 'massive' feature "
           "dimensions 20 to 60 times larger than the rest, as large language models do: they dominate each token's "
           "variance, so LayerNorm squashes every ordinary feature toward 0."),
        N_("After LayerNorm, how large are the ordinary features compared with the outlier dimensions? What would "
           "BatchNorm normalize here instead?"),
        "/explore", {"source": "tokens", "variant": "layer_norm", "normalized_shape": "128", "log_y": "true"},
        N_("Per-axis statistics, the D row: the spikes stay, and the ordinary features' std is far below 1. Then "
           "switch the variant to BatchNorm and read the warning about (N, L, D) tokens."),
    ),
    _lesson(
        "in_removes_contrast", N_("InstanceNorm removes each image's brightness and contrast"),
        N_("InstanceNorm standardizes every (image, channel) pair over its own pixels. Whatever brightness (an offset) "
           "and contrast (a scale) an image had, it is gone afterwards: that is why style transfer uses it, and why "
           "a classifier that needs to know 'is this picture dark?' cannot learn it after this layer."),
        N_("These images differ in brightness and contrast. After InstanceNorm, could you still tell which image "
           "was the darkest? What did the layer throw away?"),
        "/explore", {"source": "images", "variant": "instance_norm"},
        N_("Per-axis statistics, the N row: before, every sample has its own mean and std; after, both are flat at "
           "0 and 1. Switch to BatchNorm: the per-image differences survive."),
    ),
    _lesson(
        "gn_between_ln_in", N_("GroupNorm sits between LayerNorm and InstanceNorm"),
        N_("GroupNorm splits the C channels of each sample into G groups and standardizes each group over its "
           "channels and positions. With G = 1 a sample is one group (LayerNorm); with G = C every channel is its own "
           "group (InstanceNorm). It does not depend on the batch, which is why detection and segmentation models "
           "trained with tiny batches use it."),
        N_("How many statistic groups does each layer make per sample? Which num_groups turns GroupNorm into "
           "LayerNorm, and which into InstanceNorm?"),
        "/compare", {"source": "images", "shape": "16,8,32,32", "variants": "layer_norm,group_norm,instance_norm",
                     "num_groups": "2", "section": "Statistic groups"},
        N_("Statistic groups: one colour per sample (LayerNorm), one per band of 4 channels (GroupNorm, 2 groups), "
           "one per channel row (InstanceNorm). Then the Equivalences tab: GroupNorm(1) = LayerNorm and "
           "GroupNorm(C) = InstanceNorm, checked on this data."),
    ),
    _lesson(
        "equivalences", N_("Which layers are secretly the same?"),
        N_("Several normalizations coincide in special cases, and some famous 'equalities' hold only without the "
           "affine. The Compare page checks them numerically on the data at hand and draws where the two outputs "
           "differ: white is identical up to float rounding."),
        N_("GroupNorm(1) and LayerNorm over (C, H, W) compute the same statistics. Why do they stop being equal as "
           "soon as GroupNorm has a per-channel weight?"),
        "/compare", {"source": "shifted_channels", "shape": "16,8,8,8",
                     "variants": "batch_norm,layer_norm,group_norm,cluster_norm", "num_groups": "1",
                     "n_clusters": "1", "section": "Equivalences"},
        N_("Equivalences: the striped heatmap is the per-channel weight that LayerNorm's per-element affine does not "
           "have. In the other tabs, GroupNorm(1) matches LayerNorm and ClusterNorm with one cluster matches "
           "BatchNorm."),
    ),
    _lesson(
        "cluster_multimodal", N_("ClusterNorm on multimodal data"),
        N_("BatchNorm assumes one blob per channel: one mean, one variance for the whole batch. When the batch is a "
           "mixture of very different groups, the shared statistics describe none of them. ClusterNorm first "
           "clusters the samples, then batch-normalizes every cluster with its own statistics (Mixture Normalization "
           "is its soft version)."),
        N_("This batch is three separate clusters. What does BatchNorm's output look like per cluster, and what does "
           "normalizing each cluster on its own change?"),
        "/cluster_norm", {"source": "mixture", "method": "kmeans", "n_clusters": "3", "mode": "hard"},
        N_("The per-cluster histograms: under BatchNorm the three modes stay apart; under ClusterNorm each cluster is "
           "centred on 0 with std 1. Set n_clusters to 1: it is BatchNorm again."),
    ),
    _lesson(
        "mask_multiply_vs_fill", N_("Causal masks: multiply by 0, or fill with −inf?"),
        N_("A causal mask stops a token from attending to later tokens. Multiplying the scores by 0 does not remove "
           "them: a score of 0 still becomes exp(0) = 1 inside the softmax, so the 'hidden' future keeps a share of "
           "the attention. Filling with −inf gives exp(−inf) = 0: the future gets exactly nothing."),
        N_("With the mask multiplied in, how much attention does the first token still pay to the tokens after it? "
           "What changes when mode is fill with value −inf?"),
        "/slice_mask", {"op": "matrix_mask", "kind": "causal", "mask_mode": "multiply", "matrix": "attention"},
        N_("The 'Effect on a softmax' tab: with multiply, masked entries keep a probability; switch mode to fill "
           "(value −inf) and they drop to exactly 0."),
    ),
    _lesson(
        "slices_are_views", N_("Slices are views: writing into y changes x"),
        N_("x[1:9:2, 2:10] does not copy anything: it is a view, a new shape and strides over the same memory. "
           "Writing into it writes into x. A list of indices (advanced indexing) makes a copy instead, which is "
           "safe to modify but costs memory and time."),
        N_("y = x[1:9:2, 2:10]; y.fill_(big). Does x change? Now try rows = 0,5,9: what is different, and why?"),
        "/slice_mask", {"op": "matrix_slice", "matrix": "gaussian", "matrix_shape": "12,12", "rows": "1:9:2",
                        "cols": "2:10"},
        N_("'Where y lives in memory': strides and storage offset, shared with x. 'Write through y': x after the "
           "write. Then type 0,5,9 for rows and watch the facts flip to a copy."),
    ),
    _lesson(
        "axes_of_my_layer", N_("Which axes does my layer reduce over?"),
        N_("torch's norm layers assume channel-first input (N, C, *). Token embeddings are (N, L, D), so "
           "nn.BatchNorm1d(D) on them either fails or, when L happens to equal D, silently normalizes per token "
           "position instead of per feature. The Axis check page infers from an (input, output) pair which axes "
           "were reduced over."),
        N_("nn.BatchNorm1d applied to (N, L, D) tokens: which axis does it treat as the channels? What did you mean?"),
        "/axis_check", {"example": "bn1d_tokens"},
        N_("The inferred axes and the warning; then permute the tokens to (N, D, L) (layout N L D, channel axis D) "
           "and check again."),
    ),
    _lesson(
        "follow_one_pixel", N_("Follow one pixel through BatchNorm and through LayerNorm"),
        N_("A normalized value depends on the values that share its statistics. BatchNorm averages each channel over "
           "the whole batch and every position: this pixel's group is its channel in all 16 images, 16,384 values. "
           "LayerNorm averages each sample over all its channels and positions: its group is its own image, 3,072 "
           "values, whatever the rest of the batch holds. The same x gets another mean, another variance and another "
           "output."),
        N_("Which values does BatchNorm average to normalize this pixel, and which does LayerNorm? If the other "
           "images of the batch changed, which of the two outputs would change?"),
        "/explore", {"source": "images", "variant": "batch_norm", "tab": "Follow one element",
                     "element": "3,0,12,20", "step": "1"},
        N_("Follow one element, step 1: the outlined cells are the pixel's group in its own image (the rest of the "
           "group is in the other images). Press next through the mean, the variance and the normalization. Then "
           "switch the variant to layer_norm: the outline covers the whole image, and μ, σ² and y change. Click "
           "another pixel to follow it."),
    ),
    _lesson(
        "rms_does_not_centre", N_("RMSNorm does not centre"),
        N_("RMSNorm divides by the root mean square and subtracts nothing: it keeps the mean. On zero-mean data it "
           "behaves like LayerNorm, and it is cheaper; on all-positive data (here log-normal) the output stays "
           "all-positive with a mean well above 0."),
        N_("After RMSNorm, is each sample centred on 0? Where would the difference from LayerNorm matter?"),
        "/explore", {"source": "skewed", "variant": "rms_norm"},
        N_("Distributions: the output is still one-sided. Per-axis statistics: the mean line sits above 0 and the "
           "std below 1 (the mean square is 1, not the variance). Switch to LayerNorm to see both fixed."),
    ),
    _lesson(
        "layer_norm_autocast_float32", N_("Why LayerNorm runs in float32 under autocast"),
        N_("Mixed-precision training (torch.autocast on CUDA) runs matrix multiplies in float16 but sends a few ops back "
           "to float32: layer_norm, group_norm and rms_norm are on torch's list of ops that autocast to float32, with "
           "exp, log, pow and the losses; batch_norm is not (its CUDA kernels keep float32 statistics by themselves). A "
           "norm squares its inputs, and in float16 x² overflows as soon as |x| passes 256 (√65504); a float16 sum of "
           "squares also loses precision with every addition. torch's kernels already sum half inputs in float32; "
           "autocast makes the whole layer, affine and output included, float32. These heavy-tailed activations reach "
           "|x| ≈ 900."),
        N_("Computed in float16, how far is LayerNorm's output from exact maths? Would a LayerNorm written by hand in "
           "float16, with x.pow(2).mean(), survive this data?"),
        "/explore", {"source": "heavy_tailed", "variant": "layer_norm", "compute_in": "float16"},
        N_("The precision view: torch's kernel stays within about one unit of float16 at the output's scale (the kernel "
           "alone: half a unit, correctly rounded), and the traps say x² overflows float16 above |x| = 255.9. Switch "
           "compute in to bfloat16 (8 significant bits: errors 8 times larger, but no overflow), then the variant to "
           "BatchNorm, whose CPU kernel rounds its statistics to the dtype first."),
    ),
    _lesson(
        "eps_constant_groups", N_("eps matters for constant groups"),
        N_("Normalizing divides by √(var + eps). A group whose values are all equal has var = 0: without eps that "
           "is 0/0. Handwritten digits have blank borders, so with the pixel columns as channels most images have "
           "a column of zeros; InstanceNorm makes that a constant (image, column) group."),
        N_("A blank column has variance 0. What does (x − mean)/√(var + eps) give there, and what would eps = 0 give?"),
        "/explore", {"source": "digits", "channel_axis": "3", "variant": "instance_norm"},
        N_("Verification: constant groups come out as 0, not NaN, and their variance is var/(var+eps) = 0 instead of "
           "1. Set eps to 0 and read the error."),
    ),
    _lesson(
        "train_bn_figure1", N_("BatchNorm, Figure 1: faster training, and inputs to the sigmoids that stop drifting"),
        N_("Ioffe and Szegedy trained a sigmoid MLP on MNIST with and without BatchNorm: with it, the test accuracy "
           "climbed much faster, and the distribution of a sigmoid's input (its 15th, 50th and 85th percentile) stayed "
           "put instead of drifting as the layers below it learned. Here the same 64-100-100-100-10 sigmoid MLP "
           "trains on scikit-learn's 8×8 digits with plain SGD, batch 60, learning rate 1, three seeds."),
        Msg("How many steps does each need to reach 90{pct} held-out accuracy? In the percentile panels, which one keeps "
            "moving while the network learns, and why would that slow the layer above it down?", pct="%"),
        "/train", link_query(EXPERIMENTS["bn_figure1"]),
        N_("The table: steps to 90% per seed. The accuracy chart, then the percentile bands of hidden 3 (the paper's "
           "Figure 1b, c) and the step × value heatmap. Try lr 0.1: which one still gets there in 3000 steps?"),
    ),
    _lesson(
        "train_batch_size", N_("BatchNorm at tiny batches: the train/eval gap of its running statistics"),
        N_("BatchNorm normalizes with the batch's own mean and variance while training and with running averages at "
           "test time. With a batch of 2, each sample is normalized against one other sample, so the statistics it "
           "trains with are noise, and the running averages describe batches the network never saw. GroupNorm and "
           "LayerNorm normalize each sample by itself, so the batch size does not enter. This sweep trains batch "
           "sizes 32 to 2 of a ReLU MLP on the same number of samples, the learning rate scaled with the batch (Wu and "
           "He, Fig. 1)."),
        N_("Below which batch size does BatchNorm's held-out error (eval mode) leave the others behind, and is the "
           "culprit the batch statistics it trained with or the running statistics it is tested with?"),
        "/train", link_query(EXPERIMENTS["batch_size"]),
        N_("The sweep chart: solid = held-out in eval mode, dotted = the training batches, dashed = held-out "
           "normalized with batch statistics. The gap between solid and dashed is what the running statistics change."),
    ),
    _lesson(
        "train_lr_robustness", N_("Which norms survive a large learning rate?"),
        N_("A normalization rescales what each layer receives, so a weight update that would blow a plain network "
           "up is partly undone by the next norm: BatchNorm makes a layer's output invariant to the scale of its "
           "weights. This sweep trains a ReLU MLP at learning rates from 0.01 to 10 with no norm and with each norm."),
        N_("At which learning rate does each one stop learning? Which norm keeps working at the largest rate, and "
           "which ones fail first at the smallest?"),
        "/train", link_query(EXPERIMENTS["lr_robustness"]),
        N_("The sweep chart: a cross marks a run that did not learn (below twice chance) or diverged. The table has "
           "every run's final accuracy."),
    ),
    _lesson(
        "train_landscape", N_("Does BatchNorm make the loss landscape smoother?"),
        N_("Santurkar et al. argued that BatchNorm helps less by fixing the inputs' drift than by making the loss "
           "smoother: along the gradient direction, the loss and the gradient change less for a step of a given "
           "size. Every 50 steps this ReLU MLP measures, on the step's own batch, the loss after moving 0.25 to 4 "
           "learning rates along the gradient, and how much the gradient changes there."),
        N_("Which band is narrower: the loss range with BatchNorm or without? Does the gradient change less with it, "
           "as the paper's Figure 4 shows for a VGG on CIFAR-10?"),
        "/train", link_query(EXPERIMENTS["landscape"]),
        N_("The last chart: left, the range of the loss over the step sizes at each probed step; right, the range of "
           "the gradient change. Compare with the accuracy curves above."),
    ),
    _lesson(
        "train_cluster_norm", N_("ClusterNorm and Mixture Normalization as layers, against BatchNorm"),
        N_("Mixture Normalization (Kalayeh and Shah) replaces BatchNorm's single Gaussian per channel by a mixture: "
           "samples are grouped, softly, and each group is normalized with its own statistics; the paper reports that "
           "it reaches BatchNorm's best accuracy in fewer updates. Here ClusterNorm (hard groups) and its soft mode "
           "are layers of the Figure 1 MLP, three clusters per layer, three seeds."),
        Msg("Which reaches 90{pct} first, and does either reach BatchNorm's best accuracy in fewer steps? What does "
            "normalizing each cluster separately remove that a classifier might need?", pct="%"),
        "/train", link_query(EXPERIMENTS["cluster_norm"]),
        N_("The table: steps to 90% and to BatchNorm's best, per seed. The percentile and heatmap panels show what "
           "each layer's units receive."),
    ),
)


def lesson(slug: str) -> Lesson:
    """The lesson called ``slug`` (KeyError when there is none)."""
    for item in LESSONS:
        if item.slug == slug:
            return item
    raise KeyError(slug)
