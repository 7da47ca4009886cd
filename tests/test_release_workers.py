"""A release's workers, release.sh's side (deploy/remote/release-procs.sh): a real uwsgi master (this checkout's
pyuwsgi, as supervisor runs it) starts them from the live release's .hacknode-procs/uwsgi.ini; after each switch, reload,
restart and settings change they must keep running, else the previous release (or settings) comes back."""
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_release_procs import HOST, live, listing, new_release, release_sh, team  # noqa: F401  (team: the fixture)
from test_team_release import IDS

from deploy.core import layout


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


def test_the_failed_release_is_the_one_named_even_when_the_previous_ones_workers_fail_too(team, uwsgi):
    new_release(team, IDS[1], workers=["worker-crasher"])            # already failing when the deploy begins
    Path(team.current).symlink_to(f"releases/{IDS[1]}")
    uwsgi()
    wait_for(lambda: 'spawning "' in log_text(team))
    new_release(team, IDS[2], workers=["worker-gone"])                # exits at once, saying nothing
    code, out, err = release_sh(team, "activate", IDS[2], HOST)
    assert code == 1 and live(team) == IDS[1]
    assert f"FAILED: release {IDS[1]}: worker-crasher exited within 3s" in err          # said on the way back
    assert err.splitlines()[-1] == (f"HN-FAIL [{team.team}] release {IDS[2]} is not live: worker-gone exited within "
                                    "3s of its start (its log is above)")
    assert f"  {IDS[2]}  (failed to keep worker-gone running)" in listing(team)
