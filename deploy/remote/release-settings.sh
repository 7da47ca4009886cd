# Server side of `fab config` (deploy/team_settings.py): release.sh's `settings` subcommand. deploy/commands.py
# puts this file before release.sh (after the paths), so these functions use release.sh's: say, die,
# current_id, reload_uwsgi, wait_healthy, log_lines, show_log_since, $HEALTH_WAIT, and the path $settings (the team's settings file).

uwsgi_workers() {
    # The pids of the team's uwsgi workers (children of the master supervisor runs), or nothing.
    local master
    master=$(sudo -n supervisorctl status "$team" 2>/dev/null | sed -n 's/.* pid \([0-9]*\),.*/\1/p')
    [ -z "$master" ] || pgrep -P "$master" | tr '\n' ' ' || true     # none yet: not an error
}

reload_checked() {
    # A graceful reload of release $1 (same release, new settings), then /healthz. Its answer names the same
    # release before and after, so first wait until no worker of before the reload is left (the master
    # keeps its pid; its workers are new), or until supervisor saw uwsgi exit.
    local id=$1 host=$2 before now w fresh deadline=$(( $(date +%s) + HEALTH_WAIT ))
    before=" $(uwsgi_workers) "
    reload_uwsgi
    while [ "$(date +%s)" -lt "$deadline" ]; do
        now=$(uwsgi_workers); fresh=yes
        [ -n "$now" ] || fresh=no
        for w in $now; do [[ "$before" == *" $w "* ]] && fresh=no; done
        [ $fresh = yes ] && break
        [[ "$(sudo -n supervisorctl status "$team" 2>/dev/null)" =~ BACKOFF|FATAL|EXITED ]] && break
        sleep 0.3
    done
    wait_healthy "$id" "$host" "$HEALTH_WAIT"
}

cmd_settings() {
    # The settings file (NAME=value lines, outside releases) gets the changes read from fd 8: NAME=value sets,
    # NAME alone removes (the line stays as NAME: uwsgi's `env = NAME` unsets it in the running master, and
    # the next reload starts without it, hence two reloads then). A release that is not healthy with the new
    # settings gets the previous file back, as a failed deploy gets its previous release.
    local host=$1 id line removal=no mark; id=$(current_id); mark=$(log_lines)
    local new="$settings.new" previous="$settings.previous"
    declare -A change=()
    [ -n "$id" ] || die "no live release yet: deploy first"
    while IFS= read -r line <&8 || [ -n "$line" ]; do
        [ -n "$line" ] || continue
        change[${line%%=*}]=$line
        [[ "$line" == *=* ]] || removal=yes
    done
    [ ${#change[@]} -gt 0 ] || die "no change given"
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
    say "settings: $(printf '%s\n' "${!change[@]}" | sort | tr '\n' ' ')changed; reloading release $id"
    if reload_checked "$id" "$host" && { [ $removal = no ] || reload_checked "$id" "$host"; }; then
        rm -f "$previous"
        say "$(site_url "$host")/healthz: 200, release $id with the new settings: ok"
        return 0
    fi
    echo "[$team] FAILED: with the new settings, release $id did not answer $(site_url "$host")/healthz with 200" \
         "and its id (waited up to ${HEALTH_WAIT}s; last answer: $last_health)" >&2
    mv -f "$previous" "$settings"
    # A restart, not a reload: a reloaded master would hand the failed settings on in its environment.
    say "settings: back to the previous ones; supervisorctl restart $team"
    sudo -n supervisorctl restart "$team" >/dev/null 2>&1 || say "supervisorctl restart $team failed"
    if wait_healthy "$id" "$host" "$HEALTH_WAIT"; then say "release $id is serving again"
    else echo "[$team] release $id is not healthy with the previous settings either (last answer: $last_health)" >&2; fi
    show_log_since "$mark"
    exit 1
}
