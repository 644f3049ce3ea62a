"""Grading submissions: each student in their own processes, with a wall-clock and a memory limit.

:func:`grade_submission` copies one submission (a ``.py`` file or a folder) into a temporary working
directory and starts a worker (:mod:`ember.grade.worker`) there. The worker reports each check as it
starts and ends; when a check runs past its ``time_limit`` the worker's process group is killed, and
when the process dies (``os._exit``, a segfault, the kernel's OOM killer) the check it was running gets
zero. Either way a fresh worker (in a fresh copy) runs the remaining checks, so a hang, a crash, a
``sys.exit`` or a huge allocation costs the student that check only. :func:`grade_all` grades every
submission of a folder, ``jobs`` at a time.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ember.errors import InputError, MissingFileError
from ember.grade.spec import Spec

#: how often the runner looks at a worker's progress, in seconds.
POLL = 0.02
#: how much of a dead worker's stderr is shown to the student.
STDERR_TAIL = 1500


@dataclass
class CheckScore:
    """One check's result for one student (Gradescope's test entry)."""

    name: str
    score: float
    max_score: float
    output: str
    visibility: str
    diagnosis: str = ""


@dataclass
class StudentResult:
    """One student's grade: ``checks`` in spec order, the total ``score`` and the run time in seconds."""

    student: str
    checks: list[CheckScore] = field(default_factory=list)
    execution_time: float = 0.0
    note: str = ""

    @property
    def score(self) -> float:
        return sum(check.score for check in self.checks)

    @property
    def max_score(self) -> float:
        return sum(check.max_score for check in self.checks)


def student_name(path: Path) -> str:
    """The student's name: the file's stem for a ``.py`` file, the folder's name for a folder."""
    return path.stem if path.is_file() else path.name


