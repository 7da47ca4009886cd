"""The naming rule: class, server and team names, and which team names are taken.

A team's name becomes a UNIX user and group, a database, file names and a DNS label
(<team>.<domain>), so one rule fits all of them. This is its one home: the inventory
checks it, and commands that take a team name on the command line can use team_name_problem.
"""
import re

NAME_RULE = "^[a-z][a-z0-9-]{0,30}$"
NAME_RE = re.compile(NAME_RULE)

# Team names become UNIX users and groups: none may take an account or group a Debian or Ubuntu server already has
# or that hacknode itself uses (the database's user and the secantus program's name). A team named after a group
# would join it (disk: the raw disks, shadow: /etc/shadow), so the standard groups are refused here, before any
# server is asked (each server's own groups are refused by provisioning, from its facts).
SYSTEM_USERS = """
    root daemon bin sys sync games man lp mail news uucp proxy www-data backup list irc gnats
    nobody nogroup systemd-network systemd-resolve systemd-timesync systemd-journal messagebus
    sshd syslog uuidd tcpdump tss polkitd avahi colord rtkit dnsmasq ntp chrony postfix
    mongodb nginx supervisor sudo admin adm staff users operator ubuntu debian
""".split()
# base-passwd's static groups (/usr/share/base-passwd/group.master), then the usual ones packages add
SYSTEM_GROUPS = """
    root daemon bin sys adm tty disk lp mail news uucp man proxy kmem dialout fax voice cdrom floppy tape sudo
    audio dip www-data backup operator list irc src gnats shadow utmp video sasl plugdev staff games users nogroup
    systemd-journal systemd-network systemd-resolve systemd-timesync systemd-coredump input sgx kvm render netdev
    lxd docker ssl-cert crontab messagebus ssh tcpdump syslog lpadmin sambashare polkitd avahi postgres mlocate
    plocate bluetooth scanner lpadmin wheel admin adm tss uuidd rdma landscape pollinate fwupd-refresh sudo
    mongodb nginx
""".split()
RESERVED_NAMES = frozenset(SYSTEM_USERS + SYSTEM_GROUPS + "hacknode hacknode-db hacknode-secantus secantus".split())


def name_problem(name):
    """Why `name` cannot be a class, server or team name, or ''."""
    if not NAME_RE.match(name):
        return f"{name!r} must match {NAME_RULE}"
    if name.endswith("-"):
        return f"{name!r} must not end with '-' (it is a DNS label)"
    return ""


def team_name_problem(name, taken=()):
    """Why `name` cannot be a team's name, or '': the naming rule, and no system account or group.

    `taken`: more account names in use (the servers' admin users), refused the same way."""
    why = name_problem(name)
    if not why and (name in RESERVED_NAMES or name in taken):
        why = f"{name!r} is a system user or group, or an admin account; choose another team name"
    return why
