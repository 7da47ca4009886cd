"""Rendering served for real: the rendered nginx site and a team's uwsgi ini, run in a private mount namespace (tmpfs
over /home, nginx on a loopback port), serve the team on its origin and by path when chosen."""
import dataclasses
import json
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


SERVE = r"""
import http.client, json, os, socket, subprocess, sys, time
uwsgi, ini, nginx, nginx_conf, sock, port = sys.argv[1:7]
log = open("/home/serve.log", "w")
app_server = subprocess.Popen([uwsgi, "--ini", ini], stdout=log, stderr=subprocess.STDOUT)
web_server = subprocess.Popen([nginx, "-c", nginx_conf, "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT)
def get(path, host):
    for _ in range(100):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
            connection.request("GET", path, headers={"Host": host})
            response = connection.getresponse()
            passed = sorted(h for h, _ in response.getheaders() if h.lower().startswith(("x-accel", "service-worker")))
            return [response.status, response.getheader("Location"), response.read().decode(), passed]
        except (ConnectionRefusedError, http.client.RemoteDisconnected):
            time.sleep(0.1)
try:
    for _ in range(200):
        if os.path.exists(sock):
            break
        time.sleep(0.1)
    replies = {
        "by path": get("/hacknode2/news?page=2", "10.131.1.2"),
        "by subdomain": get("/news?page=2", "hacknode2.hacknode.test"),
        "prefix without slash": get("/hacknode2", "10.131.1.2"),
        "static by path": get("/hacknode2/static/style.css", "10.131.1.2"),
        "static by subdomain": get("/static/style.css", "hacknode2.hacknode.test"),
        "index": get("/", "10.131.1.2"),
        # the app's orders to nginx and its widening of a service worker's reach: ignored, passed to no one
        "redirect to another location": get("/r?h=X-Accel-Redirect:/hacknode2/static/style.css", "hacknode2.hacknode.test"),
        "redirect to the class page": get("/r?h=X-Accel-Redirect:/", "hacknode2.hacknode.test"),
        "redirect by path": get("/hacknode2/r?h=X-Accel-Redirect:/hacknode2/static/style.css", "10.131.1.2"),
        "rate, buffering, expires": get("/r?h=X-Accel-Limit-Rate:1&h=X-Accel-Buffering:no&h=X-Accel-Expires:60"
                                        "&h=X-Accel-Charset:koi8-r", "hacknode2.hacknode.test"),
        "service worker by path": get("/hacknode2/r?h=Service-Worker-Allowed:/", "10.131.1.2"),
        "service worker": get("/r?h=Service-Worker-Allowed:/", "hacknode2.hacknode.test"),
        "socket mode": oct(os.stat(sock).st_mode & 0o777),
    }
finally:
    web_server.terminate()
    app_server.terminate()
    replies["uwsgi exit"] = app_server.wait(timeout=30)
    web_server.wait(timeout=30)
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


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_files(tmp_path, demo, routing, port):
    """The rendered server under tmp_path/root (plain HTTP, nginx on a loopback port) and an nginx.conf that
    includes its site; returns the root."""
    root = tmp_path / "root"
    # plain HTTP here: HTTPS is served in tests/e2e
    plain = dataclasses.replace(demo, tls=TlsSettings(), routing=routing)
    for path, content in render_server(plain.view("local")).items():
        dest = root / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        content = relocated(content, root, (f"{layout.ETC}/", layout.INDEX_ROOT, f"{layout.LOG_ROOT}/"))
        dest.write_text(content.replace("listen 80", f"listen 127.0.0.1:{port}"))
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


@pytest.mark.parametrize("routing", ["subdomain", "path"])
def test_nginx_and_uwsgi_serve_a_team_on_its_origin_and_by_path_when_chosen(tmp_path, demo, routing):
    """The rendered nginx site and team files and the team's uwsgi ini, run for real in a mount
    namespace (tmpfs over /home; nginx on a loopback port): the app gets SCRIPT_NAME and PATH_INFO
    right under the prefix (path routing; by default the server's origin has no team), reads its URI and secret
    from the secrets file at import, nginx serves static files itself and obeys none of the app's X-Accel-*
    headers nor passes them or Service-Worker-Allowed on, the socket is 0660 and TERM stops uwsgi cleanly."""
    port = free_port()
    paths = TeamPaths("hacknode2")
    root = server_files(tmp_path, demo, routing, port)
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "serve.py").write_text(SERVE)
    uri = "mongodb://hacknode2:p%40ss@127.0.0.1:27017/hacknode2?authSource=hacknode2"
    setup = (f"mount -t tmpfs tmpfs /home; mkdir -p {paths.run_dir} {paths.secrets} {paths.home}/r1/app/static; "
             f"ln -s {paths.home}/r1 {paths.current}; ln -s {REPO}/.venv {paths.venv}; "
             f'cp "$1" {paths.current}/app/wsgi.py; touch {paths.current}/app/__init__.py; '
             f"echo 'body {{ color: teal }}' > {paths.static_dir}/style.css; "
             f"printf 'FLASK_MONGO_URI=%s\\nFLASK_SECRET_KEY=s3cret=\\n' '{uri}' > {paths.mongo_uri_file}; "
             f'shift; "$@" || {{ cat /home/serve.log; exit 1; }}')
    result = in_mount_namespace(setup, str(tmp_path / "app.py"), PYTHON, str(tmp_path / "serve.py"), UWSGI,
                                str(root / paths.uwsgi_ini.lstrip("/")), NGINX, str(tmp_path / "nginx.conf"),
                                paths.socket, str(port))
    assert result.returncode == 0, result.stdout + result.stderr
    replies = json.loads(result.stdout)
    for name in ("redirect to another location", "redirect to the class page", "rate, buffering, expires",
                 "service worker"):     # the app's own answer (not the style sheet, not the index), nothing passed
        assert replies[name][:2] == [200, None] and replies[name][2].startswith("|/r|h="), (name, replies[name])
        assert replies[name][3] == [], (name, replies[name])
    assert replies["by subdomain"] == [200, None, f"|/news|page=2|{uri}|s3cret=", []]
    assert replies["static by subdomain"] == [200, None, "body { color: teal }\n", []]
    assert replies["index"][0] == 404          # the class page is the server's to write (class-page), never rendered
    if routing == "subdomain":                 # the server's origin serves no team
        assert [replies[n][0] for n in ("by path", "prefix without slash", "static by path", "redirect by path",
                                        "service worker by path")] == [404] * 5
        expected = [["200", "/news?page=2"], ["200", "/static/style.css"]]
    else:
        assert replies["by path"] == [200, None, f"/hacknode2|/news|page=2|{uri}|s3cret=", []]
        assert replies["prefix without slash"][:2] == [301, "/hacknode2/"]
        assert replies["static by path"] == [200, None, "body { color: teal }\n", []]
        for name in ("redirect by path", "service worker by path"):
            assert replies[name][:2] == [200, None] and replies[name][2].startswith("/hacknode2|/r|"), replies[name]
            assert replies[name][3] == [], replies[name]
        expected = [["200", "/hacknode2/news?page=2"], ["200", "/news?page=2"],
                    ["200", "/hacknode2/static/style.css"], ["200", "/static/style.css"]]
    # every request of the team, by path and by subdomain, is a line of its own access log: time, status, URI
    logged = [line.split() for line in (root / paths.access_log.lstrip("/")).read_text().splitlines()]
    assert [line[1:] for line in logged][:len(expected)] == expected
    assert all(abs(float(line[0]) - time.time()) < 300 for line in logged)
    assert replies["socket mode"] == "0o660"
    assert replies["uwsgi exit"] == 0                    # die-on-term: TERM is a clean stop

