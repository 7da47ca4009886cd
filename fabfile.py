"""hacknode's remote tasks: `fab -l` lists them.

Instructors: provision, status, audit, backups, add_team, remove_team, teardown (the class from inventory.yml).
Teams: deploy, setup_virtualenv, restart, logs, rollback, ... (the workshop's names).
Each task is thin: the work is in deploy/.
"""
import logging
import os
from contextlib import contextmanager

from fabric import task
from invoke import Exit

from deploy import __version__
from deploy.admin import audit, backups as nightly, status as status_report, tasks as admin, term
from deploy.core.errors import one_line_errors
from deploy.core.ssh import admin_key
from deploy.inventory import InventoryError, load_inventory, roster as class_roster, team_name_problem
from deploy.provision import run as provisioning
from deploy.team import (backup as team_backup, choice as team_choice, config as team_config, git as team_git,
                         tasks as team_tasks)
from deploy.team.backup_file import BACKUP_DIR

DEFAULT_INVENTORY = team_choice.inventory_path(os.environ)
ADMIN_HELP = {"inventory": "the class", "key": "SSH key of the servers' admin user"}
# paramiko logs a traceback of every failed connection on its own; the tasks say it in one line instead
logging.getLogger("paramiko").addHandler(logging.NullHandler())


def class_inventory(path):
    try:
        return load_inventory(path)
    except InventoryError as e:
        raise Exit(str(e), code=2)


def valid_team_name(team):
    why = team_name_problem(team)
    if why:
        raise Exit(f"error: {team!r} is not a team name: {why}", code=2)
    return team


# ---------- instructors ----------

@task
def version(c):
    """Print hacknode's version, which provisioning records on each server (`fab --version` is Fabric's own)."""
    print(f"hacknode {__version__}")


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
        written = class_roster.apply_roster(inventory, file, (lambda question: True) if yes else ask)
    except class_roster.RosterError as e:
        raise Exit(str(e), code=2)
    if not written:
        raise Exit(f"{inventory}: nothing written", code=1)


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


@task(help={**ADMIN_HELP,
            "json": "print one JSON document instead of the table (keys: README, For instructors)"})
def status(c, inventory=DEFAULT_INVENTORY, key=None, json=False):
    """Every team: state, /healthz, releases, requests, memory, tasks, disk, URLs (a table, or --json)."""
    inv = class_inventory(inventory)
    report, problems = admin.status_report(inv, admin_key(key))
    print(status_report.as_json(report) if json else status_report.as_table(inv, report))
    if problems:
        raise Exit("\n".join(problems), code=1)


@task(help={**ADMIN_HELP,
            "fetch": "copy the servers' nightly dumps here (rsync: only what is new)",
            "out": f"where they go, a folder per server (default {nightly.NIGHTLY_OUT})"})
def backups(c, inventory=DEFAULT_INVENTORY, key=None, fetch=False, out=nightly.NIGHTLY_OUT):
    """The nightly backups (inventory's backups:): each team's last one, its size and its restore's check; --fetch
    copies them here."""
    inv = class_inventory(inventory)
    with one_line_errors():
        if fetch:
            nightly.fetch(inv, admin_key(key), out)
            return
    report, problems = admin.status_report(inv, admin_key(key))
    print(status_report.backups_table(report))
    if problems:
        raise Exit("\n".join(problems), code=1)


# named audit_class: a function called audit would hide the module deploy.audit
@task(name="audit", help=ADMIN_HELP)
def audit_class(c, inventory=DEFAULT_INVENTORY, key=None):
    """As each team, try one team's attacks on another and on the server: one table; exit 1 if any is OPEN."""
    rows = admin.audit_rows(class_inventory(inventory), admin_key(key))
    print(audit.as_table(rows))
    if audit.exit_code(rows):
        raise Exit(code=1)


@task(help={**ADMIN_HELP,
            "yes": "really remove the whole class (every team archived first)"})
