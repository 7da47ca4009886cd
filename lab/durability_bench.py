"""What durable writes cost (figures printed, never asserted), on a local SecantusDB: inserts/s with the default
write concern and with j=True, then the app's front page and submits, which write journaled."""
import tempfile
import time
from pathlib import Path

import pymongo
from pymongo import WriteConcern

from app import create_app
from lab import localdb


def per_second(action, seconds):
    """How many times action(n) runs per second, over about `seconds`."""
    count, started = 0, time.monotonic()
    while time.monotonic() - started < seconds:
        action(count)
        count += 1
    return count / (time.monotonic() - started)


def inserts_per_second(uri, write_concern, seconds):
    with pymongo.MongoClient(uri) as client:
        articles = client.get_default_database().get_collection("bench", write_concern=write_concern)
        return per_second(lambda n: articles.insert_one({"n": n}), seconds)


def run(say=print, seconds=3.0):
    with tempfile.TemporaryDirectory() as tmp, localdb.running(Path(tmp) / "data") as db:
        default = inserts_per_second(db.uri, WriteConcern(), seconds)
        journaled = inserts_per_second(db.uri, WriteConcern(j=True), seconds)
        say(f"durability: pymongo inserts {default:6.0f}/s with the default write concern, {journaled:6.0f}/s "
            f"journaled (j=True): {100 * (1 - journaled / default):.0f}% fewer, each write safe from a kill -9")
        client = create_app({"SECRET_KEY": "bench", "MONGO_URI": db.uri}).test_client()
        submits = per_second(lambda n: client.post("/submit.json", json={
            "title": f"Bench {n}", "link": f"https://example.com/bench/{n}"}), seconds)
        front = per_second(lambda n: client.get("/"), seconds)
        say(f"durability: through the app (one client, no nginx): {submits:6.0f} JSON submits/s journaled "
            f"({1000 / submits:.1f} ms each); front page {front:6.0f} requests/s (reads only: journaling does not touch it)")
