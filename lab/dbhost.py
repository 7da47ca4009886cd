"""A class's database on a host of its own, for the tests of mongodb mode `external`: SecantusDB with
authentication on an isolated test host (lab/testhost.py), listening on the host's address, as an instructor's
MongoDB elsewhere does. The class servers reach it through testhost.link_hosts.

    db = dbhost.install(host, password, cache_dir)   # SecantusDB in /opt/secantus, its admin user made
    dbhost.start(db); db.admin_uri                   # mongodb://admin:<password>@10.131.x.2:27017/admin (a secret)
    dbhost.stop(db)                                  # the host stays up; its port refuses connections

The admin user is made on a first start without auth (SecantusDB has no localhost exception), from this
machine's pymongo; the password never appears in a command's arguments. The packages come from the wheelhouse
a class server of mode secantus gets (deploy/core/wheels.py: made once per machine, cached).
"""
import platform
import shlex
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pymongo
from pymongo.errors import PyMongoError

from deploy.core import wheels
from deploy.inventory.model import MongoSettings
from deploy.provision import artifacts, database

PORT = 27017
VENV, DATA, LOG = "/opt/secantus", "/var/lib/secantus", "/var/log/secantus.log"
WHEELHOUSE = "/opt/secantus-wheels"
PID_FILE = "/run/secantus.pid"


class DBHostError(Exception):
    """SecantusDB did not start on the host; the message says why (with its log's tail)."""


@dataclass
class DBHost:
    host: object            # lab.testhost.Host
    password: str = field(repr=False)     # never in a test's report

    @property
    def address(self):      # what the inventory's mongodb.hosts names
        return f"{self.host.address}:{PORT}"

    @property
    def admin_uri(self):
        return f"mongodb://admin:{quote(self.password, safe='')}@{self.address}/admin"


def install(host, password, cache_dir):
    """SecantusDB installed on `host` from this machine's wheelhouse, its admin user made with `password`."""
    requirements = artifacts.server_requirements(database.tools_packages(MongoSettings(mode="secantus")), cache_dir)
    # a test host runs this machine's python3 (its root is a copy of this machine's)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    wheelhouse = wheels.build_wheelhouse(requirements, python, platform.machine(), f"{cache_dir}/wheels")
    with tempfile.TemporaryDirectory(prefix="hacknode-dbhost-") as work, host.connection() as c:
        tar = Path(work) / "wheels.tar"
        with tarfile.open(tar, "w") as archive:
            archive.add(wheelhouse, arcname=".")
        c.run(f"mkdir -p {WHEELHOUSE}", hide=True)
        c.put(str(tar), f"{WHEELHOUSE}.tar")
        # uv from the wheelhouse, as make-venv does on a class server (pip took 15 s more)
        uv = f"{WHEELHOUSE}/uv/uv-*.data/scripts/uv"
        c.run(f"tar -xf {WHEELHOUSE}.tar -C {WHEELHOUSE} && rm {WHEELHOUSE}.tar && "
              f"python3 -m zipfile -e {WHEELHOUSE}/uv-*.whl {WHEELHOUSE}/uv && chmod +x {uv} && "
              f"UV_CACHE_DIR={WHEELHOUSE}/uv-cache {uv} venv -q --python python3 {VENV} && "
              f"UV_CACHE_DIR={WHEELHOUSE}/uv-cache {uv} pip install -q --offline --no-index --find-links {WHEELHOUSE} "
              f"--python {VENV}/bin/python {shlex.quote(database.SECANTUS_VERSION)} && mkdir -p {DATA}", hide=True)
    db = DBHost(host, password)
    run_server(db, auth=False)
    with pymongo.MongoClient(f"mongodb://{db.address}/", serverSelectionTimeoutMS=5000) as client:
        client.admin.command("createUser", "admin", pwd=password, roles=["root"])
    stop(db)
    return db


def run_server(db, auth=True):
    """Start SecantusDB on the host's address (in a session of its own: it outlives the SSH command) and wait
    until it answers."""
    flags = "--auth" if auth else ""
    with db.host.connection() as c:
        server = (f"{VENV}/bin/secantusd-py --host 0.0.0.0 --port {PORT} --storage-path {DATA} --standalone "
                  f"--cache-size 64M {flags}")
        c.run(f"setsid sh -c {shlex.quote(f'echo $$ > {PID_FILE}; exec {server}')} >>{LOG} 2>&1 </dev/null &",
              hide=True)
    deadline = time.monotonic() + 60
    with pymongo.MongoClient(f"mongodb://{db.address}/", serverSelectionTimeoutMS=500) as client:
        while True:
            try:
                client.admin.command("ping")
                return db
            except PyMongoError:
                if time.monotonic() > deadline:
                    with db.host.connection() as c:
                        tail = c.run(f"tail -n 20 {LOG}", hide=True, warn=True).stdout
                    raise DBHostError(f"SecantusDB did not answer on {db.address} within 60 s; its log ends:\n{tail}")
                time.sleep(0.2)


def start(db):
    return run_server(db, auth=True)


def stop(db):
    """Stop SecantusDB (TERM, then KILL after 10 s) and wait until its port refuses connections."""
    with db.host.connection() as c:
        c.run(f"pid=$(cat {PID_FILE}) && kill -TERM $pid && for i in $(seq 100); do kill -0 $pid 2>/dev/null || "
              f"exit 0; sleep 0.1; done; kill -KILL $pid; sleep 0.5", hide=True, warn=True)
