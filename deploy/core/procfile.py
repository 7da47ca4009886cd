"""A team's Procfile: how the app of its tree runs (the WSGI entry point, its health path and static folders, a
release command, workers, cron jobs), read with one `FILE:LINE: key: what is wrong` line for a mistake, and what a
release's layout.PROCS_DIR holds. Standard library only: servers import it as hacknode_procfile
(layout.PROCFILE_MODULE), beside the programs that write and read PROCS_DIR; `fab deploy` checks the tree's
Procfile with it before it ships anything. A tree without a Procfile runs as DEFAULT (Rapid News)."""
import json
import keyword
import re
import unicodedata
from dataclasses import dataclass, field

try:                                    # on a server: installed beside hacknode_layout.py
    import hacknode_layout as layout
except ImportError:                     # in the repository
    from deploy.core import layout

MAX_WORKERS = 8
MAX_CRON = 16
MAX_STATIC = 4
MAX_COMMAND = 1000                      # characters of one command
MAX_BYTES = 64 * 1024                   # of a Procfile
MAX_HEALTH = 200                        # characters of the health path
NAME = "[a-z0-9][a-z0-9-]{0,23}"
# a worker's or cron job's name is its whole key: worker, worker-feeds, cron, cron-report (as piku and Heroku name
# a process by its key); uwsgi.ini, the cron runs' folders and deploy messages use it as it is
WORKER_KEY = re.compile(rf"worker(-{NAME})?")
CRON_KEY = re.compile(rf"cron(-{NAME})?")
KEYS = "web, health, static, release, worker, worker-NAME, cron, cron-NAME"
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ENTRY = re.compile(r"([A-Za-z0-9_.]+):([A-Za-z0-9_]+)(\(\))?")
HEALTH = re.compile(r"/[A-Za-z0-9._~/?=&%+-]*")
SEGMENT = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*")     # of a static prefix: never "." nor ".well-known"
FOLDER_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")
CRON_PART = re.compile(r"(\*|([0-9]{1,2})(?:-([0-9]{1,2}))?)(?:/([0-9]{1,2}))?")
CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
CRON_PARTS = "a number, *, a-b, a,b, */n or a-b/n"
CRON_HELP = (f"five fields (minute hour day-of-month month day-of-week, each {CRON_PARTS}) then the command, "
             "e.g. */10 * * * * python scrape.py")
ENTRY_HELP = ("expected module:callable, e.g. app.wsgi:app, mysite.wsgi:application, or src.app:create_app() for "
              "a factory (not a command: hacknode's uwsgi serves it)")


class ProcfileError(ValueError):
    """A Procfile that cannot run: str() is the whole one-line message, `FILE:LINE: key: what is wrong`."""


class _Wrong(ValueError):
    """What is wrong with one value; parse() puts the file, line and key before it."""


@dataclass(frozen=True)
class Procfile:
    web: str                                                # module:callable, with () for a factory
    health: str = "/"                                       # the path a new release must answer below 500
    static: tuple = ()                                      # ((URL prefix, folder in the tree), ...)
    release: str = None                                     # run once per release before it goes live
    workers: dict = field(default_factory=dict)             # {name: command}
    cron: dict = field(default_factory=dict)                # {name: (five-field schedule, command)}


DEFAULT = Procfile(web="app.wsgi:app", health="/healthz", static=(("/static/", "app/static"),))


def entry_point(value):
    """`module:callable` or `module:factory()`: names Python can import, nothing evaluated."""
    found = ENTRY.fullmatch(value)
    names = found.group(1).split(".") + [found.group(2)] if found else []
    if not names or not all(IDENTIFIER.fullmatch(n) and not keyword.iskeyword(n) for n in names):
        raise _Wrong(f"{value!r}: {ENTRY_HELP}")
    return value


def health_path(value):
    if len(value) > MAX_HEALTH or not HEALTH.fullmatch(value) or value.startswith("//"):
        raise _Wrong(f"{value!r}: expected a path on the site such as / or /healthz (letters, digits and "
                     f"._~/?=&%+-, at most {MAX_HEALTH} characters)")
    return value


