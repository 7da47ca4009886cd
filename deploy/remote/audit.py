# managed by hacknode: `fab audit` on one server, run by root (one SSH round trip). For each team provisioned here
# (/etc/hacknode/teams) it runs deploy/remote/audit_probe.py (argv[2], its text) as that team, with a clean
# environment (the env -i + setpriv of apply-lib.sh's hn_as_user) in the team's home, against the next team of the
# server (its victim), then adds what only root can see: the admin URI (read here, never printed) in the team's own
# processes' environment or in a file the team could read; whether its sessions and its uwsgi are bounded; what
# bounds cron and at jobs. Prints one JSON object: {"server": {...}, "teams": {team: {"victim", "outcomes"}}}.
# deploy/audit.py turns it into the table. Standard library only.
import json
import os
import pwd
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

DOMAIN, PROBE = sys.argv[1], sys.argv[2]
TEAMS_DIR = "/etc/hacknode/teams"                 # deploy/layout.py TEAMS_DIR
ADMIN_FILE = "/etc/hacknode/mongo-admin"          # deploy/layout.py MONGO_ADMIN_FILE
TOOLS_PYTHON = "/opt/hacknode/venv/bin/python"    # root's, with pymongo: a team cannot change what it runs
SLICE_DROPIN = "/etc/systemd/system/user-{uid}.slice.d/50-hacknode.conf"   # deploy/layout.py SLICE_DROPIN
LIMITS = "/etc/security/limits.d/hacknode-{team}.conf"
PROBE_SECONDS = 180
MAX_OUTPUT = 4 << 20          # what a probe may print (a path list): a team cannot make root read without end
MAX_SCAN = 16 << 20           # of one file, looking for the admin URI
MAX_PATHS = 5000              # files a probe may name for that (audit_probe.py's SCAN_MAX_FILES)


def teams_here():
    try:
        return sorted(name for name in os.listdir(TEAMS_DIR) if not name.startswith("."))
    except OSError:
        return []


def as_team(team, *argv):
    """argv as `team`, its environment clean and its home the folder it starts in (commands.team_argv)."""
    home = pwd.getpwnam(team).pw_dir
    return ["env", "-i", "-C", home, "PATH=/usr/local/bin:/usr/bin:/bin", f"HOME={home}", "LANG=C.UTF-8",
            f"USER={team}", f"LOGNAME={team}", "setpriv", f"--reuid={team}", f"--regid={team}", "--init-groups",
            "--", *argv]


