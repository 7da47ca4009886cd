"""tls mode acme's decisions, pure: which certificates certbot gets, links, deletes, and how renewal is set up,
from facts as a server reports them (no SSH, no mocks); and the certbot command lines."""
import dataclasses
import datetime
import shlex

import pytest

from deploy.core import commands, layout
from deploy.inventory.model import TlsSettings
from deploy.provision.facts import PathFact
from deploy.provision.plan import SYSTEMD_RUNNING, plan_server
from deploy.tls import acme, certs
from deploy.tls.material import TlsError, server_material
from test_provision_plan import ARTIFACTS, make_inventory, provisioned_facts, root_file

PEM = certs.make_ca("pebble", datetime.datetime.now(datetime.timezone.utc))[1].decode()   # a private CA's
DIRECTORY = "https://10.131.1.1:14000/dir"


def acme_inventory(tmp_path, teams=("hacknode1", "hacknode2"), hostname="main.hacknode.test", bundle=True):
    (tmp_path / "ca.pem").write_text(PEM)
    tls = TlsSettings(mode="acme", email="ada@example.org", directory=DIRECTORY,
                      ca_bundle=str(tmp_path / "ca.pem") if bundle else "")
    inventory = make_inventory(teams)
    server = dataclasses.replace(inventory.servers[0], hostname=hostname)
    return dataclasses.replace(inventory, servers=(server,), tls=tls)


def names_of(teams, hostname="main.hacknode.test"):
    return [hostname] + [f"{t}.hacknode.test" for t in teams]


def with_certificates(facts, names):
    """`facts` where certbot has a certificate of each name and nginx's files link to it."""
    facts.globs[acme.RENEWAL_GLOB] = [f"{layout.CERTBOT_RENEWAL}/{n}.conf" for n in names]
    facts.globs[acme.OURS_GLOB] = [f"{layout.ACME_CERTS}/{n}" for n in names]
    for n in names:
        facts.paths[layout.tls_pair("acme", n).certificate] = PathFact(
            "root", "root", "0777", link=f"{layout.LETSENCRYPT_LIVE}/{n}/fullchain.pem")
    return facts


def in_place(inventory, names, systemd=False):
    """A server where `inventory` is fully provisioned, certificates and renewal included."""
    facts = provisioned_facts(inventory)
    facts.commands.update(certbot=True, openssl=True)
    if systemd:
        facts.paths[SYSTEMD_RUNNING] = root_file("0755")
        facts.paths[layout.CERTBOT_TIMER_ON] = root_file("0777")
    for f in acme.acme_files(inventory.view("main"), systemd):
        facts.files[f.path] = PathFact(f.owner, f.group, f.mode, text=f.content)
    return with_certificates(facts, names)


def step(steps, name):
    return next(s for s in steps if s.name == name)


def test_a_fresh_acme_server_gets_certbot_stand_ins_then_a_certificate_per_name_before_its_sites_are_checked(tmp_path):
    inventory = acme_inventory(tmp_path)
    facts = provisioned_facts(inventory)          # provisioned before, without TLS: no certbot, no certificate
    steps = plan_server(inventory.view("main"), facts, [], ARTIFACTS)
    assert "certbot" in step(steps, "packages").why and "openssl" in step(steps, "packages").why
    certificates = step(steps, "certificates")
    order = [s.name for s in steps]
    assert order.index("configs") < order.index("certificates") < order.index("services")
    lines = certificates.commands
    names = names_of(("hacknode1", "hacknode2"))
    assert f"{layout.ACME_TOOL} stand-in {' '.join(names)}" in lines
    issued = [line for line in lines if line.startswith("hn_must ")
              and shlex.split(line)[2:5] == ["env", f"REQUESTS_CA_BUNDLE={layout.ACME_CA_BUNDLE}", "certbot"]]
    assert [shlex.split(line)[shlex.split(line).index("-d") + 1] for line in issued] == names
    # stand-ins before nginx reloads with the challenge location, certbot after it, links last
    reload_at = lines.index("hn_nginx_up reload")
    assert lines.index(f"{layout.ACME_TOOL} stand-in {' '.join(names)}") < reload_at < lines.index(issued[0])
    assert lines[-2:] == [f"{layout.ACME_TOOL} link {' '.join(names)}", "hn_nginx_up reload"]
    shipped = {f.path for f in certificates.files}
    assert {layout.ACME_TOOL, layout.ACME_CA_BUNDLE, layout.CERTBOT_CRON} <= shipped      # no systemd here
    assert not step(steps, "old certificates").changed