def static_pair(value):
    """`PREFIX FOLDER`: a URL prefix nginx serves from a folder of the tree."""
    parts = value.split()
    if len(parts) != 2:
        raise _Wrong(f"{value!r}: expected a URL prefix and a folder of the tree, e.g. static: /static/ src/static")
    prefix, folder = parts[0], parts[1].rstrip("/")
    inner = prefix[1:-1].split("/")
    if not (prefix.startswith("/") and prefix.endswith("/") and len(prefix) > 1 and len(prefix) <= 100
            and all(SEGMENT.fullmatch(s) for s in inner)):
        raise _Wrong(f"{prefix!r}: the URL prefix starts and ends with /, is not / alone, and its parts are letters, "
                     "digits and ._~- (not starting with a dot)")
    segments = folder.split("/")
    if (folder.startswith("/") or len(folder) > 200
            or not all(FOLDER_SEGMENT.fullmatch(s) and s not in (".", "..") for s in segments)):
        raise _Wrong(f"{parts[1]!r}: the folder is relative to the tree and inside it (no leading /, no . or .. "
                     "parts; letters, digits and ._~-)")
    if segments[0] == layout.PROCS_DIR:
        raise _Wrong(f"{parts[1]!r}: {layout.PROCS_DIR} is written by hacknode at each deploy, not a static folder")
    return prefix, folder


def command(value):
    if not value:
        raise _Wrong("no command: expected the command to run (one line, run with /bin/sh -c)")
    if len(value) > MAX_COMMAND:
        raise _Wrong(f"the command is {len(value)} characters long: at most {MAX_COMMAND}")
    if "\t" in value:
        raise _Wrong(f"a tab at column {value.index(chr(9)) + 1} of the command: use spaces")
    return value


def cron_values(text, name, low, high):
    """The numbers one schedule field stands for (day of week: 7 is Sunday, as 0)."""
    values = set()
    for part in text.split(","):
        found = CRON_PART.fullmatch(part)
        if not found or (found.group(4) and found.group(2) and not found.group(3)):
            raise _Wrong(f"{name} {text!r}: expected {CRON_PARTS} (the fields: minute hour day-of-month month "
                         "day-of-week, then the command)")
        start, end = low, high
        if found.group(1) != "*":
            start, end = int(found.group(2)), int(found.group(3) or found.group(2))
        step = int(found.group(4) or 1)
        if not (low <= start <= high and low <= end <= high):
            raise _Wrong(f"{name} {text!r}: outside {low}-{high}")
        if start > end or not 1 <= step <= high:
            raise _Wrong(f"{name} {text!r}: a range is low-high, a step from 1 to {high}")
        values.update(range(start, end + 1, step))
    return frozenset(0 if name == "day of week" and v == 7 else v for v in values)


def cron_schedule(fields):
    """The five fields as one checked schedule text (single spaces)."""
    if len(fields) != 5:
        raise _Wrong(f"{' '.join(fields)!r}: a schedule has {CRON_HELP}")
    for text, (name, low, high) in zip(fields, CRON_FIELDS):
        cron_values(text, name, low, high)
    return " ".join(fields)


def cron_job(value):
    """`M H DOM MON DOW COMMAND` -> (schedule, command)."""
    parts = value.split(None, 5)
    if len(parts) < 6:
        raise _Wrong(f"{value!r}: expected {CRON_HELP}")
    return cron_schedule(parts[:5]), command(parts[5])


def cron_matches(schedule, moment):
    """Whether a five-field schedule runs at `moment` (a datetime, its minute), as Vixie cron decides: when both
    day of month and day of week are restricted (neither starts with *), either one matching is enough."""
    fields = schedule.split()
    try:
        cron_schedule(fields)
        minute, hour, day, month, weekday = (cron_values(t, *f) for t, f in zip(fields, CRON_FIELDS))
    except _Wrong as wrong:
        raise ValueError(str(wrong)) from None
    if moment.minute not in minute or moment.hour not in hour or moment.month not in month:
        return False
    day_ok, weekday_ok = moment.day in day, moment.isoweekday() % 7 in weekday
    if fields[2].startswith("*") or fields[4].startswith("*"):
        return day_ok and weekday_ok
    return day_ok or weekday_ok


def words(value):
    """A value without a trailing `# comment` (values of web, health and static hold no space of their own)."""
    kept = []
    for word in value.split():
        if word.startswith("#"):
            break
        kept.append(word)
    return " ".join(kept)


def control_character(line):
    """The column and code of the first control character but a tab in `line`, or None."""
    for column, char in enumerate(line, 1):
        if char != "\t" and (unicodedata.category(char) in ("Cc", "Zl", "Zp")):
            return column, f"U+{ord(char):04X}"
    return None


def key_value(line):
    """'KEY: VALUE' -> (key, value) or None."""
    key, colon, value = line.partition(":")
    key = key.strip()
    if not colon or not key or any(c.isspace() for c in key):
        return None
    return key, value.strip()


