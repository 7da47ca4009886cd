# managed by hacknode: the class's figures on one server (run as root), for `fab status` and the class page
# (/opt/hacknode/bin/class-status, run by class-page): a tab-separated line per team
#   team  program state  uptime  live release  /healthz code through nginx  memory KiB  tasks  home KiB  database KiB
#   what bounds it: "slice" (its systemd user slice, cgroups) or "rlimits" (per process, from its program's command)
#   requests in the last WINDOW seconds (health probes left out)  newest release (the last deploy's)
# then "quota<TAB>what the filesystem of /home says of quotas", "now<TAB>the server's time (epoch seconds)" and, with
# TLS on, "tls<TAB>NAME<TAB>when the certificate nginx serves for NAME expires" for HOSTNAME and, in tls mode acme,
# for each team's name too (each has its own certificate in ACME_CERTS).
# Arguments: DOMAIN HEALTHZ_TOOL MONGO_TOOL_PYTHON MONGO_TOOL ADMIN_URI_FILE HOSTNAME ACME_CERTS LOG_ROOT [PROBE [WINDOW]]
# (teams answer at <team>.DOMAIN; their nginx access logs are LOG_ROOT/<team>/access.log). PROBE "all" asks every
# team's /healthz; "awake" only teams with a uwsgi worker running, the code of the others being "idle": a probe
# would start a worker, and the class page, asking every minute, would keep every idle team awake.
set -u
domain=$1 healthz=$2 tools_python=$3 mongo_tool=$4 admin_file=$5 hostname=$6 acme_certs=$7 log_root=$8
probe=${9:-all} window=${10:-300}
now=$(date +%s)
teams=""
for ini in /etc/hacknode/uwsgi/*.ini; do [ -e "$ini" ] && teams="$teams $(basename "$ini" .ini)"; done
# the databases' sizes in one connection; the admin URI stays in the environment (never an argument)
db_sizes=$(HN_ADMIN_URI=$(cat "$admin_file" 2>/dev/null || true) "$tools_python" "$mongo_tool" sizes $teams 2>/dev/null || true)
# one supervisorctl and one probe run for all teams: each is a Python start (30 teams: seconds of CPU otherwise)
states=$(supervisorctl status 2>/dev/null || true)
supervisord_pid=$(cat /run/supervisord.pid 2>/dev/null || pgrep -o -x supervisord || true)
awake() {   # the team's uwsgi master (a child of supervisord) has a worker (a child of its own)
  ps -u "$1" -o pid=,ppid= 2>/dev/null | awk -v sv="$supervisord_pid" \
    '$2 == sv {master[$1]} {children[$2]++} END {for (m in master) if (children[m]) exit 0; exit 1}'
}
probed=""
for t in $teams; do
  if [ "$probe" = all ] || awake "$t"; then probed="$probed $t"; fi
done
codes=""
if [ -n "$probed" ]; then
  # shellcheck disable=SC2046  # one host per team
  codes=$(paste <(printf '%s\n' $probed) <(python3 "$healthz" $(printf "%s.$domain " $probed) 2>/dev/null))
fi
for t in $teams; do
  line=$(echo "$states" | awk -v t="$t" '$1 == t')
  state=$(echo "$line" | awk '{print $2}')
  uptime=$(echo "$line" | sed -n 's/.*uptime \([^ ,]*\).*/\1/p')
  release=$(basename "$(readlink "/home/$t/current" 2>/dev/null)" 2>/dev/null || true)
  code=$(echo "$codes" | awk -v t="$t" '$1 == t {print $2}')
  case " $probed " in *" $t "*) ;; *) code=idle ;; esac
  memory=$(ps -u "$t" -o rss= 2>/dev/null | awk '{s += $1} END {print s + 0}')
  tasks=$(ps -u "$t" -L -o lwp= 2>/dev/null | wc -l)
  home=$(du -sk "/home/$t" 2>/dev/null | cut -f1)
  db=$(echo "$db_sizes" | awk -v t="$t" '$1 == t {print $2}')
  # read from the log's end back to the window's start: the cost is the window's requests, not the log's size
  requests=$(tac "$log_root/$t/access.log" 2>/dev/null |
    awk -v since=$((now - window)) '$1 < since {exit} $3 != "/healthz" {n++} END {print n + 0}')
  newest=$(ls -1 "/home/$t/releases" 2>/dev/null | tail -n 1)
  # the program's own process says where it runs; a stopped one, whether its slice has hacknode's limits
  pid=$(echo "$line" | sed -n 's/.* pid \([0-9]*\),.*/\1/p')
  uid=$(id -u "$t" 2>/dev/null || echo none)
  if grep -qs "/user-$uid.slice/" "/proc/${pid:-0}/cgroup" || { [ -z "$pid" ] && [ -d /run/systemd/system ] \
      && [ -e "/etc/systemd/system/user-$uid.slice.d/50-hacknode.conf" ]; }; then bound=slice; else bound=rlimits; fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "${state:-MISSING}" "${uptime:--}" "${release:--}" \
    "${code:-000}" "$memory" "$tasks" "${home:--}" "${db:--}" "$bound" "$requests" "${newest:--}"
done
# quotas: only where the filesystem of /home has them on (quotaon -p says so)
if command -v quotaon >/dev/null && quotaon -pu /home 2>/dev/null | grep -q ' is on'; then
  printf 'quota\t%s\n' "on (each team's files there stop at its disk_mb: provisioning sets it with setquota)"
else
  printf 'quota\tunavailable (no user quotas on the filesystem of /home)\n'
fi
printf 'now\t%s\n' "$now"
names=$hostname
for t in $teams; do [ -e "$acme_certs/$t.$domain" ] && names="$names $t.$domain"; done
for name in $names; do
  expiry=$(python3 "$healthz" --expiry "$name" 2>/dev/null || true)
  [ "${expiry:--}" = "-" ] || printf 'tls\t%s\t%s\n' "$name" "$expiry"
done
