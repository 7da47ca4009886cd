"""A team's own settings (`fab config`), pure: names checked, changes written for the server, values masked.

The settings live on the server in the team's settings file (layout.TeamPaths.mongo_uri_file, 0400, outside
releases): one NAME=value line each, read by uwsgi's for-readline (`env = NAME=value`) and by
commands.with_settings. Provisioning writes FLASK_MONGO_URI and FLASK_SECRET_KEY there; `fab config` adds,
changes and removes the team's others (deploy/remote/release.sh `settings`). A line NAME alone (no "=") marks
a setting removed: uwsgi's `env = NAME` unsets it in a running master, which a graceful reload would
otherwise hand on to the next one.
"""
import re

from deploy.core.errors import DeployError

NAME_RULE = "capital letters, digits and _, starting with a letter"
NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Written by provisioning (the database and the session key), or read by what runs the app (supervisor's
# environment, Python, the dynamic linker, uwsgi itself reads UWSGI_* as its own options).
RESERVED_NAMES = frozenset({"FLASK_MONGO_URI", "FLASK_SECRET_KEY", "HOME", "USER", "LOGNAME", "PATH", "SHELL"})
RESERVED_PREFIXES = ("UWSGI_", "PYTHON", "LD_", "HACKNODE_")
# Written by the server at each change; /healthz reports it, so a change is checked live by what the app
# answers (a graceful reload keeps the release, so the release alone cannot tell old workers from new).
SETTINGS_ID = "HACKNODE_SETTINGS_ID"
SECRET_WORDS = ("SECRET", "KEY", "TOKEN", "PASSWORD", "PASSWD", "PASS", "URI", "URL", "DSN", "CREDENTIAL",
                "PRIVATE", "AUTH")
MASK = "********"


class SettingsError(DeployError):
    """A setting that cannot be set: the message names it and says why, in one line."""


def name_problem(name):
    """Why `name` cannot be a setting's name, or None."""
    if not NAME_RE.match(name):
        return f"a setting's name is {NAME_RULE} (e.g. FLASK_FRONT_PAGE_SIZE)"
    if name in RESERVED_NAMES or name.startswith(RESERVED_PREFIXES):
        return "reserved: hacknode sets it (the database, the session key) or the server needs it as it is"
    return None


def checked_name(name):
    why = name_problem(name)
    if why:
        raise SettingsError(f"{name!r}: {why}")
    return name


def parse_assignment(text):
    """(name, value) of 'NAME=value'; SettingsError when it is not one."""
    name, equals, value = text.partition("=")
    if not equals:
        raise SettingsError(f"{text!r}: write NAME=value (to remove a setting: --unset NAME)")
    if "\n" in value or "\r" in value or "\0" in value:
        raise SettingsError(f"{name}: a value is one line (no line break)")
    return checked_name(name), value


def changes(assignments=(), removals=()):
    """The server's input for these changes: 'NAME=value' lines, then 'NAME' lines (removed); every name
    checked first, so a bad one changes nothing. SettingsError for a bad one or none at all."""
    assignments, removals = list(assignments or ()), list(removals or ())
    if not assignments and not removals:
        raise SettingsError("nothing to change: give --set NAME=value or --unset NAME")
    set_values = dict(parse_assignment(text) for text in assignments)
    removed = [checked_name(name) for name in removals]
    both = sorted(set(set_values) & set(removed))
    if both:
        raise SettingsError(f"{both[0]}: both --set and --unset; say one")
    return "".join(f"{n}={v}\n" for n, v in set_values.items()) + "".join(f"{n}\n" for n in removed)


def is_secret(name):
    return any(word in name for word in SECRET_WORDS)


def listing(text):
    """What `fab config` prints from the settings file's text: NAME=value per setting, sorted, secrets
    masked, hacknode's own marked; removal marks left out."""
    lines = []
    for line in sorted(text.splitlines()):
        name, equals, value = line.partition("=")
        if not equals or not name or name == SETTINGS_ID:
            continue
        shown = MASK if is_secret(name) or name in RESERVED_NAMES else value
        lines.append(f"{name}={shown}" + ("   (set by hacknode)" if name in RESERVED_NAMES else ""))
    return lines
