"""What runs on servers, as its builders make it (the strings), and the server-side programs run here for real
(no SSH): the facts script, the database chores against a real SecantusDB."""
import os
import re
import subprocess
import sys

import fabric
import pymongo
import pytest
from invoke.runners import Result

from deploy.core import commands, layout, runner
from deploy.core.errors import ProvisionError
from deploy.core.layout import TeamPaths
from deploy.provision.facts import Facts
from deploy.team import backup_file
from lab import localdb


def run_here(command, env=None):
    """Run a built command on this machine as sshd would run its line."""
    return subprocess.run(["bash", "-c", command.line()], capture_output=True, text=True,
                          input=command.stdin, env=env)


def test_a_program_is_quoted_word_by_word():
    command = commands.program("list", "ls", "-l", "a file; rm -rf /")
    assert command.line() == "ls -l 'a file; rm -rf /'"
    assert commands.log_end(TeamPaths("hacknode2")).line() == "tail -c 800 /var/log/hacknode/hacknode2/uwsgi.log"


def test_root_commands_go_through_sudo_only_for_an_admin_who_is_not_root():
    status = commands.class_status("class.example.org", "main.example.org")
    assert status.root and status.line() == ("/opt/hacknode/venv/bin/python /opt/hacknode/bin/class_collect.py "
                                             "class.example.org main.example.org all")
    assert runner.command_line(fabric.Connection("h", user="root"), status) == status.line()
    assert runner.command_line(fabric.Connection("h", user="ada"), status) == "sudo -n " + status.line()
    restart = commands.release(TeamPaths("hacknode2"), "restart", "hacknode2.example.org")   # as the team: no sudo
    assert not restart.root and runner.command_line(fabric.Connection("h", user="hacknode2"), restart) == restart.line()


def test_secrets_travel_on_stdin_never_in_the_command_line():
    command = commands.apply_bundle("hacknode-upload-1.tar.gz", "mongodb://admin:s3cret@db/admin\n")
    assert "s3cret" not in command.line() and command.stdin.startswith("mongodb://admin:s3cret@")


