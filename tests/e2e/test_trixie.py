"""The other supported server OS, Debian 13 (trixie: Python 3.13, sudo 1.9.16, nginx 1.26, no apt-key), as the
instructor and the teams use it: one class (trixie_class: two teams on a Debian 13 host that boots systemd, one on a
Debian 12 host; the instructor reaches the Debian 13 one through a sudoer) provisioned once, then what the Debian 12
tests check at their core, on its Debian 13 server: a no-op run, a team added, a deploy, a restart, a rollback,
`fab config`, a backup and a restore, `fab audit`, a reboot. The host kind that runs sshd alone is checked too.
Everything as a user would see it (the sites through nginx, the commands' own words); the class is left healthy."""
import json
import re
import time

import pytest

from deploy.admin import audit, tasks as admin
from deploy.team import backup as team_backup, config as team_settings, tasks as team_tasks
from lab import testhost
from tests.e2e.faults import count_marked, submit_marked, watch_until_all_answer
from tests.e2e.test_team_tasks import REPO, SSH_OPTIONS, WHEEL_CACHE, wait_for_release   # its TEAM: hacknode2

pytestmark = pytest.mark.e2e
TEAMS = ("hacknode1", "hacknode2")    # on main, the Debian 13 server
OLD_TEAM = "hacknode3"                # on old, the Debian 12 server


def changed(steps):
    return [(s.scope, s.name) for s in steps if s.changed]


def healthz(cls, team):
    status, body = cls.http(team, "/healthz")
    return status, (json.loads(body) if status == 200 else body)


def team_of(cls, name):
    return next(t for t in cls.inventory.teams if t.name == name)


def test_a_host_that_runs_sshd_alone_is_debian_13_with_python_3_13(host_factory):
    before = host_factory("trixie-sshd")                     # Debian 12, then asked for as Debian 13: remade
    with before.connection() as c:
        assert c.run(". /etc/os-release && echo $VERSION_ID", hide=True).stdout.strip() == "12"
    key_before = open(before.root_key).read()
    host = host_factory("trixie-sshd", server_os="debian13")
    assert (host.address, host.server_os) == (before.address, "debian13") and open(host.root_key).read() != key_before
    with host.connection() as c:
        assert c.run(". /etc/os-release && echo $ID $VERSION_ID", hide=True).stdout.split() == ["debian", "13"]
        assert c.run("python3 --version", hide=True).stdout.startswith("Python 3.13.")
        # no systemd: sshd alone, as PID 2 under nspawn's stub init
        assert c.run("cat /proc/2/comm; test -d /run/systemd/system || echo no-systemd", hide=True
                     ).stdout.split() == ["sshd", "no-systemd"]
        c.run("service nginx start", hide=True)
        assert c.run("curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1/", hide=True).stdout == "200"


def test_provisioned_from_scratch_then_a_second_run_changes_nothing(trixie_class):
    cls = trixie_class
    lines = cls.first_run_lines
    for team in (*TEAMS, OLD_TEAM):
        for step in ("user", "directories", "database", "first release", "configs"):
            assert any(re.match(rf"{cls.teams[team]}\s+{team}\s+{step}\s+changed", line) for line in lines), \
                (team, step, lines)
        assert healthz(cls, team)[0] == 200
    boot = next(s for s in cls.first_run_steps["main"] if s.name == "start at boot")
    assert (boot.changed, boot.why) == (True, "not enabled: supervisor nginx")
    assert not [line for line in lines if "Use of uninitialized value" in line], lines   # pam-auth-update's own
    # one run, a wheelhouse for each server's Python: each team's virtualenv is of its server's Python
    for server, team, version, python in (("main", "hacknode1", "13", "python3.13"),
                                          ("old", OLD_TEAM, "12", "python3.11")):
        with cls.as_root(server) as root:
            assert root.run(". /etc/os-release && echo $VERSION_ID", hide=True).stdout.strip() == version
            assert root.run(f"ls /home/{team}/envs/*/lib", hide=True).stdout.split() == [python]
    with cls.as_team("hacknode1") as c:    # Debian 13's PAM: pam_umask from hacknode's profile (pam-auth-update)
        assert c.run("umask", hide=True).stdout.strip() == "0027"
    lines, steps = cls.provision()
    assert changed(steps["main"]) == changed(steps["old"]) == [] and lines[-1].endswith("nothing to change")


