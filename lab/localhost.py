"""This machine (the instructor's or CI's), as opposed to the class servers: root check and Debian packages."""
import os
import subprocess

# What the isolated test hosts (lab/testhost.py) need, installed on THIS machine. A test host is an
# overlay whose lower layer is this machine's root filesystem and it has no registry access, so every
# program a class server runs must already be installed here; the hosts then see it through the overlay.
HOST_PACKAGES = [
    "systemd-container",  # systemd-nspawn: runs each host (used here, on this machine)
    "iproute2",           # ip netns / veth: each host's network (here); nginx's init script uses it too
    "openssh-server",     # sshd inside each host: how Fabric reaches it
    "openssh-client",     # ssh-keygen: the hosts' root key and host keys
    "sudo",               # provisioning through an admin_user who is not root, inside hosts
    "nginx",              # the class's web server inside hosts
    "supervisor",         # runs each team's uwsgi inside hosts
    "rsync",              # deploy ships releases with rsync over SSH (both ends)
    "git",                # `git push` deploys: the team's bare repository inside hosts
    "python3-venv",       # teams' virtualenvs inside hosts
    "curl",               # checks from inside a host (curl http://127.0.0.1/...)
    "wrk",                # load on a host's own address (here): ./inv bench, e2e tests under load (lab/load.py)
    "openssl",            # openssl s_client: the e2e test that TLS 1.0 and 1.1 are refused (here)
    "certbot",            # tls mode acme: certificates inside hosts (provisioning installs it on a real server)
    "cron",               # crontab and at inside hosts: the e2e tests show a team's jobs refused (cron.deny, at.deny)
    "at",                 # (provisioning needs neither; the daemons never start here: see ensure_packages)
    "debootstrap",        # the Debian 13 root of the debian13 hosts, made once (here): lab/serverroots.py
]

# The ACME CA the acme-mode test runs here for its host (lab/acme_ca.py): pebble and a name server for the
# class's domain (dnsmasq-base: the program alone, no service of this machine's).
ACME_CA_PACKAGES = ["pebble", "dnsmasq-base"]

# What the unit tests run here (`./inv test --fast` too): shellcheck on deploy/remote's programs
# (tests/test_shell_contract.py).
CHECK_PACKAGES = ["shellcheck"]

# What the browser test (tests/e2e/test_browser.py) drives: Debian's Chromium through Playwright's Python
# package (executable_path=/usr/bin/chromium); never a browser download. certutil (libnss3-tools) puts the class CA
# into the browser's own certificate database, as a learner trusting it would.
BROWSER_PACKAGES = ["chromium", "chromium-driver", "libnss3-tools"]


class LocalError(Exception):
    """A problem with this machine the user can fix (not root, a package that will not install)."""


def require_root(why="this needs root"):
    if os.geteuid() != 0:
        raise LocalError(f"must run as root: {why} (try: sudo ./inv ...)")


def missing_packages(names):
    """The names among `names` that dpkg does not report as installed."""
    missing = []
    for name in names:
        query = subprocess.run(["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True)
        if query.returncode != 0 or not query.stdout.endswith(" installed"):
            missing.append(name)
    return missing


POLICY_RC_D = "/usr/sbin/policy-rc.d"
# Debian's convention: maintainer scripts ask policy-rc.d before starting a service; 101 = "not allowed".
# Installing nginx/openssh-server/supervisor must not start them on this machine: they only run inside hosts.
NO_SERVICES = "#!/bin/sh\n# written by hacknode during apt-get install: do not start services on this machine\nexit 101\n"


def ensure_packages(names):
    """Install the missing Debian packages among `names` on this machine; return the list installed."""
    missing = missing_packages(names)
    if not missing:
        return []
    require_root("installing Debian packages " + " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    wrote_policy = not os.path.exists(POLICY_RC_D)
    if wrote_policy:
        with open(POLICY_RC_D, "w") as f:
            f.write(NO_SERVICES)
        os.chmod(POLICY_RC_D, 0o755)
    try:
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
                raise LocalError(f"{' '.join(command[:2])} failed for {' '.join(missing)}:\n{tail}")
    finally:
        if wrote_policy:
            os.remove(POLICY_RC_D)
    return missing
