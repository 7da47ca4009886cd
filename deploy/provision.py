"""Provisioning: bring every server of a class to the state its inventory describes.

Per server, whatever the number of teams, at most three SSH round trips:
1. facts: one script reports what is there (commands, users, managed files, links, secrets present);
2. one transfer: a tarball of every file that must change (configs, wheels, the app);
3. one script: the steps that differ, in order, each checked before it goes live.
Planning is pure (`plan_server`): it compares desired with actual state and says, step by step,
`ok` or `changed` with the commands it would run. `--dry` prints that plan and stops.
"""
import datetime
import hashlib
import io
import json
import os
import shlex
import tarfile
import subprocess
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import paramiko

from deploy import layout, mongo, release
from deploy import wheels as wheels_mod
from deploy.ssh import admin_connection, as_root
from deploy.steps import Dir, File, Step, file_changes, install_commands
from deploy.layout import TeamPaths
from deploy.render import render_server

REMOTE = Path(__file__).parent / "remote"
REPO = Path(__file__).resolve().parent.parent
DEBIAN_DEFAULT_SITE = "/etc/nginx/sites-enabled/default"

# What a class server runs, by the command that proves it is there -> the Debian package that provides it.
REQUIRED_COMMANDS = {
    "nginx": "nginx",
    "supervisord": "supervisor",
    "sshd": "openssh-server",
    "rsync": "rsync",
    "sudo": "sudo",
    "curl": "curl",
    "visudo": "sudo",
}
RUNNING = {"nginx": "nginx", "supervisor": "supervisord"}   # process names, as pgrep -x sees them


class ProvisionError(Exception):
    """A step failed on a server; the message says which and why."""


@dataclass
class Artifacts:
    """What provisioning ships beside configs, prepared locally once per server kind."""
    wheels_dir: str = ""            # local wheelhouse for the server's python and architecture
    wheels_digest: str = ""
    app_dir: str = ""               # a local copy of the repo as `fab deploy` ships it
    release_id: str = ""
    requirements_hash: str = ""     # of the app's requirements.txt: names the team's virtualenv


# ---------- desired state (pure) ----------

def team_dirs(team):
    p = TeamPaths(team.name)
    t = team.name
    return [
        # nginx's user reaches static files and the socket through the home's group; other teams can't
        Dir(p.home, t, "www-data", "0750"),
        Dir(f"{p.home}/.ssh", t, t, "0700"),
        Dir(p.releases, t, t, "0755"),
        Dir(p.envs, t, t, "0755"),
        # setgid: the socket uwsgi creates here gets nginx's group, so chmod-socket 660 is enough
        Dir(p.run_dir, t, "www-data", "2750"),
        Dir(p.secrets, t, t, "0700"),
        Dir(p.log_dir, "root", t, "0750"),
    ]


def desired_files(inventory, server_name):
    """Every file this server should have, with owner and mode: rendered configs and teams' keys."""
    files = []
    for path, content in sorted(render_server(inventory, server_name).items()):
        mode = "0440" if path.startswith("/etc/sudoers.d/") else "0644"
        files.append(File(path, content, mode=mode))
    for team in inventory.teams_on(server_name):
        keys = "".join(f"{key}\n" for key in team.keys)
        files.append(File(f"{TeamPaths(team.name).home}/.ssh/authorized_keys",
                          "# managed by hacknode: the members of " + team.name + "\n" + keys,
                          owner=team.name, group=team.name, mode="0600"))
    return files


def facts_query(inventory, server_name, files):
    teams = inventory.teams_on(server_name)
    dirs = [d.path for t in teams for d in team_dirs(t)]
    per_team = [p for t in teams for p in (TeamPaths(t.name).current, TeamPaths(t.name).mongo_uri_file,
                                           f"{layout.TEAMS_DIR}/{t.name}")]
    return {
        "commands": sorted(set(REQUIRED_COMMANDS)),
        "users": [t.name for t in teams] + [layout.DB_USER],
        "groups": [t.name for t in teams] + ["www-data"],
        "files": [f.path for f in files] + [f"{layout.WHEELS}/.digest", f"{layout.TOOLS_VENV}/.hacknode",
                                            DEBIAN_DEFAULT_SITE],
        "paths": dirs + per_team + [layout.MONGO_ADMIN_FILE],
        "teams_glob": f"{layout.TEAMS_DIR}/*",
        "running": {**RUNNING, **mongo.running_patterns(inventory.mongodb)},
    }


