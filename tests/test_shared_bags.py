"""The worlds' training bags are held once: a CPU fp32 Trainer trains on the array that
synthetic_worlds lays them out in (no copy), with the scores of a Trainer that copies them."""

import copy

import numpy as np
import torch

from cbmil.study.reproduction import synthetic_worlds
from cbmil.train import RunSettings, TrainConfig, Trainer, paper_variants, score_bank

SMALL = dict(train_counts={"Abuse": 4, "Arrest": 4, "Normal": 8}, test_counts={"Abuse": 1, "Normal": 1},
             max_snippets=40)


def _trainer(worlds):
    settings = RunSettings(device="cpu", precision="fp32", progress=False)
    return Trainer(worlds, paper_variants([0.9999]), [0, 1], TrainConfig(iterations=5, batch_size=3), settings)


def test_trainer_uses_the_stacked_worlds_without_a_copy_and_trains_the_same_models():
    worlds = synthetic_worlds("ci", [0, 1], **SMALL)
    assert worlds[1].train_bags.base is worlds[0].train_bags.base
    shared = _trainer(worlds)
    assert np.shares_memory(shared.bags.numpy(), worlds[0].train_bags)
    assert np.shares_memory(shared.bags.numpy(), worlds[1].train_bags)
    # the same worlds as separate arrays: the trainer copies them into its own array
    separate = [copy.copy(w) for w in worlds]
    for w in separate:
        w.train_bags = np.array(w.train_bags)
    copied = _trainer(separate)
    assert torch.equal(copied.bags, shared.bags)
    shared.run(), copied.run()
    for a, b in zip(score_bank(shared.bank, worlds), score_bank(copied.bank, separate)):
        assert np.array_equal(a, b)


def test_a_bf16_trainer_still_copies():
    worlds = synthetic_worlds("ci", [0, 1], **SMALL)
    settings = RunSettings(device="cpu", precision="bf16", progress=False)
    trainer = Trainer(worlds, paper_variants([0.9999]), [0, 1], TrainConfig(iterations=1, batch_size=3), settings)
    assert trainer.bags.dtype == torch.bfloat16
    assert not np.shares_memory(trainer.bags.float().numpy(), worlds[0].train_bags)


def test_test_snippets_are_memory_mapped_with_the_same_values():
    mapped = synthetic_worlds("ci", [0], **SMALL)[0]
    plain = synthetic_worlds("ci", [0], map_test_snippets=False, **SMALL)[0]
    assert isinstance(mapped.test_snippets, np.memmap) and not mapped.test_snippets.flags.writeable
    assert not isinstance(plain.test_snippets, np.memmap)
    assert np.array_equal(mapped.test_snippets, plain.test_snippets)