def test_every_certificate_in_place_is_ok(tmp_path):
    inventory = acme_inventory(tmp_path)
    facts = in_place(inventory, names_of(("hacknode1", "hacknode2")))
    steps = plan_server(inventory.view("main"), facts, [], ARTIFACTS)
    assert not step(steps, "certificates").changed and not step(steps, "old certificates").changed


def test_a_new_team_gets_its_certificate_in_the_same_provision(tmp_path):
    inventory = acme_inventory(tmp_path, teams=("hacknode1", "hacknode2", "hacknode3"))
    facts = in_place(acme_inventory(tmp_path), names_of(("hacknode1", "hacknode2")))
    certificates = step(plan_server(inventory.view("main"), facts, [], ARTIFACTS), "certificates")
    assert certificates.why == "new: hacknode3.hacknode.test"
    issued = [line for line in certificates.commands if " certbot certonly " in line]
    assert len(issued) == 1 and "--cert-name hacknode3.hacknode.test" in issued[0]
    assert f"{layout.ACME_TOOL} stand-in hacknode3.hacknode.test" in certificates.commands


def test_a_removed_team_s_certificate_is_deleted_from_certbot_after_the_team_is_removed(tmp_path):
    old = acme_inventory(tmp_path, teams=("hacknode1", "hacknode2"))
    facts = in_place(old, names_of(("hacknode1", "hacknode2")))
    facts.present_teams = ("hacknode1", "hacknode2")
    inventory = acme_inventory(tmp_path, teams=("hacknode1",))
    steps = plan_server(inventory.view("main"), facts, [], ARTIFACTS, prune=True)
    assert [s.name for s in steps][-3:] == ["remove (not in inventory)", "old certificates", "version"]
    assert step(steps, "old certificates").commands == [
        "certbot delete --non-interactive --cert-name hacknode2.hacknode.test",
        f"{layout.ACME_TOOL} forget hacknode2.hacknode.test"]
    kept = plan_server(inventory.view("main"), facts, [], ARTIFACTS, prune=False)   # the team stays: so does its site
    assert not step(kept, "old certificates").changed


def test_certificates_hacknode_did_not_get_are_never_deleted(tmp_path):
    inventory = acme_inventory(tmp_path)
    facts = in_place(inventory, names_of(("hacknode1", "hacknode2")))
    facts.globs[acme.RENEWAL_GLOB].append(f"{layout.CERTBOT_RENEWAL}/mail.example.org.conf")
    assert not step(plan_server(inventory.view("main"), facts, [], ARTIFACTS), "old certificates").changed


def test_a_certificate_certbot_has_but_nginx_does_not_load_is_linked_without_asking_the_ca_again(tmp_path):
    inventory = acme_inventory(tmp_path)
    names = names_of(("hacknode1", "hacknode2"))
    facts = in_place(inventory, names)
    # a run that stopped between certbot and the link: nginx still loads the stand-in
    facts.paths[layout.tls_pair("acme", names[0]).certificate] = root_file("0644")
    certificates = step(plan_server(inventory.view("main"), facts, [], ARTIFACTS), "certificates")
    assert certificates.commands == [f"{layout.ACME_TOOL} link {names[0]}", "hn_nginx_up reload"]


def test_a_server_known_by_its_address_keeps_a_stand_in_the_ca_is_never_asked_for(tmp_path):
    inventory = acme_inventory(tmp_path, hostname="")          # the address 10.0.0.5 names it
    certificates = step(plan_server(inventory.view("main"), provisioned_facts(inventory), [], ARTIFACTS),
                        "certificates")
    stand_in = f"{layout.ACME_TOOL} stand-in 10.0.0.5 hacknode1.hacknode.test hacknode2.hacknode.test"
    assert stand_in in certificates.commands
    assert not any("-d 10.0.0.5" in line for line in certificates.commands)


