"""Load inventory.yml into deploy.model objects, or refuse it with every problem at once.

Each problem names the file, the line and the field ("inventory.yml:12: teams[1].name: ...").
Nothing is rendered or sent anywhere until the whole file is valid.
"""
import difflib
import os
import re

from deploy.inventory.errors import InventoryError
from deploy.inventory.names import NAME_RE, NAME_RULE, RESERVED_NAMES, name_problem, team_name_problem  # noqa: F401 (re-exported)
from deploy.inventory.ssh_keys import keys_of_entry, public_key_problem  # noqa: F401 (re-exported)
from deploy.inventory.values import domain_problem, host_problem
from deploy.inventory.yaml_lines import LineDict, LineList, parse_yaml
from deploy.model import Inventory, MongoSettings, Server, Team

UNIX_USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MONGO_MODES = ("mongod", "secantus", "external")

TOP_KEYS = ("class", "mongodb", "defaults", "servers", "teams")
CLASS_KEYS = ("name", "domain")
MONGO_KEYS = ("mode", "port", "admin_uri_env", "hosts", "options")
SETTING_KEYS = ("processes", "threads")          # per-team uwsgi settings, defaults in `defaults`
SERVER_KEYS = ("name", "address", "ssh_port", "admin_user", "hostname")
TEAM_KEYS = ("name", "server", "keys") + SETTING_KEYS
SETTING_LIMITS = {"processes": (1, 32), "threads": (1, 64)}


# --- the walk over the document ---------------------------------------------------------

