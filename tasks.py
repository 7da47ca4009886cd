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
