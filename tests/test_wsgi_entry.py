"""Any team's app (issue 24): hacknode's WSGI loader (deploy/remote/hacknode_entry.py) reads a release's entry point,
imports it and marks every answer with the release and settings; the health probe (deploy/remote/healthz.py) reads
those marks from any answer, asks the path it is told, and counts an answer below 500 from the release as healthy.
Served for real by nginx and uwsgi: tests/test_render_served.py."""
import functools
import http.server
import json
import socketserver
import subprocess
import sys
import threading

import pytest

from tests.test_remote_reads import healthz, remote_module

entry = remote_module("hacknode_entry")
RELEASE = "20261207T201500Z-6b7f8cd"


def release(tmp_path, web=None, files=()):
    """A release folder: its RELEASE file, its .hacknode-procs/web when given, and the modules `files` names."""
    tmp_path.mkdir()
    (tmp_path / "RELEASE").write_text(RELEASE + "\n")
    if web is not None:
        (tmp_path / ".hacknode-procs").mkdir()
        (tmp_path / ".hacknode-procs" / "web").write_text(web)
    for name, text in dict(files).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.fixture
def isolated_imports(monkeypatch):
    """Each test imports its release's modules afresh: sys.path and the modules it loads are put back after."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in [n for n in sys.modules if n == "app" or n.startswith("app.")]:    # Rapid News, from other tests
        monkeypatch.delitem(sys.modules, name)
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


def call(app, path="/"):
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen.update(status=status, headers=headers)
    body = b"".join(app({"PATH_INFO": path, "REQUEST_METHOD": "GET"}, start_response))
    return seen["status"], seen["headers"], body


FACTORY = """
def create_app():
    def app(environ, start_response):
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("X-Hacknode-Release", "forged")])
        return [b"made by a factory"]
    return app
