"""The instructor's tasks beyond provisioning: status, remove_team, teardown. One SSH round trip per
server each, whatever the number of teams."""
import io
import shlex
from concurrent.futures import ThreadPoolExecutor

import paramiko

from deploy import layout, mongo
from deploy.provision import ProvisionError, removal_commands, server_script
from deploy.ssh import admin_connection, as_root

STATUS_SCRIPT = r"""
domain=$1
for ini in /etc/hacknode/uwsgi/*.ini; do
  [ -e "$ini" ] || continue
  t=$(basename "$ini" .ini)
  line=$(supervisorctl status "$t" 2>/dev/null || true)
  state=$(echo "$line" | awk '{print $2}')
  uptime=$(echo "$line" | sed -n 's/.*uptime \([^ ,]*\).*/\1/p')
  release=$(basename "$(readlink "/home/$t/current" 2>/dev/null)" 2>/dev/null || true)
  code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H "Host: $t.$domain" http://127.0.0.1/healthz || true)
  printf '%s\t%s\t%s\t%s\t%s\n' "$t" "${state:-MISSING}" "${uptime:--}" "${release:--}" "${code:-000}"
done
"""


def server_status(c, server, domain):
    """Rows (team, state, uptime, release, healthz code) of every team on one server."""
    result = c.run(as_root(server, f"bash -c {shlex.quote(STATUS_SCRIPT)} status {shlex.quote(domain)}"),
                   hide=True, warn=True)
    if result.failed:
        raise ProvisionError(f"{server.name}: status failed: {result.stderr.strip()[-300:]}")
    return [line.split("\t") for line in result.stdout.splitlines() if line.count("\t") == 4]


def status_table(inventory, key=None):
    """(table, problems): every team of the class with its service state, /healthz through nginx, release,
    uptime and URLs; and a line per server that could not be asked."""
    def one(server):
        c = admin_connection(server, key)
        try:
            return server, server_status(c, server, inventory.domain), ""
        except (OSError, paramiko.SSHException, ProvisionError) as e:
            return server, [], str(e)
        finally:
            c.close()

    with ThreadPoolExecutor(max_workers=len(inventory.servers)) as pool:
        results = list(pool.map(one, inventory.servers))
    rows = [("TEAM", "SERVER", "STATE", "HEALTHZ", "RELEASE", "UPTIME", "URL")]
    problems = []
    for server, teams, error in results:
        if error:
            problems.append(f"{server.name}: {error}")
        seen = set()
        for team, state, uptime, rel, code in teams:
            seen.add(team)
            rows.append((team, server.name, state, code, rel, uptime, team_urls(inventory, server, team)))
        for team in inventory.teams_on(server.name):
            if team.name not in seen and not error:
                rows.append((team.name, server.name, "NOT PROVISIONED", "-", "-", "-", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines), problems


def team_urls(inventory, server, team):
    host = server.hostname or server.address
    return f"http://{team}.{inventory.domain}/  http://{host}/{team}/"


def run_removal(c, server, commands, mongodb, say):
    # the script goes in argv (see gather_facts); stdin carries only the external admin URI, if any
    script = server_script(commands, mongodb, stage="$(mktemp -d)")
    result = c.run(as_root(server, f"bash -c {shlex.quote(script)} hacknode"),
                   in_stream=io.StringIO(mongo.admin_uri_input(mongodb)), hide=True, warn=True)
    for line in result.stdout.splitlines():
        if line.startswith("archived "):
            say(f"{server.name}: {line}")
    if result.failed:
        raise ProvisionError(f"{server.name}: {result.stderr.strip()[-500:]}")


def remove_team(inventory, team_name, server_name, key=None, say=print):
    """Archive a team's code and database on its server, then remove all provisioning made for it."""
    server = inventory.server(server_name)
    c = admin_connection(server, key)
    try:
        run_removal(c, server, removal_commands(team_name, inventory.mongodb), inventory.mongodb, say)
    finally:
        c.close()
    say(f"{server.name}: removed {team_name}")


def teardown_commands(mongodb):
    """Every team archived and removed, then the class's shared pieces; packages stay installed."""
    loop = (f"for f in {layout.TEAMS_DIR}/*; do [ -e \"$f\" ] || continue; hn_teardown_team \"$(basename \"$f\")\"; done")
    team_fn = "hn_teardown_team() {\n" + "\n".join(
        "  " + cmd.replace("TEAMNAME", "$1") for cmd in removal_commands("TEAMNAME", mongodb)) + "\n}"
    return [
        team_fn, loop,
        "supervisorctl stop hacknode-secantus >/dev/null 2>&1 || true",
        f"rm -f {layout.SECANTUS_CONF} {layout.NGINX_SITE} && supervisorctl update >/dev/null 2>&1 || true",
        "nginx -t 2>/dev/null && hn_service nginx reload || true",
        f"rm -rf {layout.ETC} {layout.INDEX_ROOT} /opt/hacknode /var/log/hacknode",
        f"id -u {layout.DB_USER} >/dev/null 2>&1 && userdel {layout.DB_USER} || true",
    ]


def teardown(inventory, key=None, say=print):
    for server in inventory.servers:
        c = admin_connection(server, key)
        try:
            run_removal(c, server, teardown_commands(inventory.mongodb), inventory.mongodb, say)
        finally:
            c.close()
        say(f"{server.name}: class removed (archives kept in /var/backups/hacknode)")
