# managed by hacknode: the nightly backups of every team's database (installed as /opt/hacknode/bin/nightly-backups, run
# by root with the tools virtualenv's python under supervisor, program hacknode-backups, at nice 19 and idle I/O
# priority). Each team of TEAMS (one file per team provisioned here) is dumped in `fab backup`'s format (team-db's
# dump, beside this program), and the dump is then restored into a scratch database, hn_verify_<team> (no team's name:
# teams have no "_"), whose every collection's documents and indexes are compared with the dump's; the scratch is
# dropped afterwards. BACKUPS/<team>/ (0700 root) keeps the last KEEP dumps, <team>-<time>-<release>.tar.gz (0600
# root), and last.json: the newest dump's file, time, size and "verified" or the problem met (class_collect.py shows it).
# The admin URI is read from ADMIN_FILE into this process alone: never an argument, never a team's process.
#   run --at HH:MM --keep N ...    every day at HH:MM on this server's clock, the round below
#   once --keep N ...              the round now: every team dumped, the new dump verified, then the last N kept
#                                  (a dump that does not restore pushes out none)
#   verify ...                     the newest dump of every team restored and compared again, last.json rewritten
import argparse
import glob
import importlib.machinery
import importlib.util
import json
import os
import re
import sys
import time
from datetime import datetime, timedelta

import pymongo

HERE = os.path.dirname(os.path.abspath(__file__))
SCRATCH_PREFIX = "hn_verify_"
LAST = "last.json"


def team_db_module(path):
    """deploy/remote/team_db.py (installed as team-db beside this program): the one dump and restore of a database."""
    loader = importlib.machinery.SourceFileLoader("team_db", path)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("team_db", loader))
    loader.exec_module(module)
    return module


def next_run(at, now):
    """The next datetime at `at` ("HH:MM") after `now` (a naive local datetime)."""
    hours, minutes = map(int, at.split(":"))
    when = now.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    return when if when > now else when + timedelta(days=1)


def live_release(team):
    """The name of the team's live release (its `current` link's target), only letters, digits and ._- kept."""
    try:
        target = os.readlink(f"/home/{team}/current")
    except OSError:
        return "-"
    return re.sub(r"[^A-Za-z0-9._-]", "_", os.path.basename(target))[:64] or "-"


def dump_name(team, manifest):
    """As `fab backup` names its files (deploy/team/backup_file.file_name): <team>-<UTC time>-<release>.tar.gz."""
    stamp = re.sub(r"[-:]", "", manifest["made"])
    return f"{team}-{stamp}-{re.sub(r'[^A-Za-z0-9_.-]', '_', manifest['release'])}.tar.gz"


def index_keys(indexes):
    return sorted((index["name"], json.dumps(list(dict(index["key"]).items()))) for index in indexes)


def compare(scratch, manifest, collections):
    """'' when every collection of the dump is in `scratch` with the dump's documents and indexes, else the first
    difference."""
    restored = sorted(scratch.list_collection_names())
    if restored != sorted(collections):
        return f"collections restored {restored}, the dump has {sorted(collections)}"
    for name, (_documents, indexes, _options) in sorted(collections.items()):
        want, count = manifest["collections"][name]["documents"], scratch[name].count_documents({})
        if count != want:
            return f"collection {name}: {count} documents restored, the dump has {want}"
        got, wanted = index_keys(scratch[name].list_indexes()), index_keys(indexes)
        if got != wanted:
            return (f"collection {name}: indexes {[n for n, _ in got]} restored, "
                    f"the dump has {[n for n, _ in wanted]}")
    return ""


def verify(client, team_db, team, archive):
    """Restore `archive` into the scratch database and compare: '' when it restores whole, else the problem."""
    scratch = client[SCRATCH_PREFIX + team]
    try:
        client.drop_database(scratch.name)
        try:
            manifest, collections = team_db.read_archive(archive)
        except SystemExit as refused:       # team_db refuses an archive it cannot read whole with an exit
            return str(refused.code).replace("HN-FAIL ", "")
        team_db.restore_into(scratch, collections)
        return compare(scratch, manifest, collections)
    except Exception as error:  # any failure of the restore is the verdict, not the end of the round
        return f"restore failed: {type(error).__name__}: {error}"
    finally:
        try:
            client.drop_database(scratch.name)
        except Exception:       # the database gone: nothing left to drop
            pass


