"""The term's end, its pure parts: `fab freeze --at` read as a time, the lines the servers run, the archive's MANIFEST
checked here (deploy/admin/term.py), and each team's submission in `fab status` (deploy/admin/status.py)."""
import hashlib
import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from test_class_status import SERVER_LINES, inventory  # noqa: F401  (the fixture)
from test_team_release import IDS, home, make_release, releases_left  # noqa: F401  (home: the fixture)

from deploy.admin import term
from deploy.admin.status import as_json, as_table, class_report
from deploy.core import commands, layout
from deploy.core.errors import DeployError
from deploy.core.fanout import ServerResult
from deploy.remote.class_status import lines, parse

NOW = datetime(2026, 12, 7, 17, 0, 5, 123, tzinfo=timezone.utc)


def test_the_deadline_is_now_or_the_time_given_in_utc_or_this_machines_clock():
    assert term.parse_deadline(None, NOW) == (int(NOW.timestamp()) - 0, "2026-12-07T17:00:05Z")
    assert term.parse_deadline("2026-12-18T23:59Z", NOW)[1] == "2026-12-18T23:59:00Z"
    assert term.parse_deadline("2026-12-18 23:59+01:00", NOW)[1] == "2026-12-18T22:59:00Z"
    local = datetime(2026, 12, 18, 23, 59).astimezone()
    assert term.parse_deadline("2026-12-18T23:59", NOW) == (int(local.timestamp()),
                                                            local.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    with pytest.raises(DeployError, match="--at 'friday': not a time"):
        term.parse_deadline("friday", NOW)


def test_the_servers_get_one_line_per_team_quoted_and_an_unknown_team_is_refused(inventory):  # noqa: F811
    assert term.freeze_lines(["hacknode1"], 1797638340, "2026-12-18T23:59:00Z") == [
        "hn_freeze hacknode1 1797638340 2026-12-18T23:59:00Z"]
    assert term.unfreeze_lines(["hacknode1", "hacknode2"]) == ["hn_unfreeze hacknode1", "hn_unfreeze hacknode2"]
    assert term.teams_by_server(inventory) == {"main": ["hacknode1", "hacknode2", "hacknode3"], "spare": ["hacknode4"]}
    assert term.teams_by_server(inventory, "hacknode4") == {"spare": ["hacknode4"]}
    with pytest.raises(DeployError, match="--team nobody: the inventory lists no such team"):
        term.teams_by_server(inventory, "nobody")
    assert term.packed_teams(["main: packed hacknode1: 20261207T170000Z-abcdef1", "main: packed hacknode2 (kept)",
                              "main: submitted hacknode3: x"]) == ["hacknode1", "hacknode2"]


def archived(folder, files, manifest_extra=""):
    folder.mkdir()
    lines = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        lines.append(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
    (folder / "MANIFEST").write_text("".join(lines) + manifest_extra)
    return folder


def test_an_archive_is_complete_only_when_every_file_matches_its_manifest(tmp_path):
    files = {"code.tar.gz": b"code", "database.tar.gz": b"db", "logs.tar.gz": b"logs",
             "SUBMISSION": b"release=20261207T170000Z\nsubmitted=2026-12-07T17:00:05Z\n"}
    whole = archived(tmp_path / "hacknode1", files)
    assert term.manifest_problems(str(whole)) == []
    assert term.submission_text(str(whole)) == "release 20261207T170000Z, taken 2026-12-07T17:00:05Z"
    (whole / "database.tar.gz").write_bytes(b"dB")                           # a byte changed on the way
    (whole / "logs.tar.gz").unlink()                                          # a file not fetched yet
    assert term.manifest_problems(str(whole)) == [
        f"{whole}/database.tar.gz: its sha256 is not the MANIFEST's (fetch it again)", f"{whole}/logs.tar.gz: missing"]
    assert term.manifest_problems(str(tmp_path / "hacknode2")) == [f"{tmp_path}/hacknode2: no MANIFEST (not fetched yet)"]
    odd = archived(tmp_path / "hacknode3", {"code.tar.gz": b"code"}, manifest_extra="abc  ../../etc/passwd\n")
    assert term.manifest_problems(str(odd)) == [f"{odd}/MANIFEST:2: not a line of an archive's manifest",
                                                f"{odd}/MANIFEST: lists no logs.tar.gz", f"{odd}/MANIFEST: lists no SUBMISSION"]


SUBMITTED = "\t".join(["submission", "hacknode1", "20261202T010000Z-6b7f8cd", "2026-12-02T02:00:00Z",
                       "frozen since 2026-12-02T02:00:00Z", "yes"])
CHANGED = "\t".join(["submission", "hacknode2", "20261201T000000Z", "2026-12-02T02:00:00Z",
                     "frozen since 2026-12-02T02:00:00Z", "no"])
LIFTED = "\t".join(["submission", "stray", "20261201T000000Z", "2026-12-02T02:00:00Z", "lifted", "no"])


def test_status_shows_each_submission_and_warns_of_a_live_release_changed_by_hand_after_the_deadline(inventory):  # noqa: F811,E501
    lines = SERVER_LINES + "\n".join([SUBMITTED, CHANGED, LIFTED, "submission\tnot-a-team\tx\ty\tlifted\tno"]) + "\n"
    main, spare = inventory.servers
    report = class_report(inventory, [ServerResult(main, parse(lines)), ServerResult(spare, None, "unreachable")])
    teams = {t["name"]: t for t in report["teams"]}
    assert teams["hacknode1"]["submission"] == {"release": "20261202T010000Z-6b7f8cd", "taken": "2026-12-02T02:00:00Z",
                                                "freeze": "frozen since 2026-12-02T02:00:00Z", "live": True}
    assert "submission" not in teams["hacknode3"] and "not-a-team" not in teams
    table = as_table(inventory, report)
    assert ("hacknode1: submission: release 20261202T010000Z-6b7f8cd, taken 2026-12-02T02:00:00Z; frozen since "
            "2026-12-02T02:00:00Z") in table
    assert "stray: submission: release 20261201T000000Z, taken 2026-12-02T02:00:00Z; lifted" in table
    changed = [w for w in report["warnings"] if "submission" in w]
    assert changed == ["warning: hacknode2: its site no longer runs its submission 20261201T000000Z (its current link "
                       "was changed by hand after the deadline; the submission is kept as it was)"]
    assert '"submission"' in as_json(report)


def test_the_server_programs_use_the_layouts_paths():
    text = commands.remote_file("term.sh")
    assert f"HN_FREEZE_DIR={layout.FREEZE_DIR} " in text and f"HN_SUBMISSIONS={layout.SUBMISSIONS} " in text
    assert f"HN_TERM={layout.TERM_ARCHIVE} " in text
    assert f"for f in {layout.TEAMS_DIR}/*; do" in text


def run_frozen(paths, freeze_dir, *args):
    """release.sh as the team runs it, its freeze marks read from `freeze_dir` instead of /etc/hacknode/freeze."""
    script = commands.release_script_text(paths, keep=3).replace(
        f"freeze_dir={layout.FREEZE_DIR}\n", f"freeze_dir={freeze_dir}\n")
    done = subprocess.run(["bash", "-s", "--", *args], input=script, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


def test_past_the_deadline_release_sh_refuses_every_change_of_the_site_and_prunes_no_submission(home, tmp_path):
    for rid in IDS:
        make_release(home, rid)
    Path(home.current).symlink_to(f"releases/{IDS[-1]}")
    marks = tmp_path / "freeze"
    marks.mkdir()
    (marks / "hacknode1").write_text("deadline=1000 1970-01-01T00:16:40Z\n")
    (marks / "hacknode1.submission").write_text(f"release={IDS[0]}\nsubmitted=1970-01-01T00:16:41Z\n")
    for args in (["deploy", "x", "y", "h"], ["activate", IDS[1], "h"], ["rollback", "h"], ["settings", "h"],
                 ["prepare", "x", "y"], ["env", "x", "y"], ["facts", "aaaaaaaaaaaa", "20270101T000000Z"]):
        code, out = run_frozen(home, marks, *args)
        assert code == 1 and "HN-FAIL [hacknode1] frozen: the deadline was 1970-01-01T00:16:40Z;" in out, (args, out)
    assert not (Path(home.releases) / "20270101T000000Z").exists()
    code, out = run_frozen(home, marks, "facts", "aaaaaaaaaaaa")        # reading is no change
    assert code == 0 and f"current={IDS[-1]}" in out, out
    code, out = run_frozen(home, marks, "prune")
    assert code == 0, out
    assert releases_left(home) == [IDS[0]] + IDS[-3:]                  # the submission stays
    (marks / "hacknode1").write_text("not a deadline\n")                # a mark it cannot read refuses too
    assert "frozen" in run_frozen(home, marks, "rollback", "h")[1]
    (marks / "hacknode1").write_text("deadline=99999999999 5138-11-16T09:46:39Z\n")      # not yet
    code, out = run_frozen(home, marks, "facts", "aaaaaaaaaaaa", "20270101T000000Z")
    assert code == 0 and (Path(home.releases) / "20270101T000000Z").is_dir(), out


def test_the_collector_reads_each_deadline_and_whether_the_site_still_runs_the_submission(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from deploy.remote import class_submissions
    marks, homes = tmp_path / "freeze", tmp_path / "home"
    marks.mkdir()
    monkeypatch.setattr(class_submissions, "layout", SimpleNamespace(
        FREEZE_DIR=str(marks), TeamPaths=lambda team: SimpleNamespace(home=str(homes / team))))
    (homes / "hacknode1" / "releases" / IDS[0]).mkdir(parents=True)
    (homes / "hacknode1" / "current").symlink_to(f"releases/{IDS[0]}")
    (marks / "hacknode1").write_text("deadline=1000 1970-01-01T00:16:40Z\n")
    (marks / "hacknode1.submission").write_text(f"release={IDS[0]}\nsubmitted=1970-01-01T00:16:41Z\n")
    found = class_submissions.submission("hacknode1", 2000)
    sealed = os.lstat(homes / "hacknode1" / "releases").st_uid == 0        # root's, as term.sh seals it (run as root)
    assert found == {"release": IDS[0], "taken": "1970-01-01T00:16:41Z", "freeze": "frozen since 1970-01-01T00:16:40Z",
                     "live": sealed}
    assert class_submissions.submission("hacknode1", 999)["freeze"] == "freezes at 1970-01-01T00:16:40Z"
    (homes / "hacknode1" / "current").unlink()
    (homes / "hacknode1" / "current").symlink_to("/tmp")                       # pointed elsewhere by hand
    assert class_submissions.submission("hacknode1", 2000)["live"] is False
    (marks / "hacknode1").unlink()
    assert class_submissions.submission("hacknode1", 2000)["freeze"] == "lifted"
    assert class_submissions.submission("hacknode2", 2000) is None
    collected = {"teams": [], "quota": "q", "now": 2000, "certificates": [], "submissions": {"hacknode1": found}}
    text = "teams\thacknode1\n" + lines(collected).split("\n", 1)[1]          # root's list names the team
    assert parse(text)["submissions"] == {"hacknode1": found}


SEAL_ATTACKS = {   # what a team leaves in its home before `fab freeze` seals its submitted release as root's
    "releases is a link elsewhere": "ln -s $OUT /home/t1/releases",
    "a link inside the release": "mkdir -p /home/t1/releases/$ID && ln -s $OUT/$ID/file /home/t1/releases/$ID/x",
    "envs is a link elsewhere": "mkdir -p /home/t1/releases/$ID && mkdir -p $OUT/envs/abc && "
                                "ln -s ../../envs/abc /home/t1/releases/$ID/rapid-env && ln -s $OUT/envs /home/t1/envs",
}


@pytest.mark.parametrize("attack", SEAL_ATTACKS, ids=list(SEAL_ATTACKS))
def test_sealing_a_frozen_release_never_changes_the_owner_of_what_a_teams_link_points_at(attack, tmp_path):
    """term.sh's hn_seal runs as root on /home/TEAM (a tmpfs in a private mount namespace here): a file outside the
    team's tree, reached through a link the team made, keeps its owner."""
    out = tmp_path / "outside"
    script = f"""mount -t tmpfs tmpfs /home && mkdir -p /home/t1 $OUT/$ID && : > $OUT/$ID/file
    {SEAL_ATTACKS[attack]}
    chown -R 65534 $OUT
    bash -c '. "$0" && hn_seal t1 "$1" root' {commands.REMOTE / "term.sh"} $ID
    find $OUT -exec stat -c '%u %n' {{}} +"""
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-ec", script],
                          env={**os.environ, "OUT": str(out), "ID": IDS[0]}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    owners = dict(reversed(line.split(" ", 1)) for line in done.stdout.splitlines())
    assert owners and set(owners.values()) == {"65534"}, owners