# ---------- planning (pure) ----------

def plan_packages(server, facts):
    missing = sorted({pkg for cmd, pkg in REQUIRED_COMMANDS.items() if not facts["commands"].get(cmd)}
                     | (set() if facts["python_venv"] else {"python3-venv"}))
    commands = []
    if missing:
        commands = ["apt-get update -qq || hn_fail 'apt-get update failed: the server needs a package source for: "
                    + " ".join(missing) + "'",
                    "apt-get install -y -qq --no-install-recommends " + " ".join(missing) + " >/dev/null"]
    return Step(server, "packages", bool(missing), "missing: " + " ".join(missing) if missing else "", commands)


def plan_wheels(server, facts, artifacts):
    now = (facts["files"].get(f"{layout.WHEELS}/.digest") or {}).get("text", "").strip()
    if now == artifacts.wheels_digest:
        return Step(server, "wheels", False)
    return Step(server, "wheels", True, "new wheelhouse" if now else "no wheelhouse", [
        f"rm -rf {layout.WHEELS}.new && mkdir -p {os.path.dirname(layout.WHEELS)}",
        f"cp -r \"$HN_STAGE/wheels\" {layout.WHEELS}.new && chmod -R a+rX {layout.WHEELS}.new",
        f"rm -rf {layout.WHEELS} && mv {layout.WHEELS}.new {layout.WHEELS}",
        f"echo {artifacts.wheels_digest} > {layout.WHEELS}/.digest",
    ])


def plan_tools(server, facts, inventory, artifacts):
    """Root's virtualenv on the server: pymongo to manage users (and SecantusDB in secantus mode)."""
    packages = mongo.tools_packages(inventory.mongodb)
    marker = f"{layout.TOOLS_VENV}/.hacknode"
    want = f"{' '.join(packages)} {artifacts.wheels_digest}"
    now = (facts["files"].get(marker) or {}).get("text", "").strip()
    if now == want:
        return Step(server, "tools virtualenv", False)
    return Step(server, "tools virtualenv", True, "missing" if not now else "wheels changed", [
        f"rm -rf {layout.TOOLS_VENV} && python3 -m venv {layout.TOOLS_VENV}",
        f"{layout.TOOLS_VENV}/bin/pip install -q --no-index --find-links {layout.WHEELS} "
        + " ".join(shlex.quote(p) for p in packages),
        f"echo {shlex.quote(want)} > {marker}",
    ])


def plan_team(inventory, team, facts, artifacts):
    """A team's user, directories and database user; each is one step so output says what changed."""
    t, p = team.name, TeamPaths(team.name)
    steps = []
    user_cmds = []
    if facts["users"].get(t) and t not in facts["present_teams"]:
        raise ProvisionError(f"team {t}: the server already has a user {t} that hacknode did not make; "
                             "rename the team in the inventory (its home and keys would be taken over)")
    if not facts["users"].get(t):
        user_cmds += [f"getent group {t} >/dev/null || groupadd {t}",
                      f"useradd --create-home --home-dir {p.home} --shell /bin/bash --gid {t} {t}"]
    if facts["paths"].get(f"{layout.TEAMS_DIR}/{t}") is None:
        # the record of what provisioning made: a team dropped from the inventory is found and removed by it
        user_cmds.append(f"install -d -m 0755 {layout.TEAMS_DIR} && touch {layout.TEAMS_DIR}/{t}")
    steps.append(Step(t, "user", bool(user_cmds), "new" if user_cmds else "", user_cmds))

    dir_cmds = []
    for d in team_dirs(team):
        now = facts["paths"].get(d.path)
        if now is None or (now["owner"], now["group"], now["mode"]) != (d.owner, d.group, d.mode):
            dir_cmds.append(f"install -d -o {d.owner} -g {d.group} -m {d.mode} {d.path}")
            dir_cmds.append(f"chmod {d.mode} {d.path}")  # install -d keeps the mode of an existing dir
    steps.append(Step(t, "directories", bool(dir_cmds), f"{len(dir_cmds) // 2} to fix" if dir_cmds else "",
                      dir_cmds))

    if facts["paths"].get(p.mongo_uri_file) is None:
        steps.append(Step(t, "database", True, "no database user yet", mongo.team_user_commands(inventory.mongodb, t)))
    else:
        steps.append(Step(t, "database", False))

    if facts["paths"].get(p.current) is None:
        steps.append(Step(t, "first release", True, artifacts.release_id, first_release_commands(team, artifacts)))
    else:
        steps.append(Step(t, "first release", False))
    return steps


