# managed by hacknode: `fab status` on one server (run as root): a tab-separated line per team
#   team  program state  uptime  live release  /healthz code through nginx
# Arguments: DOMAIN HEALTHZ_TOOL (teams answer at <team>.DOMAIN).
set -u
domain=$1 healthz=$2
for ini in /etc/hacknode/uwsgi/*.ini; do
  [ -e "$ini" ] || continue
  t=$(basename "$ini" .ini)
  line=$(supervisorctl status "$t" 2>/dev/null || true)
  state=$(echo "$line" | awk '{print $2}')
  uptime=$(echo "$line" | sed -n 's/.*uptime \([^ ,]*\).*/\1/p')
  release=$(basename "$(readlink "/home/$t/current" 2>/dev/null)" 2>/dev/null || true)
  code=$(python3 "$healthz" "$t.$domain" 2>/dev/null | cut -d' ' -f1)
  printf '%s\t%s\t%s\t%s\t%s\n' "$t" "${state:-MISSING}" "${uptime:--}" "${release:--}" "${code:-000}"
done
