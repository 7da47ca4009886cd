# managed by hacknode: the term's end on a server, as root (deploy/admin/term.py runs these after apply-lib.sh and
# archive.sh): a team's deadline (`fab freeze`), its submission, and the archive `fab archive` fetches before teardown.
# The deadline and the submission's record are root's files outside every home: release.sh, run as the team, reads
# them and refuses; no team can write, move or remove them. The submission itself (the live release's code, read by
# the team's own tar, and its database dump) is root's, 0600, where no team can enter.
# deploy/core/layout.py FREEZE_DIR, SUBMISSIONS, TERM_ARCHIVE (tests/test_term.py checks they agree):
HN_FREEZE_DIR=/etc/hacknode/freeze               # 0755 root: TEAM ("deadline=EPOCH ISO"), TEAM.submission
HN_SUBMISSIONS=/var/backups/hacknode-submissions # 0700 root: TEAM/{code.tar.gz,database.tar.gz,SUBMISSION}
HN_TERM=/var/backups/hacknode-term               # 0700, the admin user's: what `fab archive` fetches (rsync)
HN_RELEASE_ID='^[0-9]{8}T[0-9]{6}Z(-[0-9a-f]{4,40})?$'

hn_term_lock() {  # one term script at a time on a server: an interrupted `fab archive` (its SSH cut) leaves its script
  # running here, and the next one, resuming, would pack the same team into the same folder meanwhile
  exec 9> /run/hacknode-term.lock
  flock -w 900 9 || hn_fail "another fab freeze or fab archive has been running on this server for 15 minutes"
}

hn_root_file() {  # PATH TEXT: PATH (root's, 0644) holds TEXT, replaced at once
  local tmp
  tmp=$(mktemp "$1.hn-XXXXXX")
  printf '%s\n' "$2" > "$tmp" && chmod 0644 "$tmp" && mv -f "$tmp" "$1"
}

hn_freeze() {  # TEAM EPOCH ISO: from EPOCH on, the team's deploys, pushes, rollbacks and settings are refused; once
  # EPOCH has passed, its live release is taken as its submission (once per deadline)
  install -d -m 0755 "$HN_FREEZE_DIR"
  hn_root_file "$HN_FREEZE_DIR/$1" "deadline=$2 $3"
  echo "frozen $1: deadline $3"
  [ "$(date +%s)" -ge "$2" ] || return 0
  if grep -qxF "deadline=$3" "$HN_FREEZE_DIR/$1.submission" 2>/dev/null; then
    echo "submitted $1: $(hn_submitted "$1") (kept)"
  else
    hn_submit "$1" "$3"
  fi
  hn_seal "$1" "$(hn_submitted "$1")" root
}

hn_unfreeze() {  # TEAM: the deadline lifted, the home the team's again; the submission stays (kept from pruning,
  # archived by `fab archive`)
  rm -f "$HN_FREEZE_DIR/$1"
  [ "$(stat -c %U "/home/$1/releases" 2>/dev/null)" != root ] || hn_seal "$1" "$(hn_submitted "$1")" "$1"
  echo "unfrozen $1"
}

hn_submitted() {  # TEAM: the release its submission took ("none" before any)
  local id
  id=$(sed -n 's/^release=//p' "$HN_FREEZE_DIR/$1.submission" 2>/dev/null || true)
  [[ "$id" =~ $HN_RELEASE_ID ]] && echo "$id" || echo none
}

hn_seal() {  # TEAM ID OWNER: with OWNER root, a frozen team's submitted release is root's where it runs: its releases
  # folder (no release in it can be renamed or replaced), release ID's files and ID's virtualenv where the team made
  # it; the team and nginx read them as before, nobody changes them. With OWNER the team, back as they were. The home
  # stays the team's (it must enter it): `current` can still be pointed elsewhere by hand, which the collector reports.
  # chown works from inside the folder it opened (cd -P, checked), never through a path the team could swap meanwhile
  local home=/home/$1 env
  [ "$2" != none ] || return 0
  (cd -P "$home/releases" 2>/dev/null && [ "$(pwd -P)" = "$home/releases" ] || exit 0
   chown -h "$3" . && { [ ! -d "$2" ] || chown -R -P "$3" -- "$2"; }
   env=$(readlink "$2/rapid-env" 2>/dev/null || true)
   [[ "$env" =~ ^\.\./\.\./envs/[0-9a-f]+$ ]] || exit 0
   cd -P "$home/envs" 2>/dev/null && [ "$(pwd -P)" = "$home/envs" ] || exit 0
   chown -h "$3" . && { [ -L "${env##*/}" ] || [ ! -d "${env##*/}" ] || chown -R -P "$3" -- "${env##*/}"; })
}

