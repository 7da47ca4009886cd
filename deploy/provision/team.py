"""A team's part of a server's plan (pure): its user, directories, database user and first release; what
removing a team runs. Each is one Step, so the output says what changed for whom."""
from deploy.core import commands, layout
from deploy.core.errors import ProvisionError
from deploy.core.layout import TeamPaths
from deploy.core.steps import Dir, Step, Upload
from deploy.provision import database


def team_dirs(team_name):
    p, t = TeamPaths(team_name), team_name
    return [
        # nginx's user reaches static files and the socket through the home's group; other teams can't
        Dir(p.home, t, "www-data", "0750"),
        Dir(f"{p.home}/.ssh", t, t, "0700"),
        Dir(p.releases, t, t, "0755"),
        Dir(p.envs, t, t, "0755"),
        # setgid: the socket uwsgi creates here gets nginx's group, so chmod-socket 660 is enough
        Dir(p.run_dir, t, "www-data", "2750"),
        Dir(p.secrets, t, t, "0700"),
        Dir(p.tmp, t, t, "0700"),
        Dir(p.cron_runs, t, t, "0750"),
        # setgid: the logs supervisor writes here (as root) get the team's group, so the team reads them (fab logs,
        # fab restart) without root; other teams cannot enter the folder
        Dir(p.log_dir, "root", t, "2750"),
    ]


def team_fact_paths(team_name):
    """The paths the facts must report for a team's plan."""
    p = TeamPaths(team_name)
    return [d.path for d in team_dirs(team_name)] + [p.current, p.mongo_uri_file, f"{layout.TEAMS_DIR}/{team_name}"]


def plan_user(team_name, facts):
    """The team's user and its own new group (hn_add_user). A user or a group of the team's name that hacknode did
    not make stops the server's plan before anything changes: the team would take over that account, or join that
    group and get what it may do (disk: the raw disks, shadow: /etc/shadow)."""
    t, p = team_name, TeamPaths(team_name)
    made_here = t in facts.present_teams
    if facts.users.get(t) and not made_here:
        raise ProvisionError(f"team {t}: the server already has a user {t} that hacknode did not make; "
                             "rename the team in the inventory (its home and keys would be taken over)")
    group = facts.groups.get(t)
    if group and not made_here:
        members = f", members {' '.join(group['members'])}" if group["members"] else ""
        raise ProvisionError(f"team {t}: the server already has a group {t} (gid {group['gid']}{members}) that "
                             "hacknode did not make; rename the team in the inventory (it would join that group)")
    commands = []
    if not facts.users.get(t):
        # also the record of what provisioning made (a team dropped from the inventory is found and removed by it),
        # with the gid of the group it made: removal deletes that group and no other
        commands.append(f"hn_add_user {t} {p.home} '{layout.TEAM_GECOS}' {layout.TEAMS_DIR}")
    elif facts.gecos.get(t) != layout.TEAM_GECOS:
        # every session of the team (SSH commands too, not only login shells) gets umask 0027 from pam_umask
        commands.append(f"hn_set_comment {t} '{layout.TEAM_GECOS}'")
    return Step(t, "user", bool(commands), "new" if commands else "", commands)


def plan_dirs(team_name, facts):
    """The team's folders that are missing or not as they should be (a link in a folder's place included: the
    team owns its home), fixed by hn_team_dirs without following a link."""
    wrong = [d for d in team_dirs(team_name)
             if (now := facts.paths.get(d.path)) is None or now.link or now.state() != (d.owner, d.group, d.mode)]
    commands = ["hn_team_dirs " + " ".join(f"'{d.path} {d.owner} {d.group} {d.mode}'" for d in wrong)] if wrong else []
    return Step(team_name, "directories", bool(wrong), f"{len(wrong)} to fix" if wrong else "", commands)


def plan_first_release(team_name, facts, artifacts):
    """The repo's app as the team's first release, made runnable by the same script `fab deploy` runs (its
    virtualenv made by root first, hn_team_env); nothing serves yet, so `current` is simply set (the services
    step starts the program after)."""
    t, p = team_name, TeamPaths(team_name)
    if facts.has(p.current):
        return Step(t, "first release", False)
    release_dir = f"{p.releases}/{artifacts.release_id}"
    return Step(t, "first release", True, artifacts.release_id, [
        # copied by the team into its own folder
        commands.helper("hn_team_unpack", t, release_dir, "app.tar"),
        # its virtualenv from the server's shared, compiled wheels (apply-lib.sh), by root's copy of the
        # requirements (the release's is the team's own file); prepare finds it complete
        f"hn_team_env {t} {artifacts.requirements_hash} \"$HN_STAGE/app-requirements.txt\" "
        f"{p.envs}/{artifacts.requirements_hash}",
        commands.helper("hn_team_prepare", t, f"release-{t}.sh", artifacts.release_id, artifacts.requirements_hash),
        # live, with uwsgi's touch-reload file made before uwsgi starts
        commands.helper("hn_team_live", t, f"releases/{artifacts.release_id}", p.current, p.reload_file),
    ], uploads=[Upload("app.tar", artifacts.app_tar, fill=artifacts.fill_app_tar),
                Upload("app-requirements.txt", text=artifacts.requirements_text),
                Upload(f"release-{t}.sh", text=commands.release_script_text(p))])


def plan_team(mongodb, team_name, facts, artifacts):
    """A team's user, directories, database user and first release, in that order, as the team's job: teams are
    set up side by side on the server (deploy/provision/bundle.py)."""
    p = TeamPaths(team_name)
    if facts.has(p.mongo_uri_file):
        db_user = Step(team_name, "database", False)
    else:
        db_user = Step(team_name, "database", True, "no database user yet", database.team_user_commands(mongodb, team_name))
    steps = [plan_user(team_name, facts), plan_dirs(team_name, facts), db_user,
             plan_first_release(team_name, facts, artifacts)]
    for step in steps:
        step.job = team_name
    return steps


def team_files(team_name):
    """The configs that belong to one team (its own configs step)."""
    p = TeamPaths(team_name)
    return {p.uwsgi_ini, p.supervisor_conf, p.nginx_conf, p.nginx_location, p.limits, p.database_cap,
            f"{p.home}/.ssh/authorized_keys"}


def removal_paths(team_name):
    """(files, folders) of a team that its removal deletes; `team_name` may be "{team}" (teardown's templates)."""
    p = TeamPaths(team_name)
    return ([p.supervisor_conf, p.uwsgi_ini, p.nginx_conf, p.nginx_location, p.old_sudoers, p.limits, p.database_cap],
            [p.log_dir, p.home, f"{layout.TEAM_ENVS}/{team_name}"])


def removal_commands(team_name):
    """Stop a team's program and end its account (locked, every process of its uid killed: nothing of the team can
    then stop or change its archive), archive its code and database, remove its configs and database, then its account
    with nothing of its uid left (deploy/remote/remove-team.sh: crontab, at jobs, files outside its home, SysV IPC),
    and last hacknode's record of it."""
    record = f"{layout.TEAMS_DIR}/{team_name}"
    files, folders = removal_paths(team_name)
    return [commands.helper("hn_end_team", team_name, record), commands.helper("hn_archive", team_name),
            commands.helper("hn_remove_team", team_name, record, layout.SLICE_DROPIN, *files, "--", *folders)]
