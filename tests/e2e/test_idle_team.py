"""An idle team costs only its uwsgi master: after idle_seconds without a request its workers stop; the next
request starts one again and is answered 200 (it waits, never fails); load grows the workers up to the team's
`processes`. On provisioned_class's hacknode1 (idle_seconds: conftest.IDLE_SECONDS, processes: 2), and on its
hacknode2 with the shipped inventory's idle_seconds while the class page runs: nothing hacknode runs keeps it awake."""
import json
import re
import time
from pathlib import Path

import pytest
import yaml

from deploy.core.layout import TeamPaths
from deploy.inventory.model import Inventory
from deploy.team import tasks as team_tasks
from tests.e2e.conftest import IDLE_SECONDS, PAGE_SECONDS
from tests.e2e.test_team_tasks import SSH_OPTIONS, WHEEL_CACHE, copy_of_repo
from lab import load

pytestmark = pytest.mark.e2e
TEAM = "hacknode1"
# requests aimed at the moment uwsgi stops the workers of an idle team, sent by a program on the host
AIMED_WAKEUPS = Path(__file__).with_name("aimed_wakeups.py")
WAKE_UPS = 6
SHIPPED = yaml.safe_load((Path(__file__).resolve().parents[2] / "inventory.yml").read_text())
SHIPPED_IDLE = SHIPPED["defaults"].get("idle_seconds")
SHIPPED_PAGE = SHIPPED["class"].get("page_seconds", Inventory.__dataclass_fields__["page_seconds"].default)


def master_pid(root, seconds=10):
    """The team's uwsgi master, once supervisor says RUNNING: a program just (re)started by provisioning answers
    before supervisor's startsecs (3 s) have passed, and is STARTING meanwhile (no pid shown)."""
    deadline = time.monotonic() + seconds
    while "RUNNING" not in (out := root.run(f"supervisorctl status {TEAM}", hide=True).stdout):
        assert time.monotonic() < deadline, out
        time.sleep(0.5)
    return int(out.split("pid ")[1].split(",")[0])


def workers(root, master):
    return root.run(f"ps --ppid {master} -o pid=", hide=True, warn=True).stdout.split()


def wait_for_workers(root, master, wanted, seconds):
    """The workers once their count satisfies `wanted`; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while not wanted(len(found := workers(root, master))):
        if time.monotonic() > deadline:
            pytest.fail(f"{TEAM}'s uwsgi has {len(found)} workers after {seconds}s")
        time.sleep(0.5)
    return found


def pss_kb(root, pids):
    """Proportional set size of these processes, in kB (their share of pages they share with others)."""
    files = " ".join(f"/proc/{pid}/smaps_rollup" for pid in pids)
    return sum(int(line.split()[1]) for line in root.run(f"grep -h '^Pss:' {files}", hide=True).stdout.splitlines())


def test_an_idle_team_stops_its_workers_and_a_request_wakes_it(provisioned_class, capsys):
    cls = provisioned_class
    assert cls.http(TEAM, "/healthz")[0] == 200
    with cls.as_root(TEAM) as root:
        master = master_pid(root)
        assert workers(root, master)                       # it just answered: a worker runs
        wait_for_workers(root, master, lambda n: n == 0, IDLE_SECONDS + 15)
        idle_kb = pss_kb(root, [master])
        started = time.monotonic()
        status, body = cls.http(TEAM, "/")
        woke_in = time.monotonic() - started
        assert status == 200 and "Rapid News" in body
        assert len(workers(root, master)) >= 1 and master_pid(root) == master
        # under load it grows to its 2 processes (cheaper: one more when all are busy for a second)
        with load.load_during(f"http://{cls.host_of(TEAM).address}/", f"{TEAM}.hacknode.test", 20) as running:
            wait_for_workers(root, master, lambda n: n == 2, 20)
        assert running.result.failed == 0, running.result
    with capsys.disabled():
        print(f"\n{TEAM} idle: its uwsgi master alone, {idle_kb / 1024:.1f} MB PSS; first request after idle "
              f"answered in {woke_in:.2f}s")


def test_requests_arriving_as_the_idle_timer_stops_the_workers_are_all_answered(provisioned_class, capsys):
    cls = provisioned_class
    with cls.as_root(TEAM) as root:
        root.put(str(AIMED_WAKEUPS), "/root/aimed_wakeups.py")
        answers = json.loads(root.run(f"python3 /root/aimed_wakeups.py {TEAM} {TeamPaths(TEAM).uwsgi_log} {WAKE_UPS}",
                                     hide=True).stdout)
    failed = [status for status, _ in answers if status != 200]
    assert not failed, f"{len(failed)} of {len(answers)} requests sent as the idle timer fired failed: {failed}"
    seconds = sorted(took for _, took in answers)
    with capsys.disabled():
        print(f"\n{TEAM}: {len(answers)} requests over {WAKE_UPS} idle stops, all 200; "
              f"median {seconds[len(seconds) // 2]:.2f}s, slowest {seconds[-1]:.2f}s")


def uwsgi_processes(root, team):
    """The team's uwsgi processes as a user counts them: pgrep -u TEAM -f uwsgi."""
    return root.run(f"pgrep -u {team} -f uwsgi", hide=True, warn=True).stdout.split()


