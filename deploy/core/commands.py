"""What runs on servers, built as values: every builder here is pure and returns a RemoteCommand; only
deploy/core/runner.py runs them (as Kamal's commands/ build and its cli/ runs). Server-side programs are files under
deploy/remote/; a builder names the file, its arguments, whether it needs root, and what it reads on stdin.
"""
import json
import re
import shlex
from dataclasses import dataclass, replace
from pathlib import Path

from deploy.core import layout
from deploy.core.layout import TeamPaths

REMOTE = Path(__file__).resolve().parents[1] / "remote"


@dataclass(frozen=True)
class RemoteCommand:
    what: str                   # for messages: "read the server's state", "release.sh deploy"
    argv: tuple = ()            # a program and its arguments, or the script's arguments
    script: str = ""            # a script's whole text; "" when argv[0] is the program
    name: str = "hacknode"      # the script's name ($0 of a bash script)
    interpreter: str = "bash"   # bash or python3, for a script
    root: bool = False          # runs as root (the runner adds sudo -n for an admin who is not root)
    stdin: str = ""             # fed to the command: secrets (external admin URI, team settings), never argv

    def line(self):
        """The shell line. A script travels in argv, never on stdin: Fabric feeds stdin a byte per 10 ms, and
        a script read from stdin hands the rest of itself to the first command in it that reads stdin."""
        args = [shlex.quote(str(a)) for a in self.argv]
        if not self.script:
            return " ".join(args)
        name = [self.name] if self.interpreter == "bash" else []
        # python3 -I: a script given with -c has the working folder first on sys.path; isolated, root's Python never
        # imports a module from where it stands, nor takes PYTHON* variables
        interpreter = ["python3", "-I"] if self.interpreter == "python3" else [self.interpreter]
        return " ".join([*interpreter, "-c", shlex.quote(self.script), *name, *args])


def remote_file(name):
    """The text of deploy/remote/<name>: a program that runs on servers."""
    return (REMOTE / name).read_text()


SOURCED = re.compile(r"^\. ([\w.-]+\.sh)$", re.MULTILINE)


def remote_program(name):
    """deploy/remote/<name> with each file it sources (a line `. FILE.sh`, FILE in deploy/remote/) put in that
    line's place: a program travels as one text (in argv, or in the bundle's script), so what it sources goes in it."""
    return SOURCED.sub(lambda m: remote_program(m.group(1)).rstrip("\n"), remote_file(name))


def program(what, *argv, root=False):
    return RemoteCommand(what, tuple(argv), root=root)


# ---------- the instructor's ----------

def read_facts(query):
    """One round trip that reports what the server has (deploy/remote/facts.py, standard library only)."""
    return RemoteCommand("read the server's state", (json.dumps(query),), remote_file("facts.py"),
                         interpreter="python3", root=True)


def apply_bundle(upload, admin_uri_input=""):
    """Unpack the uploaded bundle (relative to the admin's home) privately and run its script."""
    return RemoteCommand("provisioning", (upload,), remote_file("run-bundle.sh"), "run-bundle.sh",
                         root=True, stdin=admin_uri_input)


def class_status(domain, hostname):
    """Every team's program state, uptime, releases, /healthz code (each team asked), requests, use (memory, tasks,
    disk) and what bounds it, one tab-separated line each, then whether the server has disk quotas, its time and (TLS
    on) when its certificates expire: the collector provisioning installed (deploy/remote/class_collect.py), whose
    lines deploy/remote/class_status.parse reads; hostname is the server's name (its certificate's expiry)."""
    return program("status", f"{layout.TOOLS_VENV}/bin/python", layout.CLASS_STATUS_TOOL, domain, hostname, "all",
                   root=True)


def helper(name, *args):
    """A line of a root script: hacknode's shell helper `name` (defined in deploy/remote/*.sh), its arguments quoted."""
    return " ".join([name, *(shlex.quote(str(a)) for a in args)])


