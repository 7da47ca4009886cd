# managed by hacknode: one run of a team's cron job (`team-procs cron-run JOB MINUTE`), and what it shares with the
# team's workers: the release's .hacknode-procs/procs.json, the team's environment, its locks. Installed beside
# team-procs (deploy/remote/team_procs.py; layout.TEAM_PROCS_RUN), run as the team. A run is a session of its own (it
# outlives the runner's stop at a reload), starts only under release.sh's switch lock shared (never during a switch),
# in the release live then, holds its job's lock (a job never overlaps itself), is bounded in time and keeps its record
# (cron_records.py). Standard library only.
import fcntl
import json
import os
import pwd
import re
import select
import signal
import stat
import subprocess
import time

try:                                            # on a server: installed beside team-procs
    import cron_records
    import hacknode_layout as layout
except ImportError:                             # in the repository (its tests)
    from deploy.core import layout
    from deploy.remote import cron_records

RUN_SECONDS = 3600          # a run still going after this is stopped (TERM to its group, KILL after KILL_GRACE)
KILL_GRACE = 10
SWITCH_WAIT = 600           # a run waits this long at most for a release's switch to end, then is recorded skipped
SETTING = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
stopping = []               # set by SIGTERM/SIGINT (team-procs' on_stop): the runner ends its loop, a run its command


class ProcsError(Exception):
    """One line for the uwsgi log: what is wrong."""


def team_paths():
    return layout.TeamPaths(pwd.getpwuid(os.getuid()).pw_name)


def read_procs(release):
    """The release's .hacknode-procs/procs.json (written by `procfile write` at prepare): {"workers", "cron"}."""
    path = os.path.join(release, layout.PROCS_DIR, "procs.json")
    try:
        with open(path, encoding="utf-8") as handle:
            procs = json.loads(handle.read(1024 * 1024))
        workers, cron = procs.get("workers") or {}, procs.get("cron") or {}
        if not all(isinstance(c, str) for c in workers.values()) or not all(
                isinstance(j, dict) and isinstance(j.get("schedule"), str) and isinstance(j.get("command"), str)
                for j in cron.values()):
            raise ValueError("a worker's or a job's command is not text")
    except (OSError, ValueError, AttributeError) as error:
        raise ProcsError(f"{path}: {error}") from None
    return {"workers": workers, "cron": {name: job for name, job in cron.items() if cron_records.JOB_NAME.match(name)}}


def settings(path):
    """The team's settings file as with-settings.sh exports it: its NAME=value lines, values as they are."""
    found = {}
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return found
    for line in lines:
        name, equals, value = line.partition("=")
        if equals and SETTING.match(name):
            found[name] = value
    return found


def environment(paths, release, inherited):
    """What a worker or a run sees: the team's settings, then PATH with the release's virtualenv first, HOME,
    TMPDIR, LANG (nothing else of the master's environment but MALLOC_ARENA_MAX: the address-space limit counts it)."""
    env = settings(paths.mongo_uri_file)
    env.setdefault("LANG", "C.UTF-8")
    env.update({"PATH": f"{release}/rapid-env/bin:/usr/local/bin:/usr/bin:/bin", "HOME": paths.home,
                "TMPDIR": paths.tmp, "USER": paths.team, "LOGNAME": paths.team,
                "VIRTUAL_ENV": f"{release}/rapid-env"})
    env.update({"MALLOC_ARENA_MAX": inherited["MALLOC_ARENA_MAX"]} if "MALLOC_ARENA_MAX" in inherited else {})
    return env


def release_id(release):
    try:
        with open(os.path.join(release, "RELEASE"), encoding="utf-8", errors="replace") as handle:
            return handle.read(200).strip() or os.path.basename(release)
    except OSError:
        return os.path.basename(release)


