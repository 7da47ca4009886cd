"""Attacks on origins: what a team's app can do to other teams and to visitors through the browser and through
nginx. hacknode1 deploys an app whose responses carry whatever headers a query string asks for (X-Accel-Redirect
to another team, to the class page, to an internal path; X-Accel-Limit-Rate and friends; Service-Worker-Allowed):
nginx answers with the team's own response, obeys none of them and passes none on. Teams are served on their own
origins by default; a class that chooses path routing still works and `fab status` says its teams share an origin.
Over HTTPS the session cookie is host-only (__Host-). The other teams' /healthz answers 200 throughout, and
hacknode1 gets the real app back."""
import http.client
import json
import shutil
import socket
import threading
from pathlib import Path
from urllib.parse import urlencode

import pytest

from deploy.admin import tasks as admin
from deploy.admin.status import as_json
from deploy.core import health
from deploy.inventory.model import team_host
from deploy.team import tasks as team_tasks

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
WHEEL_CACHE = str(REPO / ".cache" / "wheels")
SSH_OPTIONS = ("-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR")
ATTACKER, VICTIM, BYSTANDER = "hacknode1", "hacknode2", "hacknode3"
MARKER = "own response of the attacking app"
# the attacking app: a request with ?own=1 gets MARKER (padded, so a rate limit would show) and every
# `header=Name:value` of its query string as a response header
ATTACK_HOOK = f'''

from flask import make_response, request


@app.before_request
def headers_from_the_query():
    if "own" not in request.args:
        return None
    response = make_response({MARKER!r} + "." * 4000)
    for pair in request.args.getlist("header"):
        name, _, value = pair.partition(":")
        response.headers[name] = value
    return response
'''
PASSED_HEADERS = ("X-Accel-Redirect", "X-Accel-Buffering", "X-Accel-Limit-Rate", "X-Accel-Expires",
                  "X-Accel-Charset", "Service-Worker-Allowed")


def attacking_app(directory):
    shutil.copytree(REPO, directory, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".cache", ".hacknode", "test-artifacts", "__pycache__", ".pytest_cache"))
    wsgi = directory / "app" / "wsgi.py"
    wsgi.write_text(wsgi.read_text() + ATTACK_HOOK)
    return directory


def deploy(cls, team_name, source):
    team = next(t for t in cls.inventory.teams if t.name == team_name)
    with cls.as_team(team_name) as c:
        return team_tasks.deploy_release(c, team, cls.inventory, str(source), cache_dir=WHEEL_CACHE,
                                         ssh_options=SSH_OPTIONS)


def request(cls, team, path, headers, by="subdomain", timeout=10):
    """(status, {header: value}, body) of GET ?own=1 with `headers` asked of the app, through nginx by subdomain
    or by path; (None, {}, why) when no whole answer came within `timeout` seconds (a rate-limited answer trickles,
    headers included: the socket's own timeout alone would never end it)."""
    query = urlencode([("own", "1")] + [("header", f"{name}:{value}") for name, value in headers])
    url = f"/{team}{path}" if by == "path" else path
    address = cls.host_of(team).address
    conn = http.client.HTTPConnection(address, 80, timeout=timeout)
    cut = threading.Timer(timeout, lambda: conn.sock and conn.sock.shutdown(socket.SHUT_RDWR))
    try:
        conn.connect()
        cut.start()
        conn.request("GET", f"{url}?{query}", headers={"Host": team_host(team, "hacknode.test")
                                                        if by == "subdomain" else address})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode(errors="replace")
    except (OSError, http.client.HTTPException) as error:
        return None, {}, f"no whole answer within {timeout}s: {error!r}"
    finally:
        cut.cancel()
        conn.close()


def others_healthy(cls, teams=(VICTIM, BYSTANDER)):
    return {team: cls.http(team, "/healthz")[0] for team in teams if team in cls.teams}


def redirect_attacks():
    """{attack: X-Accel-Redirect target}: another team's app and static files, the class page, an internal path."""
    return {"another team's front page": f"/{VICTIM}/", "another team's /healthz": f"/{VICTIM}/healthz",
            "another team's static file": f"/{VICTIM}/static/vendor/bootstrap/bootstrap.min.css",
            "the class page": "/", "a named location": "@internal", "nginx's own index": "/index.html"}


def attack_outcomes(cls, by):
    """{attack: outcome}: 'own response' when nginx answered the team's own response with no X-Accel-*,
    Service-Worker-Allowed header passed, else what happened instead."""
    outcomes = {}
    attacks = {f"X-Accel-Redirect to {name}": [("X-Accel-Redirect", target)]
               for name, target in redirect_attacks().items()}
    attacks.update({"X-Accel-Limit-Rate 1 byte/s": [("X-Accel-Limit-Rate", "1")],
                    "X-Accel-Buffering no": [("X-Accel-Buffering", "no")],
                    "X-Accel-Expires": [("X-Accel-Expires", "3600")],
                    "X-Accel-Charset": [("X-Accel-Charset", "koi8-r")],
                    "Service-Worker-Allowed /": [("Service-Worker-Allowed", "/")]})
    for name, headers in attacks.items():
        status, answered, body = request(cls, ATTACKER, "/", headers, by=by, timeout=5)
        passed = sorted(h for h in answered if h.title() in PASSED_HEADERS or h.lower().startswith("x-accel"))
        if status == 200 and body.startswith(MARKER) and not passed:
            outcomes[name] = "own response"
        else:
            outcomes[name] = f"{status} {body[:60]!r} passed={passed}"
    return outcomes


