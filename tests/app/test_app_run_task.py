"""./inv run: the dev server, with a local SecantusDB unless FLASK_MONGO_URI is set."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone

import pymongo
import pytest

from app import PROJECT_ROOT
from lab.localdb import free_port


def start_run_task(tmp_path, env, *args):
    port = free_port()
    log = open(tmp_path / "run.log", "w")
    # as from a terminal, where Ctrl-C is not ignored: a suite started in the background by a non-interactive
    # shell has SIGINT ignored, and children inherit that (Python then never raises KeyboardInterrupt)
    process = subprocess.Popen([sys.executable, "-m", "invoke", "run", "--port", str(port), *args],
                               cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    return process, f"http://127.0.0.1:{port}"


def wait_for_health(process, url, log):
    for _ in range(120):
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                return json.load(response)
        except OSError:
            assert process.poll() is None, log.read_text()
            time.sleep(0.5)
    raise AssertionError("the dev server did not answer: " + log.read_text())


def press_ctrl_c(process):
    os.killpg(process.pid, signal.SIGINT)        # what Ctrl-C in the terminal does
    return process.wait(30)


def test_run_starts_a_local_database_and_stops_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "FLASK_MONGO_URI"}
    process, url = start_run_task(tmp_path, env, "--db-dir", str(tmp_path / "localdb"))
    try:
        assert wait_for_health(process, url, tmp_path / "run.log")["status"] == "ok"
        with urllib.request.urlopen(url + "/") as page:
            assert "<title>(RN) Latest News</title>" in page.read().decode()
    finally:
        assert press_ctrl_c(process) == 0
    output = (tmp_path / "run.log").read_text()
    assert f"data in {tmp_path / 'localdb'}" in output
    assert "Traceback" not in output
    assert (tmp_path / "localdb").is_dir() and (tmp_path / "localdb.log").is_file()
    db_uri = output.split("local SecantusDB at ")[1].split()[0]
    with pymongo.MongoClient(db_uri, serverSelectionTimeoutMS=500) as client:
        with pytest.raises(pymongo.errors.ServerSelectionTimeoutError):
            client.admin.command("ping")            # the local database stopped with the server


def test_run_uses_flask_mongo_uri_when_set(tmp_path, mongo_uri, db):
    db.articles.insert_one({"title": "From the configured database", "link": "https://example.com/",
                            "score": 3, "date": datetime.now(timezone.utc)})
    process, url = start_run_task(tmp_path, {**os.environ, "FLASK_MONGO_URI": mongo_uri})
    try:
        wait_for_health(process, url, tmp_path / "run.log")
        with urllib.request.urlopen(url + "/") as page:
            assert "From the configured database" in page.read().decode()
    finally:
        assert press_ctrl_c(process) == 0
    assert "local SecantusDB" not in (tmp_path / "run.log").read_text()
