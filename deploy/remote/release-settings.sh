# shellcheck shell=bash
# Part of release.sh (sourced by it): the server side of `fab config` (deploy/team/config.py), its `settings`
# subcommand. Uses release.sh's say, die, current_id, log_lines, show_log_since, HEALTH_WAIT, last_health,
# reload_master, restarted_master, fd 8 (the changes), the path $settings (the team's settings file), and
# release-reload.sh's reload_uwsgi, hard_restart, wait_healthy and site_url, and release-procs.sh's workers_running
# and failed_line.

reload_checked() {
    # A graceful reload of release $1 (same release, new settings $3), then its health path until it reports them:
    # the release is the same before and after, so only the settings id tells new workers from old ones. Then its
    # workers, which the reload started again with the new settings.
    local mark; mark=$(log_lines)
    reload_uwsgi
    wait_healthy "$1" "$2" "$HEALTH_WAIT" "$3" && workers_running "$1" "$mark"
}

restamp_settings() {
    # The settings file with a new settings id ($1) and nothing else changed.
    local new="$settings.new"
    rm -f "$new"
    (umask 077; grep -v '^HACKNODE_SETTINGS_ID=' "$settings" > "$new"; echo "HACKNODE_SETTINGS_ID=$1" >> "$new")
    chmod 0400 "$new"
    mv -f "$new" "$settings"
}

cmd_settings() {
    # The settings file (NAME=value lines, outside releases) gets the changes read from fd 8: NAME=value sets,
    # NAME alone removes (the line stays as NAME: uwsgi's `env = NAME` unsets it in the running master, and
    # the next reload starts without it, hence two reloads then). A release that is not healthy with the new
    # settings gets the previous file back, as a failed deploy gets its previous release.
    local host=$1 id line removal=no mark settings_id; id=$(current_id); mark=$(log_lines)
    settings_id=$(date +%s.%N)
    local new="$settings.new" previous="$settings.previous"
    declare -A change=()
    [ -n "$id" ] || die "no live release yet: deploy first"
    while IFS= read -r line <&8 || [ -n "$line" ]; do
        [ -n "$line" ] || continue
        change[${line%%=*}]=$line
        [[ "$line" == *=* ]] || removal=yes
    done
    [ ${#change[@]} -gt 0 ] || die "no change given"
    change[HACKNODE_SETTINGS_ID]="HACKNODE_SETTINGS_ID=$settings_id"
    rm -f "$new"
    (umask 077
     while IFS= read -r line || [ -n "$line" ]; do
         [ -n "${change[${line%%=*}]+set}" ] || printf '%s\n' "$line"
     done < "$settings" > "$new"
     printf '%s\n' "${change[@]}" | sort >> "$new")
    chmod 0400 "$new"
    rm -f "$previous"       # left by a change that was cut off: 0400, cp could not write over it
    cp -p "$settings" "$previous"
    mv -f "$new" "$settings"
    say "settings: $(printf '%s\n' "${!change[@]}" | grep -vx HACKNODE_SETTINGS_ID | sort | tr '\n' ' ')changed; reloading release $id"
    if reload_checked "$id" "$host" "$settings_id" &&
       { [ $removal = no ] || { settings_id=$(date +%s.%N); restamp_settings "$settings_id"
                                reload_checked "$id" "$host" "$settings_id"; }; }; then
        rm -f "$previous"
        say "$(site_url "$host")$health_path: ${last_health%% *}, release $id with the new settings: ok"
        return 0
    fi
    local why; why="did not answer $(site_url "$host")$health_path below 500 and its id (waited up to"
    why+=" ${HEALTH_WAIT}s; last answer: $last_health)"
    echo "[$team] FAILED: with the new settings, release $id ${failed_line:-$why}" >&2
    mv -f "$previous" "$settings"
    # A stop and start, not a reload: a reloaded master would hand the failed settings on in its environment.
    say "settings: back to the previous ones; uwsgi stopped and started"
    if hard_restart; then reload_master=$restarted_master; else say "uwsgi did not start again within ${HEALTH_WAIT}s"; fi
    if wait_healthy "$id" "$host" "$HEALTH_WAIT"; then say "release $id is serving again"
    else echo "[$team] release $id is not healthy with the previous settings either (last answer: $last_health)" >&2; fi
    show_log_since "$mark"
    exit 1
}