def first_release_commands(team, artifacts):
    """The repo's app as the team's first release, made runnable by the same script `fab deploy` runs;
    nothing serves yet, so `current` is simply set (the services step starts the program after)."""
    t, p = team.name, TeamPaths(team.name)
    release_dir = f"{p.releases}/{artifacts.release_id}"
    return [
        f"rm -rf {release_dir} && cp -r \"$HN_STAGE/app\" {release_dir} && chown -R {t}:{t} {release_dir}",
        f"runuser -u {t} -- bash -s -- prepare {artifacts.release_id} {artifacts.requirements_hash} "
        f"< \"$HN_STAGE/release-{t}.sh\"",
        f"runuser -u {t} -- ln -sfn releases/{artifacts.release_id} {p.current}",
    ]


def team_files(team):
    p = TeamPaths(team.name)
    return {p.uwsgi_ini, p.supervisor_conf, p.nginx_conf, p.nginx_location, p.sudoers, f"{p.home}/.ssh/authorized_keys"}


def plan_configs(server, teams, facts, files):
    """Rendered configs and keys: installed, then checked by nginx -t and supervisorctl reread
    (see activate_commands), all put back as they were if a check fails."""
    changed, diff = file_changes(files, facts)
    steps = []
    for scope, paths in [(t.name, team_files(t)) for t in teams]:
        mine = [f for f in changed if f.path in paths]
        changed = [f for f in changed if f.path not in paths]
        steps.append(Step(scope, "configs", bool(mine), ", ".join(os.path.basename(f.path) for f in mine),
                          install_commands(mine), mine))
    commands = install_commands(changed)
    whys = [os.path.basename(f.path) for f in changed]
    if facts["files"].get(DEBIAN_DEFAULT_SITE) is not None:
        # Debian's default site also claims default_server on port 80
        commands.insert(0, f"hn_remove {DEBIAN_DEFAULT_SITE}")
        whys.append("remove Debian's default site")
    steps.insert(0, Step(server, "configs", bool(commands), ", ".join(whys), commands, changed, diff))
    return steps


def activate_commands(steps, inventory, teams):
    """After files are in place: check them, make the services use them, then check every team's site."""
    changed_files = {f.path for s in steps if s.name == "configs" and s.changed for f in s.files}
    configs_changed = any(s.name == "configs" and s.changed for s in steps)
    commands = ["hn_supervisor_up"]
    if configs_changed:
        commands += [
            "for f in /etc/sudoers.d/hacknode-*; do [ -e \"$f\" ] || continue; "
            "visudo -cf \"$f\" >/dev/null || { hn_restore; hn_fail \"sudoers check failed: $f\"; }; done",
            "if ! out=$(nginx -t 2>&1); then hn_restore; echo \"$out\" >&2; "
            "hn_fail 'nginx -t refused the new config (see above); the running config is untouched'; fi",
            "out=$(supervisorctl reread 2>&1) || true; if echo \"$out\" | grep -q ERROR; then hn_restore; "
            "echo \"$out\" >&2; supervisorctl reread >/dev/null 2>&1 || true; "
            "hn_fail 'supervisorctl reread refused the new config (see above); the running config is untouched'; fi",
            "supervisorctl update >/dev/null",
        ]
    # supervisor restarts a program whose own config changed; a changed uwsgi ini needs a restart too
    commands += [f"supervisorctl restart {t.name} >/dev/null" for t in teams
                 if TeamPaths(t.name).uwsgi_ini in changed_files and TeamPaths(t.name).supervisor_conf not in changed_files]
    commands.append("hn_nginx_up reload" if configs_changed else "hn_nginx_up")
    commands += [f"hn_health {t.name} {release.host_header(t, inventory)} {TeamPaths(t.name).uwsgi_log}" for t in teams]
    return commands


