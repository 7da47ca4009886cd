# managed by hacknode: the server side's one health check (installed as /opt/hacknode/bin/healthz).
# GET /healthz through the class nginx as a visitor of HOST gets it; prints "<http status> <release> <settings id>"
# ("000 -" when nothing answers; no settings id from an app that does not report one), one line per HOST given,
# in their order. Healthy means 200; the release and the settings id say what runs.
# Used by provisioning (hn_health), `fab status` (status.sh) and deploys (release.sh). Standard library only.
import json
import sys
import time
import urllib.error
import urllib.request



def probe(opener, host):
    request = urllib.request.Request("http://127.0.0.1/healthz", headers={"Host": host})
    try:
        with opener.open(request, timeout=3) as response:
            code, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        code, body = error.code, error.read()
    except Exception:  # refused, timed out, reset: no answer at all
        return "000 -"
    try:
        answer = json.loads(body)
        release = str(answer.get("release") or "-").strip() or "-"
    except (ValueError, AttributeError):
        return f"{code} -"
    if "settings" not in answer:    # a team's copy of the app from before /healthz reported its settings
        return f"{code} {release}"
    return f"{code} {release} {str(answer['settings'] or '-').strip() or '-'}"


def probe_twice_on_502(opener, host):
    # An idle team's uwsgi starts a worker when a request comes (cheaper mode): its first request after an idle
    # period was seen answered 502 now and then; one 502 is asked again after 0.5 s before a team is called down.
    answer = probe(opener, host)
    if answer.startswith("502 "):
        time.sleep(0.5)
        answer = probe(opener, host)
    return answer


opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
for host in sys.argv[1:]:
    print(probe_twice_on_502(opener, host))
