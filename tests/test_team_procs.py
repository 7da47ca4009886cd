"""team-procs (deploy/remote/team_procs.py), the team's workers and cron runner: which minutes it runs and which jobs
are due (a fake clock), one run in a temporary home with real locks and records (a job never overlaps itself, a minute
runs once whichever runner claims it, no job starts during a release's switch, a run past its time is stopped), and
the installed program run for real: it runs a due job at once, stops on SIGTERM, and a run outlives its runner."""
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.remote import cron_records, team_procs, team_procs_run

REPO = Path(__file__).resolve().parents[1]


def every_minute_or_on_minute(schedule, moment):
    """A stand-in for deploy/core/procfile.cron_matches: "* * * * *" or "M * * * *" only."""
    minute = schedule.split()[0]
    return minute == "*" or int(minute) == moment.minute


# ---------- the runner's minutes and due jobs (pure) ----------

def test_the_runner_handles_the_current_minute_at_start_then_each_minute_once():
    assert team_procs.minutes_to_run(None, 600.5) == [600]          # started: the current minute (a reload's)
    assert team_procs.minutes_to_run(None, 657.0) == []             # started late in it: from the next one on
    assert team_procs.minutes_to_run(600, 659.9) == []              # same minute: nothing again
    assert team_procs.minutes_to_run(600, 660.2) == [660]
    assert team_procs.minutes_to_run(600, 780.0) == [660, 720, 780]     # a slow round: the minutes missed, in order
    assert team_procs.minutes_to_run(600, 600 + 3600) == [4200]    # a suspended machine: only the current one


def test_only_the_jobs_whose_schedule_matches_are_due_and_a_bad_schedule_never_is():
    jobs = {"cron": {"schedule": "* * * * *"}, "cron-at-5": {"schedule": "5 * * * *"},
            "cron-bad": {"schedule": "61 * * * *"}}

    def matches(schedule, moment):
        if schedule.startswith("61"):
            raise ValueError("minute 61")
        return every_minute_or_on_minute(schedule, moment)
    minute = 1796000000 // 3600 * 3600 + 5 * 60 - time.localtime(0).tm_gmtoff % 3600
    assert team_procs.due(jobs, minute, matches) == ["cron", "cron-at-5"]
    assert team_procs.due(jobs, minute + 60, matches) == ["cron"]


def test_the_runner_spawns_each_due_run_once_per_minute_with_a_fake_clock(tmp_path, monkeypatch):
    release = make_release(tmp_path / "release", {"cron": ("* * * * *", "true")})
    monkeypatch.chdir(release)
    monkeypatch.setattr(team_procs, "cron_matches", every_minute_or_on_minute)
    now, spawned = [6000.0], []

    def sleep(seconds):
        now[0] += seconds
        if now[0] > 6000 + 185:
            team_procs_run.stopping.append("test")
    try:
        team_procs.runner(clock=lambda: now[0], sleep=sleep, spawn=lambda name, minute: spawned.append((name, minute)))
    finally:
        team_procs_run.stopping.clear()
    assert spawned == [("cron", 6000), ("cron", 6060), ("cron", 6120), ("cron", 6180)]


# ---------- one run, in a temporary home ----------

@dataclass
class Paths:                # the TeamPaths a run uses, in a temporary home
    home: str
    team: str = "hacknode1"

    def __getattr__(self, name):
        return {"cron_runs": f"{self.home}/cron", "switch_lock": f"{self.home}/run/switch.lock",
                "current": f"{self.home}/current", "mongo_uri_file": f"{self.home}/.hacknode/mongo_uri",
                "tmp": f"{self.home}/tmp"}[name]


def make_release(folder, cron, workers=None, release_id="20261207T200000Z-abc"):
    (folder / ".hacknode-procs").mkdir(parents=True)
    procs = {"workers": workers or {}, "cron": {n: {"schedule": s, "command": c} for n, (s, c) in cron.items()}}
    (folder / ".hacknode-procs" / "procs.json").write_text(json.dumps(procs))
    (folder / "RELEASE").write_text(release_id + "\n")
    (folder / "rapid-env" / "bin").mkdir(parents=True)
    return folder


