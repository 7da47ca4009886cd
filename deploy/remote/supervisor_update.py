# managed by hacknode: what `supervisorctl update [GROUP...]` does, through supervisord's socket with the standard
# library only (supervisorctl, a Python program with many imports, took a third of a second to start, and provisioning
# runs it on every change). supervisord reads its configs again; the program groups added, changed or removed
# (those named, when names are given) follow. A config supervisord cannot read changes nothing: its reason
# ("CANT_REREAD: ...") is printed and the exit status is 1. Runs as root (shipped in each provisioning bundle).
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


def update(supervisor, only=()):
    """supervisorctl's update: groups removed are stopped and removed, changed ones stopped, removed and added
    again, new ones added (supervisord starts their programs that autostart)."""
    [[added, changed, removed]] = supervisor.reloadConfig()
    wanted = (lambda name: name in only) if only else (lambda name: True)
    for name in filter(wanted, removed + changed):
        supervisor.stopProcessGroup(name)
        supervisor.removeProcessGroup(name)
    for name in filter(wanted, changed + added):
        supervisor.addProcessGroup(name)


def main(names):
    supervisor = xmlrpc.client.ServerProxy("http://localhost", transport=UnixTransport()).supervisor
    try:
        update(supervisor, names)
    except xmlrpc.client.Fault as fault:
        print(fault.faultString, file=sys.stderr)
        return 1
    except OSError as error:
        print(f"supervisord does not answer on {SOCKET}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
