"""What provisioning ships beside configs, made on this machine once per kind of server: the wheelhouse for
the server's Python and CPU, and a copy of the repo as `fab deploy` ships it (the teams' first release)."""
import datetime
import fcntl
import hashlib
import os
import subprocess
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path

from deploy.core import release, wheels
from deploy.core.errors import ProvisionError

REPO = Path(__file__).resolve().parents[2]
# uv is a wheel like any other: shipped in the server's wheelhouse, unpacked there, it makes every virtualenv
# (deploy/remote/make-venv.sh). The same pin is in requirements-dev.txt, where the tests run it.
UV_REQUIREMENT = "uv==0.13.8"


@dataclass(frozen=True)
class Artifacts:
    wheels_dir: str = ""            # local wheelhouse for the server's python and architecture
    wheels_digest: str = ""
    app_tar: str = ""               # the repo as `fab deploy` ships it, packed: the teams' first release
    release_id: str = ""
    requirements_hash: str = ""     # of the app's requirements.txt: names the team's virtualenv
    requirements_text: str = ""     # the app's requirements.txt (a team's first virtualenv is made from it)
    fill_app_tar: object = None     # makes app_tar, once, when a bundle first needs it (a no-op run never does)


def server_requirements(tool_packages, cache_dir):
    """The app's requirements plus the server tools' and uv, as one file: one wheelhouse per server kind."""
    text = (REPO / "requirements.txt").read_text() + "".join(f"{p}\n" for p in (*tool_packages, UV_REQUIREMENT))
    path = Path(cache_dir) / f"server-requirements-{hashlib.sha256(text.encode()).hexdigest()[:12]}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():           # written whole, then renamed: another run may read it meanwhile
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(text)
        partial.replace(path)
    return path


def copy_app(destination, source=REPO):
    """The repo's working tree as a team's `fab deploy` ships it (the same rsync, the same excludes), into
    `destination`; a copy there already is brought up to date (only what changed is copied)."""
    command = release.rsync_command(source, f"{destination}/", "ssh", delete=True, delete_excluded=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ProvisionError(f"copying the app from {source} failed: {done.stderr.strip()}")
    return destination


def pack_app(cache_dir, tar_path):
    """The app, packed into `tar_path` from the cache's copy of it, brought up to date first. The copy is locked
    meanwhile: two provisioning runs of this checkout share it. (A fresh copy each run cost a fifth of a second.)"""
    copy = Path(cache_dir) / "app-copy"
    copy.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{copy}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        copy_app(copy)
        with tarfile.open(tar_path, "w") as tar:
            tar.add(copy, arcname=".")
    return tar_path


class ArtifactMaker:
    """Prepares each server kind's artifacts once, even when servers ask at the same time."""

    def __init__(self, tool_packages, cache_dir, work_dir):
        self.tool_packages, self.cache_dir, self.app_tar = tool_packages, cache_dir, f"{work_dir}/app.tar"
        self.lock = threading.Lock()
        self.made = {}
        self.app_packed = False
        self.release_id = release.release_id(datetime.datetime.now(datetime.timezone.utc),
                                             release.git_short_sha(str(REPO)))

    def __call__(self, facts):
        key = (facts.python, facts.arch)
        with self.lock:
            if key not in self.made:
                requirements = server_requirements(self.tool_packages, self.cache_dir)
                wheelhouse = wheels.build_wheelhouse(requirements, facts.python, facts.arch,
                                                     f"{self.cache_dir}/wheels")
                digest = hashlib.sha256(" ".join(wheels.wheel_files(wheelhouse)).encode()).hexdigest()[:16]
                app_requirements = REPO / "requirements.txt"
                self.made[key] = Artifacts(wheelhouse, digest, self.app_tar, self.release_id,
                                           wheels.requirements_hash(app_requirements), app_requirements.read_text(),
                                           self.fill_app_tar)
            return self.made[key]

    def fill_app_tar(self):
        """Pack the app into app_tar, the first time only (every server's bundle carries the same file)."""
        with self.lock:
            if not self.app_packed:
                pack_app(self.cache_dir, self.app_tar)
                self.app_packed = True
