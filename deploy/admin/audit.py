"""`fab audit`'s verdicts (pure): what deploy/remote/audit.py reports of each team's attacks, turned into rows
(attack, team, result, detail) and the one table the instructor reads. An attack that worked is OPEN; one stopped
by a limit is bounded; one that cannot apply here (no other team, no admin URI) says n/a and why; one that applies
but was not tried, or not to the end (its target missing, the team's own settings spoiled, nginx silent, a file scan
over its budget), is FAILED, as is a server or probe that could not be audited: never denied. Any OPEN or FAILED row
makes `fab audit` exit 1."""
from dataclasses import dataclass

# (key in the probe's report, what the team tries); "another team" is the next team of its server
ATTACKS = [
    ("read_home", "read another team's ~/.bashrc"),
    ("read_secrets", "read another team's secrets file"),
    ("read_release", "read another team's release files"),
    ("read_logs", "read another team's uwsgi log"),
    ("list_home", "list another team's home"),
    ("write_home", "write into another team's home"),
    ("write_static", "write into another team's static folder"),
    ("write_logs", "write into another team's logs"),
    ("connect_socket", "connect to another team's uwsgi socket"),
    ("proc_environ", "read /proc/PID/environ of another team's processes"),
    ("nginx_link_subdomain", "a link in its static folder to another team's file, via nginx by subdomain"),
    ("nginx_link_path", "the same link via nginx by path (/<team>/static/)"),
    ("db_own_credentials", "open another team's database with its own credentials"),
    ("db_no_credentials", "open another team's database with no credentials"),
    ("admin_environ", "find the database admin URI in its own processes' environment"),
    ("admin_files", "find the database admin URI in a file it can read"),
    ("sudo_list", "sudo -n -l lists a rule for it"),
    ("ctlplugin", "sudo supervisorctl runs its ./supervisord.conf ctlplugin (issue 21)"),
    ("groups", "belong to a group not its own (a system group)"),
    ("write_etc_hacknode", "write into /etc/hacknode (its uwsgi ini)"),
    ("write_opt_hacknode", "write into /opt/hacknode (root's programs)"),
    ("write_var_log_hacknode", "write into /var/log/hacknode"),
    ("write_nginx", "write into nginx's configs"),
    ("write_supervisor", "write into supervisor's configs"),
    ("write_sudoers_limits", "write into sudoers.d, limits.d, systemd's units"),
    ("crontab", "schedule a cron job (crontab)"),
    ("at", "schedule an at job"),
    ("limits_sessions", "use the server without bound (its SSH sessions)"),
    ("limits_uwsgi", "use the server without bound (its uwsgi)"),
    ("ptrace_probe", "trace its own probe (and forge its rows)"),
]
NEEDS_VICTIM = {key for key, _ in ATTACKS[:14]} - {"nginx_link_subdomain", "nginx_link_path"}   # alone: /etc/passwd
PTRACE = dict(ATTACKS)["ptrace_probe"]
ORDER = {"OPEN": 0, "FAILED": 1, "bounded": 2, "denied": 3, "n/a": 4}


@dataclass(frozen=True)
class Row:
    attack: str        # what the team tries, in words
    team: str          # the attacking team, or the server's name for a server that could not be audited
    result: str        # denied, bounded, OPEN, n/a, FAILED
    detail: str = ""


