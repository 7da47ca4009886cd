"""End-to-end fixtures: isolated class servers on this machine (lab/testhost.py). Needs root.

Test hosts are named hn-t<suffix> and use indexes 100..199 (addresses 10.131.1xx.2), so the tests can run
while `./inv demo`'s class (index 1) and the benches (94..99) are up. Developers sharing a machine can run
selected e2e tests beside the main session with HACKNODE_E2E_SLOT=1..8: hosts hn-s<slot>-<suffix>, indexes
200+10*(slot-1)..+9 (slots 6..8: 50+10*(slot-6)..+9), a lock of their own (tests that use fixed hosts, such as
the demo's, still need the main session). Under pytest-xdist (-n 2 --dist loadfile, as ./inv test runs it) the
main session is two: gw0 has hn-t*, indexes 100..149, gw1 hn-u*, 150..199, each with its own lock."""
import fcntl
import os
import shlex
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from lab import localhost, testhost
from deploy.inventory import load_inventory
from deploy.provision.run import provision_class

FIRST_INDEX, HALF_INDEX, LAST_INDEX = 100, 149, 199
IDLE_SECONDS = 4     # provisioned_class's hacknode1
PAGE_SECONDS = 10    # every test class's server rewrites its class page this often (a test sees it change)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every test in this folder is end-to-end, marked or not: `./inv test --fast` (-m "not e2e") never starts a host."""
    for item in items:
        if Path(__file__).parent in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)


def host_slot(environ):
    """(name prefix, first index, last index, lock file name) of this session's test hosts."""
    slot = environ.get("HACKNODE_E2E_SLOT", "")
    worker = environ.get("PYTEST_XDIST_WORKER", "")     # ./inv test runs two sessions side by side: gw0, gw1
    if worker and slot:
        pytest.fail("HACKNODE_E2E_SLOT runs one session: run pytest without -n", pytrace=False)
    if worker not in ("", "gw0", "gw1"):
        pytest.fail(f"{worker}: the end-to-end tests run in at most two sessions (-n 2)", pytrace=False)
    if worker == "gw1":
        return "hn-u", HALF_INDEX + 1, LAST_INDEX, "e2e-gw1.lock"
    if worker == "gw0":
        return "hn-t", FIRST_INDEX, HALF_INDEX, "e2e.lock"
    if not slot:
        return "hn-t", FIRST_INDEX, LAST_INDEX, "e2e.lock"
    if slot not in {"1", "2", "3", "4", "5", "6", "7", "8"}:
        pytest.fail(f"HACKNODE_E2E_SLOT={slot!r}: say 1 to 8", pytrace=False)
    first = 200 + 10 * (int(slot) - 1) if int(slot) <= 5 else 50 + 10 * (int(slot) - 6)   # 50..79: free of the lab's
    return f"hn-s{slot}-", first, first + 9, f"e2e-slot{slot}.lock"


@pytest.fixture(scope="session")
def host_factory():
    """make(suffix, boot=False, server_os="debian12") -> Host: starts host hn-t<suffix> (once per session; the same
    suffix gives the same host); with boot, a host that boots systemd as a real server does; with server_os="debian13",
    one on the Debian 13 root (made once per machine) instead of this machine's Debian 12 (lab/testhost.py).
    Stale hn-t* hosts of a killed run are stopped first; every host made is stopped at the end of the session."""
    try:
        localhost.require_root("the end-to-end tests start isolated hosts (or run: ./inv test --fast)")
        localhost.ensure_packages(localhost.HOST_PACKAGES)
    except localhost.LocalError as e:
        pytest.fail(str(e), pytrace=False)
    # hn-t* hosts left by a killed run are stopped, so two sessions at once would stop each other's hosts:
    # a second session is refused instead, while the first holds this lock
    prefix, first_index, last_index, lock_name = host_slot(os.environ)
    Path(testhost.STATE_DIR).parent.mkdir(parents=True, exist_ok=True)
    lock = open(Path(testhost.STATE_DIR).parent / lock_name, "a+")
    wait_until = time.monotonic() + float(os.environ.get("HACKNODE_E2E_WAIT", "0"))   # seconds to wait for it
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= wait_until:
                pytest.fail("another end-to-end test session is running on this machine; run one at a time "
                            "(or set HACKNODE_E2E_WAIT=SECONDS to wait for it)", pytrace=False)
            time.sleep(2)
    testhost.stop_all(prefix)
    made = {}   # name -> index

    def make(suffix, boot=False, server_os="debian12"):
        name = f"{prefix}{suffix}"
        if name not in made:
            if first_index + len(made) > last_index:
                raise testhost.HostError(f"more than {last_index - first_index + 1} test hosts in one session")
            made[name] = first_index + len(made)
        # returns the running host as it is, or starts it
        return testhost.start_host(name, made[name], boot=boot, server_os=server_os)

    yield make
    for name in made:
        testhost.stop_host(name)
    lock.close()


