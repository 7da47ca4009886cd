"""`./inv bench`'s class of a hundred teams with the shipped inventory's settings (no team setting given: idle_seconds,
processes, threads and the class page's page_seconds are the defaults a class gets) on one bench host: the memory of
the whole host once every team is idle, and with LOADED_TEAMS of them under load. Idle means what an instructor
sees: after the provision's own health checks, nobody visits, and the class page keeps running. Printed and
returned, never asserted (goal: under 1 GB for 100 idle teams, hacknode's programs and the database included)."""
import time

from deploy.inventory.model import Inventory
from deploy.core.errors import ProvisionError
from lab import benchmarks
from lab.memory import OWN_PROGRAMS, idle_memory, memory_under_load, total_mb

TEAMS = 100
CONNECTIONS = 50            # the loaded teams' connections together (serving_bench.UNDER_LOAD_CONNECTIONS)
GOAL_MB = 1024
PAGE_SECONDS = Inventory.__dataclass_fields__["page_seconds"].default


def run(host, directory, say, teams=TEAMS):
    """Provision `teams` teams (shipped settings) on `host`, wait until each team's uwsgi is its master alone (at most
    idle_seconds plus two class-page periods and a minute), then measure. A dict of the figures."""
    inventory = benchmarks.class_inventory(directory, host.address, teams, settings=(), name=f"shipped-{teams}")
    idle_seconds = inventory.teams[0].idle_seconds
    started = time.monotonic()
    try:
        benchmarks.timed_provision(inventory, host.root_key)
        problem = ""
    except ProvisionError as error:     # a figure too (every team is made before the sites' check): measured anyway
        problem = str(error).splitlines()[0][:300]
        say(f"  provisioning {teams} teams: {problem}")
    provision_s = time.monotonic() - started
    names = [t.name for t in inventory.teams]
    with host.connection() as root:
        started = time.monotonic()
        found = idle_memory(root, names, idle_seconds + 2 * PAGE_SECONDS + 60)
        idle_after_s = round(time.monotonic() - started)
        asleep = sum(found.get(t, {}).get("processes") == 1 for t in names)
        uwsgi, total = total_mb(found, names)
        row = {"teams": teams, "idle_seconds": idle_seconds, "page_seconds": PAGE_SECONDS,
               "provision_s": round(provision_s, 1), "provision_problem": problem, "asleep": asleep,
               "idle_after_s": idle_after_s, "uwsgi_mb": uwsgi, "total_mb": total,
               "host_mb": round(found.get("all", {}).get("pss_kb", 0) / 1024, 1),
               **{f"{p}_mb": round(found.get(p, {}).get("pss_kb", 0) / 1024, 1) for p in OWN_PROGRAMS}}
        loaded = memory_under_load(root, host.address, names, [f"{t}.{inventory.domain}" for t in names], CONNECTIONS)
        row.update(loaded, loaded_host_mb=loaded.pop("host_mb"))
    say(f"  {teams} teams, shipped settings (idle_seconds {idle_seconds}, page_seconds {PAGE_SECONDS}): {asleep} "
        f"asleep {idle_after_s} s after provisioning; all idle {row['total_mb']} MB (uwsgi {uwsgi} MB, the whole host "
        f"{row['host_mb']} MB; goal {GOAL_MB} MB); {row['loaded_teams']} under load {row['loaded_total_mb']} MB "
        f"(the whole host {row['loaded_host_mb']} MB; {row['loaded_failed']} of {row['loaded_requests']} failed)")
    return row
