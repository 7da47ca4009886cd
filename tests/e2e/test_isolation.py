"""Attacks by one team (hacknode1) on another (hacknode2) on a provisioned class: each is denied or bounded,
and the other teams' /healthz answers 200 during and after it. Several attacks run in one SSH session (a
probe program run by the attacker's own Python) to keep the end-to-end time small."""
import json
import shlex
import statistics
import time

import pytest

from deploy.admin.tasks import status_table
from deploy.inventory import load_inventory

pytestmark = pytest.mark.e2e
ATTACKER, VICTIM, BYSTANDER = "hacknode1", "hacknode2", "hacknode3"
PEEK = f"/home/{ATTACKER}/current/app/static/peek.txt"

# Run as the attacker: every read, write, connection and database login it tries, as JSON {attack: outcome}.
PROBE = r"""
import glob, json, os, pwd, socket, sys
me, other = sys.argv[1], sys.argv[2]
out = {}
def attempt(name, action):
    try:
        action()
        out[name] = "ALLOWED"
    except OSError as error:
        out[name] = type(error).__name__
for name, path in [("read home", f"/home/{other}/.bashrc"), ("read secrets", f"/home/{other}/.hacknode/mongo_uri"),
                   ("read releases", f"/home/{other}/current/app/__init__.py"),
                   ("read logs", f"/var/log/hacknode/{other}/uwsgi.log")]:
    attempt(name, lambda: open(path).read())
attempt("list home", lambda: os.listdir(f"/home/{other}"))
for name, path in [("write home", f"/home/{other}/planted"), ("write static", f"/home/{other}/current/app/static/x"),
                   ("write logs", f"/var/log/hacknode/{other}/planted")]:
    attempt(name, lambda: open(path, "w").write("x"))
def connect():
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(f"/home/{other}/run/uwsgi.sock")
attempt("connect uwsgi socket", connect)
# /proc: what another team's processes show of themselves
uid = str(pwd.getpwnam(other).pw_uid)
pids = [p.split("/")[2] for p in glob.glob("/proc/[0-9]*/status")
        if any(l.split()[1:2] == [uid] for l in open(p) if l.startswith("Uid:"))]
out["other pids"] = len(pids)
shown = []
for pid in pids:
    shown.append(open(f"/proc/{pid}/cmdline").read().replace("\0", " "))
    attempt("read environ", lambda: shown.append(open(f"/proc/{pid}/environ").read()))
    out["umask"] = [l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("Umask:")][0]
    out["limits"] = open(f"/proc/{pid}/limits").read()
out["shown"] = shown
# the database: own credentials on the other's database, none at all, listing databases
import pymongo
from pymongo.errors import OperationFailure
settings = open(f"/home/{me}/.hacknode/mongo_uri").read().splitlines()    # NAME=value lines (values may hold spaces)
uri = dict(l.split("=", 1) for l in settings if "=" in l)["FLASK_MONGO_URI"]
def refused(action):
    try:
        action()
        return "ALLOWED"
    except OperationFailure:
        return "refused"
own = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
out["own database"] = refused(lambda: own[me].command("ping"))
out["other database, own credentials"] = refused(lambda: own[other].articles.find_one())
try:
    out["list databases"] = own.list_database_names()      # MongoDB lists only the user's own databases
except OperationFailure:
    out["list databases"] = "refused"
anonymous = pymongo.MongoClient(uri.split("@")[1].split("/")[0], serverSelectionTimeoutMS=5000)
out["other database, no credentials"] = refused(lambda: anonymous[other].articles.find_one())
print(json.dumps(out))
"""

def others_healthy(made):
    return {team: made.http(team, "/healthz")[0] for team in (VICTIM, BYSTANDER)}


