"""Helpers of the fault suite (tests/e2e/test_faults.py): a visitor with a browser's cookies, articles
marked per fault to count what survived, watching every site until it answers again, the figures table."""
import http.cookiejar
import re
import time
import urllib.error
import urllib.parse
import urllib.request

FIGURES = []    # (fault, what the user sees, data lost, seconds until every site answers again)


class Visitor:
    """A browser on one team's site, by subdomain through nginx: keeps its session cookie (the CSRF token)."""

    def __init__(self, cls, team):
        self.base = f"http://{cls.host_of(team).address}"
        self.host = f"{team}.hacknode.test"
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path, data=None, timeout=10):
        """(status, body); (None, reason) when nothing answers."""
        request = urllib.request.Request(self.base + path, data=data, headers={"Host": self.host})
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError as e:
            return None, str(getattr(e, "reason", e))

    def submit(self, title, link):
        """The form as a browser posts it; the page the visitor gets."""
        status, form = self.get("/submit")
        assert status == 200, f"GET /submit: {status} {form[:200]}"
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        data = urllib.parse.urlencode({"title": title, "link": link, "csrf_token": token}).encode()
        return self.get("/submit", data=data)


def submit_marked(cls, team, marker, count):
    """`count` articles titled '<marker> <n>', each acknowledged with the success page."""
    visitor = Visitor(cls, team)
    for n in range(count):
        status, page = visitor.submit(f"{marker} {n}", f"https://example.com/{marker}/{n}")
        assert status == 200 and "Thanks, your link is on Rapid News!" in page, (status, page[:300])


def count_marked(cls, team, marker):
    """How many of the articles titled '<marker> <n>' the team's site finds (search, as a visitor)."""
    # a site just brought back may take its time on the first search: what is counted here is data, not speed
    status, page = Visitor(cls, team).get("/search?" + urllib.parse.urlencode({"q": marker}), timeout=30)
    assert status == 200, (status, page[:300])
    return len(set(re.findall(re.escape(marker) + r" (\d+)<", page)))


def watch_until_all_answer(cls, teams, seconds=120, path="/"):
    """Ask every team's `path` until all answer 200 at once. Returns (seconds it took, {status seen: count},
    pages that showed a traceback)."""
    visitors = [Visitor(cls, team) for team in teams]
    started, seen, tracebacks = time.monotonic(), {}, []
    while True:
        answers = [v.get(path, timeout=15) for v in visitors]
        for status, body in answers:
            seen[status] = seen.get(status, 0) + 1
            if "Traceback" in body:
                tracebacks.append(body[:500])
        if all(status == 200 for status, _ in answers):
            return time.monotonic() - started, seen, tracebacks
        assert time.monotonic() - started < seconds, f"sites still not all 200 after {seconds}s: {seen}"
        time.sleep(0.2)


def seen_as_text(seen):
    names = {None: "no answer", 200: "200", 502: "502 (nginx: Bad Gateway)", 503: "503 (database unavailable page)"}
    return ", ".join(f"{names.get(s, s)} x{n}" for s, n in sorted(seen.items(), key=lambda i: str(i[0])))


def record(fault, user_sees, lost, seconds):
    FIGURES.append((fault, user_sees, lost, seconds))


def figures_table():
    lines = ["| fault | what the user sees | data lost | back in |", "| --- | --- | --- | --- |"]
    lines += [f"| {f} | {sees} | {lost} | {s:.1f} s |" for f, sees, lost, s in FIGURES]
    return "\n".join(lines)


def cut_ssh_when(root, user, probe, seconds=120):
    """On the server (over `root`, a connection as root): as soon as the shell test `probe` passes, kill the
    sessions of `user`'s SSH connections (sshd's own process for each), as a dropped network would end them;
    root's own session running this is spared. Returns True when it cut, False when `probe` never passed while
    a session of `user` was there to cut."""
    loop = (f"for i in $(seq {int(seconds * 20)}); do if {probe}; then "
            f"pids=$(pgrep -f '^sshd: {user}@' | grep -vx $PPID); "
            f"if [ -n \"$pids\" ]; then kill -9 $pids; exit 0; fi; fi; sleep 0.05; done; exit 1")
    return root.run(loop, hide=True, warn=True).ok
