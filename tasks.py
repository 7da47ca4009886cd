"""Local work: `./inv -l` lists the tasks. Each is thin; the work is in deploy/ and app/."""
import sys

from invoke import Exit, task

from deploy import localhost


@task(help={"k": "only tests matching this pytest -k expression", "fast": "skip the end-to-end tests on isolated hosts"})
def test(c, k="", fast=False):
    """Run the whole test suite (installs the system packages it needs first)."""
    args = ["-q"]
    if k:
        args += ["-k", k]
    if fast:
        args += ["-m", "not e2e"]
    else:   # the end-to-end tests' hosts run this machine's programs (see deploy/localhost.HOST_PACKAGES)
        try:
            localhost.require_root("the end-to-end tests start isolated hosts (or run: ./inv test --fast)")
            installed = localhost.ensure_packages(localhost.HOST_PACKAGES)
        except localhost.LocalError as e:
            raise Exit(str(e), code=1)
        if installed:
            print("installed Debian packages:", " ".join(installed))
    c.run(f"{sys.executable} -m pytest " + " ".join(f"'{a}'" for a in args), pty=False)


@task(help={"stop": "stop this host, or every host whose name starts with it followed by '*' (e.g. 'hn-t*')"})
def hosts(c, stop=""):
    """List the isolated hosts running on this machine (demo class, tests); --stop stops some."""
    from deploy import testhost
    try:
        if stop:
            localhost.require_root("stopping hosts")
            stopped = testhost.stop_all(stop[:-1]) if stop.endswith("*") else (testhost.stop_host(stop) or [stop])
            print("stopped (nothing of them left):", " ".join(stopped) or "no host matched")
        for h in testhost.running_hosts():
            print(f"{h.name}\t{h.address}\tssh -i {h.root_key} root@{h.address}")
    except (localhost.LocalError, testhost.HostError) as e:
        raise Exit(f"hosts: {e}", code=1)
