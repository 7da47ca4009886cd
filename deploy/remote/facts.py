# managed by hacknode: runs on a class server (python3 -, standard library only) and prints
# one JSON object describing what is there, so that provisioning can plan without asking twice.
# Secret files are only tested for existence: their content never leaves the server.
import functools
import glob
import grp
import hashlib
import importlib.util
import json
import os
import platform
import pwd
import shutil
import socket
import stat
import subprocess
import sys

@functools.lru_cache(maxsize=None)     # a class's files have a few dozen owners, asked for hundreds of times
def name_of(lookup, number):
    """The user's or group's name, or the number when the system has no name for it."""
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def owner_of(st):
    return name_of(pwd.getpwuid, st.st_uid), name_of(grp.getgrgid, st.st_gid)


# A managed file is a few KiB: one bigger than this (a team's keys made a sparse file of many GB) is reported too big,
# never read, and the plan writes it again.
MAX_TEXT_BYTES = 1024 * 1024


def base_fact(st):
    user, group = owner_of(st)
    return {"mode": "%04o" % stat.S_IMODE(st.st_mode), "owner": user, "group": group}


def parent_beneath(path, top):
    """(descriptor of path's folder, path's last name), the folder reached from `top` (a folder root trusts) one
    name at a time without following a link: in a team's tree a folder the team replaced by a link leads nowhere
    (OSError)."""
    *folders, name = os.path.relpath(path, top).split(os.sep)
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for folder in folders:
            parent, fd = fd, os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            os.close(parent)
    except OSError:
        os.close(fd)
        raise
    return fd, name


