"""Attack class "environment handed down": a team reads its own processes' environment (/proc/PID/environ is
readable by the process's user) to find what root handed them. Root gives a team's processes nothing of its own:
the commands provisioning runs as the team start from `env -i` (PATH, HOME, LANG, USER, LOGNAME), and the team's
uwsgi from its supervisor program's `env -i` line; the database admin's URI is in no exported variable. The
other teams' /healthz answers 200 during and after. The class is left healthy."""
import json
import shlex
import urllib.parse

import pytest

from deploy.core import layout
from deploy.core.layout import TeamPaths

pytestmark = pytest.mark.e2e
WATCHER, VICTIM, BYSTANDER = "hacknode1", "hacknode2", "hacknode3"
CLEAN = {"PATH", "HOME", "LANG", "USER", "LOGNAME"}
STOP = f"/home/{WATCHER}/tmp/hn-scan.stop"

# Run as the team while root provisions: every process of the team's uid outside this SSH session, its command
# line and environment read as soon as it appears (polled without pause), until STOP exists; printed as JSON.
SCAN = r"""
import json, os, sys, time
stop, me, session = sys.argv[1], os.getuid(), os.getsid(0)
seen, deadline = {}, time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline and not os.path.exists(stop):
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid in seen:
            continue
        try:
            if os.stat("/proc/" + pid).st_uid != me or os.getsid(int(pid)) == session:
                continue
            environ = open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace")
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
        except OSError:
            continue
        # a process that is exiting shows nothing (its memory is gone): not recorded; one between fork and exec
        # shows the environment it is about to hand on, as after the exec
        if cmdline and environ:
            seen[pid] = {"cmdline": cmdline.replace("\0", " ").strip(), "environ": [v for v in environ.split("\0") if v]}
print(json.dumps(seen))
"""


def others_healthy(made):
    return {team: made.http(team, "/healthz")[0] for team in (VICTIM, BYSTANDER)}


def admin_secret(root):
    """The admin URI and its password, read as root from root's file (never through a team)."""
    uri = root.run(f"cat {layout.MONGO_ADMIN_FILE}", hide=True).stdout.strip()
    return uri, urllib.parse.unquote(urllib.parse.urlsplit(uri).password or "")


def test_a_team_watching_its_processes_while_root_provisions_finds_no_admin_secret_and_a_clean_environment(
        provisioned_class):
    made = provisioned_class
    with made.as_root("main") as root:
        uri, password = admin_secret(root)
    assert password and len(password) >= 8
    with made.as_team(WATCHER) as c:
        c.run(f"rm -f {STOP} && echo '# a member added a comment' >> ~/.ssh/authorized_keys", hide=True)
        scan = c.run(f"python3 -c {shlex.quote(SCAN)} {STOP} 180", hide=True, asynchronous=True)
        try:
            lines, _ = made.provision()           # rewrites the team's authorized_keys, as the team
            during = others_healthy(made)
        finally:
            with made.as_team(WATCHER) as stopper:
                stopper.run(f"touch {STOP}", hide=True)
            seen = json.loads(scan.join().stdout)
        c.run(f"rm -f {STOP}", hide=True)
    writes = {pid: p for pid, p in seen.items() if p["cmdline"].startswith("sh -c umask 077")}
    print(f"\n{len(seen)} processes of {WATCHER} seen during the provision; the keys' rewrite: "
          + "; ".join(f"{p['cmdline'][:40]}... with {sorted(v.split('=')[0] for v in p['environ'])}"
                      for p in writes.values()))
    assert writes, f"the scan never saw the keys' rewrite: {[p['cmdline'] for p in seen.values()]}"
    for pid, process in seen.items():
        text = "\0".join(process["environ"])
        assert "HN_ADMIN_URI" not in text and password not in text and uri not in text, process["cmdline"]
    for process in writes.values():      # what root runs as the team starts with these alone
        assert {v.split("=", 1)[0] for v in process["environ"]} == CLEAN, process
        assert f"HOME=/home/{WATCHER}" in process["environ"] and f"USER={WATCHER}" in process["environ"]
    assert during == {VICTIM: 200, BYSTANDER: 200} and others_healthy(made) == {VICTIM: 200, BYSTANDER: 200}


def test_a_teams_uwsgi_carries_only_what_its_program_sets_and_its_own_settings(provisioned_class):
    """Master and workers: the supervisor program's env -i line (PATH, LANG, HOME, USER, LOGNAME, TMPDIR,
    MALLOC_ARENA_MAX), the team's own settings file (read by uwsgi) and uwsgi's own UWSGI_* markers; nothing of
    supervisord's (root's) environment, no admin URI."""
    made = provisioned_class
    paths = TeamPaths(VICTIM)
    assert made.http(VICTIM, "/healthz")[0] == 200                     # a worker is up
    with made.as_root("main") as root:
        uri, password = admin_secret(root)
        master = root.run(f"supervisorctl pid {VICTIM}", hide=True).stdout.strip()
        pids = [master] + root.run(f"pgrep -P {master}", hide=True, warn=True).stdout.split()
        environs = {pid: root.run(f"tr '\\0' '\\n' < /proc/{pid}/environ", hide=True).stdout.splitlines()
                    for pid in pids}
        settings = root.run(f"cut -d= -f1 {paths.mongo_uri_file}", hide=True).stdout.split()
    allowed = CLEAN | {"TMPDIR", "MALLOC_ARENA_MAX"} | set(settings)
    print(f"\n{VICTIM}'s uwsgi (master {master}, {len(pids) - 1} workers): "
          f"{sorted({v.split('=', 1)[0] for v in environs[master]})}")
    assert len(pids) >= 2
    for pid, environ in environs.items():
        names = {v.split("=", 1)[0] for v in environ}
        extra = {n for n in names - allowed if not n.startswith("UWSGI_")}
        assert not extra, (pid, sorted(extra))
        assert f"HOME={paths.home}" in environ and f"TMPDIR={paths.tmp}" in environ
        text = "\n".join(environ)
        assert "HN_ADMIN_URI" not in text and password not in text and uri not in text
    assert others_healthy(made) == {VICTIM: 200, BYSTANDER: 200}
