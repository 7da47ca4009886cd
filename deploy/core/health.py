"""This side's one health check of a team's site, with the same meaning as the server's (deploy/remote/healthz.py):
healthy means GET /healthz answers 200; its JSON names the live release. Over HTTPS it checks the certificate
as a browser would, for the name asked (SNI), against `cafile` (the class CA) or this machine's CAs."""
import http.client
import json
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Health:
    code: int = 0               # the HTTP status, 0 when nothing answered
    release: str = "-"          # the release the answer names
    body: str = ""              # the answer (or why there was none), for messages

    @property
    def ok(self):
        return self.code == 200


class AddressHTTPS(http.client.HTTPSConnection):
    """HTTPS to `address` for the name `host` (SNI, certificate checked for it), as with DNS pointing there."""

    def __init__(self, host, address, **kwargs):
        super().__init__(host, **kwargs)
        self.address = address

    def connect(self):
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def connection(url, host_header, timeout, cafile):
    parts = urlsplit(url)
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=cafile)
        return AddressHTTPS(host_header or parts.hostname, parts.hostname, port=parts.port or 443,
                            timeout=timeout, context=context)
    return http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)


def get(url, host_header=None, timeout=10, cafile=None):
    """(status, body) of GET `url` from this machine, never through a proxy nor following a redirect; (0, reason)
    when nothing answers (or, over HTTPS, when the certificate is refused)."""
    parts = urlsplit(url)
    try:
        conn = connection(url, host_header, timeout, cafile)
        conn.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                     headers={"Host": host_header} if host_header else {})
        response = conn.getresponse()
        status, body = response.status, response.read().decode(errors="replace")
        conn.close()
        return status, body
    except (OSError, http.client.HTTPException) as e:
        return 0, str(e)


def probe(base_url, host_header=None, timeout=10, cafile=None):
    """The Health of the site at `base_url` (http(s)://address or http(s)://address/<team>)."""
    code, body = get(base_url.rstrip("/") + "/healthz", host_header, timeout, cafile)
    try:
        release = str(json.loads(body).get("release") or "-")
    except (ValueError, AttributeError):
        release = "-"
    return Health(code, release, body)
