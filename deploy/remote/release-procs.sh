# shellcheck shell=bash
# Part of release.sh (sourced by it): what a release's Procfile asks beyond its web (deploy/core/procfile.py): its
# release command, run once by `prepare` before the release can go live (run_release_command), and its workers, which
# the team's uwsgi master starts (attach-daemon lines of the release's $PROCS/uwsgi.ini) and which must keep running
# after each switch, reload and restart (release_live, workers_running); a failure names the process that failed
# (web, release command, worker-NAME) with its log tail, and a failed release says why in `list` (mark_failed).
# release-settings.sh checks the workers too. Uses release.sh's say, die, log_lines, show_log_since, current_id,
# switch_to, HEALTH_WAIT, FAILED_MARK, last_health, reload_master, fds 7 to 9, the paths $team, $releases, $run_dir,
# $settings, $uwsgi_log and $uwsgi_ini, release-reload.sh's reload_uwsgi, wait_healthy, site_url and health_path (the
# path it asked), and uwsgi-lib.sh's hn_uwsgi_master and hn_text.

PROCS=.hacknode-procs   # in each release: what its Procfile asks for (deploy/core/layout.py PROCS_DIR)
RELEASE_SECONDS=600     # the longest a release command may run
WORKER_SECONDS=3        # a new release's worker must still run this long after uwsgi started it
failed_what=""          # what a release failed (after "failed ": its FAILED_MARK, which `list` shows)
failed_line=""          # what failed and why, in a line: the program's last (give_up), the task's error

procs_release() {  # RELEASE_DIR: its release command (procs.json, written by `procfile write` at prepare); nothing
    # when it has none or no procs.json (a release made before Procfiles)
    local file="$1/$PROCS/procs.json"
    [ -f "$file" ] || return 0
    python3 -I -c 'import json, sys; print(json.load(open(sys.argv[1])).get("release") or "")' "$file"
}

