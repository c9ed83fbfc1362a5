"""The clustering backends of ClusterNorm: features, torch k-means and GMM, scikit-learn methods.

Clustering runs in torch on x.device (``torch_kmeans``, ``torch_gmm_posteriors``)
or in scikit-learn on the CPU (imported only when such a method is chosen).
Every method returns (N,) int64 labels, -1 for noise; ``renumber`` maps them to
0..K-1.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import torch
import torch.nn.functional as F

from vnviz.errors import InputError
from vnviz.i18n import N_, Msg

# -- the clustering methods ----------------------------------------------------

# name -> (uses n_clusters, most samples allowed or None, why it is capped)
METHODS: dict[str, tuple[bool, int | None, str]] = {
    "torch_kmeans": (True, None, ""),
    "kmeans": (True, 2_000_000, N_("scikit-learn KMeans copies the data to the CPU")),
    "minibatch_kmeans": (True, None, ""),
    "bisecting_kmeans": (True, 2_000_000, N_("scikit-learn BisectingKMeans copies the data to the CPU")),
    "gmm": (True, 200_000, N_("a full EM fit on the CPU takes seconds beyond that")),
    "agglomerative": (True, 5_000, N_("Ward linkage needs all N×N pairwise distances")),
    "birch": (True, 10_000, N_("its final agglomerative step may see every sample as a subcluster")),
    "spectral": (True, 5_000, N_("it builds an N×N affinity graph and its eigenvectors")),
    "dbscan": (False, 20_000, N_("neighbourhood queries grow with N²")),
    "hdbscan": (False, 20_000, N_("its mutual-reachability tree grows with N²")),
}
MODES = ("hard", "soft")
FEATURES = ("flatten", "channel_means", "pca")
SEED_MAX = 2**32 - 1  # scikit-learn's random_state limit


# -- labels and features -------------------------------------------------------


def renumber(lab: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Map the non-noise label values, sorted, to 0..K-1 (-1 stays noise); return (labels, K)."""
    lo, hi = (int(v) for v in torch.aminmax(lab))
    if lo >= -1 and hi < 2 * lab.numel() + 64:  # small ids (every method's): a bincount, no sort
        present = torch.bincount(lab + 1, minlength=hi + 2)[1:] > 0  # (max id + 1,) bin 0 held the noise
        k = int(present.sum())
        if k == hi + 1:
            return lab, k  # already 0..K-1
        new_id = torch.cat([lab.new_full((1,), -1), present.cumsum(0) - 1])  # value + 1 -> new id
        return new_id[lab + 1], k
    keep = lab != -1
    uniq, inv = torch.unique(lab[keep], sorted=True, return_inverse=True)
    out = torch.full_like(lab, -1)
    out[keep] = inv
    return out, int(uniq.numel())


def _pca(f: torch.Tensor, dim: int, seed: int) -> torch.Tensor:
    """Project the rows of ``f`` (N, D) on their top ``dim`` principal directions.

    Randomized SVD (Halko et al., the algorithm of ``torch.pca_lowrank``) with a
    seeded generator on f's device, 8 extra columns and 2 power iterations;
    exact when D or N is at most dim + 8.
    """
    n, d = f.shape
    fc = f - f.mean(0)  # (N, D)
    k = min(dim + 8, n, d)
    g = torch.Generator(device=f.device).manual_seed(seed)
    omega = torch.randn(d, k, generator=g, dtype=f.dtype, device=f.device)  # (D, k)
    basis, _ = torch.linalg.qr(fc @ omega)  # (N, k)
    for _ in range(2):
        basis, _ = torch.linalg.qr(fc @ (fc.T @ basis))
    _, _, vh = torch.linalg.svd(basis.T @ fc, full_matrices=False)  # (k, D)
    return fc @ vh[: min(dim, k)].T  # (N, dim)


def cluster_features(x: torch.Tensor, features: str = "flatten", pca_dim: int = 2, seed: int = 0) -> torch.Tensor:
    """The (N, F) features the samples of ``x`` (N, C, *) are clustered on (no grad).

    ``"flatten"``: every value of a sample, ``(N, C*S)``; ``"channel_means"``:
    each channel's mean over the positions, ``(N, C)``; ``"pca"``: the
    flattened samples projected on their top ``pca_dim`` principal directions,
    computed in torch on x.device, ``(N, min(pca_dim, N, C*S))``.
    """
    n, c = x.shape[:2]
    flat = x.detach().reshape(n, -1)  # (N, C*S)
    if features == "flatten":
        return flat
    if features == "channel_means":
        return flat.reshape(n, c, -1).mean(-1)  # (N, C)
    if features == "pca":
        return _pca(flat, pca_dim, seed)
    raise InputError("ClusterNorm: features must be one of {choices}; got {features!r}.",
                     choices=", ".join(FEATURES), features=features)


