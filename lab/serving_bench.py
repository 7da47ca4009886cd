"""`./inv bench`'s serving figures, on the isolated bench host (never a class server): what a team's site
answers under load (wrk, lab/load.py), which requests fail while the team deploys, restarts or rolls back,
and what idle teams cost in memory as the class grows. Figures are printed and returned, never asserted."""
import re
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from deploy.core.errors import DeployError
from deploy.team import tasks as team_tasks
from lab import benchmarks, class_bench, demo_class, load, testhost
from lab.memory import OWN_PROGRAMS, idle_memory, memory_under_load, total_mb

REPO = Path(__file__).resolve().parents[1]
PAGES = {"front page /": "/", "/healthz": "/healthz", "static file": "/static/css/main.css"}
CONNECTIONS = (1, 10, 50)
LOAD_SECONDS = 5
UNDER_LOAD_CONNECTIONS = 50
IDLE_SECONDS = 5              # the bench's teams stop their workers this soon, so the figures come fast
# rsync's ssh: the bench host makes new host keys at each start; keep them out of the user's known_hosts
SSH_OPTIONS = ("-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "LogLevel=ERROR")

def team_settings():
    """The bench's teams: the default processes and threads, a short idle time."""
    return (f"idle_seconds: {IDLE_SECONDS}",)


def throughput(address, host_header, say):
    """wrk at each of CONNECTIONS on each page: rows of path, connections, req/s, p50, p99, failed, and the
    ratio to the static file's rate at the same connections (nginx's ceiling)."""
    rows = []
    for connections in CONNECTIONS:
        results = {name: load.run_load(f"http://{address}{path}", host_header, connections, LOAD_SECONDS)
                   for name, path in PAGES.items()}
        ceiling = results["static file"].rate or 1.0
        for name, r in results.items():
            rows.append({"page": name, "connections": connections, "rate": round(r.rate, 1),
                         "p50_ms": round(r.p50_ms, 2), "p99_ms": round(r.p99_ms, 2), "failed": r.failed,
                         "requests": r.requests, "of_ceiling": round(r.rate / ceiling, 4)})
            say(f"  {name:<13} {connections:>3} connections: {r.rate:9.0f} req/s  p50 {r.p50_ms:7.1f} ms  "
                f"p99 {r.p99_ms:7.1f} ms  failed {r.failed}")
    return rows


def during(address, host_header, what, action, say):
    """Requests and failed requests under UNDER_LOAD_CONNECTIONS on the front page while `action` runs."""
    started, error = time.monotonic(), ""
    with load.load_during(f"http://{address}/", host_header, UNDER_LOAD_CONNECTIONS) as running:
        time.sleep(1)
        try:
            action()
        except DeployError as e:      # the operation refused or rolled back: a figure too, not the bench's end
            error = str(e).splitlines()[0][:200]
        time.sleep(1)
    r = running.result
    row = {"what": what, "requests": r.requests, "failed": r.failed, "p99_ms": round(r.p99_ms, 1),
           "max_seconds": round(time.monotonic() - started, 1), "error": error}
    say(f"  {what:<40} {r.failed:>5} failed of {r.requests:>6} requests  (p99 {r.p99_ms:.0f} ms)"
        + (f"; the operation failed: {error}" if error else ""))
    return row


def changed_requirements(directory):
    """A folder whose requirements.txt is the repo's plus a comment: the same wheels, a virtualenv of its own."""
    folder = Path(directory) / "changed-requirements"
    folder.mkdir(exist_ok=True)
    (folder / "requirements.txt").write_text((REPO / "requirements.txt").read_text() + "# built by the bench\n")
    return str(folder)


def team_operations(host, inventory, key_dir, say):
    """Deploy, rollback, setup_virtualenv, restart and restart --hard of team1 under load: the failed requests of
    each."""
    team = inventory.teams[0]
    host_header = f"{team.name}.{inventory.domain}"
    wheel_cache = str(REPO / ".cache" / "wheels")
    rows = []
    with host.connection(user=team.name, key=str(Path(key_dir) / team.name)) as c:
        operations = (
            ("deploy", lambda: team_tasks.deploy_release(c, team, inventory, str(REPO), ssh_options=SSH_OPTIONS,
                                                         cache_dir=wheel_cache)),
            ("rollback", lambda: team_tasks.rollback(c, team, inventory)),
            ("setup_virtualenv (changed requirements)", lambda: team_tasks.setup_virtualenv(
                c, team.name, changed_requirements(key_dir.parent), cache_dir=wheel_cache, ssh_options=SSH_OPTIONS)),
            ("restart (graceful)", lambda: team_tasks.restart(c, team, inventory)),
            ("restart --hard", lambda: team_tasks.restart(c, team, inventory, hard=True)),
        )
        for what, action in operations:
            rows.append(during(host.address, host_header, what, action, say))
    return rows


def wake_ups(address, host_headers):
    """The first request after idle of each of these idle teams' front page, one after the other: the errors
    (anything but 200), the median and the slowest answer's seconds."""
    answers = []
    for host_header in host_headers:
        started = time.monotonic()
        status = load.get_status(f"http://{address}/", host_header)
        answers.append((time.monotonic() - started, status))
    seconds = sorted(took for took, _ in answers)
    return {"wake_ups": len(answers), "wake_errors": sum(status != 200 for _, status in answers),
            "wake_p50_s": round(seconds[len(seconds) // 2], 2), "wake_max_s": round(seconds[-1], 2)}


def class_figures(root, host, inventory, team_names):
    """One class's figures (teams provisioned): idle memory, wake-ups, memory with LOADED_TEAMS under load, and
    how many teams answer /healthz 200 before and after."""
    headers = [f"{t}.{inventory.domain}" for t in team_names]

    def healthy():      # one after the other: each wakes one worker, which stops again
        return sum(load.get_status(f"http://{host.address}/healthz", h) == 200 for h in headers)

    row = {"teams": len(team_names), "healthy": healthy()}
    found = idle_memory(root, team_names, IDLE_SECONDS + 60)
    per_team = [found[t]["pss_kb"] / 1024 for t in team_names if t in found]
    row["uwsgi_mb"], row["total_mb"] = total_mb(found, team_names)
    row.update({"idle_team_mb": round(sum(per_team) / len(per_team), 1), "idle_team_max_mb": round(max(per_team), 1),
                **{f"{p}_mb": round(found.get(p, {}).get("pss_kb", 0) / 1024, 1) for p in OWN_PROGRAMS}})
    row.update(wake_ups(host.address, headers))
    loaded = memory_under_load(root, host.address, team_names, headers, UNDER_LOAD_CONNECTIONS)
    row.update(loaded, loaded_host_mb=loaded.pop("host_mb"))
    row["healthy_after_load"] = healthy()
    return row


def density(host, directory, counts, say):
    """Classes of `counts` teams (each provisioned on top of the previous): class_figures of each."""
    rows = []
    with host.connection() as root:
        for n in counts:
            inventory = benchmarks.class_inventory(directory, host.address, n, team_settings())
            seconds, _, _ = benchmarks.timed_provision(inventory, host.root_key)
            row = {**class_figures(root, host, inventory, [t.name for t in inventory.teams]),
                   "provision_s": round(seconds, 1)}
            say(f"  {n:>3} teams: {row['healthy']} healthy; idle team {row['idle_team_mb']} MB PSS (max "
                f"{row['idle_team_max_mb']}); all uwsgi {row['uwsgi_mb']} MB; total {row['total_mb']} MB idle, "
                f"{row['loaded_total_mb']} MB with {row['loaded_teams']} under load ({row['loaded_failed']} of "
                f"{row['loaded_requests']} failed); first request after idle: median {row['wake_p50_s']}s, "
                f"slowest {row['wake_max_s']}s, {row['wake_errors']} errors of {row['wake_ups']}; "
                f"{row['healthy_after_load']} healthy after")
            rows.append(row)
    return rows


def machine():
    """What the figures were measured on: CPU model and count, memory, kernel."""
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    return {"cpu": cpu.group(1).strip() if cpu else "?", "cores": len(re.findall(r"^processor", Path(
        "/proc/cpuinfo").read_text(), re.M)), "memory_gb": round(memory / 1024 ** 2, 1),
        "kernel": Path("/proc/sys/kernel/osrelease").read_text().strip()}


def run(density_counts=(10, 30, 50), say=print, host_name=benchmarks.BENCH_HOST, index=benchmarks.BENCH_INDEX,
        class_teams=class_bench.TEAMS):
    """Every serving figure on a fresh bench host: throughput, failed requests during team operations, idle
    memory at each class size, and a class of `class_teams` with the shipped settings (class_bench). Returns them as
    one dict (bench_report writes and draws it)."""
    host = testhost.start_host(host_name, index)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            inventory = benchmarks.class_inventory(tmp, host.address, 1, team_settings())
            benchmarks.timed_provision(inventory, host.root_key)
            team, host_header = inventory.teams[0], f"team1.{inventory.domain}"
            with host.connection() as root:
                demo_class.seed_team(root, team)
            load.run_load(f"http://{host.address}/", host_header, UNDER_LOAD_CONNECTIONS, 3)    # warm: 2 workers
            say(f"wrk on team1 through nginx ({LOAD_SECONDS} s each; team1: 2 processes x 2 threads, seeded):")
            figures = {"machine": machine(), "throughput": throughput(host.address, host_header, say)}
            say(f"failed requests under {UNDER_LOAD_CONNECTIONS} connections on team1's front page during:")
            figures["under_load"] = team_operations(host, inventory, Path(tmp) / "keys", say)
            say(f"memory of idle teams (idle_seconds: {IDLE_SECONDS}; PSS, all processes of each program):")
            figures["density"] = density(host, tmp, density_counts, say)
            say(f"memory of a class of {class_teams} teams with the shipped settings (PSS of every program):")
            figures["shipped_class"] = class_bench.run(host, tmp, say, class_teams)
    finally:
        testhost.stop_host(host_name)
    return figures
