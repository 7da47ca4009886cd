"""Nightly backups: the server's program (deploy/remote/nightly_backups.py) run here for real, as root runs it, against
a local SecantusDB: every team dumped in `fab backup`'s format, the last N kept, each dump restored into a scratch
database and compared, a broken dump said to be broken. On a class server, run by its supervisor program:
tests/e2e/test_backups_nightly.py."""
import json
import stat
import subprocess
import sys
import tarfile
import time
from datetime import datetime
from pathlib import Path

import pymongo
import pytest

from deploy.admin import backups
from deploy.core import layout
from deploy.inventory.model import Server
from deploy.remote import class_backups, nightly_backups
from deploy.remote.class_status import lines, parse
from deploy.team import backup_file
from lab import localdb

REMOTE = Path(nightly_backups.__file__).parent


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with localdb.running(tmp_path_factory.mktemp("nightlydb") / "data") as db:
        yield db.base_uri.rstrip("/")


@pytest.fixture
def machine(server, tmp_path):
    """A server's folders: two teams provisioned, the admin URI in root's file, the backups' folder."""
    (tmp_path / "teams").mkdir()
    for team in ("teamone", "teamtwo"):
        (tmp_path / "teams" / team).touch()
    client = pymongo.MongoClient(server)
    for team in ("teamone", "teamtwo"):
        client.drop_database(team)
    client.teamone.articles.insert_many([{"title": f"t{n}", "score": n} for n in range(7)])
    client.teamone.articles.create_index([("score", -1)], name="by_score")
    client.teamone.notes.insert_one({"text": "a second collection"})
    client.teamtwo.articles.insert_one({"title": "only one"})
    (tmp_path / "admin").write_text(server + "\n")
    return tmp_path, client


def nightly(folder, command, keep=7):
    return subprocess.run([sys.executable, str(REMOTE / "nightly_backups.py"), command, "--keep", str(keep),
                           "--dir", str(folder / "backups"), "--teams", str(folder / "teams"),
                           "--admin-file", str(folder / "admin"), "--team-db", str(REMOTE / "team_db.py")],
                          capture_output=True, text=True, timeout=120)


def last(folder, team):
    return json.loads((folder / "backups" / team / "last.json").read_text())


def test_a_round_dumps_every_team_verifies_each_dump_keeps_the_last_n_and_drops_its_scratch(machine):
    folder, client = machine
    for _ in range(3):
        done = nightly(folder, "once", keep=2)
        assert done.returncode == 0, done.stderr
        time.sleep(1.1)        # the dumps' names have the second of their making
    assert "teamone: teamone-" in done.stdout and "verified" in done.stdout and "FAILED" not in done.stdout
    dumps = sorted((folder / "backups" / "teamone").glob("teamone-*.tar.gz"))
    assert len(dumps) == 2
    manifest = backup_file.read_manifest(dumps[-1])        # `fab backup`'s format: `fab restore` takes it
    assert manifest.collections == {"articles": {"documents": 7, "indexes": 2}, "notes": {"documents": 1, "indexes": 1}}
    record = last(folder, "teamone")
    assert record["verified"] is True and record["problem"] is None
    assert record["file"] == dumps[-1].name and record["bytes"] == dumps[-1].stat().st_size
    assert last(folder, "teamtwo")["verified"] is True
    assert not [name for name in client.list_database_names() if name.startswith("hn_verify_")]
    assert stat.S_IMODE((folder / "backups" / "teamone").stat().st_mode) == 0o700
    assert stat.S_IMODE(dumps[-1].stat().st_mode) == 0o600


def test_a_dump_that_does_not_restore_is_said_so_and_the_other_teams_are_still_verified(machine):
    folder, _client = machine
    assert nightly(folder, "once").returncode == 0
    newest = sorted((folder / "backups" / "teamone").glob("teamone-*.tar.gz"))[-1]
    with tarfile.open(newest) as tar:       # the same archive, its articles cut short
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    files["dump/teamone/articles.bson"] = files["dump/teamone/articles.bson"][:-30]
    with tarfile.open(newest, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, __import__("io").BytesIO(data))
    done = nightly(folder, "verify")
    assert done.returncode == 0, done.stderr
    record = last(folder, "teamone")
    assert record["verified"] is False and "collection articles" in record["problem"], record
    assert f"teamone: {newest.name}" in done.stdout and "FAILED: " in done.stdout
    assert last(folder, "teamtwo")["verified"] is True