# ---------- a provisioned class ----------

class ClassUnderTest:
    """A class provisioned on test hosts: its inventory file, hosts and teams' keys, and ways to reach it."""

    def __init__(self, directory, hosts, teams, admin_users=None, team_lines=None, class_lines=(), routing=None,
                 mongodb="{mode: secantus}"):
        self.directory, self.hosts, self.teams = Path(directory), hosts, teams   # teams: {team: server name}
        self.routing = routing                         # class.routing: None (the default, subdomain) or "path"
        self.mongodb = mongodb                         # the inventory's mongodb: section, as one line
        self.class_lines = list(class_lines)           # top-level inventory lines after mongodb (e.g. tls:)
        self.admin_users = admin_users or {}                                       # {server: admin_user}
        self.team_lines = team_lines or {}             # {team: [inventory lines of its settings]}, kept always
        self.key = {team: str(self.directory / "keys" / team) for team in teams}
        (self.directory / "keys").mkdir(exist_ok=True)
        for team, key in self.key.items():
            if not os.path.exists(key):
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", team, "-f", key], check=True)
        self.path = self.write_inventory(teams)
        self.inventory = load_inventory(self.path)
        # an instructor has one key for the class: the first host's root key logs into the others too
        self.root_key = next(iter(hosts.values())).root_key
        share_root_key(list(hosts.values()))

    def write_inventory(self, teams, name="inventory.yml", extra_team_lines=None):
        """An inventory of these hosts with `teams` ({team: server}), in the class's directory."""
        routing = f", routing: {self.routing}" if self.routing else ""
        lines = [f"class: {{name: e2e, domain: hacknode.test, page_seconds: {PAGE_SECONDS}{routing}}}",
                 f"mongodb: {self.mongodb}",
                 *self.class_lines, "servers:"]
        lines += [f"  - {{name: {server}, address: {host.address}, admin_user: {self.admin_users.get(server, 'root')}}}"
                  for server, host in self.hosts.items()]
        lines.append("teams:")
        for team, server in teams.items():
            lines += [f"  - name: {team}", f"    server: {server}", f"    keys: [keys/{team}.pub]"]
            lines += [f"    {line}" for line in self.team_lines.get(team, []) + (extra_team_lines or {}).get(team, [])]
        path = self.directory / name
        path.write_text("\n".join(lines) + "\n")
        return str(path)

    def host_of(self, team):
        return self.hosts[self.teams[team]]

    def provision(self, inventory=None, dry=False, prune=False):
        """Provision (as the instructor would) and return (printed lines, {server: steps})."""
        lines = []
        steps = provision_class(inventory or self.inventory, self.root_key, dry=dry, say=lines.append, prune=prune)
        return lines, steps

    def http(self, team, path="/", by="subdomain", data=None, headers=None):
        """(status, body) of a request through nginx on the team's server: by subdomain (Host header),
        by path (/<team>/...: a class made with routing="path"), or by="server" for the server's own pages (the class
        index); (None, reason) when nothing answers."""
        host = self.host_of(team)
        url = f"http://{host.address}" + (f"/{team}{path}" if by == "path" else path)
        request = urllib.request.Request(url, data=data, headers=dict(headers or {}))
        if by == "subdomain":
            request.add_header("Host", f"{team}.hacknode.test")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except urllib.error.URLError as e:     # nothing answers: no status
            return None, str(e.reason)
        except OSError as e:                   # it took the connection but never answered (a read timeout)
            return None, str(e)

    def as_team(self, team):
        """A connection to the team's server as the team's UNIX user, with the team's key."""
        return self.host_of(team).connection(user=team, key=self.key[team])

    def as_root(self, team_or_server):
        host = self.hosts.get(team_or_server) or self.host_of(team_or_server)
        return host.connection()


