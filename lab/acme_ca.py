"""A real ACME CA on this machine, for the tests of `tls: {mode: acme}`: pebble (Let's Encrypt's test ACME server,
Debian's package) and a name server for the class's domain (dnsmasq, Debian's dnsmasq-base).

Both listen on this machine's side of one test host's veth pair (lab/hostparts.py: 10.131.<index>.1), so the host
reaches them and nothing else does; several sessions' CAs (one per host) never share an address. dnsmasq answers
the class domain and every name under it (the server's hostname, each team's subdomain) with the host's address,
and pebble asks it (-dnsserver): its HTTP-01 validations fetch /.well-known/acme-challenge/ from the class nginx,
on port 80, for real (PEBBLE_VA_ALWAYS_VALID=0). Pebble's own HTTPS certificate is made here for its address:
certbot on the server trusts it through the inventory's `tls.ca_bundle` (`bundle` below).
"""
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ACME_PORT, MANAGEMENT_PORT, DNS_PORT = 14000, 15000, 8053
START_TIMEOUT = 10
# real validation, no waiting between its attempts, no nonces refused at random (pebble refuses 5% by default to
# test clients' retries: certbot would fail a run now and then)
PEBBLE_ENV = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_VA_ALWAYS_VALID": "0", "PEBBLE_WFE_NONCEREJECT": "0"}


class AcmeCAError(Exception):
    """The CA or its name server did not start; the message says why (with its log's tail)."""


@dataclass
class AcmeCA:
    address: str            # where it listens: this machine's side of the host's veth pair
    workdir: Path
    pids: tuple = ()

    @property
    def directory(self):    # the ACME directory URL: the inventory's tls.directory
        return f"https://{self.address}:{ACME_PORT}/dir"

    @property
    def https_certificate(self):    # pebble's own HTTPS certificate (its API and management endpoint)
        return str(self.workdir / "pebble-https.pem")

    @property
    def root(self):         # the root pebble issues from (new at each start), as /roots/0 gave it
        return str(self.workdir / "root.pem")

    @property
    def bundle(self):       # the inventory's tls.ca_bundle: pebble's HTTPS certificate and its root
        return str(self.workdir / "bundle.pem")

    def root_pem(self):
        """The root certificate pebble issues from, from its management endpoint."""
        context = ssl.create_default_context(cafile=self.https_certificate)
        url = f"https://{self.address}:{MANAGEMENT_PORT}/roots/0"
        with urllib.request.urlopen(url, context=context, timeout=10) as response:
            return response.read().decode()


def _https_certificate(workdir, address):
    """A self-signed certificate for pebble's API at `address` (an IP address: no name to resolve)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=hacknode test ACME CA", "-addext", f"subjectAltName=IP:{address}", "-days", "7",
                    "-keyout", str(workdir / "pebble-https.key"), "-out", str(workdir / "pebble-https.pem")],
                   check=True, capture_output=True)


def _config(workdir, address):
    config = {"pebble": {
        "listenAddress": f"{address}:{ACME_PORT}", "managementListenAddress": f"{address}:{MANAGEMENT_PORT}",
        "certificate": str(workdir / "pebble-https.pem"), "privateKey": str(workdir / "pebble-https.key"),
        "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "", "externalAccountBindingRequired": False}}
    path = workdir / "pebble.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def _spawn(command, log, env=None):
    with open(log, "ab") as out:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
                                env=dict(os.environ, **(env or {})))


def _wait_listening(address, port, process, log):
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            socket.create_connection((address, port), timeout=1).close()
            return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            tail = "\n".join(Path(log).read_text(errors="replace").splitlines()[-10:])
            raise AcmeCAError(f"{process.args[0]} did not listen on {address}:{port}; its log ends:\n{tail}")
        time.sleep(0.1)


def start_acme_ca(workdir, address, domain, target):
    """Start dnsmasq (every name under `domain` -> `target`) and pebble, both on `address`; return the AcmeCA
    once pebble answers. Stop it with stop_acme_ca."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    _stop_stale(workdir)
    _https_certificate(workdir, address)
    started = []
    try:
        dns = _spawn(["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll",
                      "--bind-interfaces", f"--listen-address={address}", f"--port={DNS_PORT}",
                      f"--address=/{domain}/{target}", f"--pid-file={workdir / 'dnsmasq.pid'}",
                      "--user=root", "--log-facility=-"], workdir / "dnsmasq.log")
        started.append(dns)
        pebble = _spawn(["pebble", "-config", str(_config(workdir, address)), "-dnsserver", f"{address}:{DNS_PORT}"],
                        workdir / "pebble.log", PEBBLE_ENV)
        started.append(pebble)
        _wait_listening(address, ACME_PORT, pebble, workdir / "pebble.log")
        _wait_listening(address, MANAGEMENT_PORT, pebble, workdir / "pebble.log")
        ca = AcmeCA(address, workdir, tuple(p.pid for p in started))
        (workdir / "pids").write_text(" ".join(str(pid) for pid in ca.pids))
        Path(ca.root).write_text(ca.root_pem())
        Path(ca.bundle).write_text(Path(ca.https_certificate).read_text() + Path(ca.root).read_text())
    except BaseException:
        stop_acme_ca(AcmeCA(address, workdir, tuple(p.pid for p in started)))
        raise
    return ca


def _stop_stale(workdir):
    """Stop the CA a killed run left in `workdir` (its pids file), so that its addresses are free again: only
    processes that are still that run's pebble or dnsmasq."""
    try:
        pids = [int(pid) for pid in (workdir / "pids").read_text().split()]
    except (OSError, ValueError):
        return
    for pid in pids:
        try:
            program = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        if os.path.basename(program) in (b"pebble", b"dnsmasq"):
            os.kill(pid, signal.SIGTERM)
    time.sleep(0.2)
    (workdir / "pids").unlink()


def stop_acme_ca(ca):
    """Stop the CA's processes (only those it started, by their ids)."""
    (Path(ca.workdir) / "pids").unlink(missing_ok=True)
    for pid in ca.pids:
        try:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
