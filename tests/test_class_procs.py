"""Root reads what a team's cron runs left in its home (deploy/remote/cron_records.py, class_procs.py): each attack a
team can make on that reading (a link where a record or a folder is, a FIFO, a huge file, another user's file, forged
text) shows nothing from it and blocks nothing; and a team's workers are counted from its master's daemons."""
import json
import os
import threading

import pytest

from deploy.core import layout
from deploy.remote import class_procs, class_status, cron_records

UID = os.getuid()


def write_run(folder, job, minute, status="ok", exit_code=0, output=b"done\n", **extra):
    (folder / job).mkdir(parents=True, exist_ok=True)
    header = {"job": job, "due": minute, "start": minute + 0.5, "end": minute + 2.0, "exit": exit_code,
              "status": status, "release": "20261207T200000Z-abc", **extra}
    assert cron_records.write(str(folder / job), minute, header, output)
    return folder / job / cron_records.record_name(minute)


def test_the_newest_run_of_all_jobs_is_the_last_cron_run(tmp_path):
    write_run(tmp_path, "cron", 6000)
    write_run(tmp_path, "cron", 6060, status="failed", exit_code=2)
    write_run(tmp_path, "cron-report", 6030)
    run = class_procs.last_run(str(tmp_path), UID)
    assert (run["job"], run["status"], run["exit"]) == ("cron", "failed", 2)
    assert class_procs.cells(1, True, run) == ["1", "on", "cron", "6060", "failed", "2"]
    assert class_procs.last_run(str(tmp_path / "none"), UID) is None and class_procs.last_run(str(tmp_path), None) is None


