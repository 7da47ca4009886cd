"""A server's plan for bounding each team as a whole (pure): where systemd runs the server, a drop-in for each
team's user slice (user-<uid>.slice: pam_systemd puts the team's SSH sessions there, and team-scope its uwsgi)
with the team's MemoryMax, TasksMax and CPUWeight; elsewhere the rlimits in the team's configs bound each team
(deploy/configs/limits.py), and this step says so. Where the homes' filesystem has user quotas on, each team's disk_mb
as its hard block limit and its files as its hard inode limit (a team making empty files would otherwise take every
inode of the filesystem all teams share, and no one could write a file there). No team has cron or at jobs: they
would run outside its slice and limits."""
from deploy.configs.render import render_slice
from deploy.core import layout
from deploy.core.commands import helper
from deploy.core.steps import Step, Upload

SYSTEMD_RUNNING = "/run/systemd/system"     # present where systemd is the init (a server, not a container's stub)


def cgroups_bound(facts):
    """Whether the teams of this server are bounded by cgroups (systemd runs it), else by rlimits."""
    return facts.has(SYSTEMD_RUNNING)


def plan_slices(view, facts):
    """The drop-ins of the teams' user slices that differ from the server's: each checked by systemd-analyze verify
    before it goes live, then one daemon-reload, which applies them to running slices too."""
    server = view.server.name
    if not cgroups_bound(facts):
        return Step(server, "team slices", False, "no systemd here: rlimits bound each team")
    wanted = {team.name: render_slice(view, team) for team in view.teams}
    changed = [name for name, text in wanted.items() if facts.slices.get(name) != text]
    if not changed:
        return Step(server, "team slices", False)
    commands = [f"hn_install_slice {name} \"$HN_STAGE/slices/{name}.conf\" {layout.SLICE_DROPIN}" for name in changed]
    return Step(server, "team slices", True, " ".join(changed), commands + ["systemctl daemon-reload"],
                uploads=[Upload(f"slices/{name}.conf", text=wanted[name]) for name in changed])


def quota_kib(team):
    """The team's hard block limit as setquota and repquota count it (1 KiB blocks)."""
    return team.disk_mb * 1024


def quota_limits(team):
    """[hard block limit in KiB, hard inode limit] as the facts report a user's (remote/facts.py user_quotas)."""
    return [quota_kib(team), team.files]


def plan_quotas(view, facts):
    """Each team's hard block limit (its disk_mb) and hard inode limit (its files) on the homes' filesystem, where
    user quotas are on; elsewhere nothing bounds a team's disk, and `fab status` says quotas are unavailable."""
    server, quota = view.server.name, facts.quota
    if not quota["on"]:
        return Step(server, "disk quotas", False, f"unavailable: no user quotas on the filesystem of {layout.HOMES}")
    off = [team for team in view.teams if quota["limits"].get(team.name) != quota_limits(team)]
    if not off:
        return Step(server, "disk quotas", False)
    return Step(server, "disk quotas", True, " ".join(team.name for team in off), [
        helper("hn_must", f"setquota refused {team.name}", "setquota", "-u", team.name, 0, quota_kib(team), 0, team.files,
               quota["mount"]) for team in off])


def plan_scheduled_jobs(view, facts):
    """A line per team in /etc/cron.deny and /etc/at.deny, so crontab and at refuse the team (cron and atd would
    start its jobs outside its slice and limits); the files' other lines stay, and a server without cron or at gets
    them all the same (harmless). A team's crontab or at jobs from before are removed."""
    server = view.server.name
    missing = {path: [t.name for t in view.teams if t.name not in (facts.file_text(path) or "").splitlines()]
               for path in layout.JOB_DENY_FILES}
    commands = [f"hn_deny_edit {path} add {' '.join(names)}" for path, names in missing.items() if names]
    with_jobs = [t.name for t in view.teams if facts.scheduled_jobs.get(t.name)]
    commands += [f"hn_remove_jobs {name}" for name in with_jobs]
    not_denied = sorted({name for names in missing.values() for name in names})
    why = ([f"not denied: {' '.join(not_denied)}"] if not_denied else []) + \
        ([f"jobs removed: {' '.join(with_jobs)}"] if with_jobs else [])
    return Step(server, "scheduled jobs", bool(commands), "; ".join(why), commands)
