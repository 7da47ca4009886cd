#!/bin/sh
# managed by hacknode: team-scope TEAM COMMAND...: runs COMMAND as TEAM inside TEAM's systemd user slice
# (user-<uid>.slice, whose drop-in holds the team's MemoryMax, TasksMax and CPUWeight; pam_systemd puts the
# team's SSH sessions there too), so one cgroup bounds the team as a whole. Started as root by supervisor.
# The process stays the one supervisor started: systemd-run --scope moves it into a new scope and execs, and
# setpriv execs too, so supervisor's signals reach uwsgi itself. setpriv, not systemd-run --uid: that keeps
# root's supplementary groups; --init-groups gives the team's own.
# Root's part runs in / (supervisor's `directory`) with the fixed environment of the program's `env -i` (less the
# PWD this shell exports): nothing here reads the team's files; the team's uwsgi enters its own folder as the team
# (chdir in its ini). systemd-run adds INVOCATION_ID (the scope's id), nothing else.
set -eu
team=$1
shift
uid=$(/usr/bin/id -u "$team")
exec /usr/bin/env -u PWD /usr/bin/systemd-run --scope --quiet --collect --slice="user-$uid.slice" -- \
  /usr/bin/setpriv --reuid="$team" --regid="$team" --init-groups -- "$@"
