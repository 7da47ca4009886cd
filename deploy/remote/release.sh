# shellcheck shell=bash
# managed by hacknode: a team's releases on the server, run as the team's UNIX user. One program read top to bottom:
# this file (the names its parts share, declared below, then its subcommands), and the files it sources:
# release-reload.sh (uwsgi's graceful reload, its hard restart, the health check), release-procs.sh (the Procfile's
# release command and workers), release-settings.sh (`fab config`) and uwsgi-lib.sh (what provisioning asks of a team's
# uwsgi too: its master, why it failed).
# commands.release_script_text sends it as one text (commands.remote_program puts each sourced file in place of its
# `. FILE` line), after the team's paths; it runs inside the command of a team task (`bash -c <script> release.sh
# SUBCOMMAND ...`, deploy/team/tasks.py), as provisioning's first release (`hn_as_user <team> bash -s -- SUBCOMMAND
# ... < release-<team>.sh`, deploy/provision/team.py) and from a `git push` (hooks/hacknode-release.sh, deploy/team/git.py).
# It names no path itself and works with what is on every class server (bash, python3, coreutils, and hacknode's
# make-venv and healthz probe, installed by provisioning).
#
# Subcommands:
#   facts <req-hash> [<new-id>]        print "python=3.11 arch=x86_64 env=present|missing current=<id>"; with
#                                      <new-id>, claim releases/<new-id> for this deploy's rsync ("claimed=no" if taken)
#   env <req-hash> <requirements>      build virtualenv envs/<req-hash> from the wheelhouses unless it exists
#   prepare <id> <req-hash> [first]    make releases/<id> (already rsynced) runnable: its virtualenv, RELEASE, its
#                                      release command (a failure marks it failed)
#   activate <id> <host-header>        switch current to <id>, reload uwsgi, check its health, then its workers;
#                                      back on failure
#   deploy <id> <req-hash> <host-header>   prepare + activate + prune, under one lock
#   rollback <host-header>             activate the newest good release older than current
#   reload <host-header>               graceful reload of the live release (fab restart), checked like a deploy
#   restart <host-header>              stop and start uwsgi through its master fifo (fab restart --hard), checked
#   abandon <id>                       remove releases/<id> whose upload did not finish (never a prepared one)
#   list                               the releases, newest first, with current and failed ones marked
#   url <host-header>                  the site's URL as visitors reach it (https:// with TLS on)
#   prune                              keep the newest $keep releases (and current, and the previous one)
#   settings <host-header>             change the team's settings (stdin: NAME=value or NAME lines, checked by
#                                      deploy/team/settings.py), reload uwsgi gracefully, check health; back on failure
#
# Everything is inside functions and `main` runs last with stdin from /dev/null: with `bash -s`, bash reads the
# script from stdin as it goes, so a command reading stdin (pip, python3) would otherwise swallow the rest.
set -euo pipefail

# The team's paths (deploy/core/layout.py TeamPaths), set before this text by commands.release_script_text:
: "${team:?}" "${releases:?}" "${current:?}" "${envs:?}" "${run_dir:?}" "${uwsgi_log:?}" "${uwsgi_ini:?}" \
  "${master_fifo:?}" "${wheelhouses:?}" "${keep:?}" "${healthz:?}" "${settings:?}" "${make_venv:?}" "${uv_cache:?}" \
  "${freeze_dir:?}" "${procfile_tool:?}"

# Shared by the parts:
HEALTH_WAIT=20      # seconds a new release has to answer its health path (below 500) with its id
FAILED_MARK=.hacknode-failed     # in a release that failed (why, in a line): rollback never goes there
ENV_COMPLETE=.hacknode-complete  # in a virtualenv whose pip install finished
last_health="" health_path=/healthz   # wait_healthy's last answer and the path it asked, for the messages
reload_master=""    # the uwsgi master a graceful reload kept (reload_uwsgi): gone means the release crashed at start
restarted_master="" # the new master after hard_restart
reload_offset=0     # the uwsgi log's size when the reload began (tell_deaf_workers reads from there)
# fd 8: the command's stdin, which `settings` reads (its changes); every other command reads /dev/null (main's line)
# fd 9: the release lock (with_lock), held until the program ends

say() { echo "[$team] $*"; }
die() { echo "[$team] ERROR: $*" >&2; exit 1; }

