# managed by hacknode: what `supervisorctl update [GROUP...]` does, through supervisord's socket with the standard
# library only (supervisorctl, a Python program with many imports, took a third of a second to start, and provisioning
# runs it on every change). supervisord reads its configs again; the program groups added, changed or removed
# (those named, when names are given; all but those named after --except: teams restarted one by one later) follow.
# A config supervisord cannot read changes nothing: its reason ("CANT_REREAD: ...") is printed and the exit status is
# 1. A group it could not apply, or no supervisord: the reason, exit status 2. Runs as root (shipped in each provisioning bundle).
import http.client
import os
import socket
import sys
import xmlrpc.client

SOCKET = os.environ.get("HN_SUPERVISOR_SOCKET", "/var/run/supervisor.sock")   # supervisord.conf's unix_http_server


class UnixConnection(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(SOCKET)


class UnixTransport(xmlrpc.client.Transport):
    def make_connection(self, host):
        return UnixConnection("localhost")


def update(supervisor, only=(), skip=()):
    """supervisorctl's update, group by group: a removed group is stopped and removed, a changed one stopped,
    removed and added again, a new one added (supervisord starts its programs that autostart). A group that cannot
    be stopped is left as it is, and said; the others go on. Returns the problems."""
    [[added, changed, removed]] = supervisor.reloadConfig()
    problems = []
    for name in removed + changed + added:
        if (only and name not in only) or name in skip:
            continue
        try:
            if name not in added:
                supervisor.stopProcessGroup(name)
                supervisor.removeProcessGroup(name)
            if name not in removed:
                supervisor.addProcessGroup(name)
        except xmlrpc.client.Fault as fault:
            problems.append(f"{name}: {fault.faultString}")
    return problems


def main(names):
    supervisor = xmlrpc.client.ServerProxy("http://localhost", transport=UnixTransport()).supervisor
    only, skip = (names, []) if names[:1] != ["--except"] else ([], names[1:])
    try:
        problems = update(supervisor, only, skip)
    except xmlrpc.client.Fault as fault:        # CANT_REREAD: nothing was changed
        print(fault.faultString, file=sys.stderr)
        return 1
    except (OSError, xmlrpc.client.Error, http.client.HTTPException) as error:
        print(f"supervisord does not answer on {SOCKET}: {error}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem, file=sys.stderr)
    return 2 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