def test_a_team_added_is_set_up_and_the_others_keep_their_workers(trixie_class, make_class):
    cls = trixie_class
    bigger = make_class(cls.directory, cls.hosts, dict(cls.teams, hacknode4="main"))
    with cls.as_root("main") as root:
        pids = {team: root.run(f"supervisorctl pid {team}", hide=True).stdout.strip() for team in TEAMS}
        lines, steps = cls.provision(bigger.inventory)
        assert {scope for scope, _ in changed(steps["main"])} == {"hacknode4", "main"}
        assert bigger.http("hacknode4", "/healthz")[0] == 200
        assert {team: root.run(f"supervisorctl pid {team}", hide=True).stdout.strip() for team in TEAMS} == pids
        lines, steps = cls.provision(prune=True)      # and removed again: the class is as it was
        assert ("hacknode4", "remove (not in inventory)") in changed(steps["main"])
        assert root.run("id hacknode4", hide=True, warn=True).failed
    assert all(healthz(cls, team)[0] == 200 for team in TEAMS)


def test_a_team_deploys_restarts_rolls_back_and_sets_config(trixie_class, capsys):
    cls, team = trixie_class, team_of(trixie_class, "hacknode2")
    with cls.as_team(team.name) as c:
        first = team_tasks.deploy_release(c, team, cls.inventory, REPO, cache_dir=WHEEL_CACHE, ssh_options=SSH_OPTIONS)
        wait_for_release(cls, first)
        second = team_tasks.deploy_release(c, team, cls.inventory, REPO, cache_dir=WHEEL_CACHE, ssh_options=SSH_OPTIONS)
        wait_for_release(cls, second)
        team_tasks.restart(c, team, cls.inventory)
        wait_for_release(cls, second)
        team_tasks.rollback(c, team, cls.inventory)
        wait_for_release(cls, first)
        team_settings.change_settings(c, team, cls.inventory, ["FLASK_FRONT_PAGE_SIZE=1"])
        submit_marked(cls, team.name, "trixie-config", 2)
        assert len(json.loads(cls.http(team.name, "/frontpage.json")[1])["articles"]) == 1
        team_settings.change_settings(c, team, cls.inventory, [], ["FLASK_FRONT_PAGE_SIZE"])
        assert len(json.loads(cls.http(team.name, "/frontpage.json")[1])["articles"]) >= 2
    out = capsys.readouterr().out
    assert "graceful reload" in out and f"release {second} is live" in out


def test_a_backup_restores_the_articles_after_changes(trixie_class, tmp_path):
    cls, team = trixie_class, "hacknode1"
    submit_marked(cls, team, "trixie-before", 3)
    with cls.as_team(team) as c:
        saved = team_backup.backup_database(c, team, tmp_path)
        submit_marked(cls, team, "trixie-after", 2)
        assert team_backup.restore_database(c, team, saved, confirm=lambda question: True)
    assert count_marked(cls, team, "trixie-before") == 3 and count_marked(cls, team, "trixie-after") == 0


def test_fab_audit_finds_every_attack_denied_or_bounded(trixie_class):
    rows = admin.audit_rows(trixie_class.inventory, trixie_class.root_key)
    print(audit.as_table(rows))
    assert {row.team for row in rows} == {*TEAMS, OLD_TEAM}
    assert [row for row in rows if row.result not in ("denied", "bounded", "n/a")] == [], audit.as_table(rows)
    sessions = dict(audit.ATTACKS)["limits_sessions"]     # main boots systemd: a team's sessions are in its slice
    assert {(row.result, row.detail) for row in rows if row.attack == sessions and row.team in TEAMS} == \
        {("bounded", "slice")}
    assert all(healthz(trixie_class, team)[0] == 200 for team in TEAMS)


def test_a_reboot_brings_every_team_back_by_itself(trixie_class):
    cls = trixie_class
    submit_marked(cls, "hacknode2", "trixie-reboot", 2)
    testhost.reboot_host(cls.hosts["main"].name)        # nobody runs a command after it
    took, seen, tracebacks = watch_until_all_answer(cls, TEAMS)
    assert tracebacks == [] and count_marked(cls, "hacknode2", "trixie-reboot") == 2
    lines, steps = cls.provision()
    assert changed(steps["main"]) == [] and lines[-1].endswith("nothing to change")
