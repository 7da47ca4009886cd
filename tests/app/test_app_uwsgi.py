"""The WSGI entry point under uwsgi, as on a class server: master + 2 forked workers."""
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from app import PROJECT_ROOT
from lab.localdb import free_port

UWSGI = Path(sys.executable).parent / "uwsgi"


@pytest.fixture
def uwsgi_url(mongo_uri, tmp_path):
    port = free_port()
    log = tmp_path / "uwsgi.log"
    process = subprocess.Popen(
        [str(UWSGI), "--strict", "--master", "--processes", "2", "--need-app",
         "--http-socket", f"127.0.0.1:{port}", "--chdir", str(PROJECT_ROOT), "--module", "app.wsgi:app",
         "--env", f"FLASK_MONGO_URI={mongo_uri}", "--env", "FLASK_SECRET_KEY=uwsgi-test",
         "--reload-os-env", "--die-on-term"],
        stdout=open(log, "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=5).close()
            break
        except OSError:
            assert process.poll() is None, log.read_text()
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(30)


def post_json(url, data):
    request = urllib.request.Request(url, data=json.dumps(data).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.load(response)


def test_forked_workers_serve_the_app(uwsgi_url, db):
    with urllib.request.urlopen(uwsgi_url + "/healthz") as response:
        assert json.load(response)["status"] == "ok"
    # Enough requests that both workers serve some, each with the client it made after the fork.
    statuses = [post_json(uwsgi_url + "/submit.json",
                          {"title": "Via uwsgi", "link": "https://example.com/uwsgi"})[0]
                for _ in range(10)]
    assert statuses == [201] + [200] * 9
    assert db.articles.find_one({}, {"_id": False, "score": True}) == {"score": 45}
    with urllib.request.urlopen(uwsgi_url + "/") as page:
        assert ">Via uwsgi</a>" in page.read().decode()