def make_home(tmp_path, cron):
    home = tmp_path / "home"
    for name in ("run", ".hacknode", "tmp", "releases"):
        (home / name).mkdir(parents=True)
    (home / ".hacknode" / "mongo_uri").write_text("FLASK_MONGO_URI=mongodb://x y\nnot a setting\nNOTE=a=b $(id)\n")
    make_release(home / "releases" / "r1", cron)
    (home / "current").symlink_to("releases/r1")
    return Paths(str(home))


def record(paths, job, minute):
    return cron_records.parse((Path(paths.cron_runs) / job / cron_records.record_name(minute)).read_bytes())


def test_a_run_records_its_start_end_exit_release_and_output_tail_in_the_live_release(tmp_path):
    paths = make_home(tmp_path, {"cron": ("* * * * *", 'echo "$PWD|$FLASK_MONGO_URI|$NOTE|${PATH%%:*}|$TMPDIR";'
                                           ' head -c 9000 /dev/zero | tr "\\0" x; echo; echo done; exit 3')})
    header = team_procs_run.cron_run("cron", 6000, paths)
    assert header["status"] == "failed" and header["exit"] == 3
    found = record(paths, "cron", 6000)
    assert (found["status"], found["exit"], found["release"]) == ("failed", 3, "20261207T200000Z-abc")
    assert found["start"] <= found["end"]
    assert found["output"].endswith("x\ndone\n") and len(found["output"]) == cron_records.TAIL_BYTES
    first = team_procs_run.cron_run("cron", 6060, paths)
    assert first["status"] == "failed"
    (Path(paths.home) / "releases" / "r1" / ".hacknode-procs" / "procs.json").write_text(json.dumps(
        {"cron": {"cron": {"schedule": "* * * * *", "command": 'echo "$PWD|$FLASK_MONGO_URI|$NOTE|${PATH%%:*}"'}}}))
    team_procs_run.cron_run("cron", 6120, paths)
    release = os.path.realpath(paths.current)
    assert record(paths, "cron", 6120)["output"] == f"{release}|mongodb://x y|a=b $(id)|{release}/rapid-env/bin\n"


def test_a_minute_runs_once_whichever_runner_claims_it(tmp_path):
    paths = make_home(tmp_path, {"cron": ("* * * * *", "echo once >> $HOME/ran")})
    assert team_procs_run.cron_run("cron", 6000, paths)["status"] == "ok"
    assert team_procs_run.cron_run("cron", 6000, paths) is None          # the runner started after a reload
    assert (Path(paths.home) / "ran").read_text() == "once\n"


def test_a_run_due_while_the_previous_one_still_goes_is_skipped_and_recorded(tmp_path):
    paths = make_home(tmp_path, {"cron": ("* * * * *", "echo ran >> $HOME/ran")})
    (Path(paths.cron_runs) / "cron").mkdir(parents=True)
    with open(Path(paths.cron_runs) / "cron" / "lock", "a") as held:      # the previous run's lock
        fcntl.flock(held, fcntl.LOCK_EX)
        header = team_procs_run.cron_run("cron", 6000, paths)
    assert header["status"] == "skipped" and "previous run" in record(paths, "cron", 6000)["note"]
    assert not (Path(paths.home) / "ran").exists()


def test_no_run_starts_during_a_release_switch_and_a_due_one_runs_after_it(tmp_path):
    paths = make_home(tmp_path, {"cron": ("* * * * *", "date +%s.%N")})
    switch = open(paths.switch_lock, "a")
    fcntl.flock(switch, fcntl.LOCK_EX)                  # release.sh activate: switch, reload, health check
    released = []
    threading.Timer(1.0, lambda: (released.append(time.time()), switch.close())).start()
    header = team_procs_run.cron_run("cron", 6000, paths)
    assert header["status"] == "ok" and float(record(paths, "cron", 6000)["output"]) > released[0]


