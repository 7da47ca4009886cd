# managed by hacknode: archive a team's code and database before anything of it is removed.
HN_ARCHIVES=/var/backups/hacknode

hn_archive() {  # TEAM -> /var/backups/hacknode/TEAM-<UTC time>.tar.gz (root only)
  local team=$1 dump archive
  dump=$(mktemp -d)
  archive="$HN_ARCHIVES/$team-$(date -u +%Y%m%dT%H%M%SZ).tar.gz"
  install -d -m 0700 "$HN_ARCHIVES"
  mkdir -p "$dump/database"
  if [ -n "${HN_ADMIN_URI:-}" ]; then
    # in `fab backup`'s format: `fab restore` loads it into this team's successor or any other team
    [ -x "$HN_TEAM_DB_TOOL" ] || hn_fail "no $HN_TEAM_DB_TOOL on this server: run fab provision first"
    # -I: root's Python in the team's folder imports nothing from it, takes no PYTHON* variable
    (cd "/home/$team/current" 2>/dev/null || cd /
     HN_ADMIN_URI=$HN_ADMIN_URI "$HN_TOOLS/bin/python" -I "$HN_TEAM_DB_TOOL" dump "$dump/database/$team-database.tar.gz" "$team" "$team" >/dev/null)
  fi
  # virtualenvs and the socket are rebuilt from the code; everything else of the home is kept
  tar -czf "$archive" --exclude="home/$team/envs" --exclude="home/$team/run" \
      -C "$dump" database -C / "home/$team" 2>/dev/null || tar -czf "$archive" -C "$dump" database
  chmod 0600 "$archive"
  rm -rf "$dump"
  echo "archived $team to $archive"
}
