"""Shared fixtures: the optional PyTorch reference and the data directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def torch():
    """PyTorch in float64, for conformance tests.

    Skipped with the reason where it is not installed, except under CI (``CI=true``),
    where a missing torch is a failure: CI installs it, so no test is silently skipped."""
    try:
        import torch
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("torch is not installed, but CI must run the conformance tests (pip install torch==2.13.0)")
        pytest.skip("PyTorch is not installed: pip install -e '.[torch]' to run conformance tests")
    torch.set_default_dtype(torch.float64)
    return torch


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared data directory from EMBER_DATA_DIR (skips with the reason when unset)."""
    path = os.environ.get("EMBER_DATA_DIR")
    if not path or not Path(path).is_dir():
        if os.environ.get("CI"):
            pytest.fail("EMBER_DATA_DIR must point at the shared data under CI")
        pytest.skip("EMBER_DATA_DIR is not set to the shared data directory")
    return Path(path)
