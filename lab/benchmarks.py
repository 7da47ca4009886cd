"""Benchmarks that print figures (never asserted): what provisioning costs as a class grows, and how
fast a provisioned team's site answers through nginx."""
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from deploy.inventory import load_inventory
from deploy.provisioning import provision_class
from lab import testhost

BENCH_HOST, BENCH_INDEX = "hn-bench", 99


def class_inventory(directory, address, team_count):
    keys = Path(directory) / "keys"
    keys.mkdir(exist_ok=True)
    lines = ["class: {name: bench, domain: hacknode.test}", "servers:", f"  - {{name: main, address: {address}}}",
             "teams:"]
    for n in range(1, team_count + 1):
        key = keys / f"team{n}"
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        lines += [f"  - name: team{n}", f"    keys: [keys/team{n}.pub]", "    processes: 1", "    threads: 2"]
    path = Path(directory) / f"bench-{team_count}.yml"
    path.write_text("\n".join(lines) + "\n")
    return load_inventory(str(path))


def timed_provision(inventory, key):
    started = time.monotonic()
    result = provision_class(inventory, key, say=lambda line: None)
    return time.monotonic() - started, result.round_trips, sum(s.changed for s in result["main"])


def requests_per_second(url, host_header, seconds=5.0, threads=4):
    """Requests answered per second by `url`, from `threads` clients for `seconds` (bounded, loopback-only
    use: the bench host's address is in its own network namespace on this machine)."""
    count, errors, stop = [0], [0], time.monotonic() + seconds
    lock = threading.Lock()

    def client():
        while time.monotonic() < stop:
            request = urllib.request.Request(url, headers={"Host": host_header})
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    response.read()
                ok = response.status == 200
            except OSError:
                ok = False
            with lock:
                count[0] += ok
                errors[0] += not ok

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return count[0] / seconds, errors[0]


def run(team_counts=(1, 3, 6), say=print):
    """Provision classes of growing size on one bench host; print round trips and times, then the
    front page's throughput through nginx."""
    host = testhost.start_host(BENCH_HOST, BENCH_INDEX)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            say(f"{'teams':>5}  {'adding them':>11}  {'trips':>5}  {'run again':>10}  {'trips':>5}")
            for n in team_counts:
                first, first_trips, _ = timed_provision(class_inventory(tmp, host.address, n), host.root_key)
                again, again_trips, changed = timed_provision(class_inventory(tmp, host.address, n), host.root_key)
                say(f"{n:>5}  {first:>10.1f}s  {first_trips:>5}  {again:>9.2f}s  {again_trips:>5}"
                    + (f"  ({changed} steps changed on the second run!)" if changed else ""))
            for path in ("/healthz", "/"):
                rate, errors = requests_per_second(f"http://{host.address}{path}", "team1.hacknode.test")
                say(f"team1 {path:<9} through nginx: {rate:7.0f} requests/s (4 clients, 5 s, 1 uwsgi process"
                    f" x 2 threads){f', {errors} errors' if errors else ''}")
    finally:
        testhost.stop_host(BENCH_HOST)
