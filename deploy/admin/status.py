"""`fab status`'s one report of the class (pure): every server's parsed figures (deploy/remote/class_status) joined
with the inventory (limits, URLs, warnings) into one document, printed as JSON (`--json`) or as a table."""
import json

from deploy.admin import usage
from deploy.inventory.model import team_host
from deploy.remote import class_backups, class_procs
from deploy.remote.class_status import FIELDS, age_text, iso, team_figures

NOT_PROVISIONED = "NOT PROVISIONED"
UNRECORDED = "unrecorded (a hacknode before 0.22.0, or not provisioned)"
HEADER = ("TEAM", "SERVER", "STATE", "HEALTHZ", "RELEASE", "UPTIME", "MEM", "TASKS", "DISK", "BOUND BY", "DB", "REQ/5M",
          "LIVE-FOR", "DEPLOYED", "BACKUP", "WORKERS", "LAST CRON", "URL")


def team_urls(inventory, server, team_name):
    """Where the team answers: its own origin, and with path routing also under the server's."""
    scheme = inventory.tls.scheme
    urls = {"subdomain": f"{scheme}://{team_host(team_name, inventory.domain)}/"}
    if inventory.shared_origin:
        urls["path"] = f"{scheme}://{server.hostname or server.address}/{team_name}/"
    return urls


def shared_origin_warning(inventory, server):
    """With path routing a server's teams and its class page are one origin: each team's pages can read the others'
    as the visitor sees them and act as the visitor. Said wherever the class's state is shown."""
    teams = [t.name for t in inventory.teams_on(server.name)]
    if not inventory.shared_origin or not teams:
        return ""
    return (f"warning: {server.name}: {', '.join(teams)} and the class page share one origin (path routing, "
            f"{inventory.tls.scheme}://{server.hostname or server.address}/<team>/): a team's pages can read and act "
            "on the others' as their visitors; routing: subdomain gives each team its own")


def team_entry(inventory, server, figures, team, submission=None):
    """A team's figures with its server, URLs, limits (None for a team the inventory does not list) and its
    submission (`fab freeze`: release, taken, freeze; only once it has one)."""
    return {**figures, "server": server.name, "in_inventory": team is not None,
            **({"submission": submission} if submission else {}),
            "memory_limit_mb": team and team.memory_mb, "tasks_limit": team and team.tasks,
            "disk_warn_mb": team and team.disk_warn_mb, "database_limit_mb": team and team.database_mb,
            "urls": team_urls(inventory, server, figures["name"])}


def server_entries(inventory, result):
    """(server entry, team entries, warnings) of one server's result (deploy.fanout): its teams as it reports
    them, then the inventory's teams it does not have (not provisioned; unknown when it could not be asked)."""
    parsed = {"teams": [], "quota": None, "now": None, "certificates": [], "backups": {}, "version": None,
              **(result.value or {})}
    teams = {t.name: t for t in inventory.teams_on(result.server.name)}
    entries, warnings = [], []
    for row in parsed["teams"]:
        team = teams.get(row["team"])
        submission = parsed.get("submissions", {}).get(row["team"])
        backup = class_backups.figures(class_backups.parse_cells(parsed.get("backups", {}).get(row["team"], [])),
                                       parsed["now"])
        procs = class_procs.figures(class_procs.parse_cells(parsed.get("procs", {}).get(row["team"], [])),
                                    parsed["now"])
        entries.append(team_entry(inventory, result.server, {**team_figures(row, parsed["now"]), **backup, **procs},
                                  team, submission))
        warnings += [w for w in [submission_warning(entries[-1])] if w]
        if team:
            figures = entries[-1]
            warnings += [w for w in (usage.disk_warning(team, figures), usage.database_warning(team, figures)) if w]
    seen = {row["team"] for row in parsed["teams"]}
    if not result.error:
        entries += [team_entry(inventory, result.server, {**team_figures(
            dict(dict.fromkeys(FIELDS, "-"), team=name, state=NOT_PROVISIONED), None), **class_backups.figures(None, None),
            **class_procs.figures(None, None)},
            team)
            for name, team in teams.items() if name not in seen]
    server = {"name": result.server.name, "address": result.server.address, "reachable": not result.error,
              "error": str(result.error) if result.error else None, "disk_quotas": parsed["quota"],
              "time": iso(parsed["now"]), "certificates": parsed["certificates"],
              "hacknode_version": parsed["version"]}
    return server, entries, warnings