def teardown_text(team_files, team_folders):
    """deploy/remote/teardown.sh with its paths first: `team_files` and `team_folders` are a team's, with {team} for
    its name (the teams are those the server has)."""
    header = {
        "teams_dir": layout.TEAMS_DIR, "slice_dropin": layout.SLICE_DROPIN, "team_files": " ".join(team_files),
        "team_folders": " ".join(team_folders), "programs": "hacknode-secantus hacknode-class-page hacknode-backups",
        "program_confs": f"{layout.SECANTUS_CONF} {layout.CLASS_PAGE_CONF} {layout.NIGHTLY_CONF} {layout.NGINX_SITE}",
        "profiles": f"{layout.TEAM_PROFILE} {layout.PAM_UMASK_PROFILE}", "acme_certs": layout.ACME_CERTS,
        "certbot_renewal": layout.CERTBOT_RENEWAL, "renewal_files": f"{layout.CERTBOT_DROPIN} {layout.CERTBOT_CRON}",
        "class_folders": f"{layout.ETC} {layout.INDEX_ROOT} {layout.ACME_WEBROOT} /opt/hacknode /var/log/hacknode",
        "db_user": layout.DB_USER,
    }
    return "".join(f"{name}={shlex.quote(value)}\n" for name, value in header.items()) + remote_file("teardown.sh")


def root_script(what, text, admin_uri_input=""):
    """A script made of hacknode's shell helpers and planned commands (see deploy/provision/bundle.py)."""
    return RemoteCommand(what, (), text, root=True, stdin=admin_uri_input)


# ---------- the team's ----------

def release_script_text(paths: TeamPaths, keep=layout.KEEP_RELEASES, make_venv=layout.MAKE_VENV,
                        procfile_tool=layout.PROCFILE_TOOL):
    """The release program, deploy/remote/release.sh with the files it sources, preceded by the team's paths as
    variable assignments (the names release.sh declares); `make_venv`, `procfile_tool`: where the virtualenv maker
    and the Procfile's checker are (the tests run copies of them)."""
    header = {
        "team": paths.team, "releases": paths.releases, "current": paths.current, "envs": paths.envs,
        "run_dir": paths.run_dir, "uwsgi_log": paths.uwsgi_log, "uwsgi_ini": paths.uwsgi_ini,
        "master_fifo": paths.master_fifo, "wheelhouses": f"{paths.wheels} {layout.WHEELS}", "keep": str(keep),
        "healthz": layout.HEALTHZ_TOOL, "settings": paths.mongo_uri_file, "make_venv": make_venv,
        "uv_cache": paths.uv_cache, "freeze_dir": layout.FREEZE_DIR, "procfile_tool": procfile_tool,
    }
    lines = [f"{name}={shlex.quote(value)}" for name, value in header.items()]
    return "\n".join(lines) + "\n" + remote_program("release.sh")


def release(paths: TeamPaths, subcommand, *args, keep=layout.KEEP_RELEASES):
    """deploy/remote/release.sh SUBCOMMAND ARGS as the team (facts, env, deploy, rollback, list, prune)."""
    return RemoteCommand(f"release.sh {subcommand}", tuple(str(a) for a in (subcommand, *args)),
                         release_script_text(paths, keep), "release.sh")


def change_settings(paths: TeamPaths, host_header, changes):
    """release.sh settings: `changes` (deploy/settings.changes) on stdin, never in argv where `ps` shows them."""
    return replace(release(paths, "settings", host_header), stdin=changes)


def read_settings(paths: TeamPaths):
    """The team's settings file (secrets in it: the caller masks them, deploy/settings.listing)."""
    return program("read the settings", "cat", paths.mongo_uri_file)


def git_hook_text(paths: TeamPaths, host_header, branch):
    """deploy/remote/git-pre-receive.sh preceded by its variables: pushes of `branch` run release.sh deploy."""
    header = {"team": paths.team, "branch": branch, "host": host_header, "releases": paths.releases,
              "release_script": f"{paths.git_repo}/hooks/hacknode-release.sh"}
    return ("#!/bin/bash\n" + "".join(f"{name}={shlex.quote(value)}\n" for name, value in header.items())
            + remote_file("git-pre-receive.sh"))


def git_bare_repo(paths: TeamPaths):
    """The team's bare repository (made once; git init again on it changes nothing)."""
    return program(f"make {paths.git_repo}", "git", "init", "--bare", "--quiet", paths.git_repo)


def log_tail(paths: TeamPaths, lines):
    """The last lines of the team's uwsgi log, read by the team itself (its log folder is the team's group)."""
    return program(f"tail of {paths.uwsgi_log}", "tail", "-n", str(int(lines)), paths.uwsgi_log)


def log_end(paths: TeamPaths, size=800):
    """The last `size` bytes of the team's uwsgi log (the workshop's `tail -800`), read by the team itself."""
    return program(f"end of {paths.uwsgi_log}", "tail", "-c", str(int(size)), paths.uwsgi_log)


