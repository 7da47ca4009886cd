# shellcheck shell=bash
# Part of release.sh (sourced by it): uwsgi's graceful reload (reload_uwsgi: signal_reload, wake_master, any_alive,
# tell_deaf_workers), the hard restart (hard_restart), the health check (wait_healthy: health_path, health,
# answered; site_url) and the switch lock (switch_lock). Uses release.sh's say, die, HEALTH_WAIT, last_health,
# health_path, reload_master, restarted_master, reload_offset, fds 7 to 9, the paths $team, $releases, $run_dir,
# $uwsgi_log, $uwsgi_ini, $master_fifo and $healthz, and
# uwsgi-lib.sh's hn_uwsgi_master.

reload_uwsgi() {
    # Graceful: uwsgi's master, signalled (or seeing the touched file), lets workers finish their requests,
    # re-executes itself (binary-path = the venv's python, so through the new rapid-env link) and chdirs into the
    # new `current`. The log from here on (a byte offset: supervisor rotates it by size) tells which workers
    # heard of it (tell_deaf_workers).
    reload_offset=$(stat -c %s "$uwsgi_log" 2>/dev/null || echo 0)
    # a graceful reload keeps its master's pid (wait_healthy: that master gone means a crash)
    reload_master=$(hn_uwsgi_master "$team" "$uwsgi_ini")
    signal_reload
    # in the background (the health check's first request waits for the new release meanwhile), holding none of
    # release.sh's files: its output would keep the SSH session open, fd 8 is the command's stdin, fds 7 and 9 locks
    local master; master=$(hn_uwsgi_master "$team" "$uwsgi_ini")
    wake_master "$master" </dev/null >/dev/null 2>&1 7>&- 8<&- 9>&- &
}

wake_master() {
    # The master notices that a worker ended only at its next check, once a second (uwsgi's check interval, at least
    # 1 s), and re-executes itself only then: once the workers it had are gone, a byte on its fifo wakes it at once (an
    # unknown command, ignored). Opened read-write, the fifo never blocks the writer, even with no master reading it
    # (it is re-executing). Watched for as long as a health check waits; a master without a fifo (its config predates
    # it) reloads at its own pace.
    local master=$1 workers polls=0
    [ -n "$master" ] && [ -p "$master_fifo" ] || return 0
    workers=$(pgrep -P "$master" || true)
    while [ "$polls" -lt $(( HEALTH_WAIT * 20 )) ]; do
        # (-p again: the master remakes its fifo after each writer, and a write meanwhile would make a plain file)
        # shellcheck disable=SC2086  # one pid per argument
        if ! any_alive $workers; then [ ! -p "$master_fifo" ] || printf '\n' 1<>"$master_fifo"; return 0; fi
        sleep 0.05
        polls=$(( polls + 1 ))
    done
}

