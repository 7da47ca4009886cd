"""Local work: `./inv -l` lists the tasks. Each is thin; the work is in deploy/ and app/."""
import sys

from invoke import task


@task(help={"k": "only tests matching this pytest -k expression", "fast": "skip the end-to-end tests on isolated hosts"})
def test(c, k="", fast=False):
    """Run the whole test suite (installs the system packages it needs first)."""
    args = ["-q"]
    if k:
        args += ["-k", k]
    if fast:
        args += ["-m", "not e2e"]
    c.run(f"{sys.executable} -m pytest " + " ".join(f"'{a}'" for a in args), pty=False)