hn_live_release() {  # TEAM: the id of its live release (current's target, a name the team chose: checked), or none
  local id
  id=$(basename "$(readlink "/home/$1/current" 2>/dev/null || true)")
  if [[ "$id" =~ $HN_RELEASE_ID ]] && [ -d "/home/$1/releases/$id" ]; then echo "$id"; else echo none; fi
}

hn_submit() {  # TEAM DEADLINE: its live release's code and its database, as root's copy, and the record release.sh
  # reads (the release is kept from pruning). The code is read by the team's own tar, bounded as hn_archive's
  local team=$1 id dir now max_kib why database=yes
  id=$(hn_live_release "$team")
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  install -d -m 0700 "$HN_SUBMISSIONS"
  install -d -m 0711 "$HN_ARCHIVE_DUMPS"
  dir="$HN_SUBMISSIONS/$team.new"
  rm -rf "$dir" && mkdir -m 0700 "$dir"
  max_kib=$(( $(df -Pk "$HN_SUBMISSIONS" | awk 'NR == 2 { print $4 }') / 2 ))
  if [ "$id" != none ]; then
    (umask 077
     hn_as_user "$team" prlimit --fsize=$((max_kib * 1024)) tar --sparse -czf - -C "/home/$team/releases" "$id" \
       > "$dir/code.tar.gz") || hn_fail "$team: the code of release $id could not be read (its tar failed)"
  fi
  why=$(hn_archive_dump "$team" "$dir" 2>&1 >/dev/null) ||
    hn_fail "$team: its database could not be dumped: ${why##*$'\n'}"
  if [ -e "$dir/$team-database.tar.gz" ]; then mv "$dir/$team-database.tar.gz" "$dir/database.tar.gz"
  else database=no; fi
  printf 'team=%s\nrelease=%s\nsubmitted=%s\ndeadline=%s\ndatabase=%s\n' "$team" "$id" "$now" "$2" "$database" \
    > "$dir/SUBMISSION"
  chmod 0600 "$dir"/*
  rm -rf "${HN_SUBMISSIONS:?}/$team" && mv "$dir" "$HN_SUBMISSIONS/$team"
  install -d -m 0755 "$HN_FREEZE_DIR"
  hn_root_file "$HN_FREEZE_DIR/$team.submission" "$(printf 'release=%s\nsubmitted=%s\ndeadline=%s' "$id" "$now" "$2")"
  echo "submitted $team: $id at $now"
}

hn_term_pack_all() {  # ADMIN: every team the server has (root's list, deploy/core/layout.py TEAMS_DIR) packed
  local f
  for f in /etc/hacknode/teams/*; do
    [ -e "$f" ] || continue
    hn_term_pack "$(basename "$f")" "$1"
  done
}

hn_term_pack() {  # TEAM ADMIN: the team's submission (taken now from its live release if it has none), its logs
  # and a MANIFEST of their sha256 in HN_TERM/TEAM, the ADMIN user's to fetch. A folder packed before is kept as it is
  # (an interrupted `fab archive` resumes); a half-packed one (.new) is packed again
  local team=$1 dir="$HN_TERM/$1.new"
  install -d -m 0700 -o "$2" "$HN_TERM"
  if [ -e "$HN_TERM/$team/MANIFEST" ]; then echo "packed $team (kept)"; return 0; fi
  [ -e "$HN_SUBMISSIONS/$team/SUBMISSION" ] || hn_submit "$team" none >/dev/null
  rm -rf "$dir" && mkdir -m 0700 "$dir"
  cp "$HN_SUBMISSIONS/$team"/* "$dir/"
  # the logs' folder is root's (supervisor and nginx write it): root's tar, no link followed
  tar -czf "$dir/logs.tar.gz" -C /var/log/hacknode "$team" 2>/dev/null || tar -czf "$dir/logs.tar.gz" -T /dev/null
  (cd "$dir" && sha256sum -- *.tar.gz SUBMISSION > MANIFEST)
  chown -R "$2" "$dir" && chmod 0600 "$dir"/*
  rm -rf "${HN_TERM:?}/$team" && mv "$dir" "$HN_TERM/$team"
  echo "packed $team: $(grep '^release=' "$HN_TERM/$team/SUBMISSION" | cut -d= -f2)"
}
