# managed by hacknode: the helpers every provisioning script starts with (bash, run as root).
# The script that follows is made of steps; each prints "HN-STEP <scope> <name>" before it runs,
# so the instructor's terminal shows where the server is.
set -euo pipefail
umask 022
cd /   # steps run commands as other users (hn_as_user), who cannot enter root's home
export DEBIAN_FRONTEND=noninteractive
HN_BACKUP=$(mktemp -d /var/tmp/hacknode-backup.XXXXXX)
trap 'rm -rf "$HN_STAGE" "$HN_BACKUP"' EXIT

hn_step() { echo "HN-STEP $1 $2"; }

hn_fail() { echo "HN-FAIL $*" >&2; exit 3; }

hn_as_user() {  # USER COMMAND...: COMMAND as USER (a team, the database's user) with a clean environment: only
  # PATH, HOME, LANG, USER and LOGNAME, none of root's (runuser passed it all on, and a team reads its own processes'
  # /proc/PID/environ). env -i runs as root, so the full environment is never in a process of USER's; setpriv does no
  # PAM session and execs at once (runuser forks, and its child had the whole environment until it exec'd).
  # Within a deadline (HN_AS_USER_SECONDS, 600 s): the team owns what the command opens, and a FIFO or a stopped
  # process there would hold it for ever, and every team's provisioning after it. timeout runs as root: the team
  # cannot stop it; its SIGKILL ends the command 5 s after its SIGTERM.
  local home rc=0
  home=$(getent passwd "$1" | cut -d: -f6)
  env -i -C / PATH=/usr/local/bin:/usr/bin:/bin HOME="${home:-/}" LANG=C.UTF-8 USER="$1" LOGNAME="$1" \
    timeout -k 5 "${HN_AS_USER_SECONDS:-600}" setpriv --reuid="$1" --regid="$1" --init-groups -- "${@:2}" || rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "HN-FAIL $1: a command run as $1 ($2) did not end within ${HN_AS_USER_SECONDS:-600} s: stopped" >&2
  fi
  return "$rc"
}

hn_team_write() {  # TEAM DEST MODE: stdin into the team's file DEST, written by the team itself (umask 077, then
  # renamed into place), so that a link the team put in a folder's place leads nowhere it could not write itself.
  # Into a new name mktemp made (O_EXCL): a FIFO or link the team put at a fixed name is never opened
  hn_as_user "$1" sh -c 'umask 077 && new=$(mktemp "$1.hn-new.XXXXXX") && cat > "$new" && chmod "$2" "$new" &&
    mv -f "$new" "$1"' sh "$2" "$3"
}

# Put a shipped file in place atomically, keeping what was there so hn_restore can bring it back.
hn_install() {  # SOURCE DEST OWNER GROUP MODE
  local src=$1 dest=$2
  if [ "$3" != root ]; then   # a team's own file in its home (authorized_keys); no check reads it: nothing to put back
    hn_team_write "$3" "$dest" "$5" < "$src"
    return
  fi
  if [ -e "$dest" ]; then
    mkdir -p "$HN_BACKUP/old$(dirname "$dest")"
    cp -a "$dest" "$HN_BACKUP/old$dest"
  else
    echo "$dest" >> "$HN_BACKUP/new"
  fi
  mkdir -p "$(dirname "$dest")"
  install -o "$3" -g "$4" -m "$5" "$src" "$dest.hn-new"
  mv -f "$dest.hn-new" "$dest"
}

# Undo every hn_install of this run: a failed check must leave the running config as it was.
hn_restore() {
  if [ -d "$HN_BACKUP/old" ]; then
    (cd "$HN_BACKUP/old" && find . -type f -o -type l) | while read -r f; do cp -a "$HN_BACKUP/old/${f#./}" "/${f#./}"; done
  fi
  if [ -f "$HN_BACKUP/new" ]; then xargs -r rm -f < "$HN_BACKUP/new"; fi
}

