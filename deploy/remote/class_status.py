# managed by hacknode: the class's figures (the collector's, class_collect.py) as lines and parsed back once, for
# `fab status` (table, JSON) on the instructor's machine and for the class page on the server (installed beside
# class-page). Standard library only.
import re
from datetime import datetime, timezone

# the fields of a team's line, in order
FIELDS = ("team", "state", "uptime", "release", "healthz", "memory_kib", "tasks", "home_kib", "database_kib",
          "bound", "requests", "newest_release")
REQUEST_WINDOW = 300        # seconds: "requests in the last minutes" counts this window of the access log
KIB_PER_MB = 1024
RELEASE_TIME = "%Y%m%dT%H%M%SZ"     # a release's name starts with its UTC time (release.sh)
# what no cell may carry to a terminal or a page: control characters (C0, DEL, C1) and the ones that reorder or
# split text (Unicode line separators, bidirectional overrides); the collector already cleans the names teams choose
UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def clean(cell):
    return UNSHOWABLE.sub("?", cell)


def lines(collected):
    """The collector's figures (class_collect.collect: what parse gives) as text: "teams<TAB>every team's name" first
    (root's list: parse takes no line for another name), a tab-separated line per team (FIELDS), "quota<TAB>...",
    "now<TAB>epoch seconds", "version<TAB>the hacknode that provisioned the server ("-": unrecorded)",
    "tls<TAB>NAME<TAB>expiry" per certificate,
    "submission<TAB>TEAM<TAB>RELEASE<TAB>TAKEN<TAB>FREEZE<TAB>yes|no" per team with a deadline (`fab freeze`) and
    "backup<TAB>TEAM<TAB>..." per team with a nightly backup (class_backups.cells) and "procs<TAB>TEAM<TAB>..." per
    team: its workers and last cron run (class_procs.cells)."""
    rows = collected["teams"]
    out = ["teams\t" + " ".join(row["team"] for row in rows)]
    out += ["\t".join(row[field] for field in FIELDS) for row in rows]
    out += [f"quota\t{collected['quota']}", f"now\t{collected['now']}", f"version\t{collected.get('version') or '-'}"]
    out += [f"tls\t{c['name']}\t{c['expires']}" for c in collected["certificates"]]
    out += [f"submission\t{team}\t{s['release']}\t{s['taken']}\t{s['freeze']}\t{'yes' if s['live'] else 'no'}"
            for team, s in collected.get("submissions", {}).items()]
    out += ["\t".join(["backup", team, *cells]) for team, cells in sorted(collected.get("backups", {}).items())]
    out += ["\t".join(["procs", team, *cells]) for team, cells in sorted(collected.get("procs", {}).items())]
    return "\n".join(out) + "\n"


def parse(text):
    """The collector's lines -> {"teams": [{field: text}], "quota": text or None, "now": epoch seconds or None,
    "certificates": [{"name": the name it is served for, "expires": when}] (TLS on), "submissions": {team: {"release",
    "taken", "freeze", "live": whether its site still runs it}} (`fab freeze`), "version": the hacknode that provisioned
    the server, or None}. A team's line counts only for
    a name of the first "teams" line (root's list of teams), once; every cell comes without control characters."""
    parsed = {"teams": [], "quota": None, "now": None, "certificates": [], "submissions": {}, "backups": {},
              "procs": {}, "version": None}
    known, seen = None, set()
    for line in text.split("\n"):
        cells = [clean(cell) for cell in line.split("\t")]
        if cells[0] == "teams" and len(cells) == 2 and known is None:
            known = set(cells[1].split())
        elif len(cells) == len(FIELDS):
            if cells[0] not in seen and (known is None or cells[0] in known):      # None: a collector from before
                parsed["teams"].append(dict(zip(FIELDS, cells)))
                seen.add(cells[0])
        elif cells[0] == "quota" and len(cells) == 2:
            parsed["quota"] = cells[1]
        elif cells[0] == "now" and len(cells) == 2 and cells[1].isdigit():
            parsed["now"] = int(cells[1])
        elif cells[0] == "version" and len(cells) == 2 and cells[1] != "-":
            parsed["version"] = cells[1]
        elif cells[0] == "submission" and len(cells) == 6 and (known is None or cells[1] in known):
            parsed["submissions"][cells[1]] = {"release": cells[2], "taken": cells[3] or None, "freeze": cells[4],
                                               "live": cells[5] == "yes"}
        elif cells[0] == "tls" and len(cells) == 3:
            parsed["certificates"].append({"name": cells[1], "expires": cells[2]})
        elif cells[0] == "backup" and len(cells) > 2 and (known is None or cells[1] in known):
            parsed["backups"][cells[1]] = cells[2:]     # class_backups.parse_cells reads them
        elif cells[0] == "procs" and len(cells) > 2 and (known is None or cells[1] in known):
            parsed["procs"][cells[1]] = cells[2:]       # class_procs.parse_cells reads them
    return parsed


def number(text):
    return int(text) if text.isdigit() else None


def megabytes(kib_text):
    """A size in KiB as printed by the server ("-" when unknown) -> whole MB, or None."""
    kib = number(kib_text)
    return None if kib is None else kib // KIB_PER_MB


def release_time(name):
    """The UTC time in a release's name (20261121T082416Z-6b7f8cd) as epoch seconds, or None."""
    try:
        return int(datetime.strptime(name[:16], RELEASE_TIME).replace(tzinfo=timezone.utc).timestamp())
    except ValueError:
        return None


def iso(epoch):
    return None if epoch is None else datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def age(epoch, now):
    return None if epoch is None or now is None else max(0, now - epoch)


def team_figures(row, now):
    """One team's figures, typed (None when unknown): the one source of the table, the JSON and the page.
    healthz is the HTTP code (0: nothing answered), None when none was asked (the class page asks no team: the cell
    then says "idle", "up" or "down" from the team's uwsgi master, "-" unknown)."""
    home, database = megabytes(row["home_kib"]), megabytes(row["database_kib"])
    live, newest = release_time(row["release"]), release_time(row["newest_release"])
    return {
        "name": row["team"], "state": row["state"], "uptime": None if row["uptime"] == "-" else row["uptime"],
        "healthz": number(row["healthz"]),
        "release": None if row["release"] == "-" else row["release"],
        "release_age_seconds": age(live, now),
        "last_deploy": iso(newest), "last_deploy_age_seconds": age(newest, now),
        "requests_5min": number(row["requests"]),
        "memory_mb": megabytes(row["memory_kib"]), "tasks": number(row["tasks"]),
        "disk_home_mb": home, "disk_database_mb": database, "database_kib": number(row["database_kib"]),
        "disk_mb": None if home is None else home + (database or 0),
        "bound_by": None if row["bound"] == "-" else row["bound"],
    }


def age_text(seconds):
    """An age for people: 42s, 12m, 3h05m, 2d04h; '-' when unknown."""
    if seconds is None:
        return "-"
    for unit, size, small, small_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}{seconds % size // small_size:02d}{small}"
    return f"{seconds // 60}m" if seconds >= 60 else f"{seconds}s"
