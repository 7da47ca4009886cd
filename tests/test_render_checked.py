"""Rendering checked by the real tools: nginx -t accepts the rendered configs (and catches a broken block), supervisor's
own parser reads every program as intended, uwsgi accepts the ini strictly; what root starts and how a team scales.

Checks that need files at server paths (users, /home, /var/log) run in a private mount namespace
(unshare -m) over tmpfs, so this machine is left untouched."""
import dataclasses
import subprocess

import pytest

from deploy.configs.render import render_server
from deploy.core import layout
from deploy.core.layout import TeamPaths
from deploy.inventory import load_inventory
from deploy.inventory.model import TlsSettings
from inventories.keys import write_demo_keys
from tests.test_render import demo  # noqa: F401 (a fixture, used here)
from tests.test_render import UWSGI, nginx_check, nine_team_class, supervisor_parse


# --- checked by the real tools ----------------------------------------------------------

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
                             "--get", "threads", "--get", "chmod-socket", "--get", "module", "--get", "pythonpath"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [TeamPaths("hacknode2").socket, "2", "2", "660", "hacknode_entry:application",
                                     layout.ENTRY_DIR]
    # workers on demand (one, up to processes) and none after idle_seconds, each stopped at once (skip-atexit:
    # no teardown while its other thread takes a request): the settings uwsgi reads
    scaling = subprocess.run([UWSGI, "--ini", str(ini), "--get", "lazy-apps", "--get", "cheaper", "--get",
                              "cheaper-initial", "--get", "idle", "--get", "cheap", "--get", "skip-atexit"],
                             capture_output=True, text=True)
    assert scaling.stdout.split() == ["true", "1", "1", "60", "true", "true"], scaling.stderr
    ini.write_text(files[TeamPaths("hacknode2").uwsgi_ini].replace("max-requests", "max-request"))
    result = subprocess.run([UWSGI, "--ini", str(ini), "--get", "socket"], capture_output=True, text=True)
    assert result.returncode != 0 and "unknown config directive: max-request" in result.stderr


def test_the_live_releases_uwsgi_fragment_is_read_and_never_overrides_hacknodes_own_options(tmp_path, demo):
    """The release's .hacknode-procs/uwsgi.ini is read (its attach-daemon lines), but an option of the team's ini
    that it repeats keeps hacknode's value (read after it)."""
    procs = f"{TeamPaths('hacknode2').current}/{layout.PROCS_DIR}"
    text = render_server(demo.view("local"))[TeamPaths("hacknode2").uwsgi_ini].replace(procs, str(tmp_path))
    assert text.count(str(tmp_path)) == 2
    (tmp_path / "uwsgi.ini").write_text("[uwsgi]\nattach-daemon = /bin/sleep 600\nprocesses = 50\n"
                                        "socket = /tmp/elsewhere.sock\nmodule = evil:app\n")
    (tmp_path / "team.ini").write_text(text)
    # the configuration as uwsgi read it, in order (it stops at once after: no `current` to chdir into here);
    # a repeated option of one value takes the last one (uwsgi_opt_set_int, _str: core/uwsgi.c)
    result = subprocess.run([UWSGI, "--ini", str(tmp_path / "team.ini"), "--show-config"], capture_output=True,
                            text=True, timeout=60)
    shown = result.stderr.split(";uWSGI instance configuration\n")[1].split(";end of configuration")[0].splitlines()
    assert "attach-daemon = /bin/sleep 600" in shown
    for option, ours in (("processes", "2"), ("module", "hacknode_entry:application")):
        assert [line for line in shown if line.startswith(f"{option} = ")][-1] == f"{option} = {ours}"


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

