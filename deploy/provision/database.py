"""The class's MongoDB, by the inventory's mode, and each team's database user.

- secantus: SecantusDB in root's tools virtualenv, run by supervisor as `hacknode-db`, auth on.
- mongod: MongoDB's official apt repository and packages, authorization enabled.
- external: a server the instructor gives; its admin URI comes from an environment variable.
In every mode the admin URI lives on the server only (layout.MONGO_ADMIN_FILE, or the environment for
external), each team gets a user with readWrite on its own database, and the team's URI is written to a
file only the team can read. Passwords are generated on the server and never printed.
"""
import os
import re

from deploy.core import layout
from deploy.core.commands import helper
from deploy.core.errors import DeployError
from deploy.core.layout import TeamPaths
from deploy.core.steps import Step, file_changes, install_commands

SECANTUS_VERSION = "secantusdb==0.7.0b3"
PYMONGO_VERSIONS = ("pymongo==4.20.0; python_version >= '3.11'",   # as requirements.txt: 4.19+ needs 3.11
                    "pymongo==4.18.3; python_version < '3.11'")
MONGODB_SERIES = "8.0"
DEFAULT_PORT = 27017

# Ubuntu releases and Debian releases MongoDB publishes packages for: (os id, version) -> apt line suffix.
MONGODB_REPOS = {
    ("debian", "12"): "debian bookworm/mongodb-org/{v} main",
    ("ubuntu", "22.04"): "ubuntu jammy/mongodb-org/{v} multiverse",
    ("ubuntu", "24.04"): "ubuntu noble/mongodb-org/{v} multiverse",
}


class MongoPlanError(DeployError):
    """The inventory's database mode cannot be set up here; the message says what to do."""


CLASS_PAGE_PACKAGES = ("Jinja2==3.1.6",)    # the class page's template (deploy/remote/class_page.py); Flask's pin


def tools_packages(mongodb):
    """Root's tools virtualenv on a server: pymongo for the database chores, Jinja2 for the class page, SecantusDB
    in its mode."""
    return [*PYMONGO_VERSIONS, *CLASS_PAGE_PACKAGES] + ([SECANTUS_VERSION] if mongodb.mode == "secantus" else [])


def local_uri(mongodb, user, password_var, database):
    return f"mongodb://{user}:${{{password_var}}}@127.0.0.1:{mongodb.port}/{database}"


def admin_uri_input(mongodb):
    """What provisioning sends on the script's stdin: the external admin URI from the instructor's
    environment (never written to disk, never printed), or nothing."""
    if mongodb.mode != "external":
        return ""
    uri = os.environ.get(mongodb.admin_uri_env, "")
    if not uri:
        raise MongoPlanError(f"mongodb mode 'external': set the environment variable {mongodb.admin_uri_env} "
                             "to the admin URI of your MongoDB")
    return uri + "\n"


def script_header(mongodb):
    """Makes HN_ADMIN_URI available to the steps that need it, without printing it, from stdin (external) or the
    server's file, then closes stdin (deploy/remote/database-lib.sh). Not exported: hn_mongo and hn_archive hand it
    to root's database tools alone, never to a command run as a team."""
    return helper("hn_admin_uri", "-" if mongodb.mode == "external" else layout.MONGO_ADMIN_FILE)


def database_addresses(mongodb):
    """Mode external's hosts as host:port (MongoDB's default port where `hosts` names none): the facts ask
    whether each answers from the server. None in the other modes."""
    if mongodb.mode != "external":
        return []
    hosts = [host.strip() for host in mongodb.hosts.split(",") if host.strip()]
    return [host if re.search(r":\d+$", host) else f"{host}:{DEFAULT_PORT}" for host in hosts]


def unreachable_database(mongodb, facts, server):
    """One line when none of mode external's hosts answers from `server` (provisioning then changes nothing there:
    a team's user made, its database user not, would be half a team), else ''. Names hosts and ports, no secret."""
    answers = {address: facts.databases.get(address, "not asked") for address in database_addresses(mongodb)}
    if not answers or "" in answers.values():
        return ""
    why = ", ".join(f"{address} ({reason})" for address, reason in answers.items())
    return f"the database does not answer from {server}: {why}; nothing was changed"


def caps_need_a_run_of_their_own(mongodb, teams):
    """Mode external: no server holds the admin URI, so no class page round checks the teams' database_mb; each
    `fab provision` does, in the services step, or (nothing else to change) in a round trip of its own."""
    return mongodb.mode == "external" and bool(teams)


CAP_ROLES = {"read": "read-only: over its database_mb", "readWrite": "read-write again: back under its database_mb"}


def cap_changes(output):
    """(team, why) for each line mongo-tool caps printed ("TEAM read", "TEAM readWrite"): the teams whose access it
    changed."""
    rows = [line.split() for line in output.splitlines()]
    return [(row[0], CAP_ROLES[row[1]]) for row in rows if len(row) == 2 and row[1] in CAP_ROLES]


