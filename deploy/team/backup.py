"""`fab backup`, `fab restore`, `fab dbshell`: a team's own database, as the team with its own credentials.

Every function takes the team's connection `c` first. The database work runs on the server by the live
release's python (deploy/remote/team_db.py, through commands.team_db); the archive travels by SFTP and waits
on the server only in the team's private folder (TeamPaths.secrets, 0700).
"""
import os
import time
from pathlib import Path

from deploy.core import commands, runner
from deploy.core.layout import TeamPaths
from deploy.team import backup_file
from deploy.team.tasks import say


def backup_database(c, team_name, out_dir=backup_file.BACKUP_DIR):
    """Dump the team's database on the server, fetch it into `out_dir` as <team>-<time>-<release>.tar.gz;
    returns its local path."""
    paths = TeamPaths(team_name)
    remote = f"{paths.secrets}/backup-{int(time.time())}-{os.getpid()}.tar.gz"
    say(c, f"backup of {team_name}'s database")
    try:
        runner.run(c, commands.team_db(paths, f"dump of {team_name}'s database", "dump", remote, team_name),
                   show=True)
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        partial = Path(out_dir) / f".{Path(remote).name}.part"
        c.get(remote, str(partial))
    finally:
        runner.run(c, commands.remove_file(remote), check=False)
    manifest = backup_file.read_manifest(partial)
    local = partial.with_name(backup_file.file_name(manifest))
    os.chmod(partial, 0o600)        # the team's data: not for the other users of this machine
    partial.rename(local)
    say(c, f"saved {local} ({local.stat().st_size} bytes): {manifest.summary()}")
    return local


def restore_database(c, team_name, archive, confirm):
    """Replace every collection of the team's database with the backup's. `confirm(question)` says whether
    to go on; a file that is not a backup is refused (BackupError) before anything is sent."""
    manifest = backup_file.read_manifest(archive)
    paths = TeamPaths(team_name)
    question = (f"replace every collection of {team_name}'s database with the backup's ({manifest.summary()})?")
    if not confirm(question):
        say(c, "restore: nothing changed")
        return False
    remote = f"{paths.secrets}/restore-{int(time.time())}-{os.getpid()}.tar.gz"
    try:
        c.put(str(archive), remote)
        runner.run(c, commands.team_db(paths, f"restore of {team_name}'s database", "load", remote), show=True)
    finally:
        runner.run(c, commands.remove_file(remote), check=False)
    return True


def dbshell(c, team_name):
    """An interactive Python prompt on the server with the team's database bound as `db` (Ctrl-D quits)."""
    say(c, f"python with {team_name}'s database as `db`")
    runner.run(c, commands.team_db(TeamPaths(team_name), "dbshell", "shell"), show=True, check=False, pty=True)
