"""Attack class "root reading team files" (issue 21, item 4): what a team puts in its own tree, or answers on its
own /healthz, to stop, slow or fool root's programs (facts, status, the health probe, the archive of a removed
team), or to reach the instructor's terminal and page. Each attack is made as the team would, over SSH as the
team; each test asserts the denial and that the other teams' /healthz answers 200, and restores what it changed
on the shared class."""
import json
import re
import shlex
import threading
import time
from pathlib import Path

import pytest

from deploy.admin import tasks as admin
from deploy.admin.status import as_json, as_table
from deploy.core import layout
from deploy.core.layout import TeamPaths
from deploy.team import tasks as team_tasks
from tests.e2e.test_team_tasks import SSH_OPTIONS, WHEEL_CACHE, copy_of_repo

pytestmark = pytest.mark.e2e
TEAMS = ("hacknode1", "hacknode2", "hacknode3")
KEYS_OWNER = "hacknode3"          # the team that traps its own authorized_keys
PROBED = "hacknode2"              # the team whose app and releases fool root's status (hacknode3 comes after it)
KEYS = f"{TeamPaths(KEYS_OWNER).home}/.ssh/authorized_keys"
FACTS = Path(__file__).resolve().parents[2] / "deploy" / "remote" / "facts.py"
# a release name made to split the collector's line and forge one for a team that does not exist, in red
FORGED_RELEASE = "evil\tname\x1b[31mred\nhacknode9\tRUNNING\t1:00\tforged\t200\t0\t0\t0\t0\trlimits\t0\tforged"
STATUS_SECONDS = 15               # what `fab status` may take when a team's /healthz never ends


def others_healthy(cls, attacker):
    return {team: cls.http(team, "/healthz")[0] for team in TEAMS if team != attacker}


def in_thread(function, seconds):
    """(finished, seconds taken, what function() returned or raised) within `seconds`; the thread is left to end."""
    outcome, started = {}, time.monotonic()

    def run():
        try:
            outcome["value"] = function()
        except Exception as error:       # the test reports it
            outcome["value"] = error
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    return not worker.is_alive(), time.monotonic() - started, outcome.get("value")


def root_secrets(root):
    """Root-only texts an attack must never bring out: /etc/shadow's root line and root's authorized keys."""
    shadow = root.run("grep '^root:' /etc/shadow", hide=True).stdout.strip()
    keys = root.run("grep -v '^#' /root/.ssh/authorized_keys | head -1", hide=True).stdout.strip()
    return [shadow, keys.split()[1] if keys else "no-root-key"]


# for 15 s, a regular file and a FIFO swapped in place of the keys as fast as renameat2(RENAME_EXCHANGE) goes: what
# looks first (lstat) and opens after (open) sees a file half the time, then opens the FIFO
RACER = ("import ctypes, os, time\n"
         "keys = os.path.expanduser('~/.ssh/authorized_keys').encode()\n"
         "os.replace(keys, keys + b'.r'); os.mkfifo(keys)\n"
         "libc, end = ctypes.CDLL(None, use_errno=True), time.monotonic() + 15\n"
         "while time.monotonic() < end:\n"
         "    for _ in range(1000):\n"
         "        libc.renameat2(-100, keys, -100, keys + b'.r', 2)\n")
KEY_TRAPS = {
    "sparse 6 GB file": f"rm -f {KEYS} && truncate -s 6G {KEYS}",
    "fifo": f"rm -f {KEYS} && mkfifo {KEYS}",
    "fifo swapped in after a look": f"nohup timeout 20 python3 -c {shlex.quote(RACER)} hn-racer >/dev/null 2>&1 &",
    "link to /etc/shadow": f"rm -f {KEYS} && ln -s /etc/shadow {KEYS}",
    ".ssh a link to root's": "mv ~/.ssh ~/.ssh-old && ln -s /root/.ssh ~/.ssh",
}