hn_install_slice() {  # TEAM SOURCE DEST: the team's user slice drop-in (DEST has {uid}, the team's uid here), checked
  # by systemd-analyze verify first; it exits 0 on a bad value or key and only warns, so any output refuses it.
  # --man=no: a server without man (Debian 13 minimal) would fail it for user@.service(5), the slice's Documentation=
  local uid check out
  uid=$(id -u "$1" 2>/dev/null) || return 0     # no user: the team's job failed, and said so
  check="$HN_BACKUP/slice-check"
  mkdir -p "$check/user-$uid.slice.d" && cp "$2" "$check/user-$uid.slice.d/$(basename "$3")"
  if ! out=$(SYSTEMD_UNIT_PATH="$check:" systemd-analyze verify --man=no "user-$uid.slice" 2>&1) || [ -n "$out" ]; then
    echo "$out" >&2
    hn_restore
    hn_fail "systemd-analyze verify refused the slice limits of $1 (see above); the running config is untouched"
  fi
  hn_install "$2" "${3//\{uid\}/$uid}" root root 0644
}
hn_service() {  # NAME ACTION: systemd where it runs, the init script elsewhere (containers)
  if [ -d /run/systemd/system ]; then systemctl "$2" "$1"; else service "$1" "$2" >/dev/null; fi
}

hn_add_user() {  # TEAM HOME COMMENT TEAMS_DIR: the team's user and its own new group, one team at a time: useradd
  # refuses to run while another holds /etc/passwd's lock, and teams are set up side by side (hn_team_jobs). Never an
  # existing group (a team named disk joined the group disk: the raw disks): --user-group fails if there is one. The
  # record TEAMS_DIR/TEAM says hacknode made the team, and the gid of the group it made: removal deletes that one only.
  (
    flock 8
    if getent group "$1" >/dev/null; then
      hn_fail "team $1: the server already has a group $1 ($(getent group "$1")) that hacknode did not make;" \
        "rename the team"
    fi
    useradd --create-home --home-dir "$2" --shell /bin/bash --user-group --comment "$3" "$1"
    install -d -m 0755 "$4"
    echo "group=$(id -g "$1")" > "$4/$1"
  ) 8>"$HN_BACKUP/users.lock"
}

hn_set_comment() {  # TEAM COMMENT: under the same lock as hn_add_user
  ( flock 8; usermod --comment "$2" "$1" ) 8>"$HN_BACKUP/users.lock"
}

HN_FAILED_TEAMS=""   # teams whose job failed: their sites are not checked, and the script fails at its end

hn_team_jobs() {  # TEAM...: hn_job_<TEAM> of each, side by side, at most as many at once as the server has cores;
  # then each job's output in the order given, whatever order they finished in: the report stays stable. A failed
  # job stops only its own team; its output's last lines are shown, and the next run takes up where it stopped.
  local team dir="$HN_BACKUP/jobs" cores reason
  cores=$(nproc 2>/dev/null || echo 2)
  mkdir -p "$dir"
  for team in "$@"; do
    while [ "$(jobs -rp | wc -l)" -ge "$cores" ]; do wait -n || true; done
    ( set +e; ( set -e; "hn_job_$team" ) >"$dir/$team.log" 2>&1; echo $? >"$dir/$team.rc" ) &
  done
  wait
  for team in "$@"; do
    hn_job_lines "$team" < "$dir/$team.log" > "$dir/$team.shown"
    if [ "$(cat "$dir/$team.rc")" = 0 ]; then cat "$dir/$team.shown"; continue; fi
    # every step line, so the report knows where it stopped, and the last 20 lines of the rest
    grep -v '^HN-FAIL ' "$dir/$team.shown" | awk -v from="$(( $(grep -vc '^HN-FAIL ' "$dir/$team.shown") - 20 ))" \
      '/^HN-STEP / || NR > from'
    reason=$(sed -n 's/^HN-FAIL //p' "$dir/$team.shown" | tail -n 1)
    echo "HN-TEAM-FAILED $team ${reason:-exit $(cat "$dir/$team.rc")}"
    HN_FAILED_TEAMS="$HN_FAILED_TEAMS $team"
  done
}

hn_text() {  # stdin shown on the instructor's terminal, read by provisioning's StepPrinter: control bytes as "?"
  # (a team's text in it must send the terminal no escape, nor end a line with a carriage return)
  LC_ALL=C tr '\000-\010\013-\037\177' '?'
}

