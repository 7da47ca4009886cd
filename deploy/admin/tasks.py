"""The instructor's tasks beyond provisioning: status, remove_team, teardown. One SSH round trip per server
each, whatever the number of teams; every server at once."""
import json

from deploy.admin import audit
from deploy.admin.status import as_table, class_report
from deploy.core import commands, layout, runner
from deploy.core.errors import DeployError, RemoteError
from deploy.core.fanout import on_each_server
from deploy.provision import database
from deploy.provision.bundle import server_script
from deploy.provision.team import removal_commands, removal_paths
from deploy.remote import class_status


def server_status(c, server, domain):
    """One server's figures (deploy/remote/class_collect.py's lines, class_status.parse), every team's /healthz asked.
    A server an older hacknode provisioned has no collector yet: one line says to provision it."""
    try:
        return class_status.parse(runner.run(c, commands.class_status(domain, server.hostname or server.address)).stdout)
    except RemoteError as e:
        if "can't open file" in str(e) and layout.CLASS_STATUS_TOOL in str(e):
            raise DeployError(f"no {layout.CLASS_STATUS_TOOL} here: an older hacknode provisioned this server; "
                              "run fab provision (it upgrades the class in place)") from None
        raise


def status_report(inventory, key=None):
    """(report, problems): the class's report (deploy/status_report: every team's state, /healthz through nginx,
    releases, requests, use against its limits, what bounds it, URLs; each server's certificates with TLS on) and a
    line per server that could not be asked."""
    results = on_each_server(inventory.servers, lambda c, server: server_status(c, server, inventory.domain), key)
    return class_report(inventory, results), [f"{r.server.name}: {r.error}" for r in results if r.error]


def status_table(inventory, key=None):
    """(table, problems): status_report as the table `fab status` prints."""
    report, problems = status_report(inventory, key)
    return as_table(inventory, report), problems


def run_removal(c, server, what, step_commands, mongodb):
    """Run removal commands as root with hacknode's helpers; the lines saying what was archived."""
    script = server_script(step_commands, mongodb)
    result = runner.run(c, commands.root_script(what, script, database.admin_uri_input(mongodb)))
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
        c, server, f"removing {team_name}", removal_commands(team_name), inventory.mongodb), key)
    say_results(results, f"removed {team_name}", say)


def teardown_commands():
    """Every team archived and removed, then the class's shared pieces; packages stay installed
    (deploy/remote/teardown.sh)."""
    return [commands.teardown_text(*removal_paths("{team}"))]


def teardown(inventory, key=None, say=print):
    """Archive every team, then remove the whole class from every server (all servers at once)."""
    results = on_each_server(inventory.servers, lambda c, server: run_removal(
        c, server, "teardown", teardown_commands(), inventory.mongodb), key)
    say_results(results, "class removed (archives kept in /var/backups/hacknode)", say)


def audit_rows(inventory, key=None):
    """`fab audit`'s rows (deploy/admin/audit.py): every server at once, one round trip each (deploy/remote/audit.py)."""
    def one(c, server):
        out = runner.run(c, commands.audit(inventory.domain)).stdout
        try:
            return json.loads(out)
        except ValueError:
            raise DeployError(f"the audit's report is not JSON: {runner.tail(out, 1)[:200]!r}")
    results = on_each_server(inventory.servers, one, key)
    return audit.audit_rows([(r.server.name, r.value, r.error) for r in results])
