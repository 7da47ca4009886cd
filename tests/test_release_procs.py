"""A release's Procfile, release.sh's side (deploy/remote/release-procs.sh), run for real on local folders: the release
command `prepare` runs before anything is switched, and what a failed health check names (the workers' side:
test_release_workers.py). The helpers here serve both."""
import getpass
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from test_team_release import IDS, LocalPaths, local_tools

from deploy.core import commands, layout, wheels
from deploy.remote import team_procs_run

HOST = "team.class.example"
SETTINGS = ("BOT_TOKEN=t0ken\nMONGO_URI=mongodb://team:pw@db.example/team\nSECRET_KEY=not secret, with spaces\n"
            "REMOVED_NAME\n")
FAKE_HEALTHZ = """import os, sys
# the class nginx's probe, here: the release `current` points at answers 200 with its id, unless its web is broken
# (then uwsgi would have logged why)
current = sys.argv[0] + ".current"
if sys.argv[1] == "--scheme":
    print("http")
elif os.path.exists(os.path.join(current, "broken")):
    print("502 -")
    with open(sys.argv[0] + ".log", "a") as log:
        log.write("Traceback (most recent call last):\\n"
                  "AttributeError: module 'src.app' has no attribute 'create_app'\\n")
else:
    print("200", open(os.path.join(current, "RELEASE")).read().strip())
"""
# what team-procs runs for each worker (by its Procfile key), here: one runs on, one fails at its start as a bad import
# does, one needs a setting
FAKE_TEAM_PROCS = """#!/bin/sh
case "$2" in
    worker-token) grep -q ^BOT_TOKEN= SETTINGS || { echo "bot: BOT_TOKEN is not set"; exit 1; }; exec sleep 600 ;;
    worker-bot) echo "bot: waiting for messages"; exec sleep 600 ;;
    worker-crasher) echo "Traceback (most recent call last):"; echo "ModuleNotFoundError: No module named 'crasher_bot'"
             exit 1 ;;
esac
"""


@pytest.fixture
def team(tmp_path):
    """A team's home under tmp_path, named after this user (release.sh finds its uwsgi master by the user)."""
    paths = LocalPaths(tmp_path, team=getpass.getuser())
    for folder in (paths.releases, paths.envs, paths.run_dir, paths.log_dir, f"{paths.home}/tmp",
                   Path(paths.mongo_uri_file).parent, Path(paths.uwsgi_ini).parent):
        Path(folder).mkdir(parents=True, exist_ok=True)
    Path(paths.mongo_uri_file).write_text(SETTINGS)
    Path(paths.uwsgi_log).touch()
    healthz = tmp_path / "healthz"
    healthz.write_text(FAKE_HEALTHZ)
    Path(f"{healthz}.current").symlink_to(paths.current)
    Path(f"{healthz}.log").symlink_to(paths.uwsgi_log)
    tools = Path(local_tools(tmp_path, uv=False))
    (tools / "team-procs").write_text(FAKE_TEAM_PROCS.replace("SETTINGS", paths.mongo_uri_file))
    (tools / "team-procs").chmod(0o755)
    return paths


def release_sh(paths, *args, seconds=None, health_wait=None, environment=None, changes=None):
    """release.sh as the team runs it, with the fake health check; `seconds`: the release command's time limit,
    `health_wait`: how long a release has to answer its health check; `changes`: its stdin (`settings`)."""
    tools = local_tools(paths.root)
    script = commands.release_script_text(paths, keep=5, make_venv=tools + "/make-venv",
                                          procfile_tool=tools + "/procfile").replace(
        f"healthz={layout.HEALTHZ_TOOL}\n", f"healthz={paths.root}/healthz\n")
    if seconds:
        script = script.replace("\nRELEASE_SECONDS=600 ", f"\nRELEASE_SECONDS={seconds} ")
    if health_wait:
        script = script.replace("\nHEALTH_WAIT=20 ", f"\nHEALTH_WAIT={health_wait} ")
    done = subprocess.run(["bash", "-c", script, "release.sh", *args], capture_output=True, text=True, timeout=120,
                          env=environment, input=changes)
    return done.returncode, done.stdout, done.stderr


