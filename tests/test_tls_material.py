"""HTTPS material on the instructor's side, before anything is sent: `files` mode's certificate and key refused
with one line naming the file (unreadable, not PEM, another key, expired, names not covered), `class-ca` mode's CA
made once (key 0600, in a folder git ignores) and its server certificate issued again only when needed; and the
server's tls step (pure) from that material."""
import datetime
import os
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from deploy.core import layout
from deploy.inventory import load_inventory
from deploy.provision.facts import Facts, PathFact
from deploy.tls import certs, material as tls_material
from deploy.tls.plan import plan_tls
from inventories.keys import ed25519_key

NOW = datetime.datetime(2026, 12, 2, 12, 0, tzinfo=datetime.timezone.utc)
NAMES = ("main.example.org", "hacknode1.class.example.org", "hacknode2.class.example.org")


def write_class(folder, tls_line):
    key = ed25519_key()
    path = folder / "class.yml"
    path.write_text("class: {name: spring, domain: class.example.org}\n" + tls_line + "\n"
                    "servers:\n  - {name: main, address: 192.0.2.10, hostname: main.example.org}\n"
                    "teams:\n" + "".join(f"  - {{name: hacknode{n}, keys: [\"{key}\"]}}\n" for n in (1, 2)))
    return load_inventory(str(path))


def instructor_files(folder, names=("main.example.org", "*.class.example.org"), now=NOW, days=90):
    """A chain and key as an instructor would have them from a CA (written to folder/fullchain.pem, privkey.pem)."""
    ca_key, ca_cert = certs.make_ca("elsewhere", now - datetime.timedelta(days=days))
    key, chain = certs.issue(ca_key, ca_cert, list(names), now, days=days)
    (folder / "fullchain.pem").write_bytes(chain)
    (folder / "privkey.pem").write_bytes(key)
    return folder / "fullchain.pem", folder / "privkey.pem"


FILES_LINE = "tls: {mode: files, certificate: fullchain.pem, key: privkey.pem}"


def refusal(tmp_path, now=NOW):
    inventory = write_class(tmp_path, FILES_LINE)
    with pytest.raises(tls_material.TlsError) as caught:
        tls_material.server_material(inventory, now, say=lambda line: None)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_good_files_are_taken_as_they_are(tmp_path):
    chain, key = instructor_files(tmp_path)
    material = tls_material.server_material(write_class(tmp_path, FILES_LINE), NOW, say=print)["main"]
    assert material.certificate == chain.read_text() and material.key == key.read_text() and material.trust == ""


def test_a_wrong_key_is_refused(tmp_path):
    instructor_files(tmp_path)
    (tmp_path / "privkey.pem").write_bytes(certs.key_pem(certs.new_key()))
    assert refusal(tmp_path) == (f"tls.key {tmp_path}/privkey.pem: is not the key of the certificate "
                                 f"{tmp_path}/fullchain.pem")


def test_an_expired_certificate_is_refused(tmp_path):
    instructor_files(tmp_path, now=NOW - datetime.timedelta(days=100), days=90)
    assert refusal(tmp_path) == f"tls.certificate {tmp_path}/fullchain.pem: expired on 2026-11-22"


def test_names_not_covered_are_named(tmp_path):
    instructor_files(tmp_path, names=("main.example.org", "hacknode1.class.example.org"))
    assert refusal(tmp_path) == (f"tls.certificate {tmp_path}/fullchain.pem: does not cover "
                                 "hacknode2.class.example.org (it covers main.example.org, hacknode1.class.example.org)")


def test_a_wildcard_of_another_domain_or_two_labels_deep_covers_nothing():
    assert certs.covers(["*.class.example.org"], "hacknode1.class.example.org")
    assert not certs.covers(["*.class.example.org"], "a.hacknode1.class.example.org")
    assert not certs.covers(["*.example.org"], "hacknode1.class.example.org")
    assert not certs.covers(["*.class.example.org"], "class.example.org")


def test_unreadable_and_not_pem_files_are_refused(tmp_path):
    assert refusal(tmp_path).startswith(f"tls.certificate {tmp_path}/fullchain.pem: cannot be read: No such file")
    instructor_files(tmp_path)
    (tmp_path / "fullchain.pem").write_text("not a certificate\n")
    assert refusal(tmp_path) == (f"tls.certificate {tmp_path}/fullchain.pem: not a PEM certificate "
                                 "(-----BEGIN CERTIFICATE-----)")
    instructor_files(tmp_path)
    (tmp_path / "privkey.pem").write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    assert refusal(tmp_path).startswith(f"tls.key {tmp_path}/privkey.pem: not an unencrypted PEM private key")
    os.chmod(tmp_path / "privkey.pem", 0)
    if os.geteuid() != 0:       # root reads any file
        assert "cannot be read: Permission denied" in refusal(tmp_path)


