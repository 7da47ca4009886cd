"""Backups of a team's database: the server's program (deploy/remote/team_db.py) run here for real against a
local SecantusDB, and this side's checks of a backup file (deploy/team/backup_file.py). The round trip on a class
server, as the team, is tests/e2e/test_self_service.py."""
import io
import json
import os
import subprocess
import sys
import tarfile

import pymongo
import pytest

from deploy.core import commands
from deploy.team import backup_file
from deploy.team.backup_file import BackupError
from lab import localdb


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with localdb.running(tmp_path_factory.mktemp("backupdb") / "data") as db:
        yield db.base_uri.rstrip("/")


def team_db(uri, *args, cwd):
    """deploy/remote/team_db.py as the team runs it: its URI in FLASK_MONGO_URI, in the live release's folder."""
    return subprocess.run([sys.executable, "-c", commands.remote_file("team_db.py"), *map(str, args)], cwd=cwd,
                          env={**os.environ, "FLASK_MONGO_URI": uri}, capture_output=True, text=True)


def state(db):
    return {name: (sorted(map(str, db[name].find())), sorted(str(sorted(i.items())) for i in db[name].list_indexes()))
            for name in db.list_collection_names()}


def test_dump_then_load_gives_back_documents_scores_and_indexes(server, tmp_path):
    source = pymongo.MongoClient(server).teamone
    source.articles.insert_many([{"title": f"t{n}", "link": f"https://e.org/{n}", "score": n} for n in range(5)])
    source.articles.create_index([("score", -1), ("date", -1)], name="by_score")
    source.articles.create_index("link", unique=True)
    source.notes.insert_one({"text": "other collection"})
    (tmp_path / "RELEASE").write_text("20261201T120000Z-abc1234\n")
    done = team_db(f"{server}/teamone", "dump", tmp_path / "b.tar.gz", "teamone", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    manifest = backup_file.read_manifest(tmp_path / "b.tar.gz")
    assert manifest.release == "20261201T120000Z-abc1234" and manifest.collections["articles"]["documents"] == 5
    assert backup_file.file_name(manifest).startswith("teamone-20") and "abc1234.tar.gz" in backup_file.file_name(manifest)
    with tarfile.open(tmp_path / "b.tar.gz") as tar:     # mongodump's layout: mongorestore --dir dump reads it
        assert {"dump/teamone/articles.bson", "dump/teamone/articles.metadata.json"} <= set(tar.getnames())

    target = pymongo.MongoClient(server).teamtwo
    target.articles.insert_one({"title": "replaced"})
    target.stale.insert_one({"gone": True})
    loaded = team_db(f"{server}/teamtwo", "load", tmp_path / "b.tar.gz", cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert "restored database teamtwo from the backup of teamone" in loaded.stdout
    assert state(target) == state(source)


def archive(tmp_path, files):
    path = tmp_path / "made.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


MANIFEST = {"format": "hacknode-backup", "version": 1, "team": "t", "database": "t", "release": "r",
            "made": "2026-12-01T12:00:00Z", "collections": {"articles": {"documents": 1, "indexes": 1}}}


@pytest.mark.parametrize("files, says", [
    ({"x.json": b"{}"}, "no hacknode-backup.json"),
    ({"hacknode-backup.json": b"nope"}, "is not JSON"),
    ({"hacknode-backup.json": json.dumps({**MANIFEST, "format": "mongodump"}).encode()}, "format 'mongodump'"),
    ({"hacknode-backup.json": json.dumps(MANIFEST).encode()}, "dump/t/articles.bson is missing")])
def test_what_is_not_a_whole_backup_is_refused_here_in_one_line(tmp_path, files, says):
    with pytest.raises(BackupError, match=says) as refused:
        backup_file.read_manifest(archive(tmp_path, files))
    assert "\n" not in str(refused.value)


def test_not_a_tar_at_all_is_refused_here_and_by_the_server_which_changes_nothing(server, tmp_path):
    (tmp_path / "notes.tar.gz").write_text("plain text\n")
    with pytest.raises(BackupError, match="not a gzip'd tar"):
        backup_file.read_manifest(tmp_path / "notes.tar.gz")
    kept = pymongo.MongoClient(server).teamthree
    kept.articles.insert_one({"title": "kept"})
    truncated = archive(tmp_path, {"hacknode-backup.json": json.dumps(MANIFEST).encode(),
                                   "dump/t/articles.bson": b"\x05\x00", "dump/t/articles.metadata.json": b"{}"})
    for bad in (tmp_path / "notes.tar.gz", truncated):
        refused = team_db(f"{server}/teamthree", "load", bad, cwd=tmp_path)
        assert refused.returncode != 0 and "HN-FAIL not a hacknode backup" in refused.stderr
    assert [a["title"] for a in kept.articles.find()] == ["kept"]
