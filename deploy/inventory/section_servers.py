"""The `servers:` section: the machines the class runs on, and how the instructor reaches them.

Besides the Server objects, the teams section needs the server names that are known even
when a server has other problems, so a team's `server:` is checked against them too.
"""
import dataclasses
import re

from deploy.inventory.model import Server
from deploy.inventory.values import host_problem

SERVER_KEYS = ("name", "address", "ssh_port", "admin_user", "hostname")
UNIX_USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def unix_user_problem(user):
    return "" if UNIX_USER_RE.match(user) else f"{user!r} is not a UNIX user name"


@dataclasses.dataclass
class FoundServers:
    """What the servers section found, for the Inventory and for checking teams."""
    entries: list = None        # per entry a Server, or None when it has problems; None when no list
    first_lines: dict = dataclasses.field(default_factory=dict)   # valid name -> line of its first use
    addresses: dict = dataclasses.field(default_factory=dict)     # (address, ssh_port) -> name of its first server
    names_known: bool = True    # False when some server's name is missing or wrong: names() may lack it

    def names(self):
        """Valid server names in file order, even of servers with other problems."""
        return list(self.first_lines)

    def admin_users(self):
        return {s.admin_user for s in self.entries or () if s is not None}

    def several(self):
        return len(self.entries or ()) > 1

    def only_name(self):
        """The name of the class's one server, which teams need not give; None if not that."""
        names = self.names()
        return names[0] if self.entries is not None and len(self.entries) == 1 and names else None


def check_servers(check, doc):
    """The servers found, their entries None where a server has problems."""
    found = FoundServers()
    servers = check.sequence(doc["servers"], doc.lines["servers"], "servers") if "servers" in doc else None
    if servers is None:
        found.names_known = False
        return found
    if not servers:
        check.problem(servers.line, "servers", "at least one server is needed")
    found.entries = [check_server(check, found, item, line, f"servers[{index}]")
                     for index, (item, line) in enumerate(zip(servers, servers.lines))]
    return found


def check_server(check, found, item, line, field):
    """One entry of `servers` as a Server, or None after reporting its problems; notes its name in `found`."""
    entry = check.mapping(item, line, field, SERVER_KEYS, required=("name", "address"))
    if entry is None:
        found.names_known = False
        return None
    name = check.name(entry, "name", f"{field}.name")
    if name is None:
        found.names_known = False
    name = check.first_use(entry, field, name, found.first_lines, "server")
    address = check.string(entry, "address", f"{field}.address", why_not=host_problem)
    ssh_port = check.integer(entry, "ssh_port", f"{field}.ssh_port", 22, 1, 65535)
    if address is not None and ssh_port is not None:
        if (address, ssh_port) in found.addresses:
            check.problem(entry.lines["address"], f"{field}.address",
                          f"{address}:{ssh_port} is already server {found.addresses[address, ssh_port]!r}")
        found.addresses[address, ssh_port] = name
    admin_user = check.string(entry, "admin_user", f"{field}.admin_user", "root", why_not=unix_user_problem)
    hostname = check.string(entry, "hostname", f"{field}.hostname", "", why_not=host_problem)
    if None in (name, address, ssh_port, admin_user, hostname):
        return None
    return Server(name=name, address=address, ssh_port=ssh_port,
                  admin_user=admin_user, hostname=hostname or address)
