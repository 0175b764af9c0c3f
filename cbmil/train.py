"""Training MIL and CB-MIL scorers: many models at once, paired by seed.

A run trains a grid of models, ``seeds x variants`` (a variant is MIL or CB-MIL at one beta),
as one :class:`~cbmil.model.ScorerBank`. For each seed, one random stream draws the initial
weights, the sequence of batches (which bags, which crop) and the dropout masks, and all
variants of that seed share them: the paired design, so that the MIL vs CB-MIL difference of
one seed isolates the loss. Consequently a model trained in a grid ends with the same weights
as the same (seed, variant) trained alone (up to float rounding).

Class-balanced re-sampling (``TrainConfig(sampler_beta=beta)``) changes the draw of the abnormal
bags for every variant of the trainer: they come from a per-seed generator of their own
(:attr:`Trainer.balance_rng`), while the seed's batch stream still draws, and discards, the plain
abnormal permutation. A sampler run of seed s therefore shares with the plain run of seed s its
world, initial weights, dropout masks, normal bags and crops; only its abnormal bags differ.

Worlds: a run trains on one dataset (every seed sees the same training bags: the real
features, or one synthetic draw), or on one dataset *per seed* (``Trainer([world_0, world_1,
...], variants, seeds)``): seed i then trains on world i, and all variants of that seed share it,
so the paired design holds and the spread over seeds covers the draw of the world as well as
the training randomness (the synthetic study's default, :func:`cbmil.study.reproduction.run_study`).
Worlds must share the training split's classes (same class of every bag), so that batches and
class weights are the same for every world.

Batches are drawn from the training bags held in memory (on the training device): no file is
read and no DataLoader is built during training. Ten-crop data: by default each sampled bag
uses one crop drawn at random (``crop="random"``), which keeps the ten views as augmentation at
the cost of one; ``crop="mean"`` averages the crops once up front.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm import tqdm

from cbmil.accel.memory import drop_mapped_rows
from cbmil.data.dataset import VADDataset
from cbmil.data.frames import PROTOCOLS, frame_scores
from cbmil.eval import metrics
from cbmil.data.features import N_SEGMENTS
from cbmil.losses import (NORMALIZATIONS, PAIRINGS, SPARSITY_FORMS, TOPK, class_balanced_weights, mil_ranking_loss,
                          topk_mil_loss)
from cbmil.model import DROPOUT, DTYPES, HIDDEN, LAYER2, PRECISIONS, ScorerBank, resolve_precision
from cbmil.data.ucf_crime import LABELS, NORMAL_INDEX
from cbmil.sampling import ClassBalancedSampler

OPTIMIZERS = ("adagrad", "adam", "sgd")
#: Offset of the per-seed generator of the class-balanced draw (:attr:`Trainer.balance_rng`):
#: seed ``s`` draws its abnormal bags from ``torch.Generator().manual_seed(s + BALANCE_SEED_OFFSET)``.
BALANCE_SEED_OFFSET = 104729
#: The MIL losses a model can train with (:attr:`TrainConfig.loss`); the first is the paper's.
LOSSES = ("ranking", "topk")
#: How a bag of several classes is weighted (:attr:`TrainConfig.multi_label_weight`).
MULTI_LABEL_RULES = ("mean", "max")


@dataclass(frozen=True)
class Variant:
    """One loss: plain MIL (``beta=None``) or CB-MIL with class-balanced weights at ``beta``.

    ``sign=-1`` multiplies the weights by -1: eq. (2) of the paper taken literally (its minus
    copied from the cross-entropy), which *maximises* the hinge. For demonstrations only.
    """

    name: str
    beta: float | None = None
    sign: float = 1.0


def paper_variants(betas: Sequence[float] = (0.9, 0.99, 0.999, 0.9999)) -> list[Variant]:
    """MIL plus CB-MIL at each beta (the rows of the paper's Table 2)."""
    return [Variant("MIL")] + [Variant(f"CB-MIL {b:g}", float(b)) for b in betas]


@dataclass(frozen=True)
class TrainConfig:
    """What defines a trained model. Defaults follow the paper (which follows Sultani et al.).

    Saved with every checkpoint and in ``runs.json``; how a run executes (device, precision,
    progress, evaluation, speed paths) is :class:`RunSettings`. Every field is checked here:
    an unknown option is refused, naming the allowed values, before any data is made.


    iterations: the paper's "10,000 epochs" are 10,000 steps of one batch.
    batch_size: abnormal bags per step, and as many normal bags (Sultani: 30 + 30).
    optimizer, lr, weight_decay: the paper states lr 0.001 and not the optimiser; the default is
        Adagrad with lr 1e-3 and ``weight_decay`` 1e-3 on every parameter (torch's L2: gradient
        + 0.001 W): Adagrad as in Sultani's code, at the paper's learning rate. Sultani's script
        itself differs (lr 0.01, kernel-only L2; see :meth:`sultani`). ``"adam"``/``"sgd"`` are
        options.
    decay: ``"all"`` (default) applies ``weight_decay`` to every parameter; ``"kernels"`` to the
        weight matrices only, biases free (Keras' ``kernel_regularizer``).
    adagrad_eps: Adagrad's epsilon (torch's default 1e-10; Sultani's Keras script 1e-8).
    layer2: activation after the 32-unit layer, ``"relu"`` (default) or ``"linear"`` (Sultani).
    lambda_smooth, lambda_sparse: lambda1 = lambda2 = 8e-5.
    loss: ``"ranking"`` (default, the paper's: Sultani's hinge on the bags' max scores,
        :func:`cbmil.losses.mil_ranking_loss`) or ``"topk"``: the mean of each bag's ``topk`` top
        scores under a binary cross-entropy (RTFM, Wu et al.; :func:`cbmil.losses.topk_mil_loss`),
        with the same class weights, regularisers and lambdas, so that only the pooled term changes.
    topk: segments pooled per bag by ``loss="topk"``, 1 <= topk <= 32 (default 3, RTFM's 3 of 32).
    pairing, sparsity: the ambiguities of :mod:`cbmil.losses` (defaults: paired, linear). Pairing
        belongs to the ranking hinge; ``loss="topk"`` pairs no bags and refuses ``pairing="all"``.
    normalize_weights: scaling of the class weights, as in
        :func:`cbmil.losses.class_balanced_weights` (same default): ``"classes"`` (default) is
        Cui et al.'s, the weights sum to the number of classes, as in the public code the paper
        takes them from; ``"bags"``, the mean weight over the training bags is 1 (only the
        balance between classes changes); ``"none"``, the raw eq. (2) weights, ~1/n, which
        besides re-balancing shrink the whole ranking term against the two regularisers (at
        beta = 0.9 that is all they do) and so confound the comparison with MIL
        (docs/method-choices.md, 2). ``True``/``False`` mean ``"classes"``/``"none"``.
    crop: ``"random"`` (one random crop per sampled bag) or ``"mean"`` (crops averaged).
    sampler_beta: ``None`` (default: the plain draw, B abnormal bags uniformly without replacement)
        or a beta with 0 <= beta < 1: the abnormal half of every batch is drawn class by class by
        :meth:`cbmil.sampling.ClassBalancedSampler.balanced` at that beta (class c with probability
        ``n_c w_c / sum_k n_k w_k``, :func:`cbmil.sampling.class_sampling_probabilities`), from its
        own generator per seed (:attr:`Trainer.balance_rng`): class-balanced *re-sampling*, the
        draw-side twin of CB-MIL's re-weighting. It changes the draw only; the ranking weights stay
        those of each variant (MIL: 1), so "CB-sampler" is ``Variant(name, beta=None)`` with this
        set. The normal bags, crops, initial weights and dropout masks stay those of a plain run of
        the same seed (see :meth:`Trainer.draw`); the abnormal bags differ by construction.
    multi_label_weight: the weight of a bag of several classes (XD-Violence: 243 of its 3,954
        training videos), which the paper's eq. (2) does not define: ``"mean"`` (default) of its
        classes' weights, or ``"max"``, the largest (the rarest class's). Class counts are then
        by any label. A single-label dataset (UCF-Crime) is unaffected (:func:`weight_groups`).
    """

    iterations: int = 10_000
    lr: float = 1e-3
    optimizer: str = "adagrad"
    weight_decay: float = 1e-3
    decay: str = "all"
    adagrad_eps: float = 1e-10
    layer2: str = "relu"
    batch_size: int = 30
    lambda_smooth: float = 8e-5
    lambda_sparse: float = 8e-5
    pairing: str = "paired"
    sparsity: str = "linear"
    normalize_weights: str = "classes"
    dropout: float = DROPOUT
    hidden: tuple[int, int] = HIDDEN
    crop: str = "random"
    loss: str = "ranking"
    topk: int = TOPK
    sampler_beta: float | None = None
    multi_label_weight: str = "mean"

    def __post_init__(self):
        for name, allowed in (("optimizer", OPTIMIZERS), ("decay", ("all", "kernels")), ("layer2", LAYER2),
                              ("pairing", PAIRINGS), ("sparsity", SPARSITY_FORMS), ("crop", ("random", "mean")),
                              ("normalize_weights", NORMALIZATIONS + (True, False)), ("loss", LOSSES),
                              ("multi_label_weight", MULTI_LABEL_RULES)):
            _check_choice("TrainConfig", name, getattr(self, name), allowed)
        if (not isinstance(self.topk, (int, np.integer)) or isinstance(self.topk, bool)
                or not 1 <= self.topk <= N_SEGMENTS):
            raise ValueError(f"TrainConfig.topk must be an integer with 1 <= topk <= {N_SEGMENTS} (segments "
                             f"per bag), got {self.topk!r}")
        object.__setattr__(self, "topk", int(self.topk))
        if self.loss == "topk" and self.pairing != "paired":
            raise ValueError(f"TrainConfig.pairing={self.pairing!r} pairs bags for the ranking hinge; "
                             "loss='topk' gives every bag its own term: leave pairing at 'paired'")
        if self.iterations < 0 or self.batch_size < 1:
            raise ValueError(f"TrainConfig: iterations >= 0 and batch_size >= 1 expected, "
                             f"got {self.iterations} and {self.batch_size}")
        for name in ("lambda_smooth", "lambda_sparse", "lr", "weight_decay"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"TrainConfig.{name} must be a finite number >= 0, got {value!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"TrainConfig.dropout must be in [0, 1), got {self.dropout!r}")
        if self.sampler_beta is not None:
            beta = self.sampler_beta
            if (isinstance(beta, bool) or not isinstance(beta, (int, float, np.integer, np.floating))
                    or not (math.isfinite(beta) and 0.0 <= beta < 1.0)):
                raise ValueError(f"TrainConfig.sampler_beta must be None (the plain draw) or a number with "
                                 f"0 <= sampler_beta < 1, got {beta!r}")
            object.__setattr__(self, "sampler_beta", float(beta))
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))

    @classmethod
    def sultani(cls, **overrides) -> "TrainConfig":
        """The configuration of Sultani et al.'s public Keras training script, where it differs
        from the paper's defaults: Adagrad with lr 0.01 and epsilon 1e-8; ``l2(0.001)`` on the
        kernels only, whose gradient is 0.002 W (``weight_decay=0.002``, ``decay="kernels"``,
        biases free); a linear 32-unit layer (``layer2="linear"``); 20,000 iterations. Dropout
        0.6, the 30 + 30 bags a batch and lambda1 = lambda2 = 8e-5 are the same. ``overrides``
        set any field (e.g. ``iterations``)."""
        settings = {"optimizer": "adagrad", "lr": 0.01, "adagrad_eps": 1e-8, "weight_decay": 0.002,
                    "decay": "kernels", "layer2": "linear", "iterations": 20_000}
        return cls(**(settings | overrides))


