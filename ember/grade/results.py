"""What grading writes: Gradescope's ``results.json`` and a ``feedback.md`` per student, ``summary.csv``.

``results.json`` follows Gradescope's autograder format: top-level ``score``, ``execution_time``,
``output`` and ``tests``, each test with ``name``, ``score``, ``max_score``, ``status``
(``passed``/``failed``), ``output`` and ``visibility``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ember.files import atomic_write, saving, write_text
from ember.grade.runner import StudentResult
from ember.grade.spec import Spec


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(float(value), 6)


def gradescope_results(spec: Spec, result: StudentResult) -> dict[str, Any]:
    """The Gradescope ``results.json`` content for one student."""
    tests = []
    for check in result.checks:
        output = check.output + (f"\n{check.diagnosis}" if check.diagnosis else "")
        tests.append({"name": check.name, "score": _number(check.score), "max_score": _number(check.max_score),
                      "status": "passed" if check.score >= check.max_score else "failed", "output": output,
                      "visibility": check.visibility})
    summary = f"{spec.name}: {_number(result.score)} / {_number(result.max_score)}"
    return {"score": _number(result.score), "execution_time": round(result.execution_time, 3),
            "output": summary + (f"\n{result.note}" if result.note else ""), "tests": tests}


def feedback_markdown(spec: Spec, result: StudentResult) -> str:
    """A student's feedback: the score, then each check with its points, what it found and the likely mistake."""
    lines = [f"# {spec.name}: feedback for {result.student}", "",
             f"**Score: {_number(result.score)} / {_number(result.max_score)}**", ""]
    if result.note:
        lines += [f"> {result.note}", ""]
    for check in result.checks:
        mark = "✔" if check.score >= check.max_score else "✘"
        lines.append(f"## {mark} {check.name} ({_number(check.score)} / {_number(check.max_score)})")
        lines += ["", check.output.strip(), ""]
        if check.diagnosis:
            lines += [f"**{check.diagnosis[:1].upper()}{check.diagnosis[1:]}**", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_student(spec: Spec, result: StudentResult, folder: str | Path) -> Path:
    """Write ``results.json`` and ``feedback.md`` into ``folder``; return the folder."""
    folder = Path(folder)
    with saving(folder):
        folder.mkdir(parents=True, exist_ok=True)
    write_text(folder / "results.json", json.dumps(gradescope_results(spec, result), indent=2) + "\n")
    write_text(folder / "feedback.md", feedback_markdown(spec, result))
    return folder


def write_summary(spec: Spec, results: Sequence[StudentResult], path: str | Path) -> Path:
    """``summary.csv``: student, score, max_score, one column per check (its points), run time."""
    def write(temporary: Path) -> None:
        with temporary.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["student", "score", "max_score"] + [check.name for check in spec.checks]
                            + ["run_time_s"])
            for result in results:
                writer.writerow([result.student, _number(result.score), _number(result.max_score)]
                                + [_number(check.score) for check in result.checks]
                                + [f"{result.execution_time:.2f}"])

    return atomic_write(path, write, make_parents=True)
