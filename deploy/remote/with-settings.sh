# managed by hacknode: a command in the team's live release with the team's settings exported, run as the team
# (deploy/core/commands.py with_settings). Arguments: SETTINGS CURRENT COMMAND... The settings file holds NAME=value
# lines (uwsgi reads it the same way), exported without the shell interpreting the values.
settings=$1 current=$2
shift 2
# shellcheck disable=SC2163  # each line is NAME=value: export NAME with its value
while IFS= read -r line; do [ -n "$line" ] && export "$line"; done < "$settings"
cd "$current" && exec "$@"
