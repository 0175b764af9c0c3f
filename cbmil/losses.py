"""Losses of weakly supervised VAD: Sultani's MIL ranking loss and the paper's CB-MIL.

Vocabulary. A training video is a *bag*; it is cut into S temporal *segments* (S = 32 in
Sultani et al. 2018; the paper calls them snippets V^i), and the scorer f gives each segment an
anomaly score f(V^i) in [0, 1]. A bag carries only a video-level label: abnormal (with one of the
13 UCF-Crime anomaly classes y) or normal.

MIL ranking loss (Sultani et al.). The most anomalous segment of an abnormal bag B_a should
score higher, by a margin of 1, than the most anomalous segment of a normal bag B_n::

    hinge(B_a, B_n) = max(0, 1 - max_{i in B_a} f(V_a^i) + max_{i in B_n} f(V_n^i))

Class-balanced weight (Cui et al. 2019). A class with n training videos has the *effective
number* E_n = (1 - beta^n) / (1 - beta) and the weight w = 1 / E_n = (1 - beta) / (1 - beta^n).

CB-MIL, the paper's eq. (2), multiplies the ranking term of an abnormal bag of class y by w_y::

    CBMIL(B_a, B_n, y) = w_y * hinge(B_a, B_n)

and eq. (3) adds Sultani's two regularisers over the abnormal bag::

    l(B_a, B_n, y) = CBMIL(B_a, B_n, y)
                     + lambda1 * sum_{i=1}^{S-1} (f(V_a^i) - f(V_a^{i+1}))^2     (smoothness)
                     + lambda2 * sum_{i=1}^{S} f(V_a^i)                           (sparsity)

Only the ranking term is weighted. ``weights=None`` gives plain MIL (all weights 1).

The paper leaves four choices open (README, "Method choices", 1-4); each is an option here:

1. Sign. Eq. (2) as printed starts with a minus sign, copied from the class-balanced softmax
   cross-entropy (1), where it belongs to ``-log p``. Applied to a hinge, which is already a loss,
   it would *maximise* the hinge. The weights here are positive; passing ``-weights`` to
   :func:`mil_ranking_loss` reproduces the literal formula (the tests show it trains backwards).
2. Normalisation. :func:`class_balanced_weights` and the trainer share one default,
   ``normalize="classes"``: Cui et al.'s rescaling to sum to the number of classes, as in the
   public code the paper takes its weights from. ``"bags"`` makes the mean weight over the
   training bags exactly 1 (CB-MIL then changes only the balance between classes);
   ``"none"`` gives the raw eq. (2) weights as printed, ~0.1 for every class at beta = 0.9, which
   only shrink the ranking term against the regularisers.
3. Pairing. ``pairing="paired"`` (default) matches the i-th abnormal with the i-th normal bag
   and averages, as the common PyTorch ports the paper builds on do; ``pairing="all"`` is
   Sultani's original objective (every abnormal bag against every normal bag).
4. Sparsity. Eq. (3) as typeset may square the scores; ``sparsity="linear"`` (default) is
   Sultani's sum of scores, ``sparsity="squared"`` the sum of squares.

Every loss accepts a leading model dimension (``[M, B, S]`` scores -> ``[M]`` losses), so that
many independent scorers can be trained in one vectorised step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Real

import numpy as np
import torch

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


# ----------------------------------------------------------------------------- class weights

def _check_beta(beta) -> float:
    if isinstance(beta, bool) or not isinstance(beta, (Real, np.floating, np.integer)):
        raise ValueError(f"beta must be a real number with 0 <= beta < 1, got {beta!r}")
    value = float(beta)
    if not 0.0 <= value < 1.0:  # also rejects NaN
        raise ValueError(f"beta must satisfy 0 <= beta < 1, got {beta!r}")
    return value


def _check_counts(values: np.ndarray, labels, name: str) -> None:
    if values.size == 0:
        raise ValueError(f"{name} must hold at least one class count, got an empty {name}")
    bad = ~(np.isfinite(values) & (values >= 1))
    if bad.any():
        index = int(np.flatnonzero(bad.ravel())[0])
        where = f"{name}[{labels[index]!r}]" if labels is not None else f"{name}[{index}]"
        raise ValueError(f"{name} must be finite and >= 1 (a class needs at least one training "
                         f"video), got {where} = {values.ravel()[index]:g}")


def _one_minus_beta_pow(n: np.ndarray, beta: float) -> np.ndarray:
    """``1 - beta**n`` without cancellation when ``beta**n`` is close to 1."""
    if beta == 0.0:
        return np.ones_like(n)  # 0**n = 0 for n >= 1; log(0) would warn
    return -np.expm1(n * math.log(beta))


def effective_number(n, beta: float):
    """Effective number of samples ``E_n = (1 - beta**n) / (1 - beta)`` (Cui et al. 2019).

    Parameters
    ----------
    n : float or array_like, any shape
        Number of samples (training videos) of a class, each >= 1.
    beta : float
        Hyper-parameter, 0 <= beta < 1. ``beta = 0`` gives ``E_n = 1`` (every class counts
        as one sample); ``beta -> 1`` gives ``E_n -> n``.

    Returns
    -------
    float or numpy.ndarray of float64
        ``E_n``, a float for a scalar ``n``, else an array of the shape of ``n``.

    Notes
    -----
    ``1 - beta**n`` is computed as ``-expm1(n * log(beta))``, accurate for beta close to 1.
    """
    beta = _check_beta(beta)
    values = np.asarray(n, dtype=np.float64)
    _check_counts(values, None, "n")
    result = _one_minus_beta_pow(values, beta) / (1.0 - beta)
    return float(result) if result.ndim == 0 else result


def _check_normalize(normalize) -> str:
    """``normalize`` as one of :data:`NORMALIZATIONS`; ``False``/``True`` are read as ``"none"`` /
    ``"classes"`` (the boolean spelling of earlier versions)."""
    if normalize is False:
        return "none"
    if normalize is True:
        return "classes"
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {', '.join(NORMALIZATIONS)}, got {normalize!r}")
    return normalize


def class_balanced_weights(counts, beta: float, normalize="classes"):
    """Class-balanced weights ``w_y = (1 - beta) / (1 - beta**n_y)`` = ``1 / E_{n_y}``, rescaled.

    This is the factor of the paper's eq. (2), with its sign corrected to positive
    (README, "Method choices", 1).

    Parameters
    ----------
    counts : sequence or numpy.ndarray of shape [C], or dict {class: count}
        Training videos per class, each >= 1.
    beta : float
        0 <= beta < 1. ``beta = 0`` gives all ones (plain MIL); ``beta -> 1`` tends to inverse
        frequency ``1 / n_y``.
    normalize : {"classes", "bags", "none"}, default "classes"
        How the weights are scaled (the same default as :class:`cbmil.train.TrainConfig`):

        ``"classes"``
            Cui et al.'s public code: ``w * C / sum(w)``, the C weights sum to C. With bags drawn
            uniformly from the training split the *mean weight per abnormal bag* is then below 1
            (frequent classes, drawn most often, get the smallest weights): on UCF-Crime 0.99,
            0.81, 0.76, 0.76 at beta = 0.9 ... 0.9999, so CB-MIL also shrinks the ranking term
            against the regularisers.
        ``"bags"``
            ``w * sum(n) / sum(n * w)``: the mean weight over the training *bags* is exactly 1, so
            CB-MIL changes only the balance between classes, not the average size of the ranking
            term.
        ``"none"``
            The raw weights of eq. (2) as the paper prints them. At beta = 0.9 they are ~0.1 for
            every UCF-Crime class: they rescale the ranking term against the regularisers rather
            than rebalance classes.

        ``False`` and ``True`` are accepted for ``"none"`` and ``"classes"``.

    Returns
    -------
    numpy.ndarray of float64, shape [C], or dict {class: float}
        A dict with the same keys, in the same order, when ``counts`` is a dict.

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
    beta = _check_beta(beta)
    how = _check_normalize(normalize)
    labels = list(counts.keys()) if isinstance(counts, Mapping) else None
    raw = list(counts.values()) if labels is not None else counts
    try:
        values = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"counts must be numbers (training videos per class), got {counts!r}") from None
    if values.ndim != 1:
        raise ValueError(f"counts must be one-dimensional (one count per class), got shape {values.shape}")
    _check_counts(values, labels, "counts")
    weights = (1.0 - beta) / _one_minus_beta_pow(values, beta)
    if how == "classes":
        weights = weights * (len(weights) / weights.sum())
    elif how == "bags":
        weights = weights * (values.sum() / (values * weights).sum())
    if labels is not None:
        return {label: float(w) for label, w in zip(labels, weights)}
    return weights


