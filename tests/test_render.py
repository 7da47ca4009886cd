"""Rendering: every config the class implies, checked by its real tool (nginx -t, supervisor's own
parser, uwsgi), deterministic, and the committed review output is current.

Checks that need files at server paths (users, /home, /var/log) run in a private mount namespace
(unshare -m) over tmpfs, so this machine is left untouched."""
import dataclasses
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import textwrap
import time

import pytest
from invoke import Context

from deploy.configs.render import MANAGED, RenderError, render_class, render_server, render_template, review_files
from deploy.core import layout
from deploy.core.layout import TeamPaths
from deploy.inventory import load_inventory
from deploy.inventory.model import TlsSettings
from deploy.tls import certs
from inventories.keys import ed25519_key, write_demo_keys
import tasks

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = os.path.join(REPO, ".venv", "bin", "python")
UWSGI = os.path.join(REPO, ".venv", "bin", "uwsgi")
NGINX = "/usr/sbin/nginx"
NOW = datetime.datetime.now(datetime.timezone.utc)


def nine_team_class(tmp_path, mode="secantus", servers=("main",)):
    key = ed25519_key()
    server_lines = "".join(f"  - {{name: {s}, address: 192.0.2.{10 + i}, hostname: {s}.example.org}}\n"
                           for i, s in enumerate(servers))
    team_lines = "".join(f"  - {{name: hacknode{n}, server: {servers[(n - 1) % len(servers)]}, "
                         f"keys: [\"{key}\"]{', processes: 4' if n == 9 else ''}}}\n" for n in range(1, 10))
    mongodb = {"secantus": "{mode: secantus, port: 27018}", "mongod": "{mode: mongod}",
               "external": "{mode: external, admin_uri_env: ADMIN_URI, hosts: db.example.org}"}[mode]
    path = tmp_path / "class.yml"
    path.write_text(f"class: {{name: spring, domain: class.example.org}}\nmongodb: {mongodb}\n"
                    f"servers:\n{server_lines}teams:\n{team_lines}")
    return load_inventory(str(path))


@pytest.fixture
def demo(tmp_path):
    """The shipped inventory.yml, with the demo's key files made at test time."""
    shutil.copy(os.path.join(REPO, "inventory.yml"), tmp_path)
    write_demo_keys(tmp_path)
    return load_inventory(str(tmp_path / "inventory.yml"))


def in_mount_namespace(script, *args):
    """Run the shell `script` in a private mount namespace (root only); its result."""
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-ec", script, "sh", *args],
                          capture_output=True, text=True, timeout=120)


# --- what is rendered -------------------------------------------------------------------

def test_server_gets_every_config_at_its_layout_path(demo):
    files = render_server(demo.view("local"))
    expected = {layout.NGINX_SITE, layout.CLASS_PAGE_CONF, layout.SECANTUS_CONF, layout.TEAM_PROFILE,
                layout.PAM_UMASK_PROFILE, layout.NIGHTLY_CONF}
    for team in ("hacknode1", "hacknode2", "hacknode3"):
        p = TeamPaths(team)
        expected |= {p.uwsgi_ini, p.supervisor_conf, p.nginx_conf, p.nginx_location, p.limits, p.database_cap}
    assert set(files) == expected
    assert list(files) == sorted(files)


def test_every_file_starts_with_the_managed_comment(tmp_path):
    for files in render_class(nine_team_class(tmp_path)).values():
        for path, content in files.items():
            first = content.split("\n", 1)[0]
            # a pam-auth-update profile has no comments (a comment line is read as a field's continuation): its Name
            comment = ("Name: ",) if path == layout.PAM_UMASK_PROFILE else ("#", "<!--")
            assert MANAGED in first and first.startswith(comment), path


def test_same_inventory_same_bytes(tmp_path, demo):
    assert render_class(demo) == render_class(demo)
    first, second = tmp_path / "a", tmp_path / "b"
    tasks.render(Context(), inventory=demo.path, out=str(first))
    tasks.render(Context(), inventory=demo.path, out=str(second))
    names = sorted(str(p.relative_to(first)) for p in first.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(second)) for p in second.rglob("*") if p.is_file())
    assert len(names) == 27      # no sudoers/: no team has a sudo rule
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_committed_review_output_matches_the_shipped_inventory(demo):
    """deploy/nginx, deploy/supervisor, deploy/uwsgi, deploy/limits are `./inv render` of inventory.yml (and no
    deploy/sudoers: no team has a sudo rule)."""
    committed = {}
    assert not os.path.exists(os.path.join(REPO, "deploy", "sudoers"))
    for folder in ("nginx", "supervisor", "uwsgi", "limits"):
        for root, _dirs, names in os.walk(os.path.join(REPO, "deploy", folder)):
            for name in names:
                path = os.path.join(root, name)
                committed[os.path.relpath(path, os.path.join(REPO, "deploy"))] = open(path).read()
    assert committed == review_files(demo), "run ./inv render and commit deploy/"