def read_capped(dir_fd, name, cap=MAX_TEXT_BYTES):
    """{"sha256", "text"} of the regular file `name` in `dir_fd`, {"too_big": True} over `cap` (not read), {} for
    anything else. Not following a link (O_NOFOLLOW), never waiting on a FIFO (O_NONBLOCK), checked on the open
    file itself (fstat): what the team puts there between two looks changes nothing."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return {}
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return {}
        data = b"" if st.st_size > cap else f.read(cap + 1)
        if st.st_size > cap or len(data) > cap:
            return {"too_big": True}
    return {"sha256": hashlib.sha256(data).hexdigest(), "text": data.decode("utf-8", "replace")}


def path_fact(path, homes, read_text=False):
    """A path's mode and owner, its link's target, and with `read_text` a file's content (read_capped); None when
    absent. Under the teams' homes no link on the way is followed (a folder the team replaced by a link: absent);
    elsewhere (root's folders) only the path itself is not followed, as lstat does."""
    top = homes if path.startswith(homes.rstrip("/") + "/") else os.path.dirname(path)
    try:
        dir_fd, name = parent_beneath(path, top)
    except OSError:
        return None
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        fact = base_fact(st)
        if stat.S_ISLNK(st.st_mode):
            fact["link"] = os.readlink(name, dir_fd=dir_fd)
        elif stat.S_ISREG(st.st_mode) and read_text:
            fact.update(read_capped(dir_fd, name))
        return fact
    except OSError:
        return None
    finally:
        os.close(dir_fd)


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_of(name):
    """The group `name` as its gid and members, None when the server has none: a team must never join one."""
    try:
        group = grp.getgrnam(name)
    except KeyError:
        return None
    return {"gid": group.gr_gid, "members": sorted(group.gr_mem)}


def scheduled_jobs(names, crontabs, at_jobs):
    """How many crontabs and at jobs each user has: a team's are refused (cron.deny, at.deny), but one from before
    that would still run outside its slice and limits."""
    owners = []
    for job in glob.glob(f"{at_jobs}/[a-zA-Z=]*"):
        try:
            owners.append(name_of(pwd.getpwuid, os.lstat(job).st_uid))
        except OSError:
            pass        # run meanwhile
    return {name: int(os.path.lexists(f"{crontabs}/{name}")) + owners.count(name) for name in names}


def gecos_of(name):
    try:
        return pwd.getpwnam(name).pw_gecos
    except KeyError:
        return None


def process_names():
    """Every process's (name, effective uid) (what pgrep -u UID -x NAME matches), read from /proc once: a pgrep per
    service cost more than all the rest of this script. The uid from its status (the owner of /proc/PID is root
    for a process that made itself undumpable): a team's process named nginx is not root's nginx."""
    names = set()
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/comm") as f:
                name = f.read().rstrip("\n")
            with open(f"/proc/{pid}/status") as f:
                uid = next(int(line.split()[2]) for line in f if line.startswith("Uid:"))
            names.add((name, uid))
        except (OSError, ValueError, StopIteration, IndexError):
            pass        # not a process, or one that ended meanwhile
    return names


def uid_of(user):
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return None


def os_release():
    info = {}
    try:
        with open("/etc/os-release") as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                info[key] = value.strip('"')
    except OSError:
        pass
    return {"id": info.get("ID", ""), "version": info.get("VERSION_ID", ""),
            "codename": info.get("VERSION_CODENAME", "")}


def slice_dropin(team, pattern):
    """The text of the team's user slice drop-in (pattern: its path with {uid}), None without user or file."""
    try:
        with open(pattern.format(uid=pwd.getpwnam(team).pw_uid)) as f:
            return f.read()
    except (KeyError, OSError):
        return None


def mount_of(path):
    while not os.path.ismount(path):
        path = os.path.dirname(path)
    return path


def quota_row_limits(row):
    """[hard block limit in KiB, hard inode limit] of one line of `repquota -p` (grace times printed as numbers,
    so every column is always there: name, flags, blocks used, soft, hard, grace, files used, soft, hard, grace)."""
    return [int(row[4]), int(row[8])]


def user_quotas(path, users):
    """Whether user quotas are on for the filesystem of `path` (quotaon -p says so), and each user's hard limits
    there: [KiB, inodes] (repquota; 0 is none, None a user repquota does not list)."""
    mount = mount_of(path)
    if shutil.which("quotaon") is None:
        return {"mount": mount, "on": False, "limits": {}}
    said = subprocess.run(["quotaon", "-pu", mount], capture_output=True, text=True).stdout
    if " is on" not in said:
        return {"mount": mount, "on": False, "limits": {}}
    report = subprocess.run(["repquota", "-u", "-p", mount], capture_output=True, text=True).stdout
    rows = {line.split()[0]: line.split() for line in report.splitlines() if len(line.split()) >= 10}
    return {"mount": mount, "on": True, "limits": {u: quota_row_limits(rows[u]) if u in rows else None for u in users}}


def has_venv():
    """Whether this python3 can make virtualenvs (Debian ships ensurepip apart, in python3-venv)."""
    return all(importlib.util.find_spec(name) is not None for name in ("ensurepip", "venv"))


def database_answers(address, seconds=5):
    """'' when a TCP connection to `address` (host:port, mongodb mode external's database) opens within `seconds`,
    else why not ("Connection refused", "timed out"): provisioning stops before it changes anything when none does."""
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), seconds).close()
        return ""
    except OSError as error:
        return error.strerror or str(error) or type(error).__name__


def main(query):
    running_now = process_names()
    facts = {
        "os": os_release(),
        "python": "%d.%d" % sys.version_info[:2],
        "arch": platform.machine(),
        "commands": {name: shutil.which(name) is not None for name in query["commands"]},
        "python_venv": has_venv(),
        "users": {name: user_exists(name) for name in query["users"]},
        "gecos": {name: gecos_of(name) for name in query["users"]},
        "groups": {name: group_of(name) for name in query["users"]},
        "scheduled_jobs": scheduled_jobs(query["users"], query["crontabs"], query["at_jobs"]),
        "files": {path: path_fact(path, query["homes"], True) for path in query["files"]},
        "paths": {path: path_fact(path, query["homes"]) for path in query["paths"]},
        "present_teams": sorted(os.path.basename(p) for p in glob.glob(query["teams_glob"])),
        "globs": {pattern: sorted(glob.glob(pattern)) for pattern in query.get("globs", [])},
        "running": {name: (process, uid_of(user)) in running_now for name, (process, user) in query["running"].items()},
        "slices": {team: slice_dropin(team, query["slice_dropin"]) for team in query["users"]},
        "quota": user_quotas(query["homes"], query["users"]),
        "databases": {address: database_answers(address) for address in query.get("databases", [])},
    }
    print(json.dumps(facts, sort_keys=True))


if __name__ == "__main__":      # python3 - QUERY on a server; its tests import it
    main(json.loads(sys.argv[1]))
