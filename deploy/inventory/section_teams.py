"""The `teams:` section: who works on the class's servers, with which SSH keys and uwsgi settings.

Teams are checked against what the servers section found: a team's server must be one of
them, and a team may not take a server's admin account as its name. A team that names no server
in a class of several is placed by deploy/inventory/placement.py.
"""
import functools
import os

from deploy.inventory.forges import account_of_entry, is_account_entry
from deploy.inventory.model import Team
from deploy.inventory.names import team_name_problem
from deploy.inventory.placement import place
from deploy.inventory.section_defaults import SETTING_KEYS, check_settings
from deploy.inventory.ssh_keys import keys_of_entry

TEAM_KEYS = ("name", "server", "keys") + SETTING_KEYS


def check_teams(check, doc, servers, defaults):
    """The teams, each None where a team has problems; None when there is no list of teams.

    `servers`: the servers section's FoundServers; `defaults`: the defaults section's settings."""
    if "teams" not in doc:
        return None
    teams = check.sequence(doc.get("teams"), doc.lines.get("teams", doc.line), "teams")
    if teams is None:
        return None
    if not teams:
        check.problem(teams.line, "teams", "at least one team is needed")
    seen = {}
    found = [check_team(check, item, line, f"teams[{index}]", servers, defaults, seen)
             for index, (item, line) in enumerate(zip(teams, teams.lines))]
    if None in found or not servers.names_known or not servers.names():
        return found
    return list(place(found, servers.names()))


def check_team(check, item, line, field, servers, defaults, seen):
    """One entry of `teams` as a Team, or None after reporting its problems."""
    entry = check.mapping(item, line, field, TEAM_KEYS, required=("name", "keys"))
    if entry is None:
        return None
    not_a_team_name = functools.partial(team_name_problem, taken=servers.admin_users())
    name = check.string(entry, "name", f"{field}.name", why_not=not_a_team_name)
    name = check.first_use(entry, field, name, seen, "team")
    server = check_team_server(check, entry, field, servers)
    keys, accounts = check_keys(check, entry, field) if "keys" in entry else (None, None)
    settings = check_settings(check, entry, field, defaults)
    if None in (name, server, keys) or None in settings.values():
        return None
    return Team(name=name, server=server, keys=keys, accounts=accounts, **settings)


def check_team_server(check, entry, field, servers):
    """The server the team runs on: the one it names, or the class's only one; "" when placement chooses
    (several servers, none named); None after a problem."""
    server = check.string(entry, "server", f"{field}.server", servers.only_name() or "")
    # with a wrong server name in `servers`, an unknown name here may well be that one
    if server and servers.names_known and server not in servers.names():
        check.problem(entry.lines.get("server", entry.line), f"{field}.server",
                      f"unknown server {server!r} (servers: {', '.join(servers.names())})")
        return None
    return server


def check_keys(check, entry, field):
    """(the team's SSH public keys: keys given and keys read from files; the forge accounts it names, whose keys
    provisioning fetches), or (None, None) after reporting why not."""
    keys = check.sequence(entry.get("keys"), entry.lines.get("keys", entry.line), f"{field}.keys")
    if keys is None:
        return None, None
    if not keys:
        check.problem(keys.line, f"{field}.keys", "at least one SSH public key is needed")
        return None, None
    base_dir = os.path.dirname(os.path.abspath(check.path))   # key files are relative to the inventory
    result, accounts, ok = [], [], True
    for index, (item, line) in enumerate(zip(keys, keys.lines)):
        if is_account_entry(item):
            account, why = account_of_entry(item, f"{check.path}:{line}: {field}.keys[{index}]")
            accounts += [account] if account else []
        else:
            found, why = keys_of_entry(item, base_dir)
            result.extend(found or ())
        if why:
            check.problem(line, f"{field}.keys[{index}]", why)
            ok = False
    return (tuple(result), tuple(accounts)) if ok else (None, None)
