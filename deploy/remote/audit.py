# managed by hacknode: `fab audit` on one server, run by root (one SSH round trip). For each team provisioned here
# (/etc/hacknode/teams) it runs deploy/remote/audit_probe.py (argv[2], its text) as that team, with a clean
# environment (the env -i + setpriv of apply-lib.sh's hn_as_user) in the team's home, against the next team of the
# server (its victim), then adds what only root can see: the admin URI (read here, never printed) in the team's own
# processes' environment or in a file the team could read; whether its sessions and its uwsgi are bounded; what
# bounds cron and at jobs; whether a team may trace its own probe. Prints one JSON object: {"server": {...}, "teams":
# {team: {"victim", "outcomes"}}}. deploy/admin/audit.py turns it into the table. Standard library only, and facts.py's
# reader (argv[3], its text): root opens what a team names as provisioning does, never through a link.
import json
import os
import pwd
import stat
import subprocess
import sys
import types
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

DOMAIN, PROBE, FACTS_PROGRAM = sys.argv[1], sys.argv[2], sys.argv[3]
TEAMS_DIR = "/etc/hacknode/teams"                 # deploy/core/layout.py TEAMS_DIR
ADMIN_FILE = "/etc/hacknode/mongo-admin"          # deploy/core/layout.py MONGO_ADMIN_FILE
TOOLS_PYTHON = "/opt/hacknode/venv/bin/python"    # root's, with pymongo: a team cannot change what it runs
SLICE_DROPIN = "/etc/systemd/system/user-{uid}.slice.d/50-hacknode.conf"   # deploy/core/layout.py SLICE_DROPIN
LIMITS = "/etc/security/limits.d/hacknode-{team}.conf"
PROBE_SECONDS = 180
MAX_OUTPUT = 4 << 20          # what a probe may print (a path list): a team cannot make root read without end
MAX_SCAN = 16 << 20           # of one file, looking for the admin URI (a bigger one is not read: the row says so)
MAX_FILES = 2000              # files a probe may name in each scanned folder, and root reads there
MAX_BYTES = 256 << 20         # what root reads in each scanned folder
# where a secret root handled could have been left readable (with the team's home): the admin URI is looked for there
SCAN_ROOTS = ["/etc/hacknode", "/opt/hacknode/bin", "/var/log/hacknode", "/var/log/supervisor", "/etc/supervisor",
              "/etc/nginx", "/etc/sudoers.d", "/etc/security/limits.d", "/etc/profile.d", "/var/www", "/var/backups",
              "/tmp", "/var/tmp"]
# root's folders a team must not write into, one attack each: (attack, folders, existing files opened for writing)
SERVER_WRITES = [
    ("write_etc_hacknode", ["/etc/hacknode", "/etc/hacknode/teams"], ["/etc/hacknode/uwsgi/{team}.ini"]),
    ("write_opt_hacknode", ["/opt/hacknode", "/opt/hacknode/bin", "/opt/hacknode/venv/bin"],
     ["/opt/hacknode/bin/healthz", "/opt/hacknode/bin/team-scope"]),
    ("write_var_log_hacknode", ["/var/log/hacknode", "/var/log/hacknode/{team}"],
     ["/var/log/hacknode/{team}/access.log"]),
    ("write_nginx", ["/etc/nginx", "/etc/nginx/sites-enabled", "/etc/hacknode/nginx"],
     ["/etc/nginx/sites-enabled/hacknode.conf", "/etc/hacknode/nginx/{team}.conf"]),
    ("write_supervisor", ["/etc/supervisor", "/etc/supervisor/conf.d"],
     ["/etc/supervisor/conf.d/hacknode-{team}.conf", "/etc/supervisor/supervisord.conf"]),
    ("write_sudoers_limits", ["/etc/sudoers.d", "/etc/security/limits.d", "/etc/systemd/system"],
     ["/etc/sudoers.d/hacknode-{team}", "/etc/security/limits.d/hacknode-{team}.conf"]),
]


def shared_reader():
    """deploy/remote/facts.py as a module (its main runs only as a program): its parent_beneath and read_capped, the
    reads provisioning makes in a team's tree, shared rather than copied."""
    module = types.ModuleType("facts")
    exec(compile(FACTS_PROGRAM, "facts.py", "exec"), module.__dict__)
    return module


FACTS = shared_reader()


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


def probe_settings(team, home, db_hosts):
    """What root tells the probe (audit_probe.py's SETTINGS)."""
    writes = [(attack, [f.format(team=team) for f in folders], [f.format(team=team) for f in files])
              for attack, folders, files in SERVER_WRITES]
    return json.dumps({"writes": writes, "scan": SCAN_ROOTS + [home], "max_files": MAX_FILES, "db_hosts": db_hosts})


