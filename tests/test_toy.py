"""The 2-D toy of notebook 04: known segment labels, one event per abnormal bag, a VADDataset the
Trainer accepts."""

import numpy as np
import pytest
import torch

from cbmil.data.ucf_crime import FRAMES_PER_SNIPPET, NORMAL_INDEX
from cbmil.toy import RING_RADIUS, TOY_CLASS, toy_bags, toy_dataset
from cbmil.train import RunSettings, TrainConfig, Trainer, Variant


def test_every_abnormal_bag_has_one_run_of_anomalous_segments_and_normal_bags_none():
    toy = toy_bags(50, 40, seed=3, event_lengths=(2, 5))
    assert toy.bags.shape == (90, 32, 2) and toy.bags.dtype == np.float32
    assert toy.labels.tolist() == [1] * 50 + [0] * 40
    assert not toy.segment_labels[50:].any()
    for row in toy.segment_labels[:50]:
        where = np.flatnonzero(row)
        assert 2 <= len(where) <= 5 and np.array_equal(where, np.arange(where[0], where[-1] + 1))


def test_anomalous_segments_lie_on_the_ring_and_normal_ones_near_the_origin():
    toy = toy_bags(200, 200, seed=0)
    radius = np.linalg.norm(toy.bags, axis=-1)
    event = toy.segment_labels.astype(bool)
    assert abs(radius[event].mean() - RING_RADIUS) < 0.1
    assert radius[~event].mean() < 1.5  # a 2-D standard normal's mean radius is 1.25
    assert toy.abnormal.shape == (200, 32, 2) and toy.normal.shape == (200, 32, 2)


def test_same_seed_same_bags_other_seed_other_bags():
    a, b, c = toy_bags(5, 5, seed=1), toy_bags(5, 5, seed=1), toy_bags(5, 5, seed=2)
    assert np.array_equal(a.bags, b.bags) and np.array_equal(a.segment_labels, b.segment_labels)
    assert not np.array_equal(a.bags, c.bags)


@pytest.mark.parametrize("kwargs", [dict(n_abnormal=0, n_normal=0), dict(n_abnormal=-1, n_normal=3),
                                    dict(n_abnormal=2, n_normal=2, event_lengths=(0, 3)),
                                    dict(n_abnormal=2, n_normal=2, event_lengths=(3, 40))])
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(ValueError):
        toy_bags(**kwargs)


def test_dataset_holds_the_bags_and_the_segment_labels_frame_by_frame():
    train, test = toy_bags(40, 40, seed=0), toy_bags(3, 2, seed=1)
    data = toy_dataset(train, test)
    assert data.train_bags.shape == (80, 1, 32, 2) and np.array_equal(data.train_bags[:, 0], train.bags)
    assert data.train_classes.tolist() == [TOY_CLASS] * 40 + [NORMAL_INDEX] * 40
    assert data.test_snippets.shape == (5 * 32, 1, 2) and data.test_offsets.tolist() == [0, 32, 64, 96, 128, 160]
    assert np.array_equal(data.test_frame_labels.reshape(5, 32, FRAMES_PER_SNIPPET)[..., 0], test.segment_labels)
    assert data.test_classes.tolist() == [TOY_CLASS] * 3 + [NORMAL_INDEX] * 2


def test_the_trainer_trains_on_the_toy():
    data = toy_dataset(toy_bags(40, 40, seed=0), toy_bags(4, 4, seed=1))
    trainer = Trainer(data, [Variant("MIL")], [0], TrainConfig(iterations=30, lr=0.05, hidden=(16, 8), dropout=0.1),
                      RunSettings(device="cpu", precision="fp32", progress=False, eval_every=30)).run()
    loss = np.array(trainer.history["loss"])[:, 0]
    assert loss[-1] < loss[0]
    assert 0.0 <= trainer.history["total_auc"][-1][0] <= 1.0
    assert torch.isfinite(trainer.bank.w1).all()
