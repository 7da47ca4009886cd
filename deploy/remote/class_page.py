# managed by hacknode: the instructor's live class page (installed as /opt/hacknode/bin/class-page, run by root
# under supervisor, program hacknode-class-page). Every --every seconds it collects the class's figures in-process
# (class_collect.py, the figures `fab status` reads too, but asking no team's site: a request would keep an idle team
# awake), renders --template with them and replaces --out at once (a new file renamed over it), 0644 in a 0755
# folder, both root's: no team can write it.
# Each round also keeps the teams' nginx access logs (the collector counts requests from them) under a size.
# Runs by root's tools virtualenv (Jinja2). Usage:
#   class-page --class C --server S --hostname H --domain D --scheme http|https [--routing subdomain|path]
#              --template T --out PAGE --every SECONDS [--once] [--mongo-tool TOOL --admin-file FILE --database-caps DIR]
# With --database-caps, each round first makes the database user of each team over its cap (DIR/TEAM: its database_mb)
# read-only, read-write again once it is back under (TOOL caps, as root with the admin URI of FILE).
import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time

import jinja2

# the first round waits this long: the program starts as provisioning checks every team's site, and a round's
# Python starts (supervisorctl, the database's sizes) would compete with those checks on a busy server
SETTLE_SECONDS = 30
# each team's access log (nginx writes it as root, in root's folder of the team's logs): at most this size, plus
# one older file; without a cap a team's traffic (a load test, a crawler) could fill the server's disk
ACCESS_LOGS = "/var/log/hacknode/*/access.log"      # deploy/core/layout.py TeamPaths.access_log
ACCESS_LOG_MAX_BYTES = 20 * 1024 * 1024

try:
    import class_backups                        # on a server: installed beside this program
    import class_collect
    import class_procs
    import class_status
except ImportError:
    from deploy.remote import class_backups, class_collect, class_procs, class_status      # in the repository


def page_context(parsed, options):
    """What the template shows: the class, the time the figures were read, every team's figures and the scheme of
    its links (https with TLS on)."""
    now = parsed["now"] if parsed["now"] is not None else int(time.time())
    # health: the cell as collected, an HTTP code or (the page asks no team) the master's word: up, idle, down, -
    teams = [dict(class_status.team_figures(row, now), health=row["healthz"], **backup_figures(parsed, row["team"], now),
                  **procs_figures(parsed, row["team"], now)) for row in parsed["teams"]]
    return {"class_name": options.class_name, "server": options.server, "domain": options.domain,
            "scheme": options.scheme, "every": options.every, "shared_origin": options.routing == "path",
            "written": class_status.iso(now), "teams": teams, "age_text": class_status.age_text,
            "window_minutes": class_status.REQUEST_WINDOW // 60}


def backup_figures(parsed, team, now):
    """The team's last nightly backup, and its cell: "verified 5h02m ago, 1.2MB", or "FAILED ..." and what failed."""
    figures = class_backups.figures(class_backups.parse_cells(parsed.get("backups", {}).get(team, [])), now)
    return dict(figures, backup_text=class_backups.cell(figures))


def procs_figures(parsed, team, now):
    """The team's workers and last cron run, and their cells: "2", "cron-report ok 3m ago"."""
    figures = class_procs.figures(class_procs.parse_cells(parsed.get("procs", {}).get(team, [])), now)
    return dict(figures, workers_text=class_procs.workers_cell(figures), cron_text=class_procs.cron_cell(figures))


def render_page(template_text, context):
    """The page's HTML (Jinja2, undefined names an error, everything escaped)."""
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=True, trim_blocks=True,
                                     lstrip_blocks=True, keep_trailing_newline=True)
    return environment.from_string(template_text).render(**context)


def write_page(path, text):
    """Replace `path` at once: a reader sees the old page or the new one, never half of one."""
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o755, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".class-page.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def cap_access_logs(pattern, limit, reopen):
    """Each log matching `pattern` that is over `limit` bytes becomes <log>.1 (the older .1 goes); then `reopen`
    (nginx opens new files). The paths moved."""
    moved = [path for path in sorted(glob.glob(pattern)) if os.path.getsize(path) > limit]
    for path in moved:
        os.replace(path, path + ".1")
    if moved:
        reopen()
    return moved


def reopen_nginx_logs():
    subprocess.run(["nginx", "-s", "reopen"], capture_output=True, timeout=30)


def enforce_database_caps(options):
    """The teams whose database user's role changed this round ("TEAM read" or "TEAM readWrite" lines)."""
    if not options.database_caps or not os.path.exists(options.admin_file):
        return []
    with open(options.admin_file, encoding="utf-8") as handle:
        environment = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HN_ADMIN_URI": handle.read().strip()}
    done = subprocess.run([sys.executable, options.mongo_tool, "caps", options.database_caps], capture_output=True,
                          text=True, env=environment, timeout=max(60, options.every))
    for line in (done.stdout + done.stderr).splitlines():    # a change or a problem: the page writer's log says it
        print(f"class-page: database cap: {line}", file=sys.stderr, flush=True)
    return [line.split()[0] for line in done.stdout.splitlines() if line.strip()]


def write_once(options):
    with open(options.template, encoding="utf-8") as handle:     # read each round: provisioning may renew it
        template_text = handle.read()
    context = page_context(class_collect.collect(options.domain, options.hostname, "quiet"), options)
    write_page(options.out, render_page(template_text, context))


def parse_options(argv):
    parser = argparse.ArgumentParser(prog="class-page")
    for name in ("--class", "--server", "--hostname", "--domain", "--template", "--out"):
        parser.add_argument(name, required=True, dest=None if name != "--class" else "class_name")
    parser.add_argument("--scheme", choices=("http", "https"), default="http")
    parser.add_argument("--routing", choices=("subdomain", "path"), default="subdomain")
    parser.add_argument("--every", type=int, default=60)
    parser.add_argument("--once", action="store_true")
    parser.add_argument("--mongo-tool")
    parser.add_argument("--admin-file")
    parser.add_argument("--database-caps")
    return parser.parse_args(argv)


def main(argv):
    options = parse_options(argv)
    if not options.once:
        time.sleep(SETTLE_SECONDS)
    while True:
        started = time.monotonic()
        try:
            cap_access_logs(ACCESS_LOGS, ACCESS_LOG_MAX_BYTES, reopen_nginx_logs)
            enforce_database_caps(options)      # before the figures: the page shows the size that was checked
            write_once(options)
        except Exception as error:   # a failed round is logged; the next one tries again
            print(f"class-page: {error!r}", file=sys.stderr, flush=True)
        if options.once:
            return
        time.sleep(max(1.0, options.every - (time.monotonic() - started)))


if __name__ == "__main__":
    main(sys.argv[1:])