def test_class_ca_is_made_once_and_issues_a_certificate_for_every_name(tmp_path):
    inventory = write_class(tmp_path, "tls: {mode: class-ca}")
    said = []
    material = tls_material.server_material(inventory, NOW, say=said.append)["main"]
    folder = tmp_path / ".hacknode" / "class-ca"
    assert oct(os.stat(folder / "ca.key").st_mode & 0o777) == "0o600"
    assert oct(os.stat(folder / "main.key").st_mode & 0o777) == "0o600"
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)      # the inventory in a repository:
    ignored = subprocess.run(["git", "check-ignore", "-q", str(folder / "ca.key")], cwd=tmp_path)
    assert ignored.returncode == 0                                         # its CA's files are not in it
    cert = x509.load_pem_x509_certificate(material.certificate.encode())
    assert sorted(certs.covered_names(cert)) == sorted(NAMES)
    ca = x509.load_pem_x509_certificate((folder / "ca.crt").read_bytes())
    assert material.trust == (folder / "ca.crt").read_text()
    ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec_signature())   # signed by the class CA
    assert tls_material.check_files(tls_files(folder, "main"), NAMES, NOW).key == material.key
    assert len(said) == 2 and "made the class CA" in said[0] and "issued" in said[1]


def ec_signature():
    from cryptography.hazmat.primitives.asymmetric import ec
    return ec.ECDSA(hashes.SHA256())


def tls_files(folder, server):
    from deploy.inventory.model import TlsSettings
    return TlsSettings(mode="files", certificate=str(folder / f"{server}.crt"), key=str(folder / f"{server}.key"))


def test_class_ca_issues_again_only_when_names_change_or_the_end_nears(tmp_path):
    inventory = write_class(tmp_path, "tls: {mode: class-ca}")
    first = tls_material.server_material(inventory, NOW, say=print)["main"]
    said = []
    assert tls_material.server_material(inventory, NOW + datetime.timedelta(days=300), say=said.append)["main"] == first
    assert said == []                                       # nothing to do: the same files
    renewed = tls_material.server_material(inventory, NOW + datetime.timedelta(days=380), say=said.append)["main"]
    assert renewed.certificate != first.certificate and renewed.trust == first.trust and len(said) == 1
    (tmp_path / "class.yml").write_text((tmp_path / "class.yml").read_text().replace(
        "  - {name: hacknode2", "  - {name: hacknode3, keys: [\"" + ed25519_key() + "\"]}\n  - {name: hacknode2"))
    bigger = load_inventory(str(tmp_path / "class.yml"))
    grown = tls_material.server_material(bigger, NOW + datetime.timedelta(days=1), say=said.append)["main"]
    cert = x509.load_pem_x509_certificate(grown.certificate.encode())
    assert "hacknode3.class.example.org" in certs.covered_names(cert) and len(said) == 2
    assert grown.trust == first.trust                         # the same CA: learners trust it once


def facts_with(files=None, paths=None):
    facts = Facts()
    facts.files = {path: PathFact("root", "root", "0644", text=text) for path, text in (files or {}).items()}
    facts.paths = {path: PathFact(*state) for path, state in (paths or {}).items()}
    return facts


def test_the_tls_step_installs_the_key_0600_and_never_shows_it(tmp_path):
    inventory = write_class(tmp_path, "tls: {mode: class-ca}")
    material = tls_material.server_material(inventory, NOW, say=print)["main"]
    view = inventory.view("main")
    step = plan_tls(view, facts_with(), material)
    assert step.changed and material.key not in step.diff and material.key not in "\n".join(step.commands)
    assert [u.text for u in step.uploads] == [material.key]
    assert f"hn_install \"$HN_STAGE/tls-class.key\" {layout.TLS_DIR}/class.key root root 0600" in step.commands
    assert f"install -d -o root -g root -m 0755 {layout.ACME_WEBROOT}" in step.commands
    installed = {f.path: f.content for f in step.files}
    assert installed == {layout.HEALTHZ_CONF: "https\n", layout.HEALTHZ_TRUST: material.trust,
                         f"{layout.TLS_DIR}/class.crt": material.certificate}
    done = facts_with(installed, {f"{layout.TLS_DIR}/class.key": ("root", "root", "0600"),
                                  layout.ACME_WEBROOT: ("root", "root", "0755")})
    assert not plan_tls(view, done, material).changed
    loose = facts_with(installed, {f"{layout.TLS_DIR}/class.key": ("root", "root", "0644"),
                                   layout.ACME_WEBROOT: ("root", "root", "0755")})
    assert plan_tls(view, loose, material).why == "key"
    off = write_class(tmp_path, "tls: {mode: off}").view("main")
    step = plan_tls(off, done, tls_material.ServerTls())
    assert step.commands == [f"hn_remove {layout.HEALTHZ_TRUST}", f"hn_remove {layout.HEALTHZ_CONF}"]   # TLS off again


def test_provisioning_stops_at_a_bad_file_before_any_server_is_reached(tmp_path):
    """192.0.2.10 is a documentation address nothing answers at: the refusal comes before any connection."""
    from deploy.provision.run import provision_class
    instructor_files(tmp_path, names=("main.example.org",))
    said = []
    with pytest.raises(tls_material.TlsError, match=r"fullchain.pem: does not cover hacknode1.class.example.org"):
        provision_class(write_class(tmp_path, FILES_LINE), say=said.append)
    assert said == []
