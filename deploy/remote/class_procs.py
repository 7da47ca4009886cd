# managed by hacknode: each team's workers and last cron run (its Procfile's processes, run by team-procs) as the
# collector's "procs" lines and as figures for `fab status` and the class page (installed beside class_collect.py):
#   procs<TAB>team<TAB>workers running<TAB>cron runner: on|off<TAB>job<TAB>start (epoch)<TAB>status<TAB>exit code
# ("-" where there is none). The workers are counted from the kernel's process table: uwsgi starts each daemon in a
# session of its own, as a child of the team's master; the last run is read from the team's own files, trusting
# nothing there (cron_records.runs: no link followed, its uid's plain files only, sizes capped, fields checked), and
# shown only as cells of known shapes. Standard library only.
try:                                            # on a server: installed beside the collector
    import class_status
    import cron_records
    import hacknode_layout as layout
except ImportError:                             # in the repository (its tests)
    from deploy.core import layout
    from deploy.remote import class_status, cron_records

FIELDS = ("workers", "cron", "job", "start", "status", "exit")


def daemons(master, children, proc="/proc"):
    """(workers, whether the cron runner runs) among the pids `children` of the team's uwsgi `master`: each a session
    leader (uwsgi's setsid); the runner's command line ends `team-procs cron` (uwsgi's /bin/sh -c, or team-procs)."""
    workers, runner = 0, False
    if master is None:
        return 0, False
    for pid in children:
        try:
            with open(f"{proc}/{pid}/stat", "rb") as handle:
                fields = handle.read(4096).rpartition(b")")[2].split()
            with open(f"{proc}/{pid}/cmdline", "rb") as handle:
                argv = handle.read(4096).split(b"\0")
        except OSError:
            continue
        if len(fields) < 4 or fields[1] != str(master).encode() or fields[3] != str(pid).encode():
            continue                            # not its child, or a uwsgi worker (in the master's session)
        if b" ".join(a for a in argv if a).endswith(f"{layout.TEAM_PROCS} cron".encode()):
            runner = True
        else:
            workers += 1
    return workers, runner


def last_run(folder, uid):
    """The team's newest cron run (the latest start of each job's last record in `folder`, its cron_runs), or None."""
    if uid is None:
        return None
    found = cron_records.runs(folder, uid, last=1)
    newest = [runs[-1] for runs in found.values() if runs]
    return max(newest, key=lambda r: r["start"]) if newest else None


def cells(workers, runner, run):
    """A "procs" line's cells after its team (FIELDS)."""
    if run is None:
        return [str(workers), "on" if runner else "off", "-", "-", "-", "-"]
    return [str(workers), "on" if runner else "off", run["job"], str(int(run["start"])), run["status"],
            "-" if run["exit"] is None else str(run["exit"])]


def parse_cells(found):
    """A "procs" line's cells after its team -> {field: text}, or None when they are not of their shapes."""
    if len(found) != len(FIELDS):
        return None
    values = dict(zip(FIELDS, found))
    exit_code = values["exit"].lstrip("-")
    if (not values["workers"].isdigit() or values["cron"] not in ("on", "off")
            or not (values["job"] == "-" or cron_records.JOB_NAME.match(values["job"]))
            or not (values["start"] == "-" or values["start"].isdigit())
            or values["status"] not in ("-", *cron_records.STATUSES)
            or not (values["exit"] == "-" or exit_code.isdigit())):
        return None
    return values


def figures(values, now):
    """A team's workers and last cron run for the report and the page (None: unknown or none)."""
    none = {"workers": None, "cron_runner": None, "last_cron_job": None, "last_cron_start": None,
            "last_cron_age_seconds": None, "last_cron_status": None, "last_cron_exit": None}
    if not values:
        return none
    start = None if values["start"] == "-" else int(values["start"])
    return {"workers": int(values["workers"]), "cron_runner": values["cron"] == "on",
            "last_cron_job": None if values["job"] == "-" else values["job"], "last_cron_start": class_status.iso(start),
            "last_cron_age_seconds": class_status.age(start, now),
            "last_cron_status": None if values["status"] == "-" else values["status"],
            "last_cron_exit": None if values["exit"] == "-" else int(values["exit"])}


def workers_cell(entry):
    return "-" if entry.get("workers") is None else str(entry["workers"])


def cron_cell(entry):
    """The LAST CRON cell: "cron-report ok 3m ago", "cron failed (exit 2) 12m ago", "skipped", or "-"."""
    if not entry.get("last_cron_job"):
        return "-"
    status = entry["last_cron_status"]
    if status == "failed" and entry["last_cron_exit"] is not None:
        status = f"failed (exit {entry['last_cron_exit']})"
    return f"{entry['last_cron_job']} {status} {class_status.age_text(entry['last_cron_age_seconds'])} ago"
