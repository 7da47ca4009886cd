# managed by hacknode: the server side's one health check (installed as /opt/hacknode/bin/healthz).
# GET /healthz through the class nginx as a visitor of HOST gets it; prints "<http status> <release>"
# ("000 -" when nothing answers), one line per HOST given, in their order (asked four at a time). Healthy means
# 200; the release in the answer says which one runs.
# Used by provisioning (hn_health), `fab status` (status.sh) and deploys (release.sh). Standard library only.
import json
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def probe(opener, host):
    # 5 s: an idle team's first request waits for a worker to start (up to about 3 s when it comes as the idle
    # timer stops the last one)
    request = urllib.request.Request("http://127.0.0.1/healthz", headers={"Host": host})
    try:
        with opener.open(request, timeout=5) as response:
            code, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        code, body = error.code, error.read()
    except Exception:  # refused, timed out, reset: no answer at all
        return "000 -"
    try:
        release = str(json.loads(body).get("release") or "-").strip() or "-"
    except (ValueError, AttributeError):
        release = "-"
    return f"{code} {release}"


opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# a few at once: each idle team's probe waits for its worker to start (a second or more), and a server has dozens
# of teams; more at once would only share the same cores
with ThreadPoolExecutor(max_workers=4) as pool:
    for answer in pool.map(lambda host: probe(opener, host), sys.argv[1:]):
        print(answer)
