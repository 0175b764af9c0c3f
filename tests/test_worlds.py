"""A world per seed: the synthetic draw varies with the seed, the paired design holds within a seed."""

import numpy as np
import pytest
import torch

from cbmil.study.reproduction import synthetic_worlds
from cbmil.data.synthetic import IMBALANCE_LEVELS, imbalanced_counts
from cbmil.train import (RunSettings, TrainConfig, Trainer, Variant, check_worlds, evaluate_bank, score_bank,
                         score_snippets, score_worlds)
from cbmil.data.ucf_crime import CLASSES, NORMAL, TRAIN_COUNTS
from conftest import TINY_TEST, TINY_TRAIN, assert_parameters_close, tiny_world


@pytest.fixture(scope="module")
def worlds(tiny):
    return [tiny, tiny_world(1)]


def config(**kw):
    return TrainConfig(**{"iterations": 10, "batch_size": 6, **kw})


def settings():
    return RunSettings(progress=False, device="cpu", precision="fp32")


def test_world_draw_is_deterministic_and_differs_between_seeds():
    a, b, c = synthetic_worlds("ci", [3, 3, 4], train_counts=TINY_TRAIN, test_counts=TINY_TEST, max_snippets=60)
    np.testing.assert_array_equal(a.train_bags, b.train_bags)
    np.testing.assert_array_equal(a.test_snippets, b.test_snippets)
    np.testing.assert_array_equal(a.test_frame_labels, b.test_frame_labels)
    assert not np.array_equal(a.train_bags, c.train_bags)
    assert not np.array_equal(a.test_n_frames, c.test_n_frames)
    np.testing.assert_array_equal(a.train_classes, c.train_classes)  # the split's classes do not move
    assert (a.meta["seed"], c.meta["seed"]) == (3, 4)


def test_each_seed_of_a_multi_world_grid_equals_that_seed_trained_alone_on_its_world(worlds):
    variants = [Variant("MIL"), Variant("CB-MIL 0.99", 0.99)]
    grid = Trainer(worlds, variants, [0, 1], config(), settings()).run()
    for model, (seed, variant) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        alone = Trainer(worlds[seed], [variants[variant]], [seed], config(), settings()).run()
        assert_parameters_close(grid.bank.scorer(model), alone.bank.scorer(0), rtol=1e-4, atol=1e-5)
    # and a world matters: seed 1 trained on world 0 ends elsewhere
    other = Trainer(worlds[0], [variants[0]], [1], config(), settings()).run()
    assert not torch.allclose(grid.bank.scorer(2).net[0].weight, other.bank.scorer(0).net[0].weight, atol=1e-4)


def test_scores_and_evaluation_use_each_seeds_own_world(worlds):
    variants = [Variant("MIL"), Variant("CB-MIL 0.9", 0.9)]
    grid = Trainer(worlds, variants, [0, 1], config(iterations=3), settings()).run()
    together = score_worlds(grid.bank, [w.test_snippets for w in worlds], rows_per_chunk=50)
    for s, w in enumerate(worlds):
        alone = score_snippets(grid.bank, w.test_snippets)[s * 2:(s + 1) * 2]  # seed s's models on world s
        np.testing.assert_allclose(together[s], alone, rtol=1e-5, atol=1e-6)
        assert together[s].shape == (2, len(w.test_snippets))
    results = evaluate_bank(grid.bank, worlds, snippet_scores=score_bank(grid.bank, worlds))
    assert len(results) == 4
    one = evaluate_bank(grid.bank, worlds[1])  # every model on world 1
    assert results[2]["total_auc"] == pytest.approx(one[2]["total_auc"], abs=1e-6)


def test_worlds_must_agree_on_the_training_split(worlds):
    with pytest.raises(ValueError, match="one per seed"):
        check_worlds(worlds, 3)
    other = tiny_world(1, train_counts=TINY_TRAIN | {"Abuse": 4})
    with pytest.raises(ValueError, match="world 1: train_classes differ"):
        Trainer([worlds[0], other], [Variant("MIL")], [0, 1], config(), settings())


@pytest.mark.parametrize("level", sorted(IMBALANCE_LEVELS))
def test_imbalance_dial_keeps_the_total_and_the_order_of_classes(level):
    counts = imbalanced_counts(level)
    abnormal = [counts[c] for c in CLASSES]
    assert sum(abnormal) == sum(TRAIN_COUNTS[c] for c in CLASSES) == 810 and counts[NORMAL] == 800
    assert min(abnormal) >= 1
    ucf = [TRAIN_COUNTS[c] for c in CLASSES]
    for i in range(len(CLASSES)):
        for j in range(len(CLASSES)):
            if ucf[i] > ucf[j]:
                assert abnormal[i] >= abnormal[j]


def test_imbalance_dial_named_points():
    uniform = [imbalanced_counts("uniform")[c] for c in CLASSES]
    assert max(uniform) - min(uniform) <= 1
    assert imbalanced_counts("ucf") == TRAIN_COUNTS
    extreme = [imbalanced_counts("extreme")[c] for c in CLASSES]
    assert 40 <= max(extreme) / min(extreme) <= 60
    with pytest.raises(ValueError, match="imbalance level"):
        imbalanced_counts("huge")
