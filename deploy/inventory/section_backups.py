"""The `backups:` section: each server dumps every team's database once a day and proves each dump restores.

`at` is the time of day on the servers' clocks, "HH:MM" (YAML reads a bare 3:00 as the number 180: sexagesimal),
`keep` how many dumps of each team a server keeps. Absent, there are no nightly backups (`fab backup` still works).
"""
import re

from deploy.inventory.model import BackupSettings

BACKUP_KEYS = ("at", "keep")
KEEP = (7, 1, 365)          # default, lowest, highest
TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def time_problem(text):
    return "" if TIME_RE.match(text) else f"{text!r} is not a time of day HH:MM (00:00 to 23:59)"


def check_backups(check, doc, mongodb):
    """The BackupSettings the section describes (off when absent), or None when it has problems. `mongodb`: the
    class's MongoSettings (None when invalid): the servers need the database's admin, which mode external keeps away."""
    if "backups" not in doc:
        return BackupSettings()
    section = check.mapping(doc["backups"], doc.lines["backups"], "backups", BACKUP_KEYS, required=("at",))
    if section is None:
        return None
    if mongodb is not None and mongodb.mode == "external":
        check.problem(doc.lines["backups"], "backups", "needs mongodb mode mongod or secantus (in mode external the "
                      "servers keep no admin URI to dump the teams' databases with)")
        return None
    if isinstance(section.get("at"), int) and not isinstance(section["at"], bool):
        check.problem(section.lines["at"], "backups.at",
                      f"must be a time of day HH:MM, as \"03:00\" (YAML read this one as the number {section['at']})")
        return None
    at = check.string(section, "at", "backups.at", why_not=time_problem)
    keep = check.integer(section, "keep", "backups.keep", *KEEP)
    if at is None or keep is None:
        return None
    return BackupSettings(at=at, keep=keep)
