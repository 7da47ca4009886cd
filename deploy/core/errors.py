"""The one family of errors a user sees as a single line (never a traceback): what failed and why.

fabfile.py and tasks.py catch DeployError and print it; everything else is a bug and shows its traceback.
"""


class DeployError(Exception):
    """A failure the user can act on; str() is the whole message."""


class ProvisionError(DeployError):
    """Provisioning cannot go on: a plan that would harm the server, or a step that failed on it."""


class RemoteError(DeployError):
    """A command on a server failed: the host, what it was doing and why (its reason or output's tail)."""
