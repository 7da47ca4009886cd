"""The web side: how many documents each release's worker wrote (JSON), read from the team's database."""
import json
import os

import pymongo

database = pymongo.MongoClient(os.environ["FLASK_MONGO_URI"]).get_default_database()


def application(environ, start_response):
    counts = {row["_id"]: row["count"] for row in database.beats.aggregate(
        [{"$group": {"_id": "$release", "count": {"$sum": 1}}}])}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(counts).encode()]
