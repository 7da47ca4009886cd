"""hacknode's remote tasks: `fab -l` lists them.

Instructors: provision, status, audit, add_team, remove_team, teardown (the class from inventory.yml).
Teams: deploy, setup_virtualenv, restart, logs, rollback, ... (the workshop's names).
Each task is thin: the work is in deploy/.
"""
import difflib
import logging
import os
from contextlib import contextmanager

import paramiko
from fabric import task
from invoke import Exit

from deploy.admin import audit, status as status_report, tasks as admin, term
from deploy.core.errors import DeployError
from deploy.inventory import InventoryError, load_inventory, roster as class_roster, team_name_problem
from deploy.provision import run as provisioning
from deploy.team import (backup as team_backup, choice as team_choice, config as team_config, git as team_git,
                         tasks as team_tasks)
from deploy.team.backup_file import BACKUP_DIR

DEFAULT_INVENTORY = team_choice.inventory_path(os.environ)
# paramiko logs a traceback of every failed connection on its own; the tasks say it in one line instead
logging.getLogger("paramiko").addHandler(logging.NullHandler())


def class_inventory(path):
    try:
        return load_inventory(path)
    except InventoryError as e:
        raise Exit(str(e), code=2)


def admin_key(key):
    """The instructor's SSH key: --key, $HACKNODE_ADMIN_KEY, the demo's key, else the usual SSH setup."""
    if key:
        return key
    if os.environ.get("HACKNODE_ADMIN_KEY"):
        return os.environ["HACKNODE_ADMIN_KEY"]
    return ".hacknode/admin_key" if os.path.exists(".hacknode/admin_key") else None


def fail(e):
    raise Exit(f"error: {e}", code=1)


@contextmanager
def one_line_errors(where="a server"):
    """A failed step, an unreachable server or a missing setting ends with one line, not a traceback."""
    try:
        yield
    except DeployError as e:
        fail(e)
    except (paramiko.SSHException, OSError) as e:
        fail(f"cannot reach {where} over SSH: {e}")


def valid_team_name(team):
    why = team_name_problem(team)
    if why:
        raise Exit(f"error: {team!r} is not a team name: {why}", code=2)
    return team


# ---------- instructors ----------

@task(help={"inventory": "the class (default inventory.yml or $HACKNODE_INVENTORY)",
            "dry": "show what would change (diffs, commands) and change nothing",
            "prune": "also archive and remove the teams the inventory no longer lists",
            "refresh_keys": "fetch the keys of github:/gitlab: accounts again (else from their cache when there)",
            "key": "SSH private key of the servers' admin user"})
def provision(c, inventory=DEFAULT_INVENTORY, dry=False, prune=False, key=None, refresh_keys=False):
    """Bring every server of the inventory to the state it describes (all servers in parallel)."""
    with one_line_errors():
        provisioning.provision_class(class_inventory(inventory), admin_key(key), dry=dry, prune=prune,
                                     refresh_keys=refresh_keys)


@task(help={"file": "the roster: a CSV file with the columns team, member, key (a public key, a .pub file, github:NAME "
                    "or gitlab:NAME; or columns github, gitlab of account names)",
            "inventory": "the class whose teams: it writes", "yes": "write without asking (scripts)"})
def roster(c, file, inventory=DEFAULT_INVENTORY, yes=False):
    """Write the roster's teams and keys into the inventory's teams: (shown as a diff first; comments kept)."""
    try:
        old, new, left_out = class_roster.roster_change(inventory, file)
    except class_roster.RosterError as e:
        raise Exit(str(e), code=2)
    for team in left_out:
        print(f"note: {team} is in {inventory} but not in {file}: kept as it is")
    if new == old:
        print(f"{inventory}: its teams match {file} already; nothing to change")
        return
    print("".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), inventory, inventory)), end="")
    if not yes and not ask(f"write these changes to {inventory}?"):
        raise Exit(f"{inventory}: nothing written", code=1)
    class_roster.write_inventory(inventory, new)
    print(f"wrote {inventory}; fab provision sets the teams up")


@task(help={"inventory": "the class, with the new team added", "key": "SSH key of the servers' admin user"})
def add_team(c, inventory=DEFAULT_INVENTORY, key=None):
    """Set up the teams added to the inventory, without touching the others (= provision)."""
    provision(c, inventory=inventory, key=key)


@task(help={"team": "the team to remove", "server": "its server (default: the team's in the inventory)",
            "inventory": "the class", "key": "SSH key of the servers' admin user"})
def remove_team(c, team, server=None, inventory=DEFAULT_INVENTORY, key=None):
    """Archive a team's database and code on its server, then remove the team."""
    valid_team_name(team)
    inv = class_inventory(inventory)
    known = {t.name: t.server for t in inv.teams}
    server = server or known.get(team) or (inv.servers[0].name if len(inv.servers) == 1 else None)
    if server not in {s.name for s in inv.servers}:
        raise Exit(f"remove_team: say which server {team} is on with --server (one of: "
                   f"{', '.join(s.name for s in inv.servers)})", code=2)
    with one_line_errors():
        admin.remove_team(inv, team, server, admin_key(key))
    if team in known:
        print(f"note: {team} is still in {inventory}: remove it there, or the next provision brings it back")