def plan_server(inventory, server_name, facts, files, artifacts, prune=False):
    """Every step for one server, in the order they run, each `changed` or not. Teams provisioning made
    that the inventory no longer lists are archived and removed only with `prune`. Pure."""
    server = server_name
    teams = inventory.teams_on(server_name)
    steps = [plan_packages(server, facts), plan_wheels(server, facts, artifacts),
             plan_tools(server, facts, inventory, artifacts)]
    steps += mongo.plan_server_db(server, inventory.mongodb, facts, files)
    for team in teams:
        steps += plan_team(inventory, team, facts, artifacts)
    # the database's own program goes live in its step, before teams need it
    steps += plan_configs(server, teams, facts, [f for f in files if f.path != layout.SECANTUS_CONF])
    services_down = [name for name, up in facts["running"].items() if not up]
    any_change = any(s.changed for s in steps)
    steps.append(Step(server, "services", bool(services_down) or any_change,
                      "not running: " + " ".join(services_down) if services_down else "",
                      activate_commands(steps, inventory, teams)))
    for gone in sorted(set(facts["present_teams"]) - {t.name for t in teams}):
        if prune:
            steps.append(Step(gone, "remove (not in inventory)", True, "archive, then remove",
                              removal_commands(gone, inventory.mongodb)))
        else:   # a typo in a team name must not remove a team: say so and keep it
            steps.append(Step(gone, "not in inventory", False,
                              f"kept; `fab provision --prune` or `fab remove_team --team {gone}` removes it"))
    return steps


def removal_commands(team, mongodb):
    """Archive a team's code and database, then remove everything provisioning made for it."""
    p = TeamPaths(team)
    return [
        f"[ -e {layout.TEAMS_DIR}/{team} ] || hn_fail '{team} is not a team hacknode made on this server'",
        f"hn_archive {team}",
        f"supervisorctl stop {team} >/dev/null 2>&1 || true",
        f"rm -f {p.supervisor_conf} {p.uwsgi_ini} {p.nginx_conf} {p.nginx_location} {p.sudoers}",
        "supervisorctl update >/dev/null",
        "nginx -t 2>/dev/null && hn_service nginx reload",
        *mongo.drop_team_commands(mongodb, team),
        f"pkill -u {team} || true",
        f"userdel -r {team} 2>/dev/null || true; getent group {team} >/dev/null && groupdel {team} || true",
        f"rm -rf {p.log_dir} {p.home} {layout.TEAMS_DIR}/{team}",
    ]


# ---------- the script, the bundle (pure but for reading local files) ----------

def server_script(commands, mongodb, stage="$1"):
    """A root script for a server: our shell helpers, the admin URI (read from stdin in external mode),
    then `commands`. It runs from a file or argv, never from stdin: pip and python would read it."""
    lines = [f"HN_STAGE={stage}", f"HN_TOOLS={layout.TOOLS_VENV}", mongo.script_header(mongodb),
             "exec </dev/null  # nothing below reads the instructor's terminal",
             (REMOTE / "apply-lib.sh").read_text(), (REMOTE / "archive.sh").read_text(), *commands, "echo HN-DONE"]
    return "\n".join(lines) + "\n"


def apply_script(steps, inventory):
    """The changed steps' commands, each announced by hn_step, as the server script of the bundle."""
    commands = []
    for step in steps:
        if step.changed:
            commands.append(f"hn_step {shlex.quote(step.scope)} {shlex.quote(step.name)}")
            commands += step.commands
    return server_script(commands, inventory.mongodb)


def run_bundle_command(upload):
    """Unpacks the uploaded bundle into a private directory and runs its script (which removes the directory).
    `upload` is relative to the admin's home: no other user can have put or swapped a file there."""
    return (f"bash -c 'set -e; d=$(mktemp -d /var/tmp/hacknode-stage.XXXXXX); tar -xzf {upload} -C \"$d\"; "
            f"rm -f {upload}; exec bash \"$d/apply.sh\" \"$d\"'")


