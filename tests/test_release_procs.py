"""A release's Procfile, release.sh's side (deploy/remote/release-procs.sh), run for real on local folders: the release
command `prepare` runs before anything is switched, and the workers a real uwsgi master (this checkout's pyuwsgi) starts
after each switch, which must keep running, else the previous release comes back."""
import getpass
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_team_release import IDS, LocalPaths, local_tools

from deploy.core import commands, layout, wheels

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
    script = commands.release_script_text(paths, keep=5, make_venv=local_tools(paths.root) + "/make-venv").replace(
        f"healthz={layout.HEALTHZ_TOOL}\n", f"healthz={paths.root}/healthz\n")
    if seconds:
        script = script.replace("\nRELEASE_SECONDS=600 ", f"\nRELEASE_SECONDS={seconds} ")
    if health_wait:
        script = script.replace("\nHEALTH_WAIT=20 ", f"\nHEALTH_WAIT={health_wait} ")
    done = subprocess.run(["bash", "-c", script, "release.sh", *args], capture_output=True, text=True, timeout=120,
                          env=environment, input=changes)
    return done.returncode, done.stdout, done.stderr


def new_release(paths, rid, release=None, workers=()):
    """An uploaded release whose `procfile write` asked for `release` and `workers`; returns its requirements hash.
    Its virtualenv has a program `hello` of its own."""
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


def test_a_release_without_a_release_command_or_procs_is_prepared_as_before(team):
    wanted = new_release(team, IDS[0])
    (Path(team.releases) / IDS[0] / layout.PROCS_DIR / "procs.json").unlink()
    code, out, err = release_sh(team, "prepare", IDS[0], wanted)
    assert code == 0 and "release command" not in out + err and f"release {IDS[0]}: prepared" in out


def test_a_web_that_does_not_answer_is_named_by_its_entry_point_with_the_log_that_says_why(team):
    new_release(team, IDS[0])
    Path(team.current).symlink_to(f"releases/{IDS[0]}")
    new_release(team, IDS[1])
    (Path(team.releases) / IDS[1] / layout.PROCS_DIR / "web").write_text("src.app:create_app()\n")
    (Path(team.releases) / IDS[1] / "broken").touch()
    code, out, err = release_sh(team, "activate", IDS[1], HOST, health_wait=1)
    assert code == 1
    failed = (f"web (entry point src.app:create_app()) did not answer http://{HOST}/healthz as healthy with its id "
              "(waited up to 1s; last answer: 502 -)")
    assert f"FAILED: release {IDS[1]}: {failed}" in err
    assert err.splitlines()[-1] == f"HN-FAIL [{team.team}] release {IDS[1]} is not live: {failed}"
    assert "  | AttributeError: module 'src.app' has no attribute 'create_app'" in err
    assert f"release {IDS[0]} is serving again" in out and live(team) == IDS[0]
    assert f"  {IDS[1]}  (failed its health check)" in listing(team)