def test_a_link_where_a_record_or_a_folder_is_shows_nothing_from_where_it_leads(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    write_run(elsewhere, "cron", 9000)              # another team's records, or root's file
    cron = tmp_path / "cron"
    write_run(cron, "cron", 6000)
    (cron / "cron" / cron_records.record_name(9960)).symlink_to(elsewhere / "cron" / cron_records.record_name(9000))
    (cron / "cron-other").symlink_to(elsewhere / "cron")
    assert [r["due"] for r in cron_records.runs(str(cron), UID)["cron"]] == [6000]
    assert "cron-other" not in cron_records.runs(str(cron), UID)
    (tmp_path / "linked").symlink_to(elsewhere)
    assert cron_records.runs(str(tmp_path / "linked"), UID) == {}


def test_a_fifo_or_a_huge_file_as_a_record_blocks_nothing_and_shows_nothing(tmp_path):
    write_run(tmp_path, "cron", 6000)
    os.mkfifo(tmp_path / "cron" / cron_records.record_name(6060))
    huge = write_run(tmp_path, "cron-big", 6000)
    with open(huge, "ab") as handle:
        handle.truncate(1 << 30)                    # a gigabyte (sparse) after a good line
    done = []
    reader = threading.Thread(target=lambda: done.append(cron_records.runs(str(tmp_path), UID)), daemon=True)
    reader.start()
    reader.join(5)
    assert done, "reading a FIFO blocked"
    assert [r["due"] for r in done[0]["cron"]] == [6000] and done[0]["cron-big"] == []


@pytest.mark.skipif(UID != 0, reason="making another user's file needs root")
def test_another_users_record_or_folder_is_not_the_teams(tmp_path):
    write_run(tmp_path, "cron", 6000)
    planted = write_run(tmp_path, "cron", 6060, status="failed", exit_code=9)
    os.chown(planted, 4242, 4242)                       # a file the team did not write (another team's, hard-linked)
    assert [r["due"] for r in cron_records.runs(str(tmp_path), UID)["cron"]] == [6000]
    os.chown(tmp_path / "cron", 4242, 4242)
    assert cron_records.runs(str(tmp_path), UID) == {}
    assert cron_records.runs(str(tmp_path), 4242) == {}     # the top folder is not 4242's


@pytest.mark.parametrize("line", [
    b"not json", b"[1, 2]", b'{"job": "cron"}',
    b'{"job": "../x", "due": 1, "start": 1, "end": 2, "exit": 0, "status": "ok"}',
    b'{"job": "cron", "due": 1, "start": 1, "end": 2, "exit": 0, "status": "<b>pwned</b>"}',
    b'{"job": "cron", "due": "1", "start": 1, "end": 2, "exit": 0, "status": "ok"}',
    b'{"job": "cron", "due": 1, "start": true, "end": 2, "exit": 0, "status": "ok"}',
    b'{"job": "cron", "due": 1, "start": 1, "end": 2, "exit": "0\\tteam9", "status": "ok"}'])
def test_a_forged_record_line_is_refused(line):
    assert cron_records.parse(line + b"\noutput") is None


def test_forged_names_and_text_become_no_markup_no_line_and_no_other_team(tmp_path):
    write_run(tmp_path, "cron", 6000, release="<script>x</script>\nprocs\tteam9", note="a\nb",
              output=b"<b>\x1b[31m\n")
    run = class_procs.last_run(str(tmp_path), UID)
    assert class_procs.cells(0, False, run) == ["0", "off", "cron", "6000", "ok", "0"]     # shapes only: no text
    lines = class_status.lines({"teams": [], "quota": "", "now": 6100, "certificates": [],
                                "procs": {"hacknode1": ["0", "off", "cron\nprocs\tteam9", "6000", "ok", "0"]}})
    parsed = class_status.parse("teams\thacknode1\n" + lines)
    assert set(parsed["procs"]) <= {"hacknode1"}
    for cells in ([["1", "on", "<b>", "6000", "ok", "0"]], [["1", "maybe", "cron", "6000", "ok", "0"]],
                  [["x", "on", "cron", "6000", "ok", "0"]], [["1", "on", "cron", "6000", "pwned", "0"]],
                  [["1", "on", "cron", "6000", "ok"]]):
        assert class_procs.parse_cells(cells[0]) is None
    assert class_procs.parse_cells(["1", "on", "cron", "6000", "failed", "-9"])["exit"] == "-9"


def test_the_records_a_team_reads_keep_their_output(tmp_path):
    write_run(tmp_path, "cron", 6000, output=b"x" * 10000 + b"\nlast line\n")
    (run,) = cron_records.runs(str(tmp_path), UID)["cron"]
    assert run["output"].endswith("last line\n") and len(run["output"]) <= cron_records.TAIL_BYTES
    assert json.loads(json.dumps(run))["release"] == "20261207T200000Z-abc"


# ---------- the workers, from the process table ----------

def fake_proc(tmp_path, processes):
    """/proc with `processes`: {pid: (ppid, session, argv)}."""
    for pid, (ppid, session, argv) in processes.items():
        folder = tmp_path / str(pid)
        folder.mkdir()
        (folder / "stat").write_bytes(f"{pid} (x) y) S {ppid} {pid} {session} 0".encode())
        (folder / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    return str(tmp_path)


def test_a_teams_workers_are_its_masters_daemons_and_its_cron_runner_is_told_apart(tmp_path):
    proc = fake_proc(tmp_path, {
        101: (100, 100, ["uwsgi"]),                                              # a uwsgi worker: the master's session
        102: (100, 102, ["python", "-m", "bot"]),                                # a worker after its exec
        103: (100, 103, ["/bin/sh", "-c", "cron"]),                              # a worker whose command says cron
        104: (100, 104, ["/bin/sh", "-c", f"{layout.TEAM_PROCS} cron"]),         # the cron runner (uwsgi's shell)
        106: (100, 106, ["/usr/bin/python3", "-I", layout.TEAM_PROCS, "cron"]),  # the runner, where the shell execs
        105: (1, 105, ["python", "elsewhere"])})                                 # not this master's
    assert class_procs.daemons(100, [101, 102, 103, 104, 105, 999], proc) == (2, True)
    assert class_procs.daemons(100, [102, 106], proc) == (1, True)
    assert class_procs.daemons(None, [101], proc) == (0, False)


def test_figures_and_cells_of_a_team_without_cron():
    figures = class_procs.figures(class_procs.parse_cells(["0", "off", "-", "-", "-", "-"]), 7000)
    assert (figures["workers"], figures["cron_runner"], figures["last_cron_job"]) == (0, False, None)
    assert class_procs.cron_cell(figures) == "-" and class_procs.workers_cell(figures) == "0"
    assert class_procs.workers_cell(class_procs.figures(None, 7000)) == "-"
