"""The term's end on a class of its own (two teams; the archive removes it): `fab freeze` refuses a deploy, a git push,
a rollback and a config change while the site answers 200, and the team's own ways around it; `fab freeze --undo`
lifts it. `fab archive` interrupted and run again resumes, removes nothing before its archive is here and checked,
then removes the class; the archive's checksums are checked again here as an instructor would (sha256sum -c).
Run in this order (the archive removes the class)."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from deploy.core import commands, layout, runner
from deploy.core.errors import RemoteError
from deploy.core.layout import TeamPaths
from deploy.team import config as team_config, git as team_git, tasks as team_tasks
from tests.e2e.faults import submit_marked
from tests.e2e.test_team_tasks import REPO, SSH_OPTIONS, WHEEL_CACHE

pytestmark = pytest.mark.e2e
FAB = str(Path(sys.executable).parent / "fab")
FROZEN, OTHER = "term1", "term2"
TERM_DIR = "/var/backups/hacknode-term"


@pytest.fixture(scope="module")
def term_class(host_factory, tmp_path_factory, make_class):
    made = make_class(tmp_path_factory.mktemp("term"), {"main": host_factory("term")}, {FROZEN: "main", OTHER: "main"})
    made.provision()
    submit_marked(made, FROZEN, "submitted", 2)
    return made


def fab(made, *args, timeout=600):
    return subprocess.run([FAB, *args, "--inventory", made.path, "--key", made.root_key], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, "HACKNODE_ADMIN_KEY": ""})


def live_release(made, team):
    status, body = made.http(team, "/healthz")
    assert status == 200, body[:300]
    return json.loads(body)["release"]


def as_team(made, team, command):
    with made.as_team(team) as c:
        return c.run(command, hide=True, warn=True)


class Watcher(threading.Thread):
    """GETs the team's /healthz through nginx until stopped: every status it saw."""

    def __init__(self, made, team):
        super().__init__(daemon=True)
        self.made, self.team, self.seen, self.stopping = made, team, [], threading.Event()

    def run(self):
        while not self.stopping.is_set():
            self.seen.append(self.made.http(self.team, "/healthz")[0])
            time.sleep(0.2)

    def stop(self):
        self.stopping.set()
        self.join()
        return self.seen


def git(repo, *args, env=None):
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env)


def a_clone_with_the_remote(made, c, chosen, directory):
    clone = directory / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    for args in (["checkout", "-q", "-B", "main"], ["config", "user.email", "ada@example.org"],
                 ["config", "user.name", "Ada"], ["commit", "-q", "--allow-empty", "-m", "after the deadline"]):
        git(clone, *args)
    team_git.git_remote(c, chosen, made.inventory, clone, key=made.key[FROZEN])
    env = {**os.environ, "GIT_SSH_COMMAND": f"ssh -i {made.key[FROZEN]} -o IdentitiesOnly=yes -o LogLevel=ERROR "
                                            "-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no"}
    return clone, env


def test_a_freeze_refuses_deploy_push_rollback_and_config_the_site_answering_and_the_team_cannot_lift_it(
        term_class, tmp_path):
    made = term_class
    submitted = live_release(made, FROZEN)
    chosen = next(t for t in made.inventory.teams if t.name == FROZEN)
    with made.as_team(FROZEN) as c:
        clone, env = a_clone_with_the_remote(made, c, chosen, tmp_path)
    frozen = fab(made, "freeze", "--team", FROZEN)
    assert frozen.returncode == 0, frozen.stderr
    assert f"main: frozen {FROZEN}: deadline " in frozen.stdout
    assert f"main: submitted {FROZEN}: {submitted} at " in frozen.stdout, frozen.stdout
    watcher = Watcher(made, FROZEN)
    watcher.start()
    with made.as_team(FROZEN) as c:
        attempts = {
            "deploy": lambda: team_tasks.deploy_release(c, chosen, made.inventory, REPO, cache_dir=WHEEL_CACHE,
                                                        ssh_options=SSH_OPTIONS),
            "rollback": lambda: team_tasks.rollback(c, chosen, made.inventory),
            "config": lambda: team_config.change_settings(c, chosen, made.inventory, ["GREETING=late"]),
        }
        for what, attempt in attempts.items():
            with pytest.raises(RemoteError, match="deadline") as refused:
                attempt()
            assert "frozen" in str(refused.value), (what, refused.value)
        pushed = git(clone, "push", "hacknode", "main", env=env)
        assert pushed.returncode != 0 and "deadline" in pushed.stderr, pushed.stderr
        # release.sh's pieces run directly, as a team that reads the program could
        piece = commands.release(TeamPaths(FROZEN), "activate", submitted, f"{FROZEN}.hacknode.test")
        assert "frozen" in runner.run(c, piece, check=False).stderr
        # ... and as a team that ran its own copy without the check: the releases folder is root's now
        unchecked = replace(commands.release(TeamPaths(FROZEN), "facts", "0" * 12, "20991231T000000Z"),
                            script=piece.script.replace(f"freeze_dir={layout.FREEZE_DIR}", "freeze_dir=/nowhere"))
        assert unchecked.script != piece.script
        assert runner.run(c, unchecked, check=False).exited != 0
    # the team's own hands: the mark is root's, and so are its releases folder and its live release
    for attack in (f"rm -f /etc/hacknode/freeze/{FROZEN}", f"echo 'deadline=9 later' > /etc/hacknode/freeze/{FROZEN}",
                   f"mv releases/{submitted} releases/moved", "mkdir releases/20991231T000000Z",
                   f"echo 'raise SystemExit' >> releases/{submitted}/app/wsgi.py"):
        tried = as_team(made, FROZEN, f"cd ~ && {attack}")
        assert tried.failed, f"{attack}: {tried.stdout}{tried.stderr}"
    # its home stays its own: `current` pointed elsewhere by hand is seen, the submission kept as it was
    assert as_team(made, FROZEN, "cd ~ && ln -sfn /tmp current").ok
    assert f"warning: {FROZEN}: its site no longer runs its submission {submitted}" in fab(made, "status").stdout
    assert as_team(made, FROZEN, f"cd ~ && ln -sfn releases/{submitted} current").ok
    seen = watcher.stop()
    assert set(seen) == {200} and len(seen) > 10, seen
    assert live_release(made, FROZEN) == submitted
    status = fab(made, "status")
    assert f"{FROZEN}: submission: release {submitted}, taken " in status.stdout and "; frozen since " in status.stdout
    assert f"{OTHER}: submission" not in status.stdout and "no longer runs" not in status.stdout

    undone = fab(made, "freeze", "--team", FROZEN, "--undo")
    assert undone.returncode == 0 and f"main: unfrozen {FROZEN}" in undone.stdout, undone.stderr
    with made.as_team(FROZEN) as c:
        team_config.change_settings(c, chosen, made.inventory, ["GREETING=after"])
    assert as_team(made, FROZEN, f"test -O ~/releases && test -O ~/releases/{submitted}/app/wsgi.py").ok
    assert "; lifted" in fab(made, "status").stdout


