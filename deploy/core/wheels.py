"""Wheelhouses: the binary wheels of a requirements file, fetched HERE for a server's Python and CPU.

Class servers may have no internet, so this machine (the instructor's or a team member's) downloads
the wheels with pip and ships the directory to the server (rsync); the server then builds virtualenvs
with `pip install --no-index --find-links <wheelhouse>`.

A wheelhouse is cached under `cache_dir/<key>` where the key covers the requirements' content, the
Python version and the architecture: a second call with the same inputs returns at once, offline.

pip evaluates environment markers (`tomli; python_version < "3.11"`) against the Python running pip,
not the server's, even with --python-version. So hacknode evaluates them itself for the server: it
downloads what the server needs, reads each wheel's Requires-Dist, and downloads what is still missing
until nothing is.
"""
import email.parser
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from deploy.core.errors import DeployError

# Written last: a wheelhouse without it was interrupted and is fetched again. "-2": wheelhouses made
# before markers were evaluated for the server may lack wheels (tomli on Python 3.10), so they are redone.
COMPLETE = ".complete-2"
# Platform tags a manylinux wheel may carry to run on a current glibc server (newest first).
MANYLINUX_TAGS = ("manylinux_2_28_{arch}", "manylinux2014_{arch}", "manylinux_2_17_{arch}")


class WheelhouseError(DeployError):
    """pip could not fetch the wheels; the message has pip's own explanation."""


def requirements_hash(requirements_file):
    """First 12 hex digits of the sha256 of the requirements file: names virtualenvs and wheelhouses."""
    return hashlib.sha256(Path(requirements_file).read_bytes()).hexdigest()[:12]


def wheelhouse_key(requirements_file, python_version, arch):
    """The cache directory name, e.g. '3f2a9c0d1e4b-py3.11-x86_64'."""
    if not re.fullmatch(r"3\.\d{1,2}", python_version):
        raise WheelhouseError(f"python version {python_version!r}: expected like '3.11'")
    if not re.fullmatch(r"[a-z0-9_]+", arch):
        raise WheelhouseError(f"architecture {arch!r}: expected like 'x86_64' or 'aarch64'")
    return f"{requirements_hash(requirements_file)}-py{python_version}-{arch}"


def target_environment(python_version, arch):
    """The marker environment of a Linux server running CPython `python_version` ('3.10') on `arch`."""
    # The patch level is not known here; markers rarely test it.
    full_version = f"{python_version}.0"
    return {"python_version": python_version, "python_full_version": full_version,
            "implementation_version": full_version, "platform_machine": arch, "sys_platform": "linux",
            "os_name": "posix", "platform_system": "Linux", "implementation_name": "cpython",
            "platform_python_implementation": "CPython", "extra": ""}


def wanted(requirement, environment, extras=()):
    """Whether the server described by `environment` needs `requirement` (a packaging Requirement)
    when its dependant was installed with `extras`."""
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({**environment, "extra": extra}) for extra in ("", *extras))