"""
PLAIN = """
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["PATH_INFO"].encode()]
"""


def test_a_factory_entry_point_is_called_and_every_answer_names_the_release_and_settings(tmp_path, isolated_imports):
    folder = release(tmp_path / "r1", "src.app:create_app()\n", {"src/__init__.py": "", "src/app.py": FACTORY})
    app = entry.make_application(str(folder), {"HACKNODE_SETTINGS_ID": "1765138500.123"})
    status, headers, body = call(app)
    assert (status, body) == ("404 Not Found", b"made by a factory")
    # the app's own X-Hacknode-Release is dropped: only the loader says which release answers
    assert [h for h in headers if h[0].startswith("X-Hacknode")] == [
        ("X-Hacknode-Release", RELEASE), ("X-Hacknode-Settings", "1765138500.123")]


def test_a_plain_callable_without_settings_gets_the_release_header_only(tmp_path, isolated_imports):
    folder = release(tmp_path / "r2", "hello:application", {"hello.py": PLAIN})
    status, headers, body = call(entry.make_application(str(folder), {}), "/x")
    assert (status, body) == ("200 OK", b"/x")
    assert [h for h in headers if h[0].startswith("X-Hacknode")] == [("X-Hacknode-Release", RELEASE)]


def test_a_release_made_before_procfiles_loads_rapid_news_entry_point(tmp_path, isolated_imports):
    folder = release(tmp_path / "r3", None, {"app/__init__.py": "", "app/wsgi.py": PLAIN.replace("application",
                                                                                                 "app")})
    assert entry.entry_point(str(folder)) == ("app.wsgi", "app", False)
    assert call(entry.make_application(str(folder), {}), "/healthz")[2] == b"/healthz"


@pytest.mark.parametrize("line", ["os.system('id'):x", "app:app; import os", "__import__('os'):x", "app", ":app",
                                  "app.wsgi:app()()", "app..wsgi:app", "app:" + "a" * 300, "app wsgi:app"])
def test_an_entry_point_that_is_not_module_colon_callable_is_refused_never_evaluated(tmp_path, line):
    folder = release(tmp_path / "r4", line + "\n")
    with pytest.raises(entry.EntryError, match=r"^.hacknode-procs/web: .* is no entry point: expected module:callable"):
        entry.entry_point(str(folder))


@pytest.mark.parametrize("web, files, message", [
    ("missing.mod:app", {}, "entry point missing.mod:app: ModuleNotFoundError: No module named 'missing'"),
    ("hello:nothing", {"hello.py": PLAIN}, "entry point hello:nothing: AttributeError: "),
    ("hello:answer", {"hello.py": "answer = 42\n"}, "entry point hello:answer: int is not a WSGI callable"),
    ("broken:make()", {"broken.py": "def make():\n    raise RuntimeError('no DATABASE_URL')\n"},
     "entry point broken:make(): RuntimeError: no DATABASE_URL")])
def test_a_failing_entry_point_is_one_line_naming_it_and_the_error(tmp_path, isolated_imports, capsys, web, files,
                                                                 message):
    folder = release(tmp_path / "r5", web, files)
    with pytest.raises(entry.EntryError) as raised:
        entry.make_application(str(folder), {})
    assert str(raised.value).startswith(message)
    entry.report(raised.value)
    assert capsys.readouterr().err.splitlines()[-1] == f"hacknode: the release's WSGI app did not load: {raised.value}"


# ---------- the health probe ----------

class Answers(http.server.BaseHTTPRequestHandler):
    """/mark: 404 with hacknode's headers and a body far over the probe's cap; /forged: headers a team's app could
    not make the loader send; /json: Rapid News before the loader; every path asked is recorded."""
    asked = []

    def do_GET(self):
        Answers.asked.append(self.path)
        marks = {"/mark": [("X-Hacknode-Release", RELEASE), ("X-Hacknode-Settings", "1765138500.5")],
                 "/forged": [("X-Hacknode-Release", "r1\t200"), ("X-Hacknode-Settings", "1 2")],
                 "/nosettings": [("X-Hacknode-Release", RELEASE)]}.get(self.path.split("?")[0])
        self.send_response(404 if self.path == "/mark" else 200)
        for name, value in marks or []:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(b"x" * (healthz.MAX_BODY * 2) if marks else json.dumps({"release": RELEASE}).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def port(monkeypatch):
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Answers) as made:
        made.daemon_threads = True
        threading.Thread(target=made.serve_forever, daemon=True).start()
        monkeypatch.setattr(healthz, "connection", lambda host: healthz.http.client.HTTPConnection(
            "127.0.0.1", made.server_address[1], timeout=2))
        Answers.asked.clear()
        yield made.server_address[1]
        made.shutdown()


def test_the_probe_reads_the_release_and_settings_from_the_headers_of_any_answer(port):
    assert healthz.probe("t.example.org", "/mark") == f"404 {RELEASE} 1765138500.5"
    assert healthz.probe("t.example.org", "/nosettings") == f"200 {RELEASE} -"
    assert healthz.probe("t.example.org", "/forged") == "200 ? ?"
    assert healthz.probe("t.example.org", "/json") == f"200 {RELEASE}"       # a release served before the loader


def test_the_probe_asks_the_path_given_for_all_hosts_or_one_host(port, capsys):
    healthz.main(["--path", "/mark", "a.example.org", "b.example.org/json?deep=1"])
    assert capsys.readouterr().out.splitlines() == [f"404 {RELEASE} 1765138500.5", f"200 {RELEASE}"]
    assert sorted(Answers.asked) == ["/json?deep=1", "/mark"]
    healthz.main(["--wait", "2", "c.example.org"])
    assert Answers.asked[-1] == "/healthz"


@pytest.mark.parametrize("path", ["healthz", "/a b", "/a\r\nHost: x", "/#x", "/" + "a" * 300, "/é"])
def test_a_path_that_is_not_a_plain_absolute_path_is_never_asked(port, capsys, path):
    with pytest.raises(SystemExit, match="--path"):
        healthz.main(["--path", path, "a.example.org"])
    assert healthz.ask(f"a.example.org{path}" if path.startswith("/") else "a.example.org/ x") == "000 -"
    assert Answers.asked == []


@pytest.mark.parametrize("answer, is_healthy", [
    (f"200 {RELEASE}", True), (f"404 {RELEASE} -", True), (f"302 {RELEASE} 17.5", True), ("200 -", True),
    (f"500 {RELEASE} -", False), (f"503 {RELEASE}", False), ("404 -", False), ("404 ? ?", False), ("000 -", False)])
def test_healthy_is_below_500_from_a_release_or_a_200(answer, is_healthy):
    assert healthz.healthy(answer) is is_healthy


def test_waiting_stops_at_the_first_healthy_answer():
    answers = iter(["000 -", f"502 {RELEASE} -", f"404 {RELEASE} -", "never asked"])
    wait = functools.partial(healthz.probe_until_healthy, seconds=5, ask=lambda host: next(answers))
    assert wait("a.example.org") == f"404 {RELEASE} -"


# ---------- release.sh's health check (release-reload.sh wait_healthy), with a stand-in probe ----------

FAKE_PROBE = """import sys
answers = open(ANSWERS).read().splitlines()
asked = open(ASKED, "a"); asked.write(" ".join(sys.argv[1:]) + "\\n"); asked.close()
count = sum(1 for _ in open(ASKED))
print(answers[min(count, len(answers)) - 1])
"""


def wait_healthy(tmp_path, answers, health=None, settings=""):
    """release-reload.sh's wait_healthy for release r1 against the probe's `answers` (one per ask, the last one
    repeated): (its exit code, its last answer, the probe's arguments of each ask)."""
    release_dir = tmp_path / "releases" / RELEASE
    (release_dir / ".hacknode-procs").mkdir(parents=True)
    if health is not None:
        (release_dir / ".hacknode-procs" / "health").write_text(health)
    (tmp_path / "answers").write_text("\n".join(answers) + "\n")
    (tmp_path / "probe.py").write_text(f"ANSWERS = {str(tmp_path / 'answers')!r}\nASKED = "
                                       f"{str(tmp_path / 'asked')!r}\n" + FAKE_PROBE)
    script = (f'. "{healthz.__file__.replace("healthz.py", "release-reload.sh")}"\n'
              'say() { :; }; tell_deaf_workers() { :; }; signal_reload() { :; }\n'
              'reload_master=""; last_health=""; health_path=""\n'
              f'wait_healthy {RELEASE} t.example.org 3 "{settings}" && rc=0 || rc=$?\n'
              'printf "%s\\n%s\\n%s" "$rc" "$last_health" "$health_path"\n')
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin", "healthz": str(tmp_path / "probe.py"),
                               "releases": str(tmp_path / "releases")})
    rc, last, path = done.stdout.split("\n")
    asked = (tmp_path / "asked").read_text().splitlines() if (tmp_path / "asked").exists() else []
    return int(rc), last, path, asked


