# managed by hacknode: the class's figures on one server, read as root (installed as /opt/hacknode/bin/class_collect.py
# beside class_status.py and hacknode_layout.py, deploy/layout.py itself: every path comes from there). The class page
# (class_page.py) calls collect() in-process; `fab status` runs this file over SSH and reads its lines
#   TOOLS_VENV/bin/python class_collect.py DOMAIN HOSTNAME [all|quiet]
# (class_status.lines: "teams", a line per team, "quota", "now", "version", "tls"; parsed back by class_status.parse).
# Health: "all" asks every team's health path (class_health.py) through nginx (`fab status`: the instructor asks, an
# idle team wakes); "quiet" sends no request at all (the class page, every minute: a request, even to /healthz,
# restarts uwsgi's idle timer, so no team would ever sleep): an idle team is "idle", an awake one "up" when its uwsgi
# master's stats show a worker accepting requests, "down" when they show none, "-" when they cannot be read.
# A team owns its tree and its uwsgi: what is read from them is bounded (a timeout, a size) and names it chose are
# shown as safe bytes (safe_name); root's commands run from / with a fixed PATH and LC_ALL=C. Standard library only.
import json
import os
import socket
import stat
import subprocess
import sys
import time

try:                                            # on a server: installed beside this program
    import class_backups
    import class_health
    import class_procs
    import class_status
    import class_submissions
    import hacknode_layout as layout
except ImportError:                             # in the repository (its tests)
    from deploy.core import layout
    from deploy.remote import class_backups, class_health, class_procs, class_status, class_submissions

ROOT_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
SAFE_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-")
NAME_BYTES = 64                 # a name a team chose is shown as at most this many bytes
DU_SECONDS = 10                 # a team's millions of files would otherwise hold every team's figures
STATS_SECONDS = 2               # a team's stats socket: the whole answer within this, at most STATS_BYTES
STATS_BYTES = 256 * 1024        # a master of 32 workers answers some 30 KiB
LOG_CHUNK = 64 * 1024


def safe_name(name):
    """A name a team chose (bytes or text: a release folder, a link's target) as one cell: at most NAME_BYTES bytes,
    any byte but letters, digits and ._+- shown as "?", so no tab, newline or escape splits or forges a line."""
    raw = name if isinstance(name, bytes) else name.encode("utf-8", "surrogateescape")
    return "".join(chr(b) if b in SAFE_BYTES else "?" for b in raw[:NAME_BYTES])


def run(argv, timeout=60, env=None):
    """A root command's output ("" when it fails or is missing), run from / in root's fixed environment."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, errors="replace", cwd="/",
                              env=dict(ROOT_ENV, **(env or {})), timeout=timeout).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def team_names():
    """Root's list of teams: one uwsgi config each in UWSGI_DIR."""
    try:
        files = os.listdir(layout.UWSGI_DIR)
    except OSError:
        return []
    return sorted(name[:-4] for name in files if name.endswith(".ini") and len(name) > 4)


def programs():
    """{team: (state, pid or None, uptime or "-")} from one supervisorctl run."""
    found = {}
    for line in run(["supervisorctl", "status"]).splitlines():
        words = line.replace(",", " ").split()
        if len(words) < 2:
            continue
        pid = words[words.index("pid") + 1] if "pid" in words[:-1] else ""
        uptime = words[words.index("uptime") + 1] if "uptime" in words[:-1] else "-"
        found[words[0]] = (words[1], int(pid) if pid.isdigit() else None, uptime)
    return found