def make_bundle(steps, artifacts, script, path):
    """One tarball with the script and every file the changed steps need."""
    names = {s.name for s in steps if s.changed}
    with tarfile.open(path, "w:gz") as tar:
        add_bytes(tar, "apply.sh", script.encode())
        for step in steps:
            if step.changed:
                for f in step.files:
                    add_bytes(tar, f"files{f.path}", f.content.encode())
        if "wheels" in names:
            tar.add(artifacts.wheels_dir, arcname="wheels")
        if "first release" in names:
            tar.add(artifacts.app_dir, arcname="app")
            for team in {s.scope for s in steps if s.name == "first release" and s.changed}:
                add_bytes(tar, f"release-{team}.sh", release.script_text(TeamPaths(team)).encode())


def add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


# ---------- running it ----------

def gather_facts(c, server, query):
    script = (REMOTE / "facts.py").read_text()
    # the script goes in argv: Fabric feeds a multi-kilobyte in_stream slowly (~30 s for 5 kB)
    result = c.run(as_root(server, f"python3 -c {shlex.quote(script)} {shlex.quote(json.dumps(query))}"),
                   hide=True, warn=True)
    if result.failed:
        raise ProvisionError(f"{c.host}: could not read the server's state: {result.stderr.strip()[-500:]}")
    return json.loads(result.stdout)


class StepPrinter:
    """Turns the server script's HN-STEP lines into `server scope step ... changed` lines as they come."""

    def __init__(self, server, say):
        self.server, self.say, self.buffer, self.current = server, say, "", None

    def write(self, text):
        self.buffer += text
        while "\n" in self.buffer:
            line, self.buffer = self.buffer.split("\n", 1)
            if line.startswith("HN-STEP "):
                self.finish()
                self.current = line[len("HN-STEP "):]
            elif line == "HN-DONE":
                self.finish()
            elif line.strip():
                self.say(f"  {self.server}: {line}")

    def finish(self):
        if self.current:
            scope, _, name = self.current.partition(" ")
            self.say(format_step(self.server, scope, name, "changed"))
            self.current = None

    def flush(self):
        pass


def format_step(server, scope, name, status, why=""):
    scope = "" if scope == server else scope
    return f"{server:<10} {scope:<12} {name:<26} {status}" + (f"  ({why})" if why else "")


def provision_server(c, inventory, server_name, prepare_artifacts, dry=False, say=print, prune=False):
    """Bring one server to its desired state. Returns (steps, round_trips)."""
    files = desired_files(inventory, server_name)
    server = inventory.server(server_name)
    facts = gather_facts(c, server, facts_query(inventory, server_name, files))
    artifacts = prepare_artifacts(facts)
    steps = plan_server(inventory, server_name, facts, files, artifacts, prune)
    for step in steps:
        if not step.changed:
            say(format_step(server_name, step.scope, step.name, "ok", step.why))
        elif dry:
            say(format_step(server_name, step.scope, step.name, "would change", step.why))
    changed = [s for s in steps if s.changed]
    if dry:
        for step in changed:
            for command in step.commands:
                say(f"  {server_name}: $ {command}")
        diff = "".join(s.diff for s in steps)
        if diff:
            say(diff.rstrip("\n"))
        return steps
    if not changed:
        return steps
    with tempfile.TemporaryDirectory() as tmp:
        bundle = f"{tmp}/bundle.tar.gz"
        make_bundle(steps, artifacts, apply_script(steps, inventory), bundle)
        upload = f"hacknode-upload-{uuid.uuid4().hex}.tar.gz"
        c.put(bundle, upload)
    printer = StepPrinter(server_name, say)
    result = c.run(as_root(server, run_bundle_command(upload)), in_stream=io.StringIO(mongo.admin_uri_input(inventory.mongodb)),
                   out_stream=printer, err_stream=printer, warn=True, hide=False)
    printer.finish()
    if result.failed:
        reason = [ln[len("HN-FAIL "):] for ln in result.stderr.splitlines() if ln.startswith("HN-FAIL ")]
        raise ProvisionError(f"{server_name}: " + (reason[-1] if reason else
                             f"a step failed (exit {result.exited}): {result.stderr.strip()[-800:]}"))
    return steps