ALL_OWN = dict.fromkeys(list(f"X-Accel-Redirect to {name}" for name in redirect_attacks()) +
                        ["X-Accel-Limit-Rate 1 byte/s", "X-Accel-Buffering no", "X-Accel-Expires",
                         "X-Accel-Charset", "Service-Worker-Allowed /"], "own response")


@pytest.fixture(scope="module")
def attacked_class(provisioned_class, tmp_path_factory):
    """provisioned_class with hacknode1 running the attacking app; the real app is deployed again after."""
    deploy(provisioned_class, ATTACKER, attacking_app(tmp_path_factory.mktemp("attack") / "repo"))
    yield provisioned_class
    deploy(provisioned_class, ATTACKER, REPO)
    assert provisioned_class.http(ATTACKER, "/healthz")[0] == 200
    assert others_healthy(provisioned_class) == {VICTIM: 200, BYSTANDER: 200}


def test_a_teams_headers_command_nginx_nothing_and_reach_no_visitor(attacked_class):
    assert others_healthy(attacked_class) == {VICTIM: 200, BYSTANDER: 200}
    outcomes = attack_outcomes(attacked_class, "subdomain")
    print("\n" + json.dumps(outcomes, indent=1))
    assert outcomes == ALL_OWN
    assert others_healthy(attacked_class) == {VICTIM: 200, BYSTANDER: 200}


def test_by_default_each_team_is_served_only_on_its_own_origin(provisioned_class):
    address = provisioned_class.host_of(VICTIM).address
    for path in (f"/{VICTIM}/", f"/{VICTIM}/healthz", f"/{VICTIM}/static/vendor/bootstrap/bootstrap.min.css"):
        status, body = health.get(f"http://{address}{path}")
        assert status == 404 and "release" not in body, (path, status, body[:200])
    assert health.get(f"http://{address}/{VICTIM}")[0] == 404        # not even its redirect to /<team>/
    assert provisioned_class.http(VICTIM, "/healthz")[0] == 200      # its own origin, <team>.<domain>
    table, problems = admin.status_table(provisioned_class.inventory, provisioned_class.root_key)
    assert problems == [] and "share one origin" not in table
    row = next(line for line in table.splitlines() if line.startswith(VICTIM))
    assert f"http://{VICTIM}.hacknode.test/" in row and f"{address}/{VICTIM}/" not in row, row
    assert others_healthy(provisioned_class) == {VICTIM: 200, BYSTANDER: 200}


@pytest.fixture(scope="module")
def path_class(host_factory, make_class, tmp_path_factory):
    """A class of its own that chooses path routing (class: routing: path), hacknode1 running the attacking app."""
    made = make_class(tmp_path_factory.mktemp("path-routing"), {"main": host_factory("paths")},
                      {ATTACKER: "main", VICTIM: "main"}, routing="path")
    made.provision()
    deploy(made, ATTACKER, attacking_app(tmp_path_factory.mktemp("attack-path") / "repo"))
    return made


def test_path_routing_when_chosen_works_says_origins_are_shared_and_still_obeys_no_team_header(path_class):
    address = path_class.host_of(VICTIM).address
    outcomes = attack_outcomes(path_class, "path")      # first: the redirects by path reach other teams' locations
    print("\n" + json.dumps(outcomes, indent=1))
    assert outcomes == ALL_OWN
    assert others_healthy(path_class) == {VICTIM: 200}
    status, page = path_class.http(VICTIM, "/", by="path")
    assert status == 200 and f'href="/{VICTIM}/submit"' in page
    assert path_class.http(VICTIM, "/static/vendor/bootstrap/bootstrap.min.css", by="path")[0] == 200
    assert path_class.http(VICTIM, "/healthz")[0] == 200                 # and on its own origin too
    table, problems = admin.status_table(path_class.inventory, path_class.root_key)
    warning = f"warning: main: {ATTACKER}, {VICTIM} and the class page share one origin (path routing, http://{address}/<team>/)"
    assert problems == [] and warning in table, table
    assert f"http://{address}/{VICTIM}/" in next(line for line in table.splitlines() if line.startswith(VICTIM))
    report = json.loads(as_json(admin.status_report(path_class.inventory, path_class.root_key)[0]))
    assert any(w.startswith(warning) for w in report["warnings"]), report["warnings"]


def test_over_https_the_session_cookie_is_host_only(tls_class):
    address, team = tls_class.hosts["main"].address, BYSTANDER
    conn = health.connection(f"https://{address}/", team_host(team, "hacknode.test"), 10, tls_class.ca)
    conn.request("GET", "/submit", headers={"Host": team_host(team, "hacknode.test")})
    response = conn.getresponse()
    response.read()
    cookies = response.headers.get_all("Set-Cookie") or []
    session = [c for c in cookies if "session=" in c.split(";")[0]]
    print(f"\nSet-Cookie: {session}")
    assert response.status == 200 and len(session) == 1, cookies
    attributes = [part.strip().lower() for part in session[0].split(";")[1:]]
    assert session[0].startswith("__Host-session=") and "secure" in attributes and "path=/" in attributes
    assert not any(a.startswith("domain") for a in attributes), session
    assert health.probe(f"https://{address}", team_host(team, "hacknode.test"), cafile=tls_class.ca).ok
