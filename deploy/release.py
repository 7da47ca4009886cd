"""Release mechanics that are pure decisions, plus how to call the server-side script deploy/remote/release.sh.

A release is a directory TeamPaths.releases/<id>, id = UTC timestamp YYYYmmddTHHMMSSZ[-<git short sha>],
holding the rsynced working tree, a file RELEASE with the id (GET /healthz reports it) and a link
rapid-env -> ../../envs/<requirements hash>. `current` links to the live one.
"""
import re
import shlex
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from deploy.layout import KEEP_RELEASES, WHEELS, TeamPaths

SCRIPT = Path(__file__).parent / "remote" / "release.sh"

# Never shipped: version control, virtualenvs, caches, local secrets (.hacknode/ holds keys), and what the
# server makes itself (RELEASE, rapid-env). Anchored ("/x") = only at the top of the tree.
RSYNC_EXCLUDES = (
    ".git/", "/.venv/", "venv/", "rapid-env", "__pycache__/", "*.pyc", ".pytest_cache/", "/.cache/",
    "/.hacknode/", "/test-artifacts/", "node_modules/", "*.egg-info/", ".mypy_cache/", "/RELEASE",
)

RELEASE_ID = re.compile(r"^\d{8}T\d{6}Z(-[0-9a-f]{4,40})?$")


def release_id(now, git_sha=None):
    """The id of a release made at `now` (an aware datetime), e.g. '20260121T093000Z-1a2b3c4'."""
    stamp = now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{git_sha}" if git_sha else stamp


def new_release_id(source_dir):
    """The id for a deploy of `source_dir` now."""
    return release_id(datetime.now(timezone.utc), git_short_sha(source_dir))


def git_short_sha(source_dir):
    """HEAD's short sha when `source_dir` is a git work tree, else None."""
    done = subprocess.run(["git", "-C", str(source_dir), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True)
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{4,40}", sha) else None


def host_header(team, inventory):
    """The Host header under which nginx serves `team`: <team>.<domain>."""
    return f"{team.name}.{inventory.domain}"


def with_settings(paths: TeamPaths, command):
    """`command`, run in the live release with the team's settings exported: the settings file holds
    NAME=value lines (uwsgi reads it the same way), exported without the shell interpreting the values."""
    return (f"while IFS= read -r line; do [ -n \"$line\" ] && export \"$line\"; done < {paths.mongo_uri_file}; "
            f"cd {paths.current} && exec {command}")


def script_text(paths: TeamPaths, keep=KEEP_RELEASES):
    """deploy/remote/release.sh preceded by the team's paths: what is sent on the script's stdin."""
    header = {
        "team": paths.team, "releases": paths.releases, "current": paths.current, "envs": paths.envs,
        "run_dir": paths.run_dir, "uwsgi_log": paths.uwsgi_log,
        "wheelhouses": f"{paths.wheels} {WHEELS}", "keep": str(keep),
    }
    lines = [f"{name}={shlex.quote(value)}" for name, value in header.items()]
    return "\n".join(lines) + "\n" + SCRIPT.read_text()


def script_command(paths: TeamPaths, subcommand, *args, keep=KEEP_RELEASES):
    """One remote command that runs release.sh for the team with `subcommand` and `args`. The script travels
    inside the command (`bash -c`), not on stdin: invoke feeds a run's in_stream one byte per 10 ms, which
    made this 10 kB script take 110 s. (From a file on the server, `bash -s -- ... < file` works the same.)"""
    return " ".join(["bash", "-c", shlex.quote(script_text(paths, keep)), "release.sh", subcommand,
                     *(shlex.quote(str(a)) for a in args)])


def rsync_command(source_dir, destination, ssh_command, link_dest=None, excludes=RSYNC_EXCLUDES, delete=False):
    """rsync of `source_dir`'s contents into `destination` ("user@host:path/") over `ssh_command`.
    `link_dest` (relative to the destination) hard-links files unchanged since that release."""
    # Readable by all: nginx serves static files straight from the release; the home (0750, group www-data)
    # is what keeps other teams out.
    command = ["rsync", "-rlpt", "--chmod=Da+rx,Fa+r,go-w", "--compress", "--rsh", ssh_command]
    command += [f"--exclude={pattern}" for pattern in excludes]
    if link_dest:
        command.append(f"--link-dest={link_dest}")
    if delete:
        command.append("--delete")
    return command + [str(source_dir).rstrip("/") + "/", destination]


def ssh_command(port=22, key=None, options=()):
    """The ssh command line rsync uses, non-interactive. Unknown host keys are accepted the first time and
    a changed one refused, as Fabric does."""
    parts = ["ssh", "-p", str(port), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new"]
    if key:
        parts += ["-i", str(key), "-o", "IdentitiesOnly=yes"]
    parts += list(options)
    return " ".join(shlex.quote(p) for p in parts)
