"""What a team does to its own hacknode, as its own UNIX user: the workshop's tasks, grown up.

Every function takes the Fabric connection `c` first (logged in as the team's user on the team's server)
and reads no globals; fabfile.py only resolves the team, the inventory and the connection, then calls these.
The release logic itself runs on the server: deploy/remote/release.sh, sent inside the command. A deploy is
two remote commands on Fabric's connection and one rsync (two when requirements.txt changed) on a shared
OpenSSH connection, opened meanwhile.
"""
import getpass
import os
import re
import shlex
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from deploy.core import commands, procfile, release, runner, wheels
from deploy.core.errors import DeployError
from deploy.core.layout import TeamPaths
from deploy.inventory.model import team_host
from deploy.team import cron as cron_runs


class TeamTaskError(DeployError):
    """A team task that failed on this side; the message says what failed."""


def say(c, message):
    """The workshop's style: [user@host] what happens."""
    print(f"[{c.user}@{c.host}] {message}", flush=True)


def run_release(c, team_name, subcommand, *args):
    """deploy/remote/release.sh `subcommand` on the server as the team, its output shown as it comes."""
    return runner.run(c, commands.release(TeamPaths(team_name), subcommand, *args), show=True)


def server_facts(c, team_name, requirements_hash, claim=None):
    """{'python': '3.11', 'arch': 'x86_64', 'env': 'present'|'missing', 'current': <release id> or ''};
    with `claim`, the release directory of that id is made for this deploy alone (refused if it exists)."""
    result = runner.run(c, commands.release(TeamPaths(team_name), "facts", requirements_hash,
                                            *([claim] if claim else [])))
    return dict(part.split("=", 1) for part in result.stdout.split())


def claim_release(c, team_name, requirements_hash, source_dir, tries=3):
    """A new release id, claimed on the server, and the server's facts. An id is a second's: a deploy right after
    another (one takes about a second) or a teammate's in the same second finds it taken and takes the next one."""
    for _ in range(tries):
        release_id = release.new_release_id(source_dir)
        facts = server_facts(c, team_name, requirements_hash, claim=release_id)
        if facts.get("claimed") != "no":
            return release_id, facts
        time.sleep(1.01 - time.time() % 1)
    raise TeamTaskError(f"release {release_id} and the {tries - 1} before it were taken by other deploys of "
                        f"{team_name} in each of those seconds: deploy again")


def rsync_ssh(c, ssh_options=()):
    """The ssh command rsync uses to reach `c`'s host as `c`'s user, with the same key. Its master connection is
    this task's own (named after the task's connection): two members deploying at once each close only their own
    at the end; a shared one, closed by the deploy refused first, cut the other's rsync (exit 255)."""
    key = c.connect_kwargs.get("key_filename")
    if isinstance(key, (list, tuple)):
        key = key[0] if key else None
    return release.ssh_command(port=c.port, key=key, options=ssh_options, control_dir=release.control_dir("/tmp"),
                               control_name=f"%C-{os.getpid():x}-{id(c) & 0xffffffff:x}")


def open_ssh_master(c, ssh_options=()):
    """Open, in the background, the master connection the task's rsyncs share; returns what to join() before the
    first rsync, or None when this user has no private folder for its socket (each rsync connects then). Its
    handshake (a third of a second, most of it the key exchange) overlaps Fabric's own round trips. It runs `true`:
    with ControlPersist the master then stays, detached from this command's output (so join() returns), and a
    master already open (another task of this user's to this host) is used as it is."""
    if release.control_dir("/tmp") is None:
        return None
    ssh, target = rsync_ssh(c, ssh_options), shlex.quote(f"{c.user}@{c.host}")
    return c.local(f"{ssh} -o ConnectTimeout=15 {target} true </dev/null", asynchronous=True, warn=True, hide=True)


@contextmanager
def ssh_master(c, ssh_options=()):
    """The task's rsyncs share one SSH connection, opened in the background at once and closed at the end: a server
    made anew at the same address (test hosts are) must not get the next task's rsync over a dead connection.
    Yields what to call before the first rsync: it waits until the connection is up."""
    opening = open_ssh_master(c, ssh_options)
    try:
        yield opening.join if opening is not None else (lambda: None)
    finally:
        if opening is not None:      # a Promise: its truth is its result's, known only once joined
            opening.join()
        c.local(f"{rsync_ssh(c, ssh_options)} -O exit {shlex.quote(f'{c.user}@{c.host}')}", warn=True, hide=True)


