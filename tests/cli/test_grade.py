"""``ember grade`` and ``ember trace`` from the command line."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from ember.cli import main

SPEC = Path(__file__).resolve().parent.parent / "grade" / "linear" / "assignment.toml"
SUBMISSIONS = SPEC.parent.parent / "submissions"


def test_ember_grade_a_class(tmp_path, capsys):
    students = tmp_path / "class"
    students.mkdir()
    for name in ("correct.py", "transposed.py"):
        shutil.copy(SUBMISSIONS / name, students / name)
    assert main(["grade", str(SPEC), str(students), "--out", str(tmp_path / "out"), "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "correct" in out and "9.5 / 9.5" in out
    assert "transposed" in out and "lost: jacobian input" in out
    rows = list(csv.DictReader((tmp_path / "out" / "summary.csv").open()))
    assert [row["student"] for row in rows] == ["correct", "transposed"]
    feedback = (tmp_path / "out" / "transposed" / "feedback.md").read_text()
    assert "likely mistake (transposed)" in feedback.lower()


def test_ember_grade_gradescope_and_example(tmp_path, capsys):
    results = tmp_path / "results"
    assert main(["grade", str(SPEC), str(SUBMISSIONS / "folder_student"), "--gradescope", "--out", str(results)]) == 0
    assert json.loads((results / "results.json").read_text())["score"] == 9.5
    assert main(["grade", "--example", "ocr", str(tmp_path / "ocr")]) == 0
    assert (tmp_path / "ocr" / "assignment.toml").exists() and (tmp_path / "ocr" / "run_autograder").exists()
    assert "wrote file" in capsys.readouterr().out


def test_ember_grade_bad_arguments(tmp_path, capsys):
    assert main(["grade", str(SPEC)]) == 2
    assert "expected SPEC and SUBMISSIONS" in capsys.readouterr().err
    assert main(["grade", "--example", "requ"]) == 2
    assert main(["grade", str(tmp_path / "none.toml"), str(tmp_path)]) == 1
    assert "no such assignment spec" in capsys.readouterr().err


def test_ember_trace_formats_and_compare(tmp_path, capsys):
    assert main(["trace"]) == 0
    assert "| `g_alpha0` |" in capsys.readouterr().out
    assert main(["trace", "--format", "latex"]) == 0
    assert r"\begin{align*}" in capsys.readouterr().out
    mine = tmp_path / "mine.csv"
    assert main(["trace", "--format", "csv", "--out", str(mine)]) == 0
    capsys.readouterr()
    assert main(["trace", "--compare", str(mine)]) == 0
    assert "values match" in capsys.readouterr().out
    mine.write_text(mine.read_text().replace("\nz,1,", "\nz,1,1").replace("\nz,1,1-", "\nz,1,-1"))
    assert main(["trace", "--compare", str(mine)]) == 1
    assert "first wrong value: z[1]" in capsys.readouterr().out
    assert main(["trace", "--input", "1,0,1", "--label", "2", "--hidden", "2", "--format", "csv"]) == 0
    assert "alpha,1;2," in capsys.readouterr().out
    assert main(["trace", "--input", "1,x"]) == 2
