"""Any team's WSGI app on the shared provisioned class: a tree whose Procfile names a factory in src/, a health path of
its own and a static folder under another prefix deploys, answers through nginx with its release named in a header,
has its static files served by nginx itself, and `fab status` asks its own health path; an entry point that does not
load fails the deploy with one line naming it and the previous release comes back. The team is left on Rapid News."""
import urllib.request

import pytest

from deploy.core import layout
from deploy.core.errors import DeployError
from deploy.team import tasks as team_tasks
from tests.e2e.test_team_tasks import REPO, SSH_OPTIONS, WHEEL_CACHE, copy_of_repo

pytestmark = pytest.mark.e2e
TEAM = "hacknode3"
FACTORY = '''
def create_app():
    def app(environ, start_response):
        found = environ["PATH_INFO"] == "/"
        start_response("200 OK" if found else "404 Not Found", [("Content-Type", "text/plain")])
        return [b"our own app" if found else b"no such page"]
    return app
'''


@pytest.fixture(scope="module")
def team(provisioned_class):
    cls = provisioned_class
    with cls.as_team(TEAM) as c:
        yield cls, next(t for t in cls.inventory.teams if t.name == TEAM), c


def get(cls, path):
    """(status, body, X-Hacknode-Release) through nginx, as a visitor of the team's origin."""
    request = urllib.request.Request(f"http://{cls.host_of(TEAM).address}{path}",
                                     headers={"Host": f"{TEAM}.hacknode.test"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(), response.headers.get("X-Hacknode-Release")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers.get("X-Hacknode-Release")


def own_app(tmp_path, web="src.app:create_app()"):
    tree = copy_of_repo(tmp_path / "tree")
    (tree / "Procfile").write_text(f"web: {web}\nhealth: /\nstatic: /assets/ src/static\n")
    (tree / "src" / "static").mkdir(parents=True)
    (tree / "src" / "__init__.py").write_text("")
    (tree / "src" / "app.py").write_text(FACTORY)
    (tree / "src" / "static" / "app.js").write_text("go()\n")
    return tree


def deploy(team, tree):
    cls, chosen, c = team
    return team_tasks.deploy_release(c, chosen, cls.inventory, tree, cache_dir=WHEEL_CACHE, ssh_options=SSH_OPTIONS)


def test_a_factory_in_src_deploys_with_its_own_health_path_and_static_prefix(team, tmp_path):
    cls = team[0]
    made = deploy(team, own_app(tmp_path))
    assert get(cls, "/") == (200, "our own app", made)
    assert get(cls, "/healthz") == (404, "no such page", made)              # no /healthz: its own path is /
    assert get(cls, "/assets/app.js") == (200, "go()\n", None)              # nginx's own answer, not the app's
    with cls.as_root(TEAM) as root:
        probe = root.run(f"python3 {layout.HEALTHZ_TOOL} --path / {TEAM}.hacknode.test", hide=True).stdout
        rows = root.run(f"{layout.TOOLS_VENV}/bin/python {layout.CLASS_STATUS_TOOL} hacknode.test main all",
                        hide=True).stdout
    assert probe == f"200 {made} -\n"
    row = next(line.split("\t") for line in rows.splitlines() if line.startswith(f"{TEAM}\t"))
    assert row[3:5] == [made, "200"]              # fab status asked its health path, /, not /healthz


def test_an_entry_point_that_does_not_load_fails_the_deploy_naming_it_and_the_previous_release_serves(team, tmp_path,
                                                                                                         capfd):
    cls = team[0]
    before = get(cls, "/")
    with pytest.raises(DeployError):
        deploy(team, own_app(tmp_path, web="src.app:make_app()"))
    shown = capfd.readouterr()          # the deploy's output: why, from the team's uwsgi log
    assert ("  | hacknode: the release's WSGI app did not load: entry point src.app:make_app(): AttributeError: "
            "module 'src.app' has no attribute 'make_app'\n") in shown.out + shown.err
    assert get(cls, "/") == before
    made = deploy(team, REPO)                      # the team is left on Rapid News
    assert get(cls, "/healthz")[0::2] == (200, made)