hn_job_lines() {  # TEAM: a team's job output shown: a line "HN-..." other than the job's own steps and its failure's
  # reason is the output of a command run as the team, and quoted (a forged HN-TEAM-FAILED or HN-DONE misled the report)
  hn_text | awk -v team="$1" '/^HN-STEP / && $2 == team || /^HN-FAIL / { print; next } /^HN-/ { print "  | " $0; next } 1'
}

hn_team_failed() { [[ " $HN_FAILED_TEAMS " == *" $1 "* ]]; }

hn_team_jobs_verdict() {  # after every other step: fail when a team's job failed, naming the teams
  [ -z "$HN_FAILED_TEAMS" ] || hn_fail "setting up team(s)$HN_FAILED_TEAMS failed (their output is above; the" \
    "other teams are set up); run provision again once the cause is fixed: it goes on where each stopped"
}

hn_supervisor_start() {  # [wait]: supervisord started if it is not running. Without `wait`, in the background: its
  # init script takes a second or more, and a step that needs supervisord later starts it first and does other work
  # meanwhile (hn_supervisor_up then waits until it answers, and says so if it never does)
  pgrep -u root -x supervisord >/dev/null && return 0   # root's: a team names its own program so too
  if [ "${1:-}" = wait ]; then hn_service supervisor start; else hn_service supervisor start >/dev/null 2>&1 & fi
}

hn_supervisor_up() {  # supervisord running and answering supervisorctl
  # running with its socket: answering (asking supervisorctl, a Python program to start, cost a quarter second)
  if pgrep -u root -x supervisord >/dev/null && [ -S /var/run/supervisor.sock ]; then return 0; fi
  hn_supervisor_start wait
  for _ in $(seq 50); do supervisorctl pid >/dev/null 2>&1 && return 0; sleep 0.2; done
  hn_fail "supervisord did not start (see /var/log/supervisor/supervisord.log)"
}

hn_supervisor_update() {  # [GROUP... | --except GROUP...]: supervisord takes the changed programs' configs (of those
  # groups only, or of all but those after --except, when named). Reading them is its own check (Ansible's validate):
  # a config it cannot read changes nothing, and ours are then put back. Through its socket by a small program the
  # bundle carries (supervisor_update.py), as `supervisorctl update` does: supervisorctl, a Python program to start,
  # cost a third of a second
  local out rc=0
  out=$(python3 "$HN_STAGE/supervisor_update.py" "$@" 2>&1) || rc=$?
  [ "$rc" -eq 0 ] && return 0
  echo "$out" >&2
  if [ "$rc" -eq 1 ]; then
    hn_restore
    hn_fail 'supervisor refused the new config (see above); the running config is untouched'
  fi
  hn_fail 'supervisor could not apply the new config to every program (see above)'
}

hn_nginx_up() {  # [reload]: nginx running, and reloaded when asked and it was running already
  if ! pgrep -u root -x nginx >/dev/null; then hn_service nginx start; elif [ "${1:-}" = reload ]; then hn_service nginx reload; fi
}

hn_unpack_uv() {  # WHEELHOUSE DEST: uv's program out of its wheel (a zip) in the wheelhouse, for make-venv
  local wheel tmp
  wheel=$(ls "$1"/uv-*.whl 2>/dev/null | head -n 1 || true)
  rm -f "$2"
  if [ -z "$wheel" ]; then echo "no uv wheel in $1: virtualenvs are made with python3 -m venv + pip"; return 0; fi
  tmp=$(mktemp -d)
  python3 -I -m zipfile -e "$wheel" "$tmp"   # -I: never the working folder's modules, nor PYTHON* variables
  install -D -m 0755 "$tmp"/uv-*.data/scripts/uv "$2"
  rm -rf "$tmp"
}