def processes():
    """[(uid, pid, ppid, rss KiB, threads)] of every process, from the kernel's /proc/<pid>/status."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", "rb") as handle:
                fields = dict(line.split(b":", 1) for line in handle.read().splitlines() if b":" in line)
            found.append((int(fields[b"Uid"].split()[0]), int(entry), int(fields[b"PPid"]),
                          int(fields.get(b"VmRSS", b"0 kB").split()[0]), int(fields[b"Threads"])))
        except (OSError, KeyError, ValueError, IndexError):   # gone meanwhile, or a kernel thread's odd fields
            continue
    return found


def database_sizes(teams):
    """{team: its database's KiB as text} in one connection; the admin URI stays in the environment, never argv."""
    try:
        with open(layout.MONGO_ADMIN_FILE, encoding="utf-8") as handle:
            uri = handle.read().strip()
    except OSError:
        uri = ""
    out = run([f"{layout.TOOLS_VENV}/bin/python", layout.MONGO_TOOL, "sizes", *teams], env={"HN_ADMIN_URI": uri})
    return dict(line.split()[:2] for line in out.splitlines() if len(line.split()) >= 2)


def stats_health(path, uid):
    """An awake team's health from its uwsgi master's stats socket (no request: the idle timer goes on): "up" when a
    worker accepts requests, "idle" when all are stopped, "down" when none accepts, "-" when nothing readable answers.
    The socket `path` must be one the team (`uid`) made, not a link; the answer is bounded in size and time."""
    try:
        found = os.lstat(path)
        if not stat.S_ISSOCK(found.st_mode) or found.st_uid != uid:
            return "-"
        deadline = time.monotonic() + STATS_SECONDS
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(STATS_SECONDS)
            conn.connect(path)
            answer = b""
            while chunk := conn.recv(LOG_CHUNK):
                answer += chunk
                if len(answer) > STATS_BYTES or time.monotonic() > deadline:
                    return "-"
                conn.settimeout(max(0.01, deadline - time.monotonic()))
        workers = json.loads(answer)["workers"]
        if not isinstance(workers, list):
            return "-"
        states = [(w.get("accepting"), w.get("status"), w.get("pid")) for w in workers if isinstance(w, dict)]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "-"
    if any(accepting == 1 and status in ("idle", "busy") and pid for accepting, status, pid in states):
        return "up"
    return "idle" if states and all(status == "cheap" for _, status, _ in states) else "down"


def http_health(teams, domain, uid):
    """{team: the code its live release's health path (class_health) answers through nginx} (the one probe,
    healthz.py, four at a time)."""
    paths = [class_health.health_path(layout.TeamPaths(t).home, uid.get(t, -1)) for t in teams]
    out = run(["python3", layout.HEALTHZ_TOOL, *(f"{t}.{domain}{path}" for t, path in zip(teams, paths))])
    codes = [line.split()[0] if line.split() else "" for line in out.splitlines()]
    return {t: code for t, code in zip(teams, codes) if len(code) == 3 and code.isdigit()}


def recent_requests(path, since):
    """Requests nginx logged for a team at or after `since` (epoch), health probes left out: read from the log's end
    back to the first older line, so the cost is the window's requests, not the log's size."""
    try:
        handle = open(path, "rb")
    except OSError:
        return 0
    count, rest = 0, b""
    with handle:
        end = handle.seek(0, os.SEEK_END)
        while end > 0:
            start = max(0, end - LOG_CHUNK)
            handle.seek(start)
            lines = (handle.read(end - start) + rest).split(b"\n")
            rest, end = (lines.pop(0) if start > 0 else b""), start
            for line in reversed(lines):
                fields = line.split()               # "$msec $status $request_uri"
                try:
                    if float(fields[0]) < since:
                        return count
                except (IndexError, ValueError):
                    continue
                count += len(fields) < 3 or fields[2] != b"/healthz"
    return count


def releases(home):
    """(the live release's name, the newest release's name) as safe cells, "-" when none. The team's own folder,
    never through a link it put there (another team's folder, /root: a name from it shown)."""
    try:
        live = safe_name(os.path.basename(os.readlink(f"{home}/current".encode())))
    except OSError:
        live = "-"
    folder = f"{home}/releases".encode()
    try:
        names = [] if os.path.islink(folder) else sorted(n for n in os.listdir(folder) if not n.startswith(b"."))
    except OSError:
        names = []
    newest = safe_name(names[-1]) if names and os.path.exists(folder + b"/" + names[-1]) else "-"
    return live or "-", newest or "-"


def bound(pid, uid):
    """What bounds the team: its program's process says where it runs; a stopped one, whether its slice has
    hacknode's limits ("slice", systemd's cgroups) or not ("rlimits", per process)."""
    if pid is not None:
        try:
            with open(f"/proc/{pid}/cgroup", encoding="utf-8", errors="replace") as handle:
                return "slice" if f"/user-{uid}.slice/" in handle.read() else "rlimits"
        except OSError:
            pass
    elif uid is not None and os.path.isdir("/run/systemd/system") and os.path.exists(
            layout.SLICE_DROPIN.format(uid=uid)):
        return "slice"
    return "rlimits"


def home_kib(home):
    out = run(["timeout", str(DU_SECONDS), "du", "-sk", home], timeout=DU_SECONDS + 5).split()
    return out[0] if out and out[0].isdigit() else "-"


def uids(teams):
    """{team: uid} of the teams with a UNIX user."""
    import pwd
    found = {}
    for team in teams:
        try:
            found[team] = pwd.getpwnam(team).pw_uid
        except KeyError:
            pass
    return found


def health(teams, domain, probe, program, uid, children):
    """{team: health cell}: "all" asks each health path; "quiet" asks nothing of an idle team (its master without a
    worker: "idle"), only its master's stats of an awake one, and a team without a running master is "down"."""
    if probe == "all":
        return http_health(teams, domain, uid)
    masters = {t: program.get(t, ("", None, ""))[1] for t in teams}
    return {t: "down" if masters[t] is None else "idle" if not children.get(masters[t])
            else stats_health(layout.TeamPaths(t).stats_socket, uid.get(t)) for t in teams}


def team_rows(teams, domain, probe, now, procs):
    """Every team's row: {class_status.FIELDS name: cell text}; each team's "procs" cells (class_procs) into `procs`."""
    program, uid, listing = programs(), uids(teams), processes()
    memory, tasks, children = {}, {}, {}
    for owner, pid, ppid, rss, threads in listing:
        memory[owner] = memory.get(owner, 0) + rss
        tasks[owner] = tasks.get(owner, 0) + threads
        children.setdefault(ppid, []).append(pid)
    database, healths = database_sizes(teams), health(teams, domain, probe, program, uid, children)
    rows = []
    for team in teams:
        state, pid, uptime = program.get(team, ("MISSING", None, "-"))
        paths, owner = layout.TeamPaths(team), uid.get(team)
        live, newest = releases(paths.home)
        procs[team] = class_procs.cells(*class_procs.daemons(pid, children.get(pid, [])),
                                        class_procs.last_run(paths.cron_runs, owner))
        rows.append({"team": team, "state": state, "uptime": uptime, "release": live,
                     "healthz": healths.get(team, "000"), "memory_kib": str(memory.get(owner, 0)),
                     "tasks": str(tasks.get(owner, 0)), "home_kib": home_kib(paths.home),
                     "database_kib": database.get(team, "-"), "bound": bound(pid, owner),
                     "requests": str(recent_requests(paths.access_log, now - class_status.REQUEST_WINDOW)),
                     "newest_release": newest})
    return rows


def quota():
    """What the filesystem of /home says of quotas: on only where `quotaon -p` says so."""
    if " is on" in run(["quotaon", "-pu", layout.HOMES]):
        return ("on (each team's files there stop at its disk_mb and its files, in inodes: provisioning sets both "
                "with setquota)")
    return "unavailable (no user quotas on the filesystem of /home)"


def version():
    """Which hacknode provisioned this server (root's file, written by provisioning's last step); None before 0.22.0."""
    try:
        with open(layout.VERSION_FILE, "rb") as f:
            return safe_name(f.read(NAME_BYTES).split(b"\n")[0]) or None
    except OSError:
        return None


def certificates(teams, domain, hostname):
    """[{"name", "expires"}] of the server's name and, in tls mode acme, each team's (its own certificate), with TLS
    on; every name's expiry in one run of the probe."""
    names = [hostname] + [f"{t}.{domain}" for t in teams if os.path.exists(f"{layout.ACME_CERTS}/{t}.{domain}")]
    expiries = run(["python3", layout.HEALTHZ_TOOL, "--expiry", *names]).splitlines()
    return [{"name": name, "expires": expiry} for name, expiry in zip(names, expiries) if expiry not in ("", "-")]


def collect(domain, hostname, probe="quiet"):
    """The class's figures as class_status.parse gives them: {"teams": [row], "quota", "now", "certificates",
    "submissions", "backups", "version"}, every cell without control characters."""
    teams, now, procs = team_names(), int(time.time()), {}
    rows = [{field: class_status.clean(cell) for field, cell in row.items()}
            for row in team_rows(teams, domain, probe, now, procs)]
    submissions = {t: {**s, "release": safe_name(s["release"]) or "-"}
                   for t in teams if (s := class_submissions.submission(t, now))}
    return {"teams": rows, "quota": quota(), "now": now, "version": version(), "certificates": [
        {key: class_status.clean(value) for key, value in c.items()} for c in certificates(teams, domain, hostname)],
        "submissions": {t: {k: class_status.clean(v) if isinstance(v, str) else v for k, v in s.items()}
                        for t, s in submissions.items()},
        "backups": {team: [class_status.clean(cell) for cell in cells]      # each team's last nightly backup
                    for team, cells in class_backups.collected(layout.NIGHTLY_DIR, teams).items()},
        "procs": {team: [class_status.clean(cell) for cell in cells] for team, cells in procs.items()}}


def main(args):
    domain, hostname, probe = (args + ["all"])[:3]
    print(class_status.lines(collect(domain, hostname, probe)), end="")


if __name__ == "__main__":
    main(sys.argv[1:])