@task(help={"inventory": "the class", "key": "SSH key of the servers' admin user",
            "json": "print one JSON document instead of the table (keys: README, For instructors)"})
def status(c, inventory=DEFAULT_INVENTORY, key=None, json=False):
    """Every team: state, /healthz, releases, requests, memory, tasks, disk, URLs (a table, or --json)."""
    inv = class_inventory(inventory)
    report, problems = admin.status_report(inv, admin_key(key))
    print(status_report.as_json(report) if json else status_report.as_table(inv, report))
    if problems:
        raise Exit("\n".join(problems), code=1)


# named audit_class: a function called audit would hide the module deploy.audit
@task(name="audit", help={"inventory": "the class", "key": "SSH key of the servers' admin user"})
def audit_class(c, inventory=DEFAULT_INVENTORY, key=None):
    """As each team, try one team's attacks on another and on the server: one table; exit 1 if any is OPEN."""
    rows = admin.audit_rows(class_inventory(inventory), admin_key(key))
    print(audit.as_table(rows))
    if audit.exit_code(rows):
        raise Exit(code=1)


@task(help={"inventory": "the class", "key": "SSH key of the servers' admin user",
            "yes": "really remove the whole class (every team archived first)"})
def teardown(c, inventory=DEFAULT_INVENTORY, key=None, yes=False):
    """Archive every team, then remove the whole class from its servers."""
    if not yes:
        raise Exit("teardown removes every team of the class (archives kept in /var/backups/hacknode); "
                   "run again with --yes", code=2)
    with one_line_errors():
        admin.teardown(class_inventory(inventory), admin_key(key))



@task(help={"inventory": "the class", "key": "SSH key of the servers' admin user",
            "team": "this team only (default: every team)",
            "at": "the deadline (2026-12-18T23:59: this machine's time; ...Z: UTC); default: now",
            "undo": "lift the deadline (the submission stays)"})
def freeze(c, inventory=DEFAULT_INVENTORY, key=None, team=None, at=None, undo=False):
    """The deadline: from then on deploys, git pushes, rollbacks and config changes are refused; the live release
    is each team's submission (kept, with its database dump); the sites keep running."""
    with one_line_errors():
        term.freeze(class_inventory(inventory), team, at, undo, admin_key(key))


@task(help={"inventory": "the class", "key": "SSH key of the servers' admin user",
            "out": "the folder the teams' archives go to (default: <class>-archive)",
            "dry": "fetch and check the archives, list them, remove nothing",
            "yes": "remove the class once archived without asking"})
def archive(c, inventory=DEFAULT_INVENTORY, key=None, out=None, dry=False, yes=False):
    """Every team's submission, database and logs fetched here with checksums, then the class removed from its
    servers (asks first; run again after an interruption: it resumes)."""
    inv = class_inventory(inventory)
    with one_line_errors():
        term.archive(inv, out or f"{inv.name}-archive", dry, (lambda question: True) if yes else ask, admin_key(key))

# ---------- teams ----------
# The team comes from --team, $HACKNODE_TEAM or .hacknode/team (`fab use_team`); the key from --key,
# $HACKNODE_KEY, .hacknode/keys/<team>, else your ssh setup (deploy/team/choice.py). Server: the inventory's.
TEAM_HELP = {"team": "your team (default: $HACKNODE_TEAM, else the one `fab use_team` recorded)",
             "key": "your SSH private key (default: $HACKNODE_KEY, .hacknode/keys/<team>, else your ssh setup)"}
REPO = os.path.dirname(os.path.abspath(__file__))
WHEEL_CACHE = os.path.join(REPO, ".cache", "wheels")


def for_team(team, key):
    """(inventory, team, connection as the team's user): the one place a team task resolves them."""
    try:
        inv = load_inventory(team_choice.inventory_path(os.environ))
        chosen = team_choice.resolve_team(inv, team)
    except (InventoryError, team_choice.TeamChoiceError) as e:
        raise Exit(f"error: {e}", code=2)
    return inv, chosen, team_choice.team_connection(inv, chosen, team_choice.resolve_key(chosen.name, key))


@contextmanager
def as_team(team, key):
    """A team task's (inventory, team, connection), its failures said in one line."""
    inv, chosen, conn = for_team(team, key)
    with one_line_errors(f"{conn.user}@{conn.host}:{conn.port}"):
        yield inv, chosen, conn


@task(help={**TEAM_HELP, "team": "the team to act for from now on"})
def use_team(c, team, key=None):
    """Choose your team once (written to .hacknode/team); --key also records your key."""
    inv, chosen, _ = for_team(team, None)
    try:
        for written in team_choice.save_choice(chosen.name, key):
            print(f"wrote {written}")
    except team_choice.TeamChoiceError as e:
        fail(e)