def test_a_switch_that_holds_its_lock_too_long_makes_the_run_skipped(tmp_path, monkeypatch):
    paths = make_home(tmp_path, {"cron": ("* * * * *", "echo ran >> $HOME/ran")})
    monkeypatch.setattr(team_procs_run, "SWITCH_WAIT", 0.5)
    with open(paths.switch_lock, "a") as switch:
        fcntl.flock(switch, fcntl.LOCK_EX)
        header = team_procs_run.cron_run("cron", 6000, paths)
    assert header["status"] == "skipped" and "switch" in record(paths, "cron", 6000)["note"]
    assert not (Path(paths.home) / "ran").exists()


def test_a_run_past_its_time_is_stopped_with_what_it_started_and_recorded(tmp_path, monkeypatch):
    paths = make_home(tmp_path, {"cron": ("* * * * *", "(sleep 60; echo late >> $HOME/late) & echo started; sleep 60")})
    monkeypatch.setattr(team_procs_run, "RUN_SECONDS", 1)
    started = time.monotonic()
    header = team_procs_run.cron_run("cron", 6000, paths)
    assert header["status"] == "timeout" and time.monotonic() - started < 5
    assert record(paths, "cron", 6000)["output"] == "started\n"
    time.sleep(0.5)
    assert subprocess.run(["pgrep", "-f", "sleep 60; echo late"], capture_output=True).stdout == b""
    (Path(paths.current) / ".hacknode-procs" / "procs.json").write_text(json.dumps(
        {"cron": {"cron": {"schedule": "* * * * *", "command": "echo bye; exec >/dev/null 2>&1; sleep 60"}}}))
    started = time.monotonic()
    assert team_procs_run.cron_run("cron", 6060, paths)["status"] == "timeout" and time.monotonic() - started < 5
    assert record(paths, "cron", 6060)["output"] == "bye\n"


def test_each_job_keeps_its_last_20_runs(tmp_path):
    paths = make_home(tmp_path, {"cron-often": ("* * * * *", "true")})
    for minute in range(6000, 6000 + 25 * 60, 60):
        team_procs_run.cron_run("cron-often", minute, paths)
    runs = cron_records.runs(paths.cron_runs, os.getuid())
    assert [r["due"] for r in runs["cron-often"]] == list(range(6000 + 5 * 60, 6000 + 25 * 60, 60))


# ---------- the program as provisioning installs it, run for real ----------