def printable(text):
    """A name or path from a server as one safe line: control characters (a team's file name) shown escaped."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))[:120]


def verdict(key, outcome, server):
    """(result, detail) of one attack's `outcome` (deploy/remote/audit_probe.py's words) on a server whose facts
    (`server`: what bounds teams, whether pam_limits applies to cron and at jobs) are given."""
    word, _, detail = outcome.partition(": ")
    if word == "worked":
        return "OPEN", detail
    if word == "refused":
        return "denied", detail
    if word in ("bounded", "n/a"):
        return word, detail
    if word == "untried":
        return "FAILED", f"not tried: {detail}"
    if word == "incomplete":
        return "FAILED", detail
    if word.startswith("http "):
        code = word.split()[1]
        if code == "200":
            return "OPEN", "nginx served it (200)"
        return ("FAILED", f"nginx did not answer {outcome[7:]}".strip()) if code == "-" else ("denied", f"http {code}")
    if word == "allowed" and key in ("crontab", "at"):
        if server.get("bounds") == "slice":
            return "OPEN", "its jobs run outside its slice"
        if server.get("pam_limits", {}).get(key):
            return "bounded", "allowed; pam_limits gives its jobs the team's limits.d"
        return "OPEN", "allowed, and its jobs get no limits"
    return "OPEN", f"unknown outcome {outcome!r}"


def team_rows(team, report, server):
    """Every attack's row for one team's report ({"victim", "outcomes", "error"})."""
    rows = []
    for key, label in ATTACKS:
        outcome = report.get("outcomes", {}).get(key)
        if outcome is None and key in NEEDS_VICTIM and not report.get("victim"):
            result, detail = "n/a", "no other team on this server"
        elif outcome is None and report.get("error"):
            result, detail = "FAILED", report["error"]
        elif outcome is None:
            result, detail = "FAILED", "not reported"
        else:
            result, detail = verdict(key, str(outcome), server)
        rows.append(Row(label, team, result, printable(detail)))
    return rows


def audit_rows(results):
    """Rows of every server's report: `results` is [(server name, report or None, error)] (deploy/fanout)."""
    rows = []
    for server_name, report, error in results:
        if error:
            rows.append(Row("audit the server", server_name, "FAILED", printable(error)))
            continue
        if not report.get("teams"):
            rows.append(Row("audit the server", server_name, "n/a", "no team provisioned on it"))
        for team, team_report in report.get("teams", {}).items():
            rows += team_rows(team, team_report, report.get("server", {}))
    return rows


def grouped(rows):
    """[(attack, teams, result, detail)]: the teams with the same result and detail for an attack on one line,
    attacks in ATTACKS's order, the worst result first."""
    groups = {}
    for row in rows:
        groups.setdefault((row.attack, row.result, row.detail), []).append(row.team)
    position = {label: n for n, (_, label) in enumerate(ATTACKS)}
    keys = sorted(groups, key=lambda k: (position.get(k[0], -1), ORDER[k[1]], k[2]))
    return [(attack, groups[(attack, result, detail)], result, detail) for attack, result, detail in keys]


def as_table(rows):
    """The table `fab audit` prints, then one line: how many OPEN and FAILED rows, or that the class is sealed."""
    teams = {row.team for row in rows if row.attack != "audit the server"}
    lines = []
    for attack, names, result, detail in grouped(rows):
        shown = f"every team ({len(names)})" if len(names) == len(teams) > 1 else ", ".join(names)
        lines.append((attack, shown, result, detail))
    widths = [max(len(line[i]) for line in lines + [("ATTACK", "TEAM", "RESULT", "")]) for i in range(3)]
    text = [f"{'ATTACK':<{widths[0]}}  {'TEAM':<{widths[1]}}  {'RESULT':<{widths[2]}}  DETAIL"]
    text += [f"{a:<{widths[0]}}  {t:<{widths[1]}}  {r:<{widths[2]}}  {d}".rstrip() for a, t, r, d in lines]
    return "\n".join(text + [summary(rows)])


def summary(rows):
    """The last line; it says too when teams could forge their own probe's rows (they are then only their word)."""
    counts = {result: sum(1 for row in rows if row.result == result) for result in ORDER}
    traced = len({row.team for row in rows if row.attack == PTRACE and row.result != "denied"})
    forgeable = f"; {traced} team(s) could forge their probe's rows (ptrace)" if traced else ""
    if counts["OPEN"] or counts["FAILED"]:
        return f"{counts['OPEN']} attack(s) OPEN, {counts['FAILED']} FAILED to audit (of {len(rows)}){forgeable}"
    teams = len({row.team for row in rows})
    return f"sealed: every attack denied or bounded for {teams} team(s) ({counts['n/a']} n/a){forgeable}"


def exit_code(rows):
    """1 when any attack is OPEN or could not be audited, else 0."""
    return 1 if any(row.result in ("OPEN", "FAILED") for row in rows) else 0
