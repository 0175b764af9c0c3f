"""Class-balanced re-sampling of the abnormal bags: the draw-side twin of CB-MIL's re-weighting.

CB-MIL (:mod:`cbmil.losses`) balances the anomaly classes by **re-weighting**: the batch is the
plain one (B abnormal bags drawn uniformly from the N abnormal training bags) and the ranking
term of an abnormal bag of class c is scaled by its class weight w_c(beta). **Re-sampling**
balances them in the draw instead: class c is drawn with probability p_c, a bag of it uniformly,
and every ranking term keeps the weight 1.

Why the expected gradients agree. Let g_c be the expected gradient of the ranking term of one
abnormal bag of class c (averaged uniformly over the class's n_c bags and over its normal
partner). Each position of the plain batch is marginally uniform over the N bags (a randperm
draws without replacement, but every position's marginal is uniform), so by linearity::

    E_reweight[grad] = sum_c (n_c / N) w_c g_c          E_sample[grad] = sum_c p_c g_c

and with ``p_c = n_c w_c / sum_k n_k w_k`` (:func:`class_sampling_probabilities`)::

    E_reweight[grad] = m * E_sample[grad],      m = sum_c n_c w_c / N   (mean_bag_weight)

``m`` is the mean weight per abnormal bag of the plain draw. It depends on the weights'
normalisation, the probabilities do not: with "bags" m = 1 exactly (unit-weight re-sampling
matches re-weighting); with "classes" (the kit's default) m < 1 for beta > 0 (about 0.76 at
beta = 0.9999 for UCF-Crime's counts, see the example in :func:`mean_bag_weight`), so to match
re-weighting at "classes" a re-sampled batch's ranking term must be scaled by the constant m.
The identity is for the ranking term only: the smoothness and sparsity terms are unweighted,
so under re-weighting they average over the plain class mix, under re-sampling over the
balanced one (their expectation moves toward the rare classes).

Why the variances do not agree. Re-weighting keeps the plain batch but scales its terms: the few
rare-class bags a batch happens to hold carry large weights (up to w_max / w_min = 145 / 27 for
UCF-Crime as beta -> 1), so the weighted mean is noisier than the plain one (Kish's effective batch size
``(sum w)^2 / sum w^2`` falls below B). Re-sampling keeps every term at weight 1 but draws the rare
bags repeatedly: over a run each Shooting bag (27) is seen several times as often as each Robbery
bag (145), so fewer distinct bags reach the model per batch-worth of draws, the class mix of a
batch fluctuates (multinomial instead of the split's own mix), and within a batch a class drawn
more often than it has bags repeats bags. Same mean, different noise; which is better is an
empirical question, which is why both exist.

Pairing in a Trainer. A variant trained with the sampler can stay paired with its plain and
re-weighted siblings of the same seed in the *world* (the same training bags), the *initial
weights* (the scorer bank is seeded per seed) and the *dropout stream* (its own generator per
seed, :attr:`cbmil.train.Trainer.mask_rng`). It cannot share their *batches*: the abnormal bags
differ by construction. (If its draw reads the seed's batch generator, every number drawn after
it, the normal bags and the crops, shifts too; giving the sampler its own per-seed generator
keeps the normal half and the crops paired.)

Within a class, :meth:`ClassBalancedSampler.draw` takes bags *without replacement* when the class
is drawn at most n_c times in the batch (a random permutation of the class, as the plain draw's
randperm of all bags), and otherwise cycles through that permutation again (every bag once before
any repeats). Each position's bag is still marginally uniform within its class, so the identity
above holds.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from cbmil.data.ucf_crime import CLASSES, NORMAL_INDEX
from cbmil.losses import class_balanced_weights

#: Tolerance on the sum of the probabilities given to :class:`ClassBalancedSampler`.
SUM_TOLERANCE = 1e-6


def _counts_array(counts) -> np.ndarray:
    """``counts`` (sequence, array or dict) as a 1-D float64 array; each 0 (absent class) or >= 1."""
    values = list(counts.values()) if isinstance(counts, Mapping) else counts
    try:
        n = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"counts must be numbers (abnormal training bags per class), got {counts!r}") from None
    if n.ndim != 1 or n.size == 0:
        raise ValueError(f"counts must be one-dimensional with at least one class, got shape {n.shape}")
    bad = ~(np.isfinite(n) & ((n == 0) | (n >= 1)))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"counts must be finite and 0 (absent class) or >= 1, got counts[{i}] = {n[i]:g}")
    if not (n > 0).any():
        raise ValueError("counts must have at least one class with a training bag, got all zeros")
    return n


def _present_weights(n: np.ndarray, beta: float, normalize) -> np.ndarray:
    """The kit's class weights of the present classes (as :func:`cbmil.train.variant_weights`
    computes them), 0 for the absent ones."""
    w = np.zeros_like(n)
    present = n > 0
    w[present] = class_balanced_weights(n[present], beta, normalize)
    return w


def class_sampling_probabilities(counts, beta: float, normalize="classes") -> np.ndarray:
    """Probability ``[C]`` of drawing each class for an abnormal bag, so that unit-weight
    re-sampling has the expected gradient of re-weighting at the same ``beta``::

        p_c = n_c w_c / sum_k n_k w_k        w_c = class_balanced_weights(counts, beta, normalize)

    Derivation (g_c: expected ranking-term gradient of one bag of class c; N = sum_c n_c)::

        E_reweight[grad] = sum_c (n_c / N) w_c g_c      (plain draw, bag weighted by w_c)
        E_sample[grad]   = sum_c p_c g_c                (this draw, weight 1)
        => E_reweight[grad] = m * E_sample[grad],  m = sum_c n_c w_c / N

    The constant ``m`` is the mean weight per abnormal bag of the plain draw
    (:func:`mean_bag_weight`): 1 with ``normalize="bags"``, below 1 with "classes" for beta > 0
    (about 0.76 at beta = 0.9999 for UCF-Crime). ``normalize`` therefore changes only ``m``, never
    ``p`` (a normalisation is a constant factor on all w_c). Limits: beta = 0 gives w_c = 1, so
    ``p_c = n_c / N`` (the plain draw); beta -> 1 gives w_c -> const / n_c, so ``p_c -> 1 / C``
    (uniform over the present classes).

    Parameters
    ----------
    counts : sequence or numpy.ndarray of shape [C], or dict {class: count}
        Abnormal training bags n_c of each class (normal bags excluded). A class with 0 bags is
        absent: it gets probability 0 and the others are weighted among themselves, as
        :func:`cbmil.train.variant_weights` does.
    beta : float
        0 <= beta < 1, as in :func:`cbmil.losses.class_balanced_weights`.
    normalize : {"classes", "bags", "none"}, default "classes"
        Validated and passed on; it does not change the result (see above).

    Returns
    -------
    numpy.ndarray of float64, shape [C], summing to 1 (in the order of ``counts``)

    Examples
    --------
    >>> class_sampling_probabilities([1, 3], beta=0.0)
    array([0.25, 0.75])
    >>> class_sampling_probabilities([1, 3, 0], beta=0.5).round(4)
    array([0.3684, 0.6316, 0.    ])
    """
    n = _counts_array(counts)
    nw = n * _present_weights(n, beta, normalize)
    return nw / nw.sum()


def mean_bag_weight(counts, beta: float, normalize="classes") -> float:
    """``m = sum_c n_c w_c / N``: the mean class weight per abnormal bag of the plain (uniform)
    draw, the constant between re-weighting's and unit-weight re-sampling's expected gradients
    (:func:`class_sampling_probabilities`). Arguments as there.

    Examples
    --------
    UCF-Crime's training counts, the kit's default normalisation:

    >>> from cbmil.data.ucf_crime import CLASSES, TRAIN_COUNTS
    >>> counts = [TRAIN_COUNTS[c] for c in CLASSES]
    >>> round(mean_bag_weight(counts, 0.9999), 2)
    0.76
    >>> round(mean_bag_weight(counts, 0.9999, "bags"), 12)
    1.0
    """
    n = _counts_array(counts)
    return float((n * _present_weights(n, beta, normalize)).sum() / n.sum())


def _check_probabilities(probabilities) -> torch.Tensor:
    try:
        p = torch.as_tensor(np.asarray(probabilities, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"probabilities must be numbers (one per class), got {probabilities!r}") from None
    if p.ndim != 1 or p.numel() == 0:
        raise ValueError(f"probabilities must be one-dimensional with at least one class, got shape {tuple(p.shape)}")
    if not torch.isfinite(p).all():
        i = int(torch.nonzero(~torch.isfinite(p))[0])
        raise ValueError(f"probabilities must be finite, got probabilities[{i}] = {float(p[i])}")
    if (p < 0).any():
        i = int(torch.nonzero(p < 0)[0])
        raise ValueError(f"probabilities must be non-negative, got probabilities[{i}] = {float(p[i]):g}")
    total = float(p.sum())
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise ValueError(f"probabilities must sum to 1 (within {SUM_TOLERANCE:g}), got a sum of {total!r}")
    return p


def _class_label(c: int, n_classes: int) -> str:
    name = f" ({CLASSES[c]})" if n_classes == len(CLASSES) else ""
    return f"class {c}{name}"


class ClassBalancedSampler:
    """Draws abnormal training bags class by class: class c with probability ``probabilities[c]``,
    then a bag of it uniformly (without replacement within a class while the class has bags left
    in the batch; see the module docstring).

    Parameters
    ----------
    train_classes : array_like of int, shape [N_train]
        Class index of every training bag (as :attr:`cbmil.data.VADDataset.train_classes`);
        bags of class ``normal_index`` are left out, every other index must lie in ``[0, C)``.
    probabilities : array_like of float, shape [C]
        Non-negative, summing to 1 within 1e-6, e.g. :func:`class_sampling_probabilities`. A
        class with probability > 0 must have at least one bag.
    normal_index : int, default :data:`cbmil.data.ucf_crime.NORMAL_INDEX` (13)

    Attributes
    ----------
    probabilities : torch.Tensor, float64, shape [C]
    class_bags : list of C torch.LongTensor
        ``class_bags[c]``: the indices into ``train_classes`` of the bags of class c, ascending.

    Examples
    --------
    >>> sampler = ClassBalancedSampler([0, 0, 1, 13, 13], [0.5, 0.5])
    >>> bags = sampler.draw(4, torch.Generator().manual_seed(0))
    >>> bags.shape, bool(((bags == 0) | (bags == 1) | (bags == 2)).all())
    (torch.Size([4]), True)
    """

    def __init__(self, train_classes, probabilities, normal_index: int = NORMAL_INDEX):
        self.probabilities = _check_probabilities(probabilities)
        n_classes = len(self.probabilities)
        try:
            labels = np.asarray(train_classes)
        except (TypeError, ValueError):
            raise ValueError(f"train_classes must be class indices, got {train_classes!r}") from None
        if labels.ndim != 1 or not (np.issubdtype(labels.dtype, np.integer) or labels.size == 0):
            raise ValueError(f"train_classes must be a 1-D array of integer class indices, got shape "
                             f"{labels.shape} and dtype {labels.dtype}")
        labels = torch.from_numpy(labels.astype(np.int64))
        abnormal = labels != normal_index
        bad = abnormal & ((labels < 0) | (labels >= n_classes))
        if bad.any():
            i = int(torch.nonzero(bad)[0])
            raise ValueError(f"train_classes[{i}] = {int(labels[i])} is neither a class index in [0, {n_classes}) "
                             f"(one per probability) nor the normal index {normal_index}")
        self.normal_index = int(normal_index)
        self.class_bags = [torch.nonzero(labels == c).flatten() for c in range(n_classes)]
        for c, bags in enumerate(self.class_bags):
            if len(bags) == 0 and float(self.probabilities[c]) > 0:
                raise ValueError(f"{_class_label(c, n_classes)} has probability {float(self.probabilities[c]):g} "
                                 f"but no abnormal training bag; give it probability 0")
        self._counts = torch.tensor([len(bags) for bags in self.class_bags], dtype=torch.int64)
        # the abnormal bags grouped by class (class 0's, then class 1's, ...), each bag's class as
        # float64, and where each class's segment starts: the tables of the vectorised draw
        self._grouped = torch.cat(self.class_bags)
        self._group_of = torch.repeat_interleave(torch.arange(n_classes, dtype=torch.float64), self._counts)
        self._starts = torch.cumsum(self._counts, 0) - self._counts

    @classmethod
    def balanced(cls, train_classes, beta: float, normalize="classes",
                 normal_index: int = NORMAL_INDEX, n_classes: int = len(CLASSES)) -> "ClassBalancedSampler":
        """The sampler whose expected ranking gradient is re-weighting's at ``beta`` (up to
        :func:`mean_bag_weight`): probabilities from the class counts of ``train_classes``."""
        labels = np.asarray(train_classes, dtype=np.int64)
        counts = np.bincount(labels[labels != normal_index], minlength=n_classes)
        return cls(labels, class_sampling_probabilities(counts, beta, normalize), normal_index)

    @property
    def counts(self) -> torch.Tensor:
        """Abnormal training bags per class, ``[C]`` int64."""
        return self._counts.clone()

    def draw(self, b: int, generator: torch.Generator) -> torch.Tensor:
        """``b`` bag indices (into ``train_classes``), ``[b]`` int64; every random number from
        ``generator`` (a CPU :class:`torch.Generator`): the same generator state gives the same draw.

        Classes: ``torch.multinomial(probabilities, b, replacement=True, generator=generator)``.
        Bags: one random permutation of each class's bags (all classes in one draw of N uniform
        keys, sorted within each class); the r-th position of class c in the batch takes the
        ``(r mod n_c)``-th bag of c's permutation: no bag twice while the class has bags left, and
        beyond n_c draws every bag once more before any third use. Each position's bag is
        marginally uniform within its class.
        """
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1:
            raise ValueError(f"b must be a positive integer (bags per batch), got {b!r}")
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        if generator.device.type != "cpu":
            raise ValueError(f"generator must be a CPU torch.Generator (bags are drawn on the host), "
                             f"got one on {generator.device}")
        b = int(b)
        classes = torch.multinomial(self.probabilities, b, replacement=True, generator=generator)
        # one random permutation of every class at once: the abnormal bags, grouped by class,
        # sorted by class + a uniform key in [0, 1) (float64: ties have probability ~1e-11)
        keys = torch.rand(len(self._grouped), dtype=torch.float64, generator=generator)
        perm = torch.argsort(self._group_of + keys, stable=True)  # stays inside each class's segment
        # the r-th draw of class c in this batch takes the (r mod n_c)-th bag of c's permutation
        rank = torch.nn.functional.one_hot(classes, len(self.class_bags)).cumsum(0)
        rank = rank.gather(1, classes.unsqueeze(1)).squeeze(1) - 1
        slot = self._starts[classes] + rank % self._counts[classes].clamp(min=1)
        return self._grouped[perm[slot]]

    def __repr__(self) -> str:
        p = ", ".join(f"{float(x):.4f}" for x in self.probabilities)
        return f"ClassBalancedSampler({int(self._counts.sum())} abnormal bags, probabilities [{p}])"


__all__ = ["SUM_TOLERANCE", "class_sampling_probabilities", "mean_bag_weight", "ClassBalancedSampler"]
