"""A worker: writes one document a second to the team's database, naming the release it runs from."""
import datetime
import os
import time
from pathlib import Path

import pymongo

release = Path("RELEASE").read_text().strip()        # the worker runs in its release's folder
database = pymongo.MongoClient(os.environ["FLASK_MONGO_URI"]).get_default_database()
print(f"beat: writing for release {release}", flush=True)
while True:
    database.beats.insert_one({"release": release, "at": datetime.datetime.now(datetime.timezone.utc)})
    time.sleep(1)
