"""Isolated class servers on this machine, for the end-to-end tests and `./inv demo`.

Each host is a systemd-nspawn container running sshd, in its own network namespace and on its own
copy-on-write view of this machine's root filesystem (Debian 12), or of a Debian 13 root made once per machine
(server_os="debian13", lab/serverroots.py), with its own root SSH key, machine-id, hostname
and host keys (lab/hostparts.py makes and removes those parts). A host started with boot=True boots
systemd instead, as a real server does: its enabled units (ssh, and what provisioning enables) start at
boot, and reboot_host stops and starts it again with its disk as it was.
State of a host: <state_dir>/<name>/{upper,work,root,key,key.pub,index,boot,os,pid,log}; default state_dir
/var/lib/hacknode/hosts. nspawn runs detached, so a host outlives the process that started it.
Needs root.
"""
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import fabric
import paramiko

from lab import hostparts, serverroots
from lab.hostparts import HostError

STATE_DIR = "/var/lib/hacknode/hosts"
REPO = str(Path(__file__).resolve().parents[1])
START_TIMEOUT = 30   # seconds until sshd must answer

# Runs as PID 2 inside the container (nspawn's stub init is PID 1 and reaps daemons).
# /run is a fresh tmpfs at each start; the host keys are in place already (see lab/hostparts.py).
INIT = "mkdir -p -m 0755 /run/sshd && exec /usr/sbin/sshd -D -e"
# A booted host's systemd owns the cgroup controllers as on a real server: nspawn mounts this machine's cgroup v1
# controllers read-only in the container (only name=systemd is writable), so systemd there could make slices but
# never bound them. Made writable after boot, and systemd re-executed so that it uses them.
CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")
OWN_CONTROLLERS = " && ".join(f"mount -o remount,bind,rw /sys/fs/cgroup/{c}" for c in CONTROLLERS) + \
    " && systemctl daemon-reexec"


@dataclass
class Host:
    name: str          # netns, nspawn machine, hostname and state directory name
    index: int         # 1..250: address 10.131.<index>.2, this machine's side 10.131.<index>.1
    address: str
    root_key: str      # private key that logs in as root (0600, in the state directory)
    ssh_port: int = 22
    boot: bool = False  # systemd is its PID 1 (a booted server), not sshd alone
    server_os: str = serverroots.DEFAULT_OS   # the root filesystem under it: debian12 (this machine's) or debian13

    @property
    def gateway(self):
        """This machine's address as seen from the host."""
        return hostparts.gateway_address(self.index)

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
    server_os = (state / "os").read_text().strip() if (state / "os").is_file() else serverroots.DEFAULT_OS
    return Host(name=name, index=index, address=hostparts.host_address(index), root_key=str(state / "key"),
                boot=(state / "boot").is_file(), server_os=server_os)


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


def start_host(name, index, state_dir=None, boot=False, server_os=serverroots.DEFAULT_OS):
    """Start host `name` at 10.131.<index>.2 and return it once root can run a command over SSH; with
    `boot`, the container boots systemd; `server_os` debian13 runs it on the Debian 13 root (made first if this
    machine has none). Idempotent: a running host that answers SSH is returned as it is; a broken one is remade."""
    if not 1 <= index <= 250:
        raise HostError(f"host {name}: index {index} is not in 1..250")
    lower = serverroots.ensure_root(server_os)
    state = _paths(name, state_dir)
    if (state / "index").is_file():
        if int((state / "index").read_text()) == index and _nspawn_pids(state / "root"):
            host = _host(name, index, state)
            if _answers_ssh(host) and (host.boot, host.server_os) == (boot, server_os):
                return host
    if state.exists() or hostparts.netns_exists(name):   # a broken host or the remains of one
        stop_host(name, state_dir)
    for other in running_hosts(state_dir):
        if other.index == index:
            raise HostError(f"host {name}: index {index} is already used by host {other.name}")
    try:
        return _start(name, index, state, boot, server_os, lower)
    except BaseException:
        stop_host(name, state_dir)
        raise


def _start(name, index, state, boot, server_os, lower):
    state.mkdir(parents=True, exist_ok=True)
    (state / "index").write_text(f"{index}\n")   # first: stop_host finds the veth pair to remove by it
    if boot:
        (state / "boot").touch()
    (state / "os").write_text(f"{server_os}\n")
    hostparts.make_root(state, name, index, str(lower))
    if boot:
        hostparts.prepare_boot(state / "root")
    hostparts.make_network(name, index)
    return _run_container(_host(name, index, state), state)


def _container_command(host, state):
    # Not `ip netns exec ... systemd-nspawn`: that remounts /sys and nspawn then fails to find cgroups.
    command = [
        "systemd-nspawn", f"--directory={state / 'root'}", f"--machine={host.name}", f"--hostname={host.name}",
        "--quiet", "--register=no", "--keep-unit", "--console=pipe",
        f"--network-namespace-path=/run/netns/{host.name}",
        "--link-journal=no", "--resolv-conf=off", "--timezone=off",
        # Hide every host's state (keys, upper layers) and this repository: code reaches a host over SSH only.
        f"--tmpfs={state.parent}", f"--tmpfs={REPO}",
    ]
    return command + (["--boot"] if host.boot else ["--as-pid2", "/bin/sh", "-c", INIT])


def _run_container(host, state):
    """Run the host's container on its parts (made already) and return the host once root can log in."""
    name, command = host.name, _container_command(host, state)
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
        c.run(OWN_CONTROLLERS if host.boot else "true", hide=True)
    return host


def link_hosts(one, other):
    """Let two running hosts reach each other (a class server and its database host): see hostparts.link_hosts."""
    hostparts.link_hosts((one.name, one.index), (other.name, other.index))


def reboot_host(name, state_dir=None):
    """Stop host `name`'s container and start it again on the same disk (upper layer), network and keys, as
    a server reboots; returns the host once root can log in. Only a booted host (boot=True) starts what its
    enabled units start; the other kind comes back with sshd alone."""
    state = _paths(name, state_dir)
    if not (state / "index").is_file():
        raise HostError(f"host {name}: no such host to reboot")
    host = _host(name, int((state / "index").read_text()), state)
    _stop_container(state / "root", 60 if host.boot else 10)
    return _run_container(host, state)


def _stop_container(root, grace):
    # SIGTERM makes nspawn shut a booted systemd down in order (SIGRTMIN+3), or SIGKILL the container's
    # PID 1 (sshd's stub init), which ends every process inside; SIGKILL only if that takes too long.
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
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


def stop_host(name, state_dir=None):
    """Stop host `name` and delete everything it made: container, mounts, netns and veth, state.
    Idempotent; raises HostError rather than leave a mount behind."""
    state = _paths(name, state_dir)
    _stop_container(state / "root", 10)
    left = hostparts.unmount(state)
    index = int((state / "index").read_text()) if (state / "index").is_file() else None
    hostparts.remove_network(name, index)
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
