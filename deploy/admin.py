"""The instructor's tasks beyond provisioning: status, remove_team, teardown. One SSH round trip per server
each, whatever the number of teams; every server at once."""
from deploy import commands, layout, mongo, runner, usage
from deploy.bundle import server_script
from deploy.errors import DeployError
from deploy.fanout import on_each_server
from deploy.model import team_host
from deploy.plan_team import removal_commands


def server_status(c, server, domain):
    """Rows (team, state, uptime, release, healthz code, memory KiB, tasks, home KiB, database KiB, what bounds it)
    of every team on one server, then the row ("quota", what the server says of disk quotas) and with TLS on the
    rows ("tls", name, when its certificate expires)."""
    result = runner.run(c, commands.class_status(domain, server.hostname or server.address))
    return [line.split("\t") for line in result.stdout.splitlines()
            if line.count("\t") == 9 or line.startswith(("quota\t", "tls\t"))]


def status_table(inventory, key=None):
    """(table, problems): every team of the class with its service state, /healthz through nginx, release,
    uptime, use against its limits (memory, tasks, disk) and URLs; and lines for servers that could not be
    asked; the table ends with what each server says of disk quotas and the teams above their disk threshold."""
    results = on_each_server(inventory.servers, lambda c, server: server_status(c, server, inventory.domain), key)
    rows = [("TEAM", "SERVER", "STATE", "HEALTHZ", "RELEASE", "UPTIME", "MEM", "TASKS", "DISK", "BOUND BY", "URL")]
    problems, notes = [], []
    for r in results:
        if r.error:
            problems.append(f"{r.server.name}: {r.error}")
        seen, teams = set(), {t.name: t for t in inventory.teams_on(r.server.name)}
        for team_name, *row in r.value or ():
            if team_name in ("quota", "tls"):
                notes.append(f"{r.server.name}: disk quotas: {row[0]}" if team_name == "quota" else
                             f"{r.server.name}: HTTPS certificate of {row[0]} expires {row[1]}")
                continue
            seen.add(team_name)
            state, uptime, rel, code, *use, bound = row
            team = teams.get(team_name)
            cells = usage.use_cells(team, *use) if team else ("-", "-", "-")
            warning = usage.disk_warning(team, *use[2:]) if team else ""
            notes += [warning] if warning else []
            rows.append((team_name, r.server.name, state, code, rel, uptime, *cells, bound,
                         team_urls(inventory, r.server, team_name)))
        for name in teams:
            if name not in seen and not r.error:
                rows.append((name, r.server.name, "NOT PROVISIONED", "-", "-", "-", "-", "-", "-", "-", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines + notes), problems


def team_urls(inventory, server, team_name):
    scheme = inventory.tls.scheme
    return (f"{scheme}://{team_host(team_name, inventory.domain)}/  "
            f"{scheme}://{server.hostname or server.address}/{team_name}/")


def run_removal(c, server, what, step_commands, mongodb):
    """Run removal commands as root with hacknode's helpers; the lines saying what was archived."""
    script = server_script(step_commands, mongodb, stage="$(mktemp -d)")
    result = runner.run(c, commands.root_script(what, script, mongo.admin_uri_input(mongodb)))
    return [f"{server.name}: {line}" for line in result.stdout.splitlines() if line.startswith("archived ")]


def say_results(results, done, say):
    """Each server's lines, then `done` or its error; DeployError naming every server that failed."""
    for r in results:
        for line in r.value or ():
            say(line)
        say(f"{r.server.name}: {r.error or done}")
    failures = [f"{r.server.name}: {r.error}" for r in results if r.error]
    if failures:
        raise DeployError("; ".join(failures))


def remove_team(inventory, team_name, server_name, key=None, say=print):
    """Archive a team's code and database on its server, then remove all provisioning made for it."""
    results = on_each_server([inventory.server(server_name)], lambda c, server: run_removal(
        c, server, f"removing {team_name}", removal_commands(team_name, inventory.mongodb), inventory.mongodb), key)
    say_results(results, f"removed {team_name}", say)


def teardown_commands(mongodb):
    """Every team archived and removed, then the class's shared pieces; packages stay installed."""
    team_function = "hn_teardown_team() {\n" + "\n".join(
        "  " + command for command in removal_commands("$1", mongodb)) + "\n}"
    return [
        team_function,
        f"for f in {layout.TEAMS_DIR}/*; do [ -e \"$f\" ] || continue; hn_teardown_team \"$(basename \"$f\")\"; done",
        "supervisorctl stop hacknode-secantus >/dev/null 2>&1 || true",
        f"rm -f {layout.SECANTUS_CONF} {layout.NGINX_SITE} && supervisorctl update >/dev/null 2>&1 || true",
        f"rm -f {layout.TEAM_PROFILE} {layout.PAM_UMASK_PROFILE} && pam-auth-update --package >/dev/null 2>&1 || true",
        "nginx -t 2>/dev/null && hn_service nginx reload || true",
        f"rm -rf {layout.ETC} {layout.INDEX_ROOT} {layout.ACME_WEBROOT} /opt/hacknode /var/log/hacknode",
        f"id -u {layout.DB_USER} >/dev/null 2>&1 && userdel {layout.DB_USER} || true",
    ]


def teardown(inventory, key=None, say=print):
    """Archive every team, then remove the whole class from every server (all servers at once)."""
    results = on_each_server(inventory.servers, lambda c, server: run_removal(
        c, server, "teardown", teardown_commands(inventory.mongodb), inventory.mongodb), key)
    say_results(results, "class removed (archives kept in /var/backups/hacknode)", say)