def add_sudoer(host, user, public_key):
    """An instructor's account on `host`: `user` may run anything as root through sudo without a password,
    and logs in with `public_key`."""
    with host.connection() as c:
        c.run(f"useradd --create-home --shell /bin/bash {user} && install -d -o {user} -m 0700 /home/{user}/.ssh"
              f" && echo {shlex.quote(public_key.strip())} > /home/{user}/.ssh/authorized_keys"
              f" && chown {user} /home/{user}/.ssh/authorized_keys"
              f" && echo '{user} ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/{user} && chmod 0440 /etc/sudoers.d/{user}",
              hide=True)


def share_root_key(hosts):
    """Let the first host's root key log into the others too."""
    public = Path(hosts[0].root_key + ".pub").read_text()
    for host in hosts[1:]:
        with host.connection() as c:
            c.run(f"echo {shlex.quote(public.strip())} >> /root/.ssh/authorized_keys", hide=True)


@pytest.fixture(scope="session")
def make_sudoer():
    """make_sudoer(host, user, public_key): a passwordless sudoer to use as a server's admin_user."""
    return add_sudoer


@pytest.fixture(scope="session")
def make_class():
    """ClassUnderTest(directory, {server: Host}, {team: server}): a class on the given hosts."""
    return ClassUnderTest


@pytest.fixture(scope="session")
def provisioned_class(host_factory, tmp_path_factory):
    """Three teams on one freshly provisioned host (secantus mode); shared by the e2e tests, which must
    leave every team working (deployed, healthy) when they finish. hacknode1 stops its uwsgi workers after
    IDLE_SECONDS without a request (the others after the default 60 s), so a test sees it idle soon."""
    host = host_factory("class")
    made = ClassUnderTest(tmp_path_factory.mktemp("class"), {"main": host},
                          {"hacknode1": "main", "hacknode2": "main", "hacknode3": "main"},
                          team_lines={"hacknode1": [f"idle_seconds: {IDLE_SECONDS}"]})
    made.first_run_lines, made.first_run_steps = made.provision()
    return made


@pytest.fixture(scope="session")
def trixie_class(host_factory, tmp_path_factory):
    """Two teams on server main, a Debian 13 host that boots systemd, provisioned through a sudoer's account (as on
    a cloud image: Debian 13's sudo), and one on server old, a Debian 12 host (sshd alone): one class of both OSes,
    provisioned once (tests/e2e/test_trixie.py shares it: the core of what the Debian 12 tests check, on the other
    supported server OS). Its tests leave it healthy."""
    hosts = {"main": host_factory("trixie", boot=True, server_os="debian13"), "old": host_factory("bookworm")}
    add_sudoer(hosts["main"], "instructor", Path(hosts["main"].root_key + ".pub").read_text())
    made = ClassUnderTest(tmp_path_factory.mktemp("trixie"), hosts,
                          {"hacknode1": "main", "hacknode2": "main", "hacknode3": "old"},
                          admin_users={"main": "instructor"})
    made.first_run_lines, made.first_run_steps = made.provision()
    return made


@pytest.fixture(scope="session")
def tls_class(host_factory, tmp_path_factory):
    """One team (hacknode3) on a host of its own, provisioned with `tls: {mode: class-ca}`: HTTPS with a class CA
    made beside the inventory (tls_class.ca). Shared by the HTTPS and browser tests; they leave it healthy."""
    made = ClassUnderTest(tmp_path_factory.mktemp("tls"), {"main": host_factory("tls")}, {"hacknode3": "main"},
                          class_lines=["tls: {mode: class-ca}"])
    made.first_run_lines, made.first_run_steps = made.provision()
    made.ca = str(made.directory / ".hacknode" / "class-ca" / "ca.crt")
    return made
