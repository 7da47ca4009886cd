"""The `defaults:` section: the uwsgi settings and limits of every team that does not give its own.

The settings' names and limits live here; the teams section reads each team's own with
check_settings, so both places accept exactly the same values.
"""
from deploy.inventory.model import Team

SETTING_KEYS = ("processes", "threads", "idle_seconds", "memory_mb", "tasks", "open_files", "cpu_weight",
                "disk_warn_mb", "disk_mb", "files", "database_mb", "connections")
SETTING_LIMITS = {"processes": (1, 32), "threads": (1, 64), "idle_seconds": (0, 86400), "memory_mb": (128, 65536),
                  "tasks": (32, 4096), "open_files": (64, 65536), "cpu_weight": (1, 100), "disk_warn_mb": (10, 1048576),
                  "disk_mb": (10, 1048576), "files": (1000, 100000000), "database_mb": (1, 1048576),
                  "connections": (4, 1024)}
TASKS_PER_WORKER_THREAD = 4   # a uwsgi worker's threads with the database driver's own, measured with margin
TASKS_FOR_SESSIONS = 16       # the team's SSH sessions and deploys beside its uwsgi


def check_settings(check, mapping, field, defaults):
    """The settings given in `mapping` (`defaults` for those not given), each None when invalid."""
    settings = {key: check.integer(mapping, key, f"{field}.{key}", defaults[key], *SETTING_LIMITS[key])
                for key in SETTING_KEYS}
    needed = tasks_needed(settings["processes"], settings["threads"])
    if needed and settings["tasks"] and settings["tasks"] < needed:
        given = [key for key in ("tasks", "processes", "threads") if key in mapping]
        check.problem(mapping.lines[given[0]] if given else mapping.line, f"{field}.tasks",
                      f"{settings['tasks']} tasks cannot run {settings['processes']} processes x "
                      f"{settings['threads']} threads; give at least {needed}")
        settings["tasks"] = None
    return settings


def tasks_needed(processes, threads):
    """The fewest tasks (the team's nproc limit) that start its uwsgi and leave room for its sessions; 0 when
    processes or threads are invalid (reported already)."""
    if not processes or not threads:
        return 0
    return 1 + processes * threads * TASKS_PER_WORKER_THREAD + TASKS_FOR_SESSIONS


def check_defaults(check, doc):
    """The settings teams get when they give none; an invalid default falls back to the model's."""
    builtin = {key: getattr(Team, key) for key in SETTING_KEYS}
    if "defaults" not in doc:
        return builtin
    section = check.mapping(doc["defaults"], doc.lines["defaults"], "defaults", SETTING_KEYS)
    if section is None:
        return builtin
    given = check_settings(check, section, "defaults", builtin)
    # keep checking teams against a usable default; the problem is reported already
    return {key: builtin[key] if value is None else value for key, value in given.items()}