hn_team_dirs() {  # "PATH OWNER GROUP MODE"...: a team's folders made or put right, never through a link. The team
  # owns its home, so it can put a link where one of its folders was, and install -d, chown and chmod follow links:
  # the next provisioning handed the team the link's target (/etc, say: seen in a test). A link in a folder's
  # place is removed (a file there stops the team's setup); the folder is then opened without following a link
  # and fixed through that handle. -I (isolated): root's Python imports nothing from the working folder (sys.path[0]
  # is the working folder for a program read from stdin) nor takes PYTHON* variables.
  python3 -I - "$@" <<'PY'
import grp, os, pwd, sys
for spec in sys.argv[1:]:
    path, owner, group, mode = spec.split(" ")
    if os.path.islink(path):
        os.unlink(path)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as error:    # a file there, or a link put back meanwhile: the team's setup stops here
        print("%s: %s: it must be a folder of the team's (hacknode follows no link there)" % (path, error.strerror),
              file=sys.stderr)
        sys.exit("HN-FAIL %s is not a folder" % path)
    try:
        os.fchown(fd, pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid)
        os.fchmod(fd, int(mode, 8))
    finally:
        os.close(fd)
PY
}

hn_team_env() {  # TEAM HASH REQUIREMENTS LINK: a team's first virtualenv, made by root from the server's shared uv
  # cache of the teams' wheels, unpacked and compiled to bytecode once for all (each team used to unpack its own
  # copy, and to compile it at its site's first request: a second of CPU a team, most of a class's provisioning).
  # Its files are hard links to the cache's, root's and read-only to every team: no team can change a file another
  # team's virtualenv uses. It lives in root's tree, TEAM_ENVS/TEAM/HASH (0750 root:TEAM: only that team reads it),
  # and the team's envs/HASH (LINK) links to it: root writes nothing below the team's home, where the team could
  # swap a folder for a link between two of root's steps. The team's own deploys make their virtualenvs as before.
  local dir="$HN_TEAM_ENVS/$1/$2"
  if [ ! -f "$dir/.hacknode-complete" ]; then
    hn_team_env_cache "$3"
    install -d -o root -g "$1" -m 0750 "$HN_TEAM_ENVS/$1"
    rm -rf "$dir"
    "$HN_MAKE_VENV" "$dir" "$HN_TEAM_ENV_CACHE" "$HN_WHEELS" -- -r "$3"
    touch "$dir/.hacknode-complete"
  fi
  # as the team, in its own folder; a virtualenv of that name its deploys made stays
  hn_as_user "$1" sh -c '[ -e "$2" ] || ln -sfn "$1" "$2"' sh "$dir" "$4"
}

hn_team_env_cache() {  # REQUIREMENTS: the shared cache holds their wheels unpacked and compiled, once per wheelhouse
  # (teams are set up side by side: the first one does it, the others wait for it)
  local stamp
  stamp="$HN_TEAM_ENV_CACHE/.compiled-$(cat "$HN_WHEELS/.digest" 2>/dev/null)-$(sha256sum < "$1" | cut -c1-12)"
  (
    flock 8
    [ -f "$stamp" ] && exit 0
    "$HN_MAKE_VENV" "$HN_TEAM_ENV_CACHE/.prime" "$HN_TEAM_ENV_CACHE" "$HN_WHEELS" -- -r "$1" >/dev/null
    rm -rf "$HN_TEAM_ENV_CACHE/.prime"
    # a file it cannot compile (another Python's syntax) is compiled at import, as before
    python3 -I -m compileall -q -j 0 "$HN_TEAM_ENV_CACHE" >/dev/null 2>&1 || true
    touch "$stamp"
  ) 8>"$HN_BACKUP/team-env-cache.lock"
}

hn_secret() {  # 24 random bytes as 32 URL-safe characters (Python's secrets.token_urlsafe(24), without starting
  # a Python twice per team)
  head -c 24 /dev/urandom | base64 -w 0 | tr '+/' '-_'
  echo
}

hn_mongo() {  # the database chores of deploy/remote/mongo_tool.py (installed by the tools step); the admin URI is
  # handed to it alone: exported, every command of the script (those run as a team too) would carry it
  HN_ADMIN_URI=${HN_ADMIN_URI:-} "$HN_TOOLS/bin/python" "$HN_MONGO_TOOL" "$@"
}

hn_database_caps() {  # DIR: each team's database user read-only while its database is over its cap (DIR/TEAM, its
  # database_mb), read-write once under (mongo-tool caps: it ends the team's processes connected with the old roles)
  # a database that does not answer now must not stop provisioning: the class page's next round checks again
  [ -z "${HN_ADMIN_URI:-}" ] || hn_mongo caps "$1" >/dev/null || echo "database caps not checked now (see above)" >&2
}

