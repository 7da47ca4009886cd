"""`fab backups --fetch`: the nightly dumps of every server (deploy/remote/nightly_backups.py) copied to this machine by
rsync over the admin's SSH, only what is new: <out>/<server>/<team>/<team>-<time>-<release>.tar.gz, each readable by
this user alone (a team's data). Nothing is ever deleted here: a dump a server no longer keeps stays."""
import os
import subprocess

from deploy.core import layout, release
from deploy.core.errors import DeployError

NIGHTLY_OUT = ".hacknode/nightly"       # never committed (.gitignore: /.hacknode/)


def fetch_command(server, key, destination):
    """The rsync that copies the server's dumps (and nothing else: not last.json, not a dump being written) that
    `destination` does not have yet; it prints the path of each file it copies."""
    rsync_path = "rsync" if server.admin_user == "root" else "sudo -n rsync"      # the dumps are root's alone
    return ["rsync", "-rt", "--chmod=D0700,F0600", "--ignore-existing", "--out-format=%n",
            "--rsync-path", rsync_path, "--rsh", release.ssh_command(port=server.ssh_port, key=key),
            "--include=*/", "--include=*.tar.gz", "--exclude=*",
            f"{server.admin_user}@{server.address}:{layout.NIGHTLY_DIR}/", str(destination).rstrip("/") + "/"]


def copied_dumps(rsync_output):
    return [line.strip() for line in rsync_output.splitlines() if line.strip().endswith(".tar.gz")]


def fetch_server(server, key, out_dir):
    """The dumps copied from one server into out_dir/<server>/ (relative paths <team>/<file>)."""
    destination = os.path.join(out_dir, server.name)
    os.makedirs(destination, mode=0o700, exist_ok=True)
    done = subprocess.run(fetch_command(server, key, destination), capture_output=True, text=True)
    if done.returncode == 23 and "No such file or directory" in done.stderr:
        return []       # no nightly backup made there yet
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise DeployError(f"{server.name}: rsync of the nightly backups failed: {why}")
    return copied_dumps(done.stdout)


def fetch(inventory, key=None, out_dir=NIGHTLY_OUT, say=print):
    """Every server's new dumps into out_dir/<server>/; a line per file copied and one per server."""
    problems = []
    for server in inventory.servers:
        try:
            copied = fetch_server(server, key, out_dir)
        except DeployError as error:
            problems.append(str(error))
            continue
        for path in copied:
            say(f"{server.name}: copied {os.path.join(out_dir, server.name, path)}")
        kept = sum(len(files) for _root, _dirs, files in os.walk(os.path.join(out_dir, server.name)))
        say(f"{server.name}: {len(copied) or 'nothing'} new, {kept} dumps in {os.path.join(out_dir, server.name)}")
    if problems:
        raise DeployError("; ".join(problems))
