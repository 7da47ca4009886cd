"""Upgrading hacknode under a live class: a small class provisioned by the previous release (a clone of this
repository checked out at it), then `fab provision` with this tree while every team is under load: no request fails,
no article is lost, and `fab status` shows the version that provisioned the server."""
import json
import re
import subprocess
import sys
import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest

from deploy import __version__
from deploy.inventory import load_inventory
from lab import load

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
FAB = str(Path(sys.executable).parent / "fab")      # this checkout's .venv runs the old tree's fabfile too
# the release before this one: its tag where the clone has tags (CI's may have none), else its commit
PREVIOUS_TAG, PREVIOUS_COMMIT = "v0.21.0", "14f4b473c25836c78d5d7b5f0ea0470f3d226b22"
TEAMS = ("hacknode1", "hacknode2")
LOAD_CONNECTIONS = 5          # per team


def git(*args, cwd=REPO):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def previous_release(directory):
    """A clone of this repository checked out at the previous release, sharing this tree's wheel cache (the same
    pinned wheels: nothing downloaded twice)."""
    tagged = git("rev-parse", "-q", "--verify", f"refs/tags/{PREVIOUS_TAG}^{{commit}}").stdout.strip()
    assert tagged in ("", PREVIOUS_COMMIT), f"tag {PREVIOUS_TAG} is {tagged}, not the previous release"
    clone = directory / "previous"
    made = git("clone", "--quiet", "--no-checkout", str(REPO), str(clone))
    assert made.returncode == 0, made.stderr
    checkout = git("checkout", "--quiet", "--detach", PREVIOUS_COMMIT, cwd=clone)
    assert checkout.returncode == 0, f"the previous release {PREVIOUS_COMMIT} is not in this clone: {checkout.stderr}"
    (REPO / ".cache" / "wheels").mkdir(parents=True, exist_ok=True)
    (clone / ".cache").mkdir()
    (clone / ".cache" / "wheels").symlink_to(REPO / ".cache" / "wheels")
    return clone


def fab(cls, *args, cwd=REPO):
    done = subprocess.run([FAB, *args, "--inventory", cls.path, "--key", cls.root_key], cwd=cwd, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def add_article(cls, team):
    link = f"https://example.org/{uuid.uuid4().hex}"
    status, body = cls.http(team, "/submit.json", data=json.dumps({"title": "Kept", "link": link}).encode(),
                            headers={"Content-Type": "application/json"})
    assert status == 201, body
    return link


def front_page_links(cls, team):
    status, body = cls.http(team, "/frontpage.json")
    assert status == 200, body
    return [article["link"] for article in json.loads(body)["articles"]]


def provision_under_load(cls, inventory=None, none_fail=True):
    """(each team's load result, the printed lines, the steps) of a provision while wrk loads every team (120 s at
    most); with none_fail, fails on any failed request."""
    with ExitStack() as stack:
        # a new connection per request: an nginx reload (its configs changed) closes idle keep-alive connections, and
        # a request sent on one as it closes is the client's to send again (browsers do); wrk counts it an error
        running = {team: stack.enter_context(load.load_during(
            f"http://{cls.host_of(team).address}/", f"{team}.hacknode.test", LOAD_CONNECTIONS, 120, close=True))
                   for team in TEAMS}
        lines, steps = cls.provision(inventory)
    results = {team: r.result for team, r in running.items()}
    for team, result in results.items():
        assert result.requests > 0, (team, result, lines)
        assert not none_fail or (result.non_2xx == 0 and result.socket_errors == 0), (team, result, lines)
    return results, lines, steps


def say_results(capsys, what, results):
    with capsys.disabled():
        print(f"\n{what} under load: " + "; ".join(
            f"{team} {r.requests} requests, {r.non_2xx} non-2xx/3xx, {r.socket_errors} socket errors"
            for team, r in results.items()))


@pytest.fixture(scope="module")
def old_class(host_factory, tmp_path_factory, make_class):
    directory = tmp_path_factory.mktemp("upgrade")
    cls = make_class(directory, {"main": host_factory("upgrade")}, {team: "main" for team in TEAMS})
    fab(cls, "provision", cwd=previous_release(directory))
    return cls


def test_an_upgrade_under_load_fails_no_request_keeps_the_data_and_records_the_version(old_class, capsys):
    cls = old_class
    before = subprocess.run([FAB, "status", "--inventory", cls.path, "--key", cls.root_key], cwd=REPO,
                            capture_output=True, text=True, timeout=120)     # this hacknode's collector is not there yet
    assert before.returncode == 1 and "Traceback" not in before.stderr
    assert "an older hacknode provisioned this server; run fab provision" in before.stderr, before.stderr
    links = {team: add_article(cls, team) for team in TEAMS}
    dry = fab(cls, "provision", "--dry")
    assert re.search(rf"version +would change +\(hacknode unrecorded \(before 0.22.0\) -> {re.escape(__version__)}\)",
                     dry), dry
    results, lines, steps = provision_under_load(cls)
    assert ("main", "version") in [(s.scope, s.name) for s in steps["main"] if s.changed]
    status = json.loads(fab(cls, "status", "--json"))
    assert status["servers"][0]["hacknode_version"] == __version__
    assert f"main: provisioned by hacknode {__version__}" in fab(cls, "status")
    for team in TEAMS:
        assert links[team] in front_page_links(cls, team)
    _, again = cls.provision()
    assert not [s for s in again["main"] if s.changed]                 # the record is ok once written
    say_results(capsys, f"upgrade {PREVIOUS_TAG} -> {__version__}", results)


def test_a_change_only_a_restart_applies_is_said_in_the_plan_and_applied_team_by_team(old_class, capsys):
    """A team's supervisor program changed (here its open files limit, in its command): the plan says RESTART, and
    each team's program is restarted while a stand-in serves its socket, one team after the other, its site checked.
    Not asserted: 0 failed requests. Since uwsgi's stats socket (the class page's collector), a new uwsgi's socket is
    0750 (supervisor's umask 027) until its chmod-socket 660, after its Python starts: nginx's connects meanwhile get
    EACCES (502), a few dozen a restart under load (they were 0 of some 13,000 before it)."""
    cls = old_class
    raised = load_inventory(cls.write_inventory(cls.teams, "raised.yml", {t: ["open_files: 2048"] for t in TEAMS}))
    results, lines, steps = provision_under_load(cls, raised, none_fail=False)
    services = next(s for s in steps["main"] if s.name == "services")
    assert services.why.startswith("RESTART, team by team") and services.why.endswith(" ".join(TEAMS))
    with cls.as_root("main") as root:
        for team in TEAMS:      # its new program runs, and no stand-in is left: one uwsgi master, supervisor's
            pid = root.run(f"supervisorctl pid {team}", hide=True).stdout.strip()
            processes = [line.split(None, 2) for line in root.run(f"ps -u {team} -o pid=,ppid=,args=",
                                                                  hide=True).stdout.splitlines()]
            pids = {p for p, _, _ in processes}
            assert [p for p, parent, args in processes if "--ini" in args and parent not in pids] == [pid], processes
            assert root.run(f"grep 'Max open files' /proc/{pid}/limits", hide=True).stdout.split()[3:5] == \
                ["2048", "2048"]
    for team in TEAMS:
        assert cls.http(team, "/healthz")[0] == 200
    say_results(capsys, "a restart of every team", results)
