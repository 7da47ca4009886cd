"""A team's tasks on a provisioned class: deploy, a broken release that rolls back by itself, a deploy while a
worker is starting, rollback and setup_virtualenv under load, changed requirements, restart, and supervisor
bringing a killed uwsgi back. Everything runs as the team's own UNIX user with the team's key (deploy/team.py, what
`fab deploy` etc. call), and is checked as a visitor would: GET /healthz through nginx. The team is left deployed and
healthy.
"""
import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from deploy.core import commands, wheels
from deploy.core.errors import RemoteError
from deploy.core.layout import TeamPaths
from deploy.team import tasks as team_tasks
from lab import load

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
TEAM = "hacknode2"
PATHS = TeamPaths(TEAM)
WHEEL_CACHE = str(REPO / ".cache" / "wheels")
# rsync's ssh: test hosts make new host keys at each start; keep them out of the user's known_hosts.
SSH_OPTIONS = ("-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR")


def copy_of_repo(directory):
    """The repo's working tree as a team member has it (what rsync would ship), to modify."""
    shutil.copytree(REPO, directory, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".cache", ".hacknode", "test-artifacts", "__pycache__", ".pytest_cache"))
    return directory


def healthz(cls):
    status, body = cls.http(TEAM, "/healthz")
    try:
        return status, json.loads(body)
    except ValueError:
        return status, {}


def wait_for_release(cls, release_id, seconds=30):
    deadline = time.monotonic() + seconds
    while True:
        try:
            answer = healthz(cls)
        except OSError as error:
            answer = (None, str(error))
        if answer[0] == 200 and answer[1].get("release") == release_id:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{TEAM} did not serve release {release_id} within {seconds}s (last: {answer})")
        time.sleep(0.5)


def uwsgi_master_pid(root, seconds=30):
    """The pid supervisor reports once the team's program is RUNNING."""
    deadline = time.monotonic() + seconds
    while True:
        out = root.run(f"supervisorctl status {TEAM}", hide=True, warn=True).stdout
        if "RUNNING" in out:
            return int(out.split("pid ")[1].split(",")[0])
        if time.monotonic() > deadline:
            pytest.fail(f"supervisor did not report {TEAM} RUNNING within {seconds}s: {out}")
        time.sleep(0.5)


@pytest.fixture(scope="class")
def team(provisioned_class):
    """(class, team, connection as the team) for TEAM."""
    team = next(t for t in provisioned_class.inventory.teams if t.name == TEAM)
    with provisioned_class.as_team(TEAM) as c:
        yield provisioned_class, team, c


def deploy(team, source):
    cls, chosen, c = team
    return team_tasks.deploy_release(c, chosen, cls.inventory, source, cache_dir=WHEEL_CACHE, ssh_options=SSH_OPTIONS)


def under_load(cls, connections=50):
    """wrk on the team's front page through nginx (the test host's own address) while the block runs."""
    return load.load_during(f"http://{cls.host_of(TEAM).address}/", f"{TEAM}.hacknode.test", connections)


def assert_nothing_failed(running):
    result = running.result
    assert result.requests > 0 and result.failed == 0, (
        f"{result.failed} of {result.requests} requests failed under load ({result.non_2xx} non-2xx, "
        f"{result.socket_errors} socket errors)")


def releases(c):
    return c.run(f"ls {PATHS.releases}", hide=True).stdout.split()