def run_probe(team, victim, db_hosts):
    """The probe's JSON as `team` against `victim`, or {"error": why}."""
    python = TOOLS_PYTHON if os.path.exists(TOOLS_PYTHON) else "/usr/bin/python3"
    settings = probe_settings(team, pwd.getpwnam(team).pw_dir, db_hosts)
    process = subprocess.Popen(as_team(team, python, "-I", "-c", PROBE, team, victim, DOMAIN, settings),
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
    """(what would betray the admin URI: its password or the whole URI, the database's hosts); (None, "") without
    one here (mode external)."""
    try:
        with open(ADMIN_FILE) as handle:
            uri = handle.read().strip()
    except OSError:
        return None, ""
    password, hosts = urlsplit(uri).password or "", urlsplit(uri).netloc.rpartition("@")[2]
    return (password if len(password) >= 8 else uri).encode() or None, hosts


def read_capped(path, limit):
    """Up to `limit` bytes of the regular file `path`, opened without following a link or blocking; b"" else."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
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


def admin_in_files(tops, probe, needle, cache):
    """Whether a file the probe listed under `tops` (root's folders) holds the admin URI; "incomplete" when a folder
    was over its budget (the probe cut it short, or root's own count did): not every file was looked at, which is no
    denial. A file over MAX_SCAN (a program, a log) is not read, and named. `cache`: each file's scan_file()."""
    if needle is None:
        return "n/a: no admin URI on this server (mongodb mode external)"
    cut, listed = set(probe.get("cut", [])) & set(tops), {top: [] for top in tops}
    for path in probe["readable"] if isinstance(probe["readable"], list) else []:
        top = next((t for t in tops if isinstance(path, str) and path.startswith(t + "/")), None)
        if top is not None and os.path.normpath(path) == path:
            listed[top].append(path)
    found, big, looked = [], [], 0
    for top, paths in listed.items():
        spent = 0
        for path in paths[:MAX_FILES]:
            if spent > MAX_BYTES:
                cut.add(top)
                break
            if path not in cache:
                cache[path] = scan_file(path, top, needle)
            if cache[path] is None:
                continue        # gone meanwhile, or not reached without a link: nothing looked at
            holds, size, too_big = cache[path]
            found += [path] if holds else []
            big += [path] if too_big else []
            spent, looked = spent + size, looked + 1
        cut |= {top} if len(paths) > MAX_FILES else set()
    if found:
        return f"worked: {found[0]}"
    if cut:
        return f"incomplete: more files it can read than the audit looks at in {', '.join(sorted(cut))}"
    unread = f" ({len(big)} over {MAX_SCAN >> 20} MB not read: {', '.join(big[:2])})" if big else ""
    return f"refused: none of the {looked - len(big)} files it can read{unread}"


def scan_file(path, top, needle):
    """(holds the needle, bytes read, too big to read) of the file `path`, reached from `top` one name at a time
    without following a link (a folder the team swapped for a link leads nowhere), a regular file only, opened
    without waiting on a FIFO or taking a terminal (facts.py's reader); None when it is not such a file there."""
    try:
        dir_fd, name = FACTS.parent_beneath(path, top)
    except OSError:
        return None
    try:
        fact = FACTS.read_capped(dir_fd, name, MAX_SCAN)
    finally:
        os.close(dir_fd)
    if not fact:
        return None
    text = fact.get("text", "")
    return needle.decode(errors="replace") in text, len(text), bool(fact.get("too_big"))


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


def ptrace_outcome():
    """Whether a team may trace its own probe, and so forge what it reports: yes with yama's ptrace_scope 0 or no
    yama (a process may trace any of its own uid); bounded, as it reaches no other team's process nor root's."""
    scope = read_capped("/proc/sys/kernel/yama/ptrace_scope", 16).strip().decode(errors="replace")
    if scope and scope != "0":
        return f"refused: yama ptrace_scope {scope}"
    why = "yama ptrace_scope 0" if scope else "no yama"
    return f"bounded: {why}: it may trace its own probe, whose rows are then its word (kernel.yama.ptrace_scope=1)"


def server_facts():
    def pam_limits(service):
        text = read_capped(f"/etc/pam.d/{service}", 65536).decode(errors="replace")
        return any(line.split()[:1] != ["#"] and "pam_limits.so" in line for line in text.splitlines())
    return {"bounds": "slice" if os.path.isdir("/run/systemd/system") else "rlimits",
            "pam_limits": {"crontab": pam_limits("cron"), "at": pam_limits("atd")}}


def main():
    (teams, facts), (needle, db_hosts), ptrace = (teams_here(), server_facts()), admin_needle(), ptrace_outcome()
    victims = {team: (teams[(n + 1) % len(teams)] if len(teams) > 1 else "") for n, team in enumerate(teams)}
    with ThreadPoolExecutor(max_workers=4) as pool:      # each probe waits on sudo, nginx, the database
        probes = dict(zip(teams, pool.map(lambda t: run_probe(t, victims[t], db_hosts), teams)))
    report, scanned = {}, {}
    for team in teams:
        user, probe = pwd.getpwnam(team), probes[team]
        uid, home = user.pw_uid, user.pw_dir
        outcomes = dict(probe.get("outcomes", {}))
        outcomes["admin_environ"] = admin_in_environ(uid, needle)
        if "readable" in probe and "file scan:" not in probe.get("error", ""):
            outcomes["admin_files"] = admin_in_files(SCAN_ROOTS + [home], probe, needle, scanned)
        outcomes["limits_sessions"], outcomes["limits_uwsgi"] = bounds(team, uid, facts["bounds"])
        outcomes["ptrace_probe"] = ptrace
        report[team] = {"victim": victims[team], "outcomes": outcomes, "error": probe.get("error", "")}
    print(json.dumps({"server": facts, "teams": report}))


if __name__ == "__main__":      # python3 -I -c on a server; its tests import it (the same argv)
    main()