def test_the_facts_script_reports_this_machine_and_parses_into_facts(tmp_path):
    (tmp_path / "managed.conf").write_text("# managed by hacknode\n")
    query = {"commands": ["bash", "no-such-command-here"], "users": ["root", "no-such-user-here"],
             "files": [str(tmp_path / "managed.conf"), str(tmp_path / "absent")], "paths": [str(tmp_path)],
             "teams_glob": str(tmp_path / "teams" / "*"), "running": {"nothing": ["no-such-process-here", "root"],
                                                             "ours": ["hn-decoy", "root"], "decoy": ["hn-decoy", "daemon"]},
             "slice_dropin": str(tmp_path / "user-{uid}.slice.d" / "50-hacknode.conf"), "homes": str(tmp_path),
             "crontabs": str(tmp_path / "crontabs"), "at_jobs": str(tmp_path / "atjobs")}
    (tmp_path / "crontabs").mkdir()
    (tmp_path / "crontabs" / "root").write_text("* * * * * true\n")      # root's crontab, and two at jobs of root's
    (tmp_path / "atjobs").mkdir()
    (tmp_path / "atjobs" / "a0000101a").write_text("true\n")
    (tmp_path / "atjobs" / "b0000201a").write_text("true\n")
    (tmp_path / "atjobs" / ".SEQ").write_text("2\n")
    (tmp_path / "user-0.slice.d").mkdir()
    (tmp_path / "user-0.slice.d" / "50-hacknode.conf").write_text("[Slice]\nTasksMax=64\n")
    (tmp_path / "hn-decoy").write_bytes(open("/bin/sleep", "rb").read())      # a process named so, as root only
    (tmp_path / "hn-decoy").chmod(0o755)
    decoy = subprocess.Popen([str(tmp_path / "hn-decoy"), "30"])
    try:
        done = run_here(commands.read_facts(query))
    finally:
        decoy.kill()
    facts = Facts.parse(done.stdout)
    python3 = subprocess.run(["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    assert facts.python == python3
    assert facts.commands == {"bash": True, "no-such-command-here": False}
    assert facts.users == {"root": True, "no-such-user-here": False}
    assert facts.groups["root"] == {"gid": 0, "members": facts.groups["root"]["members"]}   # a team must not join one
    assert facts.groups["no-such-user-here"] is None
    assert facts.scheduled_jobs == {"root": 3, "no-such-user-here": 0}
    assert facts.file_text(str(tmp_path / "managed.conf")) == "# managed by hacknode\n"
    assert facts.files[str(tmp_path / "absent")] is None and facts.file_text(str(tmp_path / "absent")) is None
    assert facts.paths[str(tmp_path)].text is None and facts.has(str(tmp_path))
    assert facts.running == {"nothing": False, "ours": True, "decoy": False}   # a process counts as its user's alone
    assert facts.slices == {"root": "[Slice]\nTasksMax=64\n", "no-such-user-here": None}   # found by the user's uid
    mount = subprocess.run(["findmnt", "-n", "-o", "TARGET", "--target", str(tmp_path)], capture_output=True,
                           text=True).stdout.strip()
    assert facts.quota == {"mount": mount, "on": False, "limits": {}}       # no user quotas on this machine


def test_output_that_is_not_facts_is_one_clear_error():
    with pytest.raises(ProvisionError, match="s1: the server's state could not be read"):
        Facts.parse("Welcome to the server!\n{", "s1")


def test_a_failure_says_the_scripts_reason_else_the_tail_of_its_output():
    failed = Result(stdout="", stderr="step\nHN-FAIL nginx -t refused the new config\n", exited=3)
    assert runner.failure_reason(failed, shown=False) == "nginx -t refused the new config"
    noisy = Result(stdout="", stderr="".join(f"line {n}\n" for n in range(40)), exited=2)
    reason = runner.failure_reason(noisy, shown=False)
    assert reason.startswith("exit 2: line 25\n") and reason.endswith("line 39")
    assert runner.failure_reason(noisy, shown=True) == "exit 2 (its output is above)"


def test_the_release_script_carries_the_teams_paths_and_the_servers_health_probe():
    text = commands.release_script_text(TeamPaths("hacknode2"))
    header = text.split("\n# shellcheck shell=bash\n")[0].splitlines()
    assert f"healthz={layout.HEALTHZ_TOOL}" in header
    assert "python3 \"$healthz\" --path \"$health_path\" \"$1\"" in text
    # the names release.sh declares as its inputs are exactly those set before it
    declared = re.findall(r"\$\{(\w+):\?\}", commands.remote_file("release.sh"))
    assert set(declared) == {line.split("=")[0] for line in header}
    # one text: every file it sources is in it (the server has none of them)
    assert not commands.SOURCED.search(text) and "hn_uwsgi_master() {" in text and "cmd_settings() {" in text


def test_the_release_script_starts_with_the_layout_paths_and_the_procfile_checker():
    text = commands.release_script_text(TeamPaths("hacknode2"), keep=3)
    head = text.split("\n# shellcheck shell=bash\n")[0].splitlines()
    assert "releases=/home/hacknode2/releases" in head
    assert "current=/home/hacknode2/current" in head
    assert "wheelhouses='/home/hacknode2/wheels /opt/hacknode/wheels'" in head
    assert "keep=3" in head
    assert f"procfile_tool={layout.PROCFILE_TOOL}" in head
    assert 'python3 "$procfile_tool" write "$dir"' in text


@pytest.fixture(scope="module")
def bare_database(tmp_path_factory):
    with localdb.running(tmp_path_factory.mktemp("tooldb") / "data") as db:
        yield db.base_uri + "/"


def mongo_tool(*args, **env):
    program = commands.RemoteCommand("mongo-tool", args, commands.remote_file("mongo_tool.py"),
                                     interpreter=sys.executable)
    return run_here(program, env={**os.environ, **env})


def test_the_database_chores_make_a_team_user_dump_its_data_and_drop_it(bare_database, tmp_path):
    assert mongo_tool("wait", "HN_ADMIN_URI", "10", HN_ADMIN_URI=bare_database).returncode == 0
    made = mongo_tool("team-user", "toolteam", HN_ADMIN_URI=bare_database, HN_PW="pw-1")
    assert made.returncode == 0, made.stderr
    again = mongo_tool("team-user", "toolteam", HN_ADMIN_URI=bare_database, HN_PW="pw-2")   # a rerun
    assert again.returncode == 0, again.stderr
    client = pymongo.MongoClient(bare_database)
    user = client.toolteam.command("usersInfo", "toolteam")["users"][0]
    assert user["roles"] == [{"role": "readWrite", "db": "toolteam"}]
    client.toolteam.articles.insert_one({"title": "Kept", "score": 5})
    # a removed team's archive: its database in `fab backup`'s format, dumped by root through the admin URI
    team_db = commands.RemoteCommand("team-db", ("dump", tmp_path / "db.tar.gz", "toolteam", "toolteam"),
                                     commands.remote_file("team_db.py"), interpreter=sys.executable)
    dumped = run_here(team_db, env={**os.environ, "HN_ADMIN_URI": bare_database})
    assert dumped.returncode == 0, dumped.stderr
    assert backup_file.read_manifest(tmp_path / "db.tar.gz").collections == {"articles": {"documents": 1, "indexes": 1}}
    assert mongo_tool("drop-team", "toolteam", HN_ADMIN_URI=bare_database).returncode == 0
    assert "toolteam" not in client.list_database_names()
    assert not client.toolteam.command("usersInfo", "toolteam")["users"]
    assert "unknown command" in mongo_tool("nonsense", HN_ADMIN_URI=bare_database).stderr


def test_the_database_cap_makes_a_team_read_only_over_it_and_read_write_again_under(bare_database, tmp_path):
    """Root's check (class page, provisioning): the role of a team over its database_mb becomes read, its data and
    indexes counted (dbStats dataSize + indexSize); once the team deleted enough, readWrite again. A team whose role
    is already right is not printed (its uwsgi is reloaded only on a change)."""
    for team in ("capped", "roomy"):
        assert mongo_tool("team-user", team, HN_ADMIN_URI=bare_database, HN_PW="pw").returncode == 0
        (tmp_path / team).write_text(f"# managed by hacknode: {team}'s database_mb\n{1 if team == 'capped' else 64}\n")
    client = pymongo.MongoClient(bare_database)
    for team in ("capped", "roomy"):
        client[team].articles.insert_many([{"body": "x" * 100_000} for _ in range(12)])     # 1.2 MB each
    roles = lambda team: client[team].command("usersInfo", team)["users"][0]["roles"]   # noqa: E731
    checked = mongo_tool("caps", str(tmp_path), HN_ADMIN_URI=bare_database)
    assert (checked.returncode, checked.stdout) == (0, "capped read\n"), checked.stderr
    assert roles("capped") == [{"role": "read", "db": "capped"}, {"role": "hacknodeShrink", "db": "capped"}]
    assert roles("roomy") == [{"role": "readWrite", "db": "roomy"}]
    assert mongo_tool("caps", str(tmp_path), HN_ADMIN_URI=bare_database).stdout == ""       # no change: nothing
    client.capped.articles.delete_many({})
    assert mongo_tool("caps", str(tmp_path), HN_ADMIN_URI=bare_database).stdout == "capped readWrite\n"
    assert roles("capped") == [{"role": "readWrite", "db": "capped"}]
    assert "roomy 1" in mongo_tool("sizes", "roomy", HN_ADMIN_URI=bare_database).stdout   # 1.2 MB: its KiB


def test_roots_python_imports_nothing_from_the_folder_it_runs_in(tmp_path):
    """python3 -c puts its working folder first on sys.path: a json.py there would run as root (a team's folder,
    one day). Root's Python scripts run isolated (-I)."""
    (tmp_path / "json.py").write_text("open('imported-from-here', 'w').write('json.py ran')\n")
    command = commands.read_facts({})
    assert command.line().startswith("python3 -I -c ")
    subprocess.run(["bash", "-c", command.line()], cwd=tmp_path, capture_output=True, timeout=60)
    assert not (tmp_path / "imported-from-here").exists()


def test_a_team_command_runs_in_the_live_release_with_the_settings_exported_as_written(tmp_path):
    settings, current = tmp_path / "mongo_uri", tmp_path / "current"
    current.mkdir()
    settings.write_text("FLASK_MONGO_URI=mongodb://t:p$w`x`@h/t\n\nFLASK_NOTE=two words; $(no)\n")
    paths = type("Paths", (), {"mongo_uri_file": str(settings), "current": str(current)})
    command = commands.with_settings(paths, "show", "sh", "-c", 'echo "$PWD|$FLASK_MONGO_URI|$FLASK_NOTE|$0"', "a b")
    done = subprocess.run(["bash", "-c", command.line()], capture_output=True, text=True, timeout=30)
    assert done.stdout == f"{current}|mongodb://t:p$w`x`@h/t|two words; $(no)|a b\n", done.stderr