# -- torch backends --------------------------------------------------------------


def group_sum(values: torch.Tensor, idx: torch.Tensor, rows: int) -> torch.Tensor:
    """Sum the rows of ``values`` (N, C) into a (rows, C) table by ``idx`` (N,) in 0..rows-1.

    A scatter: a one-hot (rows, N) matmul while that matrix is small (BLAS, ~3x
    faster than ``index_add_`` on CPU), else ``index_add_``. No loop over rows.
    """
    n = idx.shape[0]
    if rows * n <= 1 << 22:
        onehot = values.new_zeros(rows, n).scatter_(0, idx[None], 1.0)  # (rows, N)
        return onehot @ values
    return values.new_zeros(rows, values.shape[1]).index_add_(0, idx, values)


def _sq_dist(f: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Exact squared distances (N, L) from the rows of f to L points (0 for duplicates)."""
    return torch.cdist(f, points, compute_mode="donot_use_mm_for_euclid_dist") ** 2


def torch_kmeans(
    f: torch.Tensor, n_clusters: int, seed: int = 0, max_iter: int = 50, tol: float = 1e-4,
) -> torch.Tensor:
    """k-means on f's device: k-means++ seeding, then Lloyd iterations; (N,) int64 labels.

    Distances use ``‖c‖² - 2 f·c`` (one matmul; ``‖f‖²`` does not change the
    argmin). It stops when no label changes or the centres move less than
    ``tol`` times the mean feature variance in total (scikit-learn's rule).
    Empty clusters are moved to the points farthest from their centres. When
    the data hold fewer distinct points than ``n_clusters``, seeding stops
    early and fewer labels come back.
    """
    return _kmeans(f, n_clusters, seed, max_iter, tol)[0]


def _kmeans(f: torch.Tensor, n_clusters: int, seed: int, max_iter: int, tol: float) -> tuple[torch.Tensor, int]:
    """``torch_kmeans``, also returning how many centres k-means++ could seed."""
    n, d = f.shape
    f = f - f.mean(0)  # centred: less cancellation in the distance trick
    g = torch.Generator(device=f.device).manual_seed(seed)
    first = int(torch.randint(n, (1,), generator=g, device=f.device))
    centers = [f[first]]
    closest = _sq_dist(f, f[first:first + 1])[:, 0]  # (N,) squared distance to the nearest centre
    trials = 2 + int(math.log(n_clusters))  # greedy k-means++, as scikit-learn
    for _ in range(n_clusters - 1):
        cum = closest.cumsum(0)  # (N,) sample points with probability ∝ closest
        if float(cum[-1]) <= 0.0:  # every point sits on a centre: no distinct point left
            break
        u = torch.rand(trials, generator=g, device=f.device, dtype=f.dtype) * cum[-1]
        picks = torch.searchsorted(cum, u, right=True).clamp_max(n - 1)  # (L,) never a current centre
        cand = torch.minimum(closest[:, None], _sq_dist(f, f[picks]))  # (N, L)
        best = int(cand.sum(0).argmin())  # the candidate that lowers the total the most
        centers.append(f[picks[best]])
        closest = cand[:, best]
    c = torch.stack(centers)  # (K, D)
    k = c.shape[0]
    seeded = k
    stop = tol * float(f.var(0, correction=0).mean())
    f1 = torch.cat([f, f.new_ones(n, 1)], 1)  # (N, D+1): the last column counts the members
    prev = None
    for _ in range(max_iter):
        lab = _nearest(f, c)  # (N,)
        if prev is not None and torch.equal(lab, prev):
            return lab, seeded
        table = group_sum(f1, lab, k)  # (K, D+1) sums and counts, one matmul
        counts = table[:, -1]
        new = table[:, :-1] / counts.clamp_min(1)[:, None]  # (K, D)
        empty = counts == 0
        if bool(empty.any()):  # move them to the points farthest from their centres
            far = (torch.addmm((c * c).sum(1), f, c.T, alpha=-2).min(1).values + (f * f).sum(1))
            new[empty] = f[far.topk(int(empty.sum())).indices]
        shift = float(((new - c) ** 2).sum())
        c, prev = new, lab
        if shift <= stop:
            break
    return _nearest(f, c), seeded


def _nearest(f: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Index of the nearest centre (N,): argmin of ``‖c‖² - 2 f·c`` (``‖f‖²`` is the same for all)."""
    return torch.addmm((c * c).sum(1), f, c.T, alpha=-2).min(1).indices  # (N, K) -> (N,); min beats argmin on CPU


def torch_gmm_posteriors(f: torch.Tensor, labels: torch.Tensor, k: int, em_iter: int = 10) -> torch.Tensor:
    """Posteriors (M, K) of a diagonal GMM fitted by EM, started from hard ``labels`` (M,) in 0..K-1.

    The first M-step takes means, variances and weights from the labels; then
    ``em_iter`` EM iterations, ending with an E-step. Variances get
    ``1e-6 × the mean feature variance`` added (scikit-learn's reg_covar idea).
    """
    n, d = f.shape
    f = f - f.mean(0)  # centred: less cancellation in the quadratic forms
    spread = float(f.var(0, correction=0).mean())
    reg = 1e-6 * (spread if spread > 0 else 1.0)
    f2 = f * f  # (M, D)
    resp = F.one_hot(labels, k).to(f.dtype)  # (M, K)
    for _ in range(em_iter + 1):
        nk = resp.sum(0) + 10 * torch.finfo(f.dtype).eps  # (K,)
        mu = resp.T @ f / nk[:, None]  # (K, D)
        var = (resp.T @ f2 / nk[:, None] - mu * mu).clamp_min(0) + reg  # (K, D)
        prec = var.reciprocal()
        quad = f2 @ prec.T - 2 * (f @ (mu * prec).T) + (mu * mu * prec).sum(1)  # (M, K)
        logp = -0.5 * (quad + var.log().sum(1)) + (nk / n).log()
        resp = torch.softmax(logp, dim=1)
    return resp


# -- scikit-learn backends ---------------------------------------------------------


def _sklearn_estimator(method: str, k: int, n: int, seed: int, max_iter: int, tol: float, p: dict[str, Any]) -> Any:
    from sklearn import cluster, mixture

    if method == "kmeans":
        return cluster.KMeans(k, n_init=1, max_iter=max_iter, tol=tol, random_state=seed)
    if method == "minibatch_kmeans":
        return cluster.MiniBatchKMeans(k, n_init=1, max_iter=max_iter, random_state=seed)
    if method == "bisecting_kmeans":
        return cluster.BisectingKMeans(k, max_iter=max_iter, tol=tol, random_state=seed)
    if method == "gmm":
        return mixture.GaussianMixture(k, covariance_type="diag", max_iter=max_iter, random_state=seed)
    if method == "agglomerative":
        return cluster.AgglomerativeClustering(k)
    if method == "birch":
        return cluster.Birch(n_clusters=k)
    if method == "spectral":
        return cluster.SpectralClustering(
            k, affinity="nearest_neighbors", n_neighbors=max(1, min(10, n - 1)), random_state=seed
        )
    if method == "dbscan":
        return cluster.DBSCAN(eps=p["dbscan_eps"], min_samples=p["min_samples"])
    return cluster.HDBSCAN(min_cluster_size=p["min_cluster_size"], copy=True)  # never write into x's memory


def sklearn_cluster(
    method: str, f: torch.Tensor, k: int, seed: int = 0, max_iter: int = 50, tol: float = 1e-4,
    soft: bool = False, **p: Any,
) -> tuple[torch.Tensor, torch.Tensor | None, list[str]]:
    """Cluster the rows of ``f`` with scikit-learn on the CPU.

    Returns (labels (N,) int64 with -1 for noise, posteriors (N, K) for
    ``method="gmm"`` with ``soft=True`` else None, notes): scikit-learn's
    ConvergenceWarnings become notes; other warnings pass through.
    """
    from sklearn.exceptions import ConvergenceWarning

    data = f.detach().cpu().numpy()
    est = _sklearn_estimator(method, k, data.shape[0], seed, max_iter, tol, p)
    post = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if soft and method == "gmm":
                post = torch.as_tensor(est.fit(data).predict_proba(data), device=f.device)
                lab = post.argmax(1).cpu().numpy()
            else:
                lab = est.fit_predict(data)
        except ValueError as err:
            raise InputError(
                "ClusterNorm: scikit-learn's {method} failed on this input ({err}); try torch_kmeans.",
                method=method, err=str(err),
            ) from None
    notes = []
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            notes.append(Msg("scikit-learn {method}: {warning}", method=method, warning=" ".join(str(w.message).split())))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    labels = torch.as_tensor(lab, dtype=torch.long, device=f.device)
    return labels.clamp_min(-1), post, notes  # HDBSCAN's -2/-3 (infinite, missing) are noise too
