"""What the tests of the apps teams deploy share (tests/e2e/apps/, test_own_apps*.py): a team's copy of an app,
its deploy as `fab deploy` makes it, what a visitor gets (status, headers, body), the live release, and the
shared class's teams given back their Rapid News at the end."""
import shutil
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from deploy.core.errors import DeployError
from deploy.core.layout import TeamPaths
from deploy.team import tasks as team_tasks
from tests.e2e.test_team_tasks import REPO, SSH_OPTIONS, WHEEL_CACHE

APPS = Path(__file__).resolve().parent / "apps"
RELEASE_HEADER = "X-Hacknode-Release"


def app_tree(tmp_path, name):
    """A copy of tests/e2e/apps/<name> to deploy; without a requirements.txt of its own, the repository's (the
    virtualenv Rapid News has on the server already: no test waits for a new one)."""
    tree = Path(tmp_path) / name
    shutil.copytree(APPS / name, tree, ignore=shutil.ignore_patterns("__pycache__"))
    if not (tree / "requirements.txt").exists():
        shutil.copy(REPO / "requirements.txt", tree / "requirements.txt")
    return tree


def team_of(cls, name):
    return next(t for t in cls.inventory.teams if t.name == name)


def deploy(cls, team, tree):
    """`fab deploy` of `tree` by a member of `team`: the new release id."""
    with cls.as_team(team) as c:
        return team_tasks.deploy_release(c, team_of(cls, team), cls.inventory, tree, cache_dir=WHEEL_CACHE,
                                         ssh_options=SSH_OPTIONS)


def failed_deploy(cls, team, tree, capsys):
    """The message of a deploy that must fail, with all it printed before; AssertionError if it went live."""
    capsys.readouterr()
    try:
        release = deploy(cls, team, tree)
    except DeployError as error:
        printed = capsys.readouterr()
        return str(error), printed.out + printed.err
    raise AssertionError(f"the deploy of {tree} made release {release} live")


def visit(cls, team, path="/"):
    """(status, headers, body) of GET `path` on the team's site through nginx; (None, {}, reason) if none."""
    request = urllib.request.Request(f"http://{cls.host_of(team).address}{path}",
                                     headers={"Host": f"{team}.hacknode.test"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()
    except OSError as error:
        return None, {}, str(error)


def wait_serving(cls, team, release, path="/", seconds=30):
    """The visit of `path` once the answer carries `release`'s header (the site switched to it)."""
    deadline = time.monotonic() + seconds
    while True:
        answer = visit(cls, team, path)
        if answer[1].get(RELEASE_HEADER) == release or time.monotonic() > deadline:
            assert answer[1].get(RELEASE_HEADER) == release, f"{team} does not serve {release}: {answer}"
            return answer
        time.sleep(0.5)


def live_release(cls, team):
    """The release `current` links to, read as root once no release operation of the team holds its lock."""
    paths = TeamPaths(team)
    with cls.as_root(team) as root:
        root.run(f"flock -w 300 {paths.run_dir}/release.lock true", hide=True)
        return root.run(f"basename $(readlink {paths.current})", hide=True).stdout.strip()


def releases_on_server(cls, team):
    """The team's releases, and its wheels when it has some: what a deploy ships."""
    paths = TeamPaths(team)
    with cls.as_root(team) as root:
        return root.run(f"ls -la --time-style=+%s {paths.releases} {paths.wheels}", hide=True, warn=True).stdout


def root_run(cls, team, command, **options):
    with cls.as_root(team) as root:
        return root.run(command, hide=True, **options)


def in_background(function, *args):
    """function(*args) in a thread; join() gives what it returned, or raises what it raised."""
    outcome = {}

    def run():
        try:
            outcome["value"] = function(*args)
        except BaseException as error:     # the test raises it from join()
            outcome["error"] = error
    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join(seconds=600):
        thread.join(seconds)
        assert not thread.is_alive(), f"{function.__name__} still running after {seconds}s"
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]
    return join


def give_back_rapid_news(cls, teams):
    """Every team in `teams` serves Rapid News again (the shared class's tests expect it), deployed at once."""
    joins = [in_background(deploy, cls, team, REPO) for team in teams]
    for join in joins:
        join()
