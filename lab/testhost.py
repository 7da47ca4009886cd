"""Isolated class servers on this machine, for the end-to-end tests and `./inv demo`.

Each host is a systemd-nspawn container running sshd, with
  - its own network namespace <name>, joined to this machine by a veth pair hnv<index> <-> eth0:
    this machine is 10.131.<index>.1, the host 10.131.<index>.2 (a /30, no default route, so a host
    reaches nothing but this machine);
  - its own copy-on-write view of this machine's root filesystem: an overlay whose lower layer is /
    (so the programs installed here, see lab/localhost.HOST_PACKAGES, are the hosts' programs)
    and whose upper layer is in <state_dir>/<name>/upper;
  - its own root SSH key (generated at start), machine-id and hostname, and host keys that belong to its
    address (kept in <state_dir>/../host-keys/<index>, so known_hosts entries stay right across restarts).
State of a host: <state_dir>/<name>/{upper,work,root,key,key.pub,index,pid,log}; default state_dir
/var/lib/hacknode/hosts. nspawn runs detached, so a host outlives the process that started it.
Needs root.
"""
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import fabric
import paramiko

STATE_DIR = "/var/lib/hacknode/hosts"
REPO = str(Path(__file__).resolve().parents[1])
START_TIMEOUT = 30   # seconds until sshd must answer

# Runs as PID 2 inside the container (nspawn's stub init is PID 1 and reaps daemons).
# /run is a fresh tmpfs at each start; the host keys are in place already (see _host_keys).
INIT = "mkdir -p -m 0755 /run/sshd && exec /usr/sbin/sshd -D -e"


class HostError(Exception):
    """A test host that cannot start or stop; the message says why (with the log tail when there is one)."""


@dataclass
class Host:
    name: str          # netns, nspawn machine, hostname and state directory name
    index: int         # 1..250: address 10.131.<index>.2, this machine's side 10.131.<index>.1
    address: str
    root_key: str      # private key that logs in as root (0600, in the state directory)
    ssh_port: int = 22

    @property
    def gateway(self):
        """This machine's address as seen from the host."""
        return f"10.131.{self.index}.1"

    def connection(self, user="root", key=None):
        """A Fabric connection that uses only `key`: no agent, no ~/.ssh keys or config, host keys not checked.
        Local stdin is not forwarded (commands on test hosts are never interactive; pytest forbids reading it)."""
        return fabric.Connection(
            self.address, user=user, port=self.ssh_port, connect_timeout=10,
            config=fabric.Config(ssh_config=paramiko.SSHConfig(), overrides={"run": {"in_stream": False}}),
            connect_kwargs={"key_filename": key or self.root_key, "allow_agent": False, "look_for_keys": False},
        )


def _paths(name, state_dir):
    return Path(state_dir or STATE_DIR) / name


def _host(name, index, state):
    return Host(name=name, index=index, address=f"10.131.{index}.2", root_key=str(state / "key"))


def _run(*command):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise HostError(f"{' '.join(command)}: {done.stderr.strip()}")
    return done.stdout


