"""The `tls:` section: HTTPS for the class's sites, and where its certificates come from.

Absent, or `mode: off`, the sites are plain HTTP. `acme`: certificates from an ACME CA (Let's Encrypt unless
`directory` says otherwise) by HTTP-01; `files`: a certificate chain and key the instructor gives; `class-ca`:
a small CA hacknode makes for the class beside the inventory. Paths are relative to the inventory's folder;
what the files hold is checked when provisioning (deploy/tls/material.py), where they are read: a team's checkout
loads the same inventory without them.
"""
import os
import re
from urllib.parse import urlsplit

from deploy.inventory.model import LETSENCRYPT_DIRECTORY, TlsSettings

TLS_MODES = ("off", "acme", "files", "class-ca")
TLS_KEYS = ("mode", "hsts", "email", "directory", "ca_bundle", "certificate", "key")
MODE_KEYS = {"acme": ("email", "directory", "ca_bundle"), "files": ("certificate", "key")}
REQUIRED = {"acme": ("email",), "files": ("certificate", "key")}
HSTS_MAX = 2 * 365 * 24 * 3600      # two years, the longest max-age browsers' preload lists ask for
EMAIL_RE = re.compile(r"^[^@\s]+@[a-z0-9-]+(\.[a-z0-9-]+)+$", re.IGNORECASE)


def mode_problem(mode):
    return "" if mode in TLS_MODES else f"{mode!r} is not one of {', '.join(TLS_MODES)}"


def email_problem(email):
    return "" if EMAIL_RE.match(email) else f"{email!r} is not an email address (the ACME account's contact)"


def directory_problem(url):
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return f"{url!r} is not an https:// URL of an ACME directory"
    return ""


def check_hsts(check, section):
    """HSTS's max-age in seconds: 0 (off) when absent or false."""
    if section.get("hsts", False) is False:
        return 0
    return check.integer(section, "hsts", "tls.hsts", 0, 300, HSTS_MAX)


def local_path(check, section, key, base):
    """A path given relative to the inventory's folder, made absolute; '' when absent, None when invalid."""
    value = check.string(section, key, f"tls.{key}", "")
    return value and os.path.normpath(os.path.join(base, os.path.expanduser(value)))


def check_tls(check, doc):
    """The TlsSettings the section describes (mode off when absent), or None when it has problems."""
    if "tls" not in doc:
        return TlsSettings()
    section = check.mapping(doc["tls"], doc.lines["tls"], "tls", TLS_KEYS, required=("mode",))
    if section is None:
        return None
    if section.get("mode") is False:    # YAML reads a bare `off` as false
        section["mode"] = "off"
    mode = check.string(section, "mode", "tls.mode", why_not=mode_problem)
    for key in REQUIRED.get(mode, ()):
        if key not in section:
            check.problem(section.line, "tls", f"{key!r} is required in mode {mode}")
    for key, modes in (("email", "acme"), ("directory", "acme"), ("ca_bundle", "acme"),
                       ("certificate", "files"), ("key", "files")):
        if key in section and mode is not None and mode != modes:
            check.problem(section.lines[key], f"tls.{key}", f"only for mode {modes}")
    base = os.path.dirname(os.path.abspath(check.path))
    settings = dict(
        mode=mode, hsts=check_hsts(check, section),
        email=check.string(section, "email", "tls.email", "", why_not=email_problem),
        directory=check.string(section, "directory", "tls.directory", LETSENCRYPT_DIRECTORY,
                               why_not=directory_problem),
        ca_bundle=local_path(check, section, "ca_bundle", base),
        certificate=local_path(check, section, "certificate", base),
        key=local_path(check, section, "key", base))
    if None in settings.values():
        return None
    return TlsSettings(**settings)
