"""The one family of errors a user sees as a single line (never a traceback): what failed and why.

fabfile.py and tasks.py catch DeployError and print it; everything else is a bug and shows its traceback.
"""
from contextlib import contextmanager

import paramiko
from invoke import Exit


class DeployError(Exception):
    """A failure the user can act on; str() is the whole message."""


class ProvisionError(DeployError):
    """Provisioning cannot go on: a plan that would harm the server, or a step that failed on it."""


class RemoteError(DeployError):
    """A command on a server failed: the host, what it was doing and why (its reason or output's tail)."""


@contextmanager
def one_line_errors(where="a server"):
    """A task's failure (a failed step, an unreachable server, a missing setting) as one line and exit 1, not a
    traceback."""
    try:
        yield
    except DeployError as e:
        raise Exit(f"error: {e}", code=1)
    except (paramiko.SSHException, OSError) as e:
        raise Exit(f"error: cannot reach {where} over SSH: {e}", code=1)