def ucf_crime_class_weights(beta: float, normalize="classes") -> np.ndarray:
    """Class-balanced weights of the 13 UCF-Crime anomaly classes, in :data:`CLASSES` order.

    Counts are the official training counts :data:`cbmil.data.ucf_crime.TRAIN_COUNTS` (normal videos
    excluded: only abnormal bags are weighted). Index the result with an abnormal bag's class
    index to get its weight. See :func:`class_balanced_weights` for ``beta`` and ``normalize``.

    Returns
    -------
    numpy.ndarray of float64, shape [13]
    """
    return class_balanced_weights([TRAIN_COUNTS[c] for c in CLASSES], beta, normalize)


# ----------------------------------------------------------------------------- MIL losses

def _check_option(value, options, name: str) -> str:
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return value


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


def _check_pair(abnormal, normal, pairing: str):
    """Validate a batch; return both as [M, B, S] plus whether to drop M again."""
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
    squeeze = abnormal.ndim == 2
    if squeeze:
        abnormal, normal = abnormal.unsqueeze(0), normal.unsqueeze(0)
    return abnormal, normal, squeeze


def _check_weights(weights, models: int, bags: int, squeeze: bool, like: torch.Tensor):
    """Weights as a [M, B] or [1, B] tensor on ``like``'s device and dtype, or None."""
    if weights is None:
        return None
    if isinstance(weights, torch.Tensor):
        w = weights.to(device=like.device, dtype=like.dtype)
        # A value check on an accelerator would stall every training step on a host sync.
        check_values = weights.device.type == "cpu"
    else:
        try:
            w = torch.as_tensor(np.asarray(weights, dtype=np.float64), dtype=like.dtype, device=like.device)
        except (TypeError, ValueError):
            raise ValueError(f"weights must be numbers (one per abnormal bag), got {weights!r}") from None
        check_values = True
    expected = f"[B] = [{bags}]" if squeeze else f"[B] = [{bags}] or [M, B] = [{models}, {bags}]"
    if tuple(w.shape) == (bags,):
        w = w.unsqueeze(0)
    elif squeeze or tuple(w.shape) != (models, bags):
        raise ValueError(f"weights must have shape {expected} (one per abnormal bag), "
                         f"got shape {tuple(w.shape)}")
    if check_values and not bool(torch.isfinite(w).all()):
        raise ValueError(f"weights must be finite, got {weights!r}")
    return w


