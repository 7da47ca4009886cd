"""What a class is, as the inventory loader returns it: plain typed objects, no I/O.

The loader (deploy/inventory/) builds these from inventory.yml after validating it;
rendering, provisioning and the team tasks only ever read them.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class MongoSettings:
    mode: str                 # "mongod" | "secantus" | "external"
    port: int = 27017         # mongod / secantus listen on 127.0.0.1:port on each server
    admin_uri_env: str = ""   # external: name of the environment variable holding the admin URI
    hosts: str = ""           # external: host list put into each team's URI ("a:27017,b:27017")
    options: str = ""         # external: URI query options ("replicaSet=rs0&tls=true")


LETSENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory"


@dataclass(frozen=True)
class TlsSettings:
    """HTTPS for the class (the inventory's `tls:`); local paths are absolute (the inventory gives them relative)."""
    mode: str = "off"         # "off" | "acme" | "files" | "class-ca"
    hsts: int = 0             # Strict-Transport-Security max-age in seconds; 0: no HSTS header
    email: str = ""           # acme: the ACME account's email
    directory: str = LETSENCRYPT_DIRECTORY   # acme: the ACME directory URL
    ca_bundle: str = ""       # acme: a local PEM file trusted to talk to a private ACME CA (pebble in tests)
    certificate: str = ""     # files: the local certificate chain (PEM)
    key: str = ""             # files: its local private key (PEM)

    @property
    def on(self):
        return self.mode != "off"

    @property
    def scheme(self):
        return "https" if self.on else "http"


@dataclass(frozen=True)
class BackupSettings:
    """Nightly backups (the inventory's `backups:`): every team's database dumped at `at` and each dump restored into a
    scratch database to prove it; the last `keep` dumps of each team stay on its server. at "": none."""
    at: str = ""              # "HH:MM" on the server's clock
    keep: int = 7

    @property
    def on(self):
        return bool(self.at)


@dataclass(frozen=True)
class ForgeSettings:
    """Where `github:NAME` / `gitlab:NAME` keys are fetched (the inventory's `forges:`); ca_bundle: a local PEM file
    trusted for them beside the system's CAs (an institution's private CA, the lab's keys server)."""
    github: str = "https://github.com"
    gitlab: str = "https://gitlab.com"
    ca_bundle: str = ""


@dataclass(frozen=True)
class Server:
    name: str
    address: str              # where SSH (and HTTP) reach it: IP or DNS name
    ssh_port: int = 22
    admin_user: str = "root"  # the instructor's account: root, or a sudoer
    hostname: str = ""        # name of the class page and, with path routing, of URLs by path; defaults to address


@dataclass(frozen=True)
class Team:
    name: str                 # ^[a-z][a-z0-9-]{0,30}$: UNIX user, group, database, file names
    server: str               # a Server.name: named in the inventory, or chosen by deploy/inventory/placement.py
    keys: tuple = ()          # members' SSH public keys, one "type base64 comment" string each
    accounts: tuple = ()      # forge accounts (deploy/inventory/forges.py) whose keys provisioning adds to `keys`
    processes: int = 2        # uwsgi workers
    threads: int = 2
    # limits, sized for 30 teams on a 2-core / 4 GB server (deploy/configs/limits.py says where each applies)
    memory_mb: int = 512      # all its processes together where systemd runs (slice), else each one (address space)
    tasks: int = 128          # processes and threads of the team's user, all together (a fork loop stops here)
    open_files: int = 1024    # per process
    cpu_weight: int = 100     # the team's CPU share against the others' (100: an equal share)
    disk_warn_mb: int = 1024  # `fab status` warns above this much disk (home + database)
    disk_mb: int = 2048       # the team's files stop here, where the filesystem of /home has user quotas
    # and at this many files (inodes) there: ext4 makes one inode per 16 KiB, so 2 GB of disk holds 131072 inodes;
    # a team's tree (releases, virtualenvs, caches) is ~20000 files. A team making empty files without end would
    # otherwise take every inode of the disk all teams share
    files: int = 100000
    database_mb: int = 256    # its database's data and indexes; above, its user is read-only until it is back under
    connections: int = 64     # its requests nginx serves at once (by path and by subdomain together); more: 503
    idle_seconds: int = 60    # without a request this long, uwsgi stops its workers (0: never)
    placed: bool = False      # the inventory names no server: deploy/inventory/placement.py chose it


@dataclass(frozen=True)
class Inventory:
    name: str                 # the class's name
    domain: str               # teams answer at <team>.<domain> (wildcard DNS)
    mongodb: MongoSettings
    servers: tuple            # of Server, in file order
    teams: tuple              # of Team, in file order
    path: str = ""            # the file it came from, for messages
    page_seconds: int = 60    # each server rewrites its class page this often
    tls: TlsSettings = TlsSettings()
    routing: str = "subdomain"   # "subdomain": each team only on its own origin; "path": also <server>/<team>/
    backups: BackupSettings = BackupSettings()
    forges: ForgeSettings = ForgeSettings()

    @property
    def shared_origin(self):
        """Path routing puts every team of a server, and its class page, on one origin (the browser's boundary)."""
        return self.routing == "path"

    def server(self, name):
        return next(s for s in self.servers if s.name == name)

    def teams_on(self, server_name):
        return tuple(t for t in self.teams if t.server == server_name)

    def view(self, server_name):
        """What one server needs to know of the class (planning and rendering read only this)."""
        return ServerView(class_name=self.name, domain=self.domain, mongodb=self.mongodb,
                          server=self.server(server_name), teams=self.teams_on(server_name),
                          page_seconds=self.page_seconds, tls=self.tls, routing=self.routing,
                          backups=self.backups)


@dataclass(frozen=True)
class ServerView:
    """One server of a class with its teams: the narrow view a server's configs and plan are made from."""
    class_name: str
    domain: str
    mongodb: MongoSettings
    server: Server
    teams: tuple              # of Team, the ones on this server, in file order
    page_seconds: int = 60    # the class page's refresh
    tls: TlsSettings = TlsSettings()
    routing: str = "subdomain"   # Inventory.routing
    backups: BackupSettings = BackupSettings()


def server_names(view):
    """Every name a server's sites answer to: its hostname (or address) and each team's <team>.<domain>."""
    return (view.server.hostname or view.server.address,) + tuple(team_host(t.name, view.domain) for t in view.teams)


def team_host(team_name, domain):
    """The name a team's site answers to (nginx's server_name, the Host header): <team>.<domain>."""
    return f"{team_name}.{domain}"
