"""What the programs of a bench host cost in memory (PSS, every process of each program), for `./inv bench`
(lab/serving_bench.py, lab/class_bench.py): read from ps and /proc on the host, idle or with some teams under load."""
import re
import time
from contextlib import ExitStack

from lab import load

LOADED_TEAMS, LOADED_SECONDS = 10, 8    # memory with this many teams under load, measured after this long
OWN_PROGRAMS = ("secantus", "nginx", "supervisord", "class-page")    # beside the teams' uwsgi: the database, hacknode's
MEMORY_COMMAND = ("ps -eo pid=,ppid=,user:32=,args= ; echo '--- pss'; "
                  "grep -H '^Pss:' /proc/[0-9]*/smaps_rollup 2>/dev/null || true")


def memory_by_program(text, team_names):
    """From MEMORY_COMMAND's output: {program: {"pss_kb", "processes"}} for each team (its uwsgi, by its
    UNIX user), secantus, nginx, supervisord, the class page, and "all": every process of the host."""
    listing, _, pss_text = text.partition("--- pss")
    pss = {int(m.group(1)): int(m.group(2)) for m in re.finditer(r"/proc/(\d+)/smaps_rollup:Pss:\s+(\d+)", pss_text)}
    found = {}
    for line in listing.strip().splitlines():
        pid, _ppid, user, args = line.split(None, 3)
        program = (user if user in team_names else "secantus" if "secantus" in args
                   else "nginx" if args.startswith("nginx") else "supervisord" if "supervisord" in args
                   else "class-page" if "class-page" in args else None)
        for name in (program, "all") if program else ("all",):
            entry = found.setdefault(name, {"pss_kb": 0, "processes": 0})
            entry["pss_kb"] += pss.get(int(pid), 0)
            entry["processes"] += 1
    return found


def memory_now(root, team_names):
    """{program: {"pss_kb", "processes"}} of the host's programs now (each team's uwsgi by its UNIX user)."""
    return memory_by_program(root.run(MEMORY_COMMAND, hide=True).stdout, set(team_names))


def idle_memory(root, team_names, seconds=60):
    """Memory once every team is idle (its uwsgi master alone, waited for at most `seconds`)."""
    deadline = time.monotonic() + seconds
    while True:
        found = memory_now(root, team_names)
        if all(found.get(t, {}).get("processes") == 1 for t in team_names) or time.monotonic() > deadline:
            return found
        time.sleep(1)


def total_mb(found, team_names):
    """MB of PSS of every team's uwsgi, and of all of uwsgi and OWN_PROGRAMS together."""
    uwsgi = sum(found.get(t, {}).get("pss_kb", 0) for t in team_names) / 1024
    others = sum(found.get(p, {}).get("pss_kb", 0) for p in OWN_PROGRAMS) / 1024
    return round(uwsgi, 1), round(uwsgi + others, 1)


def memory_under_load(root, address, team_names, host_headers, connections):
    """Memory while the first LOADED_TEAMS teams' front pages are under load at once (wrk, LOADED_SECONDS, all
    their `connections` together): their workers grown, the others idle."""
    loaded = host_headers[:LOADED_TEAMS]
    each = max(1, connections // len(loaded))
    with ExitStack() as stack:
        runs = [stack.enter_context(load.load_during(f"http://{address}/", h, each, LOADED_SECONDS + 10)) for h in loaded]
        time.sleep(LOADED_SECONDS)
        found = memory_now(root, team_names)
    uwsgi, total = total_mb(found, team_names)
    return {"loaded_teams": len(loaded), "loaded_uwsgi_mb": uwsgi, "loaded_total_mb": total,
            "host_mb": round(found.get("all", {}).get("pss_kb", 0) / 1024, 1),
            "loaded_requests": sum(r.result.requests for r in runs), "loaded_failed": sum(r.result.failed for r in runs)}
