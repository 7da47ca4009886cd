"""`team-procs worker NAME` as uwsgi starts it (a daemon: `/bin/sh -c '<team-procs> worker NAME'` in a session of its
own, in the release): the worker's command runs in the release with the team's environment, dies with uwsgi's daemon,
and never runs twice: what an instance left behind (its uwsgi master killed) is stopped by the next one."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.test_team_procs import installed, real_home, wait_for


def start_daemon(program, paths):
    """What uwsgi's attach-daemon does: /bin/sh -c COMMAND, setsid, from the master's working folder (the release)."""
    return subprocess.Popen(["/bin/sh", "-c", f"{program} worker worker"], cwd=os.path.realpath(paths.current),
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def pids_of(marker):
    return [int(p) for p in subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()]


def setup_worker(tmp_path, command):
    program, paths = installed(tmp_path), real_home(tmp_path, {})
    procs = Path(os.path.realpath(paths.current)) / ".hacknode-procs" / "procs.json"
    procs.write_text(json.dumps({"workers": {"worker": command}, "cron": {}}))
    return program, paths


def test_a_worker_runs_in_the_release_with_the_teams_settings_and_the_releases_virtualenv_first(tmp_path):
    out = tmp_path / "seen"
    program, paths = setup_worker(tmp_path, f'echo "$PWD|$FLASK_MONGO_URI|${{PATH%%:*}}|$HOME" > {out}')
    daemon = start_daemon(program, paths)
    assert daemon.wait(10) == 0
    release = os.path.realpath(paths.current)
    assert out.read_text() == f"{release}|mongodb://x y|{release}/rapid-env/bin|{paths.home}\n"


def test_a_worker_left_behind_by_a_killed_master_is_stopped_by_the_next_one(tmp_path):
    marker = f"sleep 3{os.getpid() % 1000}1"
    program, paths = setup_worker(tmp_path, f"{marker}; echo again")      # a command the shell does not exec
    first = start_daemon(program, paths)
    wait_for(lambda: pids_of(marker))
    left = pids_of(marker)
    first.kill()                        # the master killed: the kernel kills its daemons, not what they started
    first.wait()
    time.sleep(0.5)
    survivors = pids_of(marker)         # the worker's shell died with the daemon; its command did not
    assert survivors and len(survivors) < len(left) and set(survivors) <= set(left)
    second = start_daemon(program, paths)
    try:
        wait_for(lambda: set(pids_of(marker)) - set(left))
        time.sleep(0.3)
        assert not set(left) & set(pids_of(marker))         # the earlier instance was stopped: one worker runs
    finally:
        os.killpg(second.pid, signal.SIGKILL)
        second.wait()
    wait_for(lambda: not pids_of(marker), 5)                # the daemon's group holds all of it
