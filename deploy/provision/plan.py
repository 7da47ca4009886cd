"""A server's plan (pure): desired state against the server's facts, as Steps that say `ok` or `changed`
with the commands and uploads that would change it. Nothing here touches a server."""
import os
import shlex

from deploy.configs.render import class_page_command, render_server
from deploy.core import commands, layout
from deploy.core.commands import helper
from deploy.core.layout import TeamPaths
from deploy.core.steps import File, Step, Upload, file_changes, install_commands
from deploy.inventory.model import team_host
from deploy.provision import database, team as team_plan
from deploy.provision.bounds import SYSTEMD_RUNNING, plan_quotas, plan_scheduled_jobs, plan_slices
from deploy.provision.tools import tool_files
from deploy.provision.upgrade import (changed_contents, how_teams_take_configs, nginx_changed, plan_version,
                                      services_why, version_file)
from deploy.tls import acme
from deploy.tls.material import ServerTls
from deploy.tls.plan import plan_tls, tls_fact_paths

DEBIAN_DEFAULT_SITE = "/etc/nginx/sites-enabled/default"
OLD_SUDOERS_GLOB = f"{layout.OLD_SUDOERS_DIR}/hacknode-*"     # teams' sudo rules, as provisioning wrote them before
# a change of these server steps can touch every team's site: the services step checks them all
# (team slices: daemon-reload applies new limits to the running programs of the teams it names)
SITE_WIDE_STEPS = {"configs", "tls", "secantus", "mongod", "certificates", "packages", "team slices"}

# What a class server runs, by the command that proves it is there -> the Debian package that provides it.
REQUIRED_COMMANDS = {
    "nginx": "nginx",
    "supervisord": "supervisor",
    "sshd": "openssh-server",
    "rsync": "rsync",
    "sudo": "sudo",
    "curl": "curl",
    "git": "git",           # `git push` deploys (fab git_remote): the team's bare repository and its hook
}
RUNNING = {"nginx": ["nginx", "root"], "supervisor": ["supervisord", "root"]}   # [process name, its user], as pgrep
# -u USER -x NAME sees them: a process a team named so is no service


def boot_units(mongodb):
    """The systemd units that must start at boot for every site to answer after a reboot with no command run:
    supervisor starts the teams' apps and SecantusDB (autostart), nginx serves them, mongod in its mode."""
    return ["supervisor", "nginx"] + (["mongod"] if mongodb.mode == "mongod" else [])


def wanted_at_boot(unit):
    return f"/etc/systemd/system/multi-user.target.wants/{unit}.service"


def desired_files(view, cgroups=False):
    """Every config this server should have, with owner and mode: rendered configs and teams' keys. `cgroups`:
    systemd runs the server (plan_limits.cgroups_bound); the files' paths are the same either way."""
    files = []
    for path, content in sorted(render_server(view, cgroups).items()):
        files.append(File(path, content, mode="0644"))
    for team in view.teams:
        keys = "".join(f"{key}\n" for key in team.keys)
        files.append(File(f"{TeamPaths(team.name).home}/.ssh/authorized_keys",
                          "# managed by hacknode: the members of " + team.name + "\n" + keys,
                          owner=team.name, group=team.name, mode="0600"))
    return files


def facts_query(view, files):
    """What the facts script must report for this server's plan."""
    names = [t.name for t in view.teams]
    tls_files, tls_paths = tls_fact_paths(view)
    certificates = acme.facts_query(view)
    return {
        "commands": sorted(set(required_commands(view))),
        "users": names + [layout.DB_USER],
        "files": [f.path for f in files + tool_files() + [version_file()]] + [f"{layout.WHEELS}/.digest",
                                                           f"{layout.TOOLS_VENV}/.hacknode", DEBIAN_DEFAULT_SITE]
                 + tls_files + certificates["files"] + list(layout.JOB_DENY_FILES),
        "paths": [p for name in names for p in team_plan.team_fact_paths(name)] + [layout.MONGO_ADMIN_FILE,
                  SYSTEMD_RUNNING, layout.LOG_ROOT] + [wanted_at_boot(unit) for unit in boot_units(view.mongodb)]
                 + tls_paths + certificates["paths"],
        "globs": certificates["globs"] + [OLD_SUDOERS_GLOB],
        "teams_glob": f"{layout.TEAMS_DIR}/*",
        "running": {**RUNNING, **database.running_patterns(view.mongodb)},
        "slice_dropin": layout.SLICE_DROPIN,
        "homes": layout.HOMES,
        "crontabs": layout.CRONTABS,
        "at_jobs": layout.AT_JOBS,
        "databases": database.database_addresses(view.mongodb),
    }


def required_commands(view):
    """What this server must run, by command -> package: certbot too in tls mode acme."""
    return {**REQUIRED_COMMANDS, **(acme.REQUIRED_COMMANDS if view.tls.mode == "acme" else {})}


def plan_packages(server, facts, required):
    missing = sorted({pkg for cmd, pkg in required.items() if not facts.commands.get(cmd)}
                     | (set() if facts.python_venv else {"python3-venv"}))
    if not missing:
        return Step(server, "packages", False)
    return Step(server, "packages", True, "missing: " + " ".join(missing),
                [commands.helper("hn_apt_install", *missing)])


