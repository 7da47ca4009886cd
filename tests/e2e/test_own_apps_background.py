"""Teams' own apps with processes beside the web (tests/e2e/apps/), on the shared class: a worker writing to the
team's database every second, replaced with each release; a worker forking in a loop, stopped by the team's tasks
while the others keep answering; a Django project (its migrations as the release command, SQLite in the team's
home, its collected static files); and a cron job every minute, run twice, recorded, never overlapping, never
started while a release is switched. The cron job's two minutes pass while the other tests run (hacknode3, in a
thread). Every team serves Rapid News again at the end."""
import json
import time

import pytest

from deploy.core.layout import TeamPaths
from tests.e2e.own_apps import (app_tree, deploy, give_back_rapid_news, in_background, root_run, team_of, visit,
                                wait_serving)
from tests.e2e.own_apps_cron import cron_scenario, held_windows

pytestmark = pytest.mark.e2e
CRON_TEAM = "hacknode3"


@pytest.fixture(scope="module")
def cls(provisioned_class):
    yield provisioned_class
    give_back_rapid_news(provisioned_class, ("hacknode1", "hacknode2", CRON_TEAM))


@pytest.fixture(scope="module", autouse=True)
def cron_run(cls, tmp_path_factory):
    """The cron scenario on CRON_TEAM, started with the module's first test; its join() gives what it saw. It ends
    before the teams are given back Rapid News, whether its test ran or not."""
    join = in_background(cron_scenario, cls, CRON_TEAM, tmp_path_factory.mktemp("cron"))
    yield join
    try:
        join()
    except Exception:       # its test said it (or was not selected): what matters here is that it is over
        pass


def beats(cls, team):
    """{release: documents its worker wrote}, as the team's site shows them."""
    status, _, body = visit(cls, team, "/")
    assert status == 200, (status, body)
    return json.loads(body)


def wait_beats(cls, team, release, count, seconds=20):
    deadline = time.monotonic() + seconds
    while (seen := beats(cls, team)).get(release, 0) < count:
        assert time.monotonic() < deadline, f"the worker of {release} wrote {seen} in {seconds}s"
        time.sleep(0.5)
    return seen


def worker_pids(cls, team, command):
    return root_run(cls, team, f"pgrep -u {team} -f '^{command}'", warn=True).stdout.split()


def test_a_worker_writes_to_the_teams_database_every_second_and_each_release_replaces_it(cls, tmp_path):
    team = "hacknode1"
    first = deploy(cls, team, app_tree(tmp_path / "first", "worker_db"))
    wait_serving(cls, team, first)
    before = wait_beats(cls, team, first, 3)[first]
    time.sleep(4)
    assert 3 <= beats(cls, team)[first] - before <= 6                       # one a second
    pids = worker_pids(cls, team, "python beat.py")
    assert len(pids) == 1, pids
    # inside the team's bounds: the team's user, the team's limit on processes
    user, nproc = root_run(cls, team, f"ps -o user= -p {pids[0]}; "
                                      f"awk '/^Max processes/ {{print $3}}' /proc/{pids[0]}/limits").stdout.split()
    assert (user, int(nproc)) == (team, team_of(cls, team).tasks)
    second = deploy(cls, team, app_tree(tmp_path / "second", "worker_db"))
    wait_beats(cls, team, second, 2)
    stopped = beats(cls, team)[first]
    time.sleep(3)
    assert beats(cls, team)[first] == stopped                               # the old release's worker is gone
    assert len(worker_pids(cls, team, "python beat.py")) == 1


def test_a_worker_forking_in_a_loop_stops_at_the_teams_tasks_and_the_others_keep_answering(cls, tmp_path):
    team, other = "hacknode2", "hacknode1"
    forks = f"{TeamPaths(team).home}/forks.txt"
    root_run(cls, team, f"rm -f {forks}")
    release = deploy(cls, team, app_tree(tmp_path, "fork_worker"))       # its loop starts after the deploy's checks
    deadline = time.monotonic() + 60
    while not (said := root_run(cls, team, f"cat {forks}", warn=True).stdout.split()):
        assert time.monotonic() < deadline, "the fork loop wrote nothing in 60 s"
        time.sleep(1)
    during = [visit(cls, other, "/")[0] for _ in range(5)]                  # while the team holds all it may
    children, tasks, refused = int(said[0]), int(said[1]), said[2]
    limit = team_of(cls, team).tasks
    assert 0 < children < limit and tasks <= limit, (said, limit)
    assert refused == "Resource_temporarily_unavailable", said
    assert during == [200] * 5
    deadline = time.monotonic() + 60                                        # its children end after 20 s
    while int(root_run(cls, team, f"pgrep -c -u {team} -f '^python forker.py'", warn=True).stdout or 0) > 1:
        assert time.monotonic() < deadline, "the fork loop's children did not end"
        time.sleep(1)
    assert wait_serving(cls, team, release)[0] == 200                      # its own site lived through it too


def test_a_django_project_migrates_sqlite_in_the_teams_home_and_serves_its_collected_static_files(cls, tmp_path):
    team = "hacknode1"
    release = deploy(cls, team, app_tree(tmp_path, "django_site"))
    status, _, body = wait_serving(cls, team, release)
    assert status == 200 and "<p>0 notes</p>" in body, (status, body)     # its table exists: migrate ran
    status, _, css = visit(cls, team, "/static/notes.css")
    assert status == 200 and "notes stylesheet" in css, (status, css)
    database = f"{TeamPaths(team).home}/mysite.sqlite3"
    assert root_run(cls, team, f"stat -c %U {database}").stdout.strip() == team
    again = deploy(cls, team, app_tree(tmp_path / "again", "django_site"))  # migrate again: nothing to do, same data
    assert "<p>0 notes</p>" in wait_serving(cls, team, again)[2]


def test_a_cron_job_every_minute_runs_twice_recorded_never_overlapping_never_during_a_switch(cron_run, capsys):
    seen = cron_run()
    with capsys.disabled():
        print(f"\n{CRON_TEAM}'s cron runner, waiting for the next minute: {seen['runner_kb']} kB PSS")
    ticks, boundary = seen["ticks"], seen["boundary"]
    assert len(ticks) >= 2, ticks
    for (_, end, _), (start, _, _) in zip(ticks, ticks[1:]):
        assert start >= end, f"two runs overlap: {ticks}"
    windows = held_windows(seen["samples"])
    across = [w for w in windows if w[0] < boundary < w[1]]
    assert across, f"the switch did not last across {boundary} (it held the lock {windows}): no run was due in it"
    assert not [t for t in ticks for w in windows if w[0] <= t[0] <= w[1]], (ticks, windows)
    due = next(t for t in ticks if t[0] >= boundary - 1)
    assert across[0][1] < due[0] <= across[0][1] + 10, (due, across)        # it waited for the switch, then ran
    assert due[2] == seen["second"] and ticks[0][2] == seen["first"], (ticks, seen)
    # the records the team reads (fab logs --cron): each run, ok, with the release it ran in
    runs = [line for line in seen["records"].splitlines() if " ok, " in line]
    assert [line.split()[-1] for line in runs[-2:]] == [ticks[0][2], due[2]], seen["records"]
