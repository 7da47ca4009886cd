"""`fab audit` on provisioned classes: as each team it tries every attack of deploy/admin/audit.py against the next team and
the server, and prints one table. On the shared class every attack is denied or bounded; with isolations broken on
purpose (as root: a home and a secrets file opened, a sudo rule for everything) exactly those rows say OPEN and the
task exits 1; on a server that systemd runs it audits the slices too. Nothing an attack made is left behind."""
import dataclasses
import json
import re
import subprocess
import sys
import time

import pytest

from deploy.admin import audit, tasks as admin
from deploy.core import commands, runner

pytestmark = pytest.mark.e2e
TEAMS = ["hacknode1", "hacknode2", "hacknode3"]
LABELS = dict(audit.ATTACKS)
LEFTOVERS = ("find /home /tmp /var/tmp /etc/hacknode /opt/hacknode/bin /var/log/hacknode /etc/nginx /etc/supervisor"
             " /etc/sudoers.d -name 'hn-audit-*' 2>/dev/null")


def healthz(made, teams):
    return {team: made.http(team, "/healthz")[0] for team in teams}


def open_rows(rows):
    return {(row.attack, row.team) for row in rows if row.result == "OPEN"}


def fab_audit(made):
    """(exit code, table) of `fab audit` run as the instructor runs it; the table's rows as Row values."""
    done = subprocess.run([sys.executable, "-m", "fabric", "audit", "--inventory", made.path, "--key", made.root_key],
                          capture_output=True, text=True, timeout=600)
    rows = []
    for line in done.stdout.splitlines()[1:-1]:
        attack, teams, result, *detail = re.split(r" {2,}", line)
        names = made.teams if teams.startswith("every team") else teams.split(", ")
        rows += [audit.Row(attack, name, result, detail[0] if detail else "") for name in names]
    return done.returncode, done.stdout, rows


def test_the_audit_of_the_shared_class_reports_every_attack_denied_or_bounded(provisioned_class):
    made = provisioned_class
    started = time.monotonic()
    rows = admin.audit_rows(made.inventory, made.root_key)
    print(audit.as_table(rows), f"\n(fab audit of 3 teams on one server: {time.monotonic() - started:.1f} s)")
    assert {(row.attack, row.team) for row in rows} == {(label, team) for label in LABELS.values() for team in TEAMS}
    assert not [row for row in rows if row.result == "FAILED"], audit.as_table(rows)
    with made.as_root("main") as root:
        assert root.run(LEFTOVERS, hide=True, warn=True).stdout == ""
    assert healthz(made, TEAMS) == dict.fromkeys(TEAMS, 200)
    # the class as it should be once issue 21 is closed (on a base with the supervisorctl rule, those rows are OPEN)
    assert open_rows(rows) == set(), audit.as_table(rows)
    assert audit.exit_code(rows) == 0


# as root: hacknode2's home and secrets opened to all, a sudo rule for everything for hacknode1, a copy of the admin
# URI readable by all, and a process of hacknode3's started with the admin URI in its environment (issue 21's leak)
BREAK = ("chmod 0755 /home/hacknode2 /home/hacknode2/.hacknode && chmod 0444 /home/hacknode2/.hacknode/mongo_uri && "
         "echo 'hacknode1 ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/zz-audit-test && "
         "chmod 0440 /etc/sudoers.d/zz-audit-test && "
         "install -m 0644 /etc/hacknode/mongo-admin /var/tmp/leaked-admin-uri && "
         "{ HN_ADMIN_URI=$(cat /etc/hacknode/mongo-admin) setsid setpriv --reuid=hacknode3 --regid=hacknode3"
         " --init-groups sleep 600 </dev/null >/dev/null 2>&1 & } && echo $!")
RESTORE = ("chmod 0750 /home/hacknode2 && chmod 0700 /home/hacknode2/.hacknode && "
           "chmod 0400 /home/hacknode2/.hacknode/mongo_uri && "
           "rm -f /etc/sudoers.d/zz-audit-test /var/tmp/leaked-admin-uri")
BROKEN = ({(LABELS[key], "hacknode1")
           for key in ("read_home", "read_secrets", "read_release", "list_home", "sudo_list", "ctlplugin")}
          | {(LABELS["admin_files"], team) for team in TEAMS} | {(LABELS["admin_environ"], "hacknode3")})


def test_isolations_broken_on_purpose_are_exactly_the_open_rows_and_fab_audit_exits_1(provisioned_class):
    made = provisioned_class
    before = open_rows(admin.audit_rows(made.inventory, made.root_key))
    with made.as_root("main") as root:
        leaker = ""
        try:
            leaker = root.run(BREAK, hide=True).stdout.split()[-1]
            code, table, rows = fab_audit(made)
        finally:
            root.run(RESTORE, hide=True)
            if leaker.isdigit():
                root.run(f"kill {leaker}", hide=True)
        assert root.run(LEFTOVERS, hide=True, warn=True).stdout == ""
    print(table)
    assert code == 1 and f"FAILED to audit (of {len(rows)})" in table.splitlines()[-1]
    assert open_rows(rows) == before | BROKEN, table
    assert healthz(made, TEAMS) == dict.fromkeys(TEAMS, 200)


@pytest.fixture(scope="module")
def booted_class(host_factory, make_class, tmp_path_factory):
    """Two teams on a host of its own that boots systemd (not the fault suite's: that one must start fresh)."""
    made = make_class(tmp_path_factory.mktemp("audit-booted"), {"main": host_factory("auditboot", boot=True)},
                      {"hacknode1": "main", "hacknode2": "main"})
    made.provision()
    return made