def test_a_release_is_healthy_once_its_health_path_answers_below_500_with_its_id(tmp_path):
    rc, last, path, asked = wait_healthy(tmp_path, ["000 -", "502 -", f"200 20261201T000000Z -",
                                                    f"404 {RELEASE} -"], health="/\n")
    assert (rc, last, path) == (0, f"404 {RELEASE} -", "/")
    assert asked == ["--path / t.example.org"] * 4


def test_a_release_without_a_health_file_is_asked_healthz_and_a_500_is_never_healthy(tmp_path):
    rc, last, path, asked = wait_healthy(tmp_path, [f"500 {RELEASE} -"])
    assert (rc, last, path) == (1, f"500 {RELEASE} -", "/healthz")
    assert asked[0] == "--path /healthz t.example.org"


def test_new_settings_are_waited_for_unless_the_app_reports_none(tmp_path):
    assert wait_healthy(tmp_path / "a", [f"200 {RELEASE} 17.1", f"200 {RELEASE} 17.2"], settings="17.2")[:2] == (
        0, f"200 {RELEASE} 17.2")
    assert wait_healthy(tmp_path / "b", [f"200 {RELEASE}"], settings="17.2")[:2] == (0, f"200 {RELEASE}")
    assert wait_healthy(tmp_path / "c", [f"200 {RELEASE} -"], settings="17.2")[:2] == (1, f"200 {RELEASE} -")


@pytest.mark.parametrize("health", ["healthz\n", "/a b\n", "/$(id)\n", "/`id`\n", "/x;id\n", "\n"])
def test_a_health_file_that_is_no_plain_path_fails_the_check_before_any_ask(tmp_path, health):
    rc, last, _path, asked = wait_healthy(tmp_path, [f"200 {RELEASE} -"], health=health)
    assert (rc, asked) == (1, [])
    assert last == (f"release {RELEASE}'s .hacknode-procs/health is not an absolute path of letters, digits and "
                    "._~/?=&%+-")
