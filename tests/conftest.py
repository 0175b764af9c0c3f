"""Shared fixtures and helpers. Real-data tests need CBMIL_DATA_DIR (set by .ci/run when the data exists).

Test files import the helpers (``tiny_world``, ``assert_parameters_close``, the count tables)
with ``from conftest import ...``; pytest puts this folder on ``sys.path``.
"""

import os
from pathlib import Path

import pytest
import torch

from cbmil.data.synthetic import make_dataset, write_feature_folders
from cbmil.data.ucf_crime import CLASSES, LABELS

HOW_TO_ENABLE = ("set CBMIL_DATA_DIR to a folder holding ucf_crime/ (the official split files) and "
                 "sultani_c3d_samples/ to run the real-data tests")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    value = os.environ.get("CBMIL_DATA_DIR")
    if not value:
        pytest.skip(HOW_TO_ENABLE)
    path = Path(value)
    if not (path / "ucf_crime").is_dir():
        pytest.fail(f"CBMIL_DATA_DIR={value} has no ucf_crime/ folder")
    return path


@pytest.fixture(scope="session")
def ci_data():
    """The synthetic "ci" dataset, generated once per test session."""
    return make_dataset("ci", seed=0)


SMALL_COUNTS = {label: 1 for label in LABELS} | {"Normal": 3}


@pytest.fixture(scope="session")
def ten_crop_folder(tmp_path_factory):
    """A small synthetic dataset written as I3D ten-crop files with the official split files."""
    root = tmp_path_factory.mktemp("ten_crop")
    return write_feature_folders(root, "ten_crop", train_counts=SMALL_COUNTS, test_counts=SMALL_COUNTS,
                                 max_snippets=80)


# The small training world of the training tests: 3 bags per anomaly class and 30 normal bags to
# train on, 1 test video per anomaly class and 3 normal ones, videos of at most 60 snippets.
TINY_TRAIN = {c: 3 for c in CLASSES} | {"Normal": 30}
TINY_TEST = {c: 1 for c in CLASSES} | {"Normal": 3}


def tiny_world(seed: int, **overrides):
    """The small synthetic world (TINY_TRAIN / TINY_TEST, ``max_snippets=60``) drawn with ``seed``;
    ``overrides`` are further :func:`make_dataset` arguments (or replace those three)."""
    return make_dataset("ci", seed=seed, **{"train_counts": TINY_TRAIN, "test_counts": TINY_TEST,
                                            "max_snippets": 60, **overrides})


@pytest.fixture(scope="session")
def tiny():
    """``tiny_world(0)``, drawn once per session; tests read it and must not modify it."""
    return tiny_world(0)


def assert_parameters_close(first: torch.nn.Module, second: torch.nn.Module, rtol: float, atol: float):
    """Every parameter of ``first`` equals the same-named parameter of ``second`` within ``rtol`` /
    ``atol`` (``rtol=0, atol=0``: bit-equal); both must have the same parameter names, shapes and dtypes."""
    a, b = dict(first.named_parameters()), dict(second.named_parameters())
    assert list(a) == list(b), f"parameters {list(a)} against {list(b)}"
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=rtol, atol=atol, msg=lambda m, name=name: f"{name}: {m}")
