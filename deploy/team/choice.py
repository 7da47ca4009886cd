"""Which team a member's `fab` commands act for, chosen once without editing code.

Team:      --team option  >  $HACKNODE_TEAM  >  file .hacknode/team (written by `fab use_team --team NAME`)
Key:       --key option   >  $HACKNODE_KEY   >  .hacknode/keys/<team> if it exists  >  the user's own ssh setup
Inventory: $HACKNODE_INVENTORY  >  inventory.yml
The server is the inventory's: the team's `server`.
"""
import os
from pathlib import Path

from deploy.core.ssh import server_connection

CONFIG_DIR = ".hacknode"
DEFAULT_INVENTORY = "inventory.yml"


class TeamChoiceError(Exception):
    """No team chosen, or one the inventory does not have; the message says how to choose."""


def inventory_path(environ):
    return environ.get("HACKNODE_INVENTORY") or DEFAULT_INVENTORY


def team_file(config_dir=CONFIG_DIR):
    return Path(config_dir) / "team"


def key_link(team_name, config_dir=CONFIG_DIR):
    return Path(config_dir) / "keys" / team_name


def chosen_team_name(option, environ, config_dir=CONFIG_DIR):
    """(name, where it came from) by precedence, or (None, None) when nothing chose a team."""
    if option:
        return option.strip(), "--team"
    if environ.get("HACKNODE_TEAM"):
        return environ["HACKNODE_TEAM"].strip(), "HACKNODE_TEAM"
    path = team_file(config_dir)
    if path.is_file():
        name = path.read_text().strip()
        if name:
            return name, str(path)
    return None, None


def resolve_team(inventory, option=None, environ=None, config_dir=CONFIG_DIR):
    """The inventory's Team chosen by `option`, the environment or the team file; TeamChoiceError otherwise."""
    environ = os.environ if environ is None else environ
    names = ", ".join(t.name for t in inventory.teams) or "(none)"
    where = inventory.path or "the inventory"
    name, source = chosen_team_name(option, environ, config_dir)
    if name is None:
        raise TeamChoiceError(f"no team chosen: run `fab use_team --team NAME` once, or set HACKNODE_TEAM, "
                              f"or pass --team NAME; teams in {where}: {names}")
    for team in inventory.teams:
        if team.name == name:
            return team
    raise TeamChoiceError(f"team {name!r} (from {source}) is not in {where}; its teams: {names}")


def resolve_key(team_name, option=None, environ=None, config_dir=CONFIG_DIR):
    """Path of the private key to log in as the team, or None to use the user's own ssh setup."""
    environ = os.environ if environ is None else environ
    if option:
        return option
    if environ.get("HACKNODE_KEY"):
        return environ["HACKNODE_KEY"]
    link = key_link(team_name, config_dir)
    return str(link) if link.exists() else None


def save_choice(team_name, key=None, config_dir=CONFIG_DIR):
    """Record the team (and the key, as a link .hacknode/keys/<team> -> key) for later commands.
    Returns the files written."""
    written = []
    path = team_file(config_dir)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(team_name + "\n")
    written.append(str(path))
    if key:
        if not Path(key).is_file():
            raise TeamChoiceError(f"--key {key}: no such file")
        link = key_link(team_name, config_dir)
        link.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if link.exists() and not link.is_symlink():
            raise TeamChoiceError(f"{link} is a key file already; not replacing it (pass --key to each command instead)")
        if link.is_symlink():
            link.unlink()
        link.symlink_to(Path(key).resolve())
        written.append(f"{link} -> {Path(key).resolve()}")
    return written


def team_connection(inventory, team, key=None):
    """Fabric connection to the team's server as the team's UNIX user (with `key`, else the user's ssh setup)."""
    return server_connection(inventory.server(team.server), team.name, key)


def ssh_config_entry(inventory, team, key=None):
    """The `Host` block for ~/.ssh/config that makes `ssh <team>` log in as the team (the workshop's step)."""
    server = inventory.server(team.server)
    lines = [f"Host {team.name}", f"    HostName {server.address}", f"    User {team.name}"]
    if server.ssh_port != 22:
        lines.append(f"    Port {server.ssh_port}")
    if key:
        lines += [f"    IdentityFile {Path(key).resolve()}", "    IdentitiesOnly yes"]
    return "\n".join(lines) + "\n"
