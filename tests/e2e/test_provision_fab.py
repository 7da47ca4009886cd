"""Provisioning on real isolated hosts, through fab: fab status and its JSON, the class page, a bad inventory refused,
and a class of two servers provisioned in one run."""
import json
import re
import time
from pathlib import Path

import pytest

from deploy.core.layout import CLASS_STATUS_TOOL, TOOLS_VENV
from deploy.remote.class_page import SETTLE_SECONDS
from tests.e2e.conftest import PAGE_SECONDS
from tests.e2e.test_provision import TEAMS, changed, fab, round_trips

pytestmark = pytest.mark.e2e


def test_fab_status_shows_every_team_serving(provisioned_class):
    done = fab("status", "--inventory", provisioned_class.path, key=provisioned_class.root_key)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[1:]}
    for team in TEAMS:
        assert rows[team][1:4] == ["main", "RUNNING", "200"], done.stdout
        assert f"http://{team}.hacknode.test/" in done.stdout


def test_fab_provision_with_a_bad_inventory_says_where_and_touches_nothing(provisioned_class, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(Path(provisioned_class.path).read_text().replace("name: hacknode2", "name: Hack_2"))
    done = fab("provision", "--inventory", str(bad), key=provisioned_class.root_key)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    assert re.search(r"bad\.yml:\d+: teams\[1\]\.name", done.stderr + done.stdout)


def test_a_class_of_two_servers_in_one_run(host_factory, tmp_path_factory, make_class, make_sudoer):
    hosts = {"east": host_factory("east"), "west": host_factory("west")}
    teams = {"alpha": "east", "beta": "west", "gamma": "west", "delta": "west"}
    # east is run through a sudoer's account, as on a cloud image, west as root
    make_sudoer(hosts["east"], "instructor", Path(hosts["east"].root_key + ".pub").read_text())
    two = make_class(tmp_path_factory.mktemp("two"), hosts, teams, admin_users={"east": "instructor"})
    lines, steps = two.provision()
    # the cost per server does not grow with its number of teams (1 vs 3)
    assert round_trips(lines, "east") == round_trips(lines, "west") == 3
    for team in teams:
        assert two.http(team, "/healthz")[0] == 200
    lines, steps = two.provision()
    assert changed(steps["east"]) == changed(steps["west"]) == []

    # the instructor removes one team by hand, then the whole class; a name that is no team is refused
    done = fab("remove_team", "--team", "www-data", "--inventory", two.path, key=two.root_key)
    assert done.returncode == 2 and "'www-data' is not a team name" in done.stderr
    with hosts["west"].connection() as c:
        c.run("useradd --create-home squatter", hide=True)
    done = fab("remove_team", "--team", "squatter", "--server", "west", "--inventory", two.path, key=two.root_key)
    assert done.returncode == 1 and "squatter is not a team hacknode made on this server" in done.stderr
    with hosts["west"].connection() as c:
        assert c.run("id squatter", hide=True, warn=True).ok
    done = fab("remove_team", "--team", "delta", "--inventory", two.path, key=two.root_key)
    assert done.returncode == 0, done.stderr
    assert "archived delta to /var/backups/hacknode/delta-" in done.stdout
    with hosts["west"].connection() as c:       # its home and its first virtualenv (in root's tree) are gone
        assert c.run("ls -d /home/delta /opt/hacknode/team-envs/delta", hide=True, warn=True).stdout == ""
        assert sorted(c.run("ls /opt/hacknode/team-envs", hide=True).stdout.split()) == ["beta", "gamma"]
    assert two.http("gamma", "/healthz")[0] == 200
    done = fab("teardown", "--inventory", two.path, key=two.root_key)
    assert done.returncode != 0 and "--yes" in done.stderr         # asks before removing a whole class
    done = fab("teardown", "--yes", "--inventory", two.path, key=two.root_key)
    assert done.returncode == 0, done.stderr
    for server, host in hosts.items():
        with host.connection() as c:
            left = c.run("ls -d /etc/hacknode /opt/hacknode /var/www/hacknode /home/alpha /home/beta /home/gamma "
                         "/home/delta "
                         "/etc/supervisor/conf.d/hacknode-* /etc/nginx/sites-enabled/hacknode* /etc/sudoers.d/hacknode-*",
                         hide=True, warn=True).stdout.split()
            users = c.run("getent passwd alpha beta gamma delta hacknode-db", hide=True, warn=True).stdout
            archives = c.run("ls /var/backups/hacknode", hide=True).stdout.split()
        assert left == [] and users == "", (server, left, users)
        assert {a.split("-")[0] for a in archives} == {t for t, s in teams.items() if s == server}


def page_time(cls, wait=0):
    """(the class page, the time it says it was written); `wait`: seconds to wait for its first writing."""
    deadline = time.monotonic() + wait
    while (answer := cls.http("hacknode1", "/", by="server"))[0] != 200 and time.monotonic() < deadline:
        time.sleep(1)
    status, page = answer
    assert status == 200, page
    return page, re.search(r'<time datetime="([^"]+)">', page).group(1)


def test_fab_status_json_and_the_class_page_agree_with_the_class(provisioned_class, capsys):
    cls = provisioned_class
    for path in ("/", "/about"):                      # two requests of hacknode2's, counted in its access log
        cls.http("hacknode2", path)
    inventory = cls.write_inventory(cls.teams, "status.yml")     # the class's own (other tests rewrite cls.path)
    for _ in range(2):   # once more if a team was asleep (idle after 4 s): waking it may pass the probe's 3 s when busy
        done = fab("status", "--json", "--inventory", inventory, key=cls.root_key)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)             # stdout is the JSON document and nothing else
        teams = {t["name"]: t for t in report["teams"]}
        if all(team["healthz"] == 200 for team in teams.values()):
            break
    assert set(teams) == set(TEAMS) and report["servers"][0]["reachable"]
    for name, team in teams.items():
        live = json.loads(cls.http(name, "/healthz")[1])["release"]
        assert (team["state"], team["healthz"], team["release"]) == ("RUNNING", 200, live), (name, team)
        assert team["release_age_seconds"] >= 0 and team["last_deploy"] and team["memory_mb"] > 0, team
    assert teams["hacknode2"]["requests_5min"] >= 2
    page, written = page_time(cls, wait=SETTLE_SECONDS + 2 * PAGE_SECONDS)   # provisioning wrote it; else its program
    assert all(f'href="http://{team}.hacknode.test/"' in page for team in TEAMS) and '<meta name="viewport"' in page
    with cls.as_team("hacknode1") as c:               # root's page in root's folder: no team writes either
        tries = c.run("touch /var/www/hacknode/index.html; echo x > /var/www/hacknode/other.html; "
                      "stat -c '%U %a' /var/www/hacknode /var/www/hacknode/index.html", hide=True, warn=True)
    assert "Permission denied" in tries.stderr and tries.stderr.count("Permission denied") == 2, tries.stderr
    assert tries.stdout.split("\n")[:2] == ["root 755", "root 644"]
    deadline = time.monotonic() + 3 * PAGE_SECONDS
    while page_time(cls)[1] == written and time.monotonic() < deadline:     # the timer rewrites it
        time.sleep(1)
    assert page_time(cls)[1] > written
    with cls.as_root("main") as root:                 # what one round of the page's collector costs (printed)
        collector = f"{TOOLS_VENV}/bin/python {CLASS_STATUS_TOOL} hacknode.test {cls.hosts['main'].address} quiet"
        cpu = root.run(f"TIMEFORMAT='%U %S'; {{ time {collector} >/dev/null; }} 2>&1",
                       hide=True).stdout.split()
    with capsys.disabled():
        print(f"\nclass page collector, {len(TEAMS)} teams: {float(cpu[0]) + float(cpu[1]):.2f} s of CPU a round")

