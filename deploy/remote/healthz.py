# managed by hacknode: the server side's one health check (installed as /opt/hacknode/bin/healthz).
# GET PATH (--path, default /healthz) through the class nginx as a visitor of HOST gets it; prints "<http status>
# <release> <settings id>" ("000 -" when nothing answers; no settings id from an app that does not report one), one
# line per HOST given, in their order (asked four at a time); a HOST given as HOST/PATH is asked that path instead.
# The release and the settings id come from the answer's X-Hacknode-Release and X-Hacknode-Settings headers, which
# hacknode's WSGI loader adds to whatever the team's app answers ("-" for a settings id it has none of); an answer
# without them (a release served before the loader) is read as Rapid News's JSON body. Healthy means an answer below
# 500 from a release (200 from an app that names none). With TLS on (CONF says "https"), it asks over HTTPS as a
# browser would: SNI and certificate checked for HOST, trusting TRUST (the class CA) when it is there, else the
# system's CAs. `healthz --expiry HOST...` prints when the certificate nginx serves for each HOST expires, a line each
# ("-" without TLS); `healthz --scheme` prints http or https. `healthz --wait SECONDS HOST...` asks each HOST again
# every 0.1 s until it is healthy or SECONDS have passed since its first ask, and prints its last answer: a site just
# started answers as soon as its worker is up. Used by provisioning (hn_health), `fab status` (class_collect.py) and
# deploys (release.sh). Standard library only.
import functools
import http.client
import json
import os
import re
import socket
import ssl
import sys
import time

CONF = "/etc/hacknode/healthz.conf"             # deploy/core/layout.py HEALTHZ_CONF
TRUST = "/etc/hacknode/healthz-trust.pem"       # deploy/core/layout.py HEALTHZ_TRUST
# an idle team's first request waits for a worker to start (up to about 3 s when it comes as the idle timer
# stops the last one); the whole probe, answer included, ends by then: a team's app that streams without end, or
# drips a byte a second (each read getting something), holds no caller (fab status, provisioning, the class page)
PROBE_SECONDS = 5
MAX_BODY = 64 * 1024            # the app's /healthz answers a hundred bytes; more is no answer
READ_SIZE = 16 * 1024
# what a team's answer may name: a release id (deploy/core/release.py RELEASE_ID) and a settings id (release-settings.sh:
# date +%s.%N); anything else is shown as "?", so the output stays one line of three words per host
RELEASE_ID = re.compile(r"[0-9]{8}T[0-9]{6}Z(-[0-9a-f]{4,40})?")
SETTINGS_ID = re.compile(r"[0-9]{1,20}(\.[0-9]{1,9})?")
# a path to ask: absolute, of URL characters that need no quoting and no shell's care (a team's Procfile names it)
HEALTH_PATH = re.compile(r"/[A-Za-z0-9._~/?=&%+-]{0,255}")
DEFAULT_PATH = "/healthz"


@functools.cache      # read once a run: one run probes dozens of teams
def https_on():
    try:
        with open(CONF) as handle:
            return handle.read().strip() == "https"
    except OSError:
        return False


