"""Rendering, what is rendered: every config the class implies at its layout path, managed, deterministic, each
server its own, and the committed review output is current. Also the real tools' checks the other render tests share
(nginx -t, supervisor's own parser, a private mount namespace); the checks themselves: tests/test_render_checked.py
and tests/test_render_served.py.

Checks that need files at server paths (users, /home, /var/log) run in a private mount namespace
(unshare -m) over tmpfs, so this machine is left untouched."""
import datetime
import json
import os
import re
import shutil
import subprocess
import textwrap

import pytest
from invoke import Context

from deploy.configs.render import MANAGED, RenderError, render_class, render_server, render_template, review_files
from deploy.core import layout
from deploy.core.layout import TeamPaths
from deploy.inventory import load_inventory
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


# --- the real tools' checks, shared ------------------------------------------------------
# (by test_render_checked.py, test_render_served.py, test_tls_render.py and test_plan_limits.py)

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

