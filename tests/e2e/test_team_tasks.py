"""A team's tasks on a real isolated server: deploy, automatic rollback of a broken release, rollback,
restart, and supervisor bringing a killed uwsgi back. Everything runs as the team's own UNIX user with
the team's key, and is checked as a visitor would: GET /healthz through nginx.

The server is set up in the fixture with the real rendered configs (deploy/render.py) and a tiny WSGI
app (no database), so these tests exercise the release mechanics alone.
"""
import io
import json
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from deploy import release, team as team_tasks, wheels
from deploy.inventory import load_inventory
from deploy.layout import TeamPaths
from deploy.render import render_server

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
TEAM = "team1"
PATHS = TeamPaths(TEAM)
# rsync's ssh: test hosts make new host keys at each start; keep them out of the user's known_hosts.
SSH_OPTIONS = ("-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR")

APP = '''"""A minimal app with the health check deploys rely on."""
import json
from pathlib import Path

RELEASE = Path(__file__).resolve().parent.parent / "RELEASE"
{broken}

def app(environ, start_response):
    body = json.dumps({{"status": "ok", "release": RELEASE.read_text().strip(), "version": "{version}"}})
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body.encode()]
'''


def write_app(directory, version, broken=False, requirements="pyuwsgi==2.0.30.post1\n"):
    (directory / "app").mkdir(parents=True, exist_ok=True)
    (directory / "app" / "__init__.py").write_text("")
    (directory / "app" / "wsgi.py").write_text(
        APP.format(version=version, broken="import no_such_module_in_this_release" if broken else ""))
    (directory / "requirements.txt").write_text(requirements)
    return directory


def setup_server(c, inventory, server_name, team_key_pub):
    """What provisioning does for one team, minus the database: user, folders, rendered configs, services."""
    t = TEAM
    script = f"""set -euo pipefail
getent group {t} >/dev/null || groupadd {t}
id {t} >/dev/null 2>&1 || useradd --create-home --home-dir {PATHS.home} --shell /bin/bash --gid {t} {t}
install -d -o {t} -g www-data -m 0750 {PATHS.home}
install -d -o {t} -g {t} -m 0700 {PATHS.home}/.ssh {PATHS.secrets}
install -d -o {t} -g {t} -m 0755 {PATHS.releases} {PATHS.envs}
install -d -o {t} -g www-data -m 2750 {PATHS.run_dir}
install -d -o root -g {t} -m 0750 {PATHS.log_dir}
echo '{team_key_pub}' > {PATHS.home}/.ssh/authorized_keys
chown {t}:{t} {PATHS.home}/.ssh/authorized_keys && chmod 600 {PATHS.home}/.ssh/authorized_keys
echo 'FLASK_MONGO_URI=mongodb://127.0.0.1:9/unused' > {PATHS.mongo_uri_file}
chown {t}:{t} {PATHS.mongo_uri_file} && chmod 400 {PATHS.mongo_uri_file}
rm -f /etc/nginx/sites-enabled/default
"""
    c.run(script, hide=True)
    for path, content in render_server(inventory, server_name).items():
        c.run(f"mkdir -p {Path(path).parent}", hide=True)
        c.put(io.StringIO(content), path)
        if path.startswith("/etc/sudoers.d/"):
            c.run(f"chmod 440 {path}", hide=True)
    c.run("(pgrep -x supervisord || supervisord -c /etc/supervisor/supervisord.conf) >/dev/null; "
          "(pgrep -x nginx || nginx) >/dev/null; nginx -s reload", hide=True)


def healthz(host):
    """GET /healthz through the server's nginx, as a visitor of <team>.<domain>: (status, JSON)."""
    request = urllib.request.Request(f"http://{host.address}/healthz", headers={"Host": f"{TEAM}.hacknode.test"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {}


def wait_for_release(host, release_id, seconds=30):
    deadline = time.monotonic() + seconds
    while True:
        try:
            answer = healthz(host)
        except OSError:
            answer = None
        if answer and answer[0] == 200 and answer[1].get("release") == release_id:
            return answer[1]
        if time.monotonic() > deadline:
            pytest.fail(f"{TEAM} did not serve release {release_id} within {seconds}s (last: {answer})")
        time.sleep(0.5)


def uwsgi_master_pid(root, seconds=30):
    """The pid supervisor reports once the team's program is RUNNING."""
    deadline = time.monotonic() + seconds
    while True:
        out = root.run(f"supervisorctl status {TEAM}", hide=True, warn=True).stdout
        if "RUNNING" in out:
            return int(out.split("pid ")[1].split(",")[0])
        if time.monotonic() > deadline:
            pytest.fail(f"supervisor did not report {TEAM} RUNNING within {seconds}s: {out}")
        time.sleep(0.5)


@pytest.fixture(scope="class")
def served(host_factory, tmp_path_factory):
    """(host, inventory, team, team connection, work dir) for a server set up for team1."""
    host = host_factory("team")
    work = tmp_path_factory.mktemp("team-tasks")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "team1 (test)", "-f",
                    str(work / "team1")], check=True)
    pub = (work / "team1.pub").read_text().strip()
    (work / "inventory.yml").write_text(f"""class: {{name: e2e, domain: hacknode.test}}
mongodb: {{mode: mongod}}
servers: [{{name: s1, address: {host.address}}}]
teams: [{{name: {TEAM}, server: s1, keys: ["{pub}"]}}]
""")
    inventory = load_inventory(work / "inventory.yml")
    with host.connection() as root:
        setup_server(root, inventory, "s1", pub)
    team = inventory.teams[0]
    with host.connection(user=TEAM, key=str(work / "team1")) as c:
        yield host, inventory, team, c, work


