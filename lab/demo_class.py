"""`./inv demo`: the shipped inventory.yml's class on this machine, on one isolated host (lab/testhost.py).

Steps, each reporting `ok` (already so) or `changed`: this machine (root, namespaces, the demo's addresses
free), Debian packages, one SSH key per team (.hacknode/keys/<team>), the class server hn-demo at
10.131.1.2, the instructor's key (.hacknode/admin_key: the host's root key, so `fab provision/status` work
from this checkout), provisioning (which also deploys each team's first release), a few articles in each
team's database, then every team's site checked from this machine on its own origin (and by path where the
inventory chooses path routing).
Teams' keys are where deploy/team/choice.py looks, so `fab deploy --team NAME` deploys to the local class.
`./inv demo --stop` stops the host and removes what the demo put outside .hacknode/keys.
What the demo checks and writes on this machine, and its pure decisions, are in lab/demo_machine.py.
"""
import os
import re
import time
from pathlib import Path

import paramiko

from deploy.core import commands, health, runner
from deploy.core.errors import DeployError
from deploy.core.layout import TeamPaths
from deploy.inventory import InventoryError, load_inventory
from deploy.inventory.model import team_host
from deploy.provision.run import provision_class
from deploy.tls.material import trusted_ca
from lab import hostparts, localhost, serverroots, testhost
from lab.demo_machine import (HOST_INDEX, HOST_NAME, HOSTS_FILE, DemoError, check_addresses_free,
                              check_root_and_namespaces, checkout_owner, ensure_host_packages, ensure_team_keys,
                              hosts_block, hosts_with_block, hosts_without_block, install_admin_key, rewrite_hosts,
                              team_names)

TARGETS = "target: first run < 5 min, second run < 30 s"
FAB = ".venv/bin/fab"     # runs as printed from the checkout in a new shell, where fab is not on the PATH


class Progress:
    """Numbered step lines with their outcome and time; counts the steps that changed something."""

    def __init__(self, total, say):
        self.total, self.say, self.number, self.changes = total, say, 0, []
        self.started = time.monotonic()

    def begin(self, what):
        self.number += 1
        self.say(f"demo [{self.number}/{self.total}] {what} ...")
        return time.monotonic()

    def end(self, what, changed, detail, began):
        if changed:
            self.changes.append(what)
        status = "changed" if changed else "ok"
        self.say(f"demo [{self.number}/{self.total}] {what}: {status}"
                 + (f" ({detail})" if detail else "") + f"  {time.monotonic() - began:.1f}s")


def shown_ca(inventory):
    """The class CA's file as the demo prints it (relative to the inventory's folder, the checkout), or None."""
    ca = trusted_ca(inventory)
    return ca and os.path.relpath(ca, os.path.dirname(os.path.abspath(inventory.path)))


def team_lines(inventory, server, team):
    """What the demo prints for a team: its URLs from this machine, a curl that reaches its subdomain without any DNS
    (--resolve: the name goes to the server's address, for the Host header and TLS's SNI alike), and the command
    that deploys as it."""
    by_name = team_host(team.name, inventory.domain)
    scheme = inventory.tls.scheme
    ca = shown_ca(inventory)
    port = 443 if inventory.tls.on else 80
    curl = f"curl {f'--cacert {ca} ' if ca else ''}--resolve {by_name}:{port}:{server.address} {scheme}://{by_name}/"
    return [
        f"{team.name}:",
        f"  by subdomain  {scheme}://{by_name}/   (from this machine: {curl} ; in a browser: ./inv demo --hosts)",
        *([f"  by path       {scheme}://{server.address}/{team.name}/   (routing: path, one origin for all teams)"]
          if inventory.shared_origin else []),
        f"  deploy        {FAB} deploy --team {team.name}   (key .hacknode/keys/{team.name})",
    ]


def demo_inventory(inventory_path, address):
    inventory_path = str(inventory_path)
    try:
        inventory = load_inventory(inventory_path)
    except InventoryError as e:
        raise DemoError(f"{e}\nfix {inventory_path} and run ./inv demo again")
    if len(inventory.servers) != 1 or inventory.servers[0].address != address:
        raise DemoError(f"{inventory_path}: the demo runs a class of one server at {address}; this inventory has "
                        + ", ".join(f"{s.name} at {s.address}" for s in inventory.servers)
                        + " (the shipped inventory.yml is the demo's: git checkout inventory.yml)")
    return inventory


