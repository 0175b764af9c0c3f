"""Shared fixtures. Real-data tests need CBMIL_DATA_DIR (set by .ci/run when the data exists)."""

import os
from pathlib import Path

import pytest

from cbmil.data.synthetic import make_dataset, write_feature_folders
from cbmil.data.ucf_crime import LABELS

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