release_environment() {  # ID: the words of `env -i` for a release command of release ID, the environment team-procs
    # gives workers and cron runs: LANG unless the team's settings set it, the settings (exported as with-settings.sh
    # and uwsgi read them), then the release's virtualenv first on PATH, HOME, TMPDIR, USER, LOGNAME, VIRTUAL_ENV;
    # nothing of the caller's environment (provisioning runs `prepare` from root's)
    local line home; home=$(dirname "$releases")
    release_env=("LANG=C.UTF-8")
    if [ -r "$settings" ]; then
        while IFS= read -r line || [ -n "$line" ]; do
            if [[ "$line" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then release_env+=("$line"); fi
        done < "$settings"
    fi
    release_env+=("PATH=$releases/$1/rapid-env/bin:/usr/local/bin:/usr/bin:/bin" "HOME=$home" "TMPDIR=$home/tmp"
                  "USER=$team" "LOGNAME=$team" "VIRTUAL_ENV=$releases/$1/rapid-env")
}

run_release_command() {  # ID: the release command of release ID, if it has one, in the release as the team (this
    # program's user), at most RELEASE_SECONDS; its output shown as it comes. A failure marks the release failed
    # (rollback and activate never take it) and ends the program: nothing was switched.
    local id=$1 dir="$releases/$1" command log pid status=0 why
    command=$(procs_release "$dir") || die "release $id: $dir/$PROCS/procs.json cannot be read; nothing was switched"
    [ -n "$command" ] || return 0
    release_environment "$id"
    log=$(mktemp "$run_dir/release-command.XXXXXX")
    say "release $id: release command: $command (at most ${RELEASE_SECONDS}s)"
    # into a file, followed by tail: a process the command leaves behind (`cmd &`) holds no pipe open, and the deploy
    # ends with the command; timeout signals the command's whole process group. No lock (fds 7, 9), no stdin.
    (cd "$dir" && exec timeout -k 10 "$RELEASE_SECONDS" env -i "${release_env[@]}" /bin/sh -c "$command") \
        </dev/null >"$log" 2>&1 7>&- 8<&- 9>&- &
    pid=$!
    tail -n +1 -s 0.2 --pid="$pid" -f "$log" | LC_ALL=C sed -u "s/[[:cntrl:]]/?/g; s/^/[$team] release: /"
    wait "$pid" || status=$?
    if [ "$status" -eq 0 ]; then rm -f "$log"; say "release $id: release command: ok"; return 0; fi
    why="exit code $status"
    [ "$status" -ne 124 ] && [ "$status" -ne 137 ] || why="stopped after ${RELEASE_SECONDS}s (the most it may take)"
    mark_failed "$id" "its release command ($why)"
    { echo "[$team] FAILED: the release command of release $id ($command): $why; its last lines:"
      tail -n 20 "$log" | hn_text | sed 's/^/  | /'; } >&2
    rm -f "$log"
    local live; live=$(current_id)
    give_up "release $id is not live: its release command ($(hn_text <<< "$command")) failed, $why; nothing was" \
            "switched, the live release ${live:-(none)} is unchanged"
}

give_up() {  # WORDS: the program ends, its last line saying why (an HN-FAIL line: the team task's error says it)
    echo "HN-FAIL [$team] $*" >&2
    exit 1
}

mark_failed() {  # ID WHY: release ID failed (rollback and activate never take it again); `list` shows WHY
    printf '%s\n' "$2" > "$releases/$1/$FAILED_MARK"
}

failed_reason() {  # ID: why release ID failed, as mark_failed wrote it (a mark made before says nothing: its health)
    local why=""
    read -r why < "$releases/$1/$FAILED_MARK" 2>/dev/null || true
    echo "${why:-its health check}" | hn_text
}

release_live() {  # ID HOST MARK [WHEN]: release ID's web answers its health check, then its workers keep running
    # (workers_running, from line MARK of uwsgi's log); else says which process failed, with its log, and fails
    local id=$1 host=$2 mark=$3 when=${4:-}
    if ! wait_healthy "$id" "$host" "$HEALTH_WAIT"; then
        failed_what="its health check"
        failed_line="web (entry point $(entry_point "$id")) did not answer $(site_url "$host")$health_path below 500"
        failed_line+=" with its id${when:+ $when} (waited up to ${HEALTH_WAIT}s; last answer: $last_health)"
        echo "[$team] FAILED: release $id: $failed_line" >&2
        show_log_since "$mark"
        return 1
    fi
    say "$(site_url "$host")$health_path: ${last_health%% *}, release $id: ok"
    workers_running "$id" "$mark"
}

entry_point() {  # ID: the WSGI entry point release ID's web runs (its $PROCS/web; Rapid News's without one)
    local web=""
    read -r web < "$releases/$1/$PROCS/web" 2>/dev/null || true
    echo "${web:-app.wsgi:app}" | hn_text
}

switch_back() {  # BEFORE ID HOST: release ID failed; BEFORE, live before it, is again (its reload starts its workers).
    # What release ID failed stays what failed_line says, whatever BEFORE's check finds.
    local before=$1 mark failed=$failed_line; mark=$(log_lines)
    say "switching back: $2 -> $before"
    switch_to "$before"
    reload_uwsgi
    # the failed release's master may be exiting as it is signalled (its app failed to load): supervisor then starts
    # another on the previous release, so that pid gone says nothing here: the whole wait is given
    reload_master=""
    if ! wait_healthy "$before" "$3" "$HEALTH_WAIT"; then
        echo "[$team] the previous release $before is not healthy either (last answer: $last_health)" >&2
    elif workers_running "$before" "$mark"; then
        say "release $before is serving again"
    fi
    failed_line=$failed
}

daemons_of() {  # ID: what the team's uwsgi master starts for release ID (the attach-daemon lines of its
    # $PROCS/uwsgi.ini: team-procs for each worker and the cron runner), one a line
    sed -n 's/^attach-daemon[[:space:]]*=[[:space:]]*//p' "$releases/$1/$PROCS/uwsgi.ini" 2>/dev/null |
        sed 's/[[:space:]]*$//'
}

process_names() {  # COMMANDS (lines): their names, comma-separated
    local command
    while read -r command; do process_name "$command"; done <<< "$1" | paste -sd, | sed 's/,/, /g'
}

process_name() {  # COMMAND: a daemon as messages name it: its Procfile key (worker, worker-NAME) for `team-procs
    # worker KEY`
    case "$1" in
        *" worker worker"*) echo "${1##* worker }" ;;
        *" worker "*) echo "worker-${1##* worker }" ;;
        *" cron") echo "the cron runner" ;;
        *) echo "$1" ;;
    esac
}

log_since() {  # LINE: the uwsgi log after line LINE (all of it when it has fewer: rotated meanwhile)
    local from=0
    if [ "$(log_lines)" -ge "$1" ]; then from=$1; fi
    tail -n "+$(( from + 1 ))" "$uwsgi_log" 2>/dev/null || true
}