def rsync(c, source, remote_dir, ssh_options=(), **options):
    """rsync `source`'s contents into `remote_dir` on `c`'s host; TeamTaskError when it fails."""
    command = release.rsync_command(source, f"{c.user}@{c.host}:{remote_dir}/", rsync_ssh(c, ssh_options), **options)
    result = c.local(" ".join(shlex.quote(part) for part in command), warn=True, hide=False, pty=False)
    if not result.ok:
        raise TeamTaskError(f"rsync to {c.host}:{remote_dir} failed (exit {result.exited})")


def ship_wheels(c, team_name, source_dir, facts, cache_dir, ssh_options=()):
    """Build (or reuse) the wheelhouse of the requirements for the server's Python and CPU, and rsync it
    with the requirements file into the team's wheels directory."""
    requirements = Path(source_dir) / "requirements.txt"
    try:
        wheelhouse = wheels.build_wheelhouse(requirements, facts["python"], facts["arch"], cache_dir=cache_dir)
    except wheels.WheelhouseError as error:
        raise TeamTaskError(str(error)) from None
    say(c, f"shipping {len(wheels.wheel_files(wheelhouse))} wheels (Python {facts['python']}, {facts['arch']}) "
           f"to {TeamPaths(team_name).wheels}")
    rsync(c, wheelhouse, TeamPaths(team_name).wheels, ssh_options, excludes=(wheels.COMPLETE,), delete=True)


UWSGI_LINE = re.compile(r"^\s*pyuwsgi\s*($|[=<>~!;\[ ])", re.IGNORECASE | re.MULTILINE)


def _requirements(source_dir):
    path = Path(source_dir) / "requirements.txt"
    if not path.is_file():
        raise TeamTaskError(f"{path}: no such file (the team's virtualenv is built from it)")
    if not UWSGI_LINE.search(path.read_text(errors="replace")):
        pinned = next(line for line in (Path(__file__).parents[2] / "requirements.txt").read_text().splitlines()
                      if UWSGI_LINE.match(line))
        raise TeamTaskError(f"{path}: no pyuwsgi line: the site runs on uwsgi from the release's own virtualenv "
                            f"(add the line {pinned}, as Rapid News's requirements.txt has it)")
    return path


def read_procfile(source_dir):
    """The tree's Procfile (procfile.DEFAULT without one), checked here: a bad one is one line, before anything is
    sent (the server checks the shipped one again: a `git push` gets the same line)."""
    path = Path(source_dir) / "Procfile"
    if not path.exists() and not path.is_symlink():
        return procfile.DEFAULT
    if path.is_symlink() or not path.is_file():
        raise TeamTaskError(f"{path}: not a plain file (a link is shipped as a link, not as the file it names)")
    try:
        with path.open("rb") as f:
            return procfile.parse(procfile.decode(f.read(procfile.MAX_BYTES + 1), str(path)), str(path))
    except procfile.ProcfileError as error:
        raise TeamTaskError(str(error)) from None


def deploy_release(c, team, inventory, source_dir, cache_dir=".cache/wheels", ssh_options=()):
    """Ship `source_dir` as a new release and make it live; back to the previous one if it is not healthy.
    Returns the release id."""
    read_procfile(source_dir)
    _requirements(source_dir)
    with ssh_master(c, ssh_options) as master_ready:
        return ship_release(c, team, inventory, source_dir, cache_dir, ssh_options, master_ready)


def ship_release(c, team, inventory, source_dir, cache_dir, ssh_options, master_ready):
    """deploy_release's work: facts, wheels when requirements changed, rsync, then release.sh deploy. The rsyncs
    wait for the shared SSH connection (`master_ready`), opened meanwhile."""
    started = time.monotonic()
    requirements_hash = wheels.requirements_hash(_requirements(source_dir))
    release_id, facts = claim_release(c, team.name, requirements_hash, source_dir)
    paths = TeamPaths(team.name)
    say(c, f"deploy {Path(source_dir).resolve()} as release {release_id} (team {team.name}, server {team.server})")
    master_ready()
    if facts["env"] == "missing":
        say(c, f"requirements.txt changed (virtualenv envs/{requirements_hash} is new): it is built before the switch")
        ship_wheels(c, team.name, source_dir, facts, cache_dir, ssh_options)
    say(c, f"rsync: working tree -> {paths.releases}/{release_id}")
    # Files unchanged since the live release become hard links to it (relative to the new release's folder).
    link_dest = "../../current/" if facts["current"] else None
    try:
        rsync(c, source_dir, f"{paths.releases}/{release_id}", ssh_options, link_dest=link_dest)
    except TeamTaskError as error:      # disk full, connection cut: no half-written release stays behind
        runner.run(c, commands.release(paths, "abandon", release_id), check=False)
        raise TeamTaskError(f"{error}: release {release_id} was not made (is the server's disk full?); "
                            "the live release is unchanged") from None
    host = team_host(team.name, inventory.domain)
    run_release(c, team.name, "deploy", release_id, requirements_hash, host)
    say(c, f"release {release_id} is live at {inventory.tls.scheme}://{host}/ "
           f"({time.monotonic() - started:.1f}s)")
    return release_id