def _check_lambda(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (Real, np.floating, np.integer)) \
            or not math.isfinite(float(value)) or float(value) < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _hinge_of_maxima(abnormal_max: torch.Tensor, normal_max: torch.Tensor, pairing: str) -> torch.Tensor:
    if pairing == "paired":
        return torch.relu(1.0 - abnormal_max + normal_max)
    return torch.relu(1.0 - abnormal_max.unsqueeze(-1) + normal_max.unsqueeze(-2))


def ranking_hinge(abnormal_scores: torch.Tensor, normal_scores: torch.Tensor,
                  pairing: str = "paired") -> torch.Tensor:
    """Unweighted ranking hinge ``max(0, 1 - max_i f(V_a^i) + max_i f(V_n^i))`` per bag pair.

    Parameters
    ----------
    abnormal_scores : torch.Tensor, shape [B_a, S] or [M, B_a, S]
        Segment scores of the abnormal bags (M models, B_a bags, S segments).
    normal_scores : torch.Tensor, shape [B_n, S] or [M, B_n, S]
        Segment scores of the normal bags.
    pairing : {"paired", "all"}, default "paired"
        "paired" (default, as in the common PyTorch ports) compares abnormal bag i with
        normal bag i (needs B_a = B_n); "all" (Sultani's objective) compares every pair.

    Returns
    -------
    torch.Tensor
        "paired": shape [B] (or [M, B]); "all": shape [B_a, B_n] (or [M, B_a, B_n]), entry
        ``[i, j]`` comparing abnormal bag i with normal bag j.
    """
    a, n, squeeze = _check_pair(abnormal_scores, normal_scores, pairing)
    hinge = _hinge_of_maxima(a.amax(dim=-1), n.amax(dim=-1), pairing)
    return hinge.squeeze(0) if squeeze else hinge


def smoothness_term(scores: torch.Tensor) -> torch.Tensor:
    """Sultani's smoothness term ``sum_{i=1}^{S-1} (f(V^i) - f(V^{i+1}))**2`` per bag.

    Parameters
    ----------
    scores : torch.Tensor, shape [..., B, S]

    Returns
    -------
    torch.Tensor, shape [..., B]
    """
    return torch.diff(scores, dim=-1).square().sum(dim=-1)


