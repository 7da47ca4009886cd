"""The root filesystem a test host runs on (lab/hostparts.py lays the host's copy-on-write overlay over it).

- debian12: this machine's own / (Debian 12): the programs of lab/localhost.HOST_PACKAGES are the host's.
- debian13: a Debian 13 (trixie) root, made once per machine by `debootstrap --variant=minbase trixie` from
  Debian's mirror, then apt-get inside it installs the packages a class server needs (apt, not debootstrap's
  --include: debootstrap's resolver cannot satisfy a virtual package such as python3-cffi-backend-api-min, which
  certbot needs). Kept under /var/lib/hacknode/roots/trixie and used offline. Made under a lock (two test sessions
  at once make it once); a root left unfinished by a killed run is made again. debootstrap itself is a Debian
  package, installed here like the hosts' other packages.
"""
import fcntl
import shutil
import subprocess
import time
from pathlib import Path

from lab import hostparts, localhost
from lab.hostparts import HostError

SERVER_OSES = ("debian12", "debian13")
DEFAULT_OS = "debian12"
ROOTS_DIR = "/var/lib/hacknode/roots"
MIRROR = "http://deb.debian.org/debian"
SUITES = {"debian13": "trixie"}
COMPLETE = ".hacknode-root"   # written last, saying how it was made: without it, or made otherwise, it is made again

# Installed here for the hosts of this machine's own root, but only this machine runs them.
HERE_ONLY = ("systemd-container", "wrk", "debootstrap")
# What a minbase root lacks that a Debian server has and hacknode or a booted host uses: systemd as PID 1 (and
# logind, with its PAM module and D-Bus), pgrep/ps, the CA certificates.
BASE_PACKAGES = ["systemd", "systemd-sysv", "dbus", "libpam-systemd", "procps", "ca-certificates"]


class RootError(HostError):
    """A server root that cannot be made; the message says why and what to do."""


def root_packages():
    """The Debian packages installed into a server root: the class server's programs, as the Debian 12 hosts
    have them from this machine (lab/localhost.HOST_PACKAGES), and the base of a server."""
    return BASE_PACKAGES + [p for p in localhost.HOST_PACKAGES if p not in HERE_ONLY]


# The root's own apt, in a container sharing this machine's network; no service starts (policy-rc.d says 101).
# Without recommends, as provisioning installs a server's packages (deploy/provision/plan.plan_packages).
INSTALL = "apt-get update -qq && apt-get install -y -qq --no-install-recommends {packages} >/dev/null && apt-get clean"
NO_SERVICES = "#!/bin/sh\n# hacknode: no service starts while the server root is made\nexit 101\n"


def install_command(root, packages):
    return ["systemd-nspawn", "--quiet", f"--directory={root}", "--machine=hn-root-build", "--register=no",
            "--keep-unit", "--resolv-conf=copy-host", "--setenv=DEBIAN_FRONTEND=noninteractive",
            "/bin/sh", "-c", INSTALL.format(packages=" ".join(packages))]


def check_os(server_os):
    """`server_os`, or RootError naming the ones there are."""
    if server_os not in SERVER_OSES:
        raise RootError(f"server OS {server_os!r}: say one of {', '.join(SERVER_OSES)}")
    return server_os


def root_path(server_os, roots_dir=ROOTS_DIR):
    """Where the root of `server_os` is (made or not)."""
    return Path("/") if check_os(server_os) == DEFAULT_OS else Path(roots_dir) / SUITES[server_os]


def ensure_root(server_os, roots_dir=ROOTS_DIR, say=print):
    """The root of `server_os`, made first if this machine has none yet (minutes, once); `say` tells that it is."""
    root = root_path(server_os, roots_dir)
    if server_os == DEFAULT_OS or is_complete(root):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f"{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)     # another session may be making it: wait, then use it
        if not is_complete(root):
            _make_root(SUITES[server_os], root, say)
    return root


def made_as():
    return INSTALL.format(packages=" ".join(root_packages())) + "\n"


def is_complete(root):
    return (root / COMPLETE).is_file() and (root / COMPLETE).read_text() == made_as()


def _make_root(suite, root, say):
    localhost.ensure_packages(["debootstrap"])
    partial = root.with_name(root.name + ".partial")
    for old in (partial, root):    # a killed run's: unmounted first (debootstrap mounts /proc and /sys inside)
        _remove_tree(old)
    say(f"making the Debian {suite} server root {root} (once per machine): debootstrap from {MIRROR} ...")
    started = time.monotonic()
    _run(["debootstrap", "--variant=minbase", suite, str(partial), MIRROR], f"debootstrap {suite}", partial)
    policy = partial / "usr/sbin/policy-rc.d"
    policy.write_text(NO_SERVICES)
    policy.chmod(0o755)
    _run(install_command(partial, root_packages()), f"apt-get install in the {suite} root", partial)
    policy.unlink()
    (partial / COMPLETE).write_text(made_as())
    partial.rename(root)
    say(f"made the Debian {suite} server root in {time.monotonic() - started:.0f}s")


def _run(command, what, partial):
    done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        _remove_tree(partial)
        raise RootError(f"{what} failed (is {MIRROR} reachable from this machine?):\n{tail}")


def _remove_tree(path):
    if not path.exists():
        return
    left = hostparts.unmount(path)
    if left:
        raise RootError(f"{path}: still mounted, not removed: {' '.join(left)}")
    shutil.rmtree(path)