daemon_states() {  # MARK COMMANDS: "up|died|missing COMMAND" for each of COMMANDS (lines), from uwsgi's log after line
    # MARK. uwsgi's child logs "spawning" when a master starts it first (a new or reloaded master), "throttling"
    # and "respawning" when it starts it again after it exited (core/daemons.c); those before the first "spawning"
    # were the previous master's.
    log_since "$1" | awk -v list="$2" '
        BEGIN { n = split(list, command, "\n") }
        index($0, "[uwsgi-daemons] ") {
            for (i = 1; i <= n; i++) {
                if (index($0, "] spawning \"" command[i] "\" (")) { up[i] = 1; died[i] = 0 }
                else if (up[i] && (index($0, "] respawning \"" command[i] "\" (") ||
                                   index($0, "] throttling \"" command[i] "\" for "))) died[i] = 1
            }
        }
        END { for (i = 1; i <= n; i++) print (died[i] ? "died" : up[i] ? "up" : "missing") " " command[i] }'
}

daemons_alive() {  # how many of the uwsgi master's children are daemons that run: each has its own session (daemons.c
    # calls setsid; uwsgi's workers do not) and is no zombie
    local master pid stat state session n=0; master=$(hn_uwsgi_master "$team" "$uwsgi_ini")
    for pid in $( [ -z "$master" ] || pgrep -P "$master" || true); do
        read -r stat 2>/dev/null < "/proc/$pid/stat" || continue
        read -r state _ _ session _ <<< "${stat##*) }"
        if [ "$state" != Z ] && [ "$session" = "$pid" ]; then n=$(( n + 1 )); fi
    done
    echo "$n"
}

now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $(( t / 1000 )); }

workers_running() {  # ID MARK: each process uwsgi starts for release ID (daemons_of) started since line MARK of its log
    # and still running WORKER_SECONDS later; else says which exited, with its log since its start, and fails
    local id=$1 mark=$2 commands count states started up="" now
    commands=$(daemons_of "$id")
    [ -n "$commands" ] || return 0
    count=$(grep -c . <<< "$commands"); started=$(now_ms)
    while :; do
        states=$(daemon_states "$mark" "$commands"); now=$(now_ms)
        if grep -q '^died ' <<< "$states"; then
            worker_exited "$id" "$mark" "$(sed -n 's/^died //p' <<< "$states" | head -n 1)"; return 1
        fi
        if [ -z "$up" ] && ! grep -q '^missing ' <<< "$states"; then up=$now; fi
        if [ -z "$up" ] && [ $(( now - started )) -ge $(( HEALTH_WAIT * 1000 )) ]; then
            workers_missing "$id" "$mark" "$(sed -n 's/^missing //p' <<< "$states")"; return 1
        fi
        if [ -n "$up" ] && [ $(( now - up )) -ge $(( WORKER_SECONDS * 1000 )) ]; then
            [ "$(daemons_alive)" -lt "$count" ] || break
            # one exited and uwsgi has not started it again yet (it looks once a second): its log names it soon
            if [ $(( now - up )) -ge $(( (WORKER_SECONDS + 3) * 1000 )) ]; then
                failed_what="to keep its workers running"
                failed_line="of the $count processes uwsgi started for it ($(process_names "$commands"))"
                failed_line+=", $(daemons_alive) run"
                echo "[$team] FAILED: release $id: $failed_line" >&2
                show_log_since "$mark"; return 1
            fi
        fi
        sleep 0.2
    done
    say "release $id: still running ${WORKER_SECONDS}s after uwsgi started them: $(process_names "$commands")"
}

worker_exited() {  # ID MARK COMMAND: the process COMMAND of release ID exited after its start
    local name; name=$(process_name "$3")
    failed_what="to keep $name running"
    failed_line="$name exited within ${WORKER_SECONDS}s of its start (its log is above)"
    { echo "[$team] FAILED: release $1: $name exited within ${WORKER_SECONDS}s of its start (uwsgi starts it again);" \
           "what $uwsgi_log says since its start:"
      log_since "$2" | awk -v start="] spawning \"$3\" (" 'index($0, start) { n = 0; on = 1 }
          on && !/^\[pid: [0-9]+\|app: / { line[++n] = $0 }
          END { for (i = (n > 30 ? n - 29 : 1); i <= n; i++) print line[i] }' | hn_text | sed 's/^/  | /'; } >&2
}

workers_missing() {  # ID MARK COMMANDS: uwsgi started none of COMMANDS of release ID
    local names; names=$(process_names "$3")
    failed_what="to start $names"
    failed_line="$names not started by uwsgi within ${HEALTH_WAIT}s"
    echo "[$team] FAILED: release $1: $failed_line (the team's uwsgi.ini takes the release's $PROCS/uwsgi.ini once" \
         "the instructor's fab provision has updated it)" >&2
    show_log_since "$2"
}
