"""The one way anything runs on a server: a RemoteCommand (built by deploy/core/commands.py) over a Fabric connection.

Builders only build; this module only runs, as the connection's user or as root (through `sudo -n` when the
connection's user is not root), and turns a failure into one RemoteError whose message ends with the reason
the server gave (the last `HN-FAIL` line of a hacknode script) or the tail of its output.
"""
import io

from deploy.core.errors import RemoteError

TAIL_LINES = 15        # of a failed command's output, in its error message
FAIL_MARK = "HN-FAIL "  # hacknode's scripts say why they stop on a line starting with this (apply-lib.sh's hn_fail)


def tail(text, lines=TAIL_LINES):
    """The last `lines` non-blank lines of `text`, joined by newlines."""
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def failure_reason(result, shown):
    """Why a command failed, in words: its HN-FAIL reason, else its output's tail (unless already shown)."""
    reasons = [line[len(FAIL_MARK):] for line in result.stderr.splitlines() if line.startswith(FAIL_MARK)]
    if reasons:
        return reasons[-1]
    if shown:
        return f"exit {result.exited} (its output is above)"
    return f"exit {result.exited}: " + (tail(result.stderr) or tail(result.stdout) or "no output")


def command_line(c, command):
    """The shell line that runs `command` over `c`: with sudo when it needs root and `c` is not root."""
    line = command.line()
    return f"sudo -n {line}" if command.root and c.user != "root" else line


def run(c, command, stream=None, show=False, check=True, pty=False):
    """Run `command` on `c`'s host. `stream` receives stdout and stderr as they come (provisioning's step
    printer); `show` prints them on this terminal (team tasks). Raises RemoteError when it fails, unless
    `check` is False; returns invoke's Result."""
    result = c.run(command_line(c, command), hide=not (show or stream), warn=True, pty=pty,
                   in_stream=io.StringIO(command.stdin) if command.stdin else False,
                   out_stream=stream, err_stream=stream)
    if check and result.failed:
        where = f"{c.user}@{c.host}" if c.user != "root" else c.host
        raise RemoteError(f"{where}: {command.what} failed: {failure_reason(result, bool(show or stream))}")
    return result
