"""An idle team costs only its uwsgi master: after idle_seconds without a request its workers stop; the next
request starts one again and is answered 200 (it waits, never fails); load grows the workers up to the team's
`processes`. On provisioned_class's hacknode1 (idle_seconds: conftest.IDLE_SECONDS, processes: 2)."""
import json
import time
from pathlib import Path

import pytest

from deploy.core.layout import TeamPaths
from tests.e2e.conftest import IDLE_SECONDS
from lab import load

pytestmark = pytest.mark.e2e
TEAM = "hacknode1"
# requests aimed at the moment uwsgi stops the workers of an idle team, sent by a program on the host
AIMED_WAKEUPS = Path(__file__).with_name("aimed_wakeups.py")
WAKE_UPS = 6


def master_pid(root):
    out = root.run(f"supervisorctl status {TEAM}", hide=True).stdout
    assert "RUNNING" in out, out
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
