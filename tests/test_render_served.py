"""Rendering served for real: the rendered nginx site and a team's uwsgi ini, run in a private mount namespace (tmpfs
over /home, nginx on a loopback port), serve the team on its origin and by path when chosen."""
import dataclasses
import json
import os
import shutil
import socket
import textwrap
import time

import pytest

from deploy.configs.render import render_server
from deploy.core import layout
from deploy.core.layout import TeamPaths
from deploy.inventory.model import TlsSettings
from tests.test_render import demo  # noqa: F401 (a fixture, used here)
from tests.test_render import NGINX, PYTHON, REPO, UWSGI, in_mount_namespace, relocated
from tests.test_remote_reads import REMOTE


SERVE = r"""
import http.client, importlib.util, json, os, signal, socket, subprocess, sys, time
uwsgi, ini, nginx, nginx_conf, sock, port, healthz_file, plan = sys.argv[1:9]
log = open("/home/serve.log", "w")
app_server = subprocess.Popen([uwsgi, "--ini", ini], stdout=log, stderr=subprocess.STDOUT)
web_server = subprocess.Popen([nginx, "-c", nginx_conf, "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT)
spec = importlib.util.spec_from_file_location("healthz", healthz_file)
healthz = importlib.util.module_from_spec(spec)
spec.loader.exec_module(healthz)
healthz.connection = lambda host: http.client.HTTPConnection("127.0.0.1", int(port), timeout=5)
def get(path, host):
    for _ in range(100):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
            connection.request("GET", path, headers={"Host": host})
            response = connection.getresponse()
            passed = sorted(h for h, _ in response.getheaders() if h.lower().startswith(("x-accel", "service-worker")))
            marks = [f"{h}: {v}" for h, v in response.getheaders() if h.lower().startswith("x-hacknode")]
            return [response.status, response.getheader("Location"), response.read().decode(), passed, marks]
        except (ConnectionRefusedError, http.client.RemoteDisconnected):
            time.sleep(0.1)
def switch(release, release_id):
    # a deploy's switch: the `current` link to another release, then uwsgi's graceful reload (SIGHUP to its master),
    # until the new release answers
    os.symlink(release, "/home/hacknode2/current.tmp")
    os.replace("/home/hacknode2/current.tmp", "/home/hacknode2/current")
    os.kill(app_server.pid, signal.SIGHUP)
    for _ in range(150):
        time.sleep(0.2)
        if f"X-Hacknode-Release: {release_id}" in get("/", "hacknode2.hacknode.test")[4]:
            return
replies = {}
try:
    for _ in range(200):
        if os.path.exists(sock):
            break
        time.sleep(0.1)
    for step in json.loads(plan):
        if step[0] == "health":
            replies[step[1]] = healthz.ask(step[2], path=step[3])
        elif step[0] == "switch":
            switch(step[1], step[2])
        else:
            replies[step[1]] = get(step[2], step[3])
    replies["socket mode"] = oct(os.stat(sock).st_mode & 0o777) if os.path.exists(sock) else "-"
finally:
    web_server.terminate()
    app_server.terminate()
    replies["uwsgi exit"] = app_server.wait(timeout=30)
    web_server.wait(timeout=30)
    log.flush() or replies.update(log=open("/home/serve.log").read()[-20000:])
print(json.dumps(replies))
"""

APP = r"""
import os
AT_IMPORT = os.environ.get("FLASK_MONGO_URI", "-")
def app(environ, start_response):
    # h=Name:value in the query: a response header (what a team's app may send nginx)
    asked = [part[2:].split(":", 1) for part in environ["QUERY_STRING"].split("&") if part.startswith("h=")]
    start_response("200 OK", [("Content-Type", "text/plain")] + [(name, value) for name, value in asked])
    seen = [environ.get("SCRIPT_NAME", ""), environ["PATH_INFO"], environ["QUERY_STRING"], AT_IMPORT,
            os.environ.get("FLASK_SECRET_KEY", "-")]
    return ["|".join(seen).encode()]
"""