def provision_after_trap(cls):
    """Dry runs (what the instructor reads first) as long as the racer runs (one at least: each has an even chance
    to meet the FIFO), then the provision: (every dry run's lines and steps, the provision's)."""
    lines, steps = cls.provision(dry=True)
    with cls.as_root("main") as root:
        while root.run(f"pgrep -u {KEYS_OWNER} -f hn-racer", hide=True, warn=True).ok:
            more_lines, more_steps = cls.provision(dry=True)
            lines, steps = lines + more_lines, {"main": steps["main"] + more_steps["main"]}
    return (lines, steps), cls.provision()


@pytest.mark.parametrize("trap", KEY_TRAPS)
def test_a_trap_in_place_of_a_teams_keys_never_stops_provisioning(provisioned_class, trap):
    cls = provisioned_class
    with cls.as_root("main") as root:
        secrets = root_secrets(root)
    with cls.as_team(KEYS_OWNER) as team:
        team.run(KEY_TRAPS[trap], hide=True)
    time.sleep(1)
    finished, took, result = in_thread(lambda: provision_after_trap(cls), 120)
    if not finished:     # the base: the facts program blocks on the FIFO; a writer lets it go
        with cls.as_root("main") as root:
            root.run(f"pkill -u {KEYS_OWNER} -f hn-racer; sleep 1; timeout 5 sh -c 'echo > {KEYS}' || true",
                     hide=True, warn=True)
    assert finished, f"{trap}: provision still running after {took:.0f} s"
    assert not isinstance(result, Exception), f"{trap}: {result!r}"
    (dry_lines, dry_steps), (lines, steps) = result
    shown = "\n".join(dry_lines + lines + [s.diff for s in dry_steps["main"] + steps["main"]])
    assert not [secret for secret in secrets if secret in shown], f"{trap}: a root secret in provision's output"
    assert took < 90, f"{trap}: provision took {took:.0f} s"
    with cls.as_team(KEYS_OWNER) as team:         # its keys were written again: it logs in with its key
        assert team.run(f"test -f {KEYS} && ! test -L {KEYS} && head -1 {KEYS}", hide=True).stdout.startswith(
            "# managed by hacknode")
        team.run("rm -rf ~/.ssh-old ~/.ssh/authorized_keys.r ~/.ssh/authorized_keys.f", hide=True)
    assert others_healthy(cls, KEYS_OWNER) == {"hacknode1": 200, "hacknode2": 200}


def test_the_facts_of_a_6_gb_keys_file_fit_a_small_servers_memory(provisioned_class):
    """The facts program under a 2 GB memory limit (a small VPS) with a team's 6 GB sparse authorized_keys: the
    base read it whole (MemoryError); now it says the file is too big, without reading it."""
    cls = provisioned_class
    query = {"commands": [], "users": [KEYS_OWNER], "files": [KEYS], "paths": [], "running": {},
             "teams_glob": "/etc/hacknode/teams/*", "slice_dropin": "/nonexistent/{uid}", "homes": "/home",
             "crontabs": layout.CRONTABS, "at_jobs": layout.AT_JOBS}
    with cls.as_team(KEYS_OWNER) as team:
        team.run(f"cp {KEYS} ~/keys-kept && rm -f {KEYS} && truncate -s 6G {KEYS}", hide=True)
    try:
        with cls.as_root("main") as root:
            root.put(str(FACTS), "/root/facts-test.py")
            said = root.run("ulimit -v 2000000; timeout 60 python3 /root/facts-test.py "
                            + shlex.quote(json.dumps(query)),
                            hide=True, warn=True)
    finally:        # by root: sshd, reading 6 GB of keys as the team, would time the team's login out
        with cls.as_root("main") as root:
            root.run(f"mv -f {TeamPaths(KEYS_OWNER).home}/keys-kept {KEYS}", hide=True)
    assert said.ok, said.stderr[-500:]
    fact = json.loads(said.stdout)["files"][KEYS]
    assert fact.get("too_big") and "text" not in fact and len(said.stdout) < 10000, fact


# ---------- what a team's app answers on /healthz, and the names it gives its releases ----------

