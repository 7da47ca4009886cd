# managed by hacknode (class demo): rendered from deploy/templates/profile-team.sh.j2; edits here are overwritten
# A team's login shells: new files closed to other teams, temporary files in the team's own folder.
if [ -e "/etc/hacknode/teams/$(id -un)" ]; then
    umask 0027
    export TMPDIR="$HOME/tmp"
fi