def submissions_in(folder: str | Path) -> list[Path]:
    """The submissions of a class folder: every ``.py`` file and every sub-folder, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingFileError(errno.ENOENT, f"no such folder of submissions: {folder}", str(folder))
    found = sorted(p for p in folder.iterdir() if (p.is_dir() and not p.name.startswith(".")) or p.suffix == ".py")
    if not found:
        raise InputError(f"{folder} holds no submissions (.py files or one folder per student)")
    return found


def _copy(submission: Path, spec: Spec, into: Path) -> Path | str:
    """Copy the submission into ``into``; the path of the file to import, or why there is none."""
    if submission.is_file():
        shutil.copy2(submission, into / spec.submission)
        return into / spec.submission
    shutil.copytree(submission, into, dirs_exist_ok=True, symlinks=False)
    wanted = into / spec.submission
    if wanted.is_file():
        return wanted
    candidates = sorted(into.glob("*.py"))
    if len(candidates) == 1:
        return candidates[0]
    return f"no {spec.submission} in the submission (found: {', '.join(p.name for p in candidates) or 'no .py file'})"


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([package_root] + [p for p in [env.get("PYTHONPATH", "")] if p])
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"  # one thread: a worker's address-space limit then holds numpy's buffers
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["MPLBACKEND"] = "Agg"
    return env


class _Worker:
    """One worker process on a fresh copy of the submission, running ``checks``."""

    def __init__(self, spec: Spec, submission: Path, checks: list[int]) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="ember-grade-"))
        self.work = self.home / "work"
        self.work.mkdir()
        self.file = _copy(submission, spec, self.work)
        self.results = self.home / "results.jsonl"
        self.results.touch()
        self.offset = 0
        self.process: subprocess.Popen | None = None
        if isinstance(self.file, Path):
            request = {"spec": str(spec.path), "submission": str(self.file), "checks": checks,
                       "results": str(self.results), "memory_limit": spec.memory_limit}
            (self.home / "request.json").write_text(json.dumps(request))
            self.stderr = open(self.home / "stderr.txt", "w+b")  # noqa: SIM115 -- closed in close()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ember.grade.worker", str(self.home / "request.json")], cwd=self.work,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr, env=_environment(),
                start_new_session=True)

    def events(self) -> list[dict]:
        """The complete lines the worker wrote since the last call."""
        with open(self.results, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        return [json.loads(line) for line in data[:end].splitlines() if line.strip()]

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def death(self) -> str:
        """Why the worker stopped, with the tail of its stderr."""
        code = self.process.returncode
        how = f"killed by signal {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"
        self.stderr.flush()
        self.stderr.seek(0)
        tail = self.stderr.read().decode(errors="replace")[-STDERR_TAIL:].strip()
        return f"the process running your code {how}" + (f"; its last output:\n{tail}" if tail else "")

    def close(self) -> None:
        self.kill()
        if self.process is not None:
            self.stderr.close()
        shutil.rmtree(self.home, ignore_errors=True)


def grade_submission(spec: Spec, submission: str | Path) -> StudentResult:
    """Grade one submission (a ``.py`` file or a folder) against ``spec``."""
    submission = Path(submission)
    result = StudentResult(student_name(submission))
    outcomes: dict[int, CheckScore] = {}
    pending = list(range(len(spec.checks)))
    started = time.monotonic()
    while pending:
        worker = _Worker(spec, submission, pending)
        try:
            failure = _watch(spec, worker, pending, outcomes)
        finally:
            worker.close()
        if failure is not None:  # the submission cannot be imported: every remaining check gets zero
            for i in pending:
                outcomes[i] = _zero(spec, i, failure)
            result.note = failure
            break
        pending = [i for i in pending if i not in outcomes]
    result.checks = [outcomes[i] for i in range(len(spec.checks))]
    result.execution_time = time.monotonic() - started
    return result


def _zero(spec: Spec, i: int, output: str) -> CheckScore:
    check = spec.checks[i]
    return CheckScore(check.name, 0.0, check.points, output, check.visibility)


def _watch(spec: Spec, worker: _Worker, pending: list[int], outcomes: dict[int, CheckScore]) -> str | None:
    """Follow ``worker`` until it ends or is killed; record outcomes. Returns a reason when the submission
    cannot be imported at all (then no further worker is worth starting), else ``None``.
    """
    if not isinstance(worker.file, Path):
        return worker.file
    current, deadline, importing = None, time.monotonic() + spec.import_time_limit + 10.0, True
    while True:
        for event in worker.events():
            if event["event"] == "import":
                deadline = time.monotonic() + spec.import_time_limit
            elif event["event"] == "import_failed":
                return event["output"]
            elif event["event"] == "start":
                importing, current = False, event["check"]
                deadline = time.monotonic() + spec.checks[current].time_limit
            elif event["event"] == "result":
                i = event["check"]
                check = spec.checks[i]
                outcomes[i] = CheckScore(check.name, round(event["fraction"] * check.points, 6), check.points,
                                         event["output"], check.visibility, event.get("diagnosis", ""))
                current = None
        if worker.process.poll() is not None:
            worker.events()  # nothing more will come
            if all(i in outcomes for i in pending):
                return None
            if importing:
                return f"importing {spec.submission} failed: {worker.death()}"
            victim = current if current is not None else next(i for i in pending if i not in outcomes)
            outcomes[victim] = _zero(spec, victim, worker.death())
            return None
        if time.monotonic() > deadline:
            worker.kill()
            if importing:
                return f"importing {spec.submission} took longer than {spec.import_time_limit:g} s (an endless " \
                       "loop at the top level of the file?)"
            outcomes[current] = _zero(spec, current, f"stopped after the time limit of "
                                      f"{spec.checks[current].time_limit:g} s (an endless loop, or far too slow)")
            return None
        time.sleep(POLL)


def _grade_job(job: tuple[Spec, Path]) -> StudentResult:
    """:func:`grade_submission` on a ``(spec, submission)`` pair (module-level, as executors pickle it)."""
    return grade_submission(*job)


def grade_all(spec: Spec, submissions: list[Path], jobs: int = 1,
              executor: str | None = None) -> list[StudentResult]:
    """Grade every submission, ``jobs`` at a time; results in the order given.

    With ``executor=None`` this process supervises ``jobs`` submissions at once from threads (each
    submission's checks run in worker processes of their own anyway). With ``"processes"``, ``"mpi"`` or
    ``"none"``, the submissions are shared out by :func:`ember.distributed.parallel_map` on that executor
    with ``jobs`` workers: ``"mpi"`` grades a class across the nodes of a cluster.
    """
    if executor is not None:
        from ember.distributed import parallel_map

        return parallel_map(_grade_job, [(spec, path) for path in submissions], executor=executor, workers=jobs)
    if jobs <= 1:
        return [grade_submission(spec, path) for path in submissions]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda path: grade_submission(spec, path), submissions))