HEALTHZ_MODES = '''

def _mode():
    """A test's switch (tests/e2e/test_attacks_reads.py): what this team's /healthz does instead of answering."""
    try:
        return Path(os.path.expanduser("~/healthz-mode")).read_text().strip()
    except OSError:
        return ""


def _stream(chunk, pause):
    while True:
        yield chunk
        time.sleep(pause)


@bp.before_app_request
def _fooled_healthz():
    from flask import Response, request
    mode = _mode() if request.path == "/healthz" else ""
    if mode == "stream":         # an answer without end, as fast as it goes
        return Response(_stream(b'{"release": "' + b"x" * 65536, 0), mimetype="application/json")
    if mode == "drip":           # a byte a second, passed on by nginx as it comes: each read gets something
        return Response(_stream(b" ", 1), mimetype="application/json", headers={"X-Accel-Buffering": "no"})
    if mode == "newline":        # a release and settings that would add a line to the probe's output
        return {"status": "ok", "release": "20260101T000000Z\\n502 forged", "settings": "1\\t\\x1b[31m"}
    return None
'''


@pytest.fixture(scope="module")
def fooling_app(provisioned_class, tmp_path_factory):
    """PROBED runs a copy of the app whose /healthz streams, drips or lies when ~/healthz-mode says so; the real
    app is deployed again at the end."""
    cls = provisioned_class
    chosen = next(t for t in cls.inventory.teams if t.name == PROBED)
    source = copy_of_repo(tmp_path_factory.mktemp("fooling") / "app-copy")
    health = source / "app" / "health.py"
    health.write_text("import time\n" + health.read_text() + HEALTHZ_MODES)
    with cls.as_team(PROBED) as c:
        team_tasks.deploy_release(c, chosen, cls.inventory, str(source), cache_dir=WHEEL_CACHE,
                                  ssh_options=SSH_OPTIONS)
    yield cls
    with cls.as_team(PROBED) as c:
        c.run("rm -f ~/healthz-mode", hide=True)
        real = copy_of_repo(tmp_path_factory.mktemp("real") / "app-copy")
        team_tasks.deploy_release(c, chosen, cls.inventory, str(real), cache_dir=WHEEL_CACHE, ssh_options=SSH_OPTIONS)
    assert others_healthy(cls, None) == {team: 200 for team in TEAMS}


def set_mode(cls, mode):
    with cls.as_team(PROBED) as c:
        c.run(f"echo {mode} > ~/healthz-mode", hide=True)


def codes_of(report):
    return {entry["name"]: entry["healthz"] for entry in report["teams"]}


@pytest.mark.parametrize("mode", ["stream", "drip"])
def test_a_healthz_that_never_ends_does_not_hold_fab_status(fooling_app, mode):
    cls = fooling_app
    set_mode(cls, mode)
    try:
        finished, took, result = in_thread(lambda: admin.status_report(cls.inventory, cls.root_key), 150)
    finally:
        set_mode(cls, "")
    assert finished and not isinstance(result, Exception), f"{mode}: status after {took:.0f} s: {result!r}"
    report, problems = result
    assert problems == [] and took < STATUS_SECONDS, f"{mode}: fab status took {took:.1f} s"
    # what matters is the time: its answer's header may come (hacknode_entry marks every answer with the release,
    # and the probe then reads no body: 200) or not within the probe's time (its workers still busy streaming: 0)
    codes = codes_of(report)
    assert codes[PROBED] in (0, 200) and {team: codes[team] for team in ("hacknode1", "hacknode3")} == {
        "hacknode1": 200, "hacknode3": 200}, codes
    assert others_healthy(cls, PROBED) == {"hacknode1": 200, "hacknode3": 200}


def class_page_with(cls, text, seconds=40):
    """The class page once it shows `text` (it is written every few seconds), or its last version."""
    deadline = time.monotonic() + seconds
    while True:
        page = cls.http("hacknode1", "/", by="server")[1] or ""
        if text in page or time.monotonic() > deadline:
            return page
        time.sleep(1)


