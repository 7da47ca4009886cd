"""The `defaults:` section: the uwsgi settings of every team that does not give its own.

The settings' names and limits live here; the teams section reads each team's own with
check_settings, so both places accept exactly the same values.
"""
from deploy.model import Team

SETTING_KEYS = ("processes", "threads", "idle_seconds")
SETTING_LIMITS = {"processes": (1, 32), "threads": (1, 64), "idle_seconds": (0, 86400)}


def check_settings(check, mapping, field, defaults):
    """The settings given in `mapping` (`defaults` for those not given), each None when invalid."""
    return {key: check.integer(mapping, key, f"{field}.{key}", defaults[key], *SETTING_LIMITS[key])
            for key in SETTING_KEYS}


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
