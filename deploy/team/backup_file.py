"""Backups of a team's database on this side, pure but for reading the local file: the archive's name, and
what it holds, checked before anything is sent (the server checks every document again before it replaces).

The archive (made by deploy/remote/team_db.py `dump`) is a tar.gz: hacknode-backup.json (format, team,
database, release, time, each collection's counts) and dump/<database>/<collection>.bson and
.metadata.json, the layout mongodump writes, so `mongorestore --dir dump` reads it too.
"""
import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

from deploy.core.errors import DeployError

FORMAT, VERSION, MANIFEST = "hacknode-backup", 1, "hacknode-backup.json"
BACKUP_DIR = ".hacknode/backups"      # never shipped by a deploy (release.RSYNC_EXCLUDES), never committed


class BackupError(DeployError):
    """A file that is not a backup `fab restore` can load: the message names the file and the problem."""


@dataclass(frozen=True)
class Manifest:
    team: str
    database: str
    release: str
    made: str
    collections: dict        # name -> {"documents": n, "indexes": n}

    def summary(self):
        counts = ", ".join(f"{name} ({c['documents']} documents, {c['indexes']} indexes)"
                           for name, c in self.collections.items())
        return (f"database {self.database} of team {self.team}, release {self.release}, made {self.made}: "
                f"{counts or 'no collections'}")


def file_name(manifest):
    """<team>-<UTC time>-<release>.tar.gz, e.g. hacknode1-20261201T230102Z-20261201T225900Z-1a2b3c4.tar.gz."""
    stamp = re.sub(r"[-:]", "", manifest.made)
    release = re.sub(r"[^A-Za-z0-9_.-]", "_", manifest.release)
    return f"{manifest.team}-{stamp}-{release}.tar.gz"


def parse_manifest(data, where):
    try:
        fields = json.loads(data)
    except ValueError:
        raise BackupError(f"{where}: not a hacknode backup ({MANIFEST} is not JSON)") from None
    if not isinstance(fields, dict) or fields.get("format") != FORMAT or fields.get("version") != VERSION:
        found = fields.get("format") if isinstance(fields, dict) else None
        raise BackupError(f"{where}: not a hacknode backup (format {found!r}, expected {FORMAT!r} version {VERSION})")
    try:
        return Manifest(str(fields["team"]), str(fields["database"]), str(fields["release"]), str(fields["made"]),
                        dict(fields["collections"]))
    except (KeyError, TypeError, ValueError) as error:
        raise BackupError(f"{where}: not a hacknode backup ({MANIFEST} lacks {error})") from None


def read_manifest(path):
    """The Manifest of the backup at `path`; BackupError saying why it is not one."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    try:
        with tarfile.open(path, "r:gz") as tar:
            names = set(tar.getnames())
            if MANIFEST not in names:
                raise BackupError(f"{path}: not a hacknode backup (no {MANIFEST} in it)")
            manifest = parse_manifest(tar.extractfile(MANIFEST).read(), path)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BackupError(f"{path}: not a hacknode backup (not a gzip'd tar: {error})") from None
    missing = [f"dump/{manifest.database}/{name}{suffix}" for name in manifest.collections
               for suffix in (".bson", ".metadata.json") if f"dump/{manifest.database}/{name}{suffix}" not in names]
    if missing:
        raise BackupError(f"{path}: not a whole backup ({missing[0]} is missing)")
    return manifest