def test_review_removes_configs_of_teams_no_longer_in_the_class(tmp_path, demo):
    out = tmp_path / "out"
    tasks.render(Context(), inventory=demo.path, out=str(out))
    (out / "nginx" / "notes.txt").write_text("my own notes\n")
    text = open(demo.path).read()
    cut = text.index("  - name: hacknode3")
    smaller = tmp_path / "smaller.yml"
    smaller.write_text(text[:cut] + text[text.index("# A real class"):])
    tasks.render(Context(), inventory=str(smaller), out=str(out))
    assert not (out / "uwsgi" / "hacknode3.ini").exists()
    assert not (out / "nginx" / "locations" / "hacknode3.conf").exists()
    assert (out / "uwsgi" / "hacknode2.ini").exists()
    assert (out / "nginx" / "notes.txt").read_text() == "my own notes\n"     # not ours: kept
    assert (out / "supervisor" / "local.class-page.conf").exists()


def test_inv_render_prints_what_it_wrote(tmp_path, demo):
    out = tmp_path / "out"
    result = subprocess.run([os.path.join(REPO, "inv"), "render", "--inventory", demo.path, "--out", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}/uwsgi/hacknode2.ini" in result.stdout.splitlines()
    assert f"wrote {out}/supervisor/local.secantus.conf" in result.stdout.splitlines()
    assert len(result.stdout.splitlines()) == 27


def test_database_program_only_in_secantus_mode(tmp_path):
    assert layout.SECANTUS_CONF in render_server(nine_team_class(tmp_path, "secantus").view("main"))
    assert layout.SECANTUS_CONF not in render_server(nine_team_class(tmp_path, "mongod").view("main"))
    assert layout.SECANTUS_CONF not in render_server(nine_team_class(tmp_path, "external").view("main"))


def test_each_server_gets_its_own_teams_and_class_page(tmp_path):
    inventory = nine_team_class(tmp_path, servers=("east", "west"))
    east = render_server(inventory.view("east"))
    assert TeamPaths("hacknode1").uwsgi_ini in east and TeamPaths("hacknode2").uwsgi_ini not in east
    assert "--server east --hostname east.example.org --domain class.example.org" in east[layout.CLASS_PAGE_CONF]
    assert set(review_files(inventory)) >= {"nginx/east.site.conf", "nginx/west.site.conf",
                                            "supervisor/west.class-page.conf", "supervisor/east.secantus.conf"}


def test_template_error_names_template_and_line(tmp_path):
    (tmp_path / "broken.conf.j2").write_text("# managed by hacknode\nserver {\n  listen {{ server.port }};\n}\n")
    with pytest.raises(RenderError, match=r"broken.conf.j2:3: .*'port'"):
        render_template("broken.conf.j2", {"server": {"name": "x"}}, templates=str(tmp_path))
    (tmp_path / "syntax.conf.j2").write_text("# managed by hacknode\n{% if x %}\nno end\n")
    with pytest.raises(RenderError, match=r"syntax.conf.j2:\d+: "):
        render_template("syntax.conf.j2", {"x": 1}, templates=str(tmp_path))
    (tmp_path / "unmanaged.j2").write_text("listen 80;\n")
    with pytest.raises(RenderError, match=r"unmanaged.j2:1: the first line must be"):
        render_template("unmanaged.j2", {}, templates=str(tmp_path))


# --- checked by the real tools ----------------------------------------------------------

def relocated(content, root, prefixes):
    """A config with these server paths moved under `root`; the folders of the access logs it names made (nginx
    opens its logs when it starts and makes no folder)."""
    for prefix in prefixes:
        content = content.replace(prefix, f"{root}{prefix}")
    for log in re.findall(r"access_log (\S+) ", content):
        os.makedirs(os.path.dirname(log), exist_ok=True)
    return content


def place_certificates(text):
    """A certificate (for any name: nginx -t checks that it loads and matches its key) at every ssl_certificate
    and ssl_certificate_key path of the rendered text."""
    ca_key, ca_cert = certs.make_ca("render", NOW)
    key, chain = certs.issue(ca_key, ca_cert, ["render.example.org"], NOW)
    pairs = set(re.findall(r"ssl_certificate (\S+);\n\s*ssl_certificate_key (\S+);", text))
    for certificate, private in pairs:
        for path, pem in ((certificate, chain), (private, key)):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(pem)


def nginx_check(tmp_path, files, certificates=True):
    """nginx -t and -T over the rendered site, team blocks and locations, relocated under tmp_path (with a
    certificate and key where the TLS configs point, unless `certificates` is false)."""
    root = tmp_path / "root"
    for path, content in files.items():
        dest = root / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        content = relocated(content, root, (f"{layout.ETC}/", f"{layout.LETSENCRYPT_LIVE}/", f"{layout.LOG_ROOT}/"))
        dest.write_text(content)
        if certificates:
            place_certificates(content)
    shutil.copy("/etc/nginx/uwsgi_params", tmp_path / "uwsgi_params")
    temp = tmp_path / "temp"
    temp.mkdir()
    (tmp_path / "nginx.conf").write_text(textwrap.dedent(f"""\
        pid {tmp_path}/nginx.pid;
        error_log {tmp_path}/error.log;
        events {{}}
        http {{
            access_log off;
            client_body_temp_path {temp}/body;
            proxy_temp_path {temp}/proxy;
            fastcgi_temp_path {temp}/fastcgi;
            uwsgi_temp_path {temp}/uwsgi;
            scgi_temp_path {temp}/scgi;
            include {root}{layout.NGINX_SITE};
        }}
    """))
    return subprocess.run([NGINX, "-T", "-c", str(tmp_path / "nginx.conf"), "-p", f"{tmp_path}/"],
                          capture_output=True, text=True, timeout=60)


TEAM_HEADERS = ["uwsgi_ignore_headers X-Accel-Redirect X-Accel-Expires X-Accel-Limit-Rate X-Accel-Buffering "
                "X-Accel-Charset;"] + [f"uwsgi_hide_header {name};" for name in (
                    "X-Accel-Redirect", "X-Accel-Expires", "X-Accel-Limit-Rate", "X-Accel-Buffering", "X-Accel-Charset",
                    "Service-Worker-Allowed")]


@pytest.mark.parametrize("which", ["demo", "nine teams", "two servers", "path routing", "path routing, TLS"])
def test_nginx_accepts_the_rendered_configs(tmp_path, demo, which):
    if which == "demo":
        inventory, server = demo, "local"
    else:
        inventory = nine_team_class(tmp_path, servers=("main", "backup") if which == "two servers" else ("main",))
        server = "main"
    if which.startswith("path routing"):
        inventory = dataclasses.replace(inventory, routing="path",
                                        tls=TlsSettings(mode="class-ca") if "TLS" in which else TlsSettings())
    files = render_server(inventory.view(server))
    result = nginx_check(tmp_path, files)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    by_path = inventory.routing == "path"
    for team in inventory.teams_on(server):     # -T dumps what was really included
        assert f"server_name {team.name}.{inventory.domain};" in result.stdout
        assert (f"location /{team.name}/ {{" in result.stdout) == by_path
        assert (f"uwsgi_param SCRIPT_NAME /{team.name};" in result.stdout) == by_path
    # every uwsgi_pass of a team, by subdomain and by path, ignores and hides the app's orders to nginx
    passes = [block for block in result.stdout.split("location ")[1:] if "uwsgi_pass " in block.split("}")[0]]
    assert len(passes) == len(inventory.teams_on(server)) * (2 if by_path else 1)
    for block in passes:
        assert all(line in block.split("}")[0] for line in TEAM_HEADERS), block
    assert result.stdout.count("listen 80 default_server;") == 1


def test_nginx_check_catches_a_broken_block(tmp_path, demo):
    """The check above can fail: a team block with a typo is refused by nginx."""
    files = render_server(demo.view("local"))
    path = TeamPaths("hacknode2").nginx_conf
    files[path] = files[path].replace("uwsgi_pass", "uwsgi_passs")
    result = nginx_check(tmp_path, files)
    assert result.returncode != 0 and 'unknown directive "uwsgi_passs"' in result.stderr


SUPERVISOR_DUMP = """
import json, sys
from supervisor.options import ServerOptions
options = ServerOptions()
options.configfile = sys.argv[1]
options.process_config(do_usage=False)
print(json.dumps({p.name: {"command": p.command, "uid": p.uid, "directory": p.directory,
                           "autostart": p.autostart, "autorestart": str(p.autorestart),
                           "stopsignal": int(p.stopsignal), "stopasgroup": p.stopasgroup,
                           "killasgroup": p.killasgroup, "logfile": p.stdout_logfile,
                           "redirect_stderr": p.redirect_stderr, "environment": p.environment,
                           "priority": p.priority, "umask": p.umask}
                  for g in options.process_group_configs for p in g.process_configs}))
"""


def supervisor_parse(tmp_path, files, users):
    """Supervisor's own parser over the rendered programs, in a namespace where the teams' users
    (a copy of /etc/passwd) and log folders (tmpfs over /var/log) exist."""
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    for path, content in files.items():
        if path.startswith(layout.SUPERVISOR_DIR + "/"):
            (conf_d / os.path.basename(path)).write_text(content)
    (tmp_path / "supervisord.conf").write_text(
        f"[supervisord]\nlogfile = {tmp_path}/supervisord.log\npidfile = {tmp_path}/supervisord.pid\n"
        f"[include]\nfiles = {conf_d}/*.conf\n")
    passwd = tmp_path / "passwd"
    passwd.write_text(open("/etc/passwd").read() + "".join(
        f"{user}:x:{40000 + i}:{40000 + i}::/home/{user}:/usr/sbin/nologin\n" for i, user in enumerate(users)))
    (tmp_path / "dump.py").write_text(SUPERVISOR_DUMP)
    log_dirs = " ".join(TeamPaths(u).log_dir for u in users)
    result = in_mount_namespace(
        f'mount --bind "$1" /etc/passwd; mount -t tmpfs tmpfs /var/log; mkdir -p {layout.LOG_ROOT} {log_dirs}; '
        f'exec "$2" "$3" "$4"', str(passwd), PYTHON, str(tmp_path / "dump.py"), str(tmp_path / "supervisord.conf"))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_supervisor_parses_every_program_as_intended(tmp_path):
    inventory = nine_team_class(tmp_path)
    programs = supervisor_parse(tmp_path, render_server(inventory.view("main")),
                                [t.name for t in inventory.teams] + ["hacknode-db"])
    assert sorted(programs) == sorted([f"hacknode{n}" for n in range(1, 10)] + ["hacknode-secantus",
                                                                                "hacknode-class-page", "hacknode-backups"])
    for n in range(1, 10):
        team, paths = f"hacknode{n}", TeamPaths(f"hacknode{n}")
        program = programs[team]
        team_limits = "--as=536870912 --nproc=128 --nofile=1024 -- /usr/bin/nice -n 0"   # the model's defaults
        # a fixed environment (none of supervisord's, root's), set by env -i, which execs: supervisor signals uwsgi
        fixed = (f"/usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 HOME={paths.home} USER={team} "
                 f"LOGNAME={team} TMPDIR={paths.tmp} MALLOC_ARENA_MAX=2")
        assert program["command"] == f"{fixed} /usr/bin/prlimit {team_limits} {paths.venv}/bin/uwsgi --ini {paths.uwsgi_ini}"
        assert program["umask"] == 0o027 and not program["environment"]
        assert program["uid"] == 40000 + n - 1           # runs as the team's own user
        assert program["directory"] == "/" and program["logfile"] == paths.uwsgi_log   # never root in a team's folder
        assert program["autostart"] and program["autorestart"] == "<class 'supervisor.datatypes.RestartUnconditionally'>"
        assert program["stopsignal"] == 15 and program["stopasgroup"] and program["killasgroup"]
        assert program["redirect_stderr"]
    database = programs["hacknode-secantus"]
    assert database["uid"] == 40009 and database["priority"] < programs["hacknode1"]["priority"]
    assert " --auth" in database["command"] and " --standalone" in database["command"]
    assert "--host 127.0.0.1 --port 27018" in database["command"]
    page = programs["hacknode-class-page"]      # root's, after the teams; it collects the figures in-process
    assert page["uid"] == 0 and page["autorestart"] and page["priority"] > programs["hacknode1"]["priority"]
    assert page["command"].startswith(f"/usr/bin/nice -n 19 {layout.TOOLS_VENV}/bin/python {layout.CLASS_PAGE_TOOL} --class ")
    assert page["command"].endswith(f"--out {layout.CLASS_PAGE} --every 60 --mongo-tool {layout.MONGO_TOOL} --admin-file "
                                    f"{layout.MONGO_ADMIN_FILE} --database-caps {layout.DATABASE_CAPS}")
    backups = programs["hacknode-backups"]     # root's, at the lowest CPU and I/O priority; off without backups:
    assert backups["uid"] == 0 and not backups["autostart"] and backups["directory"] == "/"
    assert backups["command"].startswith(f"/usr/bin/nice -n 19 /usr/bin/ionice -c 3 {layout.TOOLS_VENV}/bin/python "
                                         f"{layout.NIGHTLY_TOOL} run ")


def test_uwsgi_accepts_the_ini_strictly(tmp_path, demo):
    files = render_server(demo.view("local"))
    ini = tmp_path / "hacknode2.ini"
    ini.write_text(files[TeamPaths("hacknode2").uwsgi_ini])
    result = subprocess.run([UWSGI, "--ini", str(ini), "--get", "socket", "--get", "processes",
                             "--get", "threads", "--get", "chmod-socket", "--get", "module"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [TeamPaths("hacknode2").socket, "2", "2", "660", "app.wsgi:app"]
    # workers on demand (one, up to processes) and none after idle_seconds, each stopped at once (skip-atexit:
    # no teardown while its other thread takes a request): the settings uwsgi reads
    scaling = subprocess.run([UWSGI, "--ini", str(ini), "--get", "lazy-apps", "--get", "cheaper", "--get",
                              "cheaper-initial", "--get", "idle", "--get", "cheap", "--get", "skip-atexit"],
                             capture_output=True, text=True)
    assert scaling.stdout.split() == ["true", "1", "1", "60", "true", "true"], scaling.stderr
    ini.write_text(files[TeamPaths("hacknode2").uwsgi_ini].replace("max-requests", "max-request"))
    result = subprocess.run([UWSGI, "--ini", str(ini), "--get", "socket"], capture_output=True, text=True)
    assert result.returncode != 0 and "unknown config directive: max-request" in result.stderr


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


@pytest.mark.parametrize("routing", ["subdomain", "path"])
def test_nginx_and_uwsgi_serve_a_team_on_its_origin_and_by_path_when_chosen(tmp_path, demo, routing):
    """The rendered nginx site and team files and the team's uwsgi ini, run for real in a mount
    namespace (tmpfs over /home; nginx on a loopback port): the app gets SCRIPT_NAME and PATH_INFO
    right under the prefix (path routing; by default the server's origin has no team), reads its URI and secret
    from the secrets file at import, nginx serves static files itself and obeys none of the app's X-Accel-*
    headers nor passes them or Service-Worker-Allowed on, the socket is 0660 and TERM stops uwsgi cleanly."""
    port = free_port()
    root = tmp_path / "root"
    paths = TeamPaths("hacknode2")
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


def test_no_team_gets_a_sudo_rule_and_root_starts_its_program_in_slash_with_a_fixed_environment(tmp_path, demo):
    """supervisorctl under sudo read ./supervisord.conf from the team's folder (root for any team): no rule at all.
    Supervisor's part as root runs in / with env -i's variables only; uwsgi enters the release as the team."""
    for cgroups in (False, True):
        files = render_server(demo.view("local"), cgroups)
        assert not any(path.startswith("/etc/sudoers.d/") or "NOPASSWD" in content for path, content in files.items())
        conf = files[TeamPaths("hacknode2").supervisor_conf]
        command = next(line for line in conf.splitlines() if line.startswith("command = "))
        assert command.startswith("command = /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 "
                                  "HOME=/home/hacknode2 USER=hacknode2 LOGNAME=hacknode2 TMPDIR=/home/hacknode2/tmp "
                                  "MALLOC_ARENA_MAX=2 /")
        assert "\ndirectory = /\n" in conf and "\nenvironment =" not in conf
        assert "\ndirectory = /\n" in files[layout.CLASS_PAGE_CONF]


def test_a_one_process_team_scales_to_zero_and_idle_seconds_zero_never_does(tmp_path, demo):
    one_process = render_server(demo.view("local"))[TeamPaths("hacknode3").uwsgi_ini]      # processes: 1
    assert "cheaper" not in one_process and "\nidle = 60\ncheap = true\n" in one_process
    (tmp_path / "inventory.yml").write_text(open(demo.path).read().replace("idle_seconds: 60", "idle_seconds: 0"))
    write_demo_keys(tmp_path)
    always_on = render_server(load_inventory(str(tmp_path / "inventory.yml")).view("local"))
    ini = tmp_path / "hacknode1.ini"
    ini.write_text(always_on[TeamPaths("hacknode1").uwsgi_ini])
    assert "\nidle =" not in ini.read_text() and "\ncheap =" not in ini.read_text()
    got = subprocess.run([UWSGI, "--ini", str(ini), "--get", "cheaper", "--get", "processes"], capture_output=True,
                         text=True)
    assert got.returncode == 0 and got.stdout.split() == ["1", "2"], got.stderr