def test_another_teams_files_processes_socket_database_and_program_are_closed(provisioned_class):
    made = provisioned_class
    with made.as_root("main") as root:
        secret = root.run(f"cat /home/{VICTIM}/.hacknode/mongo_uri", hide=True).stdout.split()
        victim_pid = root.run(f"supervisorctl pid {VICTIM}", hide=True).stdout.strip()
    with made.as_team(ATTACKER) as c:
        c.run(f"ln -sfn /home/{VICTIM}/current/app/__init__.py {PEEK}", hide=True)
        c.run(f"ln -sfn ../__init__.py {PEEK}.own", hide=True)            # a link inside its own tree still works
        linked = {"by subdomain": made.http(ATTACKER, "/static/peek.txt"),       # (by path: test_render's nginx -t)
                  "own link": made.http(ATTACKER, "/static/peek.txt.own")}
        c.run(f"rm -f {PEEK} {PEEK}.own", hide=True)
        python = f"/home/{ATTACKER}/current/rapid-env/bin/python"
        probe = json.loads(c.run(f"{python} -c {shlex.quote(PROBE)} {ATTACKER} {VICTIM}", hide=True).stdout)
    assert linked["by subdomain"][0] in (403, 404), linked
    assert linked["own link"][0] == 200 and "create_app" in linked["own link"][1]
    for attack in ("read home", "read secrets", "read releases", "read logs", "list home", "write home",
                   "write static", "write logs", "connect uwsgi socket", "read environ"):
        assert probe[attack] == "PermissionError", (attack, probe[attack])
    # the victim's uwsgi master (and its workers, unless the team is idle: then the master alone)
    assert probe["other pids"] >= 1 and probe["umask"] == "0027"
    team = next(t for t in made.inventory.teams if t.name == VICTIM)        # its uwsgi carries the team's limits
    limits = {" ".join(line.split()[:-3]): line.split()[-3] for line in probe["limits"].splitlines()[1:]}
    assert limits["Max address space"] == str(team.memory_mb * 1024 * 1024)
    assert (limits["Max processes"], limits["Max open files"]) == (str(team.tasks), str(team.open_files))
    assert not any(value in text for value in secret for text in probe["shown"])   # no secret in a cmdline
    assert probe["own database"] == "ALLOWED"
    for attack in ("other database, own credentials", "other database, no credentials"):
        assert probe[attack] == "refused", attack
    assert probe["list databases"] in ("refused", [ATTACKER]), probe["list databases"]
    # sudo: no team has a rule (tests/e2e/test_attacks_entry.py tries what the old rule allowed)
    with made.as_root("main") as root:
        assert root.run(f"supervisorctl pid {VICTIM}", hide=True).stdout.strip() == victim_pid
    assert others_healthy(made) == {VICTIM: 200, BYSTANDER: 200}


def test_a_teams_tmp_files_and_temporary_folder_are_its_own(provisioned_class):
    made = provisioned_class
    with made.as_team(VICTIM) as c:
        # an SSH command (no login shell: pam_umask) writes to the shared /tmp; a login shell has its own TMPDIR
        umask = c.run("umask; echo secret > /tmp/hn-victim-file", hide=True).stdout.strip()
        made_in = c.run("bash -lc 'python3 -c \"import tempfile; print(tempfile.mkstemp()[1])\"'", hide=True).stdout
    with made.as_team(ATTACKER) as c:
        read = c.run("cat /tmp/hn-victim-file", hide=True, warn=True)
        mode = c.run("stat -c %a /tmp/hn-victim-file", hide=True).stdout.strip()
    with made.as_root("main") as root:
        root.run("rm -f /tmp/hn-victim-file", hide=True)
    assert umask == "0027" and mode == "640"
    assert read.failed and "Permission denied" in read.stderr
    assert made_in.strip().startswith(f"/home/{VICTIM}/tmp/")
    assert others_healthy(made) == {VICTIM: 200, BYSTANDER: 200}


# Run as the attacker: forks until refused, then counts its user's tasks itself (a fork for `ps` would fail too).
FORK_LOOP = r"""
import glob, os, sys, time
children = []
for _ in range(1000):            # bounded: the test's own loop stops by itself
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    children.append(pid)
uid = str(os.getuid())
tasks = sum(1 for p in glob.glob("/proc/[0-9]*/task/*/status")
            if any(l.split()[1:2] == [uid] for l in open(p) if l.startswith("Uid:")))
print(len(children), tasks, flush=True)
time.sleep(float(sys.argv[1]))
for pid in children:
    os.kill(pid, 9)
"""


