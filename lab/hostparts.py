"""The parts of an isolated test host (lab/testhost.py) that root makes on this machine and removes again.

Its network: a network namespace <name>, joined to this machine by a veth pair hnv<index> <-> eth0: this
machine is 10.131.<index>.1, the host 10.131.<index>.2 (a /30, no default route, so a host reaches nothing
but this machine, and the hosts it was linked to: link_hosts).
Its root filesystem, in the host's state directory <state>: a copy-on-write overlay <state>/root whose lower
layer is / (so the programs installed here, see lab/localhost.HOST_PACKAGES, are the hosts' programs), or another
server OS's root (lab/serverroots.py), and whose upper layer is <state>/upper; made a machine of its own
through the overlay: machine-id, hostname, a stock root home, a root SSH key <state>/key, and host keys that
belong to its address (kept beside the hosts' state directories, in ../host-keys/<index>, so known_hosts entries
stay right across restarts).
"""
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path


class HostError(Exception):
    """A test host that cannot start or stop; the message says why (with the log tail when there is one)."""


def run(*command):
    """Run one of this machine's commands (ip, mount, ssh-keygen); HostError with its stderr when it fails."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise HostError(f"{' '.join(command)}: {done.stderr.strip()}")
    return done.stdout


# ---------- network ----------

def host_address(index):
    """The host's address."""
    return f"10.131.{index}.2"


def gateway_address(index):
    """This machine's address as seen from the host."""
    return f"10.131.{index}.1"


def veth_name(index):
    """This machine's end of the host's veth pair."""
    return f"hnv{index}"


def netns_exists(name):
    return Path("/run/netns", name).exists()


def make_network(name, index):
    """The host's network namespace, joined to this machine by its veth pair, both ends up and addressed."""
    run("ip", "netns", "add", name)
    veth = veth_name(index)
    _delete_veth(veth)   # left by a host that died without stop_host, or still going away after one stopped
    run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name)
    run("ip", "addr", "add", f"{gateway_address(index)}/30", "dev", veth)
    run("ip", "link", "set", veth, "up")
    run("ip", "-n", name, "addr", "add", f"{host_address(index)}/30", "dev", "eth0")
    run("ip", "-n", name, "link", "set", "eth0", "up")
    run("ip", "-n", name, "link", "set", "lo", "up")


def link_hosts(one, other):
    """A route between two hosts (each (name, index)) through this machine: each host's netns gets a route to the
    other's address via its own gateway, and this machine forwards between their two veths alone (per-interface
    forwarding: net.ipv4.ip_forward stays as it is, no other host is reached). Gone with the veths."""
    for (name, index), (_, other_index) in ((one, other), (other, one)):
        run("sysctl", "-q", "-w", f"net.ipv4.conf.{veth_name(index)}.forwarding=1")
        run("ip", "-n", name, "route", "replace", f"{host_address(other_index)}/32", "via", gateway_address(index))


def remove_network(name, index=None):
    """The host's network namespace and (when its index is known) its veth pair, if they are there."""
    if netns_exists(name):
        run("ip", "netns", "del", name)
    if index is not None:
        _delete_veth(veth_name(index))


def _delete_veth(veth):
    """Delete this machine's end of a veth pair (and so the pair) and wait until it is gone.
    Deleting a netns deletes its veth pairs too, but not at once."""
    deadline = time.monotonic() + 5
    while Path("/sys/class/net", veth).exists():
        gone = subprocess.run(["ip", "link", "del", veth], capture_output=True, text=True)
        if gone.returncode != 0 and time.monotonic() > deadline:
            raise HostError(f"ip link del {veth}: {gone.stderr.strip()}")
        time.sleep(0.05)


# ---------- root filesystem ----------

def make_root(state, name, index, lower="/"):
    """Mount the host's overlay over the root filesystem `lower` at <state>/root and make it the machine `name` at
    host_address(index)."""
    for d in ("upper", "work", "root"):
        (state / d).mkdir(parents=True, exist_ok=True)
    _fresh_root_home(state / "upper/root", Path(lower))
    run("mount", "-t", "overlay", "overlay",
        "-o", f"lowerdir={lower},upperdir={state}/upper,workdir={state}/work", str(state / "root"))
    _prepare_root(state / "root", name, state, _host_keys(index, state.parent))
    _distinct_uids(state / "root", index)


