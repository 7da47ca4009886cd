"""Wheelhouses: the binary wheels of a requirements file, fetched HERE for a server's Python and CPU.

Class servers may have no internet, so this machine (the instructor's or a team member's) downloads
the wheels with pip and ships the directory to the server (rsync); the server then builds virtualenvs
with `pip install --no-index --find-links <wheelhouse>`.

A wheelhouse is cached under `cache_dir/<key>` where the key covers the requirements' content, the
Python version and the architecture: a second call with the same inputs returns at once, offline.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

COMPLETE = ".complete"   # written last: a wheelhouse without it was interrupted and is fetched again
# Platform tags a manylinux wheel may carry to run on a current glibc server (newest first).
MANYLINUX_TAGS = ("manylinux_2_28_{arch}", "manylinux2014_{arch}", "manylinux_2_17_{arch}")


class WheelhouseError(Exception):
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


def pip_download_command(requirements_file, python_version, arch, dest, pip=(sys.executable, "-m", "pip")):
    """The pip command that downloads binary wheels only, for CPython `python_version` on manylinux `arch`."""
    platforms = []
    for tag in MANYLINUX_TAGS:
        platforms += ["--platform", tag.format(arch=arch)]
    return [*pip, "download", "--quiet", "--disable-pip-version-check", "--only-binary=:all:",
            "--python-version", python_version, *platforms, "--implementation", "cp",
            "-d", str(dest), "-r", str(requirements_file)]


def build_wheelhouse(requirements_file, python_version, arch, cache_dir=".cache/wheels"):
    """Return a local directory holding every wheel `requirements_file` needs on a server running CPython
    `python_version` ('3.11') on `arch` ('x86_64'); downloads them the first time, then reuses the cache."""
    if not Path(requirements_file).is_file():
        raise WheelhouseError(f"{requirements_file}: no such requirements file")
    target = Path(cache_dir) / wheelhouse_key(requirements_file, python_version, arch)
    if (target / COMPLETE).is_file():
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Download into a temporary sibling, rename when complete: a concurrent or interrupted run never
    # leaves a half-filled wheelhouse under the final name.
    partial = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        command = pip_download_command(requirements_file, python_version, arch, partial)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise WheelhouseError(f"pip download for {requirements_file} (Python {python_version}, {arch}) "
                                  f"failed:\n{(done.stdout + done.stderr).strip()}")
        (partial / COMPLETE).write_text(" ".join(command[3:]) + "\n")
        os.chmod(partial, 0o755)   # mkdtemp makes 0700; provisioning ships this readable by all
        shutil.rmtree(target, ignore_errors=True)   # an interrupted earlier attempt
        try:
            partial.rename(target)
        except OSError:            # another process finished the same wheelhouse first
            if not (target / COMPLETE).is_file():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return str(target)


def wheel_files(wheelhouse):
    """The wheel file names in a wheelhouse, sorted."""
    return sorted(p.name for p in Path(wheelhouse).glob("*.whl"))
