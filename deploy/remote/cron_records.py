# managed by hacknode: the records of a team's cron runs (TeamPaths.cron_runs/<job>/<minute>.run), written by the team's
# team-procs (deploy/remote/team_procs.py) and read by it (`fab logs --cron`) and by root's collector (class_procs.py).
# Installed beside both (layout.CRON_RECORDS_MODULE). A record: one JSON line (job, due, start, end, exit, status,
# release, note) then the last TAIL_BYTES of the run's output. The reader trusts nothing in the folder: every file is
# opened without following a link or blocking, must be a plain file of the expected owner and under a size, and
# its line must parse to the expected fields and types. Standard library only.
import json
import os
import re
import stat

KEEP_RUNS = 20
TAIL_BYTES = 4096
RECORD_BYTES = 2048 + TAIL_BYTES        # its line is some 200 bytes
MAX_JOBS = 32                           # a Procfile has at most 16 cron jobs: more folders are not looked at
MAX_ENTRIES = 1000                      # names looked at in a folder (a team could make millions)
JOB_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}\Z")
RECORD = re.compile(r"[0-9]{10}\.run\Z")      # <the minute it was due, epoch seconds>.run: sorts by time
STATUSES = ("running", "ok", "failed", "timeout", "stopped", "skipped")
NUMBERS = {"due": int, "start": (int, float), "end": (int, float, type(None)), "exit": (int, type(None))}
OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def record_name(minute):
    return f"{minute:010d}.run"


def write(folder, minute, header, tail=b"", exclusive=False):
    """The run's record: its JSON line then its output's tail. `exclusive`: only if there is none yet (the claim of
    that minute's run; False when there was one), else replaced whole at once."""
    path = os.path.join(folder, record_name(minute))
    data = json.dumps(header, sort_keys=True).encode() + b"\n" + tail[-TAIL_BYTES:]
    if exclusive:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o640)
        except FileExistsError:
            return False
    else:
        path, final = os.path.join(folder, f".{record_name(minute)}.{os.getpid()}"), path
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o640)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    if not exclusive:
        os.replace(path, final)
    return True


def prune(folder, keep=KEEP_RUNS):
    """The newest `keep` records stay."""
    records = sorted(name for name in os.listdir(folder) if RECORD.match(name))
    for name in records[:-keep] if len(records) > keep else []:
        os.unlink(os.path.join(folder, name))


def open_folder(name, uid, dir_fd=None):
    """A folder of `uid`'s, opened without following a link (None when it is not one)."""
    try:
        fd = os.open(name, OPEN_FLAGS | os.O_DIRECTORY, dir_fd=dir_fd)
    except OSError:
        return None
    found = os.fstat(fd)
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != uid:
        os.close(fd)
        return None
    return fd


def names(fd, pattern, limit=MAX_ENTRIES):
    """The names in the folder `fd` that match `pattern`, looking at `limit` entries at most."""
    found = []
    with os.scandir(fd) as entries:
        for count, entry in enumerate(entries):
            if count >= limit:
                break
            if pattern.match(entry.name):
                found.append(entry.name)
    return sorted(found)


def parse(data):
    """A record's bytes -> its header (checked fields and types) with "output" (the tail as text), or None."""
    line, newline, tail = data.partition(b"\n")
    try:
        header = json.loads(line.decode("utf-8")) if newline else None
    except ValueError:
        return None
    if not isinstance(header, dict) or not isinstance(header.get("job"), str) or not JOB_NAME.match(header["job"]):
        return None
    if header.get("status") not in STATUSES or any(
            not isinstance(header.get(key), kind) or isinstance(header.get(key), bool) for key, kind in NUMBERS.items()):
        return None
    record = {key: header[key] for key in ("job", "status", *NUMBERS)}
    record["release"] = str(header.get("release") or "")[:200]
    record["note"] = str(header.get("note") or "")[:200]
    record["output"] = tail[-TAIL_BYTES:].decode("utf-8", "replace")
    return record


def read(name, uid, dir_fd):
    """The record `name` in the folder `dir_fd`: a plain file of `uid`'s, at most RECORD_BYTES; else None."""
    try:
        fd = os.open(name, OPEN_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode) or found.st_uid != uid or found.st_size > RECORD_BYTES:
            return None
        return parse(handle.read(RECORD_BYTES + 1)[:RECORD_BYTES])


def runs(folder, uid, last=KEEP_RUNS):
    """{job: its last `last` records, oldest first} from a team's cron folder (TeamPaths.cron_runs)."""
    found, top = {}, open_folder(folder, uid)
    if top is None:
        return found
    try:
        for job in names(top, JOB_NAME)[:MAX_JOBS]:
            fd = open_folder(job, uid, dir_fd=top)
            if fd is None:
                continue
            try:
                records = [read(name, uid, fd) for name in names(fd, RECORD)[-last:]]
            finally:
                os.close(fd)
            found[job] = [r for r in records if r and r["job"] == job]
    finally:
        os.close(top)
    return found
