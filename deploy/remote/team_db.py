# managed by hacknode: a team's own database, as the team: run by the live release's python (pymongo is in
# every team's virtualenv) with the team's settings exported, so the database is FLASK_MONGO_URI's and the
# credentials are the team's own (commands.team_db). Nothing here can reach another team's database.
#   dump ARCHIVE TEAM [DB]      every collection into ARCHIVE (tar.gz): dump/<db>/<name>.bson (documents, as
#                               mongodump writes them) and <name>.metadata.json (indexes, options), and the
#                               manifest hacknode-backup.json (team, database, live release, time)
#                               (with DB: database DB through $HN_ADMIN_URI, root archiving a removed team)
# (root's nightly backups, deploy/remote/nightly_backups.py, import dump, read_archive and restore_into)
#   load ARCHIVE                check the whole archive, then replace every collection with the archive's
#   shell                       an interactive Python prompt with `db` bound to the team's database
import code
import io
import json
import os
import sys
import tarfile
import time

import pymongo
from bson import decode_all, json_util
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument

FORMAT, VERSION, MANIFEST = "hacknode-backup", 1, "hacknode-backup.json"
RAW = CodecOptions(document_class=RawBSONDocument)


def database(name=None):
    """The team's own database (its URI's), or as root through the admin URI the database `name`."""
    client = pymongo.MongoClient(os.environ["HN_ADMIN_URI" if name else "FLASK_MONGO_URI"],
                                 serverSelectionTimeoutMS=10000)
    return client[name] if name else client.get_default_database()


def add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
    tar.addfile(info, io.BytesIO(data))


def dump(archive, team, name=None, release=None, db=None):
    db = database(name) if db is None else db
    if release is None:         # run in `current` by the team
        release = open("RELEASE").read().strip() if os.path.exists("RELEASE") else "-"
    manifest = {"format": FORMAT, "version": VERSION, "team": team, "database": db.name, "release": release,
                "made": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "collections": {}}
    with tarfile.open(archive, "w:gz") as tar:
        for name in sorted(db.list_collection_names()):
            collection = db.get_collection(name, codec_options=RAW)
            documents = [doc.raw for doc in collection.find()]
            indexes = [json.loads(json_util.dumps(index)) for index in db[name].list_indexes()]
            options = json.loads(json_util.dumps(db[name].options()))
            add(tar, f"dump/{db.name}/{name}.bson", b"".join(documents))
            add(tar, f"dump/{db.name}/{name}.metadata.json",
                json.dumps({"options": options, "indexes": indexes, "collectionName": name}).encode())
            manifest["collections"][name] = {"documents": len(documents), "indexes": len(indexes)}
        add(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
    counts = ", ".join(f"{n} {c['documents']} documents" for n, c in manifest["collections"].items())
    print(f"dumped database {db.name}: {counts or 'no collections'}")
    return manifest


def refuse(why):
    sys.exit(f"HN-FAIL not a hacknode backup: {why}")


def read_archive(archive):
    """{name: (documents, indexes, options)} from the whole archive, every part checked; exits naming the
    first problem, before anything is changed."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    except (tarfile.TarError, OSError, EOFError) as error:
        refuse(f"cannot read it as a gzip'd tar ({error})")
    try:
        manifest = json.loads(files[MANIFEST])
    except (KeyError, ValueError):
        refuse(f"no readable {MANIFEST} in it")
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        refuse(f"its format is {manifest.get('format')!r} version {manifest.get('version')!r}, "
               f"not {FORMAT!r} version {VERSION}")
    collections = {}
    for name, counts in manifest.get("collections", {}).items():
        prefix = f"dump/{manifest['database']}/{name}"
        try:
            documents = decode_all(files[prefix + ".bson"], RAW)
            metadata = json_util.loads(files[prefix + ".metadata.json"])
        except Exception as error:  # missing, truncated or corrupt: all mean the same to the user
            refuse(f"collection {name}: {type(error).__name__} {error}")
        if len(documents) != counts.get("documents"):
            refuse(f"collection {name}: {len(documents)} documents, the manifest says {counts.get('documents')}")
        collections[name] = (documents, metadata.get("indexes", []), metadata.get("options", {}))
    return manifest, collections


def restore_into(db, collections):
    """Every collection of `db` replaced by the archive's (read_archive's collections)."""
    for name in db.list_collection_names():
        db.drop_collection(name)
    for name, (documents, indexes, options) in collections.items():
        db.create_collection(name, **options)
        for start in range(0, len(documents), 1000):
            db[name].insert_many(documents[start:start + 1000], ordered=True)
        specs = [{k: v for k, v in index.items() if k not in ("v", "ns")} for index in indexes
                 if index.get("name") != "_id_"]
        if specs:
            db.command("createIndexes", name, indexes=specs)


def load(archive):
    manifest, collections = read_archive(archive)
    db = database()
    restore_into(db, collections)
    counts = ", ".join(f"{n} {len(c[0])} documents" for n, c in collections.items())
    print(f"restored database {db.name} from the backup of {manifest['team']} made {manifest['made']}: "
          f"{counts or 'no collections'}")


def shell():
    db = database()
    code.interact(banner=f"database {db.name} as `db` (pymongo), e.g. db.articles.find_one(); Ctrl-D quits",
                  local={"db": db}, exitmsg="")


def main(command, *args):
    {"dump": dump, "load": load, "shell": shell}[command](*args)


if __name__ == "__main__":      # root's nightly backups import it
    main(*sys.argv[1:])