def _nspawn_pids(root):
    """Pids of the systemd-nspawn processes running the container whose root directory is `root`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if args and args[0].endswith(b"systemd-nspawn") and f"--directory={root}".encode() in args and state != "Z":
            pids.append(int(entry.name))
    return pids


def _mounts_under(path):
    """Mount points at or under `path`, deepest first."""
    prefix = str(path)
    targets = []
    for line in Path("/proc/mounts").read_text().splitlines():
        target = line.split()[1].replace("\\040", " ")
        if target == prefix or target.startswith(prefix + "/"):
            targets.append(target)
    return sorted(targets, key=len, reverse=True)


def _netns_exists(name):
    return Path("/run/netns", name).exists()


def _delete_veth(veth):
    """Delete this machine's end of a veth pair (and so the pair) and wait until it is gone.
    Deleting a netns deletes its veth pairs too, but not at once."""
    deadline = time.monotonic() + 5
    while Path("/sys/class/net", veth).exists():
        gone = subprocess.run(["ip", "link", "del", veth], capture_output=True, text=True)
        if gone.returncode != 0 and time.monotonic() > deadline:
            raise HostError(f"ip link del {veth}: {gone.stderr.strip()}")
        time.sleep(0.05)


def _answers_ssh(host):
    try:
        with socket.create_connection((host.address, host.ssh_port), timeout=1) as s:
            return s.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def _log_tail(state, lines=20):
    try:
        return "\n".join((state / "log").read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def running_hosts(state_dir=None):
    """Hosts whose container is running, by name."""
    base = Path(state_dir or STATE_DIR)
    hosts = []
    for state in sorted(base.iterdir()) if base.is_dir() else []:
        if (state / "index").is_file() and _nspawn_pids(state / "root"):
            hosts.append(_host(state.name, int((state / "index").read_text()), state))
    return hosts


def start_host(name, index, state_dir=None):
    """Start host `name` at 10.131.<index>.2 and return it once root can run a command over SSH.
    Idempotent: a running host that answers SSH is returned as it is; a broken one is remade."""
    if not 1 <= index <= 250:
        raise HostError(f"host {name}: index {index} is not in 1..250")
    state = _paths(name, state_dir)
    if (state / "index").is_file():
        if int((state / "index").read_text()) == index and _nspawn_pids(state / "root"):
            host = _host(name, index, state)
            if _answers_ssh(host):
                return host
    if state.exists() or _netns_exists(name):   # a broken host or the remains of one
        stop_host(name, state_dir)
    for other in running_hosts(state_dir):
        if other.index == index:
            raise HostError(f"host {name}: index {index} is already used by host {other.name}")
    try:
        return _start(name, index, state)
    except BaseException:
        stop_host(name, state_dir)
        raise


def _start(name, index, state):
    host = _host(name, index, state)
    root = state / "root"
    for d in ("upper", "work", "root"):
        (state / d).mkdir(parents=True, exist_ok=True)
    (state / "index").write_text(f"{index}\n")
    _fresh_root_home(state / "upper/root")
    _run("mount", "-t", "overlay", "overlay",
         "-o", f"lowerdir=/,upperdir={state}/upper,workdir={state}/work", str(root))
    _prepare_root(root, name, state, _host_keys(index, state.parent))

    _run("ip", "netns", "add", name)
    veth = f"hnv{index}"
    _delete_veth(veth)   # left by a host that died without stop_host, or still going away after one stopped
    _run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name)
    _run("ip", "addr", "add", f"{host.gateway}/30", "dev", veth)
    _run("ip", "link", "set", veth, "up")
    _run("ip", "-n", name, "addr", "add", f"{host.address}/30", "dev", "eth0")
    _run("ip", "-n", name, "link", "set", "eth0", "up")
    _run("ip", "-n", name, "link", "set", "lo", "up")

    # Not `ip netns exec ... systemd-nspawn`: that remounts /sys and nspawn then fails to find cgroups.
    command = [
        "systemd-nspawn", f"--directory={root}", f"--machine={name}", f"--hostname={name}",
        "--quiet", "--register=no", "--keep-unit", "--as-pid2", "--console=pipe",
        f"--network-namespace-path=/run/netns/{name}",
        "--link-journal=no", "--resolv-conf=off", "--timezone=off",
        # Hide every host's state (keys, upper layers) and this repository: code reaches a host over SSH only.
        f"--tmpfs={state.parent}", f"--tmpfs={REPO}",
        "/bin/sh", "-c", INIT,
    ]
    with open(state / "log", "ab") as log:
        nspawn = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    (state / "pid").write_text(f"{nspawn.pid}\n")

    deadline = time.monotonic() + START_TIMEOUT
    while not _answers_ssh(host):
        if nspawn.poll() is not None:
            raise HostError(f"host {name}: the container exited ({nspawn.returncode}); its log ends:\n{_log_tail(state)}")
        if time.monotonic() > deadline:
            raise HostError(f"host {name}: sshd did not answer on {host.address}:22 in {START_TIMEOUT}s; "
                            f"its log ends:\n{_log_tail(state)}")
        time.sleep(0.1)
    with host.connection() as c:
        c.run("true", hide=True)
    return host


def _fresh_root_home(upper_home):
    """Give the host's root a stock Debian home instead of this machine's /root (its tools, settings and
    credentials): an opaque directory in the upper layer hides the lower one; dot files from base-files."""
    upper_home.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.setxattr(upper_home, "trusted.overlay.opaque", b"y")
    for name in ("profile", "bashrc"):
        shutil.copyfile(f"/usr/share/base-files/dot.{name}", upper_home / f".{name}")


def _host_keys(index, state_dir):
    """The SSH host keys of address 10.131.<index>.2, made once and kept on this machine (beside the hosts'
    state): whichever host gets that address next has the same keys, so the known_hosts entry ssh and rsync
    wrote for it stays right."""
    keys = state_dir.parent / "host-keys" / str(index)
    if not (keys / "etc/ssh/ssh_host_ed25519_key").is_file():
        (keys / "etc/ssh").mkdir(parents=True, exist_ok=True)
        _run("ssh-keygen", "-A", "-f", str(keys))
        forget_host_key(f"10.131.{index}.2")   # whatever was known of this address before is not these keys
    return sorted((keys / "etc/ssh").glob("ssh_host_*"))


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
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{name} (hacknode test host)", "-f", str(state / "key"))
    authorized = ssh_dir / "authorized_keys"
    authorized.write_text((state / "key.pub").read_text())
    authorized.chmod(0o600)


def stop_host(name, state_dir=None):
    """Stop host `name` and delete everything it made: container, mounts, netns and veth, state.
    Idempotent; raises HostError rather than leave a mount behind."""
    state = _paths(name, state_dir)
    root = state / "root"
    # SIGTERM makes nspawn SIGKILL the container's PID 1, which ends every process inside.
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        pids = _nspawn_pids(root)
        for pid in pids:
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while pids and time.monotonic() < deadline:
            for pid in pids:
                try:
                    os.waitpid(pid, os.WNOHANG)   # reap it when we started it ourselves
                except ChildProcessError:
                    pass
            pids = _nspawn_pids(root)
            time.sleep(0.05)
    for target in _mounts_under(state):
        if subprocess.run(["umount", target], capture_output=True).returncode != 0:
            subprocess.run(["umount", "--lazy", target], capture_output=True)
    if _netns_exists(name):
        _run("ip", "netns", "del", name)
    if (state / "index").is_file():
        _delete_veth(f"hnv{int((state / 'index').read_text())}")
    left = _mounts_under(state)
    if left:
        raise HostError(f"host {name}: still mounted, state kept: {' '.join(left)}")
    shutil.rmtree(state, ignore_errors=True)


def stop_all(prefix="hn-t", state_dir=None):
    """Stop every host whose name starts with `prefix` (e.g. left over by a killed test run); return their names."""
    base = Path(state_dir or STATE_DIR)
    names = {p.name for p in base.iterdir()} if base.is_dir() else set()
    names |= {p.name for p in Path("/run/netns").iterdir()} if Path("/run/netns").is_dir() else set()
    names = sorted(n for n in names if n.startswith(prefix))
    for name in names:
        stop_host(name, state_dir)
    return names
