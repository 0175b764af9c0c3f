"""Losses of weakly supervised VAD: Sultani's MIL ranking loss, the paper's CB-MIL, and the top-k
MIL loss of later methods (RTFM, Wu et al. 2020) with the same class weights.

A training video is a *bag* of S temporal *segments* (S = 32; the paper's snippets V^i), each
scored f(V^i) in [0, 1] by the scorer; a bag carries only a video-level label, abnormal (of one
of the 13 UCF-Crime anomaly classes y) or normal. For an abnormal bag B_a of class y, with n_y
training videos, and a normal bag B_n::

    E_n            = (1 - beta^n) / (1 - beta)                  effective number (Cui et al. 2019)
    w_y            = 1 / E_{n_y} = (1 - beta) / (1 - beta^{n_y})            class weight, eq. (2)
    h(B_a, B_n)    = max(0, 1 - max_i f(V_a^i) + max_i f(V_n^i))    ranking hinge (Sultani et al.)
    l(B_a, B_n, y) = w_y h(B_a, B_n)                                                 CB-MIL, eq. (2)
                     + lambda1 sum_{i=1}^{S-1} (f(V_a^i) - f(V_a^{i+1}))^2            smoothness
                     + lambda2 sum_{i=1}^{S} f(V_a^i)                        sparsity, eq. (3)

Only the ranking term is weighted; ``weights=None`` is plain MIL (all weights 1). The paper
leaves four choices open (docs/method-choices.md, 1-4); each is an option here:

1. Sign. Eq. (2) as printed starts with the minus of the softmax cross-entropy (1), where it
   belongs to ``-log p``; in front of a hinge, already a loss, it would *maximise* the hinge. The
   weights here are positive; ``-weights`` reproduces the literal formula (it trains backwards).
2. Normalisation (``normalize``). ``"classes"`` (default, as in Cui et al.'s public code): the C
   weights sum to C. ``"bags"``: the mean weight over the training bags is 1, so CB-MIL changes
   only the balance between classes. ``"none"``: the raw weights of eq. (2), ~0.1 for every class
   at beta = 0.9, which only shrink the ranking term against the regularisers.
3. Pairing (``pairing``). ``"paired"`` (default, as in the common PyTorch ports): abnormal bag i
   against normal bag i, averaged; ``"all"``: Sultani's objective, every abnormal bag against
   every normal bag.
4. Sparsity (``sparsity``). Eq. (3) as typeset may square the scores: ``"linear"`` (default) is
   Sultani's sum of scores, ``"squared"`` the sum of squares.

Beyond the paper, :func:`topk_mil_loss` pools each bag by the mean of its k top scores and puts a
binary cross-entropy on it (abnormal bags against 1, normal bags against 0) instead of the
hinge; the class weights, when given, weight the abnormal bags' terms, and the two regularisers
are the same. It is the one thing to change to ask whether CB-MIL's effect depends on the loss.

Every loss accepts a leading model dimension (``[M, B, S]`` scores -> ``[M]`` losses), so that many
independent scorers train in one vectorised step. The public functions validate their arguments;
``mil_ranking_loss(..., check=False)`` (and ``topk_mil_loss``'s) skips that inside a training loop
whose inputs were checked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Real

import numpy as np
import torch
import torch.nn.functional as F

from cbmil.data.ucf_crime import CLASSES, TRAIN_COUNTS

#: Scalings of the class-balanced weights (ambiguity 2); the first is the default.
NORMALIZATIONS: tuple[str, ...] = ("classes", "bags", "none")
#: Ways to pair abnormal with normal bags in a batch (ambiguity 3); the first is the default.
PAIRINGS: tuple[str, ...] = ("paired", "all")
#: Forms of the sparsity term (ambiguity 4); the first is the default.
SPARSITY_FORMS: tuple[str, ...] = ("linear", "squared")
#: Sultani et al.'s regulariser weights lambda1 (smoothness) and lambda2 (sparsity).
LAMBDA_SMOOTH = 8e-5
LAMBDA_SPARSE = 8e-5
#: Segments pooled by :func:`topk_mil_loss` by default: RTFM's k = 3 of 32 segments.
TOPK = 3


# ----------------------------------------------------------------------------- class weights

def effective_number(n, beta: float):
    """Effective number of samples of a class with ``n`` samples (Cui et al. 2019)::

        E_n = (1 - beta^n) / (1 - beta)

    Parameters
    ----------
    n : float or array_like, any shape
        Samples (training videos) of a class, each >= 1.
    beta : float
        0 <= beta < 1. ``beta = 0`` gives ``E_n = 1``; ``beta -> 1`` gives ``E_n -> n``.

    Returns
    -------
    float for a scalar ``n``, else numpy.ndarray of float64 of the shape of ``n``
    """
    beta = _check_beta(beta)
    n = _check_counts(n, "n")
    e = _one_minus_beta_pow(n, beta) / (1.0 - beta)
    return float(e) if e.ndim == 0 else e


def class_balanced_weights(counts, beta: float, normalize="classes"):
    """Class-balanced weight of each class: eq. (2)'s factor, its sign made positive::

        w_c = (1 - beta) / (1 - beta^{n_c})          (= 1 / E_{n_c}), then, by ``normalize``,
        "classes":  w_c * C / sum_k w_k              the C weights sum to C (Cui et al.'s code)
        "bags":     w_c * sum_k n_k / sum_k n_k w_k  mean weight over the training bags is 1
        "none":     w_c                              eq. (2) as printed

    Parameters
    ----------
    counts : sequence or numpy.ndarray of shape [C], or dict {class: count}
        Training videos n_c of each class, each >= 1.
    beta : float
        0 <= beta < 1. ``beta = 0`` gives all ones (plain MIL); ``beta -> 1`` tends to inverse
        frequency ``1 / n_c``.
    normalize : {"classes", "bags", "none"}, default "classes"
        The scaling above (the default of :class:`cbmil.train.TrainConfig` too). With bags drawn
        uniformly from the training split, "classes" puts the mean weight per abnormal bag below 1
        for beta > 0 (frequent classes, drawn most often, weigh least), so CB-MIL also shrinks the
        ranking term against the regularisers; "bags" does not. ``False`` / ``True`` are read as
        "none" / "classes".

    Returns
    -------
    numpy.ndarray of float64, shape [C], or dict {class: float} with the keys of ``counts``

    Examples
    --------
    >>> class_balanced_weights([10, 100], beta=0.0)
    array([1., 1.])
    >>> class_balanced_weights({"rare": 1, "common": 3}, beta=0.5, normalize="none")
    {'rare': 1.0, 'common': 0.5714285714285714}
    >>> w = class_balanced_weights([1, 3], beta=0.5, normalize="bags")
    >>> float((w * [1, 3]).sum() / 4)    # mean over the 4 bags
    1.0
    """
    beta, how = _check_beta(beta), _check_normalize(normalize)
    labels = list(counts.keys()) if isinstance(counts, Mapping) else None
    n = _check_counts(counts if labels is None else list(counts.values()), "counts", labels, per_class=True)
    w = (1.0 - beta) / _one_minus_beta_pow(n, beta)
    if how == "classes":
        w = w * (len(w) / w.sum())
    elif how == "bags":
        w = w * (n.sum() / (n * w).sum())
    return w if labels is None else {label: float(x) for label, x in zip(labels, w)}


def ucf_crime_class_weights(beta: float, normalize="classes") -> np.ndarray:
    """Class-balanced weights ``[13]`` of the UCF-Crime anomaly classes, in :data:`CLASSES` order.

    From the official training counts :data:`cbmil.data.ucf_crime.TRAIN_COUNTS` (normal videos
    excluded: only abnormal bags are weighted); index with an abnormal bag's class index. See
    :func:`class_balanced_weights` for ``beta`` and ``normalize``.
    """
    return class_balanced_weights([TRAIN_COUNTS[c] for c in CLASSES], beta, normalize)


def _one_minus_beta_pow(n: np.ndarray, beta: float) -> np.ndarray:
    """``1 - beta^n`` as ``-expm1(n log beta)``: no cancellation when ``beta^n`` is close to 1."""
    if beta == 0.0:
        return np.ones_like(n)  # 0^n = 0 for n >= 1, and log(0) would warn
    return -np.expm1(n * math.log(beta))


# ----------------------------------------------------------------------------- MIL losses

def ranking_hinge(abnormal_scores: torch.Tensor, normal_scores: torch.Tensor,
                  pairing: str = "paired") -> torch.Tensor:
    """Sultani's ranking hinge of each pair of an abnormal bag a and a normal bag n::

        h(a, n) = max(0, 1 - max_i a^i + max_i n^i)

    Parameters
    ----------
    abnormal_scores : torch.Tensor, shape [B_a, S] or [M, B_a, S]
        Segment scores of B_a abnormal bags (of M models).
    normal_scores : torch.Tensor, shape [B_n, S] or [M, B_n, S]
    pairing : {"paired", "all"}, default "paired"
        "paired": ``h(a_i, n_i)`` (needs B_a = B_n); "all": ``h(a_i, n_j)`` for every i, j.

    Returns
    -------
    torch.Tensor
        "paired": shape [B] or [M, B]; "all": shape [B_a, B_n] or [M, B_a, B_n].
    """
    _check_bags(abnormal_scores, normal_scores, pairing)
    return _hinge(abnormal_scores, normal_scores, pairing)


def _hinge(abnormal: torch.Tensor, normal: torch.Tensor, pairing: str) -> torch.Tensor:
    a_max, n_max = abnormal.amax(dim=-1), normal.amax(dim=-1)  # [..., B_a], [..., B_n]
    if pairing == "all":
        a_max, n_max = a_max.unsqueeze(-1), n_max.unsqueeze(-2)
    return torch.relu(1.0 - a_max + n_max)


def smoothness_term(scores: torch.Tensor) -> torch.Tensor:
    """Sultani's smoothness term ``sum_{i=1}^{S-1} (f(V^i) - f(V^{i+1}))^2``: ``[..., B, S]`` -> ``[..., B]``."""
    return torch.diff(scores, dim=-1).square().sum(dim=-1)


def sparsity_term(scores: torch.Tensor, form: str = "linear") -> torch.Tensor:
    """Sparsity term ``sum_i f(V^i)`` ("linear", Sultani's) or ``sum_i f(V^i)^2`` ("squared", one
    reading of eq. (3) as typeset): ``[..., B, S]`` -> ``[..., B]``."""
    _check_option(form, SPARSITY_FORMS, "sparsity")
    return _sparsity(scores, form)


def _sparsity(scores: torch.Tensor, form: str) -> torch.Tensor:
    return (scores if form == "linear" else scores.square()).sum(dim=-1)


def mil_ranking_loss(abnormal_scores: torch.Tensor, normal_scores: torch.Tensor, weights=None,
                     pairing: str = "paired", sparsity: str = "linear",
                     lambda_smooth: float = LAMBDA_SMOOTH, lambda_sparse: float = LAMBDA_SPARSE,
                     *, check: bool = True) -> torch.Tensor:
    """MIL ranking loss (Sultani et al. 2018); with class weights, CB-MIL (paper eqs. 2-3)::

        "paired":  mean_i [ w_i h(a_i, n_i) + l1 smooth(a_i) + l2 sparse(a_i) ]
        "all":     mean_j sum_i w_i h(a_i, n_j) + sum_i [ l1 smooth(a_i) + l2 sparse(a_i) ]

    with ``h`` :func:`ranking_hinge`, ``smooth`` :func:`smoothness_term`, ``sparse``
    :func:`sparsity_term`. Only the ranking term is weighted; the regularisers act on abnormal
    bags only.

    Parameters
    ----------
    abnormal_scores : torch.Tensor, shape [B_a, S] or [M, B_a, S]
        Segment scores f(V_a^i) of B_a abnormal bags of S >= 2 segments, optionally of M models.
    normal_scores : torch.Tensor, shape [B_n, S] or [M, B_n, S]
        Segment scores of B_n normal bags; the same dimensions, M and S. B_n = B_a for "paired".
    weights : None, or array_like / torch.Tensor of shape [B_a] or (3-D scores only) [M, B_a]
        Weight w_i of each abnormal bag's ranking term; None means all ones (plain MIL). CB-MIL
        passes ``w_y`` of each bag's class (:func:`class_balanced_weights`). A [B_a] vector is
        shared by the M models. Negative weights are allowed (``-w`` is eq. (2) read literally).
        Non-finite weights raise ``ValueError``, except weights already on an accelerator, where
        the check would cost a host-device sync.
    pairing : {"paired", "all"}, default "paired"
        Ambiguity 3 (module docstring).
    sparsity : {"linear", "squared"}, default "linear"
        Ambiguity 4.
    lambda_smooth, lambda_sparse : float, default 8e-5
        lambda1 and lambda2 (Sultani's values), each >= 0.
    check : bool, default True
        Validate the arguments. ``False`` trusts them, for a training step whose options were
        validated once: weights then must be None or a tensor on the scores' device and of their
        dtype, shaped as above, and nothing is checked (a bad option is not noticed).

    Returns
    -------
    torch.Tensor
        Scalar (0-d) for 2-D scores, shape [M] (one loss per model) for 3-D scores.
    """
    if check:
        weights, lambda_smooth, lambda_sparse = _check_loss_arguments(
            abnormal_scores, normal_scores, weights, pairing, sparsity, lambda_smooth, lambda_sparse)
    hinge = _hinge(abnormal_scores, normal_scores, pairing)  # [..., B] or [..., B_a, B_n]
    if pairing == "paired":
        loss = (hinge if weights is None else hinge * weights).mean(dim=-1)
        over_bags = torch.mean
    else:  # sum over abnormal bags, mean over normal bags
        loss = (hinge if weights is None else hinge * weights.unsqueeze(-1)).sum(dim=-2).mean(dim=-1)
        over_bags = torch.sum
    if lambda_smooth:
        loss = loss + lambda_smooth * over_bags(smoothness_term(abnormal_scores), dim=-1)
    if lambda_sparse:
        loss = loss + lambda_sparse * over_bags(_sparsity(abnormal_scores, sparsity), dim=-1)
    return loss


def topk_mean(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Mean of each bag's k top segment scores, ``[..., B, S]`` -> ``[..., B]`` (k = 1: the max of
    Sultani's hinge; k = S: the mean over the bag)."""
    return scores.topk(k, dim=-1).values.mean(dim=-1)


def topk_mil_loss(abnormal_scores: torch.Tensor, normal_scores: torch.Tensor, weights=None, k: int = TOPK,
                  lambda_smooth: float = LAMBDA_SMOOTH, lambda_sparse: float = LAMBDA_SPARSE,
                  *, sparsity: str = "linear", check: bool = True) -> torch.Tensor:
    """Top-k MIL loss (the pooling and cross-entropy of RTFM and Wu et al. 2020), with class weights
    as in CB-MIL::

        p(b)  = mean of the k largest scores of bag b                          (:func:`topk_mean`)
        loss  = [ sum_i w_i BCE(p(a_i), 1) + sum_j BCE(p(n_j), 0) ] / (B_a + B_n)
                + l1 mean_i smooth(a_i) + l2 mean_i sparse(a_i)

    with ``BCE(p, 1) = -log p`` and ``BCE(p, 0) = -log(1 - p)``, each log clamped at -100 (torch's
    :func:`~torch.nn.functional.binary_cross_entropy`, the ``nn.BCELoss`` of the public code: a
    bag's term is at most 100 and its gradient stays finite at p = 0 or 1), ``smooth`` and
    ``sparse`` those of :func:`mil_ranking_loss` (:func:`smoothness_term`, :func:`sparsity_term`).
    With B_a = B_n = B the denominator is 2B. Only the abnormal bags are weighted (normal bags
    weigh 1, as the normal bags of CB-MIL's hinge); the regularisers act on abnormal bags only.
    No pairing: every bag has its own term.

    Parameters
    ----------
    abnormal_scores : torch.Tensor, shape [B_a, S] or [M, B_a, S]
        Segment scores in [0, 1] (the scorer's sigmoid outputs) of B_a abnormal bags of S >= 2
        segments, optionally of M models.
    normal_scores : torch.Tensor, shape [B_n, S] or [M, B_n, S]
        Scores of B_n normal bags; the same dimensions, M and S (B_n may differ from B_a).
    weights : None, or array_like / torch.Tensor of shape [B_a] or (3-D scores only) [M, B_a]
        Weight w_i of each abnormal bag's cross-entropy, as in :func:`mil_ranking_loss` (None:
        all ones, plain top-k MIL).
    k : int, default 3
        Segments pooled per bag, 1 <= k <= S. The default is RTFM's 3 of 32 segments (RTFM picks
        them by feature magnitude, here by score); Wu et al. pool k = T // 16 + 1 of a video's T
        snippets instead.
    lambda_smooth, lambda_sparse : float, default 8e-5
        lambda1 and lambda2, each >= 0. The default is the kit's (Sultani's), the same as the
        ranking loss's, so that a comparison of the two losses changes only the pooled term;
        RTFM's code uses 8e-4 (smoothness) and 8e-3 (sparsity).
    sparsity : {"linear", "squared"}, default "linear"
        The sparsity term's form, as in :func:`mil_ranking_loss`.
    check : bool, default True
        Validate the arguments (shapes, k, lambdas, weights; on the CPU also that the scores lie
        in [0, 1]: on an accelerator torch's kernel asserts it). ``False`` trusts them, as
        :func:`mil_ranking_loss` does.

    Returns
    -------
    torch.Tensor
        Scalar (0-d) for 2-D scores, shape [M] (one loss per model) for 3-D scores.
    """
    if check:
        weights, k, lambda_smooth, lambda_sparse = _check_topk_arguments(
            abnormal_scores, normal_scores, weights, k, sparsity, lambda_smooth, lambda_sparse)
    p_a, p_n = topk_mean(abnormal_scores, k), topk_mean(normal_scores, k)  # [..., B_a], [..., B_n]
    bce_a = F.binary_cross_entropy(p_a, torch.ones_like(p_a), reduction="none")   # -log p
    bce_n = F.binary_cross_entropy(p_n, torch.zeros_like(p_n), reduction="none")  # -log(1 - p)
    if weights is not None:
        bce_a = bce_a * weights
    loss = (bce_a.sum(dim=-1) + bce_n.sum(dim=-1)) / (p_a.shape[-1] + p_n.shape[-1])
    if lambda_smooth:
        loss = loss + lambda_smooth * smoothness_term(abnormal_scores).mean(dim=-1)
    if lambda_sparse:
        loss = loss + lambda_sparse * _sparsity(abnormal_scores, sparsity).mean(dim=-1)
    return loss


# ----------------------------------------------------------------------------- argument checks

def _is_real(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (Real, np.floating, np.integer))


def _check_beta(beta) -> float:
    if not _is_real(beta):
        raise ValueError(f"beta must be a real number with 0 <= beta < 1, got {beta!r}")
    if not 0.0 <= float(beta) < 1.0:  # also rejects NaN
        raise ValueError(f"beta must satisfy 0 <= beta < 1, got {beta!r}")
    return float(beta)


def _check_counts(counts, name: str, labels=None, per_class: bool = False) -> np.ndarray:
    """``counts`` as float64, each finite and >= 1, one-dimensional if ``per_class`` (``labels``
    name the classes in the error)."""
    try:
        values = np.asarray(counts, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers (training videos per class), got {counts!r}") from None
    if per_class and values.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one count per class), got shape {values.shape}")
    if values.size == 0:
        raise ValueError(f"{name} must hold at least one class count, got an empty {name}")
    bad = ~(np.isfinite(values) & (values >= 1))
    if bad.any():
        index = int(np.flatnonzero(bad.ravel())[0])
        where = f"{name}[{labels[index]!r}]" if labels is not None else f"{name}[{index}]"
        raise ValueError(f"{name} must be finite and >= 1 (a class needs at least one training "
                         f"video), got {where} = {values.ravel()[index]:g}")
    return values


def _check_normalize(normalize) -> str:
    """``normalize`` as one of :data:`NORMALIZATIONS` (``False`` / ``True``: the boolean spelling
    of earlier versions)."""
    if normalize is False:
        return "none"
    if normalize is True:
        return "classes"
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {', '.join(NORMALIZATIONS)}, got {normalize!r}")
    return normalize


def _check_option(value, options, name: str) -> str:
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return value


def _check_lambda(value, name: str) -> float:
    if not _is_real(value) or not math.isfinite(float(value)) or float(value) < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_scores(scores, name: str) -> None:
    if not isinstance(scores, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape [B, S] or [M, B, S], "
                        f"got {type(scores).__name__}")
    if scores.ndim not in (2, 3):
        raise ValueError(f"{name} must have shape [B, S] (bags x segments) or [M, B, S] "
                         f"(models x bags x segments), got shape {tuple(scores.shape)}")
    if not scores.is_floating_point():
        raise TypeError(f"{name} must hold floating-point scores, got dtype {scores.dtype}")
    if scores.shape[-2] < 1:
        raise ValueError(f"{name} must hold at least one bag, got shape {tuple(scores.shape)}")
    if scores.shape[-1] < 2:
        raise ValueError(f"{name} must hold at least 2 segments per bag, got shape {tuple(scores.shape)}")


def _check_bags(abnormal, normal, pairing) -> None:
    """Validate ``pairing`` and a batch of abnormal and normal bags' scores."""
    _check_option(pairing, PAIRINGS, "pairing")
    _check_scores(abnormal, "abnormal_scores")
    _check_scores(normal, "normal_scores")
    got = f"got abnormal_scores {tuple(abnormal.shape)} and normal_scores {tuple(normal.shape)}"
    if abnormal.ndim != normal.ndim:
        raise ValueError(f"abnormal_scores and normal_scores must both be [B, S] or both [M, B, S], {got}")
    if abnormal.ndim == 3 and abnormal.shape[0] != normal.shape[0]:
        raise ValueError(f"abnormal_scores and normal_scores must have the same number of models M, {got}")
    if abnormal.shape[-1] != normal.shape[-1]:
        raise ValueError(f"abnormal and normal bags must have the same number of segments S, {got}")
    if pairing == "paired" and abnormal.shape[-2] != normal.shape[-2]:
        raise ValueError("pairing='paired' needs as many normal bags as abnormal bags "
                         f"(use pairing='all' otherwise), {got}")


def _check_weights(weights, like: torch.Tensor):
    """``weights`` as a [B] or [M, B] tensor on the device and of the dtype of the scores ``like``
    ([B, S] or [M, B, S]), or None."""
    if weights is None:
        return None
    if isinstance(weights, torch.Tensor):
        w = weights.to(device=like.device, dtype=like.dtype)
        check_values = weights.device.type == "cpu"  # on an accelerator: a host sync every step
    else:
        try:
            w = torch.as_tensor(np.asarray(weights, dtype=np.float64), dtype=like.dtype, device=like.device)
        except (TypeError, ValueError):
            raise ValueError(f"weights must be numbers (one per abnormal bag), got {weights!r}") from None
        check_values = True
    bags = like.shape[-2]
    expected = f"[B] = [{bags}]" + ("" if like.ndim == 2 else f" or [M, B] = [{like.shape[0]}, {bags}]")
    if tuple(w.shape) != (bags,) and (like.ndim == 2 or tuple(w.shape) != (like.shape[0], bags)):
        raise ValueError(f"weights must have shape {expected} (one per abnormal bag), got shape {tuple(w.shape)}")
    if check_values and not bool(torch.isfinite(w).all()):
        raise ValueError(f"weights must be finite, got {weights!r}")
    return w


def _check_loss_arguments(abnormal, normal, weights, pairing, sparsity, lambda_smooth, lambda_sparse):
    """Validate :func:`mil_ranking_loss`'s arguments; return the weights as a tensor (or None) and
    the two lambdas as floats."""
    _check_option(sparsity, SPARSITY_FORMS, "sparsity")
    lambdas = _check_lambda(lambda_smooth, "lambda_smooth"), _check_lambda(lambda_sparse, "lambda_sparse")
    _check_bags(abnormal, normal, pairing)
    return (_check_weights(weights, abnormal), *lambdas)


def _check_k(k, segments: int) -> int:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k <= segments:
        raise ValueError(f"k (segments pooled per bag) must be an integer with 1 <= k <= S = {segments} "
                         f"(the bags' segments), got {k!r}")
    return int(k)


def _check_topk_arguments(abnormal, normal, weights, k, sparsity, lambda_smooth, lambda_sparse):
    """Validate :func:`topk_mil_loss`'s arguments; return the weights as a tensor (or None), k as
    an int and the two lambdas as floats."""
    _check_option(sparsity, SPARSITY_FORMS, "sparsity")
    lambdas = _check_lambda(lambda_smooth, "lambda_smooth"), _check_lambda(lambda_sparse, "lambda_sparse")
    _check_bags(abnormal, normal, "all")  # any numbers of abnormal and normal bags
    k = _check_k(k, abnormal.shape[-1])
    for scores, name in ((abnormal, "abnormal_scores"), (normal, "normal_scores")):
        if scores.device.type == "cpu" and not bool(((scores >= 0) & (scores <= 1)).all()):
            raise ValueError(f"{name} must be probabilities in [0, 1] (the scorer's sigmoid outputs) for the "
                             f"cross-entropy, got values in [{scores.min().item():g}, {scores.max().item():g}]")
    return (_check_weights(weights, abnormal), k, *lambdas)