def teardown(c, inventory=DEFAULT_INVENTORY, key=None, yes=False):
    """Archive every team, then remove the whole class from its servers."""
    if not yes:
        raise Exit("teardown removes every team of the class (archives kept in /var/backups/hacknode); "
                   "run again with --yes", code=2)
    with one_line_errors():
        admin.teardown(class_inventory(inventory), admin_key(key))


@task(help={**ADMIN_HELP,
            "team": "this team only (default: every team)",
            "at": "the deadline (2026-12-18T23:59: this machine's time; ...Z: UTC); default: now",
            "undo": "lift the deadline (the submission stays)"})
def freeze(c, inventory=DEFAULT_INVENTORY, key=None, team=None, at=None, undo=False):
    """The deadline: from then on deploys, git pushes, rollbacks and config changes are refused; the live release
    is each team's submission (kept, with its database dump); the sites keep running."""
    with one_line_errors():
        term.freeze(class_inventory(inventory), team, at, undo, admin_key(key))


@task(help={**ADMIN_HELP,
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
        raise Exit(f"error: {e}", code=1)


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


deploy = team_task("deploy", "Deploy this working tree as a new release; back to the previous one if it is unhealthy.",
                   lambda inv, team, conn: team_tasks.deploy_release(conn, team, inv, REPO, cache_dir=WHEEL_CACHE))
setup_virtualenv = team_task("setup_virtualenv", "Build requirements.txt's virtualenv on the server (deploy does it too).",
                             lambda inv, team, conn: team_tasks.setup_virtualenv(conn, team.name, REPO,
                                                                                 cache_dir=WHEEL_CACHE))
rollback = team_task("rollback", "Make the release before the current one live again.",
                     lambda inv, team, conn: team_tasks.rollback(conn, team, inv))
run_devserver = team_task("run_devserver", "Run the live release's dev Flask server on the server (Ctrl-C stops it).",
                          lambda inv, team, conn: team_tasks.run_devserver(conn, team, inv))
list_deploys = team_task("list_deploys", "List the releases on the server, the live one marked *.",
                         lambda inv, team, conn: team_tasks.list_deploys(conn, team.name))
list_home = team_task("list_home", "List files in your team's home directory.",
                      lambda inv, team, conn: team_tasks.list_home(conn))
print_my_id = team_task("print_my_id", "Print your unique identifier, and who you are on the server.",
                        lambda inv, team, conn: team_tasks.print_my_id(conn))


# no short flags: -h would be --hard, not --help
@task(help={**TEAM_HELP, "hard": "stop and start uwsgi (through its master fifo, as you): requests fail meanwhile"},
      auto_shortflags=False)
def restart(c, team=None, key=None, hard=False):
    """Reload your uwsgi gracefully (no request fails), or --hard: stop and start it; view the end of its log."""
    with as_team(team, key) as (inv, chosen, conn):
        team_tasks.restart(conn, chosen, inv, hard=hard)


@task(help={**TEAM_HELP, "lines": "how many lines (default 100)", "cron": "your cron jobs' last runs instead"})
def logs(c, team=None, key=None, lines=100, cron=False):
    """Show the end of your uwsgi log, or (--cron) each cron job's last runs and their output."""
    with as_team(team, key) as (inv, chosen, conn):
        team_tasks.logs(conn, chosen.name, lines=int(lines), cron=cron)


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


dbshell = team_task("dbshell", "An interactive Python prompt on the server with your database as `db` (pymongo).",
                    lambda inv, team, conn: team_backup.dbshell(conn, team.name))


@task(help={**TEAM_HELP, "name": "the git remote's name (default hacknode)", "branch": "the branch that deploys (main)"})
def git_remote(c, team=None, key=None, name="hacknode", branch="main"):
    """Add a git remote to this repository: `git push hacknode main` deploys like `fab deploy`."""
    with as_team(team, key) as (inv, chosen, conn):
        team_git.git_remote(conn, chosen, inv, REPO, name, branch, team_choice.resolve_key(chosen.name, key))
