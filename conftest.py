"""Collection for the doctests in ``ember/``: a module whose optional dependency is absent is not collected."""

from __future__ import annotations

import importlib.util

#: ember modules that import an optional dependency at the top, by that dependency.
OPTIONAL = {"ember/sklearn.py": "sklearn"}

collect_ignore = [path for path, module in OPTIONAL.items() if importlib.util.find_spec(module) is None]
