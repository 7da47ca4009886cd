"""Attacks on what every team shares (nginx's connections and workers, the database's disk), on the shared
provisioned class: each is bounded to the attacking team, and the other teams' /healthz answers 200 during and
after. Load is bounded in count and time and goes only to the test host's own address."""
import json
import select
import shlex
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from deploy.admin.tasks import status_table
from deploy.inventory import load_inventory
from deploy.inventory.model import Team

pytestmark = pytest.mark.e2e
ATTACKER, OTHERS = "hacknode1", ("hacknode2", "hacknode3")
CAPPED = "hacknode2"         # the database test's team (hacknode1 stops its workers when idle: a slower first write)
BODY_TIMEOUT = HEADER_TIMEOUT = 10      # deploy/templates/nginx-limits.conf.j2
APP_TIMEOUT = 35


def others_answer(cls):
    return [cls.http(team, "/healthz")[0] for team in OTHERS]


def held_upload(cls, team, length=100_000, sent=b""):
    """A connection that sent a request's header (and `sent` of its body) and then nothing more."""
    s = socket.create_connection((cls.host_of(team).address, 80), timeout=5)
    s.sendall(f"POST /submit.json HTTP/1.1\r\nHost: {team}.hacknode.test\r\nContent-Type: application/json\r\n"
              f"Content-Length: {length}\r\n\r\n".encode() + sent)
    return s


def answered(sockets, seconds):
    """{socket: first bytes nginx sent (b"" when it closed it)} of those it answered or closed within `seconds`."""
    deadline, out = time.monotonic() + seconds, {}
    while len(out) < len(sockets) and time.monotonic() < deadline:
        readable, _, _ = select.select([s for s in sockets if s not in out], [], [], deadline - time.monotonic())
        for s in readable:
            try:
                out[s] = s.recv(64)
            except OSError:
                out[s] = b""
    return out


def closed_within(sockets, seconds):
    """Seconds until nginx answered or closed each of `sockets` (None: still open at `seconds`)."""
    started, when, left = time.monotonic(), {}, list(sockets)
    while left and time.monotonic() - started < seconds:
        for s in answered(left, 0.5):
            when[s] = time.monotonic() - started
            left.remove(s)
    return [when.get(s) for s in sockets]


def test_a_flood_of_requests_to_one_team_is_refused_past_its_limit_and_the_others_are_served(provisioned_class):
    cls = provisioned_class
    limit, extra = Team.connections, 16
    held = [held_upload(cls, ATTACKER) for _ in range(limit + extra)]
    try:
        first = answered(held, 3)
        refused = [reply for reply in first.values() if reply.startswith(b"HTTP/1.1 503")]
        own, during = cls.http(ATTACKER, "/healthz")[0], others_answer(cls)
    finally:
        for s in held:
            s.close()
    print(f"flood: {len(held)} held uploads to {ATTACKER}: {len(refused)} refused at once with 503, its own /healthz "
          f"{own}, others {during}")
    assert len(refused) == extra and own == 503
    assert during == [200, 200]
    # served again once nginx has seen the flood's connections close (it counts each until it reads its end)
    deadline = time.monotonic() + 5
    while (after := cls.http(ATTACKER, "/healthz")[0]) == 503 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert after == 200 and others_answer(cls) == [200, 200]


def test_a_body_that_stops_coming_is_cut_after_the_body_timeout(provisioned_class):
    cls = provisioned_class
    held = [held_upload(cls, ATTACKER, length=1000, sent=b'{"title": "slow') for _ in range(10)]
    try:
        during = others_answer(cls)
        closed = closed_within(held, BODY_TIMEOUT + 15)
    finally:
        for s in held:
            s.close()
    print(f"slow body: 10 uploads that stopped sending closed after {[t and round(t, 1) for t in closed]} s; "
          f"others {during}")
    assert all(t is not None and t < BODY_TIMEOUT + 5 for t in closed)
    assert during == [200, 200] and others_answer(cls) == [200, 200]