def test_the_audit_runs_on_a_server_that_systemd_runs(booted_class):
    made = booted_class
    rows = admin.audit_rows(made.inventory, made.root_key)
    print(audit.as_table(rows))
    results = {(row.attack, row.team): (row.result, row.detail) for row in rows}
    assert len(results) == len(LABELS) * 2 and not [row for row in rows if row.result == "FAILED"]
    for team in ("hacknode1", "hacknode2"):
        assert results[(LABELS["limits_sessions"], team)] == ("bounded", "slice")
        assert results[(LABELS["limits_uwsgi"], team)] == ("bounded", "in its slice")
    assert healthz(made, ["hacknode1", "hacknode2"]) == {"hacknode1": 200, "hacknode2": 200}
    assert open_rows(rows) == set(), audit.as_table(rows)      # once issue 21 is closed (see the shared class's test)


def test_a_team_alone_on_an_https_server_is_audited_and_its_attacks_on_another_team_are_not_applicable(tls_class):
    made = tls_class
    rows = admin.audit_rows(made.inventory, made.root_key)
    print(audit.as_table(rows))
    results = {row.attack: (row.result, row.detail) for row in rows}
    assert set(results) == set(LABELS.values()) and {row.team for row in rows} == {"hacknode3"}
    for key in audit.NEEDS_VICTIM:
        assert results[LABELS[key]] == ("n/a", "no other team on this server")
    # a link to /etc/passwd, asked through HTTPS (the class CA's certificate), by subdomain and by path
    assert results[LABELS["nginx_link_subdomain"]][0] == results[LABELS["nginx_link_path"]][0] == "denied", results
    assert not [row for row in rows if row.result == "FAILED"]
    with made.as_root("main") as root:        # the server's own probe: HTTPS, the class CA trusted
        assert root.run("python3 /opt/hacknode/bin/healthz hacknode3.hacknode.test", hide=True).stdout.startswith("200 ")
    assert open_rows(rows) == set(), audit.as_table(rows)      # once issue 21 is closed (see the shared class's test)


# teams fooling the audit: hacknode1 fills /tmp with 5000 files all may read (the file scan's budget), hacknode2 puts a
# wrong password in its own database settings (its database attacks fail for that reason, not for isolation)
FOOL = {"hacknode1": "mkdir -m 755 /tmp/hn-decoy && cd /tmp/hn-decoy && seq 5000 | xargs touch && chmod 644 *",
        "hacknode2": "cp -p ~/.hacknode/mongo_uri ~/.hacknode/kept && chmod u+w ~/.hacknode/mongo_uri && "
                     "sed -i 's|//\\([^:]*\\):[^@]*@|//\\1:wrong-password@|' ~/.hacknode/mongo_uri"}
UNFOOL = {"hacknode1": "rm -rf /tmp/hn-decoy", "hacknode2": "mv -f ~/.hacknode/kept ~/.hacknode/mongo_uri"}


def test_a_team_cannot_make_the_audit_say_denied_for_what_it_did_not_try(provisioned_class):
    made = provisioned_class
    try:
        for team, command in FOOL.items():
            with made.as_team(team) as c:
                c.run(command, hide=True)
        rows = admin.audit_rows(made.inventory, made.root_key)
        during = healthz(made, TEAMS)
    finally:
        for team, command in UNFOOL.items():
            with made.as_team(team) as c:
                c.run(command, hide=True, warn=True)
    print(audit.as_table(rows))
    results = {(row.attack, row.team): (row.result, row.detail) for row in rows}
    for team in TEAMS:          # every team may read the decoy: each scan is cut short in /tmp, and says so
        assert results[(LABELS["admin_files"], team)][0] == "FAILED", results[(LABELS["admin_files"], team)]
        assert "/tmp" in results[(LABELS["admin_files"], team)][1]
    for key in ("db_own_credentials", "db_no_credentials"):
        assert results[(LABELS[key], "hacknode2")][0] == "FAILED", results[(LABELS[key], "hacknode2")]
    assert audit.exit_code(rows) == 1 and not audit.summary(rows).startswith("sealed")
    assert during == healthz(made, TEAMS) == dict.fromkeys(TEAMS, 200)


# what a team's probe could print if the team traced it (ptrace_scope 0): a file in a folder the team then swaps for a
# link to root's folder, and a device through a link to /dev; root opens neither through the link
FORGED_PROBE = ("import json; print(json.dumps({'outcomes': {}, 'error': '', 'readable': "
                "['/home/hacknode1/d/mongo-admin', '/home/hacknode1/t/console',"
                " '/home/hacknode1/d/../d/mongo-admin']}))")


def test_root_reads_no_file_through_a_link_a_team_swapped_in(provisioned_class):
    made = provisioned_class
    forged = dataclasses.replace(commands.audit(made.inventory.domain),
                                 argv=(made.inventory.domain, FORGED_PROBE, *commands.audit("x").argv[2:]))
    with made.as_team("hacknode1") as c:
        c.run("ln -sfn /etc/hacknode ~/d && ln -sfn /dev ~/t", hide=True)
    try:
        with made.as_root("main") as root:
            report = json.loads(runner.run(root, forged).stdout)
    finally:
        with made.as_team("hacknode1") as c:
            c.run("rm -f ~/d ~/t", hide=True)
    outcome = report["teams"]["hacknode1"]["outcomes"]["admin_files"]
    print(outcome)
    assert not outcome.startswith("worked"), outcome
    assert healthz(made, TEAMS) == dict.fromkeys(TEAMS, 200)