def read_requirements(requirements_file):
    """The requirements of a requirements file (one PEP 508 requirement a line, # comments)."""
    found = []
    for number, line in enumerate(Path(requirements_file).read_text().splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*", "", line).strip()   # pip's comment rule: '#' at the start or after a space
        if not line:
            continue
        try:
            found.append(Requirement(line))
        except InvalidRequirement as error:
            raise WheelhouseError(f"{requirements_file} line {number}: {line!r} is not a requirement like "
                                  f"'Flask==3.1.3' ({error})") from None
    return found


def wheel_requirements(wheel):
    """The Requires-Dist requirements in a wheel's METADATA."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n))
        metadata = email.parser.Parser().parsestr(archive.read(name).decode())
    return [Requirement(text) for text in metadata.get_all("Requires-Dist") or []]


def missing_requirements(wheelhouse, requirements, environment):
    """The requirements the server needs that no wheel in `wheelhouse` satisfies: `requirements`, then
    the dependencies of the wheels chosen for them, with markers evaluated for `environment`."""
    available = {}   # canonical name -> [(version, wheel path)]
    for wheel in Path(wheelhouse).glob("*.whl"):
        name, version, _, _ = parse_wheel_filename(wheel.name)
        available.setdefault(name, []).append((version, wheel))
    missing, seen = [], set()
    queue = [r for r in requirements if wanted(r, environment)]
    while queue:
        requirement = queue.pop(0)
        if str(requirement) in seen:
            continue
        seen.add(str(requirement))
        fitting = [(v, w) for v, w in available.get(canonicalize_name(requirement.name), [])
                   if requirement.specifier.contains(v, prereleases=True)]
        if not fitting:
            missing.append(requirement)
            continue
        _, wheel = max(fitting)   # the one pip install would pick
        queue += [r for r in wheel_requirements(wheel) if wanted(r, environment, requirement.extras)]
    return missing


def without_marker(requirement):
    """The requirement as pip should get it: pip would evaluate a marker for the wrong Python."""
    copy = Requirement(str(requirement))
    copy.marker = None
    return str(copy)


def pip_download_command(requirements, python_version, arch, dest, pip=(sys.executable, "-m", "pip")):
    """The pip command that downloads binary wheels only, for CPython `python_version` on manylinux `arch`,
    of `requirements` (strings like 'Flask==3.1.3') and their dependencies."""
    platforms = []
    for tag in MANYLINUX_TAGS:
        platforms += ["--platform", tag.format(arch=arch)]
    return [*pip, "download", "--quiet", "--disable-pip-version-check", "--only-binary=:all:",
            "--python-version", python_version, *platforms, "--implementation", "cp",
            "-d", str(dest), *requirements]


def build_wheelhouse(requirements_file, python_version, arch, cache_dir=".cache/wheels"):
    """Return a local directory holding every wheel `requirements_file` needs on a server running CPython
    `python_version` ('3.11') on `arch` ('x86_64'); downloads them the first time, then reuses the cache."""
    if not Path(requirements_file).is_file():
        raise WheelhouseError(f"{requirements_file}: no such requirements file")
    target = Path(cache_dir) / wheelhouse_key(requirements_file, python_version, arch)
    if (target / COMPLETE).is_file():
        return str(target)
    requirements = read_requirements(requirements_file)
    environment = target_environment(python_version, arch)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Download into a temporary sibling, rename when complete: a concurrent or interrupted run never
    # leaves a half-filled wheelhouse under the final name.
    partial = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        asked = []   # each round's requirements, in order: what the complete marker records
        # The first round fetches the requirements that apply to the server, later rounds what their
        # wheels need there but pip skipped (it judged their markers by this machine's Python).
        while missing := [without_marker(r) for r in missing_requirements(partial, requirements, environment)]:
            if set(missing) <= set(asked):   # pip downloaded them but no wheel fits: stop, don't loop
                raise WheelhouseError(f"pip download for {requirements_file} (Python {python_version}, {arch}) "
                                      f"gave no wheel for {', '.join(missing)}")
            asked += missing
            command = pip_download_command(missing, python_version, arch, partial)
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise WheelhouseError(f"pip download for {requirements_file} (Python {python_version}, {arch}) "
                                      f"failed:\n{(done.stdout + done.stderr).strip()}")
        (partial / COMPLETE).write_text("\n".join(asked) + "\n")
        os.chmod(partial, 0o755)   # mkdtemp makes 0700; provisioning ships this readable by all
        with open(target.parent / f".{target.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)     # one run puts a wheelhouse in place; another may be using it
            if not (target / COMPLETE).is_file():
                shutil.rmtree(target, ignore_errors=True)   # an interrupted earlier attempt
                partial.rename(target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return str(target)


def wheel_files(wheelhouse):
    """The wheel file names in a wheelhouse, sorted."""
    return sorted(p.name for p in Path(wheelhouse).glob("*.whl"))
