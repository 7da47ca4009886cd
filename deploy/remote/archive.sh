# managed by hacknode: archive a team's code and database before anything of it is removed.
HN_ARCHIVES=/var/backups/hacknode
# root's, 0711: the team's tar passes through it to its own database's dump, a folder of the team's uid (0700);
# no other user can list it or read in it, and nobody but root writes in it (/tmp was everybody's)
HN_ARCHIVE_DUMPS=/var/backups/hacknode-dumps

hn_archive() {  # TEAM [SECONDS [MAX_KIB]] -> /var/backups/hacknode/TEAM-<UTC time>.tar.gz (root only), and one line
  # saying what it holds. Run once nothing of the team runs (hn_end_account): its home no longer changes, and no
  # process of its can stop its tar. Root reads none of the team's files: the team's own tar reads its home (no link
  # followed, nothing it could not read itself), bounded by a deadline (SECONDS, 600) and a size (MAX_KIB: half of
  # what is free where the archives are), so a team's home can neither fill root's disk nor hold removal up; root's
  # part, the database dump (bounded by the team's database cap), runs from /. Whatever the home's tar does, the
  # database is kept.
  local team=$1 seconds=${2:-600} max_kib=${3:-} dump archive status=0 database="its database" home="its home"
  install -d -m 0700 "$HN_ARCHIVES"
  install -d -m 0711 "$HN_ARCHIVE_DUMPS"
  [ -n "$max_kib" ] || max_kib=$(( $(df -Pk "$HN_ARCHIVES" | awk 'NR == 2 { print $4 }') / 2 ))
  archive="$HN_ARCHIVES/$team-$(date -u +%Y%m%dT%H%M%SZ).tar.gz"
  dump=$(mktemp -d "$HN_ARCHIVE_DUMPS/$team.XXXXXX")
  mkdir -m 0700 "$dump/database"
  hn_archive_dump "$team" "$dump/database" || database="not its database (its dump failed or ran past 600 s)"
  # the team's tar reads it, no other team (the uid runs nothing else); a user gone: its tar fails, the database stays
  chown -R "$(id -u "$team" 2>/dev/null || echo 0)" "$dump"
  # virtualenvs and the socket are rebuilt from the code; everything else of the home is kept. --sparse: a file of
  # holes is stored as such (without it, a 16 TB hole is 16 TB to read and compress). tar exits 1 for a file that
  # changed as it read it (the archive is whole all the same)
  (umask 077
   hn_as_user "$team" prlimit --fsize=$((max_kib * 1024)) timeout -k 5 "$seconds" tar --sparse -czf - \
     --ignore-failed-read --exclude="home/$team/envs" --exclude="home/$team/run" \
     -C "$dump" database -C / "home/$team" > "$archive" 2>/dev/null) || status=$?
  if [ "$status" -gt 1 ]; then
    if [ "$(stat -c %s "$archive")" -ge $((max_kib * 1024)) ]; then home="not its home (over ${max_kib} KiB)"
    elif [ "$status" = 124 ] || [ "$status" = 137 ]; then home="not its home (its tar ran past ${seconds} s)"
    else home="not its home (its tar failed, exit $status)"
    fi
    tar -czf "$archive" -C "$dump" database
  fi
  chmod 0600 "$archive"
  rm -rf "$dump"
  rmdir "$HN_ARCHIVE_DUMPS" 2>/dev/null || true        # another removal's dump may be there still
  echo "archived $team to $archive: $home, $database"
}

hn_archive_dump() {  # TEAM FOLDER: the team's database into FOLDER, in `fab backup`'s format (`fab restore`
  # loads it into this team's successor or any other team); nothing to do without a database admin
  [ -n "${HN_ADMIN_URI:-}" ] || return 0
  [ -x "$HN_TEAM_DB_TOOL" ] || hn_fail "no $HN_TEAM_DB_TOOL on this server: run fab provision first"
  # -I: root's Python imports nothing from the folder it runs in, takes no PYTHON* variable
  (cd / && umask 077 && HN_ADMIN_URI=$HN_ADMIN_URI timeout -k 5 600 "$HN_TOOLS/bin/python" -I "$HN_TEAM_DB_TOOL" \
     dump "$2/$1-database.tar.gz" "$1" "$1" >/dev/null)
}