FACTORY = r"""
import os
def create_app():
    def app(environ, start_response):
        found = environ["PATH_INFO"] in ("/", "/assets/app.js")
        start_response("200 OK" if found else "404 Not Found", [("Content-Type", "text/plain")])
        return [f"factory|{environ['PATH_INFO']}|{os.environ.get('FRAGMENT', '-')}".encode()]
    return app
"""
PLAIN = r"""
import os
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"plain|{environ['PATH_INFO']}|{os.environ.get('FRAGMENT', '-')}".encode()]
"""
R1, R2 = "20261207T000001Z", "20261207T000002Z-6b7f8cd"
TEAM_UID, OTHER_UID = 4242, 4343


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_files(tmp_path, demo, routing, port):
    """The rendered server under tmp_path/root (plain HTTP, nginx on a loopback port) and an nginx.conf that
    includes its site; hacknode's WSGI loader where the team's uwsgi looks for it; returns the root."""
    root = tmp_path / "root"
    # plain HTTP here: HTTPS is served in tests/e2e
    plain = dataclasses.replace(demo, tls=TlsSettings(), routing=routing)
    for path, content in render_server(plain.view("local")).items():
        dest = root / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        content = relocated(content, root, (f"{layout.ETC}/", layout.INDEX_ROOT, f"{layout.LOG_ROOT}/",
                                            layout.ENTRY_DIR))
        dest.write_text(content.replace("listen 80", f"listen 127.0.0.1:{port}"))
    (root / layout.ENTRY_DIR.lstrip("/")).mkdir(parents=True)
    shutil.copy(REMOTE / "hacknode_entry.py", root / layout.ENTRY_DIR.lstrip("/"))
    shutil.copy("/etc/nginx/uwsgi_params", tmp_path / "uwsgi_params")
    (tmp_path / "nginx.conf").write_text(textwrap.dedent(f"""\
        user root;
        pid {tmp_path}/nginx.pid;
        error_log {tmp_path}/error.log;
        events {{}}
        http {{
            access_log off;
            client_body_temp_path {tmp_path}/body;
            uwsgi_temp_path {tmp_path}/uwsgi;
            include {root}{layout.NGINX_SITE};
        }}
    """))
    return root


def tree(base, files, owner=TEAM_UID):
    """Files (text) and links ("-> target") under `base`, all owned by `owner` as a team's deploy leaves them."""
    for name, content in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content.startswith("-> "):
            path.symlink_to(content[3:])
        else:
            path.write_text(content)
    for path in [base, *base.rglob("*")]:
        os.lchown(path, owner, owner)


def team_home(tmp_path, releases, uri="-"):
    """/home as the namespace gets it: the team's home with `releases` ({folder: files}), `current` -> the first,
    its settings file; another team's secret file beside it."""
    files = {"run/.keep": "", ".hacknode/mongo_uri": f"FLASK_MONGO_URI={uri}\nFLASK_SECRET_KEY=s3cret=\n",
             "current": f"-> {TeamPaths('hacknode2').home}/{next(iter(releases))}"}
    for folder, content in releases.items():
        files.update({f"{folder}/{name}": text for name, text in content.items()})
        files[f"{folder}/rapid-env"] = f"-> {REPO}/.venv"
    tree(tmp_path / "home" / "hacknode2", files)
    tree(tmp_path / "home" / "other", {"secret.txt": "the other team's secret\n"}, owner=OTHER_UID)
    return tmp_path / "home"


def serve(tmp_path, demo, routing, home, plan):
    """The rendered server run in a mount namespace over `home`: each step's reply (tests/test_render_served SERVE)."""
    port, paths = free_port(), TeamPaths("hacknode2")
    root = server_files(tmp_path, demo, routing, port)
    (tmp_path / "serve.py").write_text(SERVE)
    setup = f'mount -t tmpfs tmpfs /home; cp -a "$1"/. /home/; shift; "$@" || {{ cat /home/serve.log; exit 1; }}'
    result = in_mount_namespace(setup, str(home), PYTHON, str(tmp_path / "serve.py"), UWSGI,
                                str(root / paths.uwsgi_ini.lstrip("/")), NGINX, str(tmp_path / "nginx.conf"),
                                paths.socket, str(port), str(REMOTE / "healthz.py"), json.dumps(plan))
    assert result.returncode == 0, result.stdout + result.stderr
    return root, json.loads(result.stdout)


# public/static: what `procfile write` makes of the default `static: /static/ app/static`; the other links, what a
# team could put there to read what is not its own (refused)
RAPID_NEWS_SHAPED = {"RELEASE": f"{R1}\n", "app/__init__.py": "", "app/wsgi.py": APP,
                     "app/static/style.css": "body { color: teal }\n", ".hacknode-procs/public/static": "-> ../../app/static",
                     ".hacknode-procs/public/leak.txt": "-> /home/other/secret.txt",
                     ".hacknode-procs/public/other": "-> /home/other", ".hacknode-procs/public/hostname": "-> /etc/hostname"}
ATTACKS = [("another team's file", "/leak.txt"), ("another team's folder", "/other/secret.txt"),
           ("a root file", "/hostname"), ("dot dot", "/static/../../RELEASE"),
           ("dot dot encoded", "/static/%2e%2e/%2e%2e/RELEASE"), ("dot dot to the other team", "/../../other/secret.txt")]