# ---------- the whole class ----------

def server_requirements(inventory, cache_dir):
    """The app's requirements plus the server tools', as one file: one wheelhouse per server kind."""
    text = (REPO / "requirements.txt").read_text() + "".join(f"{p}\n" for p in mongo.tools_packages(inventory.mongodb))
    path = Path(cache_dir) / f"server-requirements-{hashlib.sha256(text.encode()).hexdigest()[:12]}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(text)
    return path


def copy_app(destination, source=REPO):
    """The repo's working tree as a team's `fab deploy` ships it (the same rsync, the same excludes)."""
    done = subprocess.run(release.rsync_command(source, f"{destination}/", "ssh"), capture_output=True, text=True)
    if done.returncode != 0:
        raise ProvisionError(f"copying the app from {source} failed: {done.stderr.strip()}")
    return destination


class ArtifactMaker:
    """Prepares each server kind's artifacts once, even when servers ask at the same time."""

    def __init__(self, inventory, cache_dir, app_dir):
        self.inventory, self.cache_dir, self.app_dir = inventory, cache_dir, app_dir
        self.lock = threading.Lock()
        self.made = {}
        self.release_id = release.release_id(datetime.datetime.now(datetime.timezone.utc),
                                             release.git_short_sha(str(REPO)))

    def __call__(self, facts):
        key = (facts["python"], facts["arch"])
        with self.lock:
            if key not in self.made:
                requirements = server_requirements(self.inventory, self.cache_dir)
                wheels = wheels_mod.build_wheelhouse(requirements, facts["python"], facts["arch"],
                                                     f"{self.cache_dir}/wheels")
                digest = hashlib.sha256(" ".join(wheels_mod.wheel_files(wheels)).encode()).hexdigest()[:16]
                self.made[key] = Artifacts(wheels, digest, self.app_dir, self.release_id,
                                           wheels_mod.requirements_hash(REPO / "requirements.txt"))
            return self.made[key]


def provision_class(inventory, key=None, dry=False, say=print, cache_dir=str(REPO / ".cache"), prune=False):
    """Provision every server of the inventory in parallel. Returns {server: steps}; raises
    ProvisionError naming every server that failed, after all have finished."""
    started = time.monotonic()
    app_copy = tempfile.TemporaryDirectory(prefix="hacknode-app-")
    make_artifacts = ArtifactMaker(inventory, cache_dir, copy_app(app_copy.name))

    def one(server):
        c = admin_connection(server, key)
        try:
            return (server.name, provision_server(c, inventory, server.name, make_artifacts, dry, say, prune),
                    c.round_trips, "")
        except (ProvisionError, mongo.MongoPlanError, wheels_mod.WheelhouseError) as e:
            return server.name, [], c.round_trips, str(e)
        except (OSError, paramiko.SSHException) as e:
            return server.name, [], c.round_trips, (f"cannot reach {server.admin_user}@{server.address}:"
                                                    f"{server.ssh_port} over SSH: {e}")
        finally:
            c.close()

    with app_copy, ThreadPoolExecutor(max_workers=len(inventory.servers)) as pool:
        results = list(pool.map(one, inventory.servers))
    failures = []
    for name, steps, trips, error in results:
        changed = sum(s.changed for s in steps)
        verb = "would change" if dry else "changed"
        if error:
            failures.append(f"{name}: {error}")
            say(f"{name}: FAILED after {trips} SSH round trips: {error}")
        else:
            say(f"{name}: {len(steps) - changed} ok, {changed} {verb}; {trips} SSH round trips")
    total = sum(r[2] for r in results)
    say(f"{'dry run' if dry else 'provision'}: {len(results)} servers, {len(inventory.teams)} teams, "
        f"{total} SSH round trips, {time.monotonic() - started:.1f}s"
        + ("" if any(s.changed for r in results for s in r[1]) or failures else "; nothing to change"))
    if failures:
        raise ProvisionError("provision failed on " + "; ".join(failures))
    return {name: steps for name, steps, _, _ in results}