hn_mongo_wait() {  # URI_VARIABLE SECONDS: until the URI in that variable answers a ping
  hn_mongo wait "$1" "$2"
}

hn_secantus_stop() {  # PID PORT: stop the SecantusDB started by hand (first start, without auth) under runuser PID.
  # Signalled itself: runuser passes a SIGTERM on but then waits 2 s and kills it. Its accept thread, blocked in
  # accept(), sees the closed socket only at a 2 s timeout too: a connection attempt, once the signal is handled,
  # wakes it. A signal the kernel hands to one of its other threads never wakes its main thread (seen: once in a
  # hundred-team run, it waited for good): after 2 s, runuser is signalled, as before (a second SIGTERM, then
  # SIGKILL)
  local waited=0
  pkill -TERM -P "$1" || true
  while kill -0 "$1" 2>/dev/null; do
    timeout 0.5 bash -c ': </dev/tcp/127.0.0.1/$0' "$2" 2>/dev/null || true   # a full backlog makes it wait
    sleep 0.05
    waited=$(( waited + 1 ))
    [ "$waited" -ne 40 ] || kill "$1" 2>/dev/null || true
  done
  wait "$1" || true
}

hn_uwsgi_reload() {  # TEAM INI [TEAM INI...]: each team's uwsgi takes its changed ini in a graceful reload (its
  # master, the team's oldest process started with `--ini INI`, signalled, re-executes itself with the ini read again:
  # requests wait, none fails), all teams at once. `supervisorctl restart` dropped requests and waited 3 s (startsecs)
  # per team: two minutes for a class. A team whose uwsgi does not run (stopped, or given up on) is started with it.
  while [ $# -ge 2 ]; do
    pkill -HUP -o -u "$1" -f "[-]-ini ${2//./\\.}\$" || supervisorctl start "$1" >/dev/null 2>&1 || true
    shift 2
  done
}

hn_socket_inode() { stat -c %i "$1" 2>/dev/null || echo none; }

hn_socket_moved() {  # SOCKET INODE SECONDS: true once SOCKET is another socket than INODE (a new uwsgi took its path)
  local polls=0
  while [ "$polls" -lt $(( $3 * 20 )) ]; do
    [ -S "$1" ] && [ "$(hn_socket_inode "$1")" != "$2" ] && return 0
    sleep 0.05
    polls=$(( polls + 1 ))
  done
  return 1
}

hn_restart_team() {  # TEAM CONF SOCKET LOG HOST: TEAM's program restarted with its changed supervisor config CONF
  # (only a restart applies a program's command, user or limits) without a moment when nothing listens on its SOCKET: a
  # stand-in, the new config's own command run here in its own process group, takes the socket's path first (uwsgi
  # replaces a path's socket at start, and its vacuum leaves a path another uwsgi took), so nginx's next requests go
  # to it while the old program finishes the ones it took; supervisor then stops the old program and starts the new,
  # which takes the path in turn, and the stand-in stops once its own requests are answered. Each new holder of the
  # socket answers /healthz through nginx (at HOST) before the one before it stops: it has a worker with the app
  # loaded (lazy-apps: seconds on a busy server), so the requests the old one leaves are answered at once. A team
  # whose setup failed (hn_team_jobs) is left as it is: it is reported already.
  local team=$1 conf=$2 sock=$3 log=$4 host=$5 inode standin rc=0
  hn_team_failed "$team" && return 0
  inode=$(hn_socket_inode "$sock")
  hn_standin_start "$conf" "$log"
  standin=$HN_STANDIN
  if hn_socket_moved "$sock" "$inode" 20; then
    python3 "$HN_HEALTHZ" --wait 30 "$host" >/dev/null 2>&1 || true
    sleep "$HN_DRAIN_SECONDS"
    inode=$(hn_socket_inode "$sock")
  else
    echo "$team: its stand-in did not take its socket: restarted without one (its requests fail meanwhile)" >&2
    inode=""
  fi
  ( hn_supervisor_update "$team" ) || rc=$?    # a failure says why, once the stand-in is stopped
  if [ "$rc" -eq 0 ] && [ -n "$inode" ] && hn_socket_moved "$sock" "$inode" 30; then
    python3 "$HN_HEALTHZ" --wait 30 "$host" >/dev/null 2>&1 || true
  fi
  hn_standin_stop "$standin"
  [ "$rc" -eq 0 ] || exit "$rc"
}

HN_DRAIN_SECONDS=1   # given to a program's requests under way as another takes its socket (a longer request fails)

hn_standin_start() {  # CONF LOG: the command of supervisor program CONF started as supervisor starts it (in /, umask
  # 027, as its `user` when it names one, output to LOG), in a process group of its own; its pid in HN_STANDIN. Root's
  # environment never reaches the team's process: env -i first, as in hn_as_user.
  local cmd user
  local -a argv
  cmd=$(sed -n 's/^command *= *//p' "$1" | head -n 1)
  user=$(sed -n 's/^user *= *//p' "$1" | head -n 1)
  read -ra argv <<< "$cmd"
  ( cd / && umask 027 && if [ -n "$user" ]; then
      exec setsid env -i /usr/bin/setpriv --reuid="$user" --regid="$user" --init-groups -- "${argv[@]}"
    else exec setsid "${argv[@]}"; fi ) </dev/null >>"$2" 2>&1 &
  HN_STANDIN=$!
}

hn_standin_stop() {  # PID: the stand-in's process group stopped once its requests are answered (uwsgi's die-on-term)
  sleep "$HN_DRAIN_SECONDS"
  kill -TERM -- "-$1" 2>/dev/null || true
  for _ in $(seq 75); do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- "-$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

hn_remove() {  # PATH: remove a file, kept for hn_restore
  if [ -e "$1" ]; then
    mkdir -p "$HN_BACKUP/old$(dirname "$1")"
    mv "$1" "$HN_BACKUP/old$1"
  fi
}

hn_log_why() {  # LOG: why a program failed: its log from the last Python traceback on (a uwsgi that starts
  # workers on demand logs its start banner again and again after it), else the log's last 20 lines
  # the team's program wrote it: quoted, never a control line nor a terminal escape
  tail -n 300 "$1" 2>/dev/null | hn_text | awk '/^Traceback \(most recent call last\)/ { n = 0; seen = 1 }
    { line[++n] = $0 } END { start = seen ? 1 : (n > 20 ? n - 19 : 1); for (i = start; i <= n && i < start + 30; i++) print line[i] }' |
    sed 's/^/  | /'
}

hn_health() {  # TEAM HOST LOG [TEAM HOST LOG...]: each team's site answers /healthz through nginx, so its program
  # runs. One probe for all teams, asking each again until it answers (a Python program to start, and a class has
  # dozens of teams), up to 30 s in all: a site that hangs makes each request wait its timeout. A team that passed
  # once is not asked again: an idle team's probe wakes it (a second or more). Supervisor is asked only about the
  # teams that never answered, for the message. A team whose setup failed (hn_team_jobs) is not checked: it is
  # reported already.
  local -a names=() hosts=() logs=() left=() codes=()
  local -A state=()
  local i name status why=""
  while [ $# -ge 3 ]; do
    if ! hn_team_failed "$1"; then names+=("$1"); hosts+=("$2"); logs+=("$3"); fi
    shift 3
  done
  [ ${#names[@]} -gt 0 ] || return 0
  mapfile -t codes < <(python3 "$HN_HEALTHZ" --wait 30 "${hosts[@]}")
  for i in "${!names[@]}"; do
    codes[$i]=${codes[$i]:-000 -}   # the probe died: no answer
    [ "${codes[$i]%% *}" = 200 ] || left+=("$i")
  done
  [ ${#left[@]} -eq 0 ] && return 0
  local -a left_names=()
  for i in "${left[@]}"; do left_names+=("${names[$i]}"); done
  while read -r name status _; do state[$name]=$status; done < <(supervisorctl status "${left_names[@]}" 2>/dev/null || true)
  for i in "${left[@]}"; do
    hn_log_why "${logs[$i]}" >&2
    why="$why; ${names[$i]}: program ${state[${names[$i]}]:-missing}, /healthz through nginx answered ${codes[$i]%% *}"
  done
  hn_fail "${why#; } (their uwsgi logs' last lines are above)"
}