def _distinct_uids(root, index):
    """The host's users and groups from a range of its own (UID_MIN 2000 + 100 * index): every container shares this
    machine's user namespace, where RLIMIT_NPROC counts a uid's processes across all of them, so a team forking to its
    limit on one host left the team of the same uid on another none (fork(): Resource temporarily unavailable)."""
    defs = root / "etc/login.defs"
    text = defs.read_text()
    for key in ("UID_MIN", "GID_MIN"):
        text = re.sub(rf"(?m)^{key}\s+\d+$", f"{key}\t\t\t{2000 + 100 * index}", text)
    defs.write_text(text)


def unmount(state):
    """Unmount everything at or under `state`; returns what is still mounted there (nothing, normally)."""
    for target in _mounts_under(state):
        if subprocess.run(["umount", target], capture_output=True).returncode != 0:
            subprocess.run(["umount", "--lazy", target], capture_output=True)
    return _mounts_under(state)


def _mounts_under(path):
    """Mount points at or under `path`, deepest first."""
    prefix = str(path)
    targets = []
    for line in Path("/proc/mounts").read_text().splitlines():
        target = line.split()[1].replace("\\040", " ")
        if target == prefix or target.startswith(prefix + "/"):
            targets.append(target)
    return sorted(targets, key=len, reverse=True)


def _fresh_root_home(upper_home, lower):
    """Give the host's root a stock Debian home instead of the lower root's /root (this machine's tools, settings
    and credentials): an opaque directory in the upper layer hides the lower one; dot files from base-files."""
    upper_home.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.setxattr(upper_home, "trusted.overlay.opaque", b"y")
    for name in ("profile", "bashrc"):
        shutil.copyfile(lower / f"usr/share/base-files/dot.{name}", upper_home / f".{name}")


def _host_keys(index, state_dir):
    """The SSH host keys of address 10.131.<index>.2, made once and kept on this machine (beside the hosts'
    state): whichever host gets that address next has the same keys, so the known_hosts entry ssh and rsync
    wrote for it stays right."""
    keys = state_dir.parent / "host-keys" / str(index)
    if not (keys / "etc/ssh/ssh_host_ed25519_key").is_file():
        (keys / "etc/ssh").mkdir(parents=True, exist_ok=True)
        run("ssh-keygen", "-A", "-f", str(keys))
        forget_host_key(host_address(index))   # whatever was known of this address before is not these keys
    return sorted((keys / "etc/ssh").glob("ssh_host_*"))


# Units of this machine a class server has no use for: masked on a booted host (they would only slow its boot).
NOT_ON_A_CLASS_SERVER = ("postgresql.service", "avahi-daemon.service", "avahi-daemon.socket", "getty@tty1.service",
                         "systemd-timesyncd.service")
# Enabled on this machine, but a fresh server may have them installed and not enabled: disabled on a booted host,
# so that what starts them at its boot is provisioning (plan.plan_boot), as on a real server.
LEFT_TO_PROVISIONING = ("supervisor.service", "nginx.service")


def prepare_boot(root):
    """Make the merged tree boot as a class server would (through the overlay, into the upper layer)."""
    for unit in NOT_ON_A_CLASS_SERVER:
        (root / "etc/systemd/system" / unit).unlink(missing_ok=True)
        (root / "etc/systemd/system" / unit).symlink_to("/dev/null")
    for unit in LEFT_TO_PROVISIONING:
        (root / "etc/systemd/system/multi-user.target.wants" / unit).unlink(missing_ok=True)


def forget_host_key(address):
    """Drop `address` from this user's known_hosts (ssh and rsync refuse a changed host key). Returns True
    when an entry went."""
    known = Path.home() / ".ssh" / "known_hosts"
    if not known.is_file():
        return False
    done = subprocess.run(["ssh-keygen", "-R", address, "-f", str(known)], capture_output=True, text=True)
    Path(f"{known}.old").unlink(missing_ok=True)
    return done.returncode == 0 and "updated" in done.stdout + done.stderr


def _prepare_root(root, name, state, host_keys):
    """What makes the merged tree a distinct machine, written through the overlay (lands in the upper layer)."""
    (root / "etc/machine-id").write_text(uuid.uuid4().hex + "\n")
    (root / "etc/hostname").write_text(name + "\n")
    (root / "etc/hosts").write_text(f"127.0.0.1\tlocalhost\n127.0.1.1\t{name}\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    for old in (root / "etc/ssh").glob("ssh_host_*"):   # this machine's host keys: the host has its own
        old.unlink()
    for key in host_keys:
        shutil.copy2(key, root / "etc/ssh" / key.name)
    ssh_dir = root / "root/.ssh"
    ssh_dir.mkdir(mode=0o700)
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{name} (hacknode test host)", "-f", str(state / "key"))
    authorized = ssh_dir / "authorized_keys"
    authorized.write_text((state / "key.pub").read_text())
    authorized.chmod(0o600)