def plan_boot(server, facts, mongodb):
    """Enable at boot what must start at boot, where systemd runs (elsewhere nothing starts at boot)."""
    if not facts.has(SYSTEMD_RUNNING):
        return Step(server, "start at boot", False, "no systemd here")
    off = [unit for unit in boot_units(mongodb) if not facts.has(wanted_at_boot(unit))]
    if not off:
        return Step(server, "start at boot", False)
    return Step(server, "start at boot", True, "not enabled: " + " ".join(off),
                [commands.helper("hn_enable_at_boot", *off)])


def plan_wheels(server, facts, artifacts):
    now = (facts.file_text(f"{layout.WHEELS}/.digest") or "").strip()
    if now == artifacts.wheels_digest:
        return Step(server, "wheels", False)
    return Step(server, "wheels", True, "new wheelhouse" if now else "no wheelhouse",
                [commands.helper("hn_install_wheels", layout.WHEELS, layout.UV, artifacts.wheels_digest)],
                uploads=[Upload("wheels", artifacts.wheels_dir)])


def plan_tools(server, facts, mongodb, artifacts):
    """Root's virtualenv (pymongo, and SecantusDB in secantus mode) and hacknode's programs on the server."""
    packages = database.tools_packages(mongodb)
    marker = f"{layout.TOOLS_VENV}/.hacknode"
    want = f"{' '.join(packages)} {artifacts.wheels_digest}"
    now = (facts.file_text(marker) or "").strip()
    changed, diff = file_changes(tool_files(), facts)
    why = [os.path.basename(f.path) for f in changed]
    commands = install_commands(changed)     # make-venv first: the virtualenv below is made by it
    if not facts.has(layout.LOG_ROOT):       # the teams' log folders and the class page's log are in it (in every
        why.append("log folder missing")     # database mode: not made by SecantusDB's step alone)
        commands.insert(0, f"install -d -m 0755 {layout.LOG_ROOT}")
    if now != want:
        why.insert(0, "virtualenv " + ("missing" if not now else "wheels changed"))
        commands += [f"{layout.MAKE_VENV} {layout.TOOLS_VENV} {layout.TOOLS_UV_CACHE} {layout.WHEELS} -- "
                     + " ".join(shlex.quote(p) for p in packages),
                     helper("hn_put_line", marker, want)]
    if commands:    # a running class page writer loads its code once (a new server has none yet)
        commands.append("hn_restart_running hacknode-class-page")
        # the nightly backups too, where they run (a program off stays off: restart would start it)
        commands.append("hn_restart_if_running hacknode-backups")
    return Step(server, "server tools", bool(commands), ", ".join(why), commands, changed, diff)


def plan_configs(server, teams, facts, files):
    """Rendered configs and keys, a step per team and one for the server's own: installed, then checked by
    nginx -t and supervisor's own reading (hn_supervisor_update, see activate_commands), all put back as they were if a check fails."""
    changed, diff = file_changes(files, facts)
    steps = []
    for team in teams:
        paths = team_plan.team_files(team.name)
        mine = [f for f in changed if f.path in paths]
        changed = [f for f in changed if f.path not in paths]
        steps.append(Step(team.name, "configs", bool(mine), ", ".join(os.path.basename(f.path) for f in mine),
                          install_commands(mine), mine, job=team.name))   # its keys need its user: same job
    commands = install_commands(changed)
    if any(f.path == layout.PAM_UMASK_PROFILE for f in changed):
        commands.append("pam-auth-update --package")    # Debian's way to put a profile into /etc/pam.d/common-*
    whys = [os.path.basename(f.path) for f in changed]
    if facts.files.get(DEBIAN_DEFAULT_SITE) is not None:
        # Debian's default site also claims default_server on port 80
        commands.insert(0, f"hn_remove {DEBIAN_DEFAULT_SITE}")
        whys.append("remove Debian's default site")
    steps.insert(0, Step(server, "configs", bool(commands), ", ".join(whys), commands, changed, diff))
    return steps


def plan_old_sudo_rules(server, teams, facts):
    """No team has a sudo rule: the one provisioning used to write (`sudo supervisorctl restart|status|tail TEAM`)
    made any team root, as supervisorctl reads ./supervisord.conf from the caller's folder and runs what it names.
    A rule left by an older provisioning is removed, for every team hacknode made here (kept ones too)."""
    ours = set(teams) | set(facts.present_teams)
    found = [path for path in facts.globs.get(OLD_SUDOERS_GLOB, ())
             if os.path.basename(path)[len("hacknode-"):] in ours]
    if not found:
        return Step(server, "sudo rules", False, "none: a team runs everything as itself")
    return Step(server, "sudo rules", True, "removed " + " ".join(os.path.basename(p) for p in found),
                ["rm -f " + " ".join(shlex.quote(p) for p in found)])


def health_args(view, teams):
    return " ".join(f"{t.name} {team_host(t.name, view.domain)} {TeamPaths(t.name).uwsgi_log}" for t in teams)


