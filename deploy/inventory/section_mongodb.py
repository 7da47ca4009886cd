"""The `mongodb:` section: which database the teams use (a local mongod or secantus, or an external one).

Absent, it means secantus on each server. In mode external the inventory names only the
environment variable holding the admin URI, never the URI itself, so no secret is in the file.
"""
import re

from deploy.inventory.model import MongoSettings
from deploy.inventory.values import host_problem

MONGO_MODES = ("mongod", "secantus", "external")
MONGO_KEYS = ("mode", "port", "admin_uri_env", "hosts", "options")
EXTERNAL_KEYS = ("admin_uri_env", "hosts", "options")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
OPTIONS_RE = re.compile(r"^[A-Za-z0-9_.-]+=[^&=\s]+(&[A-Za-z0-9_.-]+=[^&=\s]+)*$")


def mode_problem(mode):
    return "" if mode in MONGO_MODES else f"{mode!r} is not one of {', '.join(MONGO_MODES)}"


def mongo_host_problem(host):
    """Why `host` ("name", "name:port", "[v6]:port") cannot be in a MongoDB URI's host list, or ''."""
    name, _, port = host.rpartition(":") if ":" in host and not host.endswith("]") else (host, "", "")
    why = host_problem(name.strip("[]")) if name else "empty host"
    if not why and port and (not port.isdigit() or not 1 <= int(port) <= 65535):
        why = f"port {port!r} is out of range 1..65535"
    return why


def check_mongodb(check, doc):
    """The MongoSettings the section describes, or None when it has problems."""
    if "mongodb" not in doc:
        return MongoSettings(mode="secantus")
    section = check.mapping(doc["mongodb"], doc.lines["mongodb"], "mongodb", MONGO_KEYS,
                            required=("mode",))
    if section is None:
        return None
    mode = check.string(section, "mode", "mongodb.mode", why_not=mode_problem)
    port = check.integer(section, "port", "mongodb.port", 27017, 1, 65535)
    admin_uri_env = check.string(section, "admin_uri_env", "mongodb.admin_uri_env", "")
    hosts = check.string(section, "hosts", "mongodb.hosts", "")
    options = check.string(section, "options", "mongodb.options", "")
    if mode == "external":
        check_external(check, section, admin_uri_env, hosts, options)
    elif mode is not None:
        for key in EXTERNAL_KEYS:
            if key in section:
                check.problem(section.lines[key], f"mongodb.{key}", "only for mode external")
    if None in (mode, port, admin_uri_env, hosts, options):
        return None
    return MongoSettings(mode=mode, port=port, admin_uri_env=admin_uri_env, hosts=hosts, options=options)


def check_external(check, section, admin_uri_env, hosts, options):
    """Mode external: the URI's variable and the hosts are needed, and ports go in hosts."""
    for key in ("admin_uri_env", "hosts"):
        if key not in section:
            check.problem(section.line, "mongodb", f"{key!r} is required in mode external")
    if "port" in section:
        check.problem(section.lines["port"], "mongodb.port",
                      "only for modes mongod and secantus; in mode external put ports in hosts")
    if admin_uri_env and not ENV_NAME_RE.match(admin_uri_env):
        check.problem(section.lines["admin_uri_env"], "mongodb.admin_uri_env",
                      f"{admin_uri_env!r} is not an environment variable name "
                      "(give the variable's NAME, never the URI itself)")
    for host in hosts.split(",") if hosts else ():
        why = mongo_host_problem(host.strip())
        if why:
            check.problem(section.lines["hosts"], "mongodb.hosts", f"{host.strip()!r}: {why}")
    if options and not OPTIONS_RE.match(options):
        check.problem(section.lines["options"], "mongodb.options",
                      f"{options!r} must look like 'replicaSet=rs0&tls=true'")
