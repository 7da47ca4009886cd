"""A local SecantusDB (MongoDB wire protocol) for development and tests.

    db = start(Path(".hacknode/localdb"))      # waits until it answers a ping
    print(db.uri)                              # mongodb://127.0.0.1:PORT/rapidnews
    stop(db)

or `with running(path) as db: ...`. It listens on loopback only, without auth: it is a
developer's scratch database, never a server's.
"""
import contextlib
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pymongo
from pymongo.errors import PyMongoError

# The server installed with the `secantusdb` package, next to the running Python (.venv/bin).
SECANTUSD = Path(sys.executable).parent / "secantusd-py"


@dataclass
class LocalDB:
    process: subprocess.Popen
    port: int
    storage_dir: Path
    log_file: Path
    database: str

    @property
    def base_uri(self):
        return f"mongodb://127.0.0.1:{self.port}"

    @property
    def uri(self):
        return f"{self.base_uri}/{self.database}"


def free_port():
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(storage_dir, port=None, database="rapidnews", timeout=60):
    """Start SecantusDB on 127.0.0.1:port (a free one when None), keeping its data in
    storage_dir and its output in storage_dir + ".log"; return once it answers a ping."""
    storage_dir = Path(storage_dir)
    storage_dir.parent.mkdir(parents=True, exist_ok=True)
    log_file = storage_dir.with_name(storage_dir.name + ".log")
    port = port or free_port()
    if not _port_is_free(port):
        raise RuntimeError(f"cannot start SecantusDB: port {port} is in use")
    command = [str(SECANTUSD), "--host", "127.0.0.1", "--port", str(port),
               "--storage-path", str(storage_dir), "--standalone", "--cache-size", "64M"]
    with open(log_file, "ab") as log:
        # A session of its own: Ctrl-C in the terminal reaches the dev server, and we stop the
        # database afterwards, cleanly.
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    db = LocalDB(process, port, storage_dir, log_file, database)
    try:
        _wait_for_ping(db, timeout)
    except BaseException:
        stop(db)
        raise
    return db


def stop(db, timeout=15):
    """Stop the server: SIGTERM lets it close its storage; SIGKILL only if it hangs."""
    if db.process.poll() is None:
        db.process.terminate()
        try:
            db.process.wait(timeout)
        except subprocess.TimeoutExpired:
            db.process.kill()
            db.process.wait()


@contextlib.contextmanager
def running(storage_dir, port=None, database="rapidnews"):
    db = start(storage_dir, port=port, database=database)
    try:
        yield db
    finally:
        stop(db)


def _port_is_free(port):
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _wait_for_ping(db, timeout):
    deadline = time.monotonic() + timeout
    with pymongo.MongoClient(db.base_uri, serverSelectionTimeoutMS=250) as client:
        while True:
            if db.process.poll() is not None:
                raise RuntimeError(f"SecantusDB exited with status {db.process.returncode}; "
                                   f"see {db.log_file}")
            try:
                client.admin.command("ping")
                return
            except PyMongoError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"SecantusDB did not answer on port {db.port} within "
                                       f"{timeout}s; see {db.log_file}") from None
                time.sleep(0.1)
