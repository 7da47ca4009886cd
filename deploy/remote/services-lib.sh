# shellcheck shell=bash
# managed by hacknode: provisioning's helpers for the server's services (bash, run as root): supervisor, nginx, the
# teams' uwsgi and sites, the database. Sourced by apply-lib.sh (commands.remote_program puts this text in place of
# its `. services-lib.sh` line), whose hn_fail, hn_restore, hn_team_failed and paths (HN_*) it uses.

hn_service() {  # NAME ACTION: systemd where it runs, the init script elsewhere (containers)
  if [ -d /run/systemd/system ]; then systemctl "$2" "$1"; else service "$1" "$2" >/dev/null; fi
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

hn_nginx_check() {  # nginx -t passes the configs in place, else they are put back as they were and the script stops
  local out
  if ! out=$(nginx -t 2>&1); then
    hn_restore
    echo "$out" >&2
    hn_fail 'nginx -t refused the new config (see above); the running config is untouched'
  fi
}

hn_enable_now() {  # UNIT WHY: systemd starts UNIT now and at boot, else the script stops saying WHY
  systemctl enable --now "$1" >/dev/null 2>&1 || hn_fail "$2"
}

hn_enable_at_boot() {  # UNIT...: systemd starts them at boot
  systemctl enable "$@" >/dev/null 2>&1 || hn_fail "systemctl enable $* failed"
}

hn_restart_running() {  # PROGRAM: supervisor's PROGRAM restarted if supervisord runs (a running program loads its code
  # once; a new server has none running yet)
  ! pgrep -u root -x supervisord >/dev/null || supervisorctl restart "$1" >/dev/null 2>&1 || true
}

hn_restart_if_running() {  # PROGRAM: supervisor's PROGRAM restarted if it runs (a program off stays off)
  ! pgrep -u root -x supervisord >/dev/null || ! supervisorctl status "$1" 2>/dev/null | grep -q RUNNING ||
    supervisorctl restart "$1" >/dev/null 2>&1 || true
}

hn_nginx_up() {  # [reload]: nginx running, and reloaded when asked and it was running already
  if ! pgrep -u root -x nginx >/dev/null; then hn_service nginx start; elif [ "${1:-}" = reload ]; then hn_service nginx reload; fi
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
    # shellcheck disable=SC2016  # that bash expands it
    timeout 0.5 bash -c ': </dev/tcp/127.0.0.1/$0' "$2" 2>/dev/null || true   # a full backlog makes it wait
    sleep 0.05
    waited=$(( waited + 1 ))
    [ "$waited" -ne 40 ] || kill "$1" 2>/dev/null || true
  done
  wait "$1" || true
}

hn_uwsgi_reload() {  # TEAM INI [TEAM INI...]: each team's uwsgi takes its changed ini in a graceful reload (its
  # master (hn_uwsgi_master) signalled, re-executes itself with the ini read again:
  # requests wait, none fails), all teams at once. `supervisorctl restart` dropped requests and waited 3 s (startsecs)
  # per team: two minutes for a class. A team whose uwsgi does not run (stopped, or given up on) is started with it.
  local master
  while [ $# -ge 2 ]; do
    master=$(hn_uwsgi_master "$1" "$2")
    if [ -z "$master" ] || ! kill -HUP "$master" 2>/dev/null; then supervisorctl start "$1" >/dev/null 2>&1 || true; fi
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

hn_health() {  # TEAM HOST LOG [TEAM HOST LOG...]: each team's site answers /healthz through nginx (below 500 from
  # its release: hacknode's loader names it in every answer), so its program runs. One probe for all teams, asking each again until it answers (a Python program to start, and a class has
  # dozens of teams), up to 30 s each: a site that hangs makes each request wait its timeout. A team that passed
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
    codes[i]=${codes[i]:-000 -}   # the probe died: no answer
    # healthy as the probe says: 200, or any answer below 500 from a release (a team's own app has no /healthz)
    case ${codes[$i]} in "200 "*|[1-4][0-9][0-9]" "[0-9]*) ;; *) left+=("$i") ;; esac
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
