"""Benchmarks that print figures (never asserted): what provisioning costs as a class grows."""
import subprocess
import tempfile
import time
from pathlib import Path

from deploy.inventory import load_inventory
from deploy.provision.run import provision_class
from lab import testhost

BENCH_HOST, BENCH_INDEX = "hn-bench", 99


def class_inventory(directory, addresses, team_count, settings=("processes: 1", "threads: 2"), name=None):
    """An inventory of teams team1..team<team_count> with `settings`, on servers at `addresses` (a str: one
    server, "main", that every team names; several: s0, s1, ... and the teams name none: hacknode places them)."""
    keys = Path(directory) / "keys"
    keys.mkdir(exist_ok=True)
    several = not isinstance(addresses, str)
    servers = {f"s{n}": a for n, a in enumerate(addresses)} if several else {"main": addresses}
    lines = ["class: {name: bench, domain: hacknode.test}", "mongodb: {mode: secantus}", "servers:"]
    lines += [f"  - {{name: {server}, address: {address}}}" for server, address in servers.items()]
    lines.append("teams:")
    for n in range(1, team_count + 1):
        key = keys / f"team{n}"
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        lines += [f"  - name: team{n}", f"    keys: [keys/team{n}.pub]"] + [f"    {line}" for line in settings]
    path = Path(directory) / f"{name or f'bench-{team_count}'}.yml"
    path.write_text("\n".join(lines) + "\n")
    return load_inventory(str(path))


def timed_provision(inventory, key):
    """(seconds, SSH round trips, steps changed) of one `fab provision` of `inventory`."""
    started = time.monotonic()
    result = provision_class(inventory, key, say=lambda line: None)
    return time.monotonic() - started, result.round_trips, sum(s.changed for steps in result.values() for s in steps)


def run(team_counts=(1, 3, 6), say=print):
    """Provision classes of growing size on one bench host; print round trips and times (the sites' figures
    under load: lab/serving_bench.py)."""
    host = testhost.start_host(BENCH_HOST, BENCH_INDEX)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            say(f"{'teams':>5}  {'adding them':>11}  {'trips':>5}  {'run again':>10}  {'trips':>5}")
            for n in team_counts:
                first, first_trips, _ = timed_provision(class_inventory(tmp, host.address, n), host.root_key)
                again, again_trips, changed = timed_provision(class_inventory(tmp, host.address, n), host.root_key)
                say(f"{n:>5}  {first:>10.1f}s  {first_trips:>5}  {again:>9.2f}s  {again_trips:>5}"
                    + (f"  ({changed} steps changed on the second run!)" if changed else ""))
    finally:
        testhost.stop_host(BENCH_HOST)
