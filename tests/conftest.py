"""Shared fixtures: the optional PyTorch reference and the data directory; the install command of each optional
dependency, named the same way in every skip message and in the README (tests/test_readme.py checks that)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.optional import INSTALL, skip_reason


@pytest.fixture(scope="session")
def torch():
    """PyTorch in float64, for conformance tests.

    Skipped with the reason where it is not installed, except under CI (``CI=true``),
    where a missing torch is a failure: CI installs it, so no test is silently skipped."""
    try:
        import torch
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"torch is not installed, but CI must run the conformance tests ({INSTALL['torch']})")
        pytest.skip(skip_reason("torch", "the PyTorch conformance tests"))
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
