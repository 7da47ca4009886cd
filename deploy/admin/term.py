"""The term's end: `fab freeze` (a deadline: deploys, pushes, rollbacks and settings refused, the live release taken as
the submission) and `fab archive` (every team's submission, database and logs fetched here and checked, then the class
removed). The server side is deploy/remote/term.sh; one root script per server, every server at once."""
import hashlib
import os
import shlex
import subprocess
from datetime import datetime, timezone

from deploy.admin import tasks as admin
from deploy.core import commands, layout, release, runner
from deploy.core.errors import DeployError
from deploy.core.fanout import on_each_server
from deploy.provision import database
from deploy.provision.bundle import server_script

TERM_DIR = layout.TERM_ARCHIVE
ARCHIVED = ("code.tar.gz", "database.tar.gz", "logs.tar.gz", "SUBMISSION")   # what a MANIFEST may list
REQUIRED = ("logs.tar.gz", "SUBMISSION")     # a team with no live release or no database has no code or dump
SAID = ("frozen ", "unfrozen ", "submitted ", "packed ")     # term.sh's lines worth showing


def parse_deadline(text, now):
    """`--at` (ISO 8601: 2026-12-18T23:59, a date and time; with no zone, this machine's) or None (now) -> (epoch
    seconds, the UTC time as text). DeployError naming the value when it is no time."""
    if text is None:
        moment = now
    else:
        try:
            moment = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
        except ValueError:
            raise DeployError(f"--at {text!r}: not a time (give it as 2026-12-18T23:59, or 2026-12-18T23:59Z for UTC)")
        if moment.tzinfo is None:
            moment = moment.astimezone()        # the instructor's own clock
    moment = moment.astimezone(timezone.utc).replace(microsecond=0)
    return int(moment.timestamp()), moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def freeze_lines(teams, epoch, when):
    return [f"hn_freeze {shlex.quote(t)} {epoch} {shlex.quote(when)}" for t in teams]


def unfreeze_lines(teams):
    return [f"hn_unfreeze {shlex.quote(t)}" for t in teams]


def pack_lines(admin_user):
    """Every team the server has, packed for fetching by `admin_user`."""
    return [f"hn_term_pack_all {shlex.quote(admin_user)}"]


def run_term(c, server, what, lines, mongodb):
    """term.sh's functions run as root with `lines`; the lines it said (SAID), each naming the server."""
    script = server_script([commands.remote_file("term.sh"), "hn_term_lock", *lines], mongodb)
    result = runner.run(c, commands.root_script(what, script, database.admin_uri_input(mongodb)))
    return [f"{server.name}: {line}" for line in result.stdout.splitlines() if line.startswith(SAID)]


def teams_by_server(inventory, team=None):
    """{server name: [team names]}: the inventory's teams, or `team` alone (DeployError if it lists no such team)."""
    chosen = [t for t in inventory.teams if team in (None, t.name)]
    if not chosen:
        raise DeployError(f"--team {team}: the inventory lists no such team")
    grouped = {}
    for t in chosen:
        grouped.setdefault(t.server, []).append(t.name)
    return grouped


def freeze(inventory, team=None, at=None, undo=False, key=None, say=print):
    """The deadline set (or lifted, `undo`) for every team of the class, or `team` alone."""
    epoch, when = parse_deadline(at, datetime.now(timezone.utc))
    grouped = teams_by_server(inventory, team)
    servers = [s for s in inventory.servers if s.name in grouped]

    def one(c, server):
        names = grouped[server.name]
        lines = unfreeze_lines(names) if undo else freeze_lines(names, epoch, when)
        return run_term(c, server, "fab freeze", lines, inventory.mongodb)
    admin.say_results(on_each_server(servers, one, key), "deadline lifted" if undo else f"deadline {when}", say)


