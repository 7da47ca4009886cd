"""A team's workers and cron jobs on the shared class (deploy/remote/team_procs.py, started by the team's uwsgi master):
Rapid News deployed with a Procfile whose worker writes a line every second and whose cron job writes one every
minute. The worker runs as the team within its limits, once; the job runs each minute, each run recorded (`fab logs
--cron`), never overlapping; `fab status` counts the worker and shows the last run; stopping the team's program
(supervisor's TERM: uwsgi's die-on-term) stops its worker; a deploy without a Procfile leaves neither running."""
import shutil
import time

import pytest

from deploy.core import commands, runner
from deploy.core.layout import TeamPaths
from deploy.remote import class_procs, class_status
from deploy.team import tasks as team_tasks
from tests.e2e.test_team_tasks import REPO, SSH_OPTIONS, WHEEL_CACHE

pytestmark = pytest.mark.e2e
TEAM = "hacknode3"
PATHS = TeamPaths(TEAM)
PROCFILE = """web: app.wsgi:app
health: /healthz
worker: python beat.py
cron: * * * * * echo "$(date +%s) $(cat RELEASE)" >> "$HOME/ticks.txt"; sleep 3; date +%s >> "$HOME/ticks.txt"; echo run done
"""

BEAT = """import os, time
while True:
    with open(os.path.join(os.environ["HOME"], "beats.txt"), "a") as beats:
        beats.write(f"{int(time.time())}\\n")
    time.sleep(1)
"""


def tree_with_procfile(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(REPO, tree, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".cache", ".hacknode", "test-artifacts", "__pycache__", ".pytest_cache"))
    (tree / "Procfile").write_text(PROCFILE)
    (tree / "beat.py").write_text(BEAT)
    return tree


def deploy(cls, tree):
    team = next(t for t in cls.inventory.teams if t.name == TEAM)
    with cls.as_team(TEAM) as c:
        return team_tasks.deploy_release(c, team, cls.inventory, tree, cache_dir=WHEEL_CACHE, ssh_options=SSH_OPTIONS)


def root(cls, command):
    with cls.as_root(TEAM) as c:
        return c.run(command, hide=True, warn=True).stdout


def lines_of(cls, name):
    return root(cls, f"cat {PATHS.home}/{name}").split("\n")[:-1]


def wait_until(check, seconds, what):
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what}: not within {seconds}s"
        time.sleep(1)
    return found


def worker_pids(cls):
    return root(cls, f"pgrep -u {TEAM} -f '^python beat.py'").split()


def procs_cells(cls):
    with cls.as_root(TEAM) as c:
        out = runner.run(c, commands.class_status(cls.inventory.domain, cls.host_of(TEAM).address)).stdout
    return class_procs.parse_cells(class_status.parse(out)["procs"][TEAM])


@pytest.fixture(scope="module")
def cls(provisioned_class):
    root(provisioned_class, f"rm -f {PATHS.home}/beats.txt {PATHS.home}/ticks.txt")
    yield provisioned_class
    deploy(provisioned_class, REPO)             # Rapid News again, without a Procfile: no worker, no cron


def test_a_worker_and_a_cron_job_run_as_the_team_recorded_counted_and_stopped_with_its_program(cls, tmp_path):
    release = deploy(cls, tree_with_procfile(tmp_path))
    beats = wait_until(lambda: len(lines_of(cls, "beats.txt")) >= 3 and lines_of(cls, "beats.txt"), 20, "beats")
    time.sleep(3)
    assert 2 <= len(lines_of(cls, "beats.txt")) - len(beats) <= 5                    # one a second, one worker
    pids = worker_pids(cls)
    assert len(pids) == 1, pids
    team = next(t for t in cls.inventory.teams if t.name == TEAM)
    found = root(cls, f"ps -o user= -p {pids[0]}; awk '/^Max processes/ {{print $3}}' /proc/{pids[0]}/limits")
    assert found.split() == [TEAM, str(team.tasks)], found                          # the team's bounds
    # two runs of the job, a minute apart, never overlapping, in the live release
    ticks = wait_until(lambda: len(lines_of(cls, "ticks.txt")) >= 4 and lines_of(cls, "ticks.txt"), 150, "2 runs")
    (start1, ran_in), end1, (start2, _), end2 = [t.split() if " " in t else t for t in ticks[:4]]
    assert ran_in == release and int(start1) <= int(end1) <= int(start2) <= int(end2), ticks
    assert int(start2) // 60 == int(start1) // 60 + 1, ticks                          # the next minute
    with cls.as_team(TEAM) as c:
        shown = team_tasks.logs(c, TEAM, cron=True)
    assert shown.count(f"ok, ") >= 2 and f"release {release}" in shown and ": run done" in shown, shown
    cells = procs_cells(cls)                                                            # fab status, the class page
    assert (cells["workers"], cells["cron"], cells["job"], cells["status"]) == ("1", "on", "cron", "ok"), cells
    # supervisor stops the program (remove_team, teardown, a restart): uwsgi stops its daemons with it
    root(cls, f"supervisorctl stop {TEAM}")
    time.sleep(1)
    assert worker_pids(cls) == [] and "team-procs cron" not in root(cls, f"ps -u {TEAM} -o args=")
    root(cls, f"supervisorctl start {TEAM}")
    wait_until(lambda: len(worker_pids(cls)) == 1, 30, "the worker started again with the program")


def test_a_release_without_a_procfile_runs_neither(cls):
    deploy(cls, REPO)
    time.sleep(2)
    assert worker_pids(cls) == [] and "team-procs" not in root(cls, f"ps -u {TEAM} -o args=")
    cells = procs_cells(cls)
    assert (cells["workers"], cells["cron"]) == ("0", "off"), cells
