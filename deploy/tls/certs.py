"""Certificates, pure: a class CA and the server certificates it issues, and what a certificate covers.

Everything works on PEM bytes and a given `now`, so tests make good and bad certificates in a temporary
folder and no clock or file is read here (deploy/tls/material.py reads the files and says which one is wrong).
"""
import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CA_DAYS = 3650              # the class CA: learners trust it once, for years
SERVER_DAYS = 397           # the longest validity browsers accept for a server certificate


def new_key():
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _general_name(name):
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _builder(subject, issuer, public_key, now, days):
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days)))


def make_ca(class_name, now):
    """(key PEM, certificate PEM) of a new CA for the class, allowed to sign server certificates only."""
    key = new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"hacknode class CA {class_name}")])
    cert = (_builder(name, name, key.public_key(), now, CA_DAYS)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key_pem(key), cert_pem(cert)


def issue(ca_key_pem, ca_cert_pem, names, now, days=SERVER_DAYS):
    """(key PEM, certificate PEM) of a server certificate for `names` (DNS names or IP addresses), signed by the
    CA; the certificate's PEM is its chain (the server certificate, then the CA's)."""
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    key = new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    cert = (_builder(subject, ca_cert.subject, key.public_key(), now, days)
            .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key_pem(key), cert_pem(cert) + ca_cert_pem


def covered_names(cert):
    """The DNS names (wildcards as given) and IP addresses (as text) the certificate is for."""
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return alt.get_values_for_type(x509.DNSName) + [str(ip) for ip in alt.get_values_for_type(x509.IPAddress)]


def covers(patterns, name):
    """Whether one of the certificate's names matches `name`; a wildcard covers exactly one label."""
    name = name.lower()
    for pattern in (p.lower() for p in patterns):
        if pattern == name:
            return True
        if pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:]:
            return True
    return False


def not_after(cert):
    return cert.not_valid_after_utc
