"""On a server that systemd runs (a booted test host), each team is bounded as a whole by its user slice: a memory
hog and a fork loop spread over several of the team's processes stop at the team's MemoryMax and TasksMax in total,
and the other team's /healthz answers 200 during and after."""
import shlex
import time

import pytest

from deploy.admin.tasks import status_table
from tests.e2e.test_faults import step_named

pytestmark = pytest.mark.e2e
ATTACKER, VICTIM = "hacknode1", "hacknode2"
MEMORY_MB, TASKS, CPU_WEIGHT = 256, 64, 50     # the attacker's memory_mb, tasks and cpu_weight here

# Run as the attacker: HOGS processes each filling (touching) MB megabytes, then holding them; each says how it ended.
HOG = r"""
import os, sys, time
count, mb = int(sys.argv[1]), int(sys.argv[2])
pids = []
for _ in range(count):
    pid = os.fork()
    if pid == 0:
        data = b"x" * (mb * 1024 * 1024)
        time.sleep(4)
        os._exit(0)
    pids.append(pid)
print(" ".join("killed" if os.WIFSIGNALED(s) and os.WTERMSIG(s) == 9 else "lived"
               for s in (os.waitpid(p, 0)[1] for p in pids)))
"""

# Run as the attacker, several at once: forks until refused, says how many it made, holds them a while.
FORKS = r"""
import os, sys, time
children = []
for _ in range(500):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(5)
        os._exit(0)
    children.append(pid)
print(len(children), flush=True)
time.sleep(3)
"""


def slice_files(root, uid, *names):
    """The kernel's own figures for the team's slice (cgroup v1 here: memory and pids hierarchies)."""
    paths = {hierarchy: f"/sys/fs/cgroup/{hierarchy}/user.slice/user-{uid}.slice"
             for hierarchy in ("memory", "pids", "cpu")}
    return [root.run(f"cat {paths[n.split('.')[0]]}/{n}", hide=True).stdout.strip() for n in names]


@pytest.fixture(scope="module")
def booted_class(host_factory, make_class, tmp_path_factory):
    """Two teams on a host that boots systemd. It is the fault suite's reboot host, to save a boot and a whole
    provisioning: this file runs after test_faults.py (file order), whose first provisioning there must find a
    fresh server; here only the attacker's limits and the keys change."""
    host = host_factory("boot", boot=True)
    cls = make_class(tmp_path_factory.mktemp("booted"), {"main": host}, {ATTACKER: "main", VICTIM: "main"},
                     team_lines={ATTACKER: [f"memory_mb: {MEMORY_MB}", f"tasks: {TASKS}",
                                            f"cpu_weight: {CPU_WEIGHT}"]})
    _, steps = cls.provision()
    assert step_named(steps, "team slices").changed
    with cls.as_root("main") as root:
        cls.uid = root.run(f"id -u {ATTACKER}", hide=True).stdout.strip()
    return cls