def test_a_header_sent_a_line_at_a_time_is_cut_after_the_header_timeout(provisioned_class):
    """slow-loris: each connection sends its header a line every 2 s, never ending it; nginx closes them all."""
    cls = provisioned_class
    held = [socket.create_connection((cls.host_of(ATTACKER).address, 80), timeout=5) for _ in range(10)]
    started, closed, during = time.monotonic(), {}, []
    try:
        for s in held:
            s.sendall(f"GET / HTTP/1.1\r\nHost: {ATTACKER}.hacknode.test\r\n".encode())
        while len(closed) < len(held) and time.monotonic() - started < HEADER_TIMEOUT + 20:
            for s in held:
                if s not in closed:
                    try:
                        s.sendall(b"X-Slow: 1\r\n")
                    except OSError:
                        closed[s] = time.monotonic() - started
            for s in answered([s for s in held if s not in closed], 2):
                closed[s] = time.monotonic() - started
            during += others_answer(cls)
    finally:
        for s in held:
            s.close()
    print(f"slow-loris: {len(closed)} of 10 closed, after {sorted(round(t, 1) for t in closed.values())} s; "
          f"others {set(during)}")
    assert len(closed) == len(held) and max(closed.values()) < HEADER_TIMEOUT + 5
    assert set(during) == {200} and others_answer(cls) == [200, 200]


def timed_get(url, host, timeout):
    started = time.monotonic()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Host": host}), timeout=timeout) as r:
            code = r.status
    except urllib.error.HTTPError as error:
        code = error.code
    except OSError:
        code = None
    return code, time.monotonic() - started


