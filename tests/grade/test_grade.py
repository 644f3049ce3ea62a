"""Grading a class of planted submissions: the scores, the diagnoses, and isolation from hangs and crashes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ember import grade
from ember.errors import InputError
from ember.grade import SpecError, load_spec

HERE = Path(__file__).parent
SPEC = HERE / "linear" / "assignment.toml"
SUBMISSIONS = HERE / "submissions"
FULL = 9.5

# student -> (score, {check: words its output must contain}, {check: the mistake diagnosed})
EXPECTED = {
    "correct": (FULL, {}, {}),
    "folder_student": (FULL, {}, {}),
    "transposed": (FULL - 2, {"jacobian input": "backprop"}, {"jacobian input": "transposed"}),
    "sign": (FULL - 2, {"jacobian weight": "backprop"}, {"jacobian weight": "sign"}),
    "assigned": (FULL - 1, {"accumulate": "overwrites"}, {"accumulate": "accumulate"}),
    "scale_ignored": (FULL - 1, {"scale": "ignores scale"}, {"scale": "scale"}),
    "first_example": (FULL - 1, {"batch": "differ"}, {"batch": "batch"}),
    "crash": (1.5, {name: "ValueError" for name in ("jacobian input", "jacobian weight", "jacobian bias", "batch",
                                                    "accumulate", "scale")}, {}),
    "endless_loop": (FULL - 1, {"batch": "time limit of 2.5 s"}, {}),
    "exits": (FULL - 1, {"scale": "sys.exit(3) (mylinear.py, line 28)"}, {}),
    "segfault": (FULL - 1, {"scale": "killed by signal SIGSEGV"}, {}),
    "huge_allocation": (FULL - 1, {"batch": "MemoryError"}, {}),
    "import_loop": (0.0, {"forward": "importing mylinear.py took longer than 2.5 s"}, {}),
    "syntax_error": (0.0, {"jacobian input": "SyntaxError"}, {}),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("graded")
    results = grade.grade(SPEC, SUBMISSIONS, out, jobs=4)
    return out, {result.student: result for result in results}


def test_every_submission_is_graded(graded):
    _, results = graded
    assert sorted(results) == sorted(EXPECTED)


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_scores_messages_and_diagnoses(graded, student):
    _, results = graded
    result = results[student]
    score, words, mistakes = EXPECTED[student]
    checks = {check.name: check for check in result.checks}
    assert result.score == pytest.approx(score), [(c.name, c.score, c.output) for c in result.checks]
    assert result.max_score == FULL
    for name, text in words.items():
        assert text in checks[name].output, checks[name].output
        assert checks[name].score == 0
    for name, mistake in mistakes.items():
        assert checks[name].diagnosis.startswith(f"likely mistake ({mistake})"), checks[name].diagnosis
    lost = {name for name, check in checks.items() if check.score < check.max_score}
    if score not in (0.0, 1.5):  # a hang, crash, exit or allocation costs only the check it happens in
        assert lost == set(words) | set(mistakes)


def test_gradescope_results_json(graded):
    out, _ = graded
    data = json.loads((out / "transposed" / "results.json").read_text())
    assert data["score"] == FULL - 2
    assert data["execution_time"] > 0
    first = data["tests"][0]
    assert set(first) >= {"name", "score", "max_score", "output", "visibility", "status"}
    assert first["name"] == "jacobian input" and first["score"] == 0 and first["max_score"] == 2
    assert first["status"] == "failed" and "likely mistake (transposed)" in first["output"]
    assert [t["visibility"] for t in data["tests"]][6] == "after_due_date"


def test_feedback_markdown(graded):
    out, _ = graded
    text = (out / "sign" / "feedback.md").read_text()
    assert "**Score: 7.5 / 9.5**" in text
    assert "## ✘ jacobian weight (0 / 2)" in text
    assert "## ✔ jacobian input (2 / 2)" in text
    assert "Likely mistake (sign)" in text


def test_summary_csv(graded):
    out, _ = graded
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [row["student"] for row in rows] == sorted(EXPECTED)
    by_name = {row["student"]: row for row in rows}
    assert by_name["endless_loop"]["batch"] == "0" and by_name["endless_loop"]["scale"] == "1"
    assert float(by_name["correct"]["score"]) == FULL and float(by_name["correct"]["max_score"]) == FULL
    assert float(by_name["crash"]["run_time_s"]) > 0


def test_gradescope_mode_grades_one_folder(tmp_path):
    results = tmp_path / "results"
    result = grade.grade_gradescope(SPEC, SUBMISSIONS / "folder_student", results)
    assert result.score == FULL
    assert json.loads((results / "results.json").read_text())["score"] == FULL


def test_missing_submission_file(tmp_path):
    student = tmp_path / "empty_student"
    student.mkdir()
    (student / "a.py").write_text("")
    (student / "b.py").write_text("")
    result = grade.grade_submission(load_spec(SPEC), student)
    assert result.score == 0
    assert "no mylinear.py in the submission" in result.checks[0].output


@pytest.mark.parametrize(("text", "message"), [
    ('name = "x"\nsubmission = "a.py"\nreference = "nowhere.py"\n', "is not beside the spec"),
    ('name = "x"\nsubmission = "a.py"\nreference = "ref.py"\n[implement]\nclass = "A"\n', "no [[check]] entries"),
    ('name = "x"\nsubmission = "a.py"\nreference = "ref.py"\n[implement]\nclass = "A"\n[[check]]\nkind = "speed"\n',
     "kind 'speed' is not one of"),
    ('name = "x"\nsubmission = "a.py"\nreference = "ref.py"\n[implement]\nclass = "A"\n[[check]]\nkind = "batch"\n'
     'wrt = "input"\n', "unknown field(s) wrt"),
    ('name = "x"\nsubmission = "a.py"\nreference = "ref.py"\n[implement]\n', "exactly one of class"),
    ("name = [", "not valid TOML"),
])
def test_bad_specs_are_refused_with_the_reason(tmp_path, text, message):
    assert issubclass(SpecError, InputError)
    (tmp_path / "ref.py").write_text("")
    path = tmp_path / "assignment.toml"
    path.write_text(text)
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        load_spec(path)


@pytest.mark.parametrize("executor", ["processes", "none"])
def test_an_executor_shares_the_submissions_out_with_the_same_scores(tmp_path, executor):
    folder = tmp_path / "class"
    folder.mkdir()
    for student in ("correct", "sign", "assigned"):
        (folder / f"{student}.py").write_bytes((SUBMISSIONS / f"{student}.py").read_bytes())
    results = grade.grade(SPEC, folder, tmp_path / "out", jobs=2, executor=executor)
    assert {r.student: r.score for r in results} == {s: EXPECTED[s][0] for s in ("correct", "sign", "assigned")}
    assert (tmp_path / "out" / "summary.csv").exists()


def test_the_command_takes_an_executor(tmp_path, capsys):
    from ember.cli import main

    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "correct.py").write_bytes((SUBMISSIONS / "correct.py").read_bytes())
    assert main(["grade", str(SPEC), str(folder), "--out", str(tmp_path / "out"), "--executor", "none"]) == 0
    assert "correct" in capsys.readouterr().out
    assert main(["grade", str(SPEC), str(folder), "--executor", "threads"]) == 2