def start_class_host(name, index, state_dir=None, server_os=serverroots.DEFAULT_OS, say=print):
    """(host, started): the running demo host as it is (on `server_os`), or a new one."""
    before = [h.root_key for h in testhost.running_hosts(state_dir) if h.name == name]
    key_before = Path(before[0]).read_bytes() if before else None
    try:
        serverroots.ensure_root(server_os, say=lambda line: say(f"  {line}"))   # once per machine, and says so
        host = testhost.start_host(name, index, state_dir, server_os=server_os)
    except serverroots.RootError as e:
        raise DemoError(f"{e}\nnothing of the demo was started; run ./inv demo again once fixed")
    except testhost.HostError as e:
        raise DemoError(f"the class server {name} did not start: {e}\nsystemd-nspawn needs root on a VM or a "
                        "machine of your own (not an unprivileged container); nothing is left of it")
    started = Path(host.root_key).read_bytes() != key_before   # a remade host has a new root key
    return host, started


def seed_team(c, team):
    """Add the app's sample articles to the team's database, as the team's user with its settings;
    returns how many were added (0 when they were all there)."""
    seed = commands.with_settings(TeamPaths(team.name), f"seeding {team.name}'s database",
                                  "rapid-env/bin/flask", "--app", "app", "seed")
    result = runner.run(c, commands.as_team_user(team.name, seed))
    match = re.search(r"seed: (\d+) articles added", result.stdout)
    if not match:
        raise DemoError(f"seeding {team.name}'s database said no count: {runner.tail(result.stdout)}")
    return int(match.group(1))


def check_team_site(address, team, inventory):
    """/healthz by subdomain (and by path with path routing) from this machine (over HTTPS with TLS on, the certificate
    checked against the class CA as a learner's browser trusting it would); DemoError unless each is healthy."""
    by_name = team_host(team.name, inventory.domain)
    scheme = inventory.tls.scheme
    by_path = [(f"{scheme}://{address}/{team.name}", None)] if inventory.shared_origin else []
    for url, header in [(f"{scheme}://{address}", by_name)] + by_path:
        answer = health.probe(url, header, cafile=trusted_ca(inventory))
        if not answer.ok:
            via = f" (Host: {header})" if header else ""
            raise DemoError(f"{team.name}'s site does not answer from this machine: GET {url}/healthz{via} -> "
                            f"{answer.code or 'no answer'}: {answer.body.strip()[:300]}")


# ---------- the whole demo ----------

def run_demo(repo, inventory_path="inventory.yml", write_hosts=False, hosts_file=HOSTS_FILE, say=print,
             name=HOST_NAME, index=HOST_INDEX, state_dir=None, server_os=serverroots.DEFAULT_OS):
    """Bring the demo class up (or check that it is up) on a class server of `server_os` (debian12, this machine's,
    or debian13); prints every step and, per team, its URLs and deploy command. On failure after starting the host,
    stops it again unless it was running before."""
    repo = Path(repo)
    config = repo / ".hacknode"
    admin_key = config / "admin_key"
    teams = team_names((repo / inventory_path).read_text()) if (repo / inventory_path).is_file() else []
    progress = Progress(8 + len(teams) + bool(write_hosts), say)
    address = f"10.131.{index}.2"

    began = progress.begin("this machine: root, namespaces for systemd-nspawn")
    check_root_and_namespaces()
    progress.end("this machine", False, "", began)

    began = progress.begin("Debian packages the class server runs")
    installed = ensure_host_packages()
    progress.end("Debian packages", bool(installed), "installed " + " ".join(installed) if installed else "", began)

    began = progress.begin(f"the demo's addresses 10.131.{index}.0/30 and host name {name} free")
    check_addresses_free(name, index, state_dir)
    progress.end("addresses", False, "", began)

    owner = checkout_owner(repo)
    began = progress.begin(f"one SSH key per team of {inventory_path} in .hacknode/keys")
    made = ensure_team_keys(repo / inventory_path, config / "keys", owner)
    progress.end("team keys", bool(made), "made " + " ".join(made) if made else "", began)
    inventory = demo_inventory(repo / inventory_path, address)
    server = inventory.servers[0]

    began = progress.begin(f"class server {server.name}: host {name} at {address}")
    host, started = start_class_host(name, index, state_dir, server_os, say)
    on = "" if server_os == serverroots.DEFAULT_OS else f" on {server_os}"
    progress.end(f"class server {server.name}", started, f"started {name}{on}" if started else "", began)
    try:
        finish_demo(host, inventory, server, admin_key, owner, write_hosts, hosts_file, progress, say)
    except BaseException as e:
        if started:
            say(f"demo: stopping {name} again (it was started by this run)")
            testhost.stop_host(name, state_dir)
            admin_key.unlink(missing_ok=True)
            hostparts.forget_host_key(address)
        if isinstance(e, (DeployError, paramiko.SSHException, OSError)):
            raise DemoError(f"{e}\n"
                            + ("nothing of the demo is left running" if started else f"{name} is left as it was")
                            + "; fix the cause above and run ./inv demo again") from e
        if isinstance(e, DemoError) and started:
            raise DemoError(f"{e}\nnothing of the demo is left running; run ./inv demo again once fixed") from e
        raise
    say_summary(inventory, server, write_hosts, hosts_file, progress, say)
    return progress.changes