def add(found, key, value):
    """One line's key and value into `found` (the Procfile's fields so far)."""
    if key == "web":
        found["web"] = entry_point(words(value))
    elif key == "health":
        found["health"] = health_path(words(value))
    elif key == "static":
        prefix, folder = static_pair(words(value))
        for other, _ in found["static"]:
            if prefix.startswith(other) or other.startswith(prefix):
                raise _Wrong(f"{prefix} overlaps {other}, given before: each static prefix is apart from the others")
        if len(found["static"]) == MAX_STATIC:
            raise _Wrong(f"a {MAX_STATIC + 1}th static folder: at most {MAX_STATIC}")
        found["static"].append((prefix, folder))
    elif key == "release":
        found["release"] = command(value)
    elif WORKER_KEY.fullmatch(key):
        if len(found["workers"]) == MAX_WORKERS:
            raise _Wrong(f"a {MAX_WORKERS + 1}th worker: at most {MAX_WORKERS}")
        found["workers"][key] = command(value)
    elif CRON_KEY.fullmatch(key):
        if len(found["cron"]) == MAX_CRON:
            raise _Wrong(f"a {MAX_CRON + 1}th cron job: at most {MAX_CRON}")
        found["cron"][key] = cron_job(value)
    elif key.startswith(("worker", "cron")):
        raise _Wrong(f"unknown key: a name after {key.split('-')[0]}- is 1 to 24 lowercase letters, digits and -, "
                     "starting with a letter or digit")
    else:
        raise _Wrong(f"unknown key (the keys: {KEYS})")


def parse(text, filename="Procfile"):
    """The Procfile `text` (read from `filename`, named in errors) -> Procfile; ProcfileError for the first mistake."""
    found = {"static": [], "workers": {}, "cron": {}}
    lines = {}                               # key -> the line that gave it
    for number, raw in enumerate(text.removeprefix("\ufeff").split("\n"), 1):
        line = raw.removesuffix("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        bad = control_character(line)
        if bad:
            raise ProcfileError(f"{filename}:{number}: a control character ({bad[1]}) at column {bad[0]}: "
                                "a Procfile is lines of text")
        pair = key_value(line)
        if pair is None:
            raise ProcfileError(f"{filename}:{number}: expected KEY: VALUE (the keys: {KEYS}); "
                                "comments start with #")
        key, value = pair
        if key in lines and key != "static":
            raise ProcfileError(f"{filename}:{number}: {key}: given twice (first on line {lines[key]})")
        try:
            add(found, key, value)
        except _Wrong as wrong:
            raise ProcfileError(f"{filename}:{number}: {key}: {wrong}") from None
        lines.setdefault(key, number)
    if "web" not in found:
        raise ProcfileError(f"{filename}:1: web: missing: a Procfile names the app's WSGI entry point "
                            "(web: module:callable, e.g. web: app.wsgi:app)")
    return Procfile(web=found["web"], health=found.get("health", "/"), static=tuple(found["static"]),
                    release=found.get("release"), workers=found["workers"], cron=found["cron"])


def decode(data, filename="Procfile"):
    """A Procfile's bytes as text: UTF-8, at most MAX_BYTES; ProcfileError otherwise."""
    if len(data) > MAX_BYTES:
        raise ProcfileError(f"{filename}: {len(data)} bytes: a Procfile is at most {MAX_BYTES // 1024} KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise ProcfileError(f"{filename}:{line}: not UTF-8 text") from None


def as_json(procfile):
    return {"web": procfile.web, "health": procfile.health, "static": [list(s) for s in procfile.static],
            "release": procfile.release, "workers": dict(procfile.workers),
            "cron": {name: {"schedule": s, "command": c} for name, (s, c) in procfile.cron.items()}}


def release_files(procfile):
    """{path relative to PROCS_DIR: text}: what the release's processes read. uwsgi.ini holds only fixed text and
    checked names, never a command: uwsgi expands $(..) and %(..) in its values."""
    daemons = [f"attach-daemon = {layout.TEAM_PROCS} worker {name}\n" for name in procfile.workers]
    if procfile.cron:
        daemons.append(f"attach-daemon = {layout.TEAM_PROCS} cron\n")
    return {"web": procfile.web + "\n", "health": procfile.health + "\n",
            "procs.json": json.dumps(as_json(procfile), indent=2) + "\n",
            "uwsgi.ini": "[uwsgi]\n" + "".join(daemons)}


def static_links(procfile):
    """{link path relative to PROCS_DIR: its relative target}: public/<prefix> -> the folder, for nginx."""
    links = {}
    for prefix, folder in procfile.static:
        inner = prefix.strip("/").split("/")
        links["/".join(["public", *inner])] = "../" * (len(inner) + 1) + folder
    return links


def summary(procfile):
    """One line: what the Procfile runs."""
    parts = [f"web {procfile.web}", f"health {procfile.health}"]
    parts += [f"static {prefix} -> {folder}" for prefix, folder in procfile.static]
    parts += ["a release command"] if procfile.release else []
    parts += [f"workers: {', '.join(procfile.workers)}"] if procfile.workers else []
    parts += [f"cron: {', '.join(procfile.cron)}"] if procfile.cron else []
    return ", ".join(parts)