def test_a_teams_program_runs_in_its_slice_as_its_user_and_supervisors_signals_reach_it(booted_class):
    cls, uid = booted_class, booted_class.uid
    with cls.as_root("main") as root:
        shown = root.run(f"systemctl show user-{uid}.slice -p MemoryMax -p TasksMax -p CPUWeight", hide=True).stdout
        assert sorted(shown.split()) == [f"CPUWeight={CPU_WEIGHT}", f"MemoryMax={MEMORY_MB * 1024 * 1024}",
                                         f"TasksMax={TASKS}"]
        # the kernel's own settings (cgroup v1: systemd translates CPUWeight 50 into half the default 1024 shares)
        assert slice_files(root, uid, "memory.limit_in_bytes", "pids.max", "cpu.shares") == [
            str(MEMORY_MB * 1024 * 1024), str(TASKS), str(1024 * CPU_WEIGHT // 100)]
        pid = root.run(f"supervisorctl pid {ATTACKER}", hide=True).stdout.strip()
        cgroups = root.run(f"cat /proc/{pid}/cgroup", hide=True).stdout
        user = root.run(f"stat -c %U /proc/{pid}; grep ^Groups: /proc/{pid}/status; id -G {ATTACKER}",
                        hide=True).stdout.splitlines()
        assert f"memory:/user.slice/user-{uid}.slice/run-" in cgroups
        assert f"pids:/user.slice/user-{uid}.slice/run-" in cgroups
        assert user[0] == ATTACKER and user[1].split()[1:] == user[2].split(), user     # its own groups, not root's
        with cls.as_team(ATTACKER) as c:          # a deploy's graceful reload: the team signals its own master
            c.run(f"kill -HUP $(pgrep -o -u {ATTACKER} -f /uwsgi/{ATTACKER}.ini)", hide=True)
        time.sleep(1)
        assert root.run(f"supervisorctl pid {ATTACKER}", hide=True).stdout.strip() == pid
        started = time.monotonic()                # supervisor's TERM stops uwsgi itself, well before stopwaitsecs
        root.run(f"supervisorctl restart {ATTACKER}", hide=True)
        took = time.monotonic() - started
        again = root.run(f"supervisorctl pid {ATTACKER}", hide=True).stdout.strip()
        assert again != pid and f"/user-{uid}.slice/" in root.run(f"cat /proc/{again}/cgroup", hide=True).stdout
    print(f"supervisorctl restart in the slice: {took:.1f} s")
    assert took < 10 and cls.http(ATTACKER, "/healthz")[0] == 200


def test_a_memory_hog_and_fork_loops_over_several_processes_stop_at_the_slices_limits_in_total(booted_class):
    cls, uid = booted_class, booted_class.uid
    with cls.as_root("main") as root, cls.as_team(ATTACKER) as c:
        nproc = c.run("ulimit -u", hide=True).stdout.strip()      # no rlimit stops the forks: the slice does
        hogs = c.run(f"python3 -c {shlex.quote(HOG)} 4 100", hide=True, asynchronous=True)
        time.sleep(2)
        during_hog = cls.http(VICTIM, "/healthz")[0]
        ended = hogs.join().stdout.split()
        peak, failures = slice_files(root, uid, "memory.max_usage_in_bytes", "memory.failcnt")
        forks = c.run(f"for i in 1 2 3; do python3 -c {shlex.quote(FORKS)} & done; wait",
                      hide=True, asynchronous=True)
        time.sleep(2.5)
        current, = slice_files(root, uid, "pids.current")
        during_forks = cls.http(VICTIM, "/healthz")[0]
        made = [int(n) for n in forks.join().stdout.split()]
    print(f"4 hogs of 100 MB under MemoryMax={MEMORY_MB}M: {ended}, peak {int(peak) >> 20} MB; "
          f"3 fork loops under TasksMax={TASKS}: made {made}, slice tasks {current}, ulimit -u {nproc}")
    assert "killed" in ended and int(peak) <= MEMORY_MB * 1024 * 1024 and int(failures) > 0
    assert len(made) == 3 and sum(made) < TASKS and int(current) == TASKS and int(nproc) > 10 * TASKS
    assert during_hog == during_forks == 200
    assert cls.http(VICTIM, "/healthz")[0] == 200
    deadline = time.monotonic() + 30     # the attacker's own site too, once its own storm is over
    while cls.http(ATTACKER, "/healthz")[0] != 200 and time.monotonic() < deadline:
        time.sleep(1)
    assert cls.http(ATTACKER, "/healthz")[0] == 200
    table, problems = status_table(cls.inventory, cls.root_key)
    rows = {line.split()[0]: line.split() for line in table.splitlines() if line.startswith("hacknode")}
    assert problems == [] and rows[ATTACKER][6].endswith(f"M/{MEMORY_MB}M") and rows[ATTACKER][7].endswith(f"/{TASKS}")
    assert rows[ATTACKER][9] == rows[VICTIM][9] == "slice", table          # what bounds each team


def test_where_systemd_runs_the_team_restarts_hard_as_itself_and_its_uwsgi_gets_nothing_of_roots(booted_class):
    """team-scope (root: systemd-run, setpriv) starts in / with the program's fixed environment: the team's uwsgi
    carries only that line and its settings; `fab restart --hard`, as the team (no sudo), starts a new master in
    the team's slice (tests/e2e/test_attacks_entry.py and test_attacks_environment.py, without systemd)."""
    from deploy.team import tasks as team_tasks
    cls, uid = booted_class, booted_class.uid
    team = next(t for t in cls.inventory.teams if t.name == VICTIM)
    with cls.as_root("main") as root:
        before = root.run(f"supervisorctl pid {VICTIM}", hide=True).stdout.strip()
        names = set(root.run(f"tr '\\0' '\\n' < /proc/{before}/environ | cut -d= -f1", hide=True).stdout.split())
        settings = set(root.run(f"cut -d= -f1 /home/{VICTIM}/.hacknode/mongo_uri", hide=True).stdout.split())
    with cls.as_team(VICTIM) as c:
        team_tasks.restart(c, team, cls.inventory, hard=True)
    with cls.as_root("main") as root:
        after = root.run(f"supervisorctl pid {VICTIM}", hide=True).stdout.strip()
        cgroups = root.run(f"cat /proc/{after}/cgroup", hide=True).stdout
        victim_uid = root.run(f"id -u {VICTIM}", hide=True).stdout.strip()
    # INVOCATION_ID: systemd-run's id of the team's scope
    allowed = {"PATH", "LANG", "HOME", "USER", "LOGNAME", "TMPDIR", "MALLOC_ARENA_MAX", "INVOCATION_ID"} | settings
    assert not {n for n in names - allowed if not n.startswith("UWSGI_")}, sorted(names)
    assert after != before and f"/user-{victim_uid}.slice/" in cgroups
    assert cls.http(VICTIM, "/healthz")[0] == 200 and cls.http(ATTACKER, "/healthz")[0] == 200