def server_run(made, command):
    with made.as_root("main") as c:
        return c.run(command, hide=True, warn=True)


def interrupted_archive(made, out):
    """`fab archive --yes` killed once the server has packed its first team, before it could remove anything."""
    started = subprocess.Popen([FAB, "archive", "--yes", "--out", str(out), "--inventory", made.path,
                                "--key", made.root_key], cwd=REPO, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    while server_run(made, f"ls {TERM_DIR}/*/MANIFEST").failed:
        assert started.poll() is None and time.monotonic() < deadline, started.communicate()[0]
        time.sleep(0.2)
    os.killpg(started.pid, signal.SIGKILL)
    return started.communicate()[0]


def checked_like_sha256sum(folder):
    """Every file the MANIFEST lists, with its sha256 (what `sha256sum -c MANIFEST` does)."""
    lines = (folder / "MANIFEST").read_text().splitlines()
    for line in lines:
        digest, name = line.split("  ", 1)
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, f"{folder}/{name}"
    return sorted(line.split("  ", 1)[1] for line in lines)


def test_archive_interrupted_resumes_then_removes_the_class_with_the_archive_checked_here(term_class, tmp_path):
    made = term_class
    out = tmp_path / "spring-archive"
    lives = {team: live_release(made, team) for team in (FROZEN, OTHER)}
    interrupted_archive(made, out)
    assert {team: made.http(team, "/healthz")[0] for team in lives} == {FROZEN: 200, OTHER: 200}   # nothing removed

    dry = fab(made, "archive", "--dry", "--out", str(out))
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "(kept)" in dry.stdout and "--dry: nothing was removed" in dry.stdout, dry.stdout
    for team, release in lives.items():
        assert f"{out / team}: release {release}, taken " in dry.stdout and "checksums verified" in dry.stdout
    assert {team: made.http(team, "/healthz")[0] for team in lives} == {FROZEN: 200, OTHER: 200}

    removed = fab(made, "archive", "--yes", "--out", str(out))
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert "main: class removed" in removed.stdout, removed.stdout
    assert server_run(made, f"ls -d /home/{FROZEN} /home/{OTHER} /etc/hacknode {TERM_DIR}").stdout == ""
    assert made.http(FROZEN, "/healthz")[0] != 200

    for team, release in lives.items():
        assert checked_like_sha256sum(out / team) == ["SUBMISSION", "code.tar.gz", "database.tar.gz", "logs.tar.gz"]
        record = (out / team / "SUBMISSION").read_text()
        assert f"release={release}\n" in record and "database=yes" in record
        with tarfile.open(out / team / "code.tar.gz") as code:
            assert f"{release}/app/wsgi.py" in code.getnames()
        with tarfile.open(out / team / "logs.tar.gz") as logs:
            assert f"{team}/uwsgi.log" in logs.getnames()
    assert "deadline=none" not in (out / FROZEN / "SUBMISSION").read_text()      # the freeze's, kept after its undo
    assert "deadline=none" in (out / OTHER / "SUBMISSION").read_text()           # taken from the live release