def test_fork_loop_and_memory_hog_stop_at_the_teams_limits(provisioned_class):
    made = provisioned_class
    team = made.inventory.teams[0]
    with made.as_team(ATTACKER) as c:
        hog = c.run("python3 -c 'x = bytearray(2 * 1024 ** 3)'", hide=True, warn=True)
        limits = c.run("ulimit -u; ulimit -n; ulimit -v", hide=True).stdout.split()
        forks = c.run(f"python3 -c {shlex.quote(FORK_LOOP)} 8", hide=True, asynchronous=True)
        time.sleep(5)
        during = others_healthy(made)
        out = forks.join().stdout.split()
    assert hog.failed and "MemoryError" in hog.stderr
    assert [int(v) for v in limits] == [team.tasks, team.open_files, team.memory_mb * 1024]
    children, tasks = int(out[0]), int(out[1])
    assert 0 < children < team.tasks and tasks <= team.tasks, out
    assert during == {VICTIM: 200, BYSTANDER: 200}
    assert others_healthy(made) == {VICTIM: 200, BYSTANDER: 200}
    assert made.http(ATTACKER, "/healthz")[0] == 200                # its own site lived through it too


def front_page_seconds(made, team, count=10):
    times = []
    for _ in range(count):
        start = time.monotonic()
        assert made.http(team, "/")[0] == 200
        times.append(time.monotonic() - start)
    return statistics.median(times)


def test_a_cpu_spin_leaves_the_others_front_page_within_three_times_idle(provisioned_class):
    made = provisioned_class
    idle = front_page_seconds(made, VICTIM)
    with made.as_team(ATTACKER) as c:
        spin = c.run("for i in 1 2 3 4; do timeout 20 python3 -c 'while True: pass' & done; wait",
                     hide=True, warn=True, asynchronous=True)
        time.sleep(1)
        busy = front_page_seconds(made, VICTIM)
        during = others_healthy(made)
        with made.as_root("main") as root:     # the spin really ran all along, at full speed
            spinning = root.run(f"ps -u {ATTACKER} -o pcpu=,args= | grep -c '^ *[1-9][0-9.]* python3 -c while'",
                                hide=True, warn=True).stdout.strip()
        c.run(f"pkill -u {ATTACKER} -f 'while True: pass'", hide=True, warn=True)
        spin.join()
    print(f"front page of {VICTIM}: idle {idle * 1000:.1f} ms, during the spin {busy * 1000:.1f} ms")
    assert spinning == "4"
    assert busy / idle <= 3, (idle, busy)
    assert during == {VICTIM: 200, BYSTANDER: 200}


def test_a_disk_filler_is_shown_by_status_with_a_warning_and_the_others_keep_serving(provisioned_class):
    made = provisioned_class
    strict = load_inventory(made.write_inventory(made.teams, "strict.yml", {ATTACKER: ["disk_warn_mb: 50"]}))
    with made.as_team(ATTACKER) as c:
        c.run("head -c 80M /dev/zero > ~/filler", hide=True)
        table, problems = status_table(strict, made.root_key)
        during = others_healthy(made)
        c.run("rm -f ~/filler", hide=True)
    rows = {line.split()[0]: line.split() for line in table.splitlines()[1:] if line.startswith("hacknode")}
    mem, tasks, disk, bound = rows[ATTACKER][6:10]
    assert problems == [] and disk.endswith("M/50M!") and int(disk.split("M/")[0]) >= 80, table
    assert f"warning: {ATTACKER} uses" in table and "above its disk_warn_mb 50" in table
    assert mem.endswith("M/512M") and int(mem.split("M/")[0]) > 10 and tasks.endswith("/128")
    assert bound == "rlimits"                      # no systemd on these test hosts (test_isolation_cgroups.py: a booted one)
    assert rows[VICTIM][8].endswith("M/1024M") and not rows[VICTIM][8].endswith("!")
    assert "main: disk quotas: unavailable (no user quotas on the filesystem of /home)" in table
    assert during == {VICTIM: 200, BYSTANDER: 200}