any_alive() {
    # Whether one of these processes runs; one that ended and waits for its parent to reap it (a zombie, state Z)
    # does not. Read with bash alone: this is asked 20 times a second.
    local pid line
    for pid in "$@"; do
        read -r line 2>/dev/null < "/proc/$pid/stat" || continue
        line=${line##*) }
        [ "${line%% *}" = Z ] || return 0
    done
    return 1
}

signal_reload() {
    # SIGHUP is the same graceful reload as touching the reload file, at once: uwsgi looks at the file once a
    # second. When no master runs (a broken release made it exit, or it never started), neither does anything:
    # supervisor starts the program again by itself (autorestart, and startretries that outlast a broken release),
    # the team cannot (no sudo rule: every team task runs as the team).
    local pid
    pid=$(hn_uwsgi_master "$team" "$uwsgi_ini")
    if [ -n "$pid" ] && kill -HUP "$pid" 2>/dev/null; then
        say "uwsgi: graceful reload (SIGHUP to its master, pid $pid)"
        return 0
    fi
    say "uwsgi: not running; supervisor starts it again (it restarts a program that exits)"
}

hard_restart() {
    # `fab restart --hard`, a true stop and start: 'Q' on the master's fifo (the team's own) is uwsgi's brutal
    # shutdown, as supervisor's TERM was (die-on-term): the master and its workers exit, requests fail meanwhile,
    # and supervisor starts a new master (autorestart: a new pid, a fresh environment and configuration). Leaves
    # the new master's pid in $restarted_master; fails if none came within HEALTH_WAIT seconds.
    local old polls=0; old=$(hn_uwsgi_master "$team" "$uwsgi_ini")
    restarted_master=""
    if [ -n "$old" ] && [ -p "$master_fifo" ]; then
        say "uwsgi: stop (Q on $master_fifo, master pid $old); supervisor starts it again"
        printf 'Q' 1<>"$master_fifo"
    elif [ -n "$old" ]; then
        say "uwsgi: stop (SIGTERM to its master, pid $old: no fifo); supervisor starts it again"
        kill -TERM "$old" 2>/dev/null || true
    else
        say "uwsgi: not running; waiting for supervisor to start it"
    fi
    while [ "$polls" -lt $(( HEALTH_WAIT * 10 )) ]; do
        restarted_master=$(hn_uwsgi_master "$team" "$uwsgi_ini")
        [ -n "$restarted_master" ] && [ "$restarted_master" != "$old" ] && { say "uwsgi: started, master pid $restarted_master"; return 0; }
        sleep 0.1
        polls=$(( polls + 1 ))
    done
    restarted_master=""
    return 1
}

tell_deaf_workers() {
    # uwsgi 2.0 with lazy-apps: a worker still importing the app when the reload begins has the master's signal
    # handlers, not yet its own, so it never hears of the reload and serves the old release on until
    # max-requests or the master's 60 s mercy end it; the master, already reloading, ignores another SIGHUP
    # (seen under load: cheaper mode had just started a second worker; the deploy took 15 s and 10,000 requests
    # and was rolled back in other runs). Each worker that heard logs "Gracefully killing worker N (pid: P)";
    # once the master has begun ("...gracefully killing workers..."), its other children are told directly,
    # each once it is up (the same graceful exit). A master that has not begun is signalled again instead.
    local master pid news size from
    master=$(hn_uwsgi_master "$team" "$uwsgi_ini"); [ -n "$master" ] || return 0
    size=$(stat -c %s "$uwsgi_log" 2>/dev/null || echo 0)
    from=$(( size < reload_offset ? 1 : reload_offset + 1 ))     # rotated meanwhile: the new file
    news=$(tail -c "+$from" "$uwsgi_log" 2>/dev/null | grep -o -e '\.\.\.gracefully killing workers\.\.\.' \
           -e 'Gracefully killing worker [0-9]* (pid: [0-9]*)' || true)
    [[ "$news" == *"...gracefully killing workers..."* ]] || return 0
    for pid in $(pgrep -P "$master" || true); do
        if [[ "$news" != *"(pid: $pid)"* ]] && kill -HUP "$pid" 2>/dev/null; then
            say "uwsgi: worker $pid was starting when the reload began and missed it: told it directly"
        fi
    done
}

site_url() {
    # https://<host> with TLS on, http://<host> without (the probe knows which: provisioning told it)
    echo "$(python3 "$healthz" --scheme)://$1"
}

health_path() {
    # The path release $1 answers its health check on (its Procfile's `health`, written by `procfile write` at
    # prepare into .hacknode-procs/health), into $health_path; /healthz for a release without one (Rapid News, and
    # every release made before Procfiles). Fails, saying why in $last_health, on a line that is no plain path.
    local file="$releases/$1/.hacknode-procs/health" line="" safe='^/[A-Za-z0-9._~/?=&%+-]{0,255}$'
    health_path=/healthz
    [ -e "$file" ] || [ -L "$file" ] || return 0
    if [ -f "$file" ]; then IFS= read -r line < "$file" || true; fi
    if [[ ! "$line" =~ $safe ]]; then
        last_health="release $1's .hacknode-procs/health is not an absolute path of letters, digits and ._~/?=&%+-"
        return 1
    fi
    health_path=$line
}

health() {
    # "<http status> <release> [<settings id>]" of GET $health_path through nginx, as a visitor of <host-header>
    # gets it: the server's one probe, installed by provisioning ($healthz, from deploy/remote/healthz.py).
    python3 "$healthz" --path "$health_path" "$1"
}

answered() {  # ANSWER: the probe's answer is one of the app, below 500 ("000": nothing answered)
    local code=${1%% *}
    [[ "$code" =~ ^[1-4][0-9][0-9]$ ]]
}

wait_healthy() {
    # Poll until release $1's health path (health_path) answers below 500 from release $1 (the loader's
    # X-Hacknode-Release header, or Rapid News's JSON), at most $3 seconds. Leaves the last answer in $last_health.
    # A graceful reload keeps uwsgi's master pid ($reload_master, from reload_uwsgi), so that master gone means the
    # release crashed at start (supervisor starts another, or gives up): no need to wait out the deadline.
    # Polled every 0.1 s (a reload takes about a second: each 0.5 s step was a quarter of a deploy); the master is
    # looked for every 5th time only.
    # With $4 (a settings id, from `fab config`), the answer must also report it, unless the team's app
    # reports no settings at all (a Rapid News copy from before, served without the loader): the release decides.
    local id=$1 host=$2 seconds=$3 settings_id=${4:-} polls=0 now started rest
    health_path "$id" || return 1
    started=$(date +%s)
    local deadline=$(( started + seconds )) tell=$(( started + 2 )) resignal=$(( started + 5 ))
    while :; do
        last_health=$(health "$host")
        rest=${last_health#* }
        if answered "$last_health" && { [ "$rest" = "$id" ] || { [[ "$rest" == "$id "* ]] &&
               { [ -z "$settings_id" ] || [ "$rest" = "$id $settings_id" ]; }; }; }; then
            return 0
        fi
        now=$(date +%s)
        [ "$now" -ge "$deadline" ] && return 1
        # Still the previous release or settings: a worker that missed the reload (tell_deaf_workers, from
        # 1-2 s on, when every worker that heard it has logged so), and from 5 s on the master again, in case
        # it missed the signal itself (a master already reloading ignores it).
        if answered "$last_health"; then
            [ "$now" -ge "$tell" ] && { tell_deaf_workers; tell=$(( now + 1 )); }
            [ "$now" -ge "$resignal" ] && { signal_reload; resignal=$(( now + 5 )); }
        fi
        polls=$(( polls + 1 ))
        if [ $(( polls % 5 )) -eq 0 ] && [ -n "$reload_master" ] && ! kill -0 "$reload_master" 2>/dev/null; then
            last_health="$last_health; uwsgi: its master (pid $reload_master) exited: the release failed to start"
            return 1
        fi
        sleep 0.1
    done
}

switch_lock() {
    # fd 7, from a switch of `current` until its health check (and the switch back) ends: team-procs takes it shared
    # to start a cron job (deploy/remote/team_procs.py), so none starts in a release being switched or failing
    exec 7<>"$run_dir/switch.lock"
    [ -f /dev/fd/7 ] || die "$run_dir/switch.lock is not a plain file: remove it (rm $run_dir/switch.lock) and run again"
    flock -w 60 7 || die "$run_dir/switch.lock was held for a minute (a cron job starting?): deploy again"
}
