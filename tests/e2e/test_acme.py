"""tls mode acme against a real ACME CA: pebble on this machine (lab/acme_ca.py), validating HTTP-01 challenges
against the class nginx for real, names resolved by dnsmasq. One team on a host of its own: its certificate
issued by provisioning, served over HTTPS with pebble's chain, renewed through the installed renewal path, a
team added gets its certificate in the same provision, a team removed has its certificate deleted."""
import shutil
import socket
import ssl
from pathlib import Path

import pytest

from deploy.admin import tasks as admin
from deploy.core import commands, health, layout, runner
from deploy.inventory import load_inventory
from deploy.inventory.model import team_host
from lab import acme_ca, localhost, testhost

pytestmark = pytest.mark.e2e
DOMAIN = "hacknode.test"


@pytest.fixture(scope="module")
def acme_class(host_factory, make_class, tmp_path_factory):
    """hacknode1 and hacknode2 on a host of their own, provisioned with tls mode acme against pebble running for
    that host."""
    try:
        localhost.ensure_packages(localhost.ACME_CA_PACKAGES)
    except localhost.LocalError as e:
        pytest.fail(str(e), pytrace=False)
    host = host_factory("acme")
    # its state beside the hosts': a CA a killed run left on this host's address is stopped first
    ca = acme_ca.start_acme_ca(Path(testhost.STATE_DIR).parent / "acme-ca" / host.name, host.gateway, DOMAIN,
                               host.address)
    try:
        made = make_class(tmp_path_factory.mktemp("acme"), {"main": host}, {"hacknode1": "main", "hacknode2": "main"},
                          class_lines=[
            f"tls: {{mode: acme, email: instructor@{DOMAIN}, directory: '{ca.directory}', ca_bundle: {ca.bundle}}}"])
        made.ca = ca
        made.first_run_lines, made.first_run_steps = made.provision()
        yield made
    finally:
        acme_ca.stop_acme_ca(ca)


def served_certificate(address, name, root):
    """The certificate nginx serves for `name`, checked against pebble's root as a browser would."""
    context = ssl.create_default_context(cafile=root)
    with socket.create_connection((address, 443), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=name) as tls:
            return tls.getpeercert()


def certbot_names(c):
    return set(c.run(f"ls {layout.CERTBOT_RENEWAL}", hide=True, warn=True).stdout.replace(".conf", "").split())


def test_provisioning_gets_each_team_a_certificate_from_the_acme_ca_served_over_https(acme_class):
    address, name = acme_class.hosts["main"].address, team_host("hacknode1", DOMAIN)
    certificates = next(s for s in acme_class.first_run_steps["main"] if s.name == "certificates")
    assert certificates.why.endswith(f"new: {name} {team_host('hacknode2', DOMAIN)}"), acme_class.first_run_lines
    cert = served_certificate(address, name, acme_class.ca.root)      # refused unless pebble's chain
    assert ("DNS", name) in cert["subjectAltName"]
    assert health.probe(f"https://{address}", name, cafile=acme_class.ca.root).ok
    # the check can fail: this machine's own CAs do not trust pebble
    assert health.probe(f"https://{address}", name).code == 0
    # plain HTTP redirects, but the challenge path is answered from the webroot certbot wrote into
    assert health.get(f"http://{address}/", name)[0] == 301
    with acme_class.as_root("main") as c:
        c.run(f"mkdir -p {layout.ACME_WEBROOT}/.well-known/acme-challenge && "
              f"echo answer > {layout.ACME_WEBROOT}/.well-known/acme-challenge/e2e", hide=True)
        assert health.get(f"http://{address}/.well-known/acme-challenge/e2e", name) == (200, "answer\n")
        c.run(f"rm {layout.ACME_WEBROOT}/.well-known/acme-challenge/e2e", hide=True)
        renewal = c.run(f"cat {layout.CERTBOT_CRON}", hide=True).stdout      # no systemd on this host: cron
        assert f"root {layout.ACME_TOOL} renew" in renewal


def test_a_forced_renewal_through_the_installed_renewal_path_is_served_at_once(acme_class):
    address, name = acme_class.hosts["main"].address, team_host("hacknode1", DOMAIN)
    before = served_certificate(address, name, acme_class.ca.root)["serialNumber"]
    with acme_class.as_root("main") as c:
        runner.run(c, commands.renew_certificates("--force-renewal"))
    after = served_certificate(address, name, acme_class.ca.root)   # the deploy hook reloaded nginx
    assert after["serialNumber"] != before
    table, problems = admin.status_table(acme_class.inventory, acme_class.root_key)
    assert problems == [] and f"main: HTTPS certificate of {name} expires {after['notAfter']}" in table, table


def test_a_team_added_gets_its_certificate_and_a_team_removed_is_no_longer_renewed(acme_class):
    address, added, removed = (acme_class.hosts["main"].address, team_host("hacknode3", DOMAIN),
                               team_host("hacknode2", DOMAIN))
    keys = acme_class.directory / "keys"
    shutil.copy(keys / "hacknode1.pub", keys / "hacknode3.pub")
    changed = load_inventory(acme_class.write_inventory({"hacknode1": "main", "hacknode3": "main"}, "changed.yml"))
    lines, steps = acme_class.provision(changed, prune=True)      # hacknode3 added, hacknode2 removed: one provision
    assert next(s for s in steps["main"] if s.name == "certificates").why == f"new: {added}", lines
    old = next(s for s in steps["main"] if s.name == "old certificates")
    assert old.changed and old.why == f"delete: {removed}", lines
    assert health.probe(f"https://{address}", added, cafile=acme_class.ca.root).ok
    with acme_class.as_root("main") as c:
        assert certbot_names(c) == {team_host("hacknode1", DOMAIN), added}     # hacknode2's is no longer renewed
        assert c.run(f"test -e {layout.ACME_CERTS}/{removed}", warn=True, hide=True).failed
    lines, steps = acme_class.provision(changed)
    assert not any(s.changed for s in steps["main"]), lines


def test_teardown_takes_the_class_certificates_and_their_renewal_with_it(acme_class):
    changed = load_inventory(str(acme_class.directory / "changed.yml"))     # the class as the test above left it
    admin.teardown(changed, acme_class.root_key, say=lambda line: None)
    with acme_class.as_root("main") as c:
        assert certbot_names(c) == set()                    # nothing left for certbot to renew with a removed tool
        assert c.run(f"test -e {layout.CERTBOT_CRON}", warn=True, hide=True).failed
