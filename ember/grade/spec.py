"""An assignment: the spec file (TOML) read into a :class:`Spec` of :class:`Check` entries.

A spec sits next to the instructor's reference solution::

    name = "ReQU"
    submission = "requ.py"        # the file a student hands in (alone, or inside a folder)
    reference = "reference.py"    # the instructor's solution and helpers, beside the spec
    time_limit = 20               # seconds per check (a check may set its own)
    memory_limit = 1024           # MiB of address space per student process
    import_time_limit = 20        # seconds to import the submission

    [implement]
    class = "ReQU"                # or function = "train_and_test"
    args = []                     # constructor arguments (a class)
    kwargs = {}

    [[check]]
    name = "Jacobian with respect to the input"
    kind = "jacobian"             # see CHECK_KINDS
    wrt = "input"                 # or a parameter: "weight"
    points = 2
    input = { shape = [3, 5], seed = 11 }

Check kinds (:data:`CHECK_KINDS`) and their fields:

* ``jacobian`` (``wrt``, ``input``, ``eps``, ``tol``): backprop against finite differences;
* ``batch``, ``accumulate``, ``scale`` (``input``): the protocol checks of :func:`ember.check.check_module`;
* ``forward`` (``inputs``: a list of ``{shape, seed}``, ``tol``): the output equals the reference's,
  with the reference's parameters copied in;
* ``model`` (``builder``, ``tol``): the whole-model check of ``builder(module)`` → ``(model, criterion,
  input, target)``, a function of the reference file, with the student's module inside;
* ``metrics`` (``runner``, ``arguments``, ``compare``): ``runner(function, arguments)`` of the reference
  is run with the student's function and with the reference's; each key of ``compare`` must agree within
  its absolute tolerance (numbers or lists of numbers);
* ``test`` (``function``): an instructor test ``function(submission)`` of the reference: returning
  ``None`` or ``True`` is full marks, a number in [0, 1] that fraction, an ``AssertionError`` zero with
  its message.

Every check also takes ``name``, ``points`` (default 1), ``time_limit`` and ``visibility``
(Gradescope's: ``visible``, ``hidden``, ``after_due_date``, ``after_published``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ember.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib


class SpecError(InputError):
    """A spec file that cannot be read or is incomplete: the message names the file and the entry."""

CHECK_KINDS = ("jacobian", "batch", "accumulate", "scale", "forward", "model", "metrics", "test")
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
#: the fields each kind takes beyond name, kind, points, time_limit and visibility.
_FIELDS = {
    "jacobian": {"wrt", "input", "eps", "tol"},
    "batch": {"input", "tol"},
    "accumulate": {"input", "tol"},
    "scale": {"input", "tol"},
    "forward": {"inputs", "tol"},
    "model": {"builder", "tol", "eps"},
    "metrics": {"runner", "arguments", "compare"},
    "test": {"function"},
}
_COMMON = {"name", "kind", "points", "time_limit", "visibility"}
_REQUIRED = {"model": ("builder",), "metrics": ("runner", "compare"), "test": ("function",), "forward": ("inputs",)}


@dataclass
class Check:
    """One graded check: its ``kind``, ``points``, ``time_limit`` (seconds) and the kind's ``options``."""

    name: str
    kind: str
    points: float
    time_limit: float
    visibility: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Spec:
    """An assignment (see the module docstring): where things are, the limits, and the checks."""

    path: Path
    name: str
    submission: str
    reference: Path
    implement: dict[str, Any]
    checks: list[Check]
    time_limit: float = 20.0
    memory_limit: int = 1024
    import_time_limit: float = 20.0

    @property
    def max_score(self) -> float:
        return sum(check.points for check in self.checks)

    @property
    def target(self) -> str:
        """The name the student implements (a class or a function)."""
        return self.implement.get("class") or self.implement["function"]


def _number(table: dict, key: str, default: float, where: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise SpecError(f"{where}: {key} must be a positive number, got {value!r}")
    return float(value)


def load_spec(path: str | Path) -> Spec:
    """Read and validate the spec at ``path``; :class:`SpecError` names the file and the problem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SpecError(f"no such assignment spec: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        cause = getattr(error, "strerror", None) or error
        raise SpecError(f"{path}: cannot read the assignment spec ({cause})") from None
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{path}: not valid TOML: {error}") from None
    where = str(path)
    for key in ("name", "submission", "reference"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise SpecError(f"{where}: needs {key} = \"...\"")
    reference = (path.parent / data["reference"]).resolve()
    if not reference.is_file():
        raise SpecError(f"{where}: the reference {data['reference']} is not beside the spec ({reference})")
    implement = data.get("implement")
    if not isinstance(implement, dict) or ("class" in implement) == ("function" in implement):
        raise SpecError(f"{where}: [implement] must name exactly one of class = \"...\" or function = \"...\"")
    time_limit = _number(data, "time_limit", 20.0, where)
    checks = [_check(entry, i, time_limit, where) for i, entry in enumerate(data.get("check", []))]
    if not checks:
        raise SpecError(f"{where}: no [[check]] entries")
    names = [check.name for check in checks]
    if len(set(names)) != len(names):
        raise SpecError(f"{where}: check names must differ (they are the columns of summary.csv)")
    return Spec(path.resolve(), data["name"], data["submission"], reference, implement, checks, time_limit,
                int(_number(data, "memory_limit", 1024, where)), _number(data, "import_time_limit", 20.0, where))


def _check(entry: Any, i: int, time_limit: float, where: str) -> Check:
    here = f"{where}: check {i}"
    if not isinstance(entry, dict) or entry.get("kind") not in CHECK_KINDS:
        kind = entry.get("kind") if isinstance(entry, dict) else entry
        raise SpecError(f"{here}: kind {kind!r} is not one of {', '.join(CHECK_KINDS)}")
    kind = entry["kind"]
    unknown = set(entry) - _COMMON - _FIELDS[kind]
    if unknown:
        raise SpecError(f"{here} ({kind}): unknown field(s) {', '.join(sorted(unknown))}; it takes "
                        f"{', '.join(sorted(_FIELDS[kind] | _COMMON))}")
    for key in _REQUIRED.get(kind, ()):
        if key not in entry:
            raise SpecError(f"{here} ({kind}): needs {key}")
    visibility = entry.get("visibility", "visible")
    if visibility not in VISIBILITIES:
        raise SpecError(f"{here}: visibility {visibility!r} is not one of {', '.join(VISIBILITIES)}")
    points = entry.get("points", 1)
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
        raise SpecError(f"{here}: points must be a number >= 0, got {points!r}")
    name = str(entry.get("name") or f"{kind} {entry.get('wrt', '')}".strip())
    options = {key: value for key, value in entry.items() if key not in _COMMON}
    return Check(name, kind, float(points), _number(entry, "time_limit", time_limit, here), visibility, options)