def test_names_and_answers_a_team_controls_are_shown_escaped(fooling_app):
    cls = fooling_app
    with cls.as_team(PROBED) as c:
        live = c.run("readlink ~/current", hide=True).stdout.strip()
        c.run(f"mkdir ~/releases/{shlex.quote(FORGED_RELEASE)} && ln -sfn releases/{shlex.quote(FORGED_RELEASE)} "
              "~/current && echo newline > ~/healthz-mode", hide=True)
    try:
        report, problems = admin.status_report(cls.inventory, cls.root_key)
        table, text = as_table(cls.inventory, report), as_json(report)
        page = class_page_with(cls, "evil")
    finally:
        with cls.as_team(PROBED) as c:
            c.run(f"ln -sfn {shlex.quote(live)} ~/current && rmdir ~/releases/{shlex.quote(FORGED_RELEASE)} && "
                  "rm -f ~/healthz-mode", hide=True)
    assert [entry["name"] for entry in report["teams"]] == list(TEAMS), "a team line was forged"
    assert codes_of(report) == {team: 200 for team in TEAMS}, "a team's /healthz answer shifted another's"
    entry = next(e for e in report["teams"] if e["name"] == PROBED)
    for shown in (entry["release"], entry["last_deploy"] or ""):
        assert not re.search(r"[\x00-\x1f\x7f]", shown), shown
    assert entry["release"].startswith("evil?name??31mred?hacknode9?RUNNING"), entry["release"]
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", table) and "\\u001b" not in text and "\x1b" not in page
    assert "hacknode9" not in {line.split()[0] for line in table.splitlines() if line.strip()}
    assert "evil?name" in page and 'href="/hacknode9/"' not in page
    assert problems == [] and others_healthy(cls, PROBED) == {"hacknode1": 200, "hacknode3": 200}


# ---------- the archive of a removed team ----------

ARCHIVED = {     # team -> what it leaves in its home before it is removed
    "hacknode7": "mkdir -p ~/fake && ln -sf /etc/shadow ~/fake/RELEASE && ln -sfn fake ~/current"
                 " && ln -s /etc ~/etc-link && ln -s /root ~/root-link",
    "hacknode8": "ln -sfn /root ~/current && ln -s /etc/shadow ~/shadow-link",
}


def archive_of(made, team):
    """(the archive's listing, its database manifest, the text of every file in it) of a removed `team`."""
    with made.as_root("main") as root:
        names = root.run("ls /var/backups/hacknode/", hide=True).stdout.split()
        path = "/var/backups/hacknode/" + next(name for name in names if name.startswith(f"{team}-"))
        listing = root.run(f"tar -tzvf {path}", hide=True).stdout
        manifest = root.run(f"tar -xzOf {path} database/{team}-database.tar.gz | tar -xzO hacknode-backup.json",
                            hide=True).stdout
        files = root.run(f"d=$(mktemp -d) && tar -xzf {path} -C $d && find $d -type f ! -name '*.gz' -print0 | "
                         "xargs -0 cat | head -c 2000000; rm -rf $d", hide=True).stdout
    return listing, manifest, files


def test_a_removed_teams_archive_holds_nothing_root_only(host_factory, make_class, tmp_path_factory):
    """Teams of a class of their own, about to be removed, point ~/current at /root, or at a folder whose RELEASE
    is a link to /etc/shadow, and keep links to /etc, /root and /etc/shadow in their homes: root archives each as
    the team itself (its own tar), and runs the database dump from /."""
    made = make_class(tmp_path_factory.mktemp("archive"), {"main": host_factory("archive")},
                      dict.fromkeys(ARCHIVED, "main"))
    made.provision()
    for team, trap in ARCHIVED.items():
        with made.as_team(team) as c:
            c.run(trap, hide=True)
    with made.as_root("main") as root:
        secrets = root_secrets(root)
        root.run("rm -rf /var/backups/hacknode", hide=True)
    for team in ARCHIVED:
        said = []
        admin.remove_team(made.inventory, team, "main", made.root_key, say=said.append)
        listing, manifest, files = archive_of(made, team)
        assert any(line.startswith(f"main: archived {team}") for line in said), said
        assert f"home/{team}/current -> " in listing and json.loads(manifest)["team"] == team
        assert not [secret for secret in secrets if secret in listing + manifest + files], \
            f"{team}: root-only content in its archive"