def new_release(paths, rid, release=None, workers=()):
    """An uploaded release whose Procfile asks for `release` and `workers`, and what `procfile write` made of it (as
    prepare does; the fake team-procs in place of the server's); returns its requirements hash. Its virtualenv has a
    program `hello` of its own."""
    folder = Path(paths.releases) / rid
    (folder / layout.PROCS_DIR).mkdir(parents=True)
    (folder / "requirements.txt").write_text("")
    (folder / "RELEASE").write_text(rid + "\n")
    wanted = wheels.requirements_hash(folder / "requirements.txt")
    env = Path(paths.envs) / wanted
    (env / "bin").mkdir(parents=True, exist_ok=True)
    (env / ".hacknode-complete").touch()
    (env / "bin" / "hello").write_text("#!/bin/sh\necho \"hello from the release's virtualenv\"\n")
    (env / "bin" / "hello").chmod(0o755)
    (folder / "rapid-env").symlink_to(f"../../envs/{wanted}")
    procs = {"web": "app.wsgi:app", "health": "/healthz", "static": [], "release": release,
             "workers": {name: "python -m " + name for name in workers}, "cron": {}}
    (folder / layout.PROCS_DIR / "procs.json").write_text(json.dumps(procs))
    (folder / "Procfile").write_text("web: app.wsgi:app\n" + (f"release: {release}\n" if release else "") +
                                     "".join(f"{name}: python -m {name}\n" for name in workers))
    (folder / layout.PROCS_DIR / "uwsgi.ini").write_text("[uwsgi]\n" + "".join(
        f"attach-daemon = {paths.root}/opt-hacknode-bin/team-procs worker {name}\n" for name in workers))
    return wanted


def live(paths):
    return os.readlink(paths.current).split("/")[-1]


def listing(paths):
    return release_sh(paths, "list")[1].splitlines()


def test_a_failing_release_command_keeps_the_live_release_and_says_why(team):
    new_release(team, IDS[0])
    Path(team.current).symlink_to(f"releases/{IDS[0]}")
    wanted = new_release(team, IDS[1], release="echo migrating users; echo 'no such table: users' >&2; exit 3")
    code, out, err = release_sh(team, "deploy", IDS[1], wanted, HOST)
    assert code == 1
    assert f"[{team.team}] release: migrating users" in out           # streamed as it came
    assert (f"FAILED: the release command of release {IDS[1]} (echo migrating users; echo 'no such table: users' "
            ">&2; exit 3): exit code 3; its last lines:\n  | migrating users\n  | no such table: users\n") in err
    assert err.splitlines()[-1] == (f"HN-FAIL [{team.team}] release {IDS[1]} is not live: its release command (echo "
                                    "migrating users; echo 'no such table: users' >&2; exit 3) failed, exit code 3; "
                                    f"nothing was switched, the live release {IDS[0]} is unchanged")
    assert "switching" not in out and live(team) == IDS[0]
    assert f"  {IDS[1]}  (failed its release command (exit code 3))" in listing(team)
    code, out, err = release_sh(team, "activate", IDS[1], HOST)        # never made live afterwards
    assert code == 1 and "failed before; not switching" in err and live(team) == IDS[0]


