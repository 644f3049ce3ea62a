"""Autograding: an assignment spec, each submission run in isolation, Gradescope's results.

* :func:`~ember.grade.spec.load_spec` reads an assignment (TOML, see :mod:`ember.grade.spec`): what
  the student implements, how to build it, the hidden inputs and the checks with points and limits.
* :func:`grade` grades a folder of submissions (a ``.py`` file or a folder per student), each in its
  own worker process with a wall-clock and a memory limit in a temporary copy
  (:mod:`ember.grade.runner`), and writes ``OUT/<student>/results.json`` (Gradescope's format),
  ``OUT/<student>/feedback.md`` and ``OUT/summary.csv`` (:mod:`ember.grade.results`).
* :func:`grade_gradescope` grades the one submission of a Gradescope container into
  ``/autograder/results/results.json``.
* :func:`write_example` writes a ready assignment (``requ``: the ReQU practical; ``ocr``: the OCR
  homework) with its reference solution and Gradescope's ``setup.sh`` and ``run_autograder``.

Gradient checks that fail carry the likely mistake (:mod:`ember.check.diagnose`) into the feedback.
The isolation protects the grading from mistakes (hangs, crashes, ``sys.exit``, huge allocations); it
is not a sandbox against a hostile submission, which runs with the grader's permissions.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ember.errors import InputError
from ember.grade.results import feedback_markdown, gradescope_results, write_student, write_summary
from ember.grade.runner import StudentResult, grade_all, grade_submission, submissions_in
from ember.grade.spec import Check, Spec, SpecError, load_spec

#: the assignments :func:`write_example` writes.
EXAMPLES = ("requ", "ocr")
_EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"


def grade(spec: str | Path | Spec, submissions: str | Path, out: str | Path, jobs: int = 1,
          executor: str | None = None) -> list[StudentResult]:
    """Grade every submission in the folder ``submissions``; write the results under ``out``.

    ``jobs`` submissions at a time, on ``executor`` (see :func:`grade_all`). Returns one
    :class:`StudentResult` per student, sorted by name.
    """
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    results = grade_all(spec, submissions_in(submissions), jobs, executor)
    out = Path(out)
    for result in results:
        write_student(spec, result, out / result.student)
    write_summary(spec, results, out / "summary.csv")
    return results


def grade_gradescope(spec: str | Path | Spec, submission: str | Path = "/autograder/submission",
                     results: str | Path = "/autograder/results") -> StudentResult:
    """Grade one submission folder as Gradescope's ``run_autograder`` does: ``results/results.json``."""
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    result = grade_submission(spec, submission)
    write_student(spec, result, results)
    return result


def write_example(name: str, folder: str | Path) -> list[Path]:
    """Write the example assignment ``name`` (``requ`` or ``ocr``) into ``folder``; the paths written."""
    if name not in EXAMPLES:
        raise InputError(f"grade: no example assignment {name!r} (there are {', '.join(EXAMPLES)})")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted((_EXAMPLES_DIR / name).iterdir()) + sorted((_EXAMPLES_DIR / "gradescope").iterdir()):
        if source.is_file() and source.suffix != ".pyc":
            target = folder / source.name
            shutil.copy2(source, target)
            written.append(target)
    return written


__all__ = ["Check", "EXAMPLES", "Spec", "SpecError", "StudentResult", "feedback_markdown", "grade",
           "grade_all", "grade_gradescope", "grade_submission", "gradescope_results", "load_spec",
           "submissions_in", "write_example", "write_student", "write_summary"]