class LoopbackHTTPS(http.client.HTTPSConnection):
    """HTTPS to this server's nginx, for the name `host`: the connection goes to 127.0.0.1, SNI and checks to host."""

    def connect(self):
        raw = socket.create_connection(("127.0.0.1", 443), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


@functools.cache      # one context a run, shared by the probes' threads (it loads the CAs: not once per host)
def tls_context():
    return ssl.create_default_context(cafile=TRUST if os.path.exists(TRUST) else None)


def connection(host):
    if not https_on():
        return http.client.HTTPConnection("127.0.0.1", 80, timeout=PROBE_SECONDS)
    return LoopbackHTTPS(host, 443, timeout=PROBE_SECONDS, context=tls_context())


def shown(value, pattern):
    """A name from a team's answer as printed: "-" when none, itself when it matches `pattern`, else "?"."""
    text = "-" if value is None or value == "" else str(value).strip()
    return text if text == "-" or pattern.fullmatch(text) else "?"


def bounded_body(sock, response, deadline):
    """The answer's body, read until `deadline` (monotonic) at most MAX_BODY bytes; TimeoutError or ValueError past
    either. Each read waits only for what is left of the deadline, not a fresh timeout of its own."""
    body = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no whole answer in time")
        sock.settimeout(left)
        chunk = response.read1(READ_SIZE)
        if not chunk:
            return body
        body += chunk
        if len(body) > MAX_BODY:
            raise ValueError("answer too long")


def from_headers(code, response):
    """The answer's line from hacknode's headers, or None when it has none (a release served before the loader)."""
    release = response.getheader("X-Hacknode-Release")
    if release is None:
        return None
    return f"{code} {shown(release, RELEASE_ID)} {shown(response.getheader('X-Hacknode-Settings'), SETTINGS_ID)}"


def from_body(code, body):
    """The answer's line from Rapid News's JSON body ({"release": ..., "settings": ...})."""
    try:
        answer = json.loads(body)
        release = shown(answer.get("release"), RELEASE_ID)
    except (ValueError, AttributeError):
        return f"{code} -"
    if "settings" not in answer:    # a team's copy of the app from before /healthz reported its settings
        return f"{code} {release}"
    return f"{code} {release} {shown(answer['settings'], SETTINGS_ID)}"


def probe(host, path=DEFAULT_PATH):
    deadline = time.monotonic() + PROBE_SECONDS
    try:
        conn = connection(host)
        conn.request("GET", path, headers={"Host": host})
        sock = conn.sock            # getresponse hands it to the response (and forgets it) when the answer closes it
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        response = conn.getresponse()
        # the headers say all: the body (a team's home page, of any size) is not read
        line = from_headers(response.status, response)
        if line is None:
            line = from_body(response.status, bounded_body(sock, response, deadline))
        conn.close()
        return line
    except Exception:  # refused, timed out, reset, too long, a certificate refused: no answer at all (deploys poll)
        return "000 -"


def healthy(answer):
    """An answer below 500 that names a release (hacknode's loader, Rapid News), or a 200 from an app naming none."""
    code, _, rest = answer.partition(" ")
    release = rest.split(" ")[0]
    return code == "200" or (code.isdigit() and 100 <= int(code) < 500 and RELEASE_ID.fullmatch(release) is not None)


def target(argument, path):
    """(host, path) of a HOST or HOST/PATH argument; path None when that path is not one to ask."""
    host, slash, own = argument.partition("/")
    asked = f"/{own}" if slash else path
    return host, asked if HEALTH_PATH.fullmatch(asked) else None


def ask(argument, path=DEFAULT_PATH):
    host, asked = target(argument, path)
    return probe(host, asked) if asked else "000 -"


def probe_until_healthy(host, seconds, ask=ask):
    """The first healthy answer of `host`, asked again every 0.1 s, or its last answer after `seconds` from its first
    ask: each team gets its own time, so a class of a hundred teams waking four at a time fails none for its size."""
    deadline = time.monotonic() + seconds
    while True:
        answer = ask(host)
        if healthy(answer) or time.monotonic() >= deadline:
            return answer
        time.sleep(0.1)


def probe_all(hosts, ask=ask):
    """`ask` of each host, a few at once: each idle team's probe waits for its worker to start (a second or more),
    and a server has dozens of teams; more at once would only share the same cores. One host alone needs no pool (a
    deploy polls one every 0.1 s, and the pool's import is most of a start)."""
    if len(hosts) == 1:
        return [ask(hosts[0])]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(ask, hosts))


def expiry(host):
    if not https_on():
        return "-"
    try:
        conn = connection(host)
        conn.connect()
        return conn.sock.getpeercert()["notAfter"]
    except Exception as error:
        return f"unknown ({error})"


def main(args):
    path = DEFAULT_PATH
    if args[:1] == ["--path"] and len(args) > 1:
        path, args = args[1], args[2:]
        if not HEALTH_PATH.fullmatch(path):
            sys.exit(f"healthz: --path {path[:80]!r}: expected an absolute path of letters, digits and ._~/?=&%+-")
    asked = functools.partial(ask, path=path)
    if args[:1] == ["--expiry"]:
        for host in args[1:]:
            print(expiry(host))
    elif args[:1] == ["--scheme"]:     # how visitors reach the sites, for messages: http or https
        print("https" if https_on() else "http")
    elif args[:1] == ["--wait"]:
        print("\n".join(probe_all(args[2:], functools.partial(probe_until_healthy, seconds=float(args[1]),
                                                               ask=asked))))
    else:
        print("\n".join(probe_all(args, asked)))


if __name__ == "__main__":      # a program on the server; its tests import it
    main(sys.argv[1:])
