"""Removal leaves nothing of a team's uid (deploy/remote/remove-team.sh, what plan_team.removal_commands and the
teardown run), and a team's cron and at jobs are refused (plan_limits.plan_scheduled_jobs). The pieces that need no
other user are run here for real; the whole removal, as root on a host, in tests/e2e/test_attacks_names_removal.py."""
import os
import subprocess

from deploy.admin.tasks import teardown_commands
from deploy.core import layout
from deploy.core.commands import remote_file, remote_program
from deploy.provision.bounds import plan_scheduled_jobs
from test_provision_plan import bare_facts, make_inventory, root_file

LIBRARY = remote_program("apply-lib.sh") + remote_file("remove-team.sh")


def run(script, *args):
    done = subprocess.run(["bash", "-c", f"{LIBRARY}\nHN_STAGE=$(mktemp -d)\n{script}", "bash", *args],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_deny_lines_are_added_once_and_removed_keeping_the_files_other_lines_and_mode(tmp_path):
    deny = tmp_path / "at.deny"
    deny.write_text("alias\nbackup\nhacknode10")            # Debian's at.deny, here without its last newline
    deny.chmod(0o640)
    run('hn_deny_edit "$1" add hacknode1 hacknode2; hn_deny_edit "$1" add hacknode1', str(deny))
    assert deny.read_text() == "alias\nbackup\nhacknode10\nhacknode1\nhacknode2\n"
    assert oct(deny.stat().st_mode & 0o777) == "0o640"
    run('hn_deny_edit "$1" remove hacknode1', str(deny))    # hacknode10 is another name: it stays
    assert deny.read_text() == "alias\nbackup\nhacknode10\nhacknode2\n"
    fresh = tmp_path / "cron.deny"
    run('hn_deny_edit "$1" remove hacknode1; [ ! -e "$1" ]; hn_deny_edit "$1" add hacknode1', str(fresh))
    assert fresh.read_text() == "hacknode1\n" and oct(fresh.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in tmp_path.iterdir()] != [] and not list(tmp_path.glob("*.hn-*"))   # no temporary left


def test_a_system_uid_or_a_shared_uid_is_never_removed():
    def refused(team, uid):
        done = subprocess.run(["bash", "-c", f"{LIBRARY}\nHN_STAGE=$(mktemp -d)\nhn_team_uid {team} {uid}; echo on"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 3 and done.stdout == "", done
        return done.stderr.strip()
    assert refused("daemon", 1) == "HN-FAIL daemon has uid 1, a system uid: hacknode made no such user; nothing of " \
                                   "it was removed"
    assert "a system uid" in refused("nobody", 65534)


def test_the_places_searched_are_the_shared_folders_and_the_homes_filesystem():
    places = run("hn_uid_places").split()
    assert places[:2] == ["/tmp", "/var/tmp"] and places[-1] == subprocess.run(
        ["stat", "-c", "%m", "/home"], capture_output=True, text=True).stdout.strip()
    assert all(os.path.isdir(p) for p in places)


def test_nothing_is_left_of_a_uid_that_has_nothing():
    assert run("hn_uid_left 4000000; hn_uid_ipc 4000000").strip() == ""      # no such uid: no process, file, IPC


def test_removal_kills_cleans_and_checks_before_the_user_goes():
    library = remote_file("remove-team.sh")
    body = library[library.index("hn_remove_account() {"):]
    body = body[:body.index("\n}\n")]
    order = ["hn_end_account", "hn_remove_jobs", "rm -rf", "hn_remove_files_of", "hn_remove_ipc",
             "hn_uid_left", "userdel", "groupdel", "hn_deny_edit /etc/cron.deny remove"]
    assert [body.index(step) for step in order] == sorted(body.index(step) for step in order)
    end = library[library.index("hn_end_account() {"):]
    end = end[:end.index("\n}\n")]
    assert end.index("hn_team_uid") < end.index("usermod --lock --expiredate 1") < end.index("hn_kill_uid")


def test_a_team_is_ended_before_its_archive_and_its_record_goes_last():
    """Its program stopped first (supervisor would start it again as the uid), then every process of its uid ended,
    before its archive; its slice's drop-in goes while its uid is known, hacknode's record of it last."""
    library = remote_file("remove-team.sh")
    end = library[library.index("hn_end_team() {"):]
    end = end[:end.index("\n}\n")]
    assert end.index("not a team hacknode made") < end.index("supervisorctl stop") < end.index("hn_end_account")
    remove = library[library.index("hn_remove_team() {"):]
    remove = remove[:remove.index("\n}\n")]
    order = ["rm -f \"${files[@]}\"", "hn_mongo drop-team", "id -u \"$team\"", "hn_remove_account", "rm -rf",
             "rm -f \"$record\""]
    assert [remove.index(step) for step in order] == sorted(remove.index(step) for step in order)


def test_every_team_has_a_line_in_cron_deny_and_at_deny_and_a_crontab_from_before_goes():
    view = make_inventory().view("main")
    step = plan_scheduled_jobs(view, bare_facts())
    assert step.changed and step.why == "not denied: hacknode1 hacknode2"
    assert step.commands == ["hn_deny_edit /etc/cron.deny add hacknode1 hacknode2",
                             "hn_deny_edit /etc/at.deny add hacknode1 hacknode2"]
    facts = bare_facts()
    facts.files["/etc/cron.deny"] = root_file(text="hacknode1\nhacknode2\n")
    facts.files["/etc/at.deny"] = root_file(text="alias\nhacknode2\nhacknode1 \n", mode="0640")  # a space: no match
    facts.scheduled_jobs = {"hacknode1": 2, "hacknode2": 0}
    step = plan_scheduled_jobs(view, facts)
    assert step.why == "not denied: hacknode1; jobs removed: hacknode1"
    assert step.commands == ["hn_deny_edit /etc/at.deny add hacknode1", "hn_remove_jobs hacknode1"]
    facts.files["/etc/at.deny"] = root_file(text="alias\nhacknode2\nhacknode1\n", mode="0640")
    facts.scheduled_jobs = {}
    assert not plan_scheduled_jobs(view, facts).changed
    assert set(layout.JOB_DENY_FILES) == {"/etc/cron.deny", "/etc/at.deny"}


def test_what_removal_finds_under_shared_folders_is_acted_on_from_the_folder_find_opened():
    # -exec hands a path: a parent swapped for a link while find runs leads root's chown elsewhere
    library = remote_file("remove-team.sh")
    body = library[library.index("hn_remove_files_of() {"):]
    body = body[:body.index("\n}\n")]
    assert " -exec " not in library and "-delete" in body
    assert "-execdir chown -h" in body and "-execdir chgrp -h" in body


def test_the_archive_bounds_the_teams_tar_and_keeps_the_dump_from_other_teams():
    archive = remote_file("archive.sh")
    assert "mktemp -d \"$HN_ARCHIVE_DUMPS/" in archive and "install -d -m 0711 \"$HN_ARCHIVE_DUMPS\"" in archive
    assert "chmod" not in archive.replace('chmod 0600 "$archive"', "")        # nothing opened to every user
    assert 'prlimit --fsize=$((max_kib * 1024)) timeout -k 5 "$seconds" tar --sparse' in archive


def test_teardown_removes_every_team_the_server_lists_with_its_own_paths_then_the_class(tmp_path):
    """deploy/remote/teardown.sh run for real, the helpers and services it calls stubbed: each team of the
    server's list gets the three steps of a removal, with its paths (the {team} templates filled in)."""
    teams = tmp_path / "teams"
    teams.mkdir()
    for team in ("hacknode1", "hacknode2"):
        (teams / team).touch()
    (tmp_path / "class").mkdir()
    text = teardown_commands()[0]
    header = dict(line.split("=", 1) for line in text.split("\n# shellcheck shell=bash\n")[0].splitlines())
    assert "/etc/hacknode/uwsgi/{team}.ini" in header["team_files"] and "/home/{team}" in header["team_folders"]
    stubs = "".join(f"{name}() {{ echo {name} \"$@\"; }}\n" for name in
                    ("hn_end_team", "hn_archive", "hn_remove_team", "supervisorctl", "hn_service", "systemctl"))
    ours = {"teams_dir": teams, "program_confs": tmp_path / "p.conf", "profiles": tmp_path / "profile",
            "acme_certs": tmp_path / "certs", "renewal_files": tmp_path / "renewal", "class_folders": tmp_path / "class",
            "db_user": "hn-no-such-user"}
    # the header's paths, those of this machine's folders replaced by temporary ones
    program = stubs + "".join(f"{name}={value}\n" for name, value in {**header, **ours}.items()) + \
        text.split("\n# shellcheck shell=bash\n", 1)[1]
    done = subprocess.run(["bash", "-c", "set -euo pipefail\nnginx() { return 0; }\n" + program],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    record = f"{teams}/hacknode1"
    assert lines[:2] == [f"hn_end_team hacknode1 {record}", "hn_archive hacknode1"]
    assert lines[2].startswith(f"hn_remove_team hacknode1 {record} {layout.SLICE_DROPIN} /etc/supervisor/")
    assert "/etc/hacknode/uwsgi/hacknode1.ini" in lines[2] and lines[2].endswith(
        f"-- /var/log/hacknode/hacknode1 /home/hacknode1 {layout.TEAM_ENVS}/hacknode1")
    assert lines[3:6] == [f"hn_end_team hacknode2 {teams}/hacknode2", "hn_archive hacknode2",
                          lines[2].replace("hacknode1", "hacknode2")]
    assert lines[6] == "hn_service nginx reload" and lines[7:] in ([], ["systemctl daemon-reload"])
    assert not (tmp_path / "class").exists()
