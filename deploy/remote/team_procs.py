#!/usr/bin/python3 -I
# managed by hacknode: a team's workers and cron jobs (its Procfile's worker and cron lines), installed as
# /opt/hacknode/bin/team-procs (layout.TEAM_PROCS) and started as the team by its own uwsgi master, from the release's
# .hacknode-procs/uwsgi.ini (attach-daemon): so they run inside the team's slice or rlimits, uwsgi respawns them with
# its backoff and stops them at each reload (SIGTERM to the daemon's process group; die-on-term at a stop).
#   team-procs worker NAME     exec the worker's command (/bin/sh -c) in the release, with the team's environment
#   team-procs cron            the team's cron runner: each minute, a run of every job whose schedule matches
#   team-procs runs            the last runs of each job as JSON (`fab logs --cron`, as the team)
# A worker runs once at a time and dies with its uwsgi daemon; a run is team_procs_run.py's (`cron-run JOB MINUTE`).
# Standard library only.
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))   # -I leaves the program's folder out
try:                                            # on a server: installed beside this program
    import cron_records
    import hacknode_layout as layout
    import team_procs_run as run
except ImportError:                             # in the repository (its tests)
    from deploy.core import layout
    from deploy.remote import cron_records
    from deploy.remote import team_procs_run as run
try:                                            # the Procfile's own reading of a schedule (deploy/core/procfile.py)
    from hacknode_procfile import cron_matches
except ImportError:
    try:
        from deploy.core.procfile import cron_matches
    except ImportError:
        cron_matches = None                     # provisioning installs it beside this program: `cron` says so

CATCH_UP = 300             # seconds of minutes a late round still runs (a slow machine); longer (suspended): none
START_GRACE = 30           # a runner just started (a reload's) runs its minute's jobs only this far into it


def worker(name, paths=None):
    """exec the worker's command in the release uwsgi entered (its chdir: `current` when it started or reloaded), one
    instance at a time: its lock is held by the command and what it starts, so what an earlier instance left (its
    uwsgi master killed: only uwsgi's own child dies with it) is stopped first."""
    release, paths = os.getcwd(), paths or run.team_paths()
    command = run.read_procs(release)["workers"].get(name)
    if command is None or not cron_records.JOB_NAME.match(name):
        raise run.ProcsError(f"{release}: its Procfile has no worker {name!r}")
    die_with_parent()
    lock = run.open_lock(f"{paths.run_dir}/{name}.lock")
    take_over(lock, f"worker {name}")
    os.set_inheritable(lock, True)
    os.execve("/bin/sh", ["/bin/sh", "-c", command], run.environment(paths, release, os.environ))


def take_over(fd, what, grace=5.0):
    """Take the lock `fd`; while an earlier instance (its process group written in the file) holds it: TERM to that
    group, KILL after `grace` seconds. Writes this process's group there."""
    for signum, seconds in ((None, 0), (signal.SIGTERM, grace), (signal.SIGKILL, 2)):
        if signum:
            recorded = os.pread(fd, 20, 0).strip()
            if recorded.isdigit() and int(recorded) > 1:
                run.signal_group(int(recorded), signum)
        deadline = time.monotonic() + seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpgrp()}\n".encode(), 0)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.1)
    raise run.ProcsError(f"an earlier {what} still runs (a process it started in a session of its own holds its lock)")


def die_with_parent():
    """The kernel kills this process (and the command it becomes) when its parent, uwsgi's daemon, ends; a parent that
    ended before (a master killed as it started its daemons) is seen here: uwsgi's daemon leads this session."""
    import ctypes
    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)     # PR_SET_PDEATHSIG
    session = os.getsid(0)
    if session != os.getpid() and os.getppid() != session:
        raise run.ProcsError("the uwsgi daemon that started this process has ended")


def due(jobs, minute, matches=None):
    """The names of the jobs whose schedule matches `minute` (epoch seconds of its start, the server's local time);
    a schedule `procfile write` would have refused matches never."""
    when, matches = datetime.fromtimestamp(minute), matches or cron_matches
    found = []
    for name, job in sorted(jobs.items()):
        try:
            found += [name] if matches(job["schedule"], when) else []
        except ValueError:
            continue
    return found


def minutes_to_run(last, now):
    """The minutes (epoch seconds) the runner handles at `now` when it handled `last` before: each one since, the
    current one included; after a pause (a suspended machine) only the current one. Just started (`last` None): the
    current one in its first START_GRACE seconds (a reload at the turn of a minute), else none: a job deployed at :57
    waits for its next minute, instead of running then and making the next minute's run a skipped overlap."""
    current = int(now) // 60 * 60
    if last is None:
        return [current] if now - current < START_GRACE else []
    if current - last > CATCH_UP:
        return [current]
    return list(range(last + 60, current + 1, 60))


def runner(clock=time.time, sleep=time.sleep, spawn=None):
    """Each minute, a run of each due job (a process of its own); its current minute first, at start: after a reload,
    a run the stopped runner began for it is not begun again (its record is the claim). Ends on SIGTERM."""
    jobs = run.read_procs(os.getcwd())["cron"]
    if cron_matches is None:
        raise run.ProcsError(f"{layout.PROCFILE_MODULE} is missing: the instructor's fab provision installs it")
    spawn = spawn or spawn_run
    last, children = None, []
    while not run.stopping:
        for minute in minutes_to_run(last, clock()):
            children += [spawn(name, minute) for name in due(jobs, minute)]
            last = minute
        children = [child for child in children if child is not None and child.poll() is None]
        sleep(max(0.2, min(1.0, 60 - clock() % 60)))


def spawn_run(name, minute):     # in a session of its own: uwsgi's stop of the runner's group does not reach it
    return subprocess.Popen([sys.executable, "-I", os.path.abspath(__file__), "cron-run", name, str(minute)],
                            start_new_session=True, stdin=subprocess.DEVNULL)


# ---------- the program ----------

def on_stop(signum, frame):
    run.stopping.append(signum)


def main(argv):
    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    try:
        if argv[:1] == ["worker"] and len(argv) == 2:
            worker(argv[1])
        elif argv == ["cron"]:
            die_with_parent()
            runner()
        elif argv[:1] == ["cron-run"] and len(argv) == 3 and cron_records.JOB_NAME.match(argv[1]) and argv[2].isdigit():
            run.cron_run(argv[1], int(argv[2]))
        elif argv == ["runs"]:
            print(json.dumps(cron_records.runs(run.team_paths().cron_runs, os.getuid()), sort_keys=True))
        else:
            raise run.ProcsError("usage: team-procs worker NAME | cron | runs")
    except run.ProcsError as error:
        print(f"team-procs: {error}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
