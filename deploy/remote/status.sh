# managed by hacknode: the class's figures on one server (run as root), for `fab status` and the class page
# (/opt/hacknode/bin/class-status, run by class-page): a tab-separated line per team
#   team  program state  uptime  live release  /healthz code through nginx  memory KiB  tasks  home KiB  database KiB
#   what bounds it: "slice" (its systemd user slice, cgroups) or "rlimits" (per process, from its program's command)
#   requests in the last WINDOW seconds (health probes left out)  newest release (the last deploy's)
# first "teams<TAB>every team's name, space-separated" (root's list: class_status.parse takes no line for another
# name), then the teams' lines, then "quota<TAB>what the filesystem of /home says of quotas", "now<TAB>the server's
# time (epoch seconds)", "version<TAB>the hacknode that provisioned it ("-": unrecorded)" and, with TLS on,
# "tls<TAB>NAME<TAB>when the certificate nginx serves for NAME expires" for HOSTNAME and, in tls mode acme, for each
# team's name too (each has its own certificate in ACME_CERTS).
# Arguments: DOMAIN HEALTHZ_TOOL MONGO_TOOL_PYTHON MONGO_TOOL ADMIN_URI_FILE HOSTNAME ACME_CERTS LOG_ROOT [PROBE [WINDOW]]
# (teams answer at <team>.DOMAIN; their nginx access logs are LOG_ROOT/<team>/access.log). PROBE "all" asks every
# team's /healthz; "awake" only teams with a uwsgi worker running, the code of the others being "idle": a probe
# would start a worker, and the class page, asking every minute, would keep every idle team awake.
set -u
export LC_ALL=C     # bytes, not characters: a name a team chose is cleaned byte by byte (safe_name)
# root's programs below (supervisorctl reads ./supervisord.conf first) start where nobody else writes, whatever the
# caller's folder (the admin's home over SSH, supervisord's for the class page); PATH is root's own, fixed
cd /
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
domain=$1 healthz=$2 tools_python=$3 mongo_tool=$4 admin_file=$5 hostname=$6 acme_certs=$7 log_root=$8
probe=${9:-all} window=${10:-300}
now=$(date +%s)

safe_name() {  # VAR NAME: a name a team chose (a release folder, its link's target) as one cell: at most 64 bytes, any
  # byte but letters, digits and ._+- shown as "?", so no tab, newline or terminal escape splits or forges a line
  local name=${2:0:64}
  printf -v "$1" '%s' "${name//[^A-Za-z0-9._+-]/?}"
}

teams=""
for ini in /etc/hacknode/uwsgi/*.ini; do [ -e "$ini" ] && name=${ini##*/} && teams="$teams ${name%.ini}"; done
# the databases' sizes in one connection; the admin URI stays in the environment (never an argument)
db_sizes=$(HN_ADMIN_URI=$(cat "$admin_file" 2>/dev/null || true) "$tools_python" "$mongo_tool" sizes $teams 2>/dev/null || true)
# one supervisorctl and one probe run for all teams: each is a Python start (30 teams: seconds of CPU otherwise)
states=$(supervisorctl status 2>/dev/null || true)
supervisord_pid=$(cat /run/supervisord.pid 2>/dev/null || pgrep -o -u root -x supervisord || true)
# Every other figure of all teams at once too, into one table per figure: this runs every minute for the class page,
# and a dozen small programs a team (awk, ps, du, id...) took 4.4 s a round for 31 teams (now 1.7 s).
declare -A state=() uptime=() pid=() code=() db=() memory=() tasks=() home=() uid=()
while read -r name st rest; do
  [ -n "$name" ] || continue      # no programs (or no supervisorctl): an empty line, no team
  state[$name]=$st
  [[ "$rest" =~ pid\ ([0-9]+), ]] && pid[$name]=${BASH_REMATCH[1]}
  [[ "$rest" =~ uptime\ ([^ ,]+) ]] && uptime[$name]=${BASH_REMATCH[1]}
