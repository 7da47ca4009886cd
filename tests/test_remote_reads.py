"""Root reading what a team controls (issue 21, item 4), without a server: the facts' safe reader and the health
probe's bounded read and its sanitizers (the collector's: tests/test_remote_collector.py).
The attacks themselves, on a provisioned class: tests/e2e/test_attacks_reads.py."""
import http.client
import http.server
import importlib.util
import json
import os
import socket
import socketserver
import threading
import time
from pathlib import Path

import pytest

from deploy.core.steps import File, file_changes
from deploy.provision.facts import Facts

REMOTE = Path(__file__).resolve().parents[1] / "deploy" / "remote"


def remote_module(name):
    spec = importlib.util.spec_from_file_location(f"remote_{name}", REMOTE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


facts = remote_module("facts")
healthz = remote_module("healthz")


# ---------- the facts' probe of mode external's database ----------

def test_the_facts_say_whether_a_database_port_answers_and_why_not():
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        assert facts.database_answers(f"127.0.0.1:{port}") == ""
    assert facts.database_answers(f"127.0.0.1:{port}") == "Connection refused"   # closed now


# ---------- the facts' reader ----------

@pytest.fixture
def home(tmp_path):
    """tmp_path as the homes' folder, with a team's home and .ssh."""
    (tmp_path / "team" / ".ssh").mkdir(parents=True)
    return tmp_path


def keys_fact(homes):
    return facts.path_fact(str(homes / "team" / ".ssh" / "authorized_keys"), str(homes), True)


def test_a_regular_file_is_read_with_its_owner_and_mode(home):
    (home / "team" / ".ssh" / "authorized_keys").write_text("ssh-ed25519 AAAA team\n")
    fact = keys_fact(home)
    assert fact["text"] == "ssh-ed25519 AAAA team\n" and len(fact["sha256"]) == 64 and fact["mode"]


def test_a_file_over_the_cap_is_too_big_and_never_read(home):
    with open(home / "team" / ".ssh" / "authorized_keys", "wb") as f:
        f.truncate(6 * 1024 ** 3)                    # a sparse 6 GB file: read whole, it stopped provisioning
    started = time.monotonic()
    fact = keys_fact(home)
    assert fact["too_big"] and "text" not in fact and time.monotonic() - started < 1
    parsed = Facts.parse(json.dumps(dict(empty_facts(), files={"/k": fact})))
    changed, diff = file_changes([File("/k", "keys\n", "team", "team", "0600")], parsed)
    assert [f.path for f in changed] == ["/k"] and "too big" in diff        # so the plan writes it again


def test_a_fifo_is_reported_without_waiting_for_a_writer(home):
    os.mkfifo(home / "team" / ".ssh" / "authorized_keys")
    started = time.monotonic()
    fact = keys_fact(home)
    assert "text" not in fact and "link" not in fact and time.monotonic() - started < 1


def test_a_fifo_swapped_in_after_the_look_is_not_read(home):
    """The race: a look (stat) saw a file, the open finds a FIFO; the open never blocks and fstat refuses it."""
    os.mkfifo(home / "team" / ".ssh" / "authorized_keys")
    fd = os.open(home / "team" / ".ssh", os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert facts.read_capped(fd, "authorized_keys") == {}
    finally:
        os.close(fd)


def test_a_link_is_reported_as_a_link_and_never_followed(home, tmp_path_factory):
    secret = tmp_path_factory.mktemp("root") / "shadow"
    secret.write_text("root:$6$secret\n")
    (home / "team" / ".ssh" / "authorized_keys").symlink_to(secret)
    fact = keys_fact(home)
    assert fact["link"] == str(secret) and "text" not in fact
    fd = os.open(home / "team" / ".ssh", os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert facts.read_capped(fd, "authorized_keys") == {}      # the link swapped in after the look
    finally:
        os.close(fd)


def test_a_folder_on_the_way_replaced_by_a_link_leads_nowhere(home, tmp_path_factory):
    roots = tmp_path_factory.mktemp("root-ssh")
    (roots / "authorized_keys").write_text("ssh-ed25519 ROOTKEY root\n")
    os.rename(home / "team" / ".ssh", home / "team" / ".ssh-old")
    (home / "team" / ".ssh").symlink_to(roots)
    assert keys_fact(home) is None                      # absent: the plan makes .ssh again, then writes the keys
    assert facts.path_fact(str(home / "team" / ".ssh"), str(home))["link"] == str(roots)   # the folder: a link


def test_root_files_outside_the_homes_keep_their_facts(tmp_path):
    (tmp_path / "conf").write_text("x = 1\n")
    (tmp_path / "linked").symlink_to(tmp_path / "conf")
    assert facts.path_fact(str(tmp_path / "conf"), "/home", True)["text"] == "x = 1\n"
    assert "text" not in facts.path_fact(str(tmp_path / "conf"), "/home")
    assert facts.path_fact(str(tmp_path / "linked"), "/home", True)["link"] == str(tmp_path / "conf")
    assert facts.path_fact(str(tmp_path / "absent"), "/home") is None


def empty_facts():
    return {"os": {"id": "debian", "version": "12"}, "python": "3.11", "arch": "x86_64", "commands": {},
            "python_venv": True, "users": {}, "gecos": {}, "groups": {}, "scheduled_jobs": {}, "files": {}, "paths": {}, "present_teams": [],
            "running": {}, "slices": {}, "quota": {"mount": "/", "on": False, "limits": {}}}


# ---------- the health probe ----------

@pytest.mark.parametrize("value, shown", [
    ("20261121T082416Z-6b7f8cd", "20261121T082416Z-6b7f8cd"), ("20261121T082416Z", "20261121T082416Z"),
    (None, "-"), ("", "-"), ("20260101T000000Z\n502 forged", "?"), ("evil\tname", "?"), ("\x1b[31mred", "?"),
    ({"a": 1}, "?"), ("２０２６１１２１T082416Z", "?")])
def test_a_release_from_a_teams_answer_is_an_id_or_a_question_mark(value, shown):
    assert healthz.shown(value, healthz.RELEASE_ID) == shown


def test_a_settings_id_is_digits_or_a_question_mark():
    assert healthz.shown("1764901234.123456789", healthz.SETTINGS_ID) == "1764901234.123456789"
    assert healthz.shown("1\t\x1b[31m", healthz.SETTINGS_ID) == "?"


class Endless(http.server.BaseHTTPRequestHandler):
    """/stream: an answer without end; /drip: a byte every 0.2 s; else a short JSON answer."""

    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        try:
            while self.path in ("/stream", "/drip"):
                self.wfile.write(b"x" * 4096 if self.path == "/stream" else b" ")
                time.sleep(0.2 if self.path == "/drip" else 0)
            self.wfile.write(b'{"release": "20261121T082416Z"}')
        except OSError:
            pass

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Endless) as made:
        made.daemon_threads = True
        threading.Thread(target=made.serve_forever, daemon=True).start()
        yield made.server_address[1]
        made.shutdown()


def read(port, path, seconds):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=seconds)
    conn.request("GET", path)
    sock = conn.sock
    return healthz.bounded_body(sock, conn.getresponse(), time.monotonic() + seconds)


def test_the_probe_reads_a_short_answer_whole(server):
    assert json.loads(read(server, "/healthz", 2)) == {"release": "20261121T082416Z"}


def test_an_endless_answer_stops_at_the_size_cap(server):
    with pytest.raises(ValueError):
        read(server, "/stream", 5)


def test_a_drip_stops_at_the_deadline_not_a_timeout_per_read(server):
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        read(server, "/drip", 1)
    assert time.monotonic() - started < 1.5