def never_the_file(replies, how, app_answer, refusals):
    """Every attack's answer is nginx's refusal or the app's own (nginx refused the link): never the file."""
    for name, _url in ATTACKS:
        reply = replies[f"{name} {how}"]
        assert reply[0] in refusals or (reply[0] == 200 and reply[2].startswith(app_answer)), (name, reply)
        assert "the other team's secret" not in reply[2] and R1 not in reply[2], (name, reply)


@pytest.mark.parametrize("routing", ["subdomain", "path"])
def test_nginx_and_uwsgi_serve_a_team_on_its_origin_and_by_path_when_chosen(tmp_path, demo, routing):
    """The rendered nginx site and team files and the team's uwsgi ini, run for real in a mount
    namespace (tmpfs over /home; nginx on a loopback port): the app gets SCRIPT_NAME and PATH_INFO
    right under the prefix (path routing; by default the server's origin has no team), reads its URI and secret
    from the secrets file at import, nginx serves static files itself (through the release's public/ links) and obeys
    none of the app's X-Accel-* headers nor passes them or Service-Worker-Allowed on, the socket is 0660 and TERM stops
    uwsgi cleanly. A release without a Procfile is loaded as Rapid News (app.wsgi:app), every answer names it."""
    uri, paths = "mongodb://hacknode2:p%40ss@127.0.0.1:27017/hacknode2?authSource=hacknode2", TeamPaths("hacknode2")
    site, origin = "10.131.1.2", "hacknode2.hacknode.test"
    plan = [["get", "by path", "/hacknode2/news?page=2", site], ["get", "by subdomain", "/news?page=2", origin],
            ["get", "prefix without slash", "/hacknode2", site],
            ["get", "static by path", "/hacknode2/static/style.css", site],
            ["get", "static by subdomain", "/static/style.css", origin], ["get", "index", "/", site],
            ["get", "front page", "/", origin], ["get", "front page by path", "/hacknode2/", site],
            # the app's orders to nginx and its widening of a service worker's reach: ignored, passed to no one
            ["get", "redirect to another location", "/r?h=X-Accel-Redirect:/hacknode2/static/style.css", origin],
            ["get", "redirect to the class page", "/r?h=X-Accel-Redirect:/", origin],
            ["get", "redirect by path", "/hacknode2/r?h=X-Accel-Redirect:/hacknode2/static/style.css", site],
            ["get", "rate, buffering, expires", "/r?h=X-Accel-Limit-Rate:1&h=X-Accel-Buffering:no&h=X-Accel-Expires:60"
             "&h=X-Accel-Charset:koi8-r", origin],
            ["get", "service worker by path", "/hacknode2/r?h=Service-Worker-Allowed:/", site],
            ["get", "service worker", "/r?h=Service-Worker-Allowed:/", origin],
            ["health", "health", origin, "/healthz"]]
    plan += [["get", f"{name} on its origin", url, origin] for name, url in ATTACKS] + [
        ["get", f"{name} by path", f"/hacknode2{url}", site] for name, url in ATTACKS]
    root, replies = serve(tmp_path, demo, routing, team_home(tmp_path, {"r1": RAPID_NEWS_SHAPED}, uri), plan)
    for name in ("redirect to another location", "redirect to the class page", "rate, buffering, expires",
                 "service worker"):     # the app's own answer (not the style sheet, not the index), nothing passed
        assert replies[name][:2] == [200, None] and replies[name][2].startswith("|/r|h="), (name, replies[name])
        assert replies[name][3] == [], (name, replies[name])
    assert replies["by subdomain"] == [200, None, f"|/news|page=2|{uri}|s3cret=", [], [f"X-Hacknode-Release: {R1}"]]
    assert replies["static by subdomain"][:4] == [200, None, "body { color: teal }\n", []]
    assert replies["health"] == f"200 {R1} -"     # the loader's header, whatever the app answers
    assert replies["index"][0] == 404          # the class page is the server's to write (class-page), never rendered
    assert replies["front page"][:3] == [200, None, f"|/||{uri}|s3cret="]     # a folder of public/ is not a file
    never_the_file(replies, "on its origin", "|/", (400,))
    if routing == "subdomain":                 # the server's origin serves no team
        assert [replies[n][0] for n in ("by path", "prefix without slash", "static by path", "redirect by path",
                                        "service worker by path", "front page by path")] == [404] * 6
        expected = [["200", "/news?page=2"], ["200", "/static/style.css"]]
    else:
        assert replies["by path"] == [200, None, f"/hacknode2|/news|page=2|{uri}|s3cret=", [],
                                      [f"X-Hacknode-Release: {R1}"]]
        assert replies["prefix without slash"][:2] == [301, "/hacknode2/"]
        assert replies["front page by path"][:3] == [200, None, f"/hacknode2|/||{uri}|s3cret="]
        assert replies["static by path"][:4] == [200, None, "body { color: teal }\n", []]
        for name in ("redirect by path", "service worker by path"):
            assert replies[name][:4:3] == [200, []] and replies[name][2].startswith("/hacknode2|/r|"), replies[name]
        never_the_file(replies, "by path", "/hacknode2|/", (400, 404))   # 404: the URL left /hacknode2/
        expected = [["200", "/hacknode2/news?page=2"], ["200", "/news?page=2"],
                    ["200", "/hacknode2/static/style.css"], ["200", "/static/style.css"]]
    # every request of the team, by path and by subdomain, is a line of its own access log: time, status, URI
    logged = [line.split() for line in (root / paths.access_log.lstrip("/")).read_text().splitlines()]
    assert [line[1:] for line in logged][:len(expected)] == expected
    assert all(abs(float(line[0]) - time.time()) < 300 for line in logged)
    assert replies["socket mode"] == "0o660"
    assert replies["uwsgi exit"] == 0                    # die-on-term: TERM is a clean stop


