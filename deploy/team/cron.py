"""`fab logs --cron`: each cron job's last runs, read on the server by the team itself (team-procs runs: the records
deploy/remote/team_procs.py keeps, as JSON) and shown here, oldest first, with each run's output tail (pure below)."""
import json
from datetime import datetime, timezone

from deploy.core import commands, layout, runner
from deploy.core.errors import DeployError

SHOWN_RUNS = 5              # per job; the server keeps 20
OUTPUT_LINES = 10           # of each run's output tail
ENDINGS = {"ok": "ok", "running": "still running", "timeout": "stopped: ran past its time", "stopped": "stopped",
           "skipped": "skipped"}


def show_runs(c, team_name):
    """Print each job's last runs; the text printed."""
    result = runner.run(c, commands.program("the cron runs", layout.TEAM_PROCS, "runs"), check=False)
    if result.exited == 127 or "No such file" in result.stderr:
        raise DeployError(f"{layout.TEAM_PROCS} is missing on the server: the instructor's fab provision installs it")
    try:
        runs = json.loads(result.stdout)
    except ValueError:
        raise DeployError(f"team-procs runs: {runner.tail(result.stderr or result.stdout, 3) or 'no answer'}") from None
    text = runs_text(team_name, runs)
    print(text, flush=True)
    return text


def moment(epoch):
    return "-" if epoch is None else datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def run_line(run):
    """One run: when, how it ended, how long it took, which release."""
    ended = f"failed (exit {run['exit']})" if run["status"] == "failed" else ENDINGS.get(run["status"], "?")
    took = "" if run["end"] is None else f", {run['end'] - run['start']:.1f}s"
    note = f": {run['note']}" if run.get("note") else ""
    return f"  {moment(run['start'])}  {ended}{note}{took}, release {run['release'] or '-'}"


def runs_text(team_name, runs, shown=SHOWN_RUNS, lines=OUTPUT_LINES):
    """The text `fab logs --cron` prints: per job its last `shown` runs, each with its output's last `lines`."""
    if not runs:
        return f"{team_name}: no cron run yet (a Procfile's cron: lines run once the release is live)"
    out = []
    for job, records in sorted(runs.items()):
        out.append(f"{job}: {len(records)} run(s) kept, the last {min(shown, len(records))}:")
        for run in records[-shown:]:
            out.append(run_line(run))
            out += [f"    : {line}" for line in run.get("output", "").splitlines()[-lines:]]
    return "\n".join(out)