def setup_virtualenv(c, team_name, source_dir, cache_dir=".cache/wheels", ssh_options=()):
    """Make sure the server has the virtualenv of `source_dir`'s requirements.txt (deploy does this too)."""
    requirements_hash = wheels.requirements_hash(_requirements(source_dir))
    paths = TeamPaths(team_name)
    say(c, f"virtualenv for requirements.txt ({requirements_hash}) in {paths.envs}")
    facts = server_facts(c, team_name, requirements_hash)
    if facts["env"] == "present":
        say(c, f"virtualenv envs/{requirements_hash}: ok")
        return
    with ssh_master(c, ssh_options) as master_ready:
        master_ready()
        ship_wheels(c, team_name, source_dir, facts, cache_dir, ssh_options)
    c.put(str(_requirements(source_dir)), f"{paths.wheels}/requirements.txt")
    run_release(c, team_name, "env", requirements_hash, f"{paths.wheels}/requirements.txt")


def rollback(c, team, inventory):
    """Make the release before the current one live again (health-checked like a deploy)."""
    say(c, f"rollback of {team.name} to the release before the current one")
    run_release(c, team.name, "rollback", team_host(team.name, inventory.domain))


def run_shown(c, command, check=True):
    """A team command, announced in the workshop's style, its output shown."""
    say(c, command.line())
    return runner.run(c, command, show=True, check=check)


def restart(c, team, inventory, hard=False):
    """Restart the team's uwsgi. By default a graceful reload (what a deploy does): workers finish their
    requests, new ones wait in the socket's backlog, none fails; then /healthz is checked. With `hard`, a stop
    and start through uwsgi's master fifo (the team's own: no root, no sudo), supervisor starting a new master:
    requests fail until it is back; /healthz checked too. Then the end of its log (as the workshop did: the
    last 800 bytes), read by the team."""
    if hard:
        say(c, f"hard restart: {team.name}'s site answers errors (502) until uwsgi is started again")
    # a failure raises with release.sh's own lines (its log since the restart among them)
    run_release(c, team.name, "restart" if hard else "reload", team_host(team.name, inventory.domain))
    run_shown(c, commands.log_end(TeamPaths(team.name)), check=False)


def logs(c, team_name, lines=100, cron=False):
    """The last `lines` lines of the team's uwsgi log; with `cron`, each cron job's last runs (the text, printed)."""
    if cron:
        return cron_runs.show_runs(c, team_name)
    run_shown(c, commands.log_tail(TeamPaths(team_name), lines), check=False)
    return None


def list_deploys(c, team_name):
    """The releases on the server, newest first, the live one marked *."""
    say(c, f"releases in {TeamPaths(team_name).releases}")
    run_release(c, team_name, "list")


def list_home(c):
    """The workshop's first task: ls -lha in the team's home."""
    run_shown(c, commands.program("list the home", "ls", "-lha"))


def unique_id():
    """The workshop's id of a team member: local user and host."""
    return f"{getpass.getuser()}__{socket.gethostname()}"


def print_my_id(c):
    """Who you are here, and who you are on the server."""
    print(f"UNIQUE ID: {unique_id()}")
    run_shown(c, commands.program("id", "id"))


def devserver_port(inventory, team):
    """8000 + the team's position among its server's teams: teams sharing a server get different ports."""
    return 8000 + [t.name for t in inventory.teams_on(team.server)].index(team.name)


def run_devserver(c, team, inventory):
    """Flask's development server on the team's server, from the live release and its virtualenv, with the
    team's settings; runs until Ctrl-C."""
    paths = TeamPaths(team.name)
    port = devserver_port(inventory, team)
    server = inventory.server(team.server)
    say(c, f"flask run in {paths.current} on port {port}: http://{server.hostname or server.address}:{port}/ "
           f"(Ctrl-C stops it)")
    command = commands.with_settings(paths, "flask run", "rapid-env/bin/flask", "--app", "app.wsgi:app", "run",
                                     "--host", "0.0.0.0", "--port", str(port))
    runner.run(c, command, show=True, check=False, pty=True)