done <<< "$states"
while read -r name kib; do [ -n "$name" ] && db[$name]=$kib; done <<< "$db_sizes"
processes=$(ps -e -o user:32=,pid=,ppid=,rss=)
while read -r user _ _ rss; do memory[$user]=$(( ${memory[$user]:-0} + rss )); done <<< "$processes"
while read -r user; do tasks[$user]=$(( ${tasks[$user]:-0} + 1 )); done < <(ps -e -L -o user:32=)
while IFS=: read -r name _ id _; do uid[$name]=$id; done < <(getent passwd)
printf 'teams\t%s\n' "${teams# }"
# awake: the team's uwsgi master (a child of supervisord) has a worker (a child of its own)
awake=" $(awk -v sv="$supervisord_pid" \
  '$3 == sv {master[$2] = $1} {children[$3]++} END {for (m in master) if (children[m]) printf "%s ", master[m]}' \
  <<< "$processes") "
probed=""
for t in $teams; do
  if [ "$probe" = all ] || [[ "$awake" == *" $t "* ]]; then probed="$probed $t"; else code[$t]=idle; fi
done
if [ -n "$probed" ]; then
  # shellcheck disable=SC2046  # one host per team
  while read -r name answer _; do [[ "$answer" =~ ^[0-9]{3}$ ]] && code[$name]=$answer; done < <(paste \
    <(printf '%s\n' $probed) \
    <(python3 "$healthz" $(printf "%s.$domain " $probed) 2>/dev/null))
fi
for t in $teams; do
  release=$(readlink "/home/$t/current" 2>/dev/null || true); safe_name release "${release##*/}"
  # a du of its own: one du of all homes counts a file linked into several (their shared wheels) in the first only;
  # bounded: a team's millions of files would otherwise hold every team's figures
  home[$t]=$(timeout 10 du -sk "/home/$t" 2>/dev/null | cut -f1)
  # read from the log's end back to the window's start: the cost is the window's requests, not the log's size
  requests=$(tac "$log_root/$t/access.log" 2>/dev/null |
    awk -v since=$((now - window)) '$1 < since {exit} $3 != "/healthz" {n++} END {print n + 0}')
  # the team's own folder, never through a link it put there (another team's folder, /root: a name from it shown)
  releases=(""); [ -L "/home/$t/releases" ] || releases=("/home/$t/releases/"*)
  safe_name newest "${releases[-1]##*/}"; [ -e "${releases[-1]}" ] || newest=""
  # the program's own process says where it runs; a stopped one, whether its slice has hacknode's limits
  cgroup=""; [ -n "${pid[$t]:-}" ] && read -r -d '' cgroup 2>/dev/null < "/proc/${pid[$t]}/cgroup"
  if [[ "$cgroup" == *"/user-${uid[$t]:-none}.slice/"* ]] || { [ -z "${pid[$t]:-}" ] && [ -d /run/systemd/system ] \
      && [ -e "/etc/systemd/system/user-${uid[$t]:-none}.slice.d/50-hacknode.conf" ]; }; then bound=slice; else bound=rlimits; fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "${state[$t]:-MISSING}" "${uptime[$t]:--}" \
    "${release:--}" "${code[$t]:-000}" "${memory[$t]:-0}" "${tasks[$t]:-0}" "${home[$t]:--}" "${db[$t]:--}" \
    "$bound" "$requests" "${newest:--}"
done
# quotas: only where the filesystem of /home has them on (quotaon -p says so)
if command -v quotaon >/dev/null && quotaon -pu /home 2>/dev/null | grep -q ' is on'; then
  printf 'quota\t%s\n' "on (each team's files there stop at its disk_mb and its files, in inodes: provisioning \
sets both with setquota)"
else
  printf 'quota\tunavailable (no user quotas on the filesystem of /home)\n'
fi
printf 'now\t%s\n' "$now"
# which hacknode provisioned this server (provisioning's last step writes it; none before 0.22.0)
version=$(head -c 64 /etc/hacknode/version 2>/dev/null | head -n 1); safe_name version "$version"
printf 'version\t%s\n' "${version:--}"
names=$hostname
for t in $teams; do [ -e "$acme_certs/$t.$domain" ] && names="$names $t.$domain"; done
# every name's expiry in one run of the probe (a Python start per name was most of this part's cost in acme mode)
# shellcheck disable=SC2086  # one name per argument
while IFS=$'\t' read -r name expiry; do
  [ "${expiry:--}" = "-" ] || printf 'tls\t%s\t%s\n' "$name" "$expiry"
done < <(paste <(printf '%s\n' $names) <(python3 "$healthz" --expiry $names 2>/dev/null || true))
