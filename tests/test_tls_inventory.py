"""The inventory's `tls:` section: each mode's fields, their defaults, and every mistake as file:line: field."""
import pytest

from deploy.inventory import load_inventory
from deploy.inventory.model import LETSENCRYPT_DIRECTORY, TlsSettings
from test_inventory import problems_of, write

CLASS = """
    class: {name: c, domain: class.example.org}
    TLS
    servers:
      - {name: main, address: 192.0.2.10}
    teams:
      - {name: team1, keys: ["KEY"]}
"""


def with_tls(tmp_path, tls):
    return write(tmp_path, CLASS.replace("TLS", tls))


def test_no_tls_section_is_plain_http(tmp_path):
    inventory = load_inventory(str(with_tls(tmp_path, "")))
    assert inventory.tls == TlsSettings() and inventory.tls.mode == "off" and not inventory.tls.on
    assert inventory.view("main").tls.scheme == "http"


def test_each_mode_with_its_fields(tmp_path):
    acme = load_inventory(str(with_tls(tmp_path, "tls: {mode: acme, email: ada@example.org}"))).tls
    assert (acme.mode, acme.email, acme.directory, acme.hsts, acme.ca_bundle) == (
        "acme", "ada@example.org", LETSENCRYPT_DIRECTORY, 0, "")
    pebble = load_inventory(str(with_tls(tmp_path, "tls: {mode: acme, email: a@b.test, directory: "
                                         "'https://10.0.0.1:14000/dir', ca_bundle: certs/pebble.pem}"))).tls
    assert pebble.directory == "https://10.0.0.1:14000/dir" and pebble.ca_bundle == str(tmp_path / "certs/pebble.pem")
    files = load_inventory(str(with_tls(tmp_path, "tls: {mode: files, certificate: tls/fullchain.pem, "
                                        "key: tls/privkey.pem, hsts: 31536000}"))).tls
    assert (files.certificate, files.key, files.hsts) == (str(tmp_path / "tls/fullchain.pem"),
                                                         str(tmp_path / "tls/privkey.pem"), 31536000)
    class_ca = load_inventory(str(with_tls(tmp_path, "tls: {mode: class-ca, hsts: off}"))).tls
    assert class_ca.on and class_ca.scheme == "https" and class_ca.hsts == 0
    assert load_inventory(str(with_tls(tmp_path, "tls: {mode: off}"))).tls.mode == "off"


@pytest.mark.parametrize("tls,expected", [
    ("tls: {mode: https}", "2: tls.mode: 'https' is not one of off, acme, files, class-ca"),
    ("tls: {hsts: 600}", "2: tls: 'mode' is required"),
    ("tls: on", "2: tls: must be a mapping"),
    ("tls: {mode: acme}", "2: tls: 'email' is required in mode acme"),
    ("tls: {mode: acme, email: ada}", "2: tls.email: 'ada' is not an email address"),
    ("tls: {mode: acme, email: a@b.org, directory: 'http://acme.test/dir'}",
     "2: tls.directory: 'http://acme.test/dir' is not an https:// URL"),
    ("tls: {mode: files, certificate: a.pem}", "2: tls: 'key' is required in mode files"),
    ("tls: {mode: class-ca, email: a@b.org}", "2: tls.email: only for mode acme"),
    ("tls: {mode: acme, email: a@b.org, key: k.pem}", "2: tls.key: only for mode files"),
    ("tls: {mode: class-ca, hsts: 10}", "2: tls.hsts: 10 is out of range 300..63072000"),
    ("tls: {mode: class-ca, hsts: true}", "2: tls.hsts: must be a whole number, not True"),
    ("tls: {mode: class-ca, certs: x}", "2: tls.certs: unknown key"),
])
def test_a_mistake_names_its_line_and_field(tmp_path, tls, expected):
    path = with_tls(tmp_path, tls)
    problems = problems_of(path)
    assert any(p.startswith(f"{path}:{expected}") for p in problems), problems
