"""Teams deploy apps of their own (tests/e2e/apps/), declared by a Procfile, on the shared class: a Flask app in src/
made by a factory, a plain WSGI callable, and the deploys that must not go live (a failing release command, a
worker that dies at start, a malformed Procfile), each checked as a team member and a visitor see it: the deploy's
output, the site's answers and their X-Hacknode-Release header, the releases on the server. The teams serve
Rapid News again at the end (test_own_apps_background.py: workers, cron, the fork loop, Django). Last, the
workshop's last step: a learner's own app in myapp/, deployed from a checkout that still holds Rapid News."""
import re
import subprocess
import time

import pytest

from deploy.core.layout import PROCS_DIR
from tests.e2e.own_apps import (RELEASE_HEADER, app_tree, deploy, failed_deploy, give_back_rapid_news, live_release,
                                releases_on_server, root_run, visit, wait_serving)
from tests.e2e.test_team_tasks import copy_of_repo

pytestmark = pytest.mark.e2e
TEAMS = ("hacknode1", "hacknode2")


@pytest.fixture(scope="module")
def cls(provisioned_class):
    yield provisioned_class
    give_back_rapid_news(provisioned_class, TEAMS)


def test_a_flask_app_in_src_made_by_its_factory_serves_its_pages_and_its_static_files(cls, tmp_path):
    team = "hacknode1"
    release = deploy(cls, team, app_tree(tmp_path, "flask_src"))
    status, headers, body = wait_serving(cls, team, release)
    assert status == 200 and "<h1>Bike Share Board</h1>" in body, (status, body)
    status, headers, body = visit(cls, team, "/hello/ada")
    assert (status, body.strip(), headers[RELEASE_HEADER]) == (200, '{"hello":"ada"}', release)
    # the app has no static route of its own: nginx serves src/static/ under the Procfile's /assets/
    status, _, css = visit(cls, team, "/assets/style.css")
    assert status == 200 and "bike-share-board stylesheet" in css, (status, css)
    assert visit(cls, team, "/static/vendor/bootstrap/bootstrap.min.css")[0] == 404    # Rapid News' files: gone
    with cls.as_team(team) as c:
        shipped = c.run(f"cat ~/current/{PROCS_DIR}/web", hide=True).stdout.strip()
    assert shipped == "src.app:create_app()"


def test_a_plain_wsgi_callable_is_live_once_its_own_health_path_answers(cls, tmp_path, capsys):
    team = "hacknode2"
    capsys.readouterr()
    release = deploy(cls, team, app_tree(tmp_path, "plain_wsgi"))
    printed = capsys.readouterr().out
    status, headers, body = wait_serving(cls, team, release, "/ping")
    assert (status, body) == (200, "pong\n")
    assert "/ping" in printed, printed                  # the deploy says which path it asked
    # any other path is the app's own answer (a 404 it wrote), with the release's header like every answer
    status, headers, body = visit(cls, team, "/")
    assert (status, body, headers[RELEASE_HEADER]) == (404, "plain WSGI: nothing at /\n", release)


def test_a_failing_release_command_keeps_the_old_release_live_and_says_why(cls, tmp_path, capsys):
    team = "hacknode1"
    before = live_release(cls, team)
    message, printed = failed_deploy(cls, team, app_tree(tmp_path, "release_fails"), capsys)
    said = message + printed
    assert "python migrate.py" in said, said                                  # which command failed
    assert "column votes exists already" in said, said                       # and its output's tail: why
    assert live_release(cls, team) == before
    status, headers, body = visit(cls, team, "/")
    assert headers.get(RELEASE_HEADER) == before and status < 500, (status, headers, body)
    assert "the release whose migration failed" not in body


def test_a_worker_that_dies_at_start_fails_the_deploy_naming_it_and_the_old_release_comes_back(cls, tmp_path,
                                                                                              capsys):
    team = "hacknode2"
    before = live_release(cls, team)
    message, printed = failed_deploy(cls, team, app_tree(tmp_path, "worker_crashes"), capsys)
    said = message + printed
    assert "worker-bot" in said, said                                         # the process that failed, by name
    assert "BOT_TOKEN is not set, cannot log in" in said, said               # its log's tail
    assert live_release(cls, team) == before
    status, headers, _ = visit(cls, team, "/")
    assert headers.get(RELEASE_HEADER) == before and status < 500, (status, headers)
    # workers included: the previous release has no bot, so none keeps being restarted
    deadline = time.monotonic() + 15
    while root_run(cls, team, f"pgrep -u {team} -f '^python bot.py'", warn=True).ok:
        assert time.monotonic() < deadline, "the failed release's bot is still being restarted"
        time.sleep(1)


def test_a_malformed_procfile_is_one_line_naming_file_and_line_and_nothing_changes_on_the_server(cls, tmp_path,
                                                                                                 capsys):
    team = "hacknode1"
    before, listing = live_release(cls, team), releases_on_server(cls, team)
    tree = app_tree(tmp_path, "bad_procfile")
    message, printed = failed_deploy(cls, team, tree, capsys)
    assert "\n" not in message.strip() and "Traceback" not in message + printed, message
    assert re.search(r"Procfile:3: worker-Feeds: ", message), message       # the file, its line, the key
    assert "rsync" not in printed, printed                                   # nothing was shipped
    assert (live_release(cls, team), releases_on_server(cls, team)) == (before, listing)
    assert visit(cls, team, "/")[1].get(RELEASE_HEADER) == before


def test_the_workshops_last_step_deploys_the_learners_own_app_next_to_rapid_news(cls, tmp_path):
    team = "hacknode2"
    checkout = copy_of_repo(tmp_path / "checkout")          # a learner's, with the step's reference solution
    subprocess.run(["git", "apply", "workshop/solutions/own-app.patch"], cwd=checkout, check=True)
    release = deploy(cls, team, checkout)
    status, _, page = wait_serving(cls, team, release)
    assert status == 200 and "<h1>Lunch orders</h1>" in page and "<li>Ada: soup</li>" in page, (status, page)
    assert visit(cls, team, "/assets/style.css")[0] == 200
    with cls.as_team(team) as c:                             # Rapid News came along, next to it, unused
        assert c.run("test -f ~/current/app/wsgi.py && test -f ~/current/myapp/main.py", warn=True).ok
