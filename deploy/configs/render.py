"""Every config a class implies, rendered from its inventory with the Jinja2 templates in deploy/templates/.

render_server() is what provisioning ships to a server: {absolute server path: content}.
write_review() writes the same files under a folder for review (`./inv render`).
Pure and deterministic: the same inventory gives byte-identical output.
"""
import functools
import os
import sys

import jinja2

from deploy.configs import limits
from deploy.core import layout
from deploy.core.layout import TeamPaths
from deploy.inventory.model import team_host

TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates")
MANAGED = "managed by hacknode"

# review folders written by write_review, and where each server path goes in them
# sudoers: no team has a sudo rule any more; what an older `./inv render` wrote there is removed as stale
REVIEW_DIRS = ("nginx", "supervisor", "uwsgi", "sudoers", "limits")


class RenderError(Exception):
    """A template could not be rendered; the message names the template and line."""


@functools.lru_cache(maxsize=None)
def _environment(templates):
    """One environment per templates folder: it keeps each template compiled (compiling them for every team
    took a no-op run of a class of 30 over a second)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        undefined=jinja2.StrictUndefined,
        autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _template_line(traceback, filename):
    """The line of `filename` where a rendering error happened, from the traceback Jinja2 rewrote."""
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == filename:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def template_text(name):
    """A template's own text, for a server that renders it itself (the class page)."""
    with open(os.path.join(TEMPLATES, name), encoding="utf-8") as handle:
        return handle.read()


def render_template(name, context, templates=TEMPLATES):
    """The template <templates>/<name> rendered with `context`; RenderError names template and line."""
    environment = _environment(templates)
    where = f"deploy/templates/{name}" if templates == TEMPLATES else os.path.join(templates, name)
    try:
        template = environment.get_template(name)
    except jinja2.TemplateSyntaxError as error:
        raise RenderError(f"{where}:{error.lineno}: {error.message}") from None
    except jinja2.TemplateNotFound:
        raise RenderError(f"{where}: no such template") from None
    try:
        text = template.render(**context)
    except jinja2.TemplateError as error:
        line = _template_line(sys.exc_info()[2], template.filename)
        raise RenderError(f"{where}:{line or '?'}: {error}") from None
    if MANAGED not in text.split("\n", 1)[0]:
        raise RenderError(f"{where}:1: the first line must be a '{MANAGED}' comment")
    return text


def database_cap_options(view):
    """Each round, the class page makes a team's database user read-only while it is over its database_mb (the
    database's admin on this server: not in mode external, where provisioning alone checks)."""
    if view.mongodb.mode == "external":
        return []
    return ["--mongo-tool", layout.MONGO_TOOL, "--admin-file", layout.MONGO_ADMIN_FILE,
            "--database-caps", layout.DATABASE_CAPS]


def class_page_command(view, once=False):
    """The class page writer's command line: its supervisor program's, or with `once` one round (provisioning
    writes the first page with it). At the lowest CPU priority: the instructor's page never slows a team's requests."""
    hostname = view.server.hostname or view.server.address
    return " ".join(["/usr/bin/nice", "-n", "19", f"{layout.TOOLS_VENV}/bin/python", layout.CLASS_PAGE_TOOL,
                     "--class", view.class_name, "--server", view.server.name, "--hostname", hostname,
                     "--domain", view.domain,
                     "--scheme", view.tls.scheme, "--routing", view.routing, "--template", layout.CLASS_PAGE_TEMPLATE,
                     "--out", layout.CLASS_PAGE, "--every", str(view.page_seconds), *(["--once"] if once else []),
                     *database_cap_options(view)])


def nightly_command(view):
    """The nightly backups' supervisor command: at the lowest CPU and I/O priority (a dump is the database's reads and
    the disk's writes: the teams' requests come first)."""
    return " ".join(["/usr/bin/nice", "-n", "19", "/usr/bin/ionice", "-c", "3", f"{layout.TOOLS_VENV}/bin/python",
                     layout.NIGHTLY_TOOL, "run", "--at", view.backups.at or "03:00", "--keep", str(view.backups.keep),
                     "--dir", layout.NIGHTLY_DIR, "--teams", layout.TEAMS_DIR, "--admin-file", layout.MONGO_ADMIN_FILE])


