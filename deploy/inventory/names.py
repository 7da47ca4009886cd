"""The naming rule: class, server and team names, and which team names are taken.

A team's name becomes a UNIX user and group, a database, file names and a DNS label
(<team>.<domain>), so one rule fits all of them. This is its one home: the inventory
checks it, and commands that take a team name on the command line can use team_name_problem.
"""
import re

NAME_RULE = "^[a-z][a-z0-9-]{0,30}$"
NAME_RE = re.compile(NAME_RULE)

# Team names become UNIX users: none may take an account a Debian server already has or
# that hacknode itself uses (the database's user and the secantus program's name).
RESERVED_NAMES = frozenset("""
    root daemon bin sys sync games man lp mail news uucp proxy www-data backup list irc gnats
    nobody nogroup systemd-network systemd-resolve systemd-timesync systemd-journal messagebus
    sshd syslog uuidd tcpdump tss polkitd avahi colord rtkit dnsmasq ntp chrony postfix
    mongodb nginx supervisor sudo admin adm staff users operator ubuntu debian
    hacknode hacknode-db hacknode-secantus secantus
""".split())


def name_problem(name):
    """Why `name` cannot be a class, server or team name, or ''."""
    if not NAME_RE.match(name):
        return f"{name!r} must match {NAME_RULE}"
    if name.endswith("-"):
        return f"{name!r} must not end with '-' (it is a DNS label)"
    return ""


def team_name_problem(name, taken=()):
    """Why `name` cannot be a team's name, or '': the naming rule, and no system account.

    `taken`: more account names in use (the servers' admin users), refused the same way."""
    why = name_problem(name)
    if not why and (name in RESERVED_NAMES or name in taken):
        why = f"{name!r} is a system or admin account name; choose another team name"
    return why