def with_settings(paths: TeamPaths, what, *argv):
    """`argv` run in the live release with the team's settings exported (deploy/remote/with-settings.sh): the
    settings file holds NAME=value lines (uwsgi reads it the same way), exported without the shell interpreting them."""
    return RemoteCommand(what, (paths.mongo_uri_file, paths.current, *argv), remote_file("with-settings.sh"),
                         "with-settings.sh")


def team_db(paths: TeamPaths, what, *args):
    """deploy/remote/team_db.py ARGS (dump, load, shell) as the team, by the live release's python, with the
    team's settings: its own database with its own credentials."""
    return with_settings(paths, what, "rapid-env/bin/python", "-c", remote_file("team_db.py"), *(str(a) for a in args))


def remove_file(path):
    return program(f"remove {path}", "rm", "-f", path)


def team_argv(team_name, *argv):
    """`argv` run by root as the team's user with a clean environment: what apply-lib.sh's hn_as_user does (root's
    environment never reaches a process the team can read), within the same deadline: a FIFO the team put where
    the command opens a file would hold it for ever."""
    home = TeamPaths(team_name).home
    return ("env", "-i", "-C", "/", "PATH=/usr/local/bin:/usr/bin:/bin", f"HOME={home}", "LANG=C.UTF-8", f"USER={team_name}",
            f"LOGNAME={team_name}", "timeout", "-k", "5", "600", "setpriv", f"--reuid={team_name}", f"--regid={team_name}", "--init-groups", "--",
            *argv)


def as_team_user(team_name, command):
    """`command` run by root as the team's user (root's tools: the demo seeding a team's database)."""
    return RemoteCommand(command.what, team_argv(team_name, "bash", "-c", command.line()), root=True)


# ---------- tls mode acme (deploy/tls/acme.py plans them) ----------

def acme_tool_text():
    """deploy/remote/acme.sh as installed at layout.ACME_TOOL: bash, with its paths first."""
    header = {"certs": layout.ACME_CERTS, "live": layout.LETSENCRYPT_LIVE, "bundle": layout.ACME_CA_BUNDLE}
    return ("#!/bin/bash\n" + "".join(f"{name}={shlex.quote(value)}\n" for name, value in header.items())
            + remote_file("acme.sh"))


def acme_tool(*args):
    """A shell line running layout.ACME_TOOL (stand-in, link, forget, renew, reload) in a provisioning script."""
    return " ".join(shlex.quote(str(a)) for a in (layout.ACME_TOOL, *args))


def certbot_certonly(name, email, directory, ca_bundle=False):
    """The argv that gets certbot's certificate for `name` by HTTP-01 from the webroot nginx serves on port 80,
    renewed later with the same deploy hook (certbot keeps it in renewal/<name>.conf); `ca_bundle`: certbot trusts
    layout.ACME_CA_BUNDLE to talk to the ACME directory (a private CA)."""
    argv = ["certbot", "certonly", "--quiet", "--webroot", "-w", layout.ACME_WEBROOT, "--non-interactive",
            "--agree-tos", "-m", email, "--server", directory, "-d", name, "--cert-name", name,
            "--deploy-hook", acme_tool("reload")]
    env = ["env", f"REQUESTS_CA_BUNDLE={layout.ACME_CA_BUNDLE}"] if ca_bundle else []
    return (*env, *argv)


def certbot_delete(name):
    """The shell line that deletes certbot's certificate `name`: no longer renewed."""
    return " ".join(shlex.quote(a) for a in ("certbot", "delete", "--non-interactive", "--cert-name", name))


def renew_certificates(*certbot_args):
    """The unattended renewal (what certbot.timer or the cron entry runs), now: `certbot renew` by layout.ACME_TOOL."""
    return program("renew certificates", layout.ACME_TOOL, "renew", *certbot_args, root=True)


# ---------- fab audit ----------

def audit(domain):
    """deploy/remote/audit.py as root: every team of the server tries the attacks of deploy/remote/audit_probe.py
    (its text handed over as an argument: root runs it as each team) against the next team; one JSON report. Root
    reads what a team names with deploy/remote/facts.py's reader (its text, the next argument)."""
    return RemoteCommand("audit", (domain, remote_file("audit_probe.py"), remote_file("facts.py")),
                         remote_file("audit.py"), interpreter="python3", root=True)
