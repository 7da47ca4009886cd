# shellcheck shell=bash
# managed by hacknode: `fab teardown` on a server (root): every team hacknode made here archived and removed, then the
# class's shared pieces; packages stay installed. Runs in a root script after apply-lib.sh, archive.sh and
# remove-team.sh (deploy/admin/tasks.py), with its paths first (commands.teardown_text, from deploy/core/layout.py): a team's
# files and folders as templates where {team} is the team's name.
: "${teams_dir:?}" "${slice_dropin:?}" "${team_files:?}" "${team_folders:?}" "${programs:?}" "${program_confs:?}" \
  "${profiles:?}" "${acme_certs:?}" "${certbot_renewal:?}" "${renewal_files:?}" "${class_folders:?}" "${db_user:?}"

for record in "$teams_dir"/*; do
  [ -e "$record" ] || continue
  team=${record##*/}
  hn_end_team "$team" "$record"
  hn_archive "$team"
  # shellcheck disable=SC2086  # the templates: one path each, no space in them
  hn_remove_team "$team" "$record" "$slice_dropin" ${team_files//\{team\}/$team} -- ${team_folders//\{team\}/$team}
done

# shellcheck disable=SC2086  # lists of names and paths, one per word
{
  for program in $programs; do supervisorctl stop "$program" >/dev/null 2>&1 || true; done
  if rm -f $program_confs; then supervisorctl update >/dev/null 2>&1 || true; fi
  if rm -f $profiles; then pam-auth-update --package >/dev/null 2>&1 || true; fi
  if nginx -t 2>/dev/null; then hn_service nginx reload || true; fi
  # tls mode acme: certbot's certificates of the class and their renewal go too (left behind, certbot.timer or the
  # cron entry would run the removed tool, and fail for every certificate of the server)
  for folder in "$acme_certs"/*/; do
    [ -d "$folder" ] || continue
    name=$(basename "$folder")
    [ ! -e "$certbot_renewal/$name.conf" ] || certbot delete --non-interactive --cert-name "$name" >/dev/null 2>&1 || true
  done
  rm -f $renewal_files; [ ! -d /run/systemd/system ] || systemctl daemon-reload || true
  rm -rf $class_folders
  if id -u "$db_user" >/dev/null 2>&1; then userdel "$db_user" || true; fi
}
