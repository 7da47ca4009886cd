"""What provisioning ships beside configs, made on this machine once per kind of server: the wheelhouse for
the server's Python and CPU, and a copy of the repo as `fab deploy` ships it (the teams' first release)."""
import datetime
import hashlib
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from deploy import release, wheels
from deploy.errors import ProvisionError

REPO = Path(__file__).resolve().parent.parent
# uv is a wheel like any other: shipped in the server's wheelhouse, unpacked there, it makes every virtualenv
# (deploy/remote/make-venv.sh). The same pin is in requirements-dev.txt, where the tests run it.
UV_REQUIREMENT = "uv==0.13.8"


@dataclass(frozen=True)
class Artifacts:
    wheels_dir: str = ""            # local wheelhouse for the server's python and architecture
    wheels_digest: str = ""
    app_dir: str = ""               # a local copy of the repo as `fab deploy` ships it
    release_id: str = ""
    requirements_hash: str = ""     # of the app's requirements.txt: names the team's virtualenv
    requirements_text: str = ""     # the app's requirements.txt (a team's first virtualenv is made from it)
    fill_app_dir: object = None     # fills app_dir, once, when a bundle first needs it (a no-op run never does)


def server_requirements(tool_packages, cache_dir):
    """The app's requirements plus the server tools' and uv, as one file: one wheelhouse per server kind."""
    text = (REPO / "requirements.txt").read_text() + "".join(f"{p}\n" for p in (*tool_packages, UV_REQUIREMENT))
    path = Path(cache_dir) / f"server-requirements-{hashlib.sha256(text.encode()).hexdigest()[:12]}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(text)
    return path


def copy_app(destination, source=REPO):
    """The repo's working tree as a team's `fab deploy` ships it (the same rsync, the same excludes)."""
    done = subprocess.run(release.rsync_command(source, f"{destination}/", "ssh"), capture_output=True, text=True)
    if done.returncode != 0:
        raise ProvisionError(f"copying the app from {source} failed: {done.stderr.strip()}")
    return destination


class ArtifactMaker:
    """Prepares each server kind's artifacts once, even when servers ask at the same time."""

    def __init__(self, tool_packages, cache_dir, app_dir):
        self.tool_packages, self.cache_dir, self.app_dir = tool_packages, cache_dir, app_dir
        self.lock = threading.Lock()
        self.made = {}
        self.app_copied = False
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
                self.made[key] = Artifacts(wheelhouse, digest, self.app_dir, self.release_id,
                                           wheels.requirements_hash(app_requirements), app_requirements.read_text(),
                                           self.fill_app_dir)
            return self.made[key]

    def fill_app_dir(self):
        """Copy the app into app_dir, the first time only."""
        with self.lock:
            if not self.app_copied:
                copy_app(self.app_dir)
                self.app_copied = True