def test_the_release_command_runs_in_the_release_with_the_teams_settings_and_nothing_of_its_callers(team):
    wanted = new_release(team, IDS[0], release="hello; pwd; env | sort")
    root_like = {**os.environ, "HACKNODE_ADMIN_SECRET": "root's", "HOME": "/root", "PATH": "/usr/sbin:/usr/bin:/bin"}
    code, out, err = release_sh(team, "prepare", IDS[0], wanted, environment=root_like)
    assert code == 0, out + err
    said = [line.split("release: ", 1)[1] for line in out.splitlines() if line.startswith(f"[{team.team}] release: ")]
    assert said[:2] == ["hello from the release's virtualenv", f"{team.releases}/{IDS[0]}"]
    environment = dict(line.split("=", 1) for line in said[2:])
    assert environment.pop("PWD", None) in (None, f"{team.releases}/{IDS[0]}")
    assert environment == {"BOT_TOKEN": "t0ken", "MONGO_URI": "mongodb://team:pw@db.example/team",
                           "SECRET_KEY": "not secret, with spaces",
                           "PATH": f"{team.releases}/{IDS[0]}/rapid-env/bin:/usr/local/bin:/usr/bin:/bin",
                           "HOME": team.home, "TMPDIR": f"{team.home}/tmp", "LANG": "C.UTF-8", "USER": team.team,
                           "LOGNAME": team.team, "VIRTUAL_ENV": f"{team.releases}/{IDS[0]}/rapid-env"}
    assert environment == team_procs_run.environment(team, f"{team.releases}/{IDS[0]}", {})    # as workers have it
    assert f"release {IDS[0]}: release command: ok" in out and f"release {IDS[0]}: prepared" in out
    assert listing(team) == [f"  {IDS[0]}  (rapid-env -> {wanted})"]


def test_a_release_command_past_its_time_is_stopped_and_what_it_left_running_holds_nothing(team):
    wanted = new_release(team, IDS[0], release="echo started; setsid sleep 30 & sleep 60")
    started = time.monotonic()
    code, out, err = release_sh(team, "prepare", IDS[0], wanted, seconds=1)
    assert code == 1 and time.monotonic() - started < 15
    assert f"[{team.team}] release: started" in out
    assert f"FAILED: the release command of release {IDS[0]} (echo started; setsid sleep 30 & sleep 60): stopped " \
           "after 1s (the most it may take)" in err
    assert f"  {IDS[0]}  (failed its release command (stopped after 1s (the most it may take)))" in listing(team)


def test_a_release_without_a_procfile_or_made_before_procfiles_runs_no_release_command_and_no_worker(team):
    wanted = new_release(team, IDS[0])
    (Path(team.releases) / IDS[0] / "Procfile").unlink()                  # Rapid News: no Procfile
    code, out, err = release_sh(team, "prepare", IDS[0], wanted)
    assert code == 0 and "release command" not in out + err and f"release {IDS[0]}: prepared" in out
    Path(team.current).symlink_to(f"releases/{IDS[0]}")
    new_release(team, IDS[1], release="false", workers=["worker"])
    shutil.rmtree(Path(team.releases) / IDS[1] / layout.PROCS_DIR)     # prepared before Procfiles: nothing of them
    code, out, err = release_sh(team, "activate", IDS[1], HOST)
    assert code == 0 and "still running" not in out and live(team) == IDS[1], out + err


def test_a_web_that_does_not_answer_is_named_by_its_entry_point_with_the_log_that_says_why(team):
    new_release(team, IDS[0])
    Path(team.current).symlink_to(f"releases/{IDS[0]}")
    new_release(team, IDS[1])
    (Path(team.releases) / IDS[1] / layout.PROCS_DIR / "web").write_text("src.app:create_app()\n")
    (Path(team.releases) / IDS[1] / "broken").touch()
    code, out, err = release_sh(team, "activate", IDS[1], HOST, health_wait=1)
    assert code == 1
    failed = (f"web (entry point src.app:create_app()) did not answer http://{HOST}/healthz below 500 with its id "
              "(waited up to 1s; last answer: 502 -)")
    assert f"FAILED: release {IDS[1]}: {failed}" in err
    assert err.splitlines()[-1] == f"HN-FAIL [{team.team}] release {IDS[1]} is not live: {failed}"
    assert "  | AttributeError: module 'src.app' has no attribute 'create_app'" in err
    assert f"release {IDS[0]} is serving again" in out and live(team) == IDS[0]
    assert f"  {IDS[1]}  (failed its health check)" in listing(team)
