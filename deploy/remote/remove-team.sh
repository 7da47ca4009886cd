# shellcheck shell=bash
# managed by hacknode: a team's account removed so that nothing of it is left for the next team given its uid (useradd
# hands a freed uid on): every process killed, its home, crontab, at jobs, files outside its home and SysV IPC removed,
# then the user and its own group deleted. If anything of the uid remains, the account stays, locked, and the removal
# fails saying what: its uid goes to no new team. Also the lines of /etc/cron.deny and /etc/at.deny that refuse the
# teams' scheduled jobs (they would run outside the team's slice and limits).

hn_end_team() {  # TEAM RECORD: a team hacknode made (RECORD: its record) whose program is stopped (supervisor first:
  # it would start the program again as the uid) and its account ended: nothing of the team can then stop or change
  # its archive (hn_archive, next)
  [ -e "$2" ] || hn_fail "$1 is not a team hacknode made on this server"
  supervisorctl stop "$1" >/dev/null 2>&1 || true
  hn_end_account "$1"
}

hn_remove_team() {  # TEAM RECORD SLICE_DROPIN FILE... -- FOLDER...: after its archive, a team's configs (FILEs) and
  # database removed, its slice's drop-in (SLICE_DROPIN has {uid}: its limits would otherwise bound the next user given
  # its uid), then its account with nothing of its uid left, its FOLDERs, and last hacknode's RECORD of it
  local team=$1 record=$2 slice=$3 uid files=()
  shift 3
  while [ $# -gt 0 ] && [ "$1" != -- ]; do files+=("$1"); shift; done
  shift    # the --
  rm -f "${files[@]}"
  supervisorctl update >/dev/null
  if nginx -t 2>/dev/null; then hn_service nginx reload; fi
  [ -z "$HN_ADMIN_URI" ] || hn_mongo drop-team "$team"
  if uid=$(id -u "$team" 2>/dev/null); then rm -f "${slice//\{uid\}/$uid}" || true; fi
  hn_remove_account "$team" "$record"
  if rm -rf "$@"; then rm -f "$record"; fi
}

hn_remove_account() {  # TEAM RECORD: the team's user (RECORD: hacknode's record of the team, with its group's gid)
  local team=$1 uid own_gid home left
  uid=$(id -u "$team" 2>/dev/null) || return 0      # no user (a half-made team): nothing of it to remove
  own_gid=$(hn_own_gid "$team" "$2")
  home=$(getent passwd "$team" | cut -d: -f6)
  hn_end_account "$team"
  hn_remove_jobs "$team"
  [ "$home" = "/home/$team" ] && rm -rf --one-file-system "$home"
  hn_remove_files_of "$uid" "$own_gid"
  hn_remove_ipc "$uid"
  left=$(hn_uid_left "$uid")
  [ -z "$left" ] || hn_fail "$team: uid $uid still has $left; the account stays, locked (no new team gets its uid):" \
    "remove those, then remove the team again"
  # userdel also deletes the primary group named after the user: a group hacknode did not make must stay
  [ "$(id -g "$team")" = "$own_gid" ] || usermod -g nogroup "$team"
  userdel "$team" || hn_fail "$team: userdel failed (see above); its uid owns nothing any more"
  if [ -n "$own_gid" ] && [ "$(getent group "$own_gid" | cut -d: -f1)" = "$team" ]; then groupdel "$team"; fi
  hn_deny_edit /etc/cron.deny remove "$team"
  hn_deny_edit /etc/at.deny remove "$team"
}

hn_end_account() {  # TEAM: nothing of the team runs any more, and nothing new starts: the account locked and expired
  # (sshd's PAM refuses an expired account), every process of its uid killed. Before its archive too: a team's process
  # could stop the tar that reads its home, or change what it reads
  local uid
  uid=$(id -u "$1" 2>/dev/null) || return 0
  hn_team_uid "$1" "$uid"
  usermod --lock --expiredate 1 --shell /usr/sbin/nologin "$1" >/dev/null
  hn_kill_uid "$1" "$uid"
}

hn_team_uid() {  # TEAM UID: refuse a system uid (below UID_MIN, or nobody's), and a uid another user shares: every
  # file and process of the uid goes
  local min
  min=$(awk '$1 == "UID_MIN" { print $2 }' /etc/login.defs 2>/dev/null || true)
  if [ "$2" -lt "${min:-1000}" ] || [ "$2" -ge 65534 ]; then
    hn_fail "$1 has uid $2, a system uid: hacknode made no such user; nothing of it was removed"
  fi
  if [ "$(getent passwd | awk -F: -v u="$2" '$3 == u' | wc -l)" != 1 ]; then
    hn_fail "$1 shares its uid $2 with another user: nothing of it was removed"
  fi
}

hn_own_gid() {  # TEAM RECORD: the gid of the group hacknode made for the team, or nothing. The record says which
  # (hn_add_user); a record from before says nothing, and then the team's primary group is its own only if it is
  # named after the team, is no system group (GID_MIN..GID_MAX) and has no member: a team named after an existing
  # group joined it then, and that group stays
  local gid name members min max
  gid=$(sed -n 's/^group=\([0-9][0-9]*\)$/\1/p' "$2" 2>/dev/null || true)
  if [ -n "$gid" ]; then echo "$gid"; return 0; fi
  IFS=: read -r name _ gid members < <(getent group "$(id -g "$1")") || return 0
  min=$(awk '$1 == "GID_MIN" { print $2 }' /etc/login.defs 2>/dev/null || true)
  max=$(awk '$1 == "GID_MAX" { print $2 }' /etc/login.defs 2>/dev/null || true)
  if [ "$name" = "$1" ] && [ -z "$members" ] && [ "$gid" -ge "${min:-1000}" ] && [ "$gid" -le "${max:-60000}" ]; then
    echo "$gid"
  fi
}

hn_kill_uid() {  # TEAM UID: every process of the uid ended: TERM (its program may clean up), up to 2 s, then KILL until
  # none is left. KILL by the uid itself too (kill -1: every process it may signal, at once), so a fork loop ends
  local i
  pkill -TERM -u "$2" 2>/dev/null || true
  pkill -TERM -U "$2" 2>/dev/null || true
  for i in $(seq 100); do
    pgrep -u "$2" >/dev/null || pgrep -U "$2" >/dev/null || break
    if [ "$i" -gt 8 ]; then
      hn_as_user "$1" kill -KILL -1 2>/dev/null || true
      pkill -KILL -u "$2" 2>/dev/null || true
      pkill -KILL -U "$2" 2>/dev/null || true
    fi
    sleep 0.25
  done
  # where systemd runs, logind unmounts the user's /run/user/UID once its last process is gone
  for i in $(seq 20); do mountpoint -q "/run/user/$2" || break; sleep 0.25; done
  ! mountpoint -q "/run/user/$2" || umount -l "/run/user/$2" || true
}

hn_remove_jobs() {  # TEAM: its crontab and at jobs (from before its name was denied). Debian's crontab refuses even
  # root's `crontab -r -u TEAM` once the team is in cron.deny: its file goes from cron's spool (cron sees the change)
  rm -f "/var/spool/cron/crontabs/$1"
  if command -v atq >/dev/null; then
    atq 2>/dev/null | awk -v team="$1" '$NF == team { print $1 }' | xargs -r atrm 2>/dev/null || true
  fi
}

hn_uid_places() {  # where a team can leave files outside its home, and its home's filesystem (world-writable folders)
  local place
  for place in /tmp /var/tmp /dev/shm /dev/mqueue /run /var/spool /var/mail "$(stat -c %m /home)"; do
    [ -d "$place" ] && echo "$place"
  done
}

hn_remove_files_of() {  # UID OWN_GID: every file and folder of the uid on those filesystems. find follows no link
  # (-P) and stays on each filesystem (-xdev); -delete removes a link itself, and a folder once it is emptied. A folder
  # that holds another user's files (a 1777 folder of the team's) becomes root's; so do files of the team's group.
  # -delete and -execdir act on the name inside the folder find opened (-exec gave a path: a team that swaps one of
  # its parent folders for a link while find runs would have root chown what the link leads to)
  local places
  mapfile -t places < <(hn_uid_places)
  find -P "${places[@]}" -xdev -uid "$1" -delete 2>/dev/null || true
  find -P "${places[@]}" -xdev -uid "$1" -type d -execdir chown -h root:root {} + 2>/dev/null || true
  [ -z "$2" ] || find -P "${places[@]}" -xdev -gid "$2" -execdir chgrp -h root {} + 2>/dev/null || true
}

hn_uid_ipc() {  # UID: "KIND ID" of each SysV IPC object the uid owns or made (/proc/sysvipc: uid and cuid columns)
  local kind file column
  for kind in m:shm:8 q:msg:8 s:sem:5; do
    IFS=: read -r kind file column <<< "$kind"
    awk -v u="$1" -v n="$column" -v k="$kind" 'FNR > 1 && ($n == u || $(n + 2) == u) { print k, $2 }' \
      "/proc/sysvipc/$file" 2>/dev/null || true
  done
}

hn_remove_ipc() {  # UID: its shared memory segments, message queues and semaphore sets
  local kind id
  hn_uid_ipc "$1" | while read -r kind id; do ipcrm "-$kind" "$id" 2>/dev/null || true; done
}

hn_uid_left() {  # UID: what of the uid is still there, in a few words; nothing when nothing is
  local places processes files ipc what=""
  mapfile -t places < <(hn_uid_places)
  processes=$({ pgrep -u "$1"; pgrep -U "$1"; } | sort -u | head -n 5 | tr '\n' ' ' || true)
  files=$(find -P "${places[@]}" -xdev -uid "$1" 2>/dev/null | head -n 3 | tr '\n' ' ' || true)
  ipc=$(hn_uid_ipc "$1" | head -n 3 | tr '\n' ' ' || true)
  [ -z "$processes" ] || what="processes $processes"
  [ -z "$files" ] || what="${what:+$what, }files $files"
  [ -z "$ipc" ] || what="${what:+$what, }SysV IPC $ipc"
  echo "$what"
}

hn_deny_edit() {  # FILE add|remove NAME...: cron.deny or at.deny (one user a line) with the NAMEs added or removed; its
  # other lines, owner and mode kept; a new file is 0644 root's (crontab and at read it as their caller's program)
  local file=$1 action=$2 name tmp
  shift 2
  [ -e "$file" ] || [ "$action" = add ] || return 0
  tmp=$(mktemp "$file.hn-XXXXXX")
  if [ -e "$file" ]; then
    cat "$file" > "$tmp" && chown --reference="$file" "$tmp" && chmod --reference="$file" "$tmp"
    [ -z "$(tail -c 1 "$tmp")" ] || echo >> "$tmp"     # a last line without its newline
  else
    chmod 0644 "$tmp"
  fi
  for name in "$@"; do
    if [ "$action" = remove ]; then
      sed -i "/^$name\$/d" "$tmp"
    elif ! grep -qxF -- "$name" "$tmp"; then
      echo "$name" >> "$tmp"
    fi
  done
  mv -f "$tmp" "$file"
}