def render_server(view, cgroups=False):
    """Every config of one server (a model.ServerView): {absolute path on the server: file content}.

    Per team on the server: uwsgi ini, supervisor program, nginx server block (subdomain),
    nginx location (path prefix; empty unless the class's routing is path), its SSH sessions' limits, its database cap
    (no sudo rule: a team runs everything as itself). Per server: the nginx site (class index and every team's
    location), the class page's program, the nightly backups' program, the teams' login profile, and in mongodb mode
    secantus the database's program. `cgroups`: systemd runs the server, so each team's user slice bounds it (its
    drop-in: render_slice) and the team's program starts there; else rlimits bound each team."""
    teams = view.teams
    common = {"class_name": view.class_name, "domain": view.domain, "server": view.server, "tls": view.tls,
              "routing": view.routing}
    files = {}
    for team in teams:
        paths = TeamPaths(team.name)
        context = dict(common, team=team, paths=paths,
                       limits=limits.template_context(team), cgroups=cgroups, team_scope=layout.TEAM_SCOPE,
                       pair=layout.tls_pair(view.tls.mode, team_host(team.name, view.domain)),
                       entry_dir=layout.ENTRY_DIR, procs_dir=f"{paths.current}/{layout.PROCS_DIR}")
        files[paths.uwsgi_ini] = render_template("uwsgi.ini.j2", context)
        files[paths.supervisor_conf] = render_template("supervisor-team.conf.j2", context)
        files[paths.nginx_conf] = render_template("nginx-team-server.conf.j2", context)
        files[paths.nginx_location] = render_template("nginx-team-location.conf.j2", context)
        files[paths.limits] = render_template("limits-team.conf.j2", context)
        files[paths.database_cap] = render_template("database-cap.j2", context)
    files[layout.NGINX_SITE] = render_template(
        "nginx-site.conf.j2", dict(common, etc=layout.ETC, index_root=layout.INDEX_ROOT,
                                   acme_webroot=layout.ACME_WEBROOT,
                                   pair=layout.tls_pair(view.tls.mode, view.server.hostname or view.server.address)))
    files[layout.CLASS_PAGE_CONF] = render_template("supervisor-class-page.conf.j2", dict(
        common, page_seconds=view.page_seconds, command=class_page_command(view), log=layout.CLASS_PAGE_LOG))
    files[layout.NIGHTLY_CONF] = render_template("supervisor-backups.conf.j2", dict(
        common, backups=view.backups, command=nightly_command(view), log=layout.NIGHTLY_LOG))
    files[layout.TEAM_PROFILE] = render_template("profile-team.sh.j2", dict(common, teams_dir=layout.TEAMS_DIR))
    files[layout.PAM_UMASK_PROFILE] = render_template("pam-umask.j2", common)
    if view.mongodb.mode == "secantus":
        files[layout.SECANTUS_CONF] = render_template("supervisor-secantus.conf.j2", dict(
            common, mongodb=view.mongodb, db_user=layout.DB_USER, tools_venv=layout.TOOLS_VENV,
            secantus_home=layout.SECANTUS_HOME, secantus_log=layout.SECANTUS_LOG))
    return dict(sorted(files.items()))


def render_slice(view, team):
    """The drop-in of `team`'s systemd user slice (layout.SLICE_DROPIN): its memory, tasks and CPU share."""
    return render_template("team-slice.conf.j2", {"class_name": view.class_name, "team": team})


def render_class(inventory):
    """{server name: render_server(its view)} for every server of the class."""
    return {server.name: render_server(inventory.view(server.name)) for server in inventory.servers}


# the server's own files (one per server), by the review name each gets
SERVER_REVIEW_NAMES = {
    layout.NGINX_SITE: "nginx/{server}.site.conf", layout.CLASS_PAGE_CONF: "supervisor/{server}.class-page.conf",
    layout.SECANTUS_CONF: "supervisor/{server}.secantus.conf", layout.NIGHTLY_CONF: "supervisor/{server}.backups.conf",
    layout.TEAM_PROFILE: "limits/{server}.profile.sh", layout.PAM_UMASK_PROFILE: "limits/{server}.pam-umask",
}


def review_name(server_name, path):
    """Where the server file `path` goes in a review folder: nginx/hacknode2.conf, uwsgi/hacknode2.ini...

    Team names have no dots, so per-server files (<server>.site.conf, <server>.class-page.conf,
    <server>.secantus.conf) never collide with a team's file."""
    base = os.path.basename(path)
    if path in SERVER_REVIEW_NAMES:
        return SERVER_REVIEW_NAMES[path].format(server=server_name)
    if path.startswith(f"{layout.DATABASE_CAPS}/"):
        return f"limits/{base}.database-mb"
    if path.startswith("/etc/security/limits.d/hacknode-"):
        return f"limits/{base[len('hacknode-'):]}"
    if path.startswith(f"{layout.ETC}/"):
        return path[len(layout.ETC) + 1:]                      # nginx/..., nginx/locations/..., uwsgi/...
    if path.startswith(f"{layout.SUPERVISOR_DIR}/hacknode-"):
        return f"supervisor/{base[len('hacknode-'):]}"
    raise RenderError(f"no review name for {path}")


def review_files(inventory):
    """{relative review path: content} for the whole class."""
    files = {}
    for server_name, server_files in render_class(inventory).items():
        for path, content in server_files.items():
            files[review_name(server_name, path)] = content
        view = inventory.view(server_name)
        for team in view.teams:     # used where systemd runs the server (its path holds the team's uid)
            files[f"limits/{team.name}.slice.conf"] = render_slice(view, team)
    return dict(sorted(files.items()))


def _managed_files(out_dir):
    """Files under out_dir's review folders that a previous render wrote (first line says so)."""
    found = []
    for folder in REVIEW_DIRS:
        for root, _dirs, names in os.walk(os.path.join(out_dir, folder)):
            for name in names:
                path = os.path.join(root, name)
                try:
                    with open(path, encoding="utf-8") as handle:
                        first = handle.readline()
                except (OSError, UnicodeDecodeError):
                    continue
                if MANAGED in first:
                    found.append(os.path.relpath(path, out_dir))
    return sorted(found)


def write_review(inventory, out_dir):
    """Write every config of the class under out_dir; remove configs a previous render wrote that
    the class no longer has. Everything is rendered before anything is written.
    Returns (written, removed): relative paths."""
    files = review_files(inventory)
    stale = [name for name in _managed_files(out_dir) if name not in files]
    for name, content in files.items():
        path = os.path.join(out_dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
    for name in stale:
        os.remove(os.path.join(out_dir, name))
    return list(files), stale
