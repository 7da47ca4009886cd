"""Upgrades (pure): which hacknode provisioned a server (its record, written last), and how each team takes its changed
configs: a graceful reload of its uwsgi where it can, a restart (said in the plan, one team at a time) where only a
restart applies them."""
import configparser

from deploy import __version__
from deploy.core import layout
from deploy.core.layout import TeamPaths
from deploy.core.steps import File, Step, file_changes, install_commands


def version_file():
    return File(layout.VERSION_FILE, f"{__version__}\n", mode="0644")


def plan_version(server, facts):
    """The record of which hacknode provisioned this server (`fab status` shows it), written last: once every step
    before it went through. `ok` when this version made it already."""
    now = (facts.file_text(layout.VERSION_FILE) or "").strip()
    if now == __version__:
        return Step(server, "version", False, __version__)
    changed, diff = file_changes([version_file()], facts)
    return Step(server, "version", True, f"hacknode {now or 'unrecorded (before 0.22.0)'} -> {__version__}",
                install_commands(changed), changed, diff)


def program_settings(text):
    """A supervisor config's settings, without its comments (supervisord compares these, not the text)."""
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";",), interpolation=None)
    try:
        parser.read_string(text or "")
    except configparser.Error:
        return None
    return {name: dict(parser.items(name)) for name in parser.sections()}


def program_changed(old_text, new_text):
    return old_text is None or program_settings(old_text) != program_settings(new_text)


NGINX_DIRS = ("/etc/nginx/", f"{layout.ETC}/nginx/")


def nginx_changed(config_steps):
    """Whether nginx must read its configs again: one of its files changed, or the server's certificate (tls)."""
    return any(s.changed and (s.name == "tls" or any(f.path.startswith(NGINX_DIRS) for f in s.files)
                              or any(d in c for c in s.commands for d in NGINX_DIRS)) for s in config_steps)


def changed_contents(config_steps):
    """{path: its new text} of the files the config steps change."""
    return {f.path: f.content for s in config_steps if s.changed for f in s.files}


def how_teams_take_configs(view, facts, changed_files):
    """(reloaded, restarted), for `changed_files` (changed_contents): the teams already running whose changed configs
    go live by a graceful reload of their uwsgi (its ini: no request fails) and those whose supervisor program
    changed, which only a restart applies (the services step restarts them one by one, a stand-in serving each
    meanwhile (hn_restart_team), each site checked before the next). A new team's program is simply started."""
    reloaded, restarted = [], []
    for team in view.teams:
        p = TeamPaths(team.name)
        if facts.files.get(p.supervisor_conf) is None:
            continue        # a new team (or a stopped one's program back): supervisord starts it
        if p.supervisor_conf in changed_files and program_changed(facts.file_text(p.supervisor_conf),
                                                                  changed_files[p.supervisor_conf]):
            restarted.append(team)
        elif p.uwsgi_ini in changed_files:
            reloaded.append(team)
    return reloaded, restarted


def services_why(view, facts, config_steps, services_down):
    """How the changes go live, for the plan (and `--dry`): which teams reload gracefully, which restart."""
    reloaded, restarted = how_teams_take_configs(view, facts, changed_contents(config_steps))
    why = ["not running: " + " ".join(services_down)] if services_down else []
    if reloaded:
        why.append("graceful reload (no request fails): " + " ".join(t.name for t in reloaded))
    if restarted:
        why.append("RESTART, team by team, each site checked before the next (its supervisor program changed; a "
                   "stand-in of the new program serves meanwhile: a request longer than a second may fail): "
                   + " ".join(t.name for t in restarted))
    return "; ".join(why)