@dataclass(frozen=True)
class RunSettings:
    """How a run executes: nothing here changes what a model is, only where and how fast it
    trains and what is recorded on the way (saved in ``runs.json`` beside the
    :class:`TrainConfig`).

    precision: arithmetic of layer 1, ``"fp32"``, ``"bf16"`` or ``"auto"`` (default: bf16 where
        the device has bf16 matrix units, see :func:`cbmil.model.resolve_precision`). bf16
        keeps the training bags in bfloat16 (half the memory) and runs the first layer's
        products on bf16 units (AMX / AVX512-BF16 CPUs, CUDA tensor cores), 2-3x faster a
        step on such CPUs; the rest stays fp32. Its AUCs agree with fp32 within seed noise
        (docs/performance.md). The Trainer's settings hold the resolved value.
    device: ``"auto"`` = CUDA when available, else CPU.
    eval_every: evaluate on the test set every k steps for learning curves (0 = never); no random
        number is drawn, so training is unchanged.
    protocol: how snippet scores become frame scores for evaluation, ``"snippet"`` (default) or
        ``"segment"`` (:mod:`cbmil.eval.protocols`).
    progress: show a progress bar.
    fused: ``False`` (default): autograd through :meth:`ScorerBank.forward
        <cbmil.model.ScorerBank.forward>`, the reference. ``True``: each step's forward and
        backward through the scorers run as :class:`cbmil.accel.fused.BankTrainingPass` (activations
        updated in place, the backward written out), tested to give the reference's scores up to
        float rounding. Not the default: on the CPU measured it was no faster
        (docs/performance.md; ``benchmarks/bench_train.py`` times both).
    cuda_graph: ``False`` (default): each step's kernels are launched one by one from Python.
        ``True`` (CUDA only, Adagrad only): the step after the host's batch draw is recorded once
        as a CUDA graph and replayed (:mod:`cbmil.accel.cudagraph`), to remove the launch overhead that
        bounds a GPU step. Same arithmetic as the default up to float rounding: tested on the CPU
        in its unrecorded form; the recorded form's tests (``tests/test_gpu.py``) have not yet run
        on a GPU. Not the default: not yet measured on a GPU (docs/performance.md).
    """

    device: str = "auto"
    precision: str = "auto"
    eval_every: int = 0
    protocol: str = "snippet"
    progress: bool = True
    fused: bool = False
    cuda_graph: bool = False

    def __post_init__(self):
        _check_choice("RunSettings", "precision", self.precision, PRECISIONS + ("auto",))
        _check_choice("RunSettings", "protocol", self.protocol, PROTOCOLS)
        if self.eval_every < 0:
            raise ValueError(f"RunSettings.eval_every must be >= 0 (0 = never), got {self.eval_every}")