def running_patterns(mongodb):
    # [process name, its user] (pgrep -u USER -x NAME): a team's process named so is not the database
    return {"secantus": ["secantusd-py", layout.DB_USER]} if mongodb.mode == "secantus" else {}


def plan_server_db(server, mongodb, facts, files):
    """The database server's step (none for external). Pure."""
    if mongodb.mode == "external":
        return []
    admin_missing = not facts.has(layout.MONGO_ADMIN_FILE)
    if mongodb.mode == "mongod":
        if not admin_missing:
            return [Step(server, "mongod", False)]
        return [Step(server, "mongod", True, "install MongoDB " + MONGODB_SERIES,
                     mongod_install_commands(mongodb, facts.os_id, facts.os_version))]
    conf = [f for f in files if f.path == layout.SECANTUS_CONF]
    changed_conf, diff = file_changes(conf, facts)
    down = not facts.running.get("secantus", False)
    if not (admin_missing or changed_conf or down):
        return [Step(server, "secantus", False)]
    why = ", ".join(w for w, on in [("first start", admin_missing), ("config changed", changed_conf),
                                    ("not running", down)] if on)
    commands = [
        helper("hn_system_user", layout.DB_USER, layout.SECANTUS_HOME),
        f"install -d -o {layout.DB_USER} -g {layout.DB_USER} -m 0700 {layout.SECANTUS_HOME} {layout.SECANTUS_HOME}/data",
        f"install -d -m 0755 {os.path.dirname(layout.SECANTUS_LOG)}",
    ]
    if admin_missing:
        commands += secantus_bootstrap_commands(mongodb)
    commands += install_commands(changed_conf) + [
        "hn_supervisor_up",
        "hn_supervisor_update hacknode-secantus",
        # update started it if it was new or changed; started here if it is down (a Python program less if it is up)
        helper("hn_secantus_up", layout.DB_USER),
        helper("hn_admin_wait", layout.MONGO_ADMIN_FILE, "SecantusDB did not start: supervisorctl tail hacknode-secantus"),
    ]
    return [Step(server, "secantus", True, why, commands, changed_conf, diff)]


def secantus_bootstrap_commands(mongodb):
    """SecantusDB has no localhost exception: create the admin user on a first start without auth,
    then the supervisor program runs it with --auth from then on (deploy/remote/database-lib.sh)."""
    return [helper("hn_secantus_bootstrap", layout.DB_USER, f"{layout.TOOLS_VENV}/bin/secantusd-py",
                   f"{layout.SECANTUS_HOME}/data", mongodb.port, layout.SECANTUS_CONF, layout.MONGO_ADMIN_FILE,
                   local_uri(mongodb, "admin", "HN_PW", "admin"))]


def durable_options(mongodb):
    """What every team's URI asks for so that an acknowledged write survives a crash: journaled writes,
    and on a replica set a majority of members (one member's journal dies with its machine). An option
    the instructor set in mongodb.options is left as they set it."""
    wanted = ["journal=true"] + (["w=majority"] if "replicaSet=" in mongodb.options else [])
    given = {option.split("=")[0] for option in mongodb.options.split("&") if option}
    return [option for option in wanted if option.split("=")[0] not in given]


def team_uri_template(mongodb, team):
    """The team's URI with ${HN_PW} where its password goes."""
    options = durable_options(mongodb)
    if mongodb.mode == "external":
        options = [f"authSource={team}"] + ([mongodb.options] if mongodb.options else []) + options
        return f"mongodb://{team}:${{HN_PW}}@{mongodb.hosts}/{team}?{'&'.join(options)}"
    return local_uri(mongodb, team, "HN_PW", team) + "?" + "&".join(options)


def team_user_commands(mongodb, team):
    """Create the team's database user with a fresh password and write its secrets file (0400 team)."""
    return [helper("hn_team_database", team, TeamPaths(team).mongo_uri_file, team_uri_template(mongodb, team))]


def mongod_install_commands(mongodb, os_id, os_version):
    """MongoDB's official packages, its admin user created before authorization is turned on."""
    key = (os_id, os_version)
    if key not in MONGODB_REPOS:
        supported = ", ".join(f"{i} {v}" for i, v in MONGODB_REPOS)
        raise MongoPlanError(f"mongodb mode 'mongod': MongoDB publishes no packages for {key[0]} {key[1]} "
                             f"(supported: {supported}); use mode 'secantus' or 'external'")
    v = MONGODB_SERIES
    keyring = f"/usr/share/keyrings/mongodb-server-{v}.gpg"
    repo = f"https://repo.mongodb.org/apt/{MONGODB_REPOS[key].format(v=v)}"
    return [
        helper("hn_mongod_packages", f"https://www.mongodb.org/static/pgp/server-{v}.asc", keyring,
               f"deb [ arch=amd64,arm64 signed-by={keyring} ] {repo}", f"/etc/apt/sources.list.d/mongodb-org-{v}.list"),
        helper("hn_mongod_secured", mongodb.port, layout.MONGO_ADMIN_FILE, local_uri(mongodb, "admin", "HN_PW", "admin")),
    ]
