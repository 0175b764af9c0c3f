"""cbmil.accel.memory: freed memory kept for the next step (glibc), the arithmetic unchanged.

The setting is process-wide and lasting, so each mode trains in its own fresh process.
"""

import json
import mmap
import subprocess
import sys

import pytest

from cbmil.accel import memory

# a bank whose activations exceed glibc's largest mmap threshold (32 MB): 2 seeds x 5 variants,
# 30 + 30 bags of 32 segments -> [2, 1920, 2560] float32 = 39 MB a tensor
SCRIPT = """
import hashlib, json, sys
import torch
from cbmil.accel import memory
from cbmil.data.synthetic import make_dataset
from cbmil.train import RunSettings, TrainConfig, Trainer, paper_variants

torch.set_num_threads(1)
if sys.argv[1] == "keep":
    memory.keep_freed_memory()  # before the bags and the bank are allocated
trainer = Trainer(make_dataset("ci", seed=0), paper_variants(), [0, 1], TrainConfig(),
                  RunSettings(progress=False, precision="fp32", device="cpu"))
for _ in range(2):  # warm-up: the heap grows to the step's size once
    trainer.step()
before = memory.page_faults()
for _ in range(3):
    trainer.step()
faults = (memory.page_faults() - before) / 3
weights = hashlib.sha1(b"".join(p.detach().numpy().tobytes() for p in trainer.bank.parameters())).hexdigest()
print(json.dumps({"faults": faults, "weights": weights, "applied": memory.in_force()}))
"""


def run_mode(mode: str) -> dict:
    run = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_keep_freed_memory_is_idempotent():
    first = memory.keep_freed_memory()
    assert memory.keep_freed_memory() == first
    assert memory.in_force() == first
    if memory._glibc() is not None:
        assert first  # glibc accepts both mallopt settings


def test_page_faults_count_the_pages_touched_first():
    # an anonymous mapping outside malloc: the kernel maps each 4 KB page on its first touch
    # (huge pages refused, so one fault per page); mapping it without touching it costs next to none
    pytest.importorskip("resource")
    pages = 2048

    def faults_of(touch: bool) -> int:
        before = memory.page_faults()
        with mmap.mmap(-1, pages * mmap.PAGESIZE) as block:
            if hasattr(mmap, "MADV_NOHUGEPAGE"):
                block.madvise(mmap.MADV_NOHUGEPAGE)
            if touch:
                for offset in range(0, pages * mmap.PAGESIZE, mmap.PAGESIZE):
                    block[offset] = 1
            return memory.page_faults() - before

    untouched, touched = faults_of(False), faults_of(True)
    assert touched >= pages, (touched, pages)
    assert untouched < pages // 10, (untouched, pages)


@pytest.mark.slow  # trains a 10-model bank in two fresh processes
@pytest.mark.skipif(memory._glibc() is None, reason="keep_freed_memory acts on glibc only")
def test_kept_memory_removes_page_faults_and_leaves_the_arithmetic_unchanged():
    keep, release = run_mode("keep"), run_mode("release")
    assert keep["applied"] and not release["applied"]
    # released: every step maps its large blocks afresh (several 39 MB tensors = 10,000s of pages)
    assert release["faults"] > 20_000, release
    assert keep["faults"] < 0.1 * release["faults"], (keep, release)
    assert keep["weights"] == release["weights"]  # bit-identical training


def test_freed_memory_goes_back_to_the_system_when_asked():
    """Memory kept free by keep_freed_memory leaves the process's resident set on return_freed_memory."""
    script = """
import numpy as np
from cbmil.accel import memory
assert memory.keep_freed_memory()
def rss():
    return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1])
blocks = [np.ones(2**22) for _ in range(16)]  # 512 MiB from the heap (mmap off, below the trim threshold)
del blocks
kept = rss()
assert memory.return_freed_memory()
print(kept - rss())
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert int(out) > 256 * 1024  # kB: most of the 512 MiB went back