def test_a_restore_that_lost_an_index_is_a_difference(server):
    client = pymongo.MongoClient(server)
    client.drop_database("hn_verify_x")
    scratch = client.hn_verify_x
    scratch.articles.insert_many([{"n": 1}, {"n": 2}])
    indexes = [{"name": "_id_", "key": {"_id": 1}}, {"name": "by_n", "key": {"n": 1}}]
    manifest = {"collections": {"articles": {"documents": 2, "indexes": 2}}}
    assert "indexes ['_id_'] restored, the dump has ['_id_', 'by_n']" in nightly_backups.compare(
        scratch, manifest, {"articles": ([], indexes, {})})
    scratch.articles.create_index("n", name="by_n")
    assert nightly_backups.compare(scratch, manifest, {"articles": ([], indexes, {})}) == ""
    manifest["collections"]["articles"]["documents"] = 3
    assert nightly_backups.compare(scratch, manifest, {"articles": ([], indexes, {})}) == (
        "collection articles: 2 documents restored, the dump has 3")
    client.drop_database("hn_verify_x")


@pytest.mark.parametrize("now, at, expected", [
    ("2026-12-07 02:59:30", "03:00", "2026-12-07 03:00"),
    ("2026-12-07 03:00:00", "03:00", "2026-12-08 03:00"),      # just done: tomorrow, never twice
    ("2026-12-31 23:30:00", "00:15", "2027-01-01 00:15"),
])
def test_the_next_round_is_the_next_time_of_day(now, at, expected):
    when = nightly_backups.next_run(at, datetime.strptime(now, "%Y-%m-%d %H:%M:%S"))
    assert f"{when:%Y-%m-%d %H:%M}" == expected



def test_each_teams_last_round_becomes_a_status_line_and_figures_a_forged_problem_stays_one_cell(tmp_path):
    for team, record in (("teamone", {"file": "teamone-x.tar.gz", "bytes": 2048, "made": 1000, "verified": True,
                                      "problem": None}),
                         ("teamtwo", {"file": "teamtwo-x.tar.gz", "bytes": 10, "made": 1000, "verified": False,
                                      "problem": "collection a\tb\nbackup\tteamone\t1\t1\tx\tverified: ..."})):
        (tmp_path / team).mkdir()
        (tmp_path / team / "last.json").write_text(json.dumps(record))
    (tmp_path / "teamthree").mkdir()
    (tmp_path / "teamthree" / "last.json").write_text("{half a record")
    backups = class_backups.collected(str(tmp_path), ["teamone", "teamtwo", "teamthree", "teamfour"])
    text = lines({"teams": [], "quota": "-", "now": 1060, "certificates": [], "backups": backups})
    parsed = parse(text.replace("teams\t\n", "teams\tteamone teamtwo teamthree teamfour\n"))
    one, two = (class_backups.figures(class_backups.parse_cells(parsed["backups"][t]), 1060) for t in ("teamone", "teamtwo"))
    assert text.count("\nbackup\t") == 2 and set(parsed["backups"]) == {"teamone", "teamtwo"}
    assert one == {"backup_made": "1970-01-01T00:16:40Z", "backup_age_seconds": 60, "backup_bytes": 2048,
                   "backup_file": "teamone-x.tar.gz", "backup_verified": True, "backup_problem": None}
    assert two["backup_verified"] is False and two["backup_problem"].startswith("collection a b backup teamone")
    assert class_backups.cell(one) == "verified 1m ago, 2.0kB" and class_backups.cell(two) == "FAILED 1m ago"


def test_fetch_copies_only_the_dumps_it_does_not_have_as_root_through_sudo_for_a_sudoer():
    server = Server("main", "192.0.2.10", admin_user="instructor")
    command = backups.fetch_command(server, "keys/admin", ".hacknode/nightly/main")
    assert command[:5] == ["rsync", "-rt", "--chmod=D0700,F0600", "--ignore-existing", "--out-format=%n"]
    assert command[command.index("--rsync-path") + 1] == "sudo -n rsync"
    assert command[-5:] == ["--include=*/", "--include=*.tar.gz", "--exclude=*",
                            f"instructor@192.0.2.10:{layout.NIGHTLY_DIR}/", ".hacknode/nightly/main/"]
    assert backups.copied_dumps("teamone/\nteamone/teamone-1.tar.gz\n") == ["teamone/teamone-1.tar.gz"]


def test_a_new_dump_that_does_not_restore_pushes_out_no_older_one(machine, monkeypatch):
    folder, client = machine
    assert nightly(folder, "once", keep=1).returncode == 0
    time.sleep(1.1)
    team_db = nightly_backups.team_db_module(str(REMOTE / "team_db.py"))
    monkeypatch.setattr(team_db, "restore_into", lambda db, collections: 1 / 0)     # the scratch refuses it
    options = nightly_backups.parse_options(["once", "--keep", "1", "--dir", str(folder / "backups"), "--teams",
                                             str(folder / "teams"), "--admin-file", str(folder / "admin")])
    record = nightly_backups.back_up(client, team_db, options, "teamone")
    assert not record["verified"] and record["problem"] == "restore failed: ZeroDivisionError: division by zero"
    assert len(list((folder / "backups" / "teamone").glob("teamone-*.tar.gz"))) == 2     # the proven one kept