class _Checker:
    """Walks the parsed document, collecting problems as 'file:line: field: message'."""

    def __init__(self, path):
        self.path = path
        self.base_dir = os.path.dirname(os.path.abspath(path))
        self.problems = []
        self.server_names = []          # valid server names, even of servers with other problems
        self.server_names_known = True  # False when some server's name is itself wrong

    def problem(self, line, field, message):
        where = f"{self.path}:{line}" if line else self.path
        self.problems.append(f"{where}: {field}: {message}" if field else f"{where}: {message}")

    def mapping(self, value, line, field, known, required=()):
        """`value` as a LineDict with only `known` keys, or None after reporting why not."""
        if not isinstance(value, LineDict):
            self.problem(line, field, f"must be a mapping with keys {', '.join(known)}")
            return None
        for key, key_line in value.duplicates:
            self.problem(key_line, f"{field}.{key}" if field else str(key), "given twice")
        for key in value:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"
                self.problem(value.lines[key], f"{field}.{key}" if field else str(key),
                             f"unknown key{hint}")
        for key in required:
            if key not in value:
                self.problem(value.line, field or None, f"{key!r} is required")
        return value

    def sequence(self, value, line, field):
        if not isinstance(value, LineList):
            self.problem(line, field, "must be a list")
            return None
        return value

    def string(self, mapping, key, field, default=None):
        """The string at mapping[key] (stripped), `default` when absent, None if invalid."""
        if key not in mapping:
            return default
        value = mapping[key]
        if not isinstance(value, str) or not value.strip():
            self.problem(mapping.lines[key], field, f"must be a non-empty string, not {value!r}")
            return None
        return value.strip()

    def integer(self, mapping, key, field, default, low, high):
        if key not in mapping:
            return default
        value = mapping[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(mapping.lines[key], field, f"must be a whole number, not {value!r}")
            return None
        if not low <= value <= high:
            self.problem(mapping.lines[key], field, f"{value} is out of range {low}..{high}")
            return None
        return value

    def first_use(self, entry, field, name, seen, kind):
        """`name`, or None (with a problem) when an earlier entry has it; `seen` records where each was first."""
        if name is None:
            return None
        if name in seen:
            self.problem(entry.lines["name"], f"{field}.name",
                         f"duplicate {kind} name {name!r} (first at line {seen[name]})")
            return None
        seen[name] = entry.lines["name"]
        return name

    def name(self, mapping, key, field):
        value = self.string(mapping, key, field)
        why = name_problem(value) if value is not None else ""
        if why:
            self.problem(mapping.lines[key], field, why)
            return None
        return value

    # sections

    def check_class(self, doc):
        if "class" not in doc:      # reported as required already
            return None, None
        section = self.mapping(doc.get("class"), doc.lines.get("class", doc.line), "class",
                               CLASS_KEYS, required=CLASS_KEYS)
        if section is None:
            return None, None
        name = self.name(section, "name", "class.name")
        domain = self.string(section, "domain", "class.domain")
        if domain is not None:
            why = domain_problem(domain)
            if why:
                self.problem(section.lines["domain"], "class.domain", why)
                domain = None
        return name, domain

    def check_mongodb(self, doc):
        if "mongodb" not in doc:
            return MongoSettings(mode="secantus")
        section = self.mapping(doc["mongodb"], doc.lines["mongodb"], "mongodb", MONGO_KEYS,
                               required=("mode",))
        if section is None:
            return None
        mode = self.string(section, "mode", "mongodb.mode")
        if mode is not None and mode not in MONGO_MODES:
            self.problem(section.lines["mode"], "mongodb.mode",
                         f"{mode!r} is not one of {', '.join(MONGO_MODES)}")
            mode = None
        port = self.integer(section, "port", "mongodb.port", 27017, 1, 65535)
        admin_uri_env = self.string(section, "admin_uri_env", "mongodb.admin_uri_env", "")
        hosts = self.string(section, "hosts", "mongodb.hosts", "")
        options = self.string(section, "options", "mongodb.options", "")
        if mode == "external":
            for key in ("admin_uri_env", "hosts"):
                if key not in section:
                    self.problem(section.line, "mongodb", f"{key!r} is required in mode external")
            if "port" in section:
                self.problem(section.lines["port"], "mongodb.port",
                             "only for modes mongod and secantus; in mode external put ports in hosts")
            if admin_uri_env and not ENV_NAME_RE.match(admin_uri_env):
                self.problem(section.lines["admin_uri_env"], "mongodb.admin_uri_env",
                             f"{admin_uri_env!r} is not an environment variable name "
                             "(give the variable's NAME, never the URI itself)")
            if hosts:
                for host in hosts.split(","):
                    self.check_mongo_host(host.strip(), section.lines["hosts"])
            if options and not re.match(r"^[A-Za-z0-9_.-]+=[^&=\s]+(&[A-Za-z0-9_.-]+=[^&=\s]+)*$", options):
                self.problem(section.lines["options"], "mongodb.options",
                             f"{options!r} must look like 'replicaSet=rs0&tls=true'")
        elif mode is not None:
            for key in ("admin_uri_env", "hosts", "options"):
                if key in section:
                    self.problem(section.lines[key], f"mongodb.{key}", "only for mode external")
        if None in (mode, port, admin_uri_env, hosts, options):
            return None
        return MongoSettings(mode=mode, port=port, admin_uri_env=admin_uri_env, hosts=hosts, options=options)

    def check_mongo_host(self, host, line):
        name, _, port = host.rpartition(":") if ":" in host and not host.endswith("]") else (host, "", "")
        why = host_problem(name.strip("[]")) if name else "empty host"
        if not why and port and (not port.isdigit() or not 1 <= int(port) <= 65535):
            why = f"port {port!r} is out of range 1..65535"
        if why:
            self.problem(line, "mongodb.hosts", f"{host!r}: {why}")

    def check_defaults(self, doc):
        settings = {"processes": Team.processes, "threads": Team.threads}
        if "defaults" not in doc:
            return settings
        section = self.mapping(doc["defaults"], doc.lines["defaults"], "defaults", SETTING_KEYS)
        if section is None:
            return settings
        for key in SETTING_KEYS:
            low, high = SETTING_LIMITS[key]
            value = self.integer(section, key, f"defaults.{key}", settings[key], low, high)
            settings[key] = value if value is not None else settings[key]
        return settings

    def check_servers(self, doc):
        servers = None
        if "servers" in doc:
            servers = self.sequence(doc["servers"], doc.lines["servers"], "servers")
        if servers is None:
            self.server_names_known = False
            return None
        if not servers:
            self.problem(servers.line, "servers", "at least one server is needed")
        result, seen_names, seen_addresses = [], {}, {}
        for index, (item, line) in enumerate(zip(servers, servers.lines)):
            field = f"servers[{index}]"
            entry = self.mapping(item, line, field, SERVER_KEYS, required=("name", "address"))
            if entry is None:
                self.server_names_known = False
                result.append(None)
                continue
            name = self.name(entry, "name", f"{field}.name")
            if name is None:
                self.server_names_known = False
            name = self.first_use(entry, field, name, seen_names, "server")
            if name is not None:
                self.server_names.append(name)
            address = self.string(entry, "address", f"{field}.address")
            if address is not None and host_problem(address):
                self.problem(entry.lines["address"], f"{field}.address", host_problem(address))
                address = None
            ssh_port = self.integer(entry, "ssh_port", f"{field}.ssh_port", 22, 1, 65535)
            if address is not None and ssh_port is not None:
                if (address, ssh_port) in seen_addresses:
                    self.problem(entry.lines["address"], f"{field}.address",
                                 f"{address}:{ssh_port} is already server {seen_addresses[address, ssh_port]!r}")
                seen_addresses[address, ssh_port] = name
            admin_user = self.string(entry, "admin_user", f"{field}.admin_user", "root")
            if admin_user is not None and not UNIX_USER_RE.match(admin_user):
                self.problem(entry.lines["admin_user"], f"{field}.admin_user",
                             f"{admin_user!r} is not a UNIX user name")
                admin_user = None
            hostname = self.string(entry, "hostname", f"{field}.hostname", "")
            if hostname and host_problem(hostname):
                self.problem(entry.lines["hostname"], f"{field}.hostname", host_problem(hostname))
                hostname = None
            if None in (name, address, ssh_port, admin_user, hostname):
                result.append(None)
                continue
            result.append(Server(name=name, address=address, ssh_port=ssh_port,
                                 admin_user=admin_user, hostname=hostname or address))
        return result

    def check_keys(self, entry, field):
        """The team's SSH public keys (keys given and keys read from files), or None after reporting why not."""
        keys = self.sequence(entry.get("keys"), entry.lines.get("keys", entry.line), f"{field}.keys")
        if keys is None:
            return None
        if not keys:
            self.problem(keys.line, f"{field}.keys", "at least one SSH public key is needed")
            return None
        base_dir = os.path.dirname(os.path.abspath(self.path))   # key files are relative to the inventory
        result, ok = [], True
        for index, (item, line) in enumerate(zip(keys, keys.lines)):
            found, why = keys_of_entry(item, base_dir)
            if why:
                self.problem(line, f"{field}.keys[{index}]", why)
                ok = False
            else:
                result.extend(found)
        return tuple(result) if ok else None

    def check_teams(self, doc, servers, defaults):
        if "teams" not in doc:
            return None
        teams = self.sequence(doc.get("teams"), doc.lines.get("teams", doc.line), "teams")
        if teams is None:
            return None
        if not teams:
            self.problem(teams.line, "teams", "at least one team is needed")
        known_servers = self.server_names
        admin_users = {s.admin_user for s in servers or () if s is not None}
        only_server = known_servers[0] if servers is not None and len(servers) == 1 and known_servers else None
        result, seen = [], {}
        for index, (item, line) in enumerate(zip(teams, teams.lines)):
            field = f"teams[{index}]"
            entry = self.mapping(item, line, field, TEAM_KEYS, required=("name", "keys"))
            if entry is None:
                result.append(None)
                continue
            name = self.string(entry, "name", f"{field}.name")
            why = team_name_problem(name, taken=admin_users) if name is not None else ""
            if why:
                self.problem(entry.lines["name"], f"{field}.name", why)
                name = None
            name = self.first_use(entry, field, name, seen, "team")
            server = self.string(entry, "server", f"{field}.server", only_server)
            if "server" not in entry and only_server is None and servers is not None and len(servers) > 1:
                self.problem(entry.line, field, "'server' is required when the class has several servers")
                server = None
            elif server is not None and self.server_names_known and server not in known_servers:
                self.problem(entry.lines.get("server", entry.line), f"{field}.server",
                             f"unknown server {server!r} (servers: {', '.join(known_servers)})")
                server = None
            keys = self.check_keys(entry, field) if "keys" in entry else None
            settings = {}
            for key in SETTING_KEYS:
                low, high = SETTING_LIMITS[key]
                settings[key] = self.integer(entry, key, f"{field}.{key}", defaults[key], low, high)
            if None in (name, server, keys) or None in settings.values():
                result.append(None)
                continue
            result.append(Team(name=name, server=server, keys=keys, **settings))
        return result


def load_inventory(path):
    """The class described by the YAML file at `path`, as a deploy.model.Inventory.

    Raises InventoryError listing every problem (file:line: field: message) when the file
    is missing, is not valid YAML, or describes an invalid class."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise InventoryError(path, [f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise InventoryError(path, [f"{path}: cannot be read: {getattr(error, 'strerror', None) or error}"]) from None
    doc = parse_yaml(text, path)
    checker = _Checker(path)
    if doc is None:
        raise InventoryError(path, [f"{path}: the file is empty; it must describe class, servers and teams"])
    if checker.mapping(doc, 1, "", TOP_KEYS, required=("class", "servers", "teams")) is None:
        raise InventoryError(path, checker.problems)
    class_name, domain = checker.check_class(doc)
    mongodb = checker.check_mongodb(doc)
    defaults = checker.check_defaults(doc)
    servers = checker.check_servers(doc)
    teams = checker.check_teams(doc, servers, defaults)
    if checker.problems:
        raise InventoryError(path, checker.problems)
    return Inventory(name=class_name, domain=domain, mongodb=mongodb, servers=tuple(servers),
                     teams=tuple(teams), path=path)