def test_an_app_that_never_answers_is_cut_by_nginx_and_does_not_slow_the_others(provisioned_class):
    """The team stops its own uwsgi (SIGSTOP: no harakiri can help): nginx gives up after uwsgi_read_timeout."""
    cls = provisioned_class
    address = cls.host_of(ATTACKER).address
    others, done = [], threading.Event()

    def watch_others():
        while not done.is_set():
            others.extend(timed_get(f"http://{address}/healthz", f"{t}.hacknode.test", 10) for t in OTHERS)
            time.sleep(1)

    with cls.as_team(ATTACKER) as c:
        c.run(f"pkill -STOP -u {ATTACKER} -f 'bin/uwsgi '", hide=True)
        try:
            watcher = threading.Thread(target=watch_others)
            watcher.start()
            stalled = [None] * 5
            threads = [threading.Thread(target=lambda i=i: stalled.__setitem__(i, timed_get(
                f"http://{address}/healthz", f"{ATTACKER}.hacknode.test", APP_TIMEOUT + 40))) for i in range(5)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            done.set()
            watcher.join()
        finally:
            done.set()
            c.run(f"pkill -CONT -u {ATTACKER} -f 'bin/uwsgi '", hide=True, warn=True)
    print(f"never answering: {ATTACKER}'s requests {[(code, round(t, 1)) for code, t in stalled]}; others "
          f"{len(others)} requests, codes {set(code for code, _ in others)}, slowest {max(t for _, t in others):.2f} s")
    assert all(code == 504 and t < APP_TIMEOUT + 5 for code, t in stalled)
    assert {code for code, _ in others} == {200} and max(t for _, t in others) < 2
    deadline = time.monotonic() + 30
    while cls.http(ATTACKER, "/healthz")[0] != 200 and time.monotonic() < deadline:
        time.sleep(1)
    assert cls.http(ATTACKER, "/healthz")[0] == 200 and others_answer(cls) == [200, 200]


# Run as the capped team with its own URI: a new connection's write, or the removal of the ballast.
TEAM_DB = r"""
import sys, pymongo
from pymongo.errors import OperationFailure
uri = dict(l.split("=", 1) for l in open(sys.argv[1]).read().split())["FLASK_MONGO_URI"]
db = pymongo.MongoClient(uri, serverSelectionTimeoutMS=10000).get_default_database()
try:
    if sys.argv[2] == "fill":
        db.ballast.insert_many([{"blob": "x" * 100_000} for _ in range(20)])      # 2 MB
    elif sys.argv[2] == "write":
        db.ballast.insert_one({"blob": "y"})
    elif sys.argv[2] == "hold":        # one connection kept open, writing on and on (argv[3]: a name to find it by)
        import time
        while True:
            db.held.insert_one({"blob": "z" * 20_000})
            print("wrote", flush=True)
            time.sleep(0.5)
    else:
        db.ballast.drop()
        db.held.drop()
        db.articles.delete_many({"title": {"$regex": "^cap-test"}})
    print("ok")
except OperationFailure as error:
    print("refused", error.code)
"""


def submit(cls, team, n):
    body = json.dumps({"title": f"cap-test {n}", "link": f"https://example.com/cap-test-{n}"}).encode()
    return cls.http(team, "/submit.json", data=body, headers={"Content-Type": "application/json"})[0]


def team_db(cls, team, action):
    """What the team's own database connection says ("ok", "refused CODE"), or "ended" when root's cap check ended it
    (its round found the database over the cap while the connection was writing)."""
    python = f"/home/{team}/current/rapid-env/bin/python"
    with cls.as_team(team) as c:
        done = c.run(f"{python} -c {shlex.quote(TEAM_DB)} /home/{team}/.hacknode/mongo_uri {action}",
                     hide=True, warn=True)
    return done.stdout.strip() if done.ok or done.stdout.strip() else "ended"


def start_holder(cls, team):
    """The team's own process holding a database connection opened before its cap is passed, writing all along."""
    python = f"/home/{team}/current/rapid-env/bin/python"
    with cls.as_team(team) as c:
        c.run(f"setsid nohup {python} -c {shlex.quote(TEAM_DB)} /home/{team}/.hacknode/mongo_uri hold cap-holder "
              f"> /home/{team}/tmp/cap-holder.log 2>&1 < /dev/null &", hide=True)


def holder_running(cls, team):
    with cls.as_team(team) as c:
        return c.run(f"pgrep -u {team} -f cap-holder", hide=True, warn=True).ok


def until(check, seconds):
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(2)
    return check()


def test_a_team_past_its_database_cap_is_refused_writes_until_it_deletes(provisioned_class):
    cls = provisioned_class
    capped = load_inventory(cls.write_inventory(cls.teams, name="capped.yml",
                                                extra_team_lines={CAPPED: ["database_mb: 1"]}))
    cls.provision(capped)
    try:
        assert submit(cls, CAPPED, 1) == 201
        start_holder(cls, CAPPED)
        # a round of the cap check may land while the 2 MB go in: it ends the writing connection, as it should
        assert team_db(cls, CAPPED, "fill") in ("ok", "ended")
        # the class page's next round (every 10 s, 30 s after it started) makes it read-only
        refused = until(lambda: submit(cls, CAPPED, 2) == 503, 90)
        by_itself = team_db(cls, CAPPED, "write")
        holder_ended = until(lambda: not holder_running(cls, CAPPED), 10)
        print(f"database cap: the connection opened before the cap and writing all along ended: {holder_ended}")
        table, _ = status_table(capped, cls.root_key)
        others = [submit(cls, "hacknode3", 3), *others_answer(cls)]
        print(f"database cap: app write refused {refused}, its own new connection {by_itself!r}; others {others}")
        print("\n".join(line for line in table.splitlines() if CAPPED in line))
        assert refused and by_itself == "refused 13" and others == [201, 200, 200] and holder_ended
        assert f"{CAPPED}'s database holds" in table and "over its database_mb 1" in table
        assert next(line for line in table.splitlines() if line.startswith(CAPPED)).split()[10].endswith("M/1M!")
        assert team_db(cls, CAPPED, "remove") == "ok"              # deleting is allowed over the cap
        writes_again = until(lambda: submit(cls, CAPPED, 4) in (200, 201), 60)
        print(f"database cap: after removing its data, writes again: {writes_again}")
        assert writes_again and cls.http(CAPPED, "/healthz")[0] == 200
    finally:
        with cls.as_team(CAPPED) as c:
            c.run(f"pkill -u {CAPPED} -f cap-holder; rm -f ~/tmp/cap-holder.log", hide=True, warn=True)
        team_db(cls, CAPPED, "remove")
        team_db(cls, "hacknode3", "remove")
        cls.provision()
    assert others_answer(cls) == [200, 200] and cls.http(ATTACKER, "/healthz")[0] == 200
