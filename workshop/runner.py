"""Running the checks against a learner's working tree, each in a Python process of its own started
in that tree (so `import app` is the learner's app, freshly imported), with one local SecantusDB
shared by the checks that need a database."""
import contextlib
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from lab import localdb
from workshop.checks import OUTPUT_MARKER
from workshop.learner import MONGO_ENV
from workshop.steps import Step


@dataclass(frozen=True)
class Result:
    step: Step
    passed: bool
    said: str           # "done: ..." or "not yet: ..."


def run_check(tree, step, mongo_base="", timeout=120):
    env = {**os.environ, MONGO_ENV: mongo_base, "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = subprocess.run([sys.executable, "-m", "workshop.checks", step.name], cwd=tree, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Result(step, False, f"not yet: the check did not finish within {timeout} s: "
                                   "does a page of your app wait for something?")
    said = [line[len(OUTPUT_MARKER):] for line in done.stdout.splitlines() if line.startswith(OUTPUT_MARKER)]
    if not said:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Result(step, False, f"not yet: the check could not run in {tree}: {last}")
    return Result(step, done.returncode == 0 and said[-1].startswith("done: "), said[-1])


@contextlib.contextmanager
def database_for(steps):
    """The base URI of a database server for these steps' checks: $WORKSHOP_MONGO_URL when set, else a
    SecantusDB started here for the while (none when no step needs one)."""
    if os.environ.get(MONGO_ENV) or not any(step.needs_db for step in steps):
        yield os.environ.get(MONGO_ENV, "")
        return
    with tempfile.TemporaryDirectory(prefix="workshop-db-") as scratch:
        with localdb.running(os.path.join(scratch, "data")) as server:
            yield server.base_uri + "/"


def run_checks(tree, steps):
    with database_for(steps) as mongo_base:
        return [run_check(tree, step, mongo_base) for step in steps]