@pytest.fixture
def uwsgi(team):
    """The team's uwsgi master, as supervisor runs it (its output into the team's uwsgi log): no app, its workers
    from the live release's .hacknode-procs/uwsgi.ini."""
    Path(team.uwsgi_ini).write_text(f"""[uwsgi]
strict = true
master = true
processes = 1
socket = {team.socket}
chdir = {team.current}
master-fifo = {team.master_fifo}
binary-path = {sys.executable}
die-on-term = true
if-exists = {team.current}/{layout.PROCS_DIR}/uwsgi.ini
  ini = %(_)
endif =
""")

    masters, stop = [], threading.Event()

    def supervise():        # as supervisor does: a master that exits is started again (a hard restart's new master)
        while not stop.is_set():
            with open(team.uwsgi_log, "ab") as log:
                masters.append(subprocess.Popen([str(Path(sys.executable).parent / "uwsgi"), "--ini", team.uwsgi_ini],
                                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
            masters[-1].wait()
    supervisor = threading.Thread(target=supervise, daemon=True)
    yield supervisor.start
    stop.set()
    for master in masters:
        if master.poll() is None:
            master.send_signal(signal.SIGINT)
            try:
                master.wait(10)
            except subprocess.TimeoutExpired:
                master.kill()
    supervisor.join(10)


def log_text(paths):
    return Path(paths.uwsgi_log).read_text()


def wait_for(predicate, seconds=15):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.1)


def test_a_worker_that_dies_at_its_start_brings_the_previous_release_and_its_workers_back(team, uwsgi):
    new_release(team, IDS[1], workers=["worker-bot"])
    Path(team.current).symlink_to(f"releases/{IDS[1]}")
    uwsgi()
    wait_for(lambda: 'spawning "' in log_text(team))
    new_release(team, IDS[2], workers=["worker-bot", "worker-crasher"])
    code, out, err = release_sh(team, "activate", IDS[2], HOST)
    assert code == 1
    assert f"FAILED: release {IDS[2]}: worker-crasher exited within 3s of its start" in err
    assert err.splitlines()[-1] == (f"HN-FAIL [{team.team}] release {IDS[2]} is not live: worker-crasher exited "
                                    "within 3s of its start (its log is above)")
    tail = err.split("says since its start:\n", 1)[1]
    assert "  | ModuleNotFoundError: No module named 'crasher_bot'" in tail
    assert f"switching back: {IDS[2]} -> {IDS[1]}" in out and f"release {IDS[1]} is serving again" in out
    assert f"release {IDS[1]}: still running 3s after uwsgi started them: worker-bot" in out
    assert live(team) == IDS[1]
    assert f"  {IDS[2]}  (failed to keep worker-crasher running)" in listing(team)
    back = log_text(team).rsplit("[uwsgi-daemons] spawning", 2)     # the previous release's workers, on the way back
    assert "worker worker-bot" in back[-1] and "crasher" not in back[-1] and "worker worker-bot" in back[-2]


def test_reload_and_restart_check_the_live_releases_workers_too(team, uwsgi):
    new_release(team, IDS[0], workers=["worker-bot"])
    Path(team.current).symlink_to(f"releases/{IDS[0]}")
    uwsgi()
    wait_for(lambda: 'spawning "' in log_text(team))
    code, out, err = release_sh(team, "reload", HOST)
    assert code == 0, out + err
    assert f"release {IDS[0]}: still running 3s after uwsgi started them: worker-bot" in out
    (Path(team.releases) / IDS[0] / layout.PROCS_DIR / "uwsgi.ini").write_text(
        f"[uwsgi]\nattach-daemon = {team.root}/opt-hacknode-bin/team-procs worker worker-crasher\n")
    code, out, err = release_sh(team, "reload", HOST)
    assert code == 1 and f"HN-FAIL [{team.team}] release {IDS[0]}: worker-crasher exited within 3s" in err
    code, out, err = release_sh(team, "restart", HOST)
    assert code == 1 and f"HN-FAIL [{team.team}] release {IDS[0]}: worker-crasher exited within 3s" in err
    assert "uwsgi: started, master pid" in out and live(team) == IDS[0]


def test_workers_a_uwsgi_never_started_fail_the_reload_by_name(team, uwsgi):
    """A team's uwsgi.ini from before Procfiles takes no release's fragment: the workers would never run."""
    new_release(team, IDS[0], workers=["worker", "worker-feeds"])
    Path(team.current).symlink_to(f"releases/{IDS[0]}")
    ini = Path(team.uwsgi_ini)
    ini.write_text(ini.read_text().split("if-exists")[0])
    uwsgi()
    wait_for(lambda: "spawned uWSGI worker 1" in log_text(team))
    code, out, err = release_sh(team, "reload", HOST, health_wait=2)
    assert code == 1
    assert f"HN-FAIL [{team.team}] release {IDS[0]}: worker, worker-feeds not started by uwsgi within 2s" in err


def test_settings_a_worker_cannot_run_with_are_given_back_and_it_runs_again(team, uwsgi):
    new_release(team, IDS[0], workers=["worker-token"])
    Path(team.current).symlink_to(f"releases/{IDS[0]}")
    uwsgi()
    wait_for(lambda: 'spawning "' in log_text(team))
    code, out, err = release_sh(team, "settings", HOST, changes="BOT_TOKEN\n")
    assert code == 1
    assert f"FAILED: with the new settings, release {IDS[0]} worker-token exited within 3s of its start" in err
    assert "  | bot: BOT_TOKEN is not set" in err
    assert "BOT_TOKEN=t0ken" in Path(team.mongo_uri_file).read_text().splitlines()
    assert f"release {IDS[0]}: still running 3s after uwsgi started them: worker-token" not in out
    code, out, err = release_sh(team, "reload", HOST)
    assert code == 0, out + err
    assert f"release {IDS[0]}: still running 3s after uwsgi started them: worker-token" in out