def open_lock(path):
    """A lock file (made if missing): a plain file only, never through a link, never blocking on a FIFO."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ProcsError(f"{path} is not a plain file: remove it")
    return fd


def wait_for_switch(fd, clock=time.monotonic, sleep=time.sleep):
    """Take the switch lock shared (release.sh holds it while a release is switched); False after SWITCH_WAIT."""
    deadline = clock() + SWITCH_WAIT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if clock() >= deadline or stopping:
                return False
            sleep(0.2)


def cron_run(name, minute, paths=None, clock=time.time):
    """One run of job `name` due at `minute`: waits for a release's switch to end, claims the minute (once, whichever
    runner comes first), takes the job's lock (held by a run still going: recorded skipped), runs the command in the
    live release and records how it ended. Its header, or None when it was not this run's to make."""
    paths = paths or team_paths()
    folder = os.path.join(paths.cron_runs, name)
    os.makedirs(folder, mode=0o750, exist_ok=True)
    switch = open_lock(paths.switch_lock)
    try:
        lock = open_lock(os.path.join(folder, "lock"))
        try:
            return locked_run(name, minute, paths, clock, folder, switch, lock)
        finally:
            os.close(lock)
    finally:
        os.close(switch)


def locked_run(name, minute, paths, clock, folder, switch, lock):
    header = {"job": name, "due": minute, "start": round(clock(), 3), "end": None, "exit": None, "status": "running"}
    if not wait_for_switch(switch):
        header.update(end=round(clock(), 3), status="skipped", note="a release's switch held its lock too long")
        return header if cron_records.write(folder, minute, header, exclusive=True) else None
    release = os.path.realpath(paths.current)
    job = read_procs(release)["cron"].get(name)
    header["release"] = release_id(release)
    if job is None or not cron_records.write(folder, minute, header, exclusive=True):
        return None                             # gone from the live release's Procfile, or another runner took it
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return finish(folder, minute, header, "skipped", clock, note="the job's previous run was still going")
    command = subprocess.Popen(["/bin/sh", "-c", job["command"]], cwd=release, start_new_session=True,
                               env=environment(paths, release, os.environ), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    fcntl.flock(switch, fcntl.LOCK_UN)          # started: a switch may begin
    tail, timed_out = collect(command, clock)
    status = "timeout" if timed_out else "stopped" if stopping else "ok" if command.returncode == 0 else "failed"
    header["exit"] = command.returncode
    return finish(folder, minute, header, status, clock, tail)


def finish(folder, minute, header, status, clock, tail=b"", note=None):
    header.update(end=round(clock(), 3), status=status, **({"note": note} if note else {}))
    cron_records.write(folder, minute, header, tail)
    cron_records.prune(folder)
    return header


def collect(command, clock, seconds=None):
    """The end of the command's output (cron_records.TAIL_BYTES), and whether it ran past `seconds` (then its group
    is stopped). Its group's other processes (something it started in the background) are killed when it ends."""
    tail, deadline, stream = bytearray(), clock() + (seconds or RUN_SECONDS), command.stdout
    timed_out, reading, ended_at = False, True, None
    while True:
        if stopping or clock() >= deadline:
            timed_out = not stopping
            stop_group(command)
            break
        if reading:
            ready, _, _ = select.select([stream], [], [], 0.5)
            chunk = os.read(stream.fileno(), 65536) if ready else b""
            tail, reading = (tail + chunk)[-cron_records.TAIL_BYTES:], not (ready and not chunk)
        else:
            time.sleep(0.5)
        if command.poll() is not None:
            ended_at = ended_at or clock()
            if not reading or clock() - ended_at > 1:   # its output ended, or a process it left behind holds it
                break
    stream.close()
    command.wait()
    signal_group(command.pid, signal.SIGKILL)
    return bytes(tail), timed_out


def stop_group(command):
    signal_group(command.pid, signal.SIGTERM)
    try:
        command.wait(KILL_GRACE)
    except subprocess.TimeoutExpired:
        signal_group(command.pid, signal.SIGKILL)


def signal_group(pgid, signum):
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass
