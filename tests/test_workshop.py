"""The learner's track: every exercise's check fails on the untouched app and passes once its reference
solution (workshop/solutions/STEP.patch) is applied to a fresh copy; what a learner sees is one sentence."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab import localdb
from workshop import report
from workshop.checks import CHECKS
from workshop.runner import run_check
from workshop.steps import BY_NAME, STEPS, UnknownStep

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "workshop" / "solutions"


@pytest.fixture(scope="module")
def mongo_base(tmp_path_factory):
    """One SecantusDB for all the checks of this module (each check uses a database of its own)."""
    with localdb.running(tmp_path_factory.mktemp("workshop") / "data") as server:
        yield server.base_uri + "/"


def learner_copy(directory):
    """The files of this working tree (tracked and new, not ignored), as a learner's checkout would have them."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard", "-z"],
                            capture_output=True, text=True, check=True).stdout
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, directory / name)
    return directory


def apply_solution(tree, step_name):
    done = subprocess.run(["git", "apply", str(SOLUTIONS / f"{step_name}.patch")], cwd=tree,
                          capture_output=True, text=True)
    assert done.returncode == 0, f"{step_name}.patch does not apply to this checkout: {done.stderr}"


def assert_one_sentence(said):
    assert "\n" not in said and "Traceback" not in said and said.endswith("."), said


def test_every_step_has_a_check_and_a_solution():
    assert list(CHECKS) == [step.name for step in STEPS]
    assert sorted(path.stem for path in SOLUTIONS.glob("*.patch")) == sorted(CHECKS)


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.name)
def test_the_check_fails_on_the_untouched_app_and_passes_with_the_solution(step, tmp_path, mongo_base):
    tree = learner_copy(tmp_path)
    before = run_check(tree, step, mongo_base)
    assert not before.passed and before.said.startswith("not yet: "), before.said
    assert_one_sentence(before.said)
    apply_solution(tree, step.name)
    after = run_check(tree, step, mongo_base)
    assert after.passed, after.said
    assert after.said.startswith("done: ")


def line_of(path, text):
    return path.read_text().splitlines().index(text) + 1


def test_a_mistake_in_the_learners_code_is_a_sentence_naming_file_and_line(tmp_path, mongo_base):
    tree = learner_copy(tmp_path)
    news = tree / "app" / "news.py"
    news.write_text(news.read_text().replace(
        '@bp.route("/search")', '@bp.route("/about")\ndef about(:\n    return render_template(about_page)\n\n\n@bp.route("/search")'))
    said = run_check(tree, BY_NAME["routes"], mongo_base).said
    assert said == (f"not yet: Your code does not load: invalid syntax (app/news.py, line {line_of(news, 'def about(:')}). "
                    "Fix that line, then run the check again."), said

    news.write_text(news.read_text().replace("def about(:", "def about():"))
    said = run_check(tree, BY_NAME["routes"], mongo_base).said
    line = line_of(news, "    return render_template(about_page)")
    assert said == (f"not yet: Your app raised NameError: name 'about_page' is not defined (app/news.py, line {line}). "
                    "Fix that, then run the check again."), said


def test_the_track_lists_every_step_and_counts_what_is_done(tmp_path, mongo_base, monkeypatch):
    tree = learner_copy(tmp_path)
    for step_name in ("prototype", "search"):
        apply_solution(tree, step_name)
    monkeypatch.setenv("WORKSHOP_MONGO_URL", mongo_base)
    lines = []
    assert report.run(tree, say=lines.append) is True
    assert lines[0].startswith("workshop: the track is in docs/workshop/")
    states = {line.split()[1]: line.split()[2] for line in lines[1:-1]}
    assert states == {step.name: "done" if step.name in ("prototype", "search") else "not" for step in STEPS}
    assert lines[-1].startswith("workshop: 2 of 10 exercises done")


def test_inv_workshop_step_says_what_is_missing_and_fails(tmp_path, mongo_base):
    tree = learner_copy(tmp_path)
    env_command = [sys.executable, "-m", "invoke", "workshop", "--step"]
    done = subprocess.run(env_command + ["routes"], cwd=tree, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "workshop routes: Flask routes and the request cycle (docs/workshop/03-routes.md)",
        "not yet: /about answers 404 Not Found: there is no route for it yet."]
    apply_solution(tree, "routes")
    done = subprocess.run(env_command + ["routes"], cwd=tree, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.splitlines()[-1].startswith("done: /about is a page")
    wrong = subprocess.run(env_command + ["rutes"], cwd=tree, capture_output=True, text=True)
    assert wrong.returncode == 2 and wrong.stderr.startswith("workshop: there is no step 'rutes'; the steps are: prototype,")
    with pytest.raises(UnknownStep):
        report.run(tree, "rutes")


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.name)
def test_every_step_has_its_page_with_what_to_read_an_exercise_and_done(step):
    page = (REPO / step.page).read_text()
    assert [line for line in page.splitlines() if line.startswith("## ")] == ["## Read", "## Exercise", "## Done"]
    assert page.startswith(f"# {STEPS.index(step) + 1}. ")
    assert f"./inv workshop --step {step.name}` says `done`" in page
    named = set(re.findall(r"`((?:app|tests|workshop)/[\w./-]+|fabfile\.py)`", page))
    assert named, "the page names no file to read"
    for path in named:
        assert (REPO / path).exists(), f"{step.page} names {path}, which does not exist"
    index = (REPO / "docs/workshop/README.md").read_text()
    assert f"]({Path(step.page).name})" in index and f"`./inv workshop --step {step.name}`" in index
