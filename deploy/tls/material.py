"""HTTPS on the instructor's side, before anything is sent: `files` mode's certificate and key checked, `class-ca`
mode's CA made (once) and each server's certificate issued from it (again when its names change or it nears its
end). Each problem is one line naming the file. What a server then gets is a ServerTls: provisioning installs it
(deploy/tls/plan.py)."""
import datetime
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from deploy.core.errors import DeployError
from deploy.inventory.model import server_names
from deploy.tls import certs

CA_FOLDER = ".hacknode/class-ca"            # beside the inventory; it holds a .gitignore of its own: never committed
RENEW_BEFORE = datetime.timedelta(days=30)  # a class-ca certificate is issued again this long before its end


class TlsError(DeployError):
    """A certificate or key that cannot be used: the file and why, in one line."""


@dataclass(frozen=True)
class ServerTls:
    certificate: str = ""       # the chain (PEM) the server's nginx serves; "" in acme mode (certbot makes it)
    key: str = ""               # its private key (PEM), installed 0600 root
    trust: str = ""             # the CA the server's /healthz probe trusts; "": the system's CAs


def read_file(path, field):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise TlsError(f"{field} {path}: cannot be read: {error.strerror or error}") from None


def load_chain(path, field):
    try:
        return x509.load_pem_x509_certificates(read_file(path, field))
    except ValueError:
        raise TlsError(f"{field} {path}: not a PEM certificate (-----BEGIN CERTIFICATE-----)") from None


def load_key(path, field):
    try:
        return serialization.load_pem_private_key(read_file(path, field), password=None)
    except (ValueError, TypeError) as error:
        raise TlsError(f"{field} {path}: not an unencrypted PEM private key ({error})") from None


def public_bytes(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def certificate_problem(cert, names, now):
    """Why the server certificate `cert` cannot serve `names` at `now`, or ''."""
    missing = [n for n in names if not certs.covers(certs.covered_names(cert), n)]
    if missing:
        return (f"does not cover {', '.join(missing)} (it covers {', '.join(certs.covered_names(cert)) or 'no name'})")
    if certs.not_after(cert) <= now:
        return f"expired on {certs.not_after(cert):%Y-%m-%d}"
    if cert.not_valid_before_utc > now:
        return f"not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
    return ""


def check_files(tls, names, now):
    """`files` mode: the ServerTls of the instructor's chain and key, after checking that they are readable PEM,
    that the key is the certificate's, and that it covers `names` now. TlsError naming the file otherwise."""
    chain = load_chain(tls.certificate, "tls.certificate")
    key = load_key(tls.key, "tls.key")
    if public_bytes(key.public_key()) != public_bytes(chain[0].public_key()):
        raise TlsError(f"tls.key {tls.key}: is not the key of the certificate {tls.certificate}")
    why = certificate_problem(chain[0], names, now)
    if why:
        raise TlsError(f"tls.certificate {tls.certificate}: {why}")
    return ServerTls(read_file(tls.certificate, "tls.certificate").decode(), read_file(tls.key, "tls.key").decode())


def write_private(path, data):
    """Write a key file readable by its owner only, whatever was there before."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def class_ca_certificate(inventory):
    """The class CA's certificate (class-ca mode): the file learners and this side's checks trust."""
    return os.path.join(os.path.dirname(os.path.abspath(inventory.path)), CA_FOLDER, "ca.crt")


def trusted_ca(inventory):
    """What this side trusts for the class's sites: the class CA's file, or None (this machine's CAs)."""
    return class_ca_certificate(inventory) if inventory.tls.mode == "class-ca" else None


def class_ca_folder(inventory):
    folder = os.path.dirname(class_ca_certificate(inventory))
    os.makedirs(folder, mode=0o700, exist_ok=True)
    ignore = os.path.join(folder, ".gitignore")
    if not os.path.exists(ignore):
        with open(ignore, "w") as handle:
            handle.write("# the class CA's keys: never in a repository\n*\n")
    return folder


def class_ca(folder, class_name, now, say):
    """(key PEM, certificate PEM) of the class CA in `folder`, made the first time."""
    key_path, cert_path = os.path.join(folder, "ca.key"), os.path.join(folder, "ca.crt")
    if not (os.path.exists(key_path) and os.path.exists(cert_path)):
        key, cert = certs.make_ca(class_name, now)
        write_private(key_path, key)
        with open(cert_path, "wb") as handle:
            handle.write(cert)
        say(f"class-ca: made the class CA {cert_path} (learners trust this file; its key ca.key stays here)")
    return read_file(key_path, "class CA key"), read_file(cert_path, "class CA")


def issued_certificate(folder, server, names, ca, now, say):
    """(key PEM, chain PEM) of the server's certificate from the class CA, issued again only when missing, for
    other names, from another CA, or within RENEW_BEFORE of its end."""
    key_path, cert_path = os.path.join(folder, f"{server}.key"), os.path.join(folder, f"{server}.crt")
    ca_cert = x509.load_pem_x509_certificate(ca[1])
    if os.path.exists(key_path) and os.path.exists(cert_path):
        cert = load_chain(cert_path, "class-ca certificate")[0]
        current = (sorted(certs.covered_names(cert)) == sorted(names) and cert.issuer == ca_cert.subject
                   and certs.not_after(cert) - now > RENEW_BEFORE)
        if current:
            return read_file(key_path, "class-ca key"), read_file(cert_path, "class-ca certificate")
    key, chain = certs.issue(ca[0], ca[1], list(names), now)
    write_private(key_path, key)
    with open(cert_path, "wb") as handle:
        handle.write(chain)
    say(f"class-ca: issued {cert_path} for {', '.join(names)}")
    return key, chain


def server_material(inventory, now=None, say=print):
    """{server name: ServerTls} for the class, checked (files) or issued (class-ca) here; TlsError when a file is
    wrong. Nothing for a server is sent before every server's material is ready."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    tls = inventory.tls
    views = [inventory.view(server.name) for server in inventory.servers]
    if tls.mode == "files":
        return {view.server.name: check_files(tls, server_names(view), now) for view in views}
    if tls.mode == "class-ca":
        folder = class_ca_folder(inventory)
        ca = class_ca(folder, inventory.name, now, say)
        material = {}
        for view in views:
            key, chain = issued_certificate(folder, view.server.name, server_names(view), ca, now, say)
            material[view.server.name] = ServerTls(chain.decode(), key.decode(), ca[1].decode())
        return material
    # acme with a private CA (pebble in the tests): its bundle is what the probe trusts too (its roots in it)
    trust = ""
    if tls.mode == "acme" and tls.ca_bundle:        # checked before anything is sent, as files mode's are
        trust = read_ca_bundle(tls.ca_bundle)
    return {view.server.name: ServerTls(trust=trust) for view in views}


def read_ca_bundle(path):
    """The text of tls.ca_bundle (a local PEM file); TlsError naming it when it cannot be used."""
    load_chain(path, "tls.ca_bundle")
    return read_file(path, "tls.ca_bundle").decode()
