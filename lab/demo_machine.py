"""The demo's side of this machine (`./inv demo`, lab/demo_class.py): the demo host's fixed name and address,
pure decisions (the inventory's team names, addresses already in use, the /etc/hosts block) and what the demo
checks or writes here (root, namespaces, packages, free addresses, team keys, the instructor's key, /etc/hosts).
"""
import ipaddress
import json
import os
import subprocess
from pathlib import Path

import yaml

from deploy.inventory import NAME_RE
from lab import localhost, testhost

HOST_NAME = "hn-demo"
HOST_INDEX = 1                  # address 10.131.1.2: the shipped inventory.yml's server
HOSTS_FILE = "/etc/hosts"
HOSTS_BEGIN = "# hacknode demo: begin (written by ./inv demo --hosts; ./inv demo --stop removes it)"
HOSTS_END = "# hacknode demo: end"


class DemoError(Exception):
    """What failed and what to do, in one message."""


# ---------- pure decisions ----------

def team_names(inventory_text):
    """The team names an inventory's text lists (those that could be team names), or [] if it is not YAML;
    the inventory loader reports any problem with it afterwards."""
    try:
        data = yaml.safe_load(inventory_text)
    except yaml.YAMLError:
        return []
    teams = data.get("teams") if isinstance(data, dict) else None
    names = [t.get("name") for t in teams or [] if isinstance(t, dict)]
    return [n for n in names if isinstance(n, str) and NAME_RE.match(n)]


def address_conflicts(interfaces, index, own_veth):
    """Interfaces of this machine (from `ip -j addr`) holding an address in the demo's 10.131.<index>.0/30,
    other than the demo host's own veth: "name address" each."""
    network = ipaddress.ip_network(f"10.131.{index}.0/30")
    found = []
    for interface in interfaces:
        for address in interface.get("addr_info", []):
            if address.get("family") != "inet" or interface.get("ifname") == own_veth:
                continue
            if ipaddress.ip_interface(f"{address['local']}/{address['prefixlen']}").network.overlaps(network):
                found.append(f"{interface['ifname']} {address['local']}/{address['prefixlen']}")
    return found


def hosts_block(address, hostnames):
    """The lines `--hosts` adds to /etc/hosts, between markers."""
    return "\n".join([HOSTS_BEGIN, *(f"{address}\t{name}" for name in hostnames), HOSTS_END]) + "\n"


def hosts_without_block(text):
    """`text` (an /etc/hosts) without the demo's block."""
    lines, inside = [], False
    for line in text.splitlines(keepends=True):
        if line.rstrip("\n") == HOSTS_BEGIN:
            inside = True
        elif inside and line.rstrip("\n") == HOSTS_END:
            inside = False
        elif not inside:
            lines.append(line)
    return "".join(lines)


def hosts_with_block(text, block):
    """`text` with the demo's block in place of any earlier one, at the end."""
    rest = hosts_without_block(text)
    if rest and not rest.endswith("\n"):
        rest += "\n"
    return rest + block


# ---------- this machine ----------

def check_root_and_namespaces():
    """Root, and the namespaces and cgroups systemd-nspawn needs (unshare is in every Debian)."""
    try:
        localhost.require_root("the demo starts an isolated class server (systemd-nspawn, network namespace)")
    except localhost.LocalError as e:
        raise DemoError(f"{e}; nothing was changed")
    unshare = subprocess.run(["unshare", "--mount", "--net", "--pid", "--uts", "--ipc", "--fork", "true"],
                             capture_output=True, text=True)
    if unshare.returncode != 0:
        raise DemoError("systemd-nspawn cannot run here: this machine does not let root make namespaces "
                        f"({unshare.stderr.strip()}); run the demo in a VM or on a machine of your own, or in a "
                        "container started with --privileged; nothing was changed")
    if not Path("/sys/fs/cgroup").is_dir():
        raise DemoError("systemd-nspawn cannot run here: /sys/fs/cgroup is missing (no cgroups); "
                        "run the demo in a VM or on a machine of your own; nothing was changed")


def check_addresses_free(name, index, state_dir=None):
    """The demo's 10.131.<index>.0/30 and host name used by nothing but the demo's host."""
    running = testhost.running_hosts(state_dir)
    ours = any(h.name == name for h in running)
    listing = subprocess.run(["ip", "-j", "addr"], capture_output=True, text=True, check=True).stdout
    taken = address_conflicts(json.loads(listing), index, f"hnv{index}" if ours else None)
    for other in running:
        if other.index == index and other.name != name:
            raise DemoError(f"host {other.name} already runs at {other.address}, the demo's address; stop it "
                            f"(./inv hosts --stop {other.name}) and run ./inv demo again; nothing was changed")
    if taken:
        raise DemoError(f"the demo's addresses 10.131.{index}.0/30 are in use on this machine ({', '.join(taken)}); "
                        "stop what uses them (./inv hosts lists hacknode's hosts) and run ./inv demo again; "
                        "nothing was changed")
    if Path("/run/netns", name).exists() and not (Path(state_dir or testhost.STATE_DIR) / name).exists():
        raise DemoError(f"a network namespace named {name} exists that the demo did not make; remove it "
                        f"(ip netns del {name}) if it is unused; nothing was changed")


def ensure_host_packages():
    """Install the Debian packages the class server runs; returns those installed."""
    try:
        return localhost.ensure_packages(localhost.HOST_PACKAGES)
    except localhost.LocalError as e:
        raise DemoError(f"{e}\nfix the package source (apt-get update) and run ./inv demo again")


def checkout_owner(repo):
    """(uid, gid) of the checkout: files the demo writes in it are theirs, so `fab` works without root too."""
    info = os.stat(repo)
    return info.st_uid, info.st_gid


def ensure_team_keys(inventory_path, keys_dir, owner):
    """An SSH key pair keys_dir/<team> (ed25519, no passphrase) for each team the inventory lists that has
    none; returns the teams given a key."""
    made = []
    for team in team_names(Path(inventory_path).read_text()):
        private, public = Path(keys_dir) / team, Path(keys_dir) / f"{team}.pub"
        if private.is_file() and public.is_file():
            continue
        private.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        for stale in (private, public):
            stale.unlink(missing_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{team} (hacknode demo)",
                        "-f", str(private)], check=True, capture_output=True)
        for path in (private.parent, private, public):
            os.chown(path, *owner)
        made.append(team)
    return made


def install_admin_key(host, admin_key, owner):
    """Copy the host's root key to .hacknode/admin_key (where fabfile.admin_key looks); True if it changed."""
    admin_key = Path(admin_key)
    key = Path(host.root_key).read_bytes()
    if admin_key.is_file() and admin_key.read_bytes() == key:
        return False
    admin_key.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    admin_key.unlink(missing_ok=True)
    fd = os.open(admin_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    os.chown(admin_key, *owner)
    return True


def rewrite_hosts(hosts_file, change):
    """Apply `change` (text -> text) to the hosts file in place (it may be a bind mount); True if it changed."""
    path = Path(hosts_file)
    if not path.is_file():
        return False
    text = path.read_text()
    new = change(text)
    if new == text:
        return False
    with open(path, "r+") as f:
        f.write(new)
        f.truncate()
    return True
