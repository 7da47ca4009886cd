"""The class status collector, run here against files and sockets it would meet on a server: the names it shows are
safe bytes, class_status.parse refuses forged lines, and an awake team's health comes from its uwsgi master's stats
socket, bounded in size and time."""
import json
import os
import socket
import threading
import time
from types import SimpleNamespace

import pytest

from deploy.remote import class_collect, class_health, class_status
from deploy.remote.class_collect import STATS_BYTES, STATS_SECONDS, health, releases, safe_name, stats_health
from deploy.remote.class_status import FIELDS


# ---------- the collector's names and their parse ----------

def test_the_collector_shows_a_teams_release_name_as_safe_bytes():
    assert safe_name("20261121T082416Z-6b7f8cd") == "20261121T082416Z-6b7f8cd"
    assert safe_name("evil\tname\x1b[31mred\nhacknode9\tRUNNING") == "evil?name??31mred?hacknode9?RUNNING"
    assert safe_name("é" + "a" * 100) == "??" + "a" * 62      # bytes, at most 64
    assert safe_name(b"\xff\xfe20261121T082416Z") == "??20261121T082416Z"      # a folder's name, any bytes


def test_a_release_folder_linked_elsewhere_shows_no_name_from_there(tmp_path):
    home = tmp_path / "hacknode1"
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "root-secret-name").mkdir()
    home.mkdir()
    (home / "releases").symlink_to(tmp_path / "elsewhere")
    (home / "current").symlink_to("releases/evil\nname")
    assert releases(str(home)) == ("evil?name", "-")


def test_the_collectors_lines_read_back_as_collected():
    row = dict(zip(FIELDS, team_line("hacknode1").split("\t")))
    collected = {"teams": [row], "quota": "on", "now": 1764900000, "version": "0.22.0",
                 "certificates": [{"name": "main.example.org", "expires": "Jan  6 12:00:00 2028 GMT"}],
                 "submissions": {"hacknode1": {"release": "20261121T082416Z", "taken": "2026-11-21T09:00:00Z",
                                               "freeze": "frozen since 2026-11-21T09:00:00Z", "live": True}},
                 "backups": {"hacknode1": ["1764890000", "2048", "hacknode1-x.tar.gz", "verified"]},
                 "procs": {"hacknode1": ["2", "on", "cron-report", "1764890000", "ok", "0"]}}
    assert class_status.parse(class_status.lines(collected)) == collected
    unrecorded = {**collected, "version": None}       # a server an older hacknode provisioned
    assert class_status.parse(class_status.lines(unrecorded)) == unrecorded


def team_line(team, release="20261121T082416Z", healthz_code="200"):
    return "\t".join([team, "RUNNING", "1:00:00", release, healthz_code, "1024", "3", "2048", "-", "rlimits", "0",
                      release])


def test_a_forged_line_cannot_add_a_team_nor_replace_one():
    text = "\n".join(["teams\thacknode1 hacknode2", team_line("hacknode1"), team_line("hacknode9"),
                      team_line("hacknode2", healthz_code="502"), team_line("hacknode2"), "now\t1764900000"])
    parsed = class_status.parse(text)
    assert [(row["team"], row["healthz"]) for row in parsed["teams"]] == [("hacknode1", "200"), ("hacknode2", "502")]


def test_no_cell_carries_a_control_character():
    text = "teams\thacknode1\n" + team_line("hacknode1", release="a\x1bb\x9bc\u202ed\x0be") + "\nquota\ton\x07"
    parsed = class_status.parse(text)
    assert parsed["teams"][0]["release"] == "a?b?c?d?e" and parsed["quota"] == "on?"
    assert len(FIELDS) == len(team_line("x").split("\t"))


def test_lines_of_a_collector_from_before_the_teams_line_still_count():
    assert [row["team"] for row in class_status.parse(team_line("hacknode1"))["teams"]] == ["hacknode1"]


# ---------- an awake team's health from its uwsgi master's stats socket ----------