def submission_warning(entry):
    """A frozen team whose site no longer runs its submission (`current` pointed elsewhere by hand after the
    deadline); the submission, root's copy, is kept as it was and is what `fab archive` takes."""
    submission = entry.get("submission")
    if not submission or not submission["freeze"].startswith("frozen") or submission["live"]:
        return ""
    return (f"warning: {entry['name']}: its site no longer runs its submission {submission['release']} (its current "
            "link was changed by hand after the deadline; the submission is kept as it was)")


def submission_note(entry):
    submission = entry["submission"]
    taken = f"release {submission['release']}, taken {submission['taken']}" if submission["taken"] else "none yet"
    return f"{entry['name']}: submission: {taken}; {submission['freeze']}"


def class_report(inventory, results):
    """The whole class's report: {"class", "domain", "servers": [...], "teams": [...], "warnings": [...]}."""
    report = {"class": inventory.name, "domain": inventory.domain, "routing": inventory.routing, "servers": [],
              "teams": [], "warnings": []}
    for result in results:
        server, entries, warnings = server_entries(inventory, result)
        report["servers"].append(server)
        report["teams"] += entries
        report["warnings"] += [w for w in [shared_origin_warning(inventory, result.server)] if w] + warnings
    return report


def as_json(report):
    return json.dumps(report, indent=2, sort_keys=True)


def table_row(inventory, entry):
    team = next((t for t in inventory.teams if t.name == entry["name"]), None)
    cells = usage.use_cells(team, entry) if team else ("-", "-", "-")
    provisioned = entry["state"] != NOT_PROVISIONED
    code = "-" if entry["healthz"] is None else f"{entry['healthz']:03d}"
    return (entry["name"], entry["server"], entry["state"], code,
            usage.shown(entry["release"]), usage.shown(entry["uptime"]), *cells, usage.shown(entry["bound_by"]),
            usage.database_cell(team, entry) if team else "-", usage.shown(entry["requests_5min"]),
            age_text(entry["release_age_seconds"]), age_text(entry["last_deploy_age_seconds"]), class_backups.cell(entry),
            class_procs.workers_cell(entry), class_procs.cron_cell(entry),
            "  ".join(entry["urls"].values()) if provisioned else "")


def as_table(inventory, report):
    """The table people read: a line per team, then each server's disk quotas and certificates, and the warnings."""
    rows = [HEADER] + [tuple(str(cell) for cell in table_row(inventory, entry)) for entry in report["teams"]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    notes = [f"{s['name']}: provisioned by hacknode {s['hacknode_version'] or UNRECORDED}" for s in report["servers"]
             if s["reachable"]]
    notes += [f"{s['name']}: disk quotas: {s['disk_quotas']}" for s in report["servers"] if s["disk_quotas"]]
    notes += [submission_note(entry) for entry in report["teams"] if entry.get("submission")]
    notes += [f"{s['name']}: HTTPS certificate of {c['name']} expires {c['expires']}"
              for s in report["servers"] for c in s["certificates"]]
    return "\n".join(lines + notes + backup_failures(report) + report["warnings"])


def backup_failures(report):
    """A line per team whose last nightly backup did not restore whole (or was not made), saying what went wrong."""
    return [f"{e['server']}: {e['name']}: nightly backup {e['backup_file'] or '(none made)'} FAILED: {e['backup_problem']}"
            for e in report["teams"] if e.get("backup_verified") is False]


def backups_table(report):
    """`fab backups`: per team its last nightly backup, when, its size and its restore's verdict."""
    rows = [("TEAM", "SERVER", "LAST BACKUP", "SIZE", "RESTORE", "FILE")]
    for e in report["teams"]:
        verdict = {True: "verified", False: "FAILED", None: "-"}[e.get("backup_verified")]
        size = "-" if e.get("backup_bytes") is None else class_backups.size_text(e["backup_bytes"])
        rows.append((e["name"], e["server"], e.get("backup_made") or "none yet", size, verdict, e.get("backup_file") or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines + backup_failures(report))