class TestTeamTasks:
    def test_deploy_serves_the_new_release_through_nginx(self, team, capsys):
        cls, chosen, c = team
        started = time.monotonic()
        first = deploy(team, REPO)
        took = time.monotonic() - started
        wait_for_release(cls, first)
        out = capsys.readouterr().out
        assert f"[{TEAM}@{cls.host_of(TEAM).address}] deploy {REPO}" in out and "graceful reload" in out
        assert c.run(f"readlink {PATHS.current}", hide=True).stdout.strip() == f"releases/{first}"
        assert c.run(f"stat -c %U {PATHS.releases}/{first}/app/wsgi.py", hide=True).stdout.strip() == TEAM
        shipped = c.run(f"ls -a {PATHS.releases}/{first}", hide=True).stdout.split()
        assert "app" in shipped and ".git" not in shipped and ".venv" not in shipped and ".hacknode" not in shipped
        # the static files come from the new release
        assert cls.http(TEAM, "/static/vendor/bootstrap/bootstrap.min.css")[0] == 200
        started = time.monotonic()
        second = deploy(team, REPO)
        wait_for_release(cls, second)
        with capsys.disabled():
            print(f"\ndeploy of the repo, requirements unchanged: {took:.1f}s, then {time.monotonic() - started:.1f}s")

    def test_broken_release_rolls_back_by_itself_and_old_one_keeps_serving(self, team, tmp_path, capsys):
        cls, chosen, c = team
        serving = healthz(cls)[1]["release"]
        broken = copy_of_repo(tmp_path / "broken")
        (broken / "app" / "wsgi.py").write_text("import no_such_module_in_this_release\n")
        with pytest.raises(RemoteError) as failure:
            deploy(team, broken)
        assert "failed" in str(failure.value)
        captured = capsys.readouterr()
        assert "did not answer" in captured.err
        assert "no_such_module_in_this_release" in captured.err      # the log tail says why
        assert "switching back" in captured.out and f"release {serving} is serving again" in captured.out
        wait_for_release(cls, serving)
        listing = c.run(commands.release(PATHS, "list").line(), hide=True).stdout
        assert "(failed its health check)" in listing and f"* {serving}" in listing

    def test_deploy_reaches_a_worker_that_was_starting_when_the_reload_began(self, team, tmp_path, capsys):
        # uwsgi (lazy-apps) misses a reload in a worker still importing the app: it served the old release until
        # its 60 s mercy, and the deploy rolled back. A release whose import takes 3 s makes that moment last.
        cls, chosen, c = team
        slow = copy_of_repo(tmp_path / "slow")
        wsgi = slow / "app" / "wsgi.py"
        wsgi.write_text("import time\n\ntime.sleep(3)   # a slow import\n" + wsgi.read_text())
        deploy(team, slow)
        with cls.as_root(TEAM) as root:
            root.run(f"supervisorctl restart {TEAM}", hide=True)     # no worker now: the next request starts one
        waking = threading.Thread(target=cls.http, args=(TEAM, "/healthz"))
        waking.start()
        time.sleep(1)                   # its worker is importing the slow release
        started = time.monotonic()
        fast = deploy(team, REPO)       # raised (rolled back after 20 s) before release.sh told that worker itself
        took = time.monotonic() - started
        waking.join()
        wait_for_release(cls, fast)
        assert "missed it: told it directly" in capsys.readouterr().out
        with capsys.disabled():
            print(f"\ndeploy while the only worker was starting: {took:.1f}s")

    def test_rollback_and_setup_virtualenv_drop_no_request_under_load_then_deploy_goes_forward(self, team, tmp_path,
                                                                                                 capsys):
        cls, chosen, c = team
        good = [r for r in releases(c) if not c.run(f"test -e {PATHS.releases}/{r}/.hacknode-failed",
                                                     hide=True, warn=True).ok]
        source = copy_of_repo(tmp_path / "env")
        with open(source / "requirements.txt", "a") as f:
            f.write("# the same packages, a virtualenv of its own: fab setup_virtualenv builds it under load\n")
        new_env = wheels.requirements_hash(source / "requirements.txt")
        with under_load(cls) as running:
            team_tasks.rollback(c, chosen, cls.inventory)
            wait_for_release(cls, good[-2])
            team_tasks.setup_virtualenv(c, TEAM, source, cache_dir=WHEEL_CACHE, ssh_options=SSH_OPTIONS)
        assert "graceful reload" in capsys.readouterr().out
        assert c.run(f"{PATHS.envs}/{new_env}/bin/python -c 'import flask, pymongo'", hide=True, warn=True).ok
        assert_nothing_failed(running)
        forward = deploy(team, REPO)
        wait_for_release(cls, forward)

    def test_changed_requirements_get_their_own_virtualenv_before_the_switch(self, team, tmp_path, capsys):
        cls, chosen, c = team
        source = copy_of_repo(tmp_path / "more")
        with open(source / "requirements.txt", "a") as f:
            f.write("blinker==1.9.0\n")      # already a dependency of Flask: a new hash, the same wheels
        new_env = wheels.requirements_hash(source / "requirements.txt")
        started = time.monotonic()
        rid = deploy(team, source)
        took = time.monotonic() - started
        wait_for_release(cls, rid)
        out = capsys.readouterr().out
        assert f"virtualenv envs/{new_env}: building" in out and "shipping" in out
        assert c.run(f"readlink {PATHS.current}/rapid-env", hide=True).stdout.strip() == f"../../envs/{new_env}"
        back = deploy(team, REPO)        # the repo's requirements again: its virtualenv is still there
        wait_for_release(cls, back)
        assert "building" not in capsys.readouterr().out
        with capsys.disabled():
            print(f"\ndeploy with changed requirements (wheels shipped, virtualenv built): {took:.1f}s")

    def test_restart_reloads_gracefully_and_drops_no_request_under_load(self, team, capsys):
        cls, chosen, c = team
        serving = healthz(cls)[1]["release"]
        with cls.as_root(TEAM) as root:
            before = uwsgi_master_pid(root)
            with under_load(cls) as running:
                time.sleep(1)
                team_tasks.restart(c, chosen, cls.inventory)
                time.sleep(1)
            assert uwsgi_master_pid(root) == before      # reloaded in place, never stopped
        out = capsys.readouterr().out
        assert "graceful reload" in out and f"200, release {serving}: ok" in out
        assert f"tail -c 800 {PATHS.uwsgi_log}" in out         # then the log, as in the workshop, read by the team
        assert_nothing_failed(running)

    def test_hard_restart_stops_and_starts_uwsgi_and_says_requests_fail(self, team, capsys):
        cls, chosen, c = team
        serving = healthz(cls)[1]["release"]
        with cls.as_root(TEAM) as root:
            before = uwsgi_master_pid(root)
            team_tasks.restart(c, chosen, cls.inventory, hard=True)
            out = capsys.readouterr().out
            assert "answers errors (502)" in out
            # through the master's fifo, as the team (no sudo): supervisor starts a new master
            assert f"uwsgi: stop (Q on {PATHS.master_fifo}, master pid {before})" in out
            assert "uwsgi: started, master pid" in out and f"200, release {serving}: ok" in out
            # the log's last 800 bytes, as in the workshop, read by the team: the new uwsgi's start, or the
            # requests after it (the health checks, the class page's probes) when they pushed it out
            assert f"tail -c 800 {PATHS.uwsgi_log}" in out
            assert "uwsgi socket 0 bound to UNIX address" in out or "GET /healthz => generated" in out
            assert uwsgi_master_pid(root) != before
        wait_for_release(cls, serving)

    def test_killed_uwsgi_is_brought_back_by_supervisor(self, team):
        cls, chosen, c = team
        serving = healthz(cls)[1]["release"]
        with cls.as_root(TEAM) as root:
            killed = uwsgi_master_pid(root)
            root.run(f"kill -9 {killed}", hide=True)
            time.sleep(1)
            assert uwsgi_master_pid(root) != killed
        wait_for_release(cls, serving)

    def test_small_tasks_answer_as_the_team(self, team, capsys):
        cls, chosen, c = team
        team_tasks.list_deploys(c, chosen.name)
        team_tasks.logs(c, chosen.name, lines=5)
        team_tasks.list_home(c)
        team_tasks.print_my_id(c)
        out = capsys.readouterr().out
        serving = healthz(cls)[1]["release"]
        assert f"* {serving}" in out
        assert "uid=" in out and f"({TEAM})" in out
        assert f"tail -n 5 {PATHS.uwsgi_log}" in out
        assert len(releases(c)) <= 5 + 2      # pruned: the newest 5, plus current and the one before it