def test_any_wsgi_app_by_its_entry_point_its_static_prefix_and_the_next_releases_fragment(tmp_path, demo):
    """A factory in src/ (its Procfile's web: src.app:create_app(), static /assets/ from src/static), then a
    release with a plain WSGI callable and no static folder: each answers with its own release's header, the health
    probe takes any answer below 500 with it, and a graceful reload reads the new release's uwsgi fragment."""
    procs = ".hacknode-procs"
    releases = {
        "r1": {"RELEASE": f"{R1}\n", "src/__init__.py": "", "src/app.py": FACTORY, "src/static/app.js": "go()\n",
               f"{procs}/web": "src.app:create_app()\n", f"{procs}/health": "/\n",
               f"{procs}/uwsgi.ini": "[uwsgi]\nenv = FRAGMENT=r1\n", f"{procs}/public/assets": "-> ../../src/static"},
        "r2": {"RELEASE": f"{R2}\n", "plain.py": PLAIN, f"{procs}/web": "plain:application\n",
               f"{procs}/uwsgi.ini": "[uwsgi]\nenv = FRAGMENT=r2\n"}}
    origin = "hacknode2.hacknode.test"
    plan = [["get", "home", "/", origin], ["get", "static", "/assets/app.js", origin],
            ["get", "missing", "/missing", origin], ["health", "health", origin, "/"],
            ["health", "health of a 404", f"{origin}/missing", "/"],
            ["switch", "/home/hacknode2/r2", R2],
            ["get", "plain", "/", origin], ["get", "no static", "/assets/app.js", origin],
            ["health", "plain health", origin, "/"]]
    _root, replies = serve(tmp_path, demo, "subdomain", team_home(tmp_path, releases), plan)
    assert replies["home"][0::2] == [200, "factory|/|r1", [f"X-Hacknode-Release: {R1}"]]
    assert replies["static"][0::2] == [200, "go()\n", []]          # nginx's own answer
    assert replies["missing"][0::2] == [404, "factory|/missing|r1", [f"X-Hacknode-Release: {R1}"]]
    assert (replies["health"], replies["health of a 404"]) == (f"200 {R1} -", f"404 {R1} -")
    assert replies["plain"][0::2] == [200, "plain|/|r2", [f"X-Hacknode-Release: {R2}"]]
    assert replies["no static"][0::2] == [200, "plain|/assets/app.js|r2", [f"X-Hacknode-Release: {R2}"]]
    assert replies["plain health"] == f"200 {R2} -" and replies["uwsgi exit"] == 0


def test_an_entry_point_that_fails_to_load_is_one_line_in_uwsgis_log_and_the_app_stops(tmp_path, demo):
    """A release whose factory raises at import: uwsgi's log has the team's traceback and one line naming the entry
    point and the error; the worker ends (need-app) and so does uwsgi (supervisor starts it again)."""
    broken = {"RELEASE": f"{R1}\n", "src/__init__.py": "", ".hacknode-procs/web": "src.app:create_app()\n",
              "src/app.py": "import flask_sqlalchemy_missing\n"}
    _root, replies = serve(tmp_path, demo, "subdomain", team_home(tmp_path, {"r1": broken}),
                           [["get", "home", "/", "hacknode2.hacknode.test"]])
    assert replies["home"][0] == 502 and replies["uwsgi exit"] != 0
    assert ("hacknode: the release's WSGI app did not load: entry point src.app:create_app(): ModuleNotFoundError: "
            "No module named 'flask_sqlalchemy_missing'\n") in replies["log"]
    assert 'File "/home/hacknode2/r1/src/app.py", line 1' in replies["log"]       # the team's own traceback
