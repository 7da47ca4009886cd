# managed by hacknode: `fab status` on one server (run as root): a tab-separated line per team
#   team  program state  uptime  live release  /healthz code through nginx  memory KiB  tasks  home KiB  database KiB
#   what bounds it: "slice" (its systemd user slice, cgroups) or "rlimits" (per process, from its program's command)
# then one line "quota<TAB>what the filesystem of /home says of quotas", and with TLS on a line
# "tls<TAB>NAME<TAB>when the certificate nginx serves for NAME expires" for HOSTNAME and, in tls mode acme, for each
# team's name too (each has its own certificate in ACME_CERTS).
# Arguments: DOMAIN HEALTHZ_TOOL MONGO_TOOL_PYTHON MONGO_TOOL ADMIN_URI_FILE HOSTNAME ACME_CERTS (teams answer at
# <team>.DOMAIN).
set -u
domain=$1 healthz=$2 tools_python=$3 mongo_tool=$4 admin_file=$5 hostname=$6 acme_certs=$7
teams=""
for ini in /etc/hacknode/uwsgi/*.ini; do [ -e "$ini" ] && teams="$teams $(basename "$ini" .ini)"; done
# the databases' sizes in one connection; the admin URI stays in the environment (never an argument)
db_sizes=$(HN_ADMIN_URI=$(cat "$admin_file" 2>/dev/null || true) "$tools_python" "$mongo_tool" sizes $teams 2>/dev/null || true)
for t in $teams; do
  line=$(supervisorctl status "$t" 2>/dev/null || true)
  state=$(echo "$line" | awk '{print $2}')
  uptime=$(echo "$line" | sed -n 's/.*uptime \([^ ,]*\).*/\1/p')
  release=$(basename "$(readlink "/home/$t/current" 2>/dev/null)" 2>/dev/null || true)
  code=$(python3 "$healthz" "$t.$domain" 2>/dev/null | cut -d' ' -f1)
  memory=$(ps -u "$t" -o rss= 2>/dev/null | awk '{s += $1} END {print s + 0}')
  tasks=$(ps -u "$t" -L -o lwp= 2>/dev/null | wc -l)
  home=$(du -sk "/home/$t" 2>/dev/null | cut -f1)
  db=$(echo "$db_sizes" | awk -v t="$t" '$1 == t {print $2}')
  # the program's own process says where it runs; a stopped one, whether its slice has hacknode's limits
  pid=$(echo "$line" | sed -n 's/.* pid \([0-9]*\),.*/\1/p')
  uid=$(id -u "$t" 2>/dev/null || echo none)
  if grep -qs "/user-$uid.slice/" "/proc/${pid:-0}/cgroup" || { [ -z "$pid" ] && [ -d /run/systemd/system ] \
      && [ -e "/etc/systemd/system/user-$uid.slice.d/50-hacknode.conf" ]; }; then bound=slice; else bound=rlimits; fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "${state:-MISSING}" "${uptime:--}" "${release:--}" \
    "${code:-000}" "$memory" "$tasks" "${home:--}" "${db:--}" "$bound"
done
# quotas: only where the filesystem of /home has them on (quotaon -p says so)
if command -v quotaon >/dev/null && quotaon -pu /home 2>/dev/null | grep -q ' is on'; then
  printf 'quota\t%s\n' "on (each team's files there stop at its disk_mb: provisioning sets it with setquota)"
else
  printf 'quota\tunavailable (no user quotas on the filesystem of /home)\n'
fi
names=$hostname
for t in $teams; do [ -e "$acme_certs/$t.$domain" ] && names="$names $t.$domain"; done
for name in $names; do
  expiry=$(python3 "$healthz" --expiry "$name" 2>/dev/null || true)
  [ "${expiry:--}" = "-" ] || printf 'tls\t%s\t%s\n' "$name" "$expiry"
done