def manifest_problems(folder):
    """What is wrong with a team's fetched folder, checked against its MANIFEST (sha256sum's format); [] when every
    file it lists is there with its checksum and the MANIFEST lists what an archive must hold."""
    path = os.path.join(folder, "MANIFEST")
    if not os.path.isfile(path):
        return [f"{folder}: no MANIFEST (not fetched yet)"]
    problems, listed = [], set()
    with open(path, encoding="utf-8") as manifest:
        for number, line in enumerate(manifest, 1):
            digest, _, name = line.rstrip("\n").partition("  ")
            if name not in ARCHIVED or len(digest) != 64:
                problems.append(f"{path}:{number}: not a line of an archive's manifest")
                continue
            listed.add(name)
            problems += [f"{folder}/{name}: {why}" for why in [file_problem(os.path.join(folder, name), digest)] if why]
    problems += [f"{path}: lists no {name}" for name in REQUIRED if name not in listed]
    return problems


def file_problem(path, digest):
    if not os.path.isfile(path):
        return "missing"
    sha = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            sha.update(block)
    return "" if sha.hexdigest() == digest else "its sha256 is not the MANIFEST's (fetch it again)"


def fetch(server, out, key):
    """The server's packed teams into `out` (rsync: only what is missing or differs; a half-copied file is kept
    and finished next time). Folders still being packed (.new) are left there."""
    ssh = release.ssh_command(port=server.ssh_port, key=key)
    source = f"{server.admin_user}@{server.address}:{TERM_DIR}/"
    done = subprocess.run(["rsync", "-rt", "--partial", "--chmod=Du=rwx,go=,Fu=rw,go=", "--exclude=*.new",
                           "--rsh", ssh, source, out.rstrip("/") + "/"], capture_output=True, text=True)
    if done.returncode != 0:
        raise DeployError(f"rsync from {source} failed (exit {done.returncode}): {runner.tail(done.stderr, 2)}")


def packed_teams(lines):
    """The teams of term.sh's "packed TEAM: ..." and "packed TEAM (kept)" lines (each prefixed by its server)."""
    return [line.split(": packed ", 1)[1].split()[0].rstrip(":") for line in lines if ": packed " in line]


def submission_text(folder):
    """'release R, submitted T' from a fetched SUBMISSION."""
    with open(os.path.join(folder, "SUBMISSION"), encoding="utf-8") as record:
        fields = dict(line.rstrip("\n").partition("=")[::2] for line in record if "=" in line)
    return f"release {fields.get('release', '?')}, taken {fields.get('submitted', '?')}"


def fetch_all(inventory, out, key, say):
    """Every server's teams packed and fetched into `out`, then checked here: [(server, team)]. DeployError, with
    nothing removed anywhere, when a server failed or a team's folder does not match its MANIFEST."""
    os.makedirs(out, mode=0o700, exist_ok=True)

    def one(c, server):
        lines = run_term(c, server, "fab archive", pack_lines(server.admin_user), inventory.mongodb)
        fetch(server, out, key)
        return lines
    results = on_each_server(inventory.servers, one, key)
    for line in (line for r in results for line in r.value or ()):
        say(line)
    again = ": nothing was removed; run fab archive again (it resumes)"
    failures = [f"{r.server.name}: {r.error}" for r in results if r.error]
    if failures:
        raise DeployError("; ".join(failures) + again)
    teams = [(r.server.name, name) for r in results for name in packed_teams(r.value)]
    problems = [p for _, name in teams for p in manifest_problems(os.path.join(out, name))]
    if problems:
        raise DeployError("the archive is not complete: " + "; ".join(problems[:5]) + again)
    return teams


def archive(inventory, out, dry=False, confirm=lambda question: False, key=None, say=print):
    """`fab archive`: fetch and check every team's archive; then, unless `dry` and once `confirm` agrees, the
    class removed from every server (deploy/admin/tasks.teardown) and the fetched copies there with it."""
    teams = fetch_all(inventory, out, key, say)
    for server, name in teams:
        say(f"{os.path.join(out, name)}: {submission_text(os.path.join(out, name))} ({server}): checksums verified")
    servers = ", ".join(s.name for s in inventory.servers)
    question = f"remove the class {inventory.name} ({len(teams)} teams) from {servers}?"
    if dry or not confirm(question):
        say(f"{'--dry: ' if dry else ''}nothing was removed; `fab archive --yes` removes the class once archived")
        return
    admin.teardown(inventory, key, say)
    on_each_server(inventory.servers, lambda c, server: runner.run(
        c, commands.program("remove the fetched archive", "rm", "-rf", TERM_DIR, root=True)), key)
