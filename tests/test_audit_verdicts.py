"""`fab audit`'s verdicts, rows, table and exit code (deploy/audit.py), from reports shaped as
deploy/remote/audit.py prints them; and the command that runs it."""
import ast

from deploy import audit, commands
from deploy.audit import ATTACKS, Row, as_table, audit_rows, exit_code, verdict

LABELS = dict(ATTACKS)
RLIMITS = {"bounds": "rlimits", "pam_limits": {"crontab": True, "at": False}}
SLICE = {"bounds": "slice", "pam_limits": {"crontab": True, "at": True}}


def sealed_outcomes():
    """Every attack as a sealed class reports it."""
    outcomes = dict.fromkeys(LABELS, "refused: PermissionError")
    outcomes.update(nginx_link_subdomain="http 403", nginx_link_path="http 404", crontab="refused: not allowed",
                    limits_sessions="bounded: limits.d nproc, as", limits_uwsgi="bounded: rlimits")
    return outcomes


def report(teams, server=RLIMITS, **changed):
    """A server's report: `teams` in a ring (each attacks the next), every outcome sealed but `changed`
    ({team: {attack: outcome}})."""
    reports = {}
    for n, team in enumerate(teams):
        outcomes = {**sealed_outcomes(), **changed.get(team, {})}
        reports[team] = {"victim": teams[(n + 1) % len(teams)] if len(teams) > 1 else "", "outcomes": outcomes,
                         "error": ""}
    return {"server": server, "teams": reports}


def results(row_list):
    return {(row.attack, row.team): (row.result, row.detail) for row in row_list}


def test_worked_is_open_refused_is_denied_and_the_words_in_between():
    assert verdict("read_home", "worked", RLIMITS) == ("OPEN", "")
    assert verdict("ctlplugin", "worked: code ran as uid 0", RLIMITS) == ("OPEN", "code ran as uid 0")
    assert verdict("read_home", "refused: PermissionError", RLIMITS) == ("denied", "PermissionError")
    assert verdict("limits_uwsgi", "bounded: rlimits", RLIMITS) == ("bounded", "rlimits")
    assert verdict("db_own_credentials", "n/a: no pymongo here", RLIMITS) == ("n/a", "no pymongo here")


def test_a_link_served_through_nginx_is_open_and_a_refusal_denied():
    assert verdict("nginx_link_path", "http 200", RLIMITS)[0] == "OPEN"
    assert verdict("nginx_link_path", "http 403", RLIMITS) == ("denied", "http 403")
    assert verdict("nginx_link_path", "http 404", RLIMITS) == ("denied", "http 404")
    assert verdict("nginx_link_subdomain", "http - (ConnectionRefusedError)", RLIMITS) == (
        "n/a", "nginx did not answer (ConnectionRefusedError)")


def test_jobs_a_team_may_schedule_are_bounded_only_where_its_limits_reach_them():
    assert verdict("crontab", "allowed", RLIMITS) == (
        "bounded", "allowed; pam_limits gives its jobs the team's limits.d")
    assert verdict("at", "allowed", RLIMITS) == ("OPEN", "allowed, and its jobs get no limits")
    assert verdict("crontab", "allowed", SLICE) == ("OPEN", "its jobs run outside its slice")
    assert verdict("crontab", "refused: not allowed", SLICE) == ("denied", "not allowed")


def test_an_outcome_the_audit_does_not_know_counts_as_open():
    assert verdict("read_home", "ALLOWED", RLIMITS) == ("OPEN", "unknown outcome 'ALLOWED'")


def test_a_sealed_class_has_a_row_per_attack_and_team_none_open_and_exits_0():
    rows = audit_rows([("main", report(["t1", "t2", "t3"]), "")])
    assert set(results(rows)) == {(label, team) for label in LABELS.values() for team in ("t1", "t2", "t3")}
    assert {row.result for row in rows} == {"denied", "bounded"}
    assert exit_code(rows) == 0
    table = as_table(rows)
    assert table.splitlines()[-1] == "sealed: every attack denied or bounded for 3 team(s) (0 n/a)"
    assert len(table.splitlines()) == len(ATTACKS) + 2      # one line per attack: every team alike


