"""The README's Python examples run as written (the README stays true)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_python_block_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - our own README
    if "ReQU" in namespace and "check" not in code:
        import numpy as np

        from ember import check

        assert check.check_module(namespace["ReQU"](), np.array([-1.5, 0.3, 2.0])).ok


def test_the_readme_names_the_install_command_of_every_skip():
    from tests.optional import INSTALL

    text = README.read_text()
    for module, command in INSTALL.items():
        assert command in text, f"the README does not name {command!r}, the install command of {module}"