def activate_commands(config_steps, view, checked_teams, facts):
    """After files are in place: check them, make the services use them, then check the sites of
    `checked_teams` (sites_to_check)."""
    changed_files = {f.path for s in config_steps if s.changed for f in s.files}
    configs_changed = any(s.changed for s in config_steps)
    reloaded, restarted = how_teams_take_configs(view, facts, changed_contents(config_steps))
    commands = ["hn_supervisor_up"]
    if configs_changed:
        commands += [
            "hn_nginx_check",
            # every changed program but the running teams' that need a restart (below, one by one)
            " ".join(["hn_supervisor_update"] + (["--except"] + [t.name for t in restarted] if restarted else [])),
        ]
    if reloaded:
        commands.append("hn_uwsgi_reload " + " ".join(f"{t.name} {TeamPaths(t.name).uwsgi_ini}" for t in reloaded))
    if view.teams:   # a database over its cap is read-only from now (then each class page round checks again)
        commands.append(f"hn_database_caps {layout.DATABASE_CAPS}")
    # a reload only when nginx's own files changed: it closes the clients' idle keep-alive connections
    commands.append("hn_nginx_up reload" if nginx_changed(config_steps) else "hn_nginx_up")
    for team in restarted:      # the next team only once this one's site answers again
        p = TeamPaths(team.name)
        commands += [f"hn_restart_team {team.name} {p.supervisor_conf} {p.socket} {p.uwsgi_log} "
                     f"{team_host(team.name, view.domain)}",
                     f"hn_health {health_args(view, [team])}"]
    checked_teams = [t for t in checked_teams if t not in restarted]
    if checked_teams:
        commands.append(f"hn_health {health_args(view, checked_teams)}")
    if layout.CLASS_PAGE_CONF in changed_files:   # its program writes its first page 30 s after it starts
        commands.append(class_page_command(view, once=True))
    return commands


def sites_to_check(view, steps, services_down):
    """The teams whose site the services step checks: every team after a change of the server's own (its configs,
    certificate, database, a service started again), else only the teams something changed for. A check wakes
    an idle team (a second of CPU): adding one team to thirty must not wake the thirty."""
    server_changed = services_down or any(s.changed and s.scope == view.server.name and s.name in SITE_WIDE_STEPS
                                          for s in steps)
    changed = {s.scope for s in steps if s.changed}
    return [t for t in view.teams if server_changed or t.name in changed]


def plan_removals(view, facts, prune):
    """Teams provisioning made that the inventory no longer lists: archived and removed only with `prune`."""
    steps = []
    for gone in sorted(set(facts.present_teams) - {t.name for t in view.teams}):
        if prune:
            steps.append(Step(gone, "remove (not in inventory)", True, "archive, then remove",
                              team_plan.removal_commands(gone)))
        else:   # a typo in a team name must not remove a team: say so and keep it
            steps.append(Step(gone, "not in inventory", False,
                              f"kept; `fab provision --prune` or `fab remove_team --team {gone}` removes it"))
    return steps


def plan_server(view, facts, files, artifacts, prune=False, tls=ServerTls()):
    """Every step for one server, in the order they run, each `changed` or not; `tls`: its deploy.tls.ServerTls.
    Pure."""
    server = view.server.name
    # the teams' cron and at jobs denied before any team's user is made
    steps = [plan_packages(server, facts, required_commands(view)), plan_scheduled_jobs(view, facts),
             plan_wheels(server, facts, artifacts), plan_tools(server, facts, view.mongodb, artifacts)]
    steps += database.plan_server_db(server, view.mongodb, facts, files)
    for team in view.teams:
        steps += team_plan.plan_team(view.mongodb, team.name, facts, artifacts)
    # the certificate and key are in place before the configs that name them are checked (nginx -t)
    config_steps = [plan_tls(view, facts, tls)]
    # the database's own program goes live in its step, before teams need it
    config_steps += plan_configs(server, view.teams, facts, [f for f in files if f.path != layout.SECANTUS_CONF])
    steps += config_steps
    steps.append(plan_slices(view, facts))                   # the programs start in them: before the services step
    steps.append(plan_quotas(view, facts))                   # after the teams' jobs made their users
    steps.append(plan_boot(server, facts, view.mongodb))     # after the database step installed mongod
    steps.append(plan_old_sudo_rules(server, [t.name for t in view.teams], facts))
    # nginx's new config with the challenge location live, then certbot, before the sites are checked (HTTPS)
    steps += acme.plan_certificates(view, facts, facts.has(SYSTEMD_RUNNING))
    services_down = [name for name, up in facts.running.items() if not up]
    any_change = any(s.changed for s in steps)
    steps.append(Step(server, "services", bool(services_down) or any_change,
                      services_why(view, facts, config_steps, services_down),
                      activate_commands(config_steps, view, sites_to_check(view, steps, services_down), facts)))
    steps += plan_removals(view, facts, prune) + acme.plan_old_certificates(view, facts, prune)
    return steps + [plan_version(server, facts)]