def _check_choice(owner: str, name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{owner}.{name} must be one of {', '.join(repr(a) for a in allowed)}; got {value!r}")


def check_worlds(data: VADDataset | Sequence[VADDataset], n_seeds: int) -> list[VADDataset]:
    """The datasets a run trains on: ``[data]`` (one world for every seed) or one per seed.

    Worlds must agree on what the paired design shares: the class of every training bag (so
    batches index the same classes and class weights agree), the number of crops and D.
    """
    worlds = [data] if isinstance(data, VADDataset) else list(data)
    if len(worlds) not in (1, n_seeds):
        raise ValueError(f"expected one dataset, or one per seed ({n_seeds}); got {len(worlds)} datasets")
    first = worlds[0]
    for i, world in enumerate(worlds[1:], 1):
        if not np.array_equal(np.asarray(world.train_classes), np.asarray(first.train_classes)):
            raise ValueError(f"world {i}: train_classes differ from world 0's; the worlds of one run must share "
                             "the training split's classes (same counts, same order)")
        if world.labels != first.labels or not np.array_equal(world.train_sets, first.train_sets):
            raise ValueError(f"world {i}: labels or train_class_sets differ from world 0's; the worlds of one run "
                             "must share the training split's classes")
        if world.train_bags.shape != first.train_bags.shape:
            raise ValueError(f"world {i}: train_bags of shape {world.train_bags.shape}, expected world 0's "
                             f"{first.train_bags.shape}")
    return worlds


def device_name(device: torch.device | str) -> str:
    """The hardware behind ``device`` in words: the GPU's name, or the CPU model (from
    ``/proc/cpuinfo`` where there is one) with its core count."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import os
    import platform
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), model)
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def check_settings(settings: RunSettings, config: TrainConfig | None = None) -> torch.device:
    """The device ``settings`` train on, refusing what cannot run here before any data is made or
    read: a device that does not exist, ``cuda_graph`` without a CUDA device or without Adagrad."""
    device = select_device(settings.device)
    if settings.cuda_graph and device.type != "cuda":
        raise ValueError(f"cuda_graph=True needs a CUDA device; device {settings.device!r} is {device.type!r}")
    if settings.cuda_graph and config is not None and config.optimizer != "adagrad":
        raise ValueError(f"cuda_graph=True implements Adagrad only, got optimizer {config.optimizer!r}")
    return device


def select_device(name: str = "auto") -> torch.device:
    """``"auto"``: CUDA when available, else CPU; otherwise the named device (``"cpu"``,
    ``"cuda"``, ``"cuda:1"``, ...), which must exist here: a CUDA device without CUDA, or a
    name torch does not know, raises ``ValueError`` naming it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"device {name!r} is not a device name: use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            build = "built without CUDA" if torch.version.cuda is None else f"CUDA {torch.version.cuda}, no GPU visible"
            raise ValueError(f"device {name!r}: CUDA is not available here (torch {torch.__version__}, {build}); "
                             "use --device cpu or auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif device.type != "cpu":
        raise ValueError(f"device {name!r}: the kit trains on cpu or cuda")
    return device


def _stacked_bags(worlds: Sequence[VADDataset]) -> np.ndarray | None:
    """The one float32 array ``[W, N, C, 32, D]`` whose slices ``[w]`` are the worlds' training
    bags (as :func:`cbmil.study.reproduction.synthetic_worlds` lays them out), or None."""
    first = worlds[0].train_bags
    base = first.base if isinstance(first, np.ndarray) else None
    if (base is None or type(base) is not np.ndarray or base.dtype != np.float32 or not base.flags.c_contiguous
            or base.shape != (len(worlds),) + first.shape):
        return None
    for w, world in enumerate(worlds):
        bags = world.train_bags
        if not (isinstance(bags, np.ndarray) and bags.base is base and bags.shape == first.shape
                and bags.__array_interface__["data"][0] == base[w].__array_interface__["data"][0]):
            return None
    return base


def _shares_bags(world: VADDataset, copy: torch.Tensor) -> bool:
    """Whether ``world.train_bags`` can be replaced by a view of the trainer's ``copy``: an
    in-memory float32 array (not a memory-mapped cache) equal in shape, the copy on the CPU."""
    bags = world.train_bags
    return (copy.device.type == "cpu" and copy.dtype == torch.float32 and type(bags) is np.ndarray
            and bags.dtype == np.float32 and bags.shape == tuple(copy.shape))


def weight_groups(data: VADDataset) -> tuple[np.ndarray, np.ndarray]:
    """The weight group of each training bag: ``(group [N] int64, group_sets [G, K] bool)``.

    A bag's class weight depends only on its set of classes, so bags with the same set share a
    group; normal bags get group ``G``. A single-label dataset's groups are its classes
    (``group = train_classes``, ``group_sets`` the identity, ``G = K``), so its weight table is
    the per-class one. A multi-label dataset (``train_class_sets`` given) gets one group per
    distinct class set, in the order of first appearance.
    """
    k, classes = data.normal_index, np.asarray(data.train_classes, dtype=np.int64)
    if data.train_class_sets is None:
        return classes.copy(), np.eye(k, dtype=bool)
    sets = np.asarray(data.train_class_sets, dtype=bool)
    abnormal = np.flatnonzero(classes != k)
    keys = [tuple(np.flatnonzero(sets[i])) for i in abnormal]
    order = {key: g for g, key in enumerate(dict.fromkeys(keys))}
    group = np.full(len(classes), len(order), dtype=np.int64)
    group[abnormal] = [order[key] for key in keys]
    group_sets = np.zeros((len(order), k), dtype=bool)
    for key, g in order.items():
        group_sets[g, list(key)] = True
    return group, group_sets


def group_weights(class_weights: np.ndarray, group_sets: np.ndarray, rule: str = "mean") -> np.ndarray:
    """``[G]`` weight of each weight group from the ``[K]`` class weights: the ``"mean"`` or the
    ``"max"`` of its classes' weights (one class: that class's weight)."""
    _check_choice("group_weights", "rule", rule, MULTI_LABEL_RULES)
    masked = np.where(group_sets, np.asarray(class_weights, dtype=np.float64)[None, :], np.nan)
    return np.nanmean(masked, axis=1) if rule == "mean" else np.nanmax(masked, axis=1)


def variant_weights(variants: Sequence[Variant], train_classes: np.ndarray, normalize="classes",
                    group_sets: np.ndarray | None = None, rule: str = "mean",
                    class_counts: np.ndarray | None = None) -> torch.Tensor:
    """``[V, G + 1]`` ranking-term weight of each variant for each weight group (Normal, last:
    unused, 1). By default the groups are UCF-Crime's 13 classes and ``train_classes`` gives
    their counts: ``[V, 14]``, one column per class index.

    Class counts are those of the training split at hand (so the balanced control gets its own).
    A multi-label split passes its ``group_sets`` (:func:`weight_groups`) and ``class_counts``
    ``[K]`` by any label; a group's weight is then ``rule`` of its classes' weights.
    """
    if group_sets is None:
        counts = np.bincount(np.asarray(train_classes), minlength=NORMAL_INDEX + 1)[:NORMAL_INDEX]
        group_sets = np.eye(NORMAL_INDEX, dtype=bool)
    else:
        counts = np.asarray(class_counts, dtype=np.int64)
    table = np.ones((len(variants), len(group_sets) + 1))
    for i, variant in enumerate(variants):
        if variant.beta is not None:
            present = counts > 0
            weights = np.ones(len(counts))
            weights[present] = class_balanced_weights(counts[present], variant.beta, normalize)
            table[i, :-1] = group_weights(weights, group_sets, rule)
        table[i] *= variant.sign
    return torch.tensor(table, dtype=torch.float32)


class Trainer:
    """Trains ``len(seeds) x len(variants)`` scorers on ``data`` together.

    ``data``: one dataset for every seed, or a sequence with one world per seed (seed i trains on
    ``data[i]``). ``worlds`` holds them as a list, ``data`` is the first; ``bags`` is
    ``[W, N, C, 32, D]`` on the training device.

    ``step()`` does one optimisation step of every model; ``run()`` does ``config.iterations``
    of them with progress, optional evaluation and checkpoints. ``state_dict()`` holds
    everything needed to resume bit-for-bit (weights, optimiser, random streams, history).

    Random streams, one of each per seed s: :attr:`batch_rng` (CPU, seed s: bags and crops),
    :attr:`mask_rng` (on the device, s + 7919: dropout masks) and, only with
    ``config.sampler_beta``, :attr:`balance_rng` (CPU, s + :data:`BALANCE_SEED_OFFSET`: the
    class-balanced abnormal bags, drawn by :attr:`sampler`, a
    :class:`~cbmil.sampling.ClassBalancedSampler`); both are None without it.
    """

    def __init__(self, data: VADDataset | Sequence[VADDataset], variants: Sequence[Variant], seeds: Sequence[int],
                 config: TrainConfig | None = None, settings: RunSettings | None = None):
        self.variants, self.seeds = list(variants), [int(s) for s in seeds]
        self.worlds = check_worlds(data, len(self.seeds))
        self.data = self.worlds[0]
        config = config or TrainConfig()
        if not self.variants or not self.seeds:
            raise ValueError("Trainer needs at least one variant and one seed")
        settings = settings or RunSettings()
        self.device = check_settings(settings, config)
        self.config = config
        self.settings = settings = replace(settings, precision=resolve_precision(settings.precision, self.device))
        # [W, N, C, 32, D] (W = 1 world, or one per seed), read into memory world by world
        first = self.data.train_bags
        n_crops = 1 if config.crop == "mean" else first.shape[1]
        stacked = _stacked_bags(self.worlds) if (
            self.device.type == "cpu" and settings.precision == "fp32" and config.crop == "random") else None
        if stacked is not None:  # the worlds' bags already lie in one [W, N, C, 32, D] array: no copy
            self.bags = torch.from_numpy(stacked)
        else:
            self.bags = torch.empty((len(self.worlds), first.shape[0], n_crops) + first.shape[2:],
                                    dtype=DTYPES[settings.precision], device=self.device)
        for w, world in enumerate(self.worlds if stacked is None else ()):
            with warnings.catch_warnings():  # a read-only memmap (the prepared cache): only read, then copied
                warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
                bags = torch.from_numpy(np.asarray(world.train_bags, dtype=np.float32))
            self.bags[w] = bags.mean(dim=1, keepdim=True) if config.crop == "mean" else bags
            del bags
            if _shares_bags(world, self.bags[w]):
                # the world's in-memory bags become a view of the copy made here (the same values),
                # so that the two are not held twice (5 worlds at D = 2048: 2.1 GB)
                world.train_bags = self.bags[w].numpy()
        if config.loss == "topk" and config.topk > self.bags.shape[3]:
            raise ValueError(f"TrainConfig.topk = {config.topk} pools more segments than a training bag holds "
                             f"({self.bags.shape[3]})")
        self.classes = torch.from_numpy(np.array(self.data.train_classes, dtype=np.int64))
        # weight group of each bag: its class for a single-label dataset, its set of classes otherwise
        group, self.group_sets = weight_groups(self.data)
        self.groups = torch.from_numpy(group)
        normal_index = self.data.normal_index
        # first bag of each seed's world in the [W * N] bags: seed i reads world i (or the one world)
        n_bags = first.shape[0]
        self._world_start = (torch.arange(len(self.seeds)) if len(self.worlds) > 1
                             else torch.zeros(1, dtype=torch.int64)).unsqueeze(1) * n_bags
        self.abnormal = torch.nonzero(self.classes != normal_index).flatten()
        self.normal = torch.nonzero(self.classes == normal_index).flatten()
        if len(self.abnormal) < config.batch_size or len(self.normal) < config.batch_size:
            raise ValueError(f"batch_size {config.batch_size} needs at least as many abnormal and normal training "
                             f"bags; got {len(self.abnormal)} and {len(self.normal)}")
        # [V, G + 1]: one column per weight group (for a single-label split, per class: the same table)
        self.weights = variant_weights(self.variants, None, config.normalize_weights, self.group_sets,
                                       config.multi_label_weight, self.data.train_sets.sum(axis=0)).to(self.device)
        self.bank = ScorerBank(self.data.dim, self.seeds, len(self.variants), config.hidden, config.dropout,
                               settings.precision, config.layer2).to(self.device)
        self.optimizer = _make_optimizer(self.bank, config, self.device)
        # one stream per seed for batches and crops, one per seed for dropout masks (on device)
        self.batch_rng = [torch.Generator().manual_seed(s) for s in self.seeds]
        self.mask_rng = [torch.Generator(self.device).manual_seed(s + 7919) for s in self.seeds]
        # class-balanced re-sampling (config.sampler_beta): the abnormal bags of seed s come from its
        # own stream, so that batch_rng (normal bags, crops) runs as in a plain run of that seed
        self.sampler: ClassBalancedSampler | None = None
        self.balance_rng: list[torch.Generator] | None = None
        if config.sampler_beta is not None:
            if self.data.train_class_sets is None:
                self.sampler = ClassBalancedSampler.balanced(self.data.train_classes, config.sampler_beta,
                                                             config.normalize_weights, normal_index, normal_index)
            else:  # one "class" per weight group, drawn with probability n_g w_g / sum_h n_h w_h
                weight = variant_weights([Variant("sampler", config.sampler_beta)], None, config.normalize_weights,
                                         self.group_sets, config.multi_label_weight,
                                         self.data.train_sets.sum(axis=0))[0, :-1].double().numpy()
                n_groups = np.bincount(group, minlength=len(self.group_sets) + 1)[:-1]
                p = n_groups * weight
                self.sampler = ClassBalancedSampler(group, p / p.sum(), normal_index=len(self.group_sets))
            self.balance_rng = [torch.Generator().manual_seed(s + BALANCE_SEED_OFFSET) for s in self.seeds]
        keep_units = round((1.0 - config.dropout) * 2**16)
        self._threshold, self._scale = keep_units - 2**15, 2**16 / max(keep_units, 1)
        self.step_count = 0
        self._graphed = None  # the recorded CUDA graph of a step (settings.cuda_graph)
        self.history = {"step": [], "loss": [], "eval_step": [], "total_auc": [], "abnormal_auc": []}
        self.seconds = 0.0

    @property
    def model_names(self) -> list[str]:
        return [f"{v.name} / seed {s}" for s in self.seeds for v in self.variants]

    # ------------------------------------------------------------------ one step
    def draw(self) -> torch.Tensor:
        """Each seed's next batch, drawn on the host: ``[S, 3B]`` int64, the rows of its 2B bags
        (abnormal first; row ``(w * N + bag) * C + crop`` of the flat ``[W * N * C, 32 * D]``
        view of :attr:`bags`) followed by the B abnormal bags' classes.

        Per seed, from its :attr:`batch_rng`: a random permutation of the abnormal bags (its first B
        are the abnormal half), one of the normal bags (its first B), then 2B crops. With
        ``config.sampler_beta`` the abnormal half is instead :meth:`ClassBalancedSampler.draw
        <cbmil.sampling.ClassBalancedSampler.draw>` from the seed's :attr:`balance_rng`; the abnormal
        permutation is still drawn from :attr:`batch_rng` (and discarded), so that the normal bags
        and the crops are those of a plain run with the same seed."""
        b, n_crops = self.config.batch_size, self.bags.shape[2]
        index, crops = [], []
        for i, g in enumerate(self.batch_rng):
            abnormal = self.abnormal[torch.randperm(len(self.abnormal), generator=g)[:b]]
            if self.sampler is not None:  # drawn above and discarded: batch_rng stays a plain run's stream
                abnormal = self.sampler.draw(b, self.balance_rng[i])
            index.append(torch.cat([abnormal, self.normal[torch.randperm(len(self.normal), generator=g)[:b]]]))
            crops.append(torch.randint(n_crops, (2 * b,), generator=g))
        index, crops = torch.stack(index), torch.stack(crops)  # [S, 2B]
        rows = (self._world_start + index) * n_crops + crops
        return torch.cat([rows, self.groups[index[:, :b]]], dim=1)

    def gather(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The features ``[S, 2B * 32, D]`` and abnormal classes ``[S, B]`` of a drawn ``batch``
        ``[S, 3B]`` (on the training device)."""
        b = self.config.batch_size
        # one gather of whole bags: index_select copies contiguous rows (several times faster
        # than advanced indexing)
        flat = self.bags.view(-1, self.bags.shape[3] * self.bags.shape[4])
        x = flat.index_select(0, batch[:, :2 * b].flatten())
        return x.view(len(self.seeds), -1, self.bags.shape[4]), batch[:, 2 * b:]

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Each seed's next batch: features ``[S, 2B * 32, D]`` (abnormal bags first) and the
        abnormal bags' classes ``[S, B]`` (:meth:`draw`, one host-to-device copy, :meth:`gather`)."""
        return self.gather(self.draw().to(self.device))

    def masks(self, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Inverted-dropout masks ``([S, R, H1], [S, R, H2])``, one pair per seed.

        Drawn as 16 random bits per unit (one 64-bit draw per four units, both masks of a seed
        in one draw), kept when below ``round(keep * 2**16)``: the keep probability is exact to
        1e-5 and the draw costs a fraction of ``bernoulli_`` (which made up about a fifth of a
        CPU step). Thresholding and scaling run once for all seeds (few kernel launches).
        """
        h1, h2 = self.config.hidden
        n = rows * (h1 + h2)
        words = torch.empty((len(self.mask_rng), (n + 3) // 4), dtype=torch.int64, device=self.device)
        for row, g in zip(words, self.mask_rng):  # drawn in place: no copy into a stacked tensor
            torch.randint(-2**63, 2**63 - 1, row.shape, generator=g, out=row)
        bits = words.view(torch.int16)[:, :n]  # uniform on [-32768, 32767]
        if self._threshold > 2**15 - 1:  # dropout 0: keep every unit (32768 would wrap to -32768 in int16)
            keep = torch.ones(bits.shape, dtype=torch.float32, device=self.device)
        else:
            keep = (bits < self._threshold).mul(self._scale)  # [S, n] float32 (bool x float; torch.where is 2x slower)
        return keep[:, :rows * h1].view(-1, rows, h1), keep[:, rows * h1:].view(-1, rows, h2)

    def scores(self, x: torch.Tensor, masks: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Training scores ``[S, V, 2B, 32]`` of every model on its seed's batch ``x [S, 2B * 32, D]``
        with dropout ``masks`` (autograd through the bank, or the fused pass with ``settings.fused``)."""
        self.bank.train()
        if self.settings.fused:  # the speed path: the scorers' backward written out (cbmil.accel.fused)
            from cbmil.accel.fused import training_scores
            scores = training_scores(self.bank, x, masks)
        else:
            scores = self.bank(x, masks)
        return scores.view(len(self.seeds), len(self.variants), 2 * self.config.batch_size, -1)

    def loss(self, scores: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """Per-model loss ``[M]`` (eq. 3, or the top-k loss by ``config.loss``; MIL or CB-MIL by the
        variant's weights) of ``scores [S, V, 2B, 32]`` (abnormal bags first), the abnormal bags'
        classes ``[S, B]``."""
        cfg, b = self.config, self.config.batch_size
        s, v = len(self.seeds), len(self.variants)
        weights = self.weights[:, classes].transpose(0, 1).reshape(s * v, b)  # [S, V, B] -> [M, B]
        abnormal, normal = scores[:, :, :b].reshape(s * v, b, -1), scores[:, :, b:].reshape(s * v, b, -1)
        # check=False: TrainConfig validated the options; shapes are ours
        if cfg.loss == "topk":
            return topk_mil_loss(abnormal, normal, weights, k=cfg.topk, lambda_smooth=cfg.lambda_smooth,
                                 lambda_sparse=cfg.lambda_sparse, sparsity=cfg.sparsity, check=False)
        return mil_ranking_loss(abnormal, normal, weights, pairing=cfg.pairing, sparsity=cfg.sparsity,
                                lambda_smooth=cfg.lambda_smooth, lambda_sparse=cfg.lambda_sparse, check=False)

    def step(self) -> torch.Tensor:
        """One optimisation step of every model; returns the per-model losses ``[M]``.

        The phases, in the order they draw random numbers: :meth:`sample` (bags and crops),
        :meth:`masks` (dropout), :meth:`scores`, :meth:`loss`, the backward, the optimiser.
        With ``settings.cuda_graph`` the same phases after the draw are one recorded CUDA graph
        (:class:`cbmil.accel.cudagraph.GraphedStep`).
        """
        if self.settings.cuda_graph:
            if self._graphed is None:  # recorded at the first step (and again after a load)
                from cbmil.accel.cudagraph import GraphedStep
                self._graphed = GraphedStep(self)
            loss = self._graphed.step()
        else:
            x, classes = self.sample()
            loss = self.loss(self.scores(x, self.masks(x.shape[1])), classes)
            self.optimizer.zero_grad(set_to_none=True)
            loss.sum().backward()  # models share no parameter: each gets its own gradient
            self.optimizer.step()
            loss = loss.detach()
        self.step_count += 1
        return loss

    # ------------------------------------------------------------------ the loop
    def run(self, iterations: int | None = None, checkpoint: str | Path | None = None,
            checkpoint_every: int = 0, log_every: int = 10) -> "Trainer":
        """Train until ``iterations`` steps in all (default ``config.iterations``)."""
        cfg, run = self.config, self.settings
        target = cfg.iterations if iterations is None else iterations
        bar = tqdm(total=target, initial=self.step_count, desc=f"train {self.bank.n_models} models",
                   unit="step", disable=not run.progress)
        start = time.perf_counter()
        while self.step_count < target:
            loss = self.step()
            last = self.step_count == cfg.iterations
            if self.step_count % log_every == 0 or last:
                self.history["step"].append(self.step_count)
                self.history["loss"].append(loss.cpu().tolist())
                bar.set_postfix(loss=f"{loss.mean().item():.4f}")
            if run.eval_every and (self.step_count % run.eval_every == 0 or last):
                self._record_eval()
            if checkpoint and checkpoint_every and self.step_count % checkpoint_every == 0:
                self.save(checkpoint)
            bar.update()
        bar.close()
        self.seconds += time.perf_counter() - start
        if checkpoint:
            self.save(checkpoint)
        return self

    def _record_eval(self) -> None:
        results = evaluate_bank(self.bank, self.worlds, self.settings.protocol)
        self.history["eval_step"].append(self.step_count)
        self.history["total_auc"].append([r["total_auc"] for r in results])
        self.history["abnormal_auc"].append([r["abnormal_auc"] for r in results])
        if "average_precision_trapezoid" in results[0]:  # XD-Violence's headline
            self.history.setdefault("ap_trapezoid", []).append([r["average_precision_trapezoid"] for r in results])

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        return {
            "bank": self.bank.state_dict(), "optimizer": self.optimizer.state_dict(),
            "step": self.step_count, "history": self.history, "seconds": self.seconds,
            "batch_rng": [g.get_state() for g in self.batch_rng],
            "mask_rng": [g.get_state().cpu() for g in self.mask_rng],
            **({"balance_rng": [g.get_state() for g in self.balance_rng]} if self.balance_rng is not None else {}),
            "config": asdict(self.config), "settings": asdict(self.settings),
            "variants": [asdict(v) for v in self.variants], "seeds": self.seeds,
        }

    def load_state_dict(self, state: dict) -> None:
        if state["seeds"] != self.seeds or state["variants"] != [asdict(v) for v in self.variants]:
            raise ValueError("checkpoint was made for other seeds or variants: "
                             f"{state['seeds']} / {[v['name'] for v in state['variants']]}")
        saved_beta = state.get("config", {}).get("sampler_beta")  # absent: a checkpoint of the plain draw
        if saved_beta != self.config.sampler_beta:
            raise ValueError(f"checkpoint was made with sampler_beta={saved_beta!r}, this trainer has "
                             f"sampler_beta={self.config.sampler_beta!r}: the batches would differ")
        if self.balance_rng is not None and len(state.get("balance_rng", ())) != len(self.balance_rng):
            raise ValueError("checkpoint holds no state of the class-balanced draw's generators (balance_rng); "
                             "it cannot resume this trainer's batches")
        self.bank.load_state_dict(state["bank"])
        self.optimizer.load_state_dict(state["optimizer"])
        self._graphed = None  # a recorded step holds the old optimiser state: record afresh
        self.step_count, self.history, self.seconds = state["step"], state["history"], state["seconds"]
        for g, s in zip(self.batch_rng, state["batch_rng"]):
            g.set_state(s)
        for g, s in zip(self.mask_rng, state["mask_rng"]):
            g.set_state(s.to(g.device) if g.device.type != "cpu" else s)
        for g, s in zip(self.balance_rng or (), state.get("balance_rng", ())):
            g.set_state(s)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save(self.state_dict(), tmp)
        tmp.replace(path)  # never leave a half-written checkpoint behind

    def load(self, path: str | Path) -> "Trainer":
        self.load_state_dict(torch.load(path, map_location="cpu", weights_only=False))
        return self


def _make_optimizer(bank: ScorerBank, cfg: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    # decay="kernels": L2 on the weight matrices only (Keras' kernel_regularizer), biases free
    if cfg.decay == "kernels":
        params = [{"params": [bank.w1, bank.w2, bank.w3], "weight_decay": cfg.weight_decay},
                  {"params": [bank.b1, bank.b2, bank.b3], "weight_decay": 0.0}]
    else:
        params = [{"params": list(bank.parameters()), "weight_decay": cfg.weight_decay}]
    # fused kernels: one pass over each parameter instead of several (a few % of a CPU step);
    # fused Adagrad is CPU-only in some torch releases, so CUDA keeps the (multi-tensor) default
    if cfg.optimizer == "adagrad":
        return torch.optim.Adagrad(params, lr=cfg.lr, eps=cfg.adagrad_eps,
                                   fused=True if device.type == "cpu" else None)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, fused=True)
    return torch.optim.SGD(params, lr=cfg.lr)


def train(data: VADDataset, variants: Sequence[Variant], seeds: Sequence[int], config: TrainConfig | None = None,
          checkpoint: str | Path | None = None, resume: bool = False, checkpoint_every: int = 0,
          settings: RunSettings | None = None) -> Trainer:
    """Train the ``seeds x variants`` grid; with ``resume=True`` continue from ``checkpoint``."""
    trainer = Trainer(data, variants, seeds, config, settings)
    if resume and checkpoint and Path(checkpoint).is_file():
        trainer.load(checkpoint)
    return trainer.run(checkpoint=checkpoint, checkpoint_every=checkpoint_every)


# ---------------------------------------------------------------------- evaluation

@torch.no_grad()
def score_snippets(bank: ScorerBank, snippets, rows_per_chunk: int = 8192) -> np.ndarray:
    """Scores ``[M, S]`` of every model for snippets ``[S, C, D]`` (crops: mean of crop scores)."""
    bank.eval()
    device = bank.w1.device
    n, n_crops, dim = snippets.shape
    out = np.empty((bank.n_models, n), dtype=np.float32)
    step = max(1, rows_per_chunk // n_crops)
    for a in range(0, n, step):
        # a copy: a memory-mapped array is read-only
        chunk = torch.from_numpy(np.array(snippets[a:a + step], dtype=np.float32)).to(device)
        scores = bank(chunk.reshape(-1, dim))  # [S, V, rows * C]
        scores = scores.reshape(bank.n_models, -1, n_crops).mean(dim=-1)
        out[:, a:a + step] = scores.cpu().numpy()
        drop_mapped_rows(snippets, min(a + step, n))  # a mapped array's read pages leave memory
    return out


@torch.no_grad()
def score_worlds(bank: ScorerBank, snippet_sets: Sequence, rows_per_chunk: int = 8192) -> list[np.ndarray]:
    """Scores of each seed's models on that seed's own test snippets.

    ``snippet_sets``: one ``[S_i, C, D]`` array per seed of the bank (world i's test snippets).
    Returns one ``[V, S_i]`` array per seed. The worlds are scored together: chunk k of every
    world forms one input ``[n_seeds, rows, D]`` (shorter worlds padded), so the cost is that of
    scoring one world with all models.
    """
    n_seeds, v = len(bank.seeds), bank.n_variants
    if len(snippet_sets) != n_seeds:
        raise ValueError(f"expected one snippet array per seed ({n_seeds}), got {len(snippet_sets)}")
    bank.eval()
    device = bank.w1.device
    n_crops, dim = snippet_sets[0].shape[1:]
    lengths = [len(x) for x in snippet_sets]
    out = [np.empty((v, n), dtype=np.float32) for n in lengths]
    step = max(1, rows_per_chunk // (n_crops * n_seeds))  # rows_per_chunk rows in all, as for one world
    for a in range(0, max(lengths), step):
        chunk = torch.zeros((n_seeds, step * n_crops, dim), dtype=torch.float32)
        for i, x in enumerate(snippet_sets):
            part = np.asarray(x[a:a + step], dtype=np.float32).reshape(-1, dim)
            chunk.numpy()[i, :len(part)] = part  # from a read-only memory map too
        scores = bank(chunk.to(device)).reshape(n_seeds, v, step, n_crops).mean(dim=-1).cpu().numpy()
        for i, n in enumerate(lengths):
            out[i][:, a:min(a + step, n)] = scores[i, :, :max(0, min(step, n - a))]
            drop_mapped_rows(snippet_sets[i], min(a + step, n))  # a mapped world's read pages leave memory
    return out


def score_bank(bank: ScorerBank, worlds: VADDataset | Sequence[VADDataset]) -> list[np.ndarray]:
    """Test snippet scores of every model on its own world: one ``[M_w, S_w]`` array per world
    (one world: every model, ``[M, S]``; a world per seed: that seed's V models)."""
    worlds = check_worlds(worlds, len(bank.seeds))
    if len(worlds) == 1:
        return [score_snippets(bank, worlds[0].test_snippets)]
    return score_worlds(bank, [w.test_snippets for w in worlds])


def evaluate_bank(bank: ScorerBank, data: VADDataset | Sequence[VADDataset], protocol: str = "snippet",
                  include_normal: bool = False, snippet_scores: Sequence[np.ndarray] | np.ndarray | None = None
                  ) -> list[dict]:
    """:func:`cbmil.eval.metrics.evaluate` of every model of ``bank`` (model order ``s * V + v``), each on
    its own world's test set (``data``: one dataset, or one per seed). ``snippet_scores``: as
    returned by :func:`score_bank` (or ``[M, S]`` for one world)."""
    worlds = check_worlds(data, len(bank.seeds))
    if snippet_scores is None:
        snippet_scores = score_bank(bank, worlds)
    elif isinstance(snippet_scores, np.ndarray):
        snippet_scores = [snippet_scores]
    results = []
    for world, scores in zip(worlds, snippet_scores):
        labels = np.asarray(world.test_frame_labels)
        results += [metrics.evaluate(labels, frame_scores(s, world.test_offsets, world.test_n_frames, protocol),
                                     world.test_frame_offsets, world.test_classes, include_normal,
                                     **benchmark_keywords(world))
                    for s in scores]
    return results


def benchmark_keywords(world: VADDataset) -> dict:
    """The keywords :func:`cbmil.eval.metrics.evaluate` needs for ``world``'s benchmark: none for
    UCF-Crime (its defaults); for another class list (XD-Violence) its class names, its test
    videos' class sets and the per-class AP."""
    if world.labels == LABELS and world.test_class_sets is None:
        return {}
    return {"class_names": world.class_names, "video_class_sets": world.test_sets, "per_class_ap": True}


__all__ = ["LOSSES", "BALANCE_SEED_OFFSET", "Variant", "paper_variants", "TrainConfig", "RunSettings", "Trainer",
           "train", "check_settings", "select_device",
           "device_name", "score_snippets", "score_worlds", "score_bank", "evaluate_bank", "variant_weights",
           "weight_groups", "group_weights", "benchmark_keywords", "MULTI_LABEL_RULES",
           "check_worlds"]
