"""Release mechanics that are pure decisions on this side: release ids and the rsync that ships a release
(the server side is deploy/remote/release.sh, called through deploy/commands.release).

A release is a directory TeamPaths.releases/<id>, id = UTC timestamp YYYYmmddTHHMMSSZ[-<git short sha>],
holding the rsynced working tree, a file RELEASE with the id (GET /healthz reports it) and a link
rapid-env -> ../../envs/<requirements hash>. `current` links to the live one.
"""
import os
import re
import shlex
import stat
import subprocess
from datetime import datetime, timezone

from deploy.core import layout


# Never shipped: version control (".git": a folder, or a file in a git worktree), virtualenvs (".venv": a folder,
# or a link to one), caches, local secrets (.hacknode/ holds keys), and what the server makes itself (RELEASE,
# rapid-env, .hacknode-procs from the Procfile). Anchored ("/x") = only at the top of the tree.
RSYNC_EXCLUDES = (
    ".git", "/.venv", "venv/", "rapid-env", "__pycache__/", "*.pyc", ".pytest_cache/", "/.cache/",
    "/.hacknode/", "/test-artifacts/", "/bench-results/", "node_modules/", "*.egg-info/", ".mypy_cache/", "/RELEASE",
    f"/{layout.PROCS_DIR}",
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


def rsync_command(source_dir, destination, ssh_command, link_dest=None, excludes=RSYNC_EXCLUDES, delete=False,
                  delete_excluded=False):
    """rsync of `source_dir`'s contents into `destination` ("user@host:path/") over `ssh_command`.
    `link_dest` (relative to the destination) hard-links files unchanged since that release; `delete_excluded`
    also deletes from the destination what the excludes keep out (one added since the last copy, say)."""
    # Readable by all: nginx serves static files straight from the release; the home (0750, group www-data)
    # is what keeps other teams out.
    command = ["rsync", "-rlpt", "--chmod=Da+rx,Fa+r,go-w", "--compress", "--rsh", ssh_command]
    command += [f"--exclude={pattern}" for pattern in excludes]
    if link_dest:
        command.append(f"--link-dest={link_dest}")
    if delete:
        command.append("--delete")
    if delete_excluded:
        command.append("--delete-excluded")
    return command + [str(source_dir).rstrip("/") + "/", destination]


def ssh_command(port=22, key=None, options=(), control_dir=None, control_name="%C"):
    """The ssh command line rsync uses, non-interactive. Unknown host keys are accepted the first time and
    a changed one refused, as Fabric does. With `control_dir` (a folder only this user can enter), the first
    ssh opens a master connection there, `control_name` (ssh's %C: one per user, host and port, unless the
    caller makes it its own), that the next rsyncs reuse: no new SSH handshake each time."""
    parts = ["ssh", "-p", str(port), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new"]
    if key:
        parts += ["-i", str(key), "-o", "IdentitiesOnly=yes"]
    if control_dir:
        parts += ["-o", "ControlMaster=auto", "-o", f"ControlPath={control_dir}/{control_name}", "-o", "ControlPersist=60"]
    parts += list(options)
    return " ".join(shlex.quote(p) for p in parts)


def control_dir(base):
    """`base`/hacknode-ssh-<uid>, made 0700 for this user, where ssh keeps its master connections; None when
    that folder is someone else's or others may enter it (a master's socket there would be theirs to use), or
    when its path leaves no room for ssh's 40-character socket names (a socket path has at most 104 bytes)."""
    folder = os.path.join(base, f"hacknode-ssh-{os.getuid()}")
    if len(folder) + 41 + 17 > 100:     # %C and a task's own suffix (team_tasks.rsync_ssh)
        return None
    os.makedirs(folder, mode=0o700, exist_ok=True)
    status = os.lstat(folder)
    if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid() or status.st_mode & 0o077:
        return None
    return folder