@task(help=TEAM_HELP)
def ssh_config(c, team=None, key=None):
    """Print the Host entry for ~/.ssh/config, so `ssh <team>` logs in as your team."""
    inv, chosen, conn = for_team(team, key)
    print(team_choice.ssh_config_entry(inv, chosen, team_choice.resolve_key(chosen.name, key)), end="")


def team_task(name, doc, work):
    """A team task called `name`: resolve the team, then work(inventory, team, connection)."""
    def run(c, team=None, key=None):
        with as_team(team, key) as (inv, chosen, conn):
            work(inv, chosen, conn)
    run.__name__ = run.__qualname__ = name
    run.__doc__ = doc
    return task(help=TEAM_HELP)(run)


deploy = team_task(
    "deploy", "Deploy this working tree as a new release; back to the previous one if it is unhealthy.",
    lambda inv, team, conn: team_tasks.deploy_release(conn, team, inv, REPO, cache_dir=WHEEL_CACHE))
setup_virtualenv = team_task(
    "setup_virtualenv", "Build the virtualenv of requirements.txt on the server (deploy does it when needed).",
    lambda inv, team, conn: team_tasks.setup_virtualenv(conn, team.name, REPO, cache_dir=WHEEL_CACHE))
rollback = team_task(
    "rollback", "Make the release before the current one live again.",
    lambda inv, team, conn: team_tasks.rollback(conn, team, inv))
run_devserver = team_task(
    "run_devserver", "Run the dev Flask server of the live release on the server (Ctrl-C stops it).",
    lambda inv, team, conn: team_tasks.run_devserver(conn, team, inv))
list_deploys = team_task(
    "list_deploys", "List the releases on the server, the live one marked *.",
    lambda inv, team, conn: team_tasks.list_deploys(conn, team.name))
list_home = team_task(
    "list_home", "List files in your team's home directory.",
    lambda inv, team, conn: team_tasks.list_home(conn))
print_my_id = team_task(
    "print_my_id", "Print your unique identifier, and who you are on the server.",
    lambda inv, team, conn: team_tasks.print_my_id(conn))


# no short flags: -h would be --hard, not --help
@task(help={**TEAM_HELP, "hard": "stop and start uwsgi (through its master fifo, as you): requests fail meanwhile"},
      auto_shortflags=False)
def restart(c, team=None, key=None, hard=False):
    """Reload your uwsgi gracefully (no request fails), or --hard: stop and start it; view the end of its log."""
    with as_team(team, key) as (inv, chosen, conn):
        team_tasks.restart(conn, chosen, inv, hard=hard)


@task(help={**TEAM_HELP, "lines": "how many lines (default 100)"})
def logs(c, team=None, key=None, lines=100):
    """Show the end of your uwsgi log."""
    with as_team(team, key) as (inv, chosen, conn):
        team_tasks.logs(conn, chosen.name, lines=int(lines))


@task(iterable=["set", "unset"],
      help={**TEAM_HELP, "set": "NAME=value to set (repeat for several)", "unset": "NAME to remove (repeat)"})
def config(c, set=None, unset=None, team=None, key=None):
    """List your app's settings (secrets masked), or change them: --set NAME=value, --unset NAME."""
    with as_team(team, key) as (inv, chosen, conn):
        if set or unset:
            team_config.change_settings(conn, chosen, inv, set, unset)
        else:
            team_config.list_settings(conn, chosen.name)


@task(help={**TEAM_HELP, "out": f"folder for the backup file (default {BACKUP_DIR})"})
def backup(c, team=None, key=None, out=BACKUP_DIR):
    """Save your database (every collection, documents and indexes) to a local <team>-<time>-<release>.tar.gz."""
    with as_team(team, key) as (inv, chosen, conn):
        team_backup.backup_database(conn, chosen.name, out)


def ask(question):
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:        # no terminal to answer (a script): no
        print()
        return False


@task(help={**TEAM_HELP, "file": "a backup made by `fab backup`", "yes": "do not ask before replacing"})
def restore(c, file, team=None, key=None, yes=False):
    """Replace your database with a backup's (asks first; --yes for scripts)."""
    with as_team(team, key) as (inv, chosen, conn):
        team_backup.restore_database(conn, chosen.name, file, (lambda question: True) if yes else ask)


dbshell = team_task(
    "dbshell", "An interactive Python prompt on the server with your database as `db` (pymongo).",
    lambda inv, team, conn: team_backup.dbshell(conn, team.name))


@task(help={**TEAM_HELP, "name": "the git remote's name (default hacknode)", "branch": "the branch that deploys (main)"})
def git_remote(c, team=None, key=None, name="hacknode", branch="main"):
    """Add a git remote to this repository: `git push hacknode main` deploys like `fab deploy`."""
    with as_team(team, key) as (inv, chosen, conn):
        team_git.git_remote(conn, chosen, inv, REPO, name, branch, team_choice.resolve_key(chosen.name, key))
