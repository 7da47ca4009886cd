"""wrk (Debian's package), the one load generator: `./inv bench` and the end-to-end tests under load use it.

Load is bounded in time and connections and goes only to loopback or an isolated host's own address
(10.131.x.2, in its network namespace on this machine): `check_target` refuses anything else.
"""
import ipaddress
import re
import signal
import subprocess
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

ISOLATED_HOSTS = ipaddress.ip_network("10.131.0.0/16")   # lab/hostparts.py's addresses
MAX_SECONDS, MAX_CONNECTIONS = 120, 200
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


class LoadError(Exception):
    """wrk could not run, or was pointed somewhere it must not go."""


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    rate: float          # requests per second
    p50_ms: float
    p99_ms: float
    non_2xx: int         # answers that were not 2xx or 3xx (a 502 while uwsgi is down)
    socket_errors: int   # connect, read, write errors and timeouts

    @property
    def failed(self):
        return self.non_2xx + self.socket_errors


def check_target(url):
    """`url` if it is on loopback or an isolated host; LoadError otherwise."""
    host = urlsplit(url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise LoadError(f"load goes to an IP address, not {host!r}") from None
    if not (address.is_loopback or address in ISOLATED_HOSTS):
        raise LoadError(f"load goes only to loopback or an isolated host (10.131.x.x), not {address}")
    return url


def wrk_command(url, host_header, connections, seconds, threads=2, timeout=10, close=False):
    """wrk's command line: `connections` keep-alive connections for `seconds`, latency percentiles."""
    if not (1 <= connections <= MAX_CONNECTIONS and 0 < seconds <= MAX_SECONDS):
        raise LoadError(f"load is bounded: 1..{MAX_CONNECTIONS} connections, at most {MAX_SECONDS} s")
    return ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout}s",
            "--latency", "-H", f"Host: {host_header}", *(["-H", "Connection: close"] if close else []),
            check_target(url)]


def _milliseconds(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNIT_MS[unit]


def parse_wrk(output):
    """wrk's report as a LoadResult; LoadError when it has no request count (wrk failed)."""
    done = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", output)
    if not done:
        raise LoadError(f"wrk reported no requests: {output.strip()[-300:]}")
    seconds = _milliseconds(done.group(2) + done.group(3)) / 1000

    def percentile(p):
        found = re.search(rf"^\s+{p}%\s+([\d.]+(?:us|ms|s|m))\s*$", output, re.M)
        return _milliseconds(found.group(1)) if found else 0.0

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    requests = int(done.group(1))
    return LoadResult(requests=requests, seconds=seconds, rate=requests / seconds if seconds else 0.0,
                      p50_ms=percentile(50), p99_ms=percentile(99),
                      non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
                      socket_errors=sum(map(int, errors.groups())) if errors else 0)


def run_load(url, host_header, connections, seconds):
    """Load `url` for `seconds`; its LoadResult."""
    try:
        done = subprocess.run(wrk_command(url, host_header, connections, seconds), capture_output=True,
                              text=True, timeout=seconds + 30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LoadError(f"wrk: {e}") from None
    return parse_wrk(done.stdout + done.stderr)


class Running:
    """The load started by `load_during`; `result` is its LoadResult once the block has ended."""
    result = None


@contextmanager
def load_during(url, host_header, connections, max_seconds=60, close=False):
    """Load `url` while the block runs (at most `max_seconds`); wrk stops on SIGINT and reports."""
    process = subprocess.Popen(wrk_command(url, host_header, connections, max_seconds, close=close),
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    running = Running()
    try:
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0]
    running.result = parse_wrk(output)


def get_status(url, host_header, timeout=30):
    """The HTTP status of one GET (None when nothing answers): the first request after an idle period."""
    request = urllib.request.Request(check_target(url), headers={"Host": host_header})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None