def test_where_systemd_runs_certbot_s_timer_renews_through_hacknode_s_tool(tmp_path):
    inventory = acme_inventory(tmp_path, bundle=False)
    facts = in_place(inventory, names_of(("hacknode1", "hacknode2")), systemd=True)
    del facts.paths[layout.CERTBOT_TIMER_ON]
    del facts.files[layout.CERTBOT_DROPIN]
    certificates = step(plan_server(inventory.view("main"), facts, [], ARTIFACTS), "certificates")
    dropin = next(f for f in certificates.files if f.path == layout.CERTBOT_DROPIN)
    assert f"ExecStart=\nExecStart={layout.ACME_TOOL} renew\n" in dropin.content
    assert "systemctl daemon-reload" in certificates.commands
    assert any(line.startswith("hn_enable_now certbot.timer ") for line in certificates.commands)
    assert layout.CERTBOT_CRON not in {f.path for f in certificates.files}


def test_without_systemd_a_cron_entry_renews_twice_a_day():
    cron = next(f for f in acme.acme_files(make_inventory().view("main"), systemd=False)
                if f.path == layout.CERTBOT_CRON)
    entry = cron.content.splitlines()[-1].split()
    assert entry[1:5] == ["3,15", "*", "*", "*"] and entry[5:] == ["root", layout.ACME_TOOL, "renew"]


def test_leaving_acme_mode_deletes_every_certificate_hacknode_got(tmp_path):
    names = names_of(("hacknode1", "hacknode2"))
    facts = in_place(acme_inventory(tmp_path), names)
    inventory = dataclasses.replace(acme_inventory(tmp_path), tls=TlsSettings(mode="class-ca"))
    steps = plan_server(inventory.view("main"), facts, [], ARTIFACTS)
    old = step(steps, "old certificates")
    assert old.why == f"delete: {' '.join(sorted(names))} (tls mode class-ca)"
    assert old.commands[-1] == f"{layout.ACME_TOOL} forget {' '.join(sorted(names))}"
    assert "certificates" not in {s.name for s in steps}


def test_tls_off_plans_nothing_of_acme(tmp_path):
    inventory = make_inventory()
    steps = plan_server(inventory.view("main"), provisioned_facts(inventory), [], ARTIFACTS)
    assert not {"certificates", "old certificates"} & {s.name for s in steps}
    assert "certbot" not in step(steps, "packages").why


def test_the_certbot_command_lines():
    argv = commands.certbot_certonly("t1.class.example.org", "ada@example.org", DIRECTORY)
    assert list(argv) == [
        "certbot", "certonly", "--quiet", "--webroot", "-w", layout.ACME_WEBROOT, "--non-interactive",
        "--agree-tos", "-m", "ada@example.org", "--server", DIRECTORY, "-d", "t1.class.example.org",
        "--cert-name", "t1.class.example.org", "--deploy-hook", f"{layout.ACME_TOOL} reload"]
    assert commands.certbot_certonly("t1.x", "a@b.org", DIRECTORY, ca_bundle=True)[:3] == (
        "env", f"REQUESTS_CA_BUNDLE={layout.ACME_CA_BUNDLE}", "certbot")
    assert shlex.split(commands.certbot_delete("t1.x")) == ["certbot", "delete", "--non-interactive",
                                                            "--cert-name", "t1.x"]
    renew = commands.renew_certificates("--force-renewal")
    assert renew.root and renew.line() == f"{layout.ACME_TOOL} renew --force-renewal"


def test_the_installed_tool_knows_where_hacknode_keeps_certificates():
    text = commands.acme_tool_text()
    assert text.startswith("#!/bin/bash\n") and f"certs={layout.ACME_CERTS}\n" in text
    assert f"bundle={layout.ACME_CA_BUNDLE}\n" in text and f"live={layout.LETSENCRYPT_LIVE}\n" in text


@pytest.mark.parametrize("content, problem", [(None, "cannot be read"),
                                              ("not a certificate\n", "not a PEM certificate")])
def test_a_ca_bundle_that_cannot_be_used_is_one_line_naming_it(tmp_path, content, problem):
    path = tmp_path / "pebble.pem"
    if content is not None:
        path.write_text(content)
    with pytest.raises(TlsError) as error:
        acme.read_ca_bundle(str(path))
    assert str(error.value).startswith(f"tls.ca_bundle {path}: {problem}") and "\n" not in str(error.value)


def test_the_ca_bundle_is_checked_before_anything_is_sent_and_the_health_checks_trust_it(tmp_path):
    inventory = acme_inventory(tmp_path)
    assert server_material(inventory, say=print)["main"].trust == PEM      # pebble's root is in the bundle
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    with pytest.raises(TlsError, match=r"^tls.ca_bundle .*ca.pem: not a PEM certificate"):
        server_material(inventory, say=print)