def test_an_open_attack_is_its_own_line_naming_the_team_and_exits_1():
    rows = audit_rows([("main", report(["t1", "t2", "t3"], t1={"read_secrets": "worked"}), "")])
    assert results(rows)[(LABELS["read_secrets"], "t1")] == ("OPEN", "")
    assert exit_code(rows) == 1
    lines = as_table(rows).splitlines()
    assert lines[-1] == f"1 attack(s) OPEN, 0 FAILED to audit (of {len(rows)})"
    secrets = [line.split() for line in lines if line.startswith(LABELS["read_secrets"])]
    words = len(LABELS["read_secrets"].split())
    assert [line[words:words + 2] for line in secrets] == [["t1", "OPEN"], ["t2,", "t3"]]   # the worst first


def test_a_team_alone_on_its_server_says_the_attacks_on_another_team_are_not_applicable():
    alone = report(["solo"])
    for key in audit.NEEDS_VICTIM:
        del alone["teams"]["solo"]["outcomes"][key]
    rows = audit_rows([("main", alone, "")])
    found = results(rows)
    assert found[(LABELS["read_home"], "solo")] == ("n/a", "no other team on this server")
    assert found[(LABELS["sudo_list"], "solo")] == ("denied", "PermissionError")
    assert found[(LABELS["nginx_link_path"], "solo")] == ("denied", "http 404")      # linked to /etc/passwd
    assert exit_code(rows) == 0 and "(12 n/a)" in as_table(rows).splitlines()[-1]


def test_what_could_not_be_audited_fails_the_audit():
    broken = report(["t1", "t2"])
    del broken["teams"]["t1"]["outcomes"]["ctlplugin"]
    broken["teams"]["t1"]["error"] = "KeyError: 'x'"
    del broken["teams"]["t2"]["outcomes"]["groups"]
    rows = audit_rows([("main", broken, ""), ("second", None, "cannot reach root@10.0.0.2:22 over SSH: timed out")])
    found = results(rows)
    assert found[(LABELS["ctlplugin"], "t1")] == ("FAILED", "KeyError: 'x'")
    assert found[(LABELS["groups"], "t2")] == ("FAILED", "not reported")
    assert found[("audit the server", "second")] == ("FAILED", "cannot reach root@10.0.0.2:22 over SSH: timed out")
    assert exit_code(rows) == 1
    assert as_table(rows).splitlines()[-1] == f"0 attack(s) OPEN, 3 FAILED to audit (of {len(rows)})"


def test_a_server_without_teams_is_said_and_passes():
    rows = audit_rows([("empty", {"server": RLIMITS, "teams": {}}, "")])
    assert rows == [Row("audit the server", "empty", "n/a", "no team provisioned on it")] and exit_code(rows) == 0


def test_names_from_the_server_are_shown_escaped():
    rows = audit_rows([("main", report(["t1", "t2"], t1={"admin_files": "worked: /tmp/a\x1b[2Jb\nc"}), "")])
    assert results(rows)[(LABELS["admin_files"], "t1")] == ("OPEN", "/tmp/a\\x1b[2Jb\\nc")
    assert "\x1b" not in as_table(rows)


def test_the_audit_command_runs_root_side_python_with_the_probe_as_an_argument():
    command = commands.audit("class.example.org")
    assert command.root and command.interpreter == "python3" and command.what == "audit"
    assert command.argv[0] == "class.example.org" and "def ctlplugin" in command.argv[1]
    for text in (command.script, command.argv[1]):
        ast.parse(text)                                      # both programs are whole Python
    assert "setpriv" in command.script and '"env", "-i"' in command.script


def test_the_probe_reports_every_attack_the_table_knows():
    probe_and_root = commands.audit("d").argv[1] + commands.audit("d").script
    assert [key for key in LABELS if f'"{key}"' not in probe_and_root] == []
