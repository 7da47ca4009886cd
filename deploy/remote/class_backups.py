# managed by hacknode: each team's last nightly backup (deploy/remote/nightly_backups.py writes NIGHTLY_DIR/<team>/
# last.json, root's) as the collector's "backup" lines and as figures for `fab status` and the class page (installed
# beside class_status.py). Standard library only.
#   backup<TAB>team<TAB>made (epoch seconds)<TAB>bytes<TAB>file<TAB>"verified" or "FAILED: what its restore met"
# (class_collect.py reads them into its figures, class_status.lines writes the lines.)
import json
import os
import re

try:
    import class_status                         # on a server: installed beside this module
except ImportError:
    from deploy.remote import class_status      # in the repository (its tests)

FIELDS = ("made", "bytes", "file", "verdict")
RECORD_BYTES = 64 * 1024        # a last.json is some 300 bytes
PROBLEM_CHARS = 200             # a problem may quote a name a team chose (a collection's): one short cell


def read(folder, teams):
    """{team: its last.json} for the teams that have one (root wrote them; a broken one is left out)."""
    records = {}
    for team in teams:
        try:
            with open(os.path.join(folder, team, "last.json"), encoding="utf-8") as handle:
                record = json.loads(handle.read(RECORD_BYTES))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict):
            records[team] = record
    return records


def one_cell(text):
    return re.sub(r"\s+", " ", str(text))[:PROBLEM_CHARS] or "-"


def cells(record):
    """A last.json as the cells of its "backup" line after the team's name (what class_status.parse keeps)."""
    verdict = "verified" if record.get("verified") else f"FAILED: {one_cell(record.get('problem'))}"
    return [str(int(record.get("made") or 0)), str(int(record.get("bytes") or 0)), one_cell(record.get("file") or "-"),
            verdict]


def collected(folder, teams):
    """{team: cells} of the teams with a nightly backup: what class_status.parse gives as "backups"."""
    return {team: cells(record) for team, record in read(folder, teams).items()}


def parse_cells(cells):
    """A "backup" line's cells after its team -> {field: text}, or None when it is not one."""
    return dict(zip(FIELDS, cells)) if len(cells) == len(FIELDS) and cells[0].isdigit() and cells[1].isdigit() else None


def figures(cells, now):
    """A team's backup figures for the report and the page (all None: no nightly backup of it yet)."""
    if not cells:
        return {"backup_made": None, "backup_age_seconds": None, "backup_bytes": None, "backup_file": None,
                "backup_verified": None, "backup_problem": None}
    made, verified = int(cells["made"]), cells["verdict"] == "verified"
    return {"backup_made": class_status.iso(made), "backup_age_seconds": class_status.age(made, now),
            "backup_bytes": int(cells["bytes"]), "backup_file": None if cells["file"] == "-" else cells["file"],
            "backup_verified": verified, "backup_problem": None if verified else cells["verdict"][len("FAILED: "):]}


def size_text(size):
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f}{unit}"
    return f"{size}B"


def cell(entry):
    """The BACKUP cell of `fab status`: "verified 5h02m ago, 1.2MB", "FAILED 5h02m ago" or "-"."""
    if entry.get("backup_verified") is None:
        return "-"
    age = class_status.age_text(entry["backup_age_seconds"])
    if not entry["backup_verified"]:
        return f"FAILED {age} ago"
    return f"verified {age} ago, {size_text(entry['backup_bytes'])}"

