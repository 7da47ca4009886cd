"""What a team does for itself beyond deploying, on the shared provisioned class, as the team with its key:
settings without a commit (`fab config`), a backup and a restore of its database, a Python prompt on it,
`git push` deploys. Checked as a visitor would (through nginx); the team is left deployed, healthy and with
the settings it had."""
import json
import os
import subprocess
import threading
from dataclasses import replace

import pytest

from deploy.core import commands, runner
from deploy.core.errors import RemoteError
from deploy.core.layout import TeamPaths
from deploy.team import backup as team_backup, config as team_config, git as team_git, tasks as team_tasks
from deploy.team.backup_file import BackupError
from deploy.team.settings import SettingsError
from tests.e2e.faults import submit_marked
from tests.e2e.test_team_tasks import REPO, SSH_OPTIONS, WHEEL_CACHE

pytestmark = pytest.mark.e2e
TEAM = "hacknode1"


@pytest.fixture(scope="module")
def team(provisioned_class):
    """(class, team, connection as the team), with at least 3 articles on the team's front page."""
    cls = provisioned_class
    chosen = next(t for t in cls.inventory.teams if t.name == TEAM)
    if len(front_page(cls)) < 3:
        submit_marked(cls, TEAM, "selfservice", 3)
    with cls.as_team(TEAM) as c:
        yield cls, chosen, c


def front_page(cls):
    status, body = cls.http(TEAM, "/frontpage.json")
    assert status == 200, body[:300]
    return json.loads(body)["articles"]


def listed(c, capsys):
    capsys.readouterr()
    team_config.list_settings(c, TEAM)
    return capsys.readouterr().out


class Watcher(threading.Thread):
    """GETs /healthz through nginx until stopped: every status it saw."""

    def __init__(self, cls):
        super().__init__(daemon=True)
        self.cls, self.seen, self.stopping = cls, [], threading.Event()

    def run(self):
        while not self.stopping.is_set():
            self.seen.append(self.cls.http(TEAM, "/healthz")[0])

    def stop(self):
        self.stopping.set()
        self.join()
        return self.seen


def test_config_set_unset_survive_deploy_and_rollback_and_a_bad_one_is_rolled_back(team, capsys):
    cls, chosen, c = team
    assert "FLASK_MONGO_URI=********   (set by hacknode)" in listed(c, capsys)
    watcher = Watcher(cls)
    watcher.start()
    team_config.change_settings(c, chosen, cls.inventory, ["FLASK_FRONT_PAGE_SIZE=2", "GREETING=hello there"])
    seen = watcher.stop()
    assert len(front_page(cls)) == 2                      # the app sees it at once ...
    assert set(seen) == {200} and len(seen) > 5, seen     # ... and no visitor saw an error meanwhile
    out = listed(c, capsys)
    assert "FLASK_FRONT_PAGE_SIZE=2" in out and "GREETING=hello there" in out and "pw" not in out

    team_tasks.deploy_release(c, chosen, cls.inventory, REPO, cache_dir=WHEEL_CACHE, ssh_options=SSH_OPTIONS)
    assert len(front_page(cls)) == 2                      # survives a deploy ...
    team_tasks.rollback(c, chosen, cls.inventory)
    assert len(front_page(cls)) == 2                      # ... and a rollback
    capsys.readouterr()

    with pytest.raises(RemoteError):
        team_config.change_settings(c, chosen, cls.inventory, ["FLASK_FRONT_PAGE_SIZE=lots"])
    err = capsys.readouterr().err
    assert "FAILED: with the new settings" in err
    assert "FLASK_FRONT_PAGE_SIZE='lots'" in err          # the log tail says why
    assert cls.http(TEAM, "/healthz")[0] == 200 and len(front_page(cls)) == 2   # the previous settings
    assert "FLASK_FRONT_PAGE_SIZE=2" in listed(c, capsys)

    team_config.change_settings(c, chosen, cls.inventory, [], ["FLASK_FRONT_PAGE_SIZE", "GREETING"])
    assert len(front_page(cls)) >= 3                      # the default again, after a graceful reload
    out = listed(c, capsys)
    assert "FLASK_FRONT_PAGE_SIZE" not in out and "GREETING" not in out


@pytest.mark.parametrize("assignment", ["FLASK_MONGO_URI=mongodb://elsewhere/x", "my name=x", "A B=1"])
def test_bad_setting_names_are_refused_before_the_server_is_asked(team, assignment):
    cls, chosen, c = team
    with pytest.raises(SettingsError):
        team_config.change_settings(c, chosen, cls.inventory, [assignment])


# What a user compares after a restore: every article (title, link, score, date) and every index.
DATABASE_STATE = ("import json, os, pymongo; db = pymongo.MongoClient(os.environ['FLASK_MONGO_URI'])"
                  ".get_default_database(); print(json.dumps({'articles': sorted(([str(a.pop('_id')), a] for a in "
                  "db.articles.find()), key=str), 'indexes': sorted(str(sorted(i.items())) for i in "
                  "db.articles.list_indexes())}, default=str))")


