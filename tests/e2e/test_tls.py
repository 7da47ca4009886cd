"""HTTPS on a real class server (class-ca mode, tls_class): a team's own origin over HTTPS with the certificate checked
against the class CA, plain HTTP redirected but for the ACME challenge, TLS 1.0 and 1.1 refused by openssl's own
client, secure cookies, fab status's expiry, the class page over HTTPS, and a second provisioning that changes nothing."""
import datetime
import os
import re
import subprocess

import pytest

from deploy.admin import tasks as admin
from deploy.core import health, layout
from deploy.inventory.model import team_host
from deploy.team import tasks as team_tasks

pytestmark = pytest.mark.e2e
TEAM = "hacknode3"


def handshake(address, *options):
    """(ok, output) of openssl s_client's TLS handshake with the server's nginx for the team's name."""
    result = subprocess.run(["openssl", "s_client", "-connect", f"{address}:443", "-servername",
                             team_host(TEAM, "hacknode.test"), *options], input="", capture_output=True, text=True,
                            timeout=30)
    return result.returncode == 0 and "Cipher is (NONE)" not in result.stdout, result.stdout + result.stderr


def test_a_team_answers_over_https_with_a_certificate_from_the_class_ca(tls_class):
    address = tls_class.hosts["main"].address
    assert any("class-ca: issued" in line for line in tls_class.first_run_lines), tls_class.first_run_lines
    assert oct(os.stat(tls_class.directory / ".hacknode/class-ca/ca.key").st_mode & 0o777) == "0o600"
    by_name = health.probe(f"https://{address}", team_host(TEAM, "hacknode.test"), cafile=tls_class.ca)
    assert by_name.ok and by_name.release != "-", by_name
    # on its own origin only (routing: subdomain, the default): not under the server's, where the class page is
    assert health.probe(f"https://{address}/{TEAM}", cafile=tls_class.ca).code == 404
    # the check can fail: without the class CA, this machine's CAs refuse the certificate
    refused = health.probe(f"https://{address}", team_host(TEAM, "hacknode.test"))
    assert refused.code == 0 and "CERTIFICATE_VERIFY_FAILED" in refused.body
    # behind nginx the app knows the visitor came over HTTPS: its cookies are sent over HTTPS only
    status, headers = cookies_over_https(address, tls_class.ca)
    assert status == 200 and headers and all("; Secure" in h for h in headers), headers


def cookies_over_https(address, ca):
    conn = health.connection(f"https://{address}/", team_host(TEAM, "hacknode.test"), 10, ca)
    conn.request("GET", "/submit", headers={"Host": team_host(TEAM, "hacknode.test")})
    response = conn.getresponse()
    response.read()
    return response.status, response.headers.get_all("Set-Cookie")


def test_plain_http_redirects_to_https_but_serves_the_acme_challenge(tls_class):
    address = tls_class.hosts["main"].address
    with tls_class.as_root("main") as c:
        c.run(f"mkdir -p {layout.ACME_WEBROOT}/.well-known/acme-challenge && "
              f"echo token-answer > {layout.ACME_WEBROOT}/.well-known/acme-challenge/e2e-token", hide=True)
    conn = health.connection(f"http://{address}/", None, 10, None)
    for path, host in ((f"/{TEAM}/submit?x=1", address), ("/", team_host(TEAM, "hacknode.test"))):
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        response.read()
        assert (response.status, response.getheader("Location")) == (301, f"https://{host}{path}")
    assert health.get(f"http://{address}/.well-known/acme-challenge/e2e-token") == (200, "token-answer\n")


def test_tls_1_0_and_1_1_are_refused_and_1_2_and_1_3_accepted(tls_class):
    address = tls_class.hosts["main"].address
    # SECLEVEL=0 lets this machine's openssl offer the old versions at all: the server is what refuses them
    for old in ("-tls1", "-tls1_1"):
        ok, output = handshake(address, old, "-cipher", "DEFAULT@SECLEVEL=0")
        assert not ok, output
    for new in ("-tls1_2", "-tls1_3"):
        ok, output = handshake(address, new, "-CAfile", tls_class.ca, "-verify_return_error")
        assert ok and "Verify return code: 0 (ok)" in output, output


def test_status_shows_https_health_and_the_certificate_expiry_and_provision_again_changes_nothing(tls_class):
    table, problems = admin.status_table(tls_class.inventory, tls_class.root_key)
    assert problems == []
    row = next(line for line in table.splitlines() if line.startswith(TEAM))
    assert " 200 " in row and "https://hacknode3.hacknode.test/" in row
    year = (datetime.date.today() + datetime.timedelta(days=300)).year
    assert f"main: HTTPS certificate of {tls_class.hosts['main'].address} expires " in table
    assert str(year) in table.split("expires", 1)[1] or str(year + 1) in table.split("expires", 1)[1]
    # the class page (written by provisioning) is served over HTTPS at the server's address, its links https://
    status, page = health.get(f"https://{tls_class.hosts['main'].address}/", cafile=tls_class.ca)
    assert status == 200 and f'href="https://{team_host(TEAM, "hacknode.test")}/"' in page, page
    lines, steps = tls_class.provision()
    assert not any(s.changed for s in steps["main"]), lines
    with tls_class.as_root("main") as c:      # the key as files mode uploads it too: root's, 0600
        key = c.run(f"stat -c '%U:%G %a' {layout.tls_pair('class-ca', 'any').key}", hide=True).stdout.strip()
    assert key == "root:root 600"


def test_a_teams_reload_is_checked_over_https(tls_class, capsys):
    """fab restart's check is a deploy's (release.sh wait_healthy, the server's probe): over HTTPS, and said so."""
    team = next(t for t in tls_class.inventory.teams if t.name == TEAM)
    with tls_class.as_team(TEAM) as c:
        team_tasks.restart(c, team, tls_class.inventory)
    out = capsys.readouterr().out
    assert re.search(rf"https://{TEAM}.hacknode.test/healthz: 200, release \S+: ok", out), out