def stats_server(path, answer, drip=False):
    """A stats socket at `path` answering `answer` (bytes; with `drip`, a byte every 0.2 s without end)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def serve():
        conn, _ = listener.accept()
        with conn:
            try:
                while drip:
                    conn.sendall(b" ")
                    time.sleep(0.2)
                conn.sendall(answer)
            except OSError:
                pass
        listener.close()
    threading.Thread(target=serve, daemon=True).start()
    return str(path)


def workers(*states):
    return json.dumps({"workers": [{"pid": 10 + n, "accepting": accepting, "status": status}
                                   for n, (accepting, status) in enumerate(states)]}).encode()


@pytest.mark.parametrize("answer, health", [
    (workers((1, "idle"), (0, "cheap")), "up"), (workers((1, "busy")), "up"),
    (workers((0, "cheap"), (0, "cheap")), "idle"), (workers((0, "idle")), "down"), (b"not json", "-"),
    (b'{"workers": "x"}', "-"), (b"[1]", "-")])
def test_an_awake_teams_health_is_read_from_its_masters_stats(tmp_path, answer, health):
    assert stats_health(stats_server(tmp_path / "stats.sock", answer), os.getuid()) == health


def test_stats_that_never_end_or_a_link_or_anothers_socket_show_unknown_health(tmp_path):
    started = time.monotonic()
    assert stats_health(stats_server(tmp_path / "drip.sock", b"", drip=True), os.getuid()) == "-"
    assert time.monotonic() - started < STATS_SECONDS + 1
    huge = stats_server(tmp_path / "huge.sock", b"[" + b"1," * STATS_BYTES + b"1]")
    assert stats_health(huge, os.getuid()) == "-"
    good = stats_server(tmp_path / "good.sock", workers((1, "idle")))
    (tmp_path / "link.sock").symlink_to(good)
    assert stats_health(str(tmp_path / "link.sock"), os.getuid()) == "-"      # a link to another team's socket
    assert stats_health(good, os.getuid() + 1) == "-"                           # a socket the team did not make
    assert stats_health(str(tmp_path / "none.sock"), os.getuid()) == "-"


def test_the_class_page_asks_no_team_and_tells_idle_awake_and_stopped_apart():
    program = {"asleep": ("RUNNING", 100, "1:00:00"), "awake": ("RUNNING", 200, "1:00:00"), "stopped": ("FATAL", None, "-")}
    children = {200: 1}                  # only awake's master has a worker; no stats socket here for awake
    found = health(["asleep", "awake", "stopped", "missing"], "example.org", "quiet", program, {}, children)
    assert found == {"asleep": "idle", "awake": "-", "stopped": "down", "missing": "down"}



# ---------- the health path of each team's live release, read as root (class_health) ----------

TEAM_UID = 4242


def live_release(tmp_path, health="/\n", **changes):
    """A team's home as `procfile write` leaves it (current -> releases/R, R/.hacknode-procs/health), all the
    team's; `changes` swap a name (relative to the home) for "link:TARGET", "fifo" or "owner:UID"."""
    home = tmp_path / "hacknode1"
    procs = home / "releases" / "20261207T201500Z" / ".hacknode-procs"
    procs.mkdir(parents=True)
    (procs / "health").write_text(health)
    (home / "current").symlink_to("releases/20261207T201500Z")
    for name, change in changes.items():
        target = home / name.replace("__", "/")
        if change.startswith("link:"):
            os.rename(target, f"{target}.moved") if target.exists() else None
            target.symlink_to(change[5:])
        elif change == "fifo":
            target.unlink()
            os.mkfifo(target)
    for path in [home, *home.rglob("*")]:
        os.lchown(path, TEAM_UID, TEAM_UID)
    for name, change in changes.items():
        if change.startswith("owner:"):
            os.lchown(home / name.replace("__", "/"), int(change[6:]), int(change[6:]))
    return str(home)


def test_the_live_releases_health_path_is_read_and_the_probe_asks_it(tmp_path, monkeypatch):
    assert class_health.health_path(live_release(tmp_path, "/status?full=1\n"), TEAM_UID) == "/status?full=1"
    asked = []
    monkeypatch.setattr(class_collect, "run", lambda argv, **kw: asked.append(argv) or "404 x -\n000 -\n")
    monkeypatch.setattr(class_collect.layout, "TeamPaths", lambda team: SimpleNamespace(home=str(tmp_path / team)))
    assert class_collect.http_health(["hacknode1", "hacknode2"], "d.test", {"hacknode1": TEAM_UID}) == {
        "hacknode1": "404", "hacknode2": "000"}
    assert asked[0][-2:] == ["hacknode1.d.test/status?full=1", "hacknode2.d.test/healthz"]   # no release: default


HEALTH_FILE = "releases__20261207T201500Z__.hacknode-procs__health"


@pytest.mark.parametrize("changes", [
    {HEALTH_FILE: "link:DECOY/health"}, {HEALTH_FILE: f"owner:{TEAM_UID + 1}"}, {HEALTH_FILE: "fifo"},
    {"releases__20261207T201500Z__.hacknode-procs": "link:DECOY"}, {"releases": f"owner:{TEAM_UID + 1}"},
    {"current": "link:DECOY/r"}, {"current": "link:releases/../../decoy/r"}, {"releases": "link:DECOY/releases"}])
def test_a_health_file_reached_through_a_link_or_of_another_owner_is_never_read(tmp_path, changes):
    """Root never reads a file the team does not own nor follows a link but `current` to releases/<name>: the
    default path, at once (a FIFO opened without blocking). The decoys are another owner's (root's) files that would
    pass: /decoy in DECOY/health, DECOY/r/.hacknode-procs/health and DECOY/releases/20261207T201500Z/..."""
    decoy = tmp_path / "decoy"
    for folder in (decoy, decoy / "r" / ".hacknode-procs", decoy / "releases" / "20261207T201500Z" / ".hacknode-procs"):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "health").write_text("/decoy\n")
    changes = {name: change.replace("DECOY", str(decoy)) for name, change in changes.items()}
    started = time.monotonic()
    assert class_health.health_path(live_release(tmp_path, **changes), TEAM_UID) == "/healthz"
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("health", ["/a b\n", "healthz\n", "/" + "a" * 400 + "\n", "/é\n", "", "/x\x1b[31m\n"])
def test_a_health_line_that_is_no_plain_short_path_is_the_default(tmp_path, health):
    assert class_health.health_path(live_release(tmp_path, health), TEAM_UID) == "/healthz"
