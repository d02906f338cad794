"""Fixtures for clip-dataset tests."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from clipdata_helpers import write_dataset  # noqa: E402


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    """12 clips x 12 frames of 16x16, 2 clips per shard, all in train (fractions 1,0,0)."""
    root = tmp_path_factory.mktemp("clips") / "ds"
    frames = write_dataset(root, split_fractions=(1.0, 0.0, 0.0))
    return root, frames
