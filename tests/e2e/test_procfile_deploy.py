"""A team's Procfile on the shared provisioned class: provisioning installs its checker and the first release has
its .hacknode-procs; a deploy writes the release's from the tree's Procfile (never the one a tree ships); a bad
Procfile stops `fab deploy` before anything is sent, and a `git push` of it is refused with the same line, the live
release unchanged. The team is left deployed and healthy."""
import json
import os
import subprocess

import pytest

from deploy.core import layout, procfile
from deploy.core.layout import TeamPaths
from deploy.team import git as team_git, tasks as team_tasks
from tests.e2e.test_team_tasks import REPO, SSH_OPTIONS, WHEEL_CACHE, copy_of_repo

pytestmark = pytest.mark.e2e
TEAM = "hacknode3"
PATHS = TeamPaths(TEAM)
PROCS = layout.PROCS_DIR
RAPID_NEWS = "# Rapid News as it runs without one\nweb: app.wsgi:app\nhealth: /healthz\nstatic: /static/ app/static\n"
BAD = "web: app.wsgi:app\nworker-Bot: python bot.py\n"


@pytest.fixture(scope="module")
def team(provisioned_class):
    cls = provisioned_class
    with cls.as_team(TEAM) as c:
        yield cls, next(t for t in cls.inventory.teams if t.name == TEAM), c


def live_release(cls):
    status, body = cls.http(TEAM, "/healthz")
    assert status == 200, body[:300]
    return json.loads(body)["release"]


def read(c, path):
    return c.run(f"cat {path}", hide=True).stdout


def test_provisioning_installs_the_checker_and_a_release_without_procfile_has_rapid_news_procs(team, tmp_path):
    cls, chosen, c = team
    with cls.as_root(TEAM) as root:
        found = root.run(f"stat -c '%n %U %a' {layout.PROCFILE_TOOL} {layout.PROCFILE_MODULE}", hide=True).stdout
    assert found.splitlines() == [f"{layout.PROCFILE_TOOL} root 755", f"{layout.PROCFILE_MODULE} root 644"]
    # provisioning's first release is one, unless other tests sharing this class deployed it out of the kept ones
    prepared = c.run(f"cd {PATHS.releases} && ls -d */RELEASE", hide=True).stdout.split()
    plain = [p.split("/")[0] for p in prepared if c.run(f"test -e {PATHS.releases}/{p.split('/')[0]}/Procfile",
                                                         warn=True, hide=True).failed]
    if not plain:
        plain = [team_tasks.deploy_release(c, chosen, cls.inventory, copy_of_repo(tmp_path / "tree"),
                                           cache_dir=WHEEL_CACHE, ssh_options=SSH_OPTIONS)]
    for release in plain:
        assert read(c, f"{PATHS.releases}/{release}/{PROCS}/web") == "app.wsgi:app\n"
        assert read(c, f"{PATHS.releases}/{release}/{PROCS}/health") == "/healthz\n"
        link = c.run(f"readlink {PATHS.releases}/{release}/{PROCS}/public/static", hide=True).stdout
        assert link == "../../app/static\n"


def test_a_deploy_writes_the_releases_procs_from_its_procfile_never_the_trees_own(team, tmp_path):
    cls, chosen, c = team
    tree = copy_of_repo(tmp_path / "tree")
    (tree / "Procfile").write_text(RAPID_NEWS)
    (tree / PROCS).mkdir()
    (tree / PROCS / "web").write_text("os:system\n")
    (tree / PROCS / "uwsgi.ini").write_text("[uwsgi]\nattach-daemon = sh -c 'echo shipped'\n")
    made = team_tasks.deploy_release(c, chosen, cls.inventory, tree, cache_dir=WHEEL_CACHE, ssh_options=SSH_OPTIONS)
    assert live_release(cls) == made
    procs = f"{PATHS.releases}/{made}/{PROCS}"
    for name, text in procfile.release_files(procfile.parse(RAPID_NEWS)).items():
        assert read(c, f"{procs}/{name}") == text
    assert c.run(f"stat -c '%U %a' {procs} {procs}/web", hide=True).stdout.split() == [TEAM, "755", TEAM, "644"]
    assert cls.http(TEAM, "/static/vendor/bootstrap/bootstrap.min.css")[0] == 200


def git(repo, *args, env=None):
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env)


def test_a_bad_procfile_is_one_line_and_changes_nothing_on_the_server_by_deploy_or_by_push(team, tmp_path):
    cls, chosen, c = team
    live, before = live_release(cls), c.run(f"ls {PATHS.releases}", hide=True).stdout
    tree = copy_of_repo(tmp_path / "tree")
    (tree / "Procfile").write_text(BAD)
    with pytest.raises(team_tasks.TeamTaskError) as error:
        team_tasks.deploy_release(c, chosen, cls.inventory, tree, cache_dir=WHEEL_CACHE, ssh_options=SSH_OPTIONS)
    line = "Procfile:2: worker-Bot: unknown key: a name after worker- is 1 to 24 lowercase letters"
    assert str(error.value).startswith(f"{tree}/{line}")
    assert c.run(f"ls {PATHS.releases}", hide=True).stdout == before          # not even a release folder claimed

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    (clone / "Procfile").write_text(BAD)
    for args in (["checkout", "-q", "-B", "main"], ["config", "user.email", "ada@example.org"],
                 ["config", "user.name", "Ada"], ["add", "Procfile"], ["commit", "-qm", "a bad Procfile"]):
        git(clone, *args)
    team_git.git_remote(c, chosen, cls.inventory, clone, key=cls.key[TEAM])
    env = {**os.environ, "GIT_SSH_COMMAND": f"ssh -i {cls.key[TEAM]} -o IdentitiesOnly=yes -o LogLevel=ERROR "
                                            "-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no"}
    refused = git(clone, "push", "hacknode", "main", env=env)
    assert refused.returncode != 0
    assert f"remote: HN-FAIL {line}" in refused.stderr and "push refused" in refused.stderr, refused.stderr
    assert live_release(cls) == live
    assert c.run(f"ls {PATHS.releases}", hide=True).stdout == before          # the push's folder was removed