def database_state(c, python=DATABASE_STATE):
    command = commands.with_settings(TeamPaths(TEAM), "read the database", "rapid-env/bin/python", "-c", python)
    return json.loads(runner.run(c, command).stdout)


def test_backup_then_changes_then_restore_gives_the_same_articles_scores_and_indexes(team, tmp_path, capsys):
    cls, chosen, c = team
    before = database_state(c)
    assert len(before["articles"]) >= 3 and len(before["indexes"]) >= 2
    saved = team_backup.backup_database(c, TEAM, tmp_path)
    live = json.loads(cls.http(TEAM, "/healthz")[1])["release"]
    assert saved.name.startswith(f"{TEAM}-") and saved.name.endswith(f"-{live}.tar.gz")
    assert oct(saved.stat().st_mode & 0o777) == "0o600"

    submit_marked(cls, TEAM, "after-the-backup", 1)                     # a new article,
    database_state(c, "import os, pymongo; db = pymongo.MongoClient(os.environ['FLASK_MONGO_URI'])"
                      ".get_default_database(); db.articles.update_one({}, {'$inc': {'score': 7}}); "
                      "db.articles.drop_indexes(); print('{}')")        # a score changed, the indexes gone
    assert database_state(c) != before

    assert not team_backup.restore_database(c, TEAM, saved, confirm=lambda question: False)
    assert database_state(c) != before                                  # "no" changes nothing
    assert team_backup.restore_database(c, TEAM, saved, confirm=lambda question: True)
    assert database_state(c) == before
    assert "restored database hacknode1" in capsys.readouterr().out
    assert cls.http(TEAM, "/healthz")[0] == 200 and len(front_page(cls)) >= 3


def test_dbshell_is_python_with_the_teams_database_as_db(team):
    cls, chosen, c = team
    shell = replace(commands.team_db(TeamPaths(TEAM), "dbshell", "shell"),
                    stdin="print('articles:', db.articles.count_documents({}), db.name)\n")
    out = runner.run(c, shell).stdout
    assert f"articles: {len(database_state(c)['articles'])} {TEAM}" in out


def test_a_file_that_is_no_backup_is_refused_before_anything_is_sent(team, tmp_path):
    cls, chosen, c = team
    (tmp_path / "notes.txt").write_text("not a backup\n")
    with pytest.raises(BackupError, match="not a hacknode backup"):
        team_backup.restore_database(c, TEAM, tmp_path / "notes.txt", confirm=lambda question: True)
    with pytest.raises(BackupError, match="no such file"):
        team_backup.restore_database(c, TEAM, tmp_path / "missing.tar.gz", confirm=lambda question: True)


def git(repo, *args, env=None):
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env)


def test_git_push_deploys_a_broken_push_is_rolled_back_and_refused_and_other_branches_too(team, tmp_path):
    cls, chosen, c = team
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    # a commit of its own: the README's blocks may have pushed this checkout's HEAD to the team already
    for args in (["checkout", "-q", "-B", "main"], ["config", "user.email", "ada@example.org"],
                 ["config", "user.name", "Ada"], ["commit", "-q", "--allow-empty", "-m", "a push of the test's own"]):
        git(clone, *args)
    team_git.git_remote(c, chosen, cls.inventory, clone, key=cls.key[TEAM])
    assert git(clone, "remote", "get-url", "hacknode").stdout.startswith(f"ssh://{TEAM}@")
    # test hosts make new host keys at each start: keep them out of the user's known_hosts
    env = {**os.environ, "GIT_SSH_COMMAND": f"ssh -i {cls.key[TEAM]} -o IdentitiesOnly=yes -o LogLevel=ERROR "
                                            "-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no"}
    pushed = git(clone, "push", "hacknode", "main", env=env)
    assert pushed.returncode == 0, pushed.stderr
    assert "switching current" in pushed.stderr and "is live at" in pushed.stderr, pushed.stderr   # as remote: lines
    live = json.loads(cls.http(TEAM, "/healthz")[1])["release"]
    assert live.endswith("-" + git(clone, "rev-parse", "--short=7", "HEAD").stdout.strip())

    (clone / "app" / "wsgi.py").write_text("import no_such_module_in_this_push\n")
    git(clone, "commit", "-qam", "a broken release")
    refused = git(clone, "push", "hacknode", "main", env=env)
    assert refused.returncode != 0
    assert "no_such_module_in_this_push" in refused.stderr and "switching back" in refused.stderr, refused.stderr
    assert json.loads(cls.http(TEAM, "/healthz")[1])["release"] == live

    git(clone, "checkout", "-q", "-b", "feature")
    other = git(clone, "push", "hacknode", "feature", env=env)
    assert other.returncode != 0 and "only main deploys" in other.stderr
    assert json.loads(cls.http(TEAM, "/healthz")[1])["release"] == live
