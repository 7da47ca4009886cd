# managed by hacknode: archive a team's code and database before anything of it is removed.
HN_ARCHIVES=/var/backups/hacknode

hn_archive() {  # TEAM -> /var/backups/hacknode/TEAM-<UTC time>.tar.gz (root only)
  # Root reads none of the team's files: the team's own tar reads its home (no link followed, nothing it could not
  # read itself) into root's archive file, and root's part, the database dump, runs from / (it was run in the
  # team's `current`, a link the team points anywhere, and read RELEASE there).
  local team=$1 dump archive status=0
  dump=$(mktemp -d)
  archive="$HN_ARCHIVES/$team-$(date -u +%Y%m%dT%H%M%SZ).tar.gz"
  install -d -m 0700 "$HN_ARCHIVES"
  mkdir -p "$dump/database"
  if [ -n "${HN_ADMIN_URI:-}" ]; then
    # in `fab backup`'s format: `fab restore` loads it into this team's successor or any other team
    [ -x "$HN_TEAM_DB_TOOL" ] || hn_fail "no $HN_TEAM_DB_TOOL on this server: run fab provision first"
    # -I: root's Python imports nothing from the folder it runs in, takes no PYTHON* variable
    (cd / && HN_ADMIN_URI=$HN_ADMIN_URI "$HN_TOOLS/bin/python" -I "$HN_TEAM_DB_TOOL" dump \
       "$dump/database/$team-database.tar.gz" "$team" "$team" >/dev/null)
  fi
  # the team's tar takes its own database's dump too: the dump's folder is opened to it for that (its own data)
  chmod 0755 "$dump" && chmod -R a+rX "$dump/database"     # tar -C opens the folder: r as well as x
  # virtualenvs and the socket are rebuilt from the code; everything else of the home is kept
  # (tar exits 1 for a file that changed as it read it: the archive is whole all the same)
  (umask 077
   hn_as_user "$team" tar -czf - --ignore-failed-read --exclude="home/$team/envs" --exclude="home/$team/run" \
     -C "$dump" database -C / "home/$team" > "$archive" 2>/dev/null) || status=$?
  if [ "$status" -gt 1 ]; then
    echo "hn_archive: $team's own tar of its home failed: its database alone is archived" >&2
    tar -czf "$archive" -C "$dump" database
  fi
  chmod 0600 "$archive"
  rm -rf "$dump"
  echo "archived $team to $archive"
}
