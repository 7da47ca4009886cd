"""The load generator's pure parts (lab/load.py): wrk's report read right, and load refused anywhere but
loopback or an isolated host. One real wrk run on loopback checks the parsing against wrk itself."""
import http.server
import shutil
import threading

import pytest

from lab import load

REPORT = """Running 5s test @ http://10.131.100.2/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    35.10ms   20.43ms   1.51s    93.02%
  Latency Distribution
     50%   31.87ms
     75%   40.01ms
     90%   52.11ms
     99%    1.20s
  8340 requests in 14.98s, 12.62MB read
  Socket errors: connect 0, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 1082
Requests/sec:    556.74
"""


def test_a_report_with_errors_counts_every_failed_request():
    result = load.parse_wrk(REPORT)
    assert (result.requests, result.seconds) == (8340, 14.98)
    assert result.p50_ms == 31.87 and result.p99_ms == 1200.0
    assert (result.non_2xx, result.socket_errors, result.failed) == (1082, 5, 1087)
    assert round(result.rate) == 557


def test_a_clean_report_has_no_failures_and_a_failed_wrk_is_an_error():
    clean = REPORT.replace("  Socket errors: connect 0, read 3, write 0, timeout 2\n", "").replace(
        "  Non-2xx or 3xx responses: 1082\n", "").replace("    1.20s", "  850.00us")
    result = load.parse_wrk(clean)
    assert result.failed == 0 and result.p99_ms == 0.85
    with pytest.raises(load.LoadError, match="no requests"):
        load.parse_wrk("unable to connect to 10.131.100.2:80 Connection refused\n")


@pytest.mark.parametrize("url", ["http://93.184.216.34/", "http://example.org/", "http://10.132.0.2/",
                                 "http://192.168.1.10:8080/"])
def test_load_goes_nowhere_but_loopback_or_an_isolated_host(url):
    with pytest.raises(load.LoadError, match="load goes"):
        load.wrk_command(url, "t.hacknode.test", 10, 5)


def test_load_is_bounded_in_connections_and_time():
    assert "-c50" in load.wrk_command("http://10.131.100.2/", "t.hacknode.test", 50, 5)
    for connections, seconds in ((0, 5), (load.MAX_CONNECTIONS + 1, 5), (10, load.MAX_SECONDS + 1)):
        with pytest.raises(load.LoadError, match="bounded"):
            load.wrk_command("http://127.0.0.1/", "h", connections, seconds)


@pytest.mark.skipif(not shutil.which("wrk"), reason="wrk is installed by ./inv test and ./inv bench (HOST_PACKAGES)")
def test_wrk_on_loopback_while_a_block_runs_reports_its_requests():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with load.load_during(f"http://127.0.0.1:{server.server_port}/", "localhost", 2) as running:
            threading.Event().wait(1.0)
        assert running.result.requests > 0 and running.result.failed == 0 and running.result.p50_ms > 0
    finally:
        server.shutdown()