def deploy(served, source):
    host, inventory, team, c, work = served
    return team_tasks.deploy(c, team, inventory, source, cache_dir=str(REPO / ".cache" / "wheels"),
                             ssh_options=SSH_OPTIONS)


class TestTeamTasks:
    def test_deploy_serves_the_new_release_through_nginx(self, served, capsys):
        host, inventory, team, c, work = served
        source = write_app(work / "v1", "one")
        started = time.monotonic()
        first = deploy(served, source)
        first_took = time.monotonic() - started
        assert wait_for_release(host, first)["version"] == "one"
        out = capsys.readouterr().out
        assert f"[{TEAM}@{host.address}] deploy" in out and "building" in out

        source = write_app(work / "v2", "two")
        started = time.monotonic()
        second = deploy(served, source)
        with capsys.disabled():
            print(f"\ndeploy timings: first (virtualenv built) {first_took:.1f}s, "
                  f"second (same requirements) {time.monotonic() - started:.1f}s")
        assert second > first
        assert wait_for_release(host, second)["version"] == "two"
        out = capsys.readouterr().out
        assert "building" not in out and "graceful reload" in out
        # the files belong to the team, the live link points at the release
        assert c.run(f"readlink {PATHS.current}", hide=True).stdout.strip() == f"releases/{second}"
        assert c.run(f"stat -c %U {PATHS.releases}/{second}/app/wsgi.py", hide=True).stdout.strip() == TEAM

    def test_broken_release_rolls_back_by_itself_and_old_one_keeps_serving(self, served, capsys):
        host, inventory, team, c, work = served
        before = healthz(host)[1]["release"]
        with pytest.raises(team_tasks.TeamTaskError) as failure:
            deploy(served, write_app(work / "broken", "broken", broken=True))
        assert "failed" in str(failure.value)
        captured = capsys.readouterr()
        assert "did not answer" in captured.err and "supervisor:" in captured.err and "no_such_module_in_this_release" in captured.err  # log tail
        assert "switching back" in captured.out
        assert wait_for_release(host, before)["version"] == "two"
        listing = c.run(release.script_command(PATHS, "list"), hide=True).stdout
        assert "(failed its health check)" in listing and f"* {before}" in listing

    def test_rollback_goes_one_good_release_back(self, served):
        host, inventory, team, c, work = served
        releases = c.run(f"ls {PATHS.releases}", hide=True).stdout.split()
        first, second = releases[0], releases[1]
        team_tasks.rollback(c, team, inventory)
        assert wait_for_release(host, first)["version"] == "one"
        with pytest.raises(team_tasks.TeamTaskError):
            team_tasks.rollback(c, team, inventory)          # nothing older
        deploy(served, write_app(work / "v3", "three"))      # forward again
        assert healthz(host)[1]["version"] == "three"
        assert second in c.run(f"ls {PATHS.releases}", hide=True).stdout

    def test_changed_requirements_get_their_own_virtualenv_before_the_switch(self, served, capsys):
        host, inventory, team, c, work = served
        source = write_app(work / "v4", "four", requirements="pyuwsgi==2.0.30.post1\nblinker==1.9.0\n")
        new_env = wheels.requirements_hash(source / "requirements.txt")
        rid = deploy(served, source)
        assert wait_for_release(host, rid)["version"] == "four"
        out = capsys.readouterr().out
        assert f"virtualenv envs/{new_env}: building" in out
        assert c.run(f"readlink {PATHS.current}/rapid-env", hide=True).stdout.strip() == f"../../envs/{new_env}"
        assert "blinker" in c.run(f"{PATHS.venv}/bin/pip list", hide=True).stdout

    def test_restart_restarts_uwsgi_and_shows_its_log(self, served, capsys):
        host, inventory, team, c, work = served
        with host.connection() as root:
            before = uwsgi_master_pid(root)
            team_tasks.restart(c, team)
            out = capsys.readouterr().out
            assert f"{TEAM}: stopped" in out and f"{TEAM}: started" in out
            assert "uwsgi socket 0 bound to UNIX address" in out     # the log tail, as in the workshop
            assert uwsgi_master_pid(root) != before
        assert healthz(host)[0] == 200

    def test_killed_uwsgi_is_brought_back_by_supervisor(self, served):
        host, inventory, team, c, work = served
        serving = healthz(host)[1]["release"]
        with host.connection() as root:
            killed = uwsgi_master_pid(root)
            root.run(f"kill -9 {killed}", hide=True)
            wait_for_release(host, serving)
            assert uwsgi_master_pid(root) != killed

    def test_small_tasks_answer_as_the_team(self, served, capsys):
        host, inventory, team, c, work = served
        team_tasks.list_deploys(c, team)
        team_tasks.logs(c, team, lines=5)
        team_tasks.list_home(c)
        team_tasks.print_my_id(c)
        out = capsys.readouterr().out
        assert "* " in out and "releases" in out
        assert "uid=" in out and f"({TEAM})" in out
        assert f"tail -n 5 {PATHS.uwsgi_log}" in out

    def test_the_team_cannot_touch_another_program(self, served):
        host, inventory, team, c, work = served
        result = c.run("sudo -n supervisorctl stop all", hide=True, warn=True)
        assert result.failed