def page_health(cls, team):
    """The team's health cell on the class page and the time the page says it was written (None: not listed)."""
    status, page = cls.http(team, "/", by="server")
    assert status == 200, page
    row = re.search(rf'>{team}</a></td>\s*<td[^>]*>[^<]*</td>\s*<td[^>]*>([^<]*)</td>', page)
    return row and row.group(1), re.search(r'<time datetime="([^"]+)">', page).group(1)


def wait_for_page(cls, team, wanted, seconds):
    """The team's health on the class page once it is `wanted`; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while (health := page_health(cls, team)[0]) != wanted:
        if time.monotonic() > deadline:
            pytest.fail(f"the class page shows {team} {health!r}, not {wanted!r}, after {seconds}s")
        time.sleep(1)


def test_with_the_shipped_idle_seconds_a_team_nobody_visits_costs_only_its_master(provisioned_class, capsys):
    """hacknode2 has the shipped inventory's idle_seconds; the class page runs (every PAGE_SECONDS, more often than
    the shipped page_seconds). Once visited, then left alone, within idle_seconds plus one shipped class-page period
    it is its uwsgi master alone and stays so while the page shows it idle; nothing (the page, its collector) sent it
    a request meanwhile; a visitor then wakes it."""
    cls, team = provisioned_class, "hacknode2"
    assert next(t for t in cls.inventory.teams if t.name == team).idle_seconds == SHIPPED_IDLE
    assert cls.http(team, "/")[0] == 200
    wait_for_page(cls, team, "up", 3 * PAGE_SECONDS)          # awake: its master's stats say a worker accepts
    with cls.as_root(team) as root:
        awake = uwsgi_processes(root, team)
        awake_kb = pss_kb(root, awake)
        log_size = int(root.run(f"stat -c %s {TeamPaths(team).access_log}", hide=True).stdout)
        started = time.monotonic()
        deadline = started + SHIPPED_IDLE + SHIPPED_PAGE
        while len(idle := uwsgi_processes(root, team)) > 1 and time.monotonic() < deadline:
            time.sleep(1)
        asleep_after = time.monotonic() - started
        wait_for_page(cls, team, "idle", 2 * PAGE_SECONDS)              # still listed, shown asleep
        idle = uwsgi_processes(root, team)                              # and still asleep after the page's rounds
        idle_kb = pss_kb(root, idle)
        logged = root.run(f"tail -c +{log_size + 1} {TeamPaths(team).access_log}", hide=True).stdout
    assert len(awake) >= 2 and len(idle) == 1, (awake, idle)          # its master alone
    assert not logged, f"requests sent to {team} while nobody visited it:\n{logged}"
    assert idle_kb < awake_kb / 2, (idle_kb, awake_kb)                  # its worker's memory given back
    assert cls.http(team, "/")[0] == 200
    wait_for_page(cls, team, "up", 3 * PAGE_SECONDS)
    with capsys.disabled():
        print(f"\n{team} (idle_seconds {SHIPPED_IDLE}, class page every {PAGE_SECONDS} s): awake "
              f"{awake_kb / 1024:.1f} MB PSS in {len(awake)} processes; its master alone {asleep_after:.0f} s after "
              f"the last visit, {idle_kb / 1024:.1f} MB in {len(idle)}")


def test_an_idle_team_with_a_cron_job_costs_its_master_and_its_cron_runner(provisioned_class, tmp_path, capsys):
    """hacknode1 with a Procfile of one cron job: once idle, what runs of it is its uwsgi master and the cron runner
    team-procs (no worker, no uwsgi worker), and the figure of their memory; then Rapid News without a Procfile again."""
    cls = provisioned_class
    team = next(t for t in cls.inventory.teams if t.name == TEAM)
    tree = copy_of_repo(tmp_path / "tree")
    (tree / "Procfile").write_text("web: app.wsgi:app\nhealth: /healthz\ncron-tick: * * * * * date +%s >> ticks\n")
    with cls.as_team(TEAM) as c:
        team_tasks.deploy_release(c, team, cls.inventory, tree, cache_dir=WHEEL_CACHE, ssh_options=SSH_OPTIONS)
    try:
        with cls.as_root(TEAM) as root:
            master = master_pid(root)
            wait_for_workers(root, master, lambda n: n == 1, IDLE_SECONDS + 15)   # the runner alone of its children
            while not 10 <= time.time() % 60 <= 45:        # away from the minute's run (a second or so from :00)
                time.sleep(1)
            children = root.run(f"ps --ppid {master} -o args=", hide=True).stdout
            mine = root.run(f"pgrep -u {TEAM}", hide=True).stdout.split()
            names = root.run(f"ps -o comm= -p {','.join(mine)}", hide=True).stdout.split()
            idle_kb, master_kb = pss_kb(root, mine), pss_kb(root, [master])
        assert "team-procs cron" in children and "uwsgi" not in children, children
    finally:
        with cls.as_team(TEAM) as c:
            team_tasks.deploy_release(c, team, cls.inventory, copy_of_repo(tmp_path / "plain"),
                                      cache_dir=WHEEL_CACHE, ssh_options=SSH_OPTIONS)
    with capsys.disabled():
        print(f"\n{TEAM} idle with one cron job: {len(mine)} processes ({' '.join(names)}), {idle_kb / 1024:.1f} MB "
              f"PSS, its uwsgi master {master_kb / 1024:.1f} MB of it")
