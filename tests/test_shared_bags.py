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


def test_scoring_a_mapped_world_drops_its_read_pages_and_gives_the_same_scores():
    from cbmil.accel.memory import drop_mapped_rows
    from cbmil.train import score_snippets
    mapped = synthetic_worlds("ci", [0, 1], **SMALL)
    plain = synthetic_worlds("ci", [0, 1], map_test_snippets=False, **SMALL)
    trainer = _trainer(mapped)
    for a, b in zip(score_bank(trainer.bank, mapped), score_bank(trainer.bank, plain)):
        assert np.array_equal(a, b)
    assert np.array_equal(score_snippets(trainer.bank, mapped[0].test_snippets),
                          score_snippets(trainer.bank, plain[0].test_snippets))
    assert drop_mapped_rows(mapped[0].test_snippets, len(mapped[0].test_snippets))
    assert np.array_equal(mapped[0].test_snippets, plain[0].test_snippets)  # read again from the file
    assert not drop_mapped_rows(plain[0].test_snippets, 10)  # not a memory map
    assert not drop_mapped_rows(mapped[0].test_snippets[5:], 10)  # a slice of one


def test_dropping_mapped_pages_shrinks_the_resident_set(tmp_path):
    import subprocess
    import sys
    script = f"""
import numpy as np
from cbmil.accel.memory import drop_mapped_rows
np.save({str(tmp_path / 'x.npy')!r}, np.ones((4096, 8192), dtype=np.float32))  # 128 MiB
x = np.load({str(tmp_path / 'x.npy')!r}, mmap_mode="r")
rss = lambda: int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1])
before = rss(); float(x.sum()); touched = rss()
assert drop_mapped_rows(x, len(x))
print(touched - before, touched - rss())
"""
    grew, dropped = map(int, subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                            check=True).stdout.split())
    assert grew > 100 * 1024 and dropped > 100 * 1024  # kB