# reload_uwsgi, hard_restart, wait_healthy, site_url, switch_lock
. release-reload.sh
# run_release_command, release_live (health, then workers), switch_back, mark_failed, failed_reason, give_up
. release-procs.sh
# cmd_settings
. release-settings.sh
# hn_uwsgi_master, hn_log_why
. uwsgi-lib.sh

with_lock() {
    # One release operation at a time per team (two members deploying at once). Opened read-write (<>), which
    # never blocks, and only a plain file is a lock: a FIFO put there blocked a write-only open for ever.
    exec 9<>"$run_dir/release.lock"
    [ -f /dev/fd/9 ] || die "$run_dir/release.lock is not a plain file: remove it (rm $run_dir/release.lock) and run again"
    flock -w 300 9 || die "another deploy of $team has held $run_dir/release.lock for 5 minutes"
}

frozen_check() {  # [SUBCOMMAND]
    # The instructor's deadline (`fab freeze`, deploy/remote/term.sh): $freeze_dir/$team is root's, outside the
    # team's home, so no team can change it; past its time every subcommand that changes the site is refused. A
    # mark that cannot be read refuses too.
    local line="" epoch
    [ -e "$freeze_dir/$team" ] || return 0
    read -r line < "$freeze_dir/$team" || true
    epoch=${line#deadline=}; epoch=${epoch%% *}
    if [[ "$epoch" =~ ^[0-9]+$ ]] && [ "$(date +%s)" -lt "$epoch" ]; then return 0; fi
    # `settings` has its changes on stdin (fd 8): read to the end, so the sender sees them taken, not a broken pipe
    [ "${1:-}" != settings ] || cat <&8 >/dev/null || true
    echo "HN-FAIL [$team] frozen: the deadline was ${line#* }; deploys, git pushes, rollbacks and config changes are" \
         "refused (the site keeps running; the instructor's \`fab freeze --undo\` lifts it)" >&2
    exit 1
}

submitted_id() {  # the release the team's submission took at the deadline (`fab freeze`): never pruned
    sed -n 's/^release=//p' "$freeze_dir/$team.submission" 2>/dev/null || true
}

release_ids() {  # every release's folder name, newest first (a release id starts with its UTC time)
    # shellcheck disable=SC2012  # names this program made: letters, digits and -
    ls -1 "$releases" | sort -r
}

current_id() { local target; target=$(readlink "$current" 2>/dev/null) || return 0; basename "$target"; }

is_good_release() { [ -f "$releases/$1/RELEASE" ] && [ ! -e "$releases/$1/$FAILED_MARK" ]; }

previous_id() {
    # The newest good release older than current: where `rollback` goes.
    local cur r; cur=$(current_id)
    for r in $(release_ids); do
        if [[ "$r" < "$cur" ]] && is_good_release "$r"; then echo "$r"; return 0; fi
    done
}

file_hash() { sha256sum "$1" | cut -c1-12; }

cmd_facts() {
    local want=$1 claim=${2:-} env=missing
    # mkdir is atomic: two deploys in the same second (two members, or one deploy right after another) would
    # otherwise rsync into one directory and make a release of both trees mixed. The second is told, before it
    # ships anything, and asks again with the next second's id.
    if [ -n "$claim" ] && ! mkdir "$releases/$claim" 2>/dev/null; then
        [ -e "$releases/$claim" ] || die "release $claim: $releases/$claim cannot be made"
        echo "claimed=no"; return 0
    fi
    [ -f "$envs/$want/$ENV_COMPLETE" ] && env=present
    echo "python=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])') arch=$(uname -m) env=$env" \
         "current=$(current_id)"
}

cmd_env() {
    local want=$1 requirements=$2 dir="$envs/$1"
    [ -f "$requirements" ] || die "$requirements: no such file"
    [ "$(file_hash "$requirements")" = "$want" ] || die "$requirements does not hash to $want (changed during the deploy?)"
    if [ -f "$dir/$ENV_COMPLETE" ]; then say "virtualenv envs/$want: ok"; return 0; fi
    [ -x "$make_venv" ] || die "$make_venv is missing: the instructor's fab provision installs it"
    # Built in place, not in a temporary name renamed afterwards: a virtualenv's scripts (bin/uwsgi) hold its
    # absolute path. A new hash is a new directory the live site does not use, and only a complete build gets
    # $ENV_COMPLETE, so a failed install never touches the running site.
    say "virtualenv envs/$want: building from $requirements (wheelhouses only, uv where it runs)"
    # shellcheck disable=SC2086  # $wheelhouses is a list of directories
    if ! "$make_venv" "$dir" "$uv_cache" $wheelhouses -- -r "$requirements"; then
        rm -rf "$dir"
        die "installing -r $requirements failed (above); nothing was switched: the live site is unchanged"
    fi
    touch "$dir/$ENV_COMPLETE"
    say "virtualenv envs/$want: changed"
}

cmd_prepare() {  # ID HASH [first]: with `first` (provisioning's first release, the instructor's bundle, which has no
    # release command), none is run: one there was put by the team meanwhile, and root's provisioning session is
    # not the team's slice nor its limits
    local id=$1 want=$2 first=${3:-} dir="$releases/$1"
    [ -d "$dir" ] || die "release $id: $dir does not exist (was the rsync interrupted?)"
    cmd_env "$want" "$dir/requirements.txt"
    ln -sfn "../../envs/$want" "$dir/rapid-env"
    python3 "$procfile_tool" write "$dir"   # its Procfile checked, .hacknode-procs made; a bad one stops here
    # into a new name (mktemp: O_EXCL), never a file or FIFO put at a fixed name beforehand
    local new; new=$(mktemp "$dir/.RELEASE.XXXXXX")
    printf '%s\n' "$id" > "$new" && chmod "=rw" "$new" && mv -f "$new" "$dir/RELEASE"
    [ "$first" = first ] || run_release_command "$id"
    say "release $id: prepared (rapid-env -> envs/$want)"
}

switch_to() {
    # Atomic: rename(2) of a new link over the old one; a request sees either release, never none.
    ln -sfn "releases/$1" "$current.tmp"
    mv -T "$current.tmp" "$current"
}

log_lines() { wc -l 2>/dev/null < "$uwsgi_log" || echo 0; }

show_log_since() {  # LINE: why the release failed, from what uwsgi logged after line LINE (the failed start's
    # traceback comes first; the restart of the previous release after it would push it out of a plain tail)
    echo "[$team] what $uwsgi_log says since the switch:" >&2
    hn_log_why "$uwsgi_log" "$1" >&2
}

activate() {
    local id=$1 host=$2 before mark; before=$(current_id); mark=$(log_lines)
    is_good_release "$id" || die "release $id is not prepared or failed before; not switching"
    say "switching current: ${before:-(none)} -> $id"
    switch_lock
    switch_to "$id"
    reload_uwsgi
    # what failed is said with its log as the failed release left it, before the switch back adds its own lines;
    # the switch lock (fd 7) is held until then: no cron job starts in a release that is not live yet
    release_live "$id" "$host" "$mark" && { flock -u 7; return 0; }
    mark_failed "$id" "$failed_what"
    if [ -n "$before" ] && [ "$before" != "$id" ]; then switch_back "$before" "$id" "$host"; fi
    give_up "release $id is not live: $failed_line"
}

cmd_reload() {
    # `fab restart`: the same graceful reload as a deploy, same release; requests wait in the socket's
    # backlog while uwsgi re-executes instead of failing (a stop and start, cmd_restart, drops them).
    local id mark; id=$(current_id); mark=$(log_lines)
    [ -n "$id" ] || die "no live release to reload (deploy first)"
    reload_uwsgi
    release_live "$id" "$1" "$mark" "after the reload" || give_up "release $id: $failed_line"
}

cmd_restart() {
    # `fab restart --hard`: uwsgi stopped and started (a new master), as the team: no root involved.
    local id mark; id=$(current_id); mark=$(log_lines)
    [ -n "$id" ] || die "no live release to restart (deploy first)"
    hard_restart || die "uwsgi did not start again within ${HEALTH_WAIT}s (supervisor keeps trying; fab logs shows why)"
    reload_master=$restarted_master
    release_live "$id" "$1" "$mark" "after the restart" || give_up "release $id: $failed_line"
}

cmd_prune() {
    local cur prev submitted r n=0 e name used
    cur=$(current_id); prev=$(previous_id); submitted=$(submitted_id)
    for r in $(release_ids); do
        n=$(( n + 1 ))
        if [ "$n" -le "$keep" ] || [ "$r" = "$cur" ] || [ "$r" = "$prev" ] || [ "$r" = "$submitted" ]; then
            continue
        fi
        rm -rf "${releases:?}/$r"
        say "pruned release $r"
    done
    # Virtualenvs no remaining release links to.
    for e in "$envs"/*; do
        [ -d "$e" ] || continue
        name=$(basename "$e"); used=no
        for r in "$releases"/*; do
            [ "$(readlink "$r/rapid-env" 2>/dev/null)" = "../../envs/$name" ] && used=yes
        done
        if [ "$used" = no ]; then rm -rf "${envs:?}/$name"; say "pruned virtualenv envs/$name"; fi
    done
}

cmd_abandon() {
    # A release whose rsync failed (disk full, connection cut): removed, so nothing half-written stays.
    local id=$1
    [ "$id" != "$(current_id)" ] || die "release $id is live; not removing it"
    [ ! -f "$releases/$id/RELEASE" ] || die "release $id is prepared; not removing it"
    rm -rf "${releases:?}/$id"
    say "release $id: removed (its upload did not finish)"
}

cmd_list() {
    local cur r mark
    cur=$(current_id)
    for r in $(release_ids); do
        mark="  "
        [ "$r" = "$cur" ] && mark="* "
        if [ -e "$releases/$r/$FAILED_MARK" ]; then echo "$mark$r  (failed $(failed_reason "$r"))"
        elif [ ! -f "$releases/$r/RELEASE" ]; then echo "$mark$r  (incomplete)"
        else echo "$mark$r  (rapid-env -> $(basename "$(readlink "$releases/$r/rapid-env")"))"; fi
    done
}

main() {
    local sub=${1:-}; shift || true
    cd "$(dirname "$releases")"
    # what changes the site, after the deadline: refused (facts with an id claims a new release)
    case "$sub" in
        facts) [ $# -lt 2 ] || frozen_check ;;
        env|prepare|activate|deploy|rollback|settings) frozen_check "$sub" ;;
    esac
    case "$sub" in
        facts)    (( $# >= 1 && $# <= 2 )) || die "usage: facts <req-hash> [<new-id>]"; cmd_facts "$@" ;;
        env)      [ $# -eq 2 ] || die "usage: env <req-hash> <requirements>"; with_lock; cmd_env "$@" ;;
        prepare)  (( $# == 2 )) || { (( $# == 3 )) && [ "$3" = first ]; } || die "usage: prepare <id> <req-hash> [first]"
                  with_lock; cmd_prepare "$@" ;;
        activate) [ $# -eq 2 ] || die "usage: activate <id> <host-header>"; with_lock; activate "$@"; cmd_prune ;;
        deploy)   [ $# -eq 3 ] || die "usage: deploy <id> <req-hash> <host-header>"
                  with_lock; cmd_prepare "$1" "$2"; activate "$1" "$3"; cmd_prune ;;
        rollback) [ $# -eq 1 ] || die "usage: rollback <host-header>"
                  with_lock
                  local prev; prev=$(previous_id)
                  [ -n "$prev" ] || die "no good release older than $(current_id) to roll back to"
                  activate "$prev" "$1" ;;
        reload)   [ $# -eq 1 ] || die "usage: reload <host-header>"; with_lock; cmd_reload "$@" ;;
        restart)  [ $# -eq 1 ] || die "usage: restart <host-header>"; with_lock; cmd_restart "$@" ;;
        abandon)  [ $# -eq 1 ] || die "usage: abandon <id>"; with_lock; cmd_abandon "$@" ;;
        list)     cmd_list ;;
        url)      [ $# -eq 1 ] || die "usage: url <host-header>"; site_url "$1" ;;
        prune)    with_lock; cmd_prune ;;
        settings) [ $# -eq 1 ] || die "usage: settings <host-header> < changes"; with_lock; cmd_settings "$@" ;;
        *)        die "unknown subcommand '${sub}' (facts, env, prepare, activate, deploy, rollback, reload, restart, abandon, list, url, prune, settings)" ;;
    esac
}

# fd 8 keeps the command's stdin for `settings` (the changes); everything else reads /dev/null.
main "$@" 8<&0 </dev/null
