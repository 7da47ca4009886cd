"""A submit, a click or a JSON submit is answered only once its write is in the database's journal:
the database killed (kill -9) right after keeps every one of them."""
import os
import signal

import pymongo

from app import create_app
from app.db import get_db, journaled
from lab import localdb
from tests.app.conftest import csrf_token_of


def test_the_app_writes_through_a_journaled_write_concern(app):
    with app.app_context():
        assert get_db().write_concern.document == {"j": True}


def test_a_majority_write_concern_in_the_uri_is_kept_and_journaled():
    with pymongo.MongoClient("mongodb://db1:27017,db2:27017/news?replicaSet=rs0&w=majority",
                             connect=False) as client:
        assert journaled(client.write_concern).document == {"w": "majority", "j": True}


def test_acknowledged_writes_survive_the_database_killed_right_after(tmp_path):
    storage = tmp_path / "data"
    db = localdb.start(storage)
    try:
        client = create_app({"TESTING": True, "SECRET_KEY": "test", "MONGO_URI": db.uri}).test_client()
        for n in range(10):
            token = csrf_token_of(client)
            page = client.post("/submit", data={"title": f"Form {n}", "link": f"https://example.com/form{n}",
                                                "csrf_token": token}).get_data(as_text=True)
            assert "your link is on Rapid News" in page
        for n in range(10):
            assert client.post("/submit.json", json={"title": f"Json {n}",
                                                     "link": f"https://example.com/json{n}"}).status_code == 201
        for n in range(10):
            assert client.get("/click", query_string={"url": f"https://example.com/form{n}"}).status_code == 302
    finally:
        os.kill(db.process.pid, signal.SIGKILL)     # no clean shutdown: only what reached the journal stays
        db.process.wait()
    with localdb.running(storage) as back, pymongo.MongoClient(back.uri) as check:
        stored = {a["link"]: a["score"] for a in check.get_default_database().articles.find()}
    assert len(stored) == 20
    assert all(stored[f"https://example.com/form{n}"] == 1 for n in range(10))