def write_last(folder, record):
    temporary = os.path.join(folder, f".{LAST}.new")
    with open(temporary, "w", encoding="utf-8") as out:
        json.dump(record, out)
    os.replace(temporary, os.path.join(folder, LAST))


def kept_dumps(folder, team):
    return sorted(glob.glob(os.path.join(folder, f"{team}-*.tar.gz")))


def prune(folder, team, keep):
    for old in kept_dumps(folder, team)[:-keep]:
        os.remove(old)


def record_of(archive, problem, started):
    return {"file": os.path.basename(archive), "bytes": os.path.getsize(archive), "made": int(os.path.getmtime(archive)),
            "verified": not problem, "problem": problem or None, "seconds": round(time.monotonic() - started, 1)}


def back_up(client, team_db, options, team):
    """Dump one team's database, keep its last N, verify the new dump; its last.json says how it went."""
    folder = os.path.join(options.dir, team)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    started, partial = time.monotonic(), os.path.join(folder, ".dump.partial")
    try:
        manifest = team_db.dump(partial, team, team, live_release(team), db=client[team])
    except Exception as error:  # the database not answering: said on the page, the next team still backed up
        if os.path.exists(partial):
            os.remove(partial)
        record = {"file": None, "bytes": 0, "made": int(time.time()), "verified": False,
                  "problem": f"dump failed: {type(error).__name__}: {error}", "seconds": 0}
        write_last(folder, record)
        return record
    archive = os.path.join(folder, dump_name(team, manifest))
    os.replace(partial, archive)
    record = record_of(archive, verify(client, team_db, team, archive), started)
    if record["verified"]:      # a dump that does not restore never pushes out one that did
        prune(folder, team, options.keep)
    write_last(folder, record)
    return record


def verify_newest(client, team_db, options, team):
    folder = os.path.join(options.dir, team)
    dumps = kept_dumps(folder, team)
    if not dumps:
        return None
    started = time.monotonic()
    record = record_of(dumps[-1], verify(client, team_db, team, dumps[-1]), started)
    write_last(folder, record)
    return record


def teams(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def round_of(options, work):
    """`work` for every team, one line each in the log; a failing team never stops the others."""
    with open(options.admin_file, encoding="utf-8") as handle:
        client = pymongo.MongoClient(handle.read().strip(), serverSelectionTimeoutMS=10000)
    team_db = team_db_module(options.team_db)
    started = time.monotonic()
    try:
        for team in teams(options.teams):
            record = work(client, team_db, options, team)
            if record:
                verdict = "verified" if record["verified"] else f"FAILED: {record['problem']}"
                print(f"nightly-backups: {team}: {record['file']} ({record['bytes']} bytes): {verdict} "
                      f"({record['seconds']}s)", flush=True)
    finally:
        client.close()
    print(f"nightly-backups: round done in {time.monotonic() - started:.1f}s", flush=True)


def parse_options(argv):
    parser = argparse.ArgumentParser(prog="nightly-backups")
    parser.add_argument("command", choices=("run", "once", "verify"))
    parser.add_argument("--at", default="03:00")
    parser.add_argument("--keep", type=int, default=7)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--teams", required=True)
    parser.add_argument("--admin-file", required=True)
    parser.add_argument("--team-db", default=os.path.join(HERE, "team-db"))
    return parser.parse_args(argv)


def main(argv):
    options = parse_options(argv)
    os.umask(0o077)             # every folder and file made here: root's alone
    os.makedirs(options.dir, mode=0o700, exist_ok=True)
    if options.command != "run":
        round_of(options, verify_newest if options.command == "verify" else back_up)
        return
    while True:
        when = next_run(options.at, datetime.now())
        print(f"nightly-backups: next round at {when:%Y-%m-%d %H:%M}", flush=True)
        while datetime.now() < when:    # short sleeps: a clock set forward is seen within a minute
            time.sleep(min(60.0, max(0.5, (when - datetime.now()).total_seconds())))
        try:
            round_of(options, back_up)
        except Exception as error:  # the admin file unreadable, say: logged, tried again the next night
            print(f"nightly-backups: round failed: {error!r}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