def sparsity_term(scores: torch.Tensor, form: str = "linear") -> torch.Tensor:
    """Sparsity term per bag: ``sum_i f(V^i)`` ("linear") or ``sum_i f(V^i)**2`` ("squared").

    Parameters
    ----------
    scores : torch.Tensor, shape [..., B, S]
    form : {"linear", "squared"}, default "linear"
        "linear" (default) is Sultani's term; "squared" is one reading of the paper's eq. (3)
        as typeset (ambiguity 4).

    Returns
    -------
    torch.Tensor, shape [..., B]
    """
    _check_option(form, SPARSITY_FORMS, "sparsity")
    return (scores if form == "linear" else scores.square()).sum(dim=-1)


def mil_ranking_loss(abnormal_scores: torch.Tensor, normal_scores: torch.Tensor, weights=None,
                     pairing: str = "paired", sparsity: str = "linear",
                     lambda_smooth: float = LAMBDA_SMOOTH,
                     lambda_sparse: float = LAMBDA_SPARSE) -> torch.Tensor:
    """MIL ranking loss (Sultani et al. 2018); with class weights, CB-MIL (paper eqs. 2-3).

    With ``h(a, n) = max(0, 1 - max(a) + max(n))``, ``smooth(a)`` and ``sparse(a)`` as in
    :func:`smoothness_term` and :func:`sparsity_term`:

    - ``pairing="paired"``: ``mean_i [w_i h(a_i, n_i) + l1 smooth(a_i) + l2 sparse(a_i)]``;
    - ``pairing="all"``: ``mean_j sum_i w_i h(a_i, n_j) + l1 sum_i smooth(a_i) + l2 sum_i sparse(a_i)``.

    Only the ranking term is weighted; the regularisers act on abnormal bags only.

    Parameters
    ----------
    abnormal_scores : torch.Tensor, shape [B_a, S] or [M, B_a, S]
        Segment scores f(V_a^i) of B_a abnormal bags with S segments each (S = 32 in Sultani's
        setup), optionally for M models trained at once.
    normal_scores : torch.Tensor, shape [B_n, S] or [M, B_n, S]
        Segment scores of B_n normal bags; same number of dimensions, M and S as
        ``abnormal_scores``. B_n must equal B_a for ``pairing="paired"``.
    weights : None, or array_like / torch.Tensor of shape [B_a] or (3-D input only) [M, B_a]
        Weight of each abnormal bag's ranking term. None (default) means all ones: plain MIL.
        CB-MIL passes ``w_y`` of each bag's class (see :func:`class_balanced_weights`).
        A [B_a] vector is shared by all M models. Negative weights are allowed: ``-w``
        reproduces eq. (2) with its literal leading minus, which maximises the hinge.
        Non-finite weights raise ``ValueError``, except for weights already on an accelerator,
        where the check would force a host-device sync at every training step.
    pairing : {"paired", "all"}, default "paired"
        "paired" (default) matches the i-th abnormal with the i-th normal bag and averages, as
        the common PyTorch ports the paper builds on do; "all" is Sultani's original objective
        (ambiguity 3).
    sparsity : {"linear", "squared"}, default "linear"
        Sultani's linear sum of scores (default) or the sum of squares (ambiguity 4).
    lambda_smooth, lambda_sparse : float, default 8e-5
        Weights of the smoothness and sparsity terms (Sultani's values), each >= 0.

    Returns
    -------
    torch.Tensor
        Scalar (0-d) for 2-D input, shape [M] (one loss per model) for 3-D input.
    """
    sparsity_form = _check_option(sparsity, SPARSITY_FORMS, "sparsity")
    lambda_smooth = _check_lambda(lambda_smooth, "lambda_smooth")
    lambda_sparse = _check_lambda(lambda_sparse, "lambda_sparse")
    a, n, squeeze = _check_pair(abnormal_scores, normal_scores, pairing)
    w = _check_weights(weights, a.shape[0], a.shape[1], squeeze, a)

    hinge = _hinge_of_maxima(a.amax(dim=-1), n.amax(dim=-1), pairing)  # [M, B] or [M, B_a, B_n]
    if pairing == "paired":
        if w is not None:
            hinge = hinge * w
        loss = hinge.mean(dim=-1)
        reduce_bags = torch.mean
    else:
        if w is not None:
            hinge = hinge * w.unsqueeze(-1)
        loss = hinge.sum(dim=-2).mean(dim=-1)  # sum over abnormal bags, mean over normal bags
        reduce_bags = torch.sum
    if lambda_smooth:
        loss = loss + lambda_smooth * reduce_bags(smoothness_term(a), dim=-1)
    if lambda_sparse:
        loss = loss + lambda_sparse * reduce_bags(sparsity_term(a, sparsity_form), dim=-1)
    return loss.squeeze(0) if squeeze else loss