def run_probe(team, victim):
    """The probe's JSON as `team` against `victim`, or {"error": why}."""
    python = TOOLS_PYTHON if os.path.exists(TOOLS_PYTHON) else "/usr/bin/python3"
    process = subprocess.Popen(as_team(team, python, "-I", "-c", PROBE, team, victim, DOMAIN),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = process.communicate(timeout=PROBE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return {"error": f"the probe took more than {PROBE_SECONDS} s"}
    try:
        return json.loads(out[:MAX_OUTPUT])
    except ValueError:
        last = (err.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        return {"error": f"the probe failed (exit {process.returncode}): {last[:200]}"}


def admin_needle():
    """What would betray the admin URI: its password (or the whole URI); None without one here (mode external)."""
    try:
        with open(ADMIN_FILE) as handle:
            uri = handle.read().strip()
    except OSError:
        return None
    password = urlsplit(uri).password or ""
    return (password if len(password) >= 8 else uri).encode() or None


def read_capped(path, limit):
    """Up to `limit` bytes of the regular file `path`, opened without following a link or blocking; b"" else."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return b""
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit) if stat.S_ISREG(os.fstat(fd).st_mode) else b""


def processes_of(uid):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                found.append(pid)
        except OSError:
            continue
    return found


def admin_in_environ(uid, needle):
    if needle is None:
        return "n/a: no admin URI on this server (mongodb mode external)"
    pids = processes_of(uid)
    leaked = [pid for pid in pids if needle in read_capped(f"/proc/{pid}/environ", 1 << 20)]
    return f"worked: in process {leaked[0]}" if leaked else f"refused: none of its {len(pids)} processes"


def admin_in_files(paths, needle, scanned):
    """Whether one of `paths` (the files the team could open) holds the admin URI; `scanned` caches each path."""
    if needle is None:
        return "n/a: no admin URI on this server (mongodb mode external)"
    for path in paths:
        if path not in scanned:
            scanned[path] = needle in read_capped(path, MAX_SCAN)
        if scanned[path]:
            return f"worked: {path}"
    return f"refused: none of the {len(paths)} files it can read"


def uwsgi_of(uid):
    for pid in processes_of(uid):
        if b"uwsgi" in read_capped(f"/proc/{pid}/cmdline", 4096):
            return pid
    return None


def bounds(team, uid, mode):
    """Whether the team's sessions and its uwsgi are bounded, as attacks: "worked" means unbounded."""
    if mode == "slice":
        dropin = read_capped(SLICE_DROPIN.format(uid=uid), 65536).decode(errors="replace")
        sessions = "bounded: slice" if "TasksMax=" in dropin and "MemoryMax=" in dropin else "worked: no slice limits"
    else:
        conf = read_capped(LIMITS.format(team=team), 65536).decode(errors="replace")
        has = {line.split()[2] for line in conf.splitlines() if len(line.split()) >= 4 and line.split()[0] == team}
        sessions = "bounded: limits.d nproc, as" if {"nproc", "as"} <= has else "worked: no nproc/as in limits.d"
    pid = uwsgi_of(uid)
    if pid is None:
        return sessions, "n/a: its uwsgi is not running"
    if mode == "slice":
        inside = f"user-{uid}.slice".encode() in read_capped(f"/proc/{pid}/cgroup", 65536)
        return sessions, "bounded: in its slice" if inside else "worked: outside its slice"
    limits = read_capped(f"/proc/{pid}/limits", 65536).decode(errors="replace")
    soft = {line[:26].strip(): line[26:].split()[0] for line in limits.splitlines()[1:] if line[26:].split()}
    unbounded = [n for n in ("Max processes", "Max address space") if soft.get(n, "unlimited") == "unlimited"]
    return sessions, f"worked: {', '.join(unbounded)} unlimited" if unbounded else "bounded: rlimits"


def server_facts():
    def pam_limits(service):
        text = read_capped(f"/etc/pam.d/{service}", 65536).decode(errors="replace")
        return any(line.split()[:1] != ["#"] and "pam_limits.so" in line for line in text.splitlines())
    return {"bounds": "slice" if os.path.isdir("/run/systemd/system") else "rlimits",
            "pam_limits": {"crontab": pam_limits("cron"), "at": pam_limits("atd")}}


def main():
    teams, facts, needle = teams_here(), server_facts(), admin_needle()
    victims = {team: (teams[(n + 1) % len(teams)] if len(teams) > 1 else "") for n, team in enumerate(teams)}
    with ThreadPoolExecutor(max_workers=4) as pool:      # each probe waits on sudo, nginx, the database
        probes = dict(zip(teams, pool.map(lambda t: run_probe(t, victims[t]), teams)))
    report, scanned = {}, {}
    for team in teams:
        uid, probe = pwd.getpwnam(team).pw_uid, probes[team]
        outcomes = dict(probe.get("outcomes", {}))
        outcomes["admin_environ"] = admin_in_environ(uid, needle)
        if "readable" in probe and "file scan:" not in probe.get("error", ""):
            paths = [p for p in probe["readable"][:MAX_PATHS] if isinstance(p, str) and p.startswith("/")]
            outcomes["admin_files"] = admin_in_files(paths, needle, scanned)
        outcomes["limits_sessions"], outcomes["limits_uwsgi"] = bounds(team, uid, facts["bounds"])
        report[team] = {"victim": victims[team], "outcomes": outcomes, "error": probe.get("error", "")}
    print(json.dumps({"server": facts, "teams": report}))


main()
