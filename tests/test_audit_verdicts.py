"""`fab audit`'s verdicts, rows, table and exit code (deploy/admin/audit.py), from reports shaped as
deploy/remote/audit.py prints them; and the command that runs it."""
import ast
import importlib.util
import os
import sys
from pathlib import Path

import pytest

from deploy.admin import audit
from deploy.admin.audit import ATTACKS, Row, as_table, audit_rows, exit_code, verdict
from deploy.core import commands

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
        "FAILED", "nginx did not answer (ConnectionRefusedError)")      # not tried: never denied, nor n/a


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


# ---------- what a team does to fool the audit ----------

def test_an_attack_that_applies_but_was_not_tried_fails_the_audit_and_is_never_denied():
    assert verdict("read_home", "untried: /home/t2/.bashrc is missing", RLIMITS) == (
        "FAILED", "not tried: /home/t2/.bashrc is missing")
    spoiled = "untried: its settings do not open its own database (refused: AuthenticationFailed)"
    rows = audit_rows([("main", report(["t1", "t2"], t2={"db_own_credentials": spoiled}), "")])
    assert results(rows)[(LABELS["db_own_credentials"], "t2")][0] == "FAILED" and exit_code(rows) == 1
    assert not as_table(rows).splitlines()[-1].startswith("sealed")


def test_a_file_scan_cut_short_fails_the_audit_and_says_where():
    cut = "incomplete: more files it can read than the audit looks at in /tmp"
    rows = audit_rows([("main", report(["t1", "t2"], t1={"admin_files": cut}), "")])
    assert results(rows)[(LABELS["admin_files"], "t1")] == ("FAILED", cut[len("incomplete: "):])
    assert exit_code(rows) == 1


def test_a_team_that_may_trace_its_own_probe_is_bounded_and_the_summary_says_so():
    traced = "bounded: yama ptrace_scope 0: it may trace its own probe, whose rows are then its word"
    rows = audit_rows([("main", report(["t1", "t2"], t1={"ptrace_probe": traced}, t2={"ptrace_probe": traced}), "")])
    assert results(rows)[(LABELS["ptrace_probe"], "t1")][0] == "bounded" and exit_code(rows) == 0
    assert as_table(rows).splitlines()[-1] == ("sealed: every attack denied or bounded for 2 team(s) (0 n/a); "
                                               "2 team(s) could forge their probe's rows (ptrace)")


# ---------- root's file scan (deploy/remote/audit.py), on files of this machine ----------

REMOTE = Path(__file__).resolve().parents[1] / "deploy" / "remote"
NEEDLE = b"admin-password-1234"


@pytest.fixture
def root_audit(monkeypatch):
    """deploy/remote/audit.py imported with the argv root's command gives it (its main does not run)."""
    monkeypatch.setattr(sys, "argv", ["-c", "d", "probe", (REMOTE / "facts.py").read_text()])
    spec = importlib.util.spec_from_file_location("remote_audit", REMOTE / "audit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def scan(module, tops, readable, cut=()):
    return module.admin_in_files([str(t) for t in tops], {"readable": readable, "cut": list(cut)}, NEEDLE, {})


def test_root_finds_the_admin_uri_in_a_file_a_team_can_read_and_says_how_many_it_looked_at(root_audit, tmp_path):
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "copy").write_bytes(b"uri=mongodb://admin:" + NEEDLE + b"@127.0.0.1/")
    (tmp_path / "tmp" / "other").write_text("nothing")
    paths = [str(tmp_path / "tmp" / "other"), str(tmp_path / "tmp" / "copy")]
    assert scan(root_audit, [tmp_path / "tmp"], paths) == f"worked: {paths[1]}"
    assert scan(root_audit, [tmp_path / "tmp"], paths[:1]) == "refused: none of the 1 files it can read"


def test_root_reads_nothing_through_a_folder_swapped_for_a_link_nor_a_path_climbing_out(root_audit, tmp_path):
    secret, home = tmp_path / "etc-hacknode", tmp_path / "home"
    secret.mkdir(), home.mkdir()
    (secret / "mongo-admin").write_bytes(b"mongodb://admin:" + NEEDLE + b"@h/")
    os.symlink(secret, home / "d")                                   # ~/d: a folder the team swapped for a link
    os.symlink("/dev", home / "t")
    listed = [f"{home}/d/mongo-admin", f"{home}/t/null", f"{home}/../etc-hacknode/mongo-admin",
              f"{secret}/mongo-admin", f"{home}/./d/mongo-admin"]
    assert scan(root_audit, [home], listed) == "refused: none of the 0 files it can read"


def test_a_folder_over_its_budget_or_a_file_too_big_is_incomplete_not_denied(root_audit, tmp_path, monkeypatch):
    monkeypatch.setattr(root_audit, "MAX_FILES", 3)
    monkeypatch.setattr(root_audit, "MAX_SCAN", 100)
    tmp, var_tmp = tmp_path / "tmp", tmp_path / "var-tmp"
    tmp.mkdir(), var_tmp.mkdir()
    decoys = [tmp / str(n) for n in range(5)]
    for decoy in decoys:
        decoy.write_text("")
    (var_tmp / "copy").write_bytes(NEEDLE)
    found = scan(root_audit, [tmp, var_tmp], [str(p) for p in decoys] + [str(var_tmp / "copy")])
    assert found == f"worked: {var_tmp}/copy"                      # the decoy in one folder hides nothing in another
    assert scan(root_audit, [tmp, var_tmp], [str(p) for p in decoys]) == (
        f"incomplete: more files it can read than the audit looks at in {tmp}")
    assert scan(root_audit, [tmp, var_tmp], [str(decoys[0])], cut=[str(tmp)]).startswith("incomplete")


def test_a_file_over_the_cap_is_not_read_and_the_row_names_it(root_audit, tmp_path, monkeypatch):
    monkeypatch.setattr(root_audit, "MAX_SCAN", 2 << 20)
    (tmp_path / "small").write_text("")
    with open(tmp_path / "big", "wb") as big:
        big.truncate(3 << 20)
    assert scan(root_audit, [tmp_path], [str(tmp_path / "small"), str(tmp_path / "big")]) == (
        f"refused: none of the 1 files it can read (1 over 2 MB not read: {tmp_path}/big)")
