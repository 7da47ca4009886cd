"""What a night's backups cost: a class of 30 teams (each database holding ARTICLES articles) on an isolated host, one
round of the nightly program as its supervisor program runs it (nice 19, ionice idle: every team dumped, each dump
restored into a scratch and compared), timed, while wrk loads one team's front page; the front page's rate and
latency then compared with the same load without a backup. Printed, never asserted:
    .venv/bin/python -m lab.backup_bench [HOST_NAME INDEX]       (as root; default hn-bk7 at index 69, in slot 7's range)
"""
import re
import shlex
import sys
import tempfile
import time

from deploy.core import layout
from deploy.core.errors import DeployError
from lab import benchmarks, demo_class, load, testhost

TEAMS, ARTICLES = 30, 2000
CONNECTIONS, SECONDS = 10, 20
# the bench's bulk data, put in by root with the admin URI read on the server from root's file (never an argument)
FILL = """
import os, sys, datetime, pymongo
client = pymongo.MongoClient(open(sys.argv[1]).read().strip())
for team in sys.argv[3:]:
    articles = client[team].articles
    if articles.estimated_document_count() < int(sys.argv[2]):
        now = datetime.datetime.now(datetime.timezone.utc)
        articles.insert_many([{"title": f"Article {n} of {team}, a title of some length", "score": n % 50,
                               "link": f"https://example.org/{team}/{n}", "date": now} for n in range(int(sys.argv[2]))])
"""


def fill(root, teams):
    root.run(" ".join([f"{layout.TOOLS_VENV}/bin/python", "-c", shlex.quote(FILL), layout.MONGO_ADMIN_FILE,
                       str(ARTICLES), *teams]), hide=True)


def nightly_round(root):
    """(seconds of the round as the program says, total bytes of the dumps, verified teams)."""
    out = root.run(f"/usr/bin/nice -n 19 /usr/bin/ionice -c 3 {layout.TOOLS_VENV}/bin/python {layout.NIGHTLY_TOOL} once "
                   f"--keep 7 --dir {layout.NIGHTLY_DIR} --teams {layout.TEAMS_DIR} --admin-file {layout.MONGO_ADMIN_FILE}",
                   hide=True).stdout
    seconds = float(re.search(r"round done in ([0-9.]+)s", out).group(1))
    sizes = [int(n) for n in re.findall(r"\((\d+) bytes\): verified", out)]
    return seconds, sum(sizes), len(sizes)


def run(host_name="hn-bk7", index=69, say=print):
    host = testhost.start_host(host_name, index)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            inventory = benchmarks.class_inventory(tmp, host.address, TEAMS)      # scale_bench's teams
            try:
                benchmarks.timed_provision(inventory, host.root_key)
            except DeployError as error:    # 30 first starts on a busy machine: a slow one is checked again
                say(f"provisioning again after: {str(error)[:200]}")
                benchmarks.timed_provision(inventory, host.root_key)
            say(f"{TEAMS} teams provisioned; load average {open('/proc/loadavg').read().split()[0]}")
            url, host_header = f"http://{host.address}/", f"team1.{inventory.domain}"
            with host.connection() as root:
                demo_class.seed_team(root, inventory.teams[0])
                fill(root, [t.name for t in inventory.teams])
                load.run_load(url, host_header, CONNECTIONS, 3)        # warm: team1's workers started
                quiet = load.run_load(url, host_header, CONNECTIONS, SECONDS)
                started = time.monotonic()
                with load.load_during(url, host_header, CONNECTIONS, max_seconds=120) as running:
                    seconds, total, verified = nightly_round(root)
                wall = time.monotonic() - started
            busy = running.result
            say(f"load average {open('/proc/loadavg').read().split()[0]}; nightly round, {TEAMS} teams of {ARTICLES} articles: {seconds:.1f} s ({wall:.1f} s with ssh), "
                f"{verified} dumps verified, {total / 1e6:.1f} MB of dumps")
            for what, r in (("front page, no backup", quiet), ("front page, during it", busy)):
                say(f"  {what:<22} {r.rate:7.0f} req/s  p50 {r.p50_ms:6.1f} ms  p99 {r.p99_ms:6.1f} ms  "
                    f"failed {r.failed} of {r.requests}")
            say(f"  the backup slows team1's front page by {100 * (1 - busy.rate / quiet.rate):.0f}% in rate, "
                f"p50 x{busy.p50_ms / quiet.p50_ms:.2f}")
    finally:
        testhost.stop_host(host_name)


if __name__ == "__main__":
    run(*(sys.argv[1:2] + [int(a) for a in sys.argv[2:3]]))
