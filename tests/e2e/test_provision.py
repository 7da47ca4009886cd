"""Provisioning on real isolated hosts: what an instructor runs and what the class then has."""
import json
import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from deploy.core.errors import ProvisionError
from deploy.inventory import load_inventory
from deploy.provision.run import provision_class

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
FAB = str(Path(sys.executable).parent / "fab")
TEAMS = ("hacknode1", "hacknode2", "hacknode3")


def changed(steps):
    return [(s.scope, s.name) for s in steps if s.changed]


def summary(lines, server):
    return next(line for line in lines if line.startswith(f"{server}: ") and "SSH round trips" in line)


def round_trips(lines, server):
    return int(re.search(r"(\d+) SSH round trips", summary(lines, server)).group(1))


def uwsgi_pid(c, team):
    return c.run(f"supervisorctl pid {team}", hide=True).stdout.strip()


def fab(*args, key):
    """Run fab from the repo as an instructor would; returns the finished process."""
    return subprocess.run([FAB, *args, "--key", key], cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HACKNODE_ADMIN_KEY": ""})


def test_first_run_sets_up_every_team_and_reports_each_step(provisioned_class):
    lines = provisioned_class.first_run_lines
    for team in TEAMS:
        for step in ("user", "directories", "database", "first release", "configs"):
            assert any(re.match(rf"main\s+{team}\s+{step}\s+changed", line) for line in lines), (team, step, lines)
    assert round_trips(lines, "main") == 3       # facts, one transfer, one script
    assert not [line for line in lines if "Use of uninitialized value" in line], lines   # pam-auth-update's own


def test_every_virtualenv_is_made_by_uv_and_teams_share_compiled_files_none_can_change(provisioned_class):
    with provisioned_class.as_root("main") as root:
        configs = root.run("cat /opt/hacknode/venv/pyvenv.cfg /home/hacknode1/envs/*/pyvenv.cfg", hide=True).stdout
        owners = root.run("stat -c '%U %a' /opt/hacknode/bin/uv", hide=True).stdout.split("\n")
        # the same file of two teams' first virtualenvs: one inode (a hard link to the server's cache), root's
        shared = root.run("stat -c '%i %U %a' /home/hacknode1/envs/*/lib/python3*/site-packages/flask/"
                          "__pycache__/app.cpython-3*.pyc /home/hacknode2/envs/*/lib/python3*/site-packages/flask/"
                          "__pycache__/app.cpython-3*.pyc", hide=True).stdout.split("\n")
    assert configs.count("uv = ") == 2, configs      # root's tools and hacknode1's app, both made by uv
    assert owners[0] == "root 755"                    # every team runs it, none can change it
    assert shared[0] == shared[1] and shared[0].endswith(" root 644"), shared     # compiled once, for all
    with provisioned_class.as_team("hacknode1") as c:
        tried = c.run("echo x >> $(ls ~/envs/*/lib/python3*/site-packages/flask/app.py)", hide=True, warn=True)
        where = c.run("readlink ~/envs/*", hide=True).stdout.split()
    assert tried.failed and "Permission denied" in tried.stderr
    assert where and all(w.startswith("/opt/hacknode/team-envs/hacknode1/") for w in where), where
    with provisioned_class.as_team("hacknode2") as c:       # another team's virtualenv: not even its list
        assert "Permission denied" in c.run("ls /opt/hacknode/team-envs/hacknode1", hide=True, warn=True).stderr


def test_second_run_changes_nothing_and_says_so(provisioned_class):
    lines, steps = provisioned_class.provision()
    assert changed(steps["main"]) == []
    # every step says ok, some with why: "start at boot  ok  (no systemd here)"
    assert all(re.search(r" ok(  \(.+\))?$", line) for line in lines if line.startswith("main ") and "SSH" not in line), lines
    assert lines[-1].endswith("nothing to change")
    assert round_trips(lines, "main") == 1


def test_a_stopped_nginx_and_a_teams_link_in_a_folders_place_are_put_right_by_the_next_run(provisioned_class):
    with provisioned_class.as_root("main") as root:
        root.run("service nginx stop", hide=True)
    # the team owns its home: a link to a folder of root's where its tmp was must not hand it that folder
    with provisioned_class.as_team("hacknode3") as c:
        c.run("rm -rf ~/tmp && ln -s /etc/hacknode ~/tmp", hide=True)
    assert provisioned_class.http("hacknode1", "/healthz")[0] is None
    lines, steps = provisioned_class.provision()
    assert changed(steps["main"]) == [("hacknode3", "directories"), ("main", "services")]
    assert any(re.match(r"main\s+services\s+changed", line) for line in lines)
    assert provisioned_class.http("hacknode1", "/healthz")[0] == 200
    with provisioned_class.as_root("main") as root:
        modes = root.run("stat -c '%F %U %a' /etc/hacknode /home/hacknode3/tmp", hide=True).stdout.splitlines()
    assert modes == ["directory root 755", "directory hacknode3 700"], modes


def test_every_site_answers_on_its_own_origin_and_not_under_the_servers(provisioned_class):
    for team in TEAMS:
        status, body = provisioned_class.http(team, "/healthz")
        assert status == 200, (team, body)
        assert json.loads(body)["status"] == "ok"
        status, page = provisioned_class.http(team, "/")
        assert status == 200 and 'href="/submit"' in page             # at the root of its own origin
        status, css = provisioned_class.http(team, "/static/vendor/bootstrap/bootstrap.min.css")
        assert status == 200 and "Bootstrap" in css[:500]
        assert provisioned_class.http(team, "/healthz", by="path")[0] == 404    # path routing is the class's choice
    status, index = provisioned_class.http("hacknode1", "/", by="server")
    assert status == 200 and all(f'href="http://{team}.hacknode.test/"' in index for team in TEAMS)


def test_an_article_lands_only_in_its_teams_database(provisioned_class):
    link = f"https://example.org/{uuid.uuid4().hex}"
    article = json.dumps({"title": "Only for team two", "link": link}).encode()
    status, body = provisioned_class.http("hacknode2", "/submit.json", data=article,
                                          headers={"Content-Type": "application/json"})
    assert status == 201, body
    links = {team: [a["link"] for a in json.loads(provisioned_class.http(team, "/frontpage.json")[1])["articles"]]
             for team in TEAMS}
    assert link in links["hacknode2"]
    assert link not in links["hacknode1"] and link not in links["hacknode3"]


# Run by team one's user with its own virtualenv: its own database works, team two's does not.
DB_PROBE = r"""
import pymongo
from pymongo.errors import OperationFailure
uri = dict(line.split("=", 1) for line in open("/home/hacknode1/.hacknode/mongo_uri").read().split())["FLASK_MONGO_URI"]
own = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
own.hacknode1.probe.insert_one({"ok": 1})
print("own database: ok")
try:
    own.hacknode2.articles.find_one()
    print("other database: READABLE")
except OperationFailure:
    print("other database: refused")
as_other = uri.replace(f"//hacknode1:", "//hacknode2:").replace("/hacknode1", "/hacknode2")
try:
    pymongo.MongoClient(as_other, serverSelectionTimeoutMS=5000).hacknode2.command("ping")
    print("other user: LOGGED IN")
except OperationFailure:
    print("other user: refused")
"""


def test_a_team_cannot_reach_another_teams_files_database_or_program(provisioned_class):
    with provisioned_class.as_team("hacknode1") as c:
        assert c.run("whoami", hide=True).stdout.strip() == "hacknode1"
        for path in ("/home/hacknode2/.hacknode/mongo_uri", "/home/hacknode2/current/app/__init__.py",
                     "/var/log/hacknode/hacknode2/uwsgi.log"):
            result = c.run(f"cat {path}", hide=True, warn=True)
            assert result.failed and "Permission denied" in result.stderr, path
        assert c.run("ls /home/hacknode2", hide=True, warn=True).failed
        # no sudo rule at all (tests/e2e/test_attacks_entry.py tries the attacks it allowed)
        for command in ("supervisorctl restart hacknode2", "supervisorctl status hacknode1", "id"):
            assert c.run(f"sudo -n {command}", hide=True, warn=True).failed, command
        probe = c.run(f"/home/hacknode1/current/rapid-env/bin/python -c {shlex.quote(DB_PROBE)}", hide=True).stdout
    assert probe.split("\n")[:3] == ["own database: ok", "other database: refused", "other user: refused"]
    with provisioned_class.as_root("main") as root:
        socket = root.run("stat -c '%U:%G %a' /home/hacknode1/run/uwsgi.sock", hide=True).stdout.strip()
        secrets = root.run("stat -c '%U:%G %a' /home/hacknode1/.hacknode/mongo_uri", hide=True).stdout.strip()
    assert socket == "hacknode1:www-data 660"
    assert secrets == "hacknode1:hacknode1 400"


def test_dry_run_on_a_changed_inventory_shows_the_diff_and_changes_nothing(provisioned_class):
    changed_inventory = load_inventory(provisioned_class.write_inventory(
        provisioned_class.teams, name="more-processes.yml", extra_team_lines={"hacknode3": ["processes: 3"]}))
    with provisioned_class.as_root("main") as root:
        before = root.run("cat /etc/hacknode/uwsgi/hacknode3.ini", hide=True).stdout
        pid = uwsgi_pid(root, "hacknode3")
        lines, steps = provisioned_class.provision(changed_inventory, dry=True)
        assert root.run("cat /etc/hacknode/uwsgi/hacknode3.ini", hide=True).stdout == before
        assert uwsgi_pid(root, "hacknode3") == pid
    assert changed(steps["main"]) == [("hacknode3", "configs"), ("main", "services")]
    assert any(re.match(r"main\s+hacknode3\s+configs\s+would change", line) for line in lines)
    assert "-processes = 1\n+processes = 3" in "\n".join(lines) or \
        "-processes = 2\n+processes = 3" in "\n".join(lines)
    assert any(line.strip().startswith("main: $ hn_install") and "hacknode3.ini" in line for line in lines)


def test_a_changed_uwsgi_setting_is_taken_in_a_graceful_reload(provisioned_class):
    # the instructor raises a team's processes: its uwsgi reads the new ini without a restart (no request dropped)
    changed_inventory = load_inventory(provisioned_class.write_inventory(
        provisioned_class.teams, name="more-processes.yml", extra_team_lines={"hacknode3": ["processes: 3"]}))
    respawns = "grep -c 'gracefully (RE)spawned uWSGI master' /var/log/hacknode/hacknode3/uwsgi.log || true"
    with provisioned_class.as_root("main") as root:
        pid, before = uwsgi_pid(root, "hacknode3"), int(root.run(respawns, hide=True).stdout)
        try:
            provisioned_class.provision(changed_inventory)
            assert uwsgi_pid(root, "hacknode3") == pid                     # the same master: not restarted
            assert "processes = 3" in root.run("cat /etc/hacknode/uwsgi/hacknode3.ini", hide=True).stdout
            deadline = time.monotonic() + 10
            while int(root.run(respawns, hide=True).stdout) == before and time.monotonic() < deadline:
                time.sleep(0.2)
            assert int(root.run(respawns, hide=True).stdout) > before      # it re-executed with the new ini
            assert provisioned_class.http("hacknode3", "/healthz")[0] == 200
        finally:
            provisioned_class.provision()                                  # as the other tests expect it


def test_added_and_removed_teams_leave_the_others_untouched(provisioned_class, make_class):
    four = dict(provisioned_class.teams, hacknode4="main")
    bigger = make_class(provisioned_class.directory, provisioned_class.hosts, four,
                        team_lines=provisioned_class.team_lines)
    with provisioned_class.as_root("main") as root:
        pids = {team: uwsgi_pid(root, team) for team in TEAMS}
        # hacknode4's setup fails half-way (its log folder's name is taken): only hacknode4 stops, and says why
        root.run("echo in-the-way > /var/log/hacknode/hacknode4", hide=True)
        lines = []
        with pytest.raises(ProvisionError, match=r"setting up team\(s\) hacknode4 failed"):
            provision_class(bigger.inventory, provisioned_class.root_key, say=lines.append)
        assert any(re.match(r"main\s+hacknode4\s+directories\s+FAILED", line) for line in lines), lines
        assert any("/var/log/hacknode/hacknode4" in line and line.startswith("  main: ") for line in lines), lines
        assert any(re.match(r"main\s+services\s+changed", line) for line in lines), lines
        root.run("rm /var/log/hacknode/hacknode4", hide=True)
        lines, steps = provisioned_class.provision(bigger.inventory)       # the next run finishes it
        assert {scope for scope, _ in changed(steps["main"])} == {"hacknode4", "main"}
        assert ("hacknode4", "user") not in changed(steps["main"])          # done by the failed run
        assert bigger.http("hacknode4", "/healthz")[0] == 200

        lines, steps = provisioned_class.provision()          # hacknode4 is gone from the inventory: kept, untouched
        assert changed(steps["main"]) == []
        assert any(re.match(r"main\s+hacknode4\s+not in inventory\s+ok\s+\(kept; `fab provision --prune`", line)
                   for line in lines), lines
        assert bigger.http("hacknode4", "/healthz")[0] == 200
        lines, steps = provisioned_class.provision(prune=True)
        assert ("hacknode4", "remove (not in inventory)") in changed(steps["main"])
        archive = root.run("ls /var/backups/hacknode/", hide=True).stdout.split()
        assert any(name.startswith("hacknode4-") for name in archive)
        contents = root.run(f"tar -tzf /var/backups/hacknode/{archive[-1]}", hide=True).stdout
        assert "database/hacknode4-database.tar.gz" in contents and "home/hacknode4/current" in contents
        assert root.run("id hacknode4", hide=True, warn=True).failed
        assert {team: uwsgi_pid(root, team) for team in TEAMS} == pids
    assert bigger.http("hacknode4", "/healthz")[0] == 404


def test_a_config_nginx_refuses_leaves_the_running_config_untouched(provisioned_class, make_class):
    five = dict(provisioned_class.teams, hacknode5="main")
    bigger = make_class(provisioned_class.directory, provisioned_class.hosts, five,
                        team_lines=provisioned_class.team_lines)
    with provisioned_class.as_root("main") as root:
        root.run("echo 'this is not nginx;' > /etc/nginx/conf.d/zz-broken.conf", hide=True)
        try:
            with pytest.raises(ProvisionError) as failure:
                provisioned_class.provision(bigger.inventory)
            assert "nginx -t" in str(failure.value)
            assert root.run("test -e /etc/hacknode/nginx/hacknode5.conf", hide=True, warn=True).failed
            assert "hacknode5" not in root.run("cat /var/www/hacknode/index.html", hide=True).stdout
        finally:
            root.run("rm -f /etc/nginx/conf.d/zz-broken.conf", hide=True)
    for team in TEAMS:
        assert provisioned_class.http(team, "/healthz")[0] == 200
    lines, steps = provisioned_class.provision(prune=True)       # and the half-made team is cleaned up
    assert ("hacknode5", "remove (not in inventory)") in changed(steps["main"])

