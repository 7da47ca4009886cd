"""This side's one health check of a team's site, with the same meaning as the server's (deploy/remote/healthz.py):
healthy means GET /healthz answers 200; its JSON names the live release."""
import json
import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass(frozen=True)
class Health:
    code: int = 0               # the HTTP status, 0 when nothing answered
    release: str = "-"          # the release the answer names
    body: str = ""              # the answer (or why there was none), for messages

    @property
    def ok(self):
        return self.code == 200


def get(url, host_header=None, timeout=10):
    """(status, body) of GET `url` from this machine, never through a proxy; (0, reason) when nothing answers."""
    request = urllib.request.Request(url, headers={"Host": host_header} if host_header else {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except OSError as e:
        return 0, str(e)


def probe(base_url, host_header=None, timeout=10):
    """The Health of the site at `base_url` (http://address or http://address/<team>)."""
    code, body = get(base_url.rstrip("/") + "/healthz", host_header, timeout)
    try:
        release = str(json.loads(body).get("release") or "-")
    except (ValueError, AttributeError):
        release = "-"
    return Health(code, release, body)