def say_summary(inventory, server, write_hosts, hosts_file, progress, say):
    """What the demo prints once the class is up: each team's URLs and deploy command, then what to do next."""
    total = time.monotonic() - progress.started
    say("")
    for team in inventory.teams:
        for line in team_lines(inventory, server, team):
            say(line)
    say("")
    if shown_ca(inventory):
        say(f"HTTPS: the sites' certificate is from the class CA {shown_ca(inventory)}: trust it in your browser "
            "(README: Trusting the class CA)")
    say(f"instructor: {FAB} status (the key is .hacknode/admin_key); {FAB} provision --dry")
    say(f"a team: {FAB} use_team --team {inventory.teams[0].name}, then {FAB} deploy; ssh: {FAB} ssh_config --team "
        f"{inventory.teams[0].name}")
    say(f"fab is {FAB}, made by ./inv: '. .venv/bin/activate' puts it on your PATH as plain fab")
    if not write_hosts:
        say(f"names: ./inv demo --hosts adds {', '.join(team_host(t.name, inventory.domain) for t in inventory.teams)} "
            f"to {hosts_file}")
    say("stop it all: ./inv demo --stop")
    say(f"demo: {'nothing to change' if not progress.changes else 'changed: ' + ', '.join(progress.changes)}; "
        f"total {total:.1f}s ({TARGETS})")


def finish_demo(host, inventory, server, admin_key, owner, write_hosts, hosts_file, progress, say):
    began = progress.begin("instructor's key .hacknode/admin_key (the host's root key)")
    progress.end("instructor's key", install_admin_key(host, admin_key, owner), "", began)

    began = progress.begin(f"provision {inventory.path}: {server.name}, teams "
                           f"{' '.join(t.name for t in inventory.teams)} (each gets the app as its first release)")
    steps = provision_class(inventory, str(admin_key), say=lambda line: say(f"  {line}"))
    progress.end("provision", any(s.changed for s in steps[server.name]), "", began)

    with host.connection() as c:
        for team in inventory.teams:
            began = progress.begin(f"seed {team.name}'s database with sample articles")
            added = seed_team(c, team)
            progress.end(f"seed {team.name}", added > 0, f"{added} articles added" if added else "already there", began)

    began = progress.begin("every team's /healthz from this machine, on its own origin")
    for team in inventory.teams:
        check_team_site(server.address, team, inventory)
    progress.end("sites", False, f"{len(inventory.teams)} teams answer", began)

    if write_hosts:
        names = [team_host(t.name, inventory.domain) for t in inventory.teams]
        began = progress.begin(f"{hosts_file}: {' '.join(names)} -> {server.address}")
        changed = rewrite_hosts(hosts_file, lambda text: hosts_with_block(text, hosts_block(server.address, names)))
        for team in inventory.teams:   # now by name, as a browser would
            url = f"{inventory.tls.scheme}://{team_host(team.name, inventory.domain)}"
            answer = health.probe(url, cafile=trusted_ca(inventory))
            if not answer.ok:
                raise DemoError(f"{url}/healthz -> "
                                f"{answer.code or 'no answer'}: {answer.body[:200]} "
                                f"(is {hosts_file} used for names on this machine?)")
        progress.end(hosts_file, changed, "", began)


def stop_demo(repo, hosts_file=HOSTS_FILE, say=print, name=HOST_NAME, index=HOST_INDEX, state_dir=None):
    """Stop the demo's host and remove what the demo added outside .hacknode/keys: the hosts block, the
    instructor's key, the host's known_hosts entry. Packages installed stay."""
    try:
        localhost.require_root("stopping the demo's isolated host")
    except localhost.LocalError as e:
        raise DemoError(str(e))
    was_running = any(h.name == name for h in testhost.running_hosts(state_dir))
    try:
        testhost.stop_host(name, state_dir)
    except testhost.HostError as e:
        raise DemoError(f"{e}\nretry ./inv demo --stop; if it persists, see `mount | grep {name}`")
    say(f"demo: host {name}: " + ("stopped, its mounts, network namespace and files removed" if was_running
                                   else "not running (nothing of it left)"))
    if rewrite_hosts(hosts_file, hosts_without_block):
        say(f"demo: {hosts_file}: removed the demo's block")
    admin_key = Path(repo) / ".hacknode" / "admin_key"
    if admin_key.exists():
        admin_key.unlink()
        say("demo: removed .hacknode/admin_key")
    if hostparts.forget_host_key(f"10.131.{index}.2"):
        say(f"demo: removed 10.131.{index}.2 from ~/.ssh/known_hosts")
    say("demo: stopped. Kept: Debian packages installed by the demo, the teams' keys in .hacknode/keys "
        "(inventory.yml names them), the class CA in .hacknode/class-ca, the wheel cache in .cache")