def installed(tmp_path):
    """team-procs with what it imports beside it, as in /opt/hacknode/bin, its layout's homes under tmp_path."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy(REPO / "deploy/remote/team_procs.py", bin_dir / "team-procs")
    (bin_dir / "team-procs").chmod(0o755)
    shutil.copy(REPO / "deploy/remote/cron_records.py", bin_dir / "cron_records.py")
    shutil.copy(REPO / "deploy/remote/team_procs_run.py", bin_dir / "team_procs_run.py")
    layout = (REPO / "deploy/core/layout.py").read_text()
    (bin_dir / "hacknode_layout.py").write_text(layout.replace('f"/home/{self.team}"', f'f"{tmp_path}/{{self.team}}"'))
    procfile = REPO / "deploy/core/procfile.py"
    if procfile.exists():
        shutil.copy(procfile, bin_dir / "hacknode_procfile.py")
    else:
        (bin_dir / "hacknode_procfile.py").write_text(
            "def cron_matches(schedule, moment):\n    return schedule.split()[0] in ('*', str(moment.minute))\n")
    return bin_dir / "team-procs"


def real_home(tmp_path, cron):
    import pwd
    me = pwd.getpwuid(os.getuid()).pw_name
    home = tmp_path / me
    (tmp_path / "home").mkdir()
    paths = make_home(tmp_path, cron)
    os.rename(tmp_path / "home", home)
    return Paths(str(home), me)


def wait_for(check, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds}s")


def start_runner(program, paths):
    return subprocess.Popen([sys.executable, "-I", str(program), "cron"], cwd=os.path.realpath(paths.current),
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_the_installed_runner_runs_a_due_job_and_its_run_outlives_a_reload(tmp_path):
    program, paths = installed(tmp_path), real_home(tmp_path, {"cron": ("* * * * *", "sleep 3; echo done")})
    # both runners must start in the minute's first START_GRACE seconds, where a runner just started runs it
    if time.time() % 60 > team_procs.START_GRACE - 10:
        time.sleep(61 - time.time() % 60)
    runner = start_runner(program, paths)
    runs = wait_for(lambda: cron_records.runs(paths.cron_runs, os.getuid()).get("cron"))
    assert runs[0]["status"] == "running"
    os.killpg(runner.pid, signal.SIGTERM)       # what uwsgi does to a daemon at a reload: its process group
    assert runner.wait(5) == 0
    second = start_runner(program, paths)       # the reloaded master's runner, in the same minute
    done = wait_for(lambda: [r for r in cron_records.runs(paths.cron_runs, os.getuid())["cron"]
                             if r["status"] != "running"])
    assert [(r["status"], r["exit"], r["output"]) for r in done] == [("ok", 0, "done\n")]
    assert len(cron_records.runs(paths.cron_runs, os.getuid())["cron"]) == 1      # claimed once
    os.killpg(second.pid, signal.SIGTERM)
    assert second.wait(5) == 0


# ---------- release.sh's switch and a due run ----------

def test_a_run_due_during_a_failing_switch_starts_after_it_in_the_release_live_again(tmp_path):
    from deploy.core import commands
    from tests.test_team_release import IDS, LocalPaths
    paths = LocalPaths(tmp_path)
    script = commands.release_script_text(paths).replace("HEALTH_WAIT=20 ", "HEALTH_WAIT=2 ")

    def run_script(*args):
        done = subprocess.run(["bash", "-s", "--", *args], input=script, capture_output=True, text=True, timeout=60)
        return done.returncode, done.stdout + done.stderr
    for folder in (paths.envs, paths.run_dir, paths.secrets, paths.tmp):
        Path(folder).mkdir(parents=True)
    for rid in IDS[:2]:
        make_release(Path(paths.releases) / rid, {"cron": ("* * * * *", "date +%s.%N")}, release_id=rid)
    Path(paths.current).symlink_to(f"releases/{IDS[0]}")
    activate = threading.Thread(target=lambda: ended.append((run_script("activate", IDS[1], "x"), time.time())))
    ended = []
    activate.start()        # no uwsgi, no probe here: the health check fails, and the switch back too
    wait_for(lambda: os.readlink(paths.current).endswith(IDS[1]))
    header = team_procs_run.cron_run("cron", 6000, paths)
    activate.join()
    (code, out), activate_end = ended[0]
    assert code == 1 and f"switching back: {IDS[1]} -> {IDS[0]}" in out, out
    assert header["status"] == "ok" and header["release"] == IDS[0]
    assert float(record(paths, "cron", 6000)["output"]) > activate_end - 0.5


def test_fab_logs_cron_shows_each_jobs_last_runs_with_their_output(tmp_path):
    from deploy.team.cron import runs_text
    paths = make_home(tmp_path, {"cron": ("* * * * *", "seq 30; exit 4"), "cron-ok": ("* * * * *", "echo fine")})
    for minute in range(6000, 6000 + 7 * 60, 60):
        team_procs_run.cron_run("cron", minute, paths)
    team_procs_run.cron_run("cron-ok", 6000, paths)
    text = runs_text("hacknode1", json.loads(json.dumps(cron_records.runs(paths.cron_runs, os.getuid()))))
    lines = text.splitlines()
    assert lines[0] == "cron: 7 run(s) kept, the last 5:" and "cron-ok: 1 run(s) kept, the last 1:" in lines
    assert sum("failed (exit 4)" in line and "release 20261207T200000Z-abc" in line for line in lines) == 5
    assert lines[2:12] == [f"    : {n}" for n in range(21, 31)] and "    : fine" in lines
    assert runs_text("hacknode1", {}).startswith("hacknode1: no cron run yet")
