"""The fault suite, continued: deploys and provisioning cut, racing and sharing the server, and the server restarted
or rebooted; each with what the user sees, the data lost (must be 0) and the time until every site answers again
(the figures: tests/e2e/test_faults.py's print_figures). Every test leaves every team healthy."""
import os
import threading
import time

import pytest

from deploy.team import tasks as team_tasks
from lab import testhost
from deploy.core.layout import TeamPaths
from tests.e2e.faults import count_marked, cut_ssh_when, record, seen_as_text, submit_marked, watch_until_all_answer
from tests.e2e.test_faults import print_figures  # noqa: F401 (its figures table gets this module's rows too)
from tests.e2e.test_faults import TEAMS, step_named
from tests.e2e.test_team_tasks import REPO, SSH_OPTIONS, WHEEL_CACHE, copy_of_repo, wait_for_release

pytestmark = pytest.mark.e2e


# ---------- deploys and provisioning cut, racing, sharing the server ----------

TEAM = "hacknode2"      # wait_for_release (test_team_tasks) watches this team
PATHS = TeamPaths(TEAM)


@pytest.fixture(scope="module")
def team(provisioned_class):
    """(class, team) for TEAM."""
    return provisioned_class, next(t for t in provisioned_class.inventory.teams if t.name == TEAM)


def deploy(team, source):
    """`fab deploy` of `source` by a member of TEAM, over an SSH connection of its own."""
    cls, chosen = team
    with cls.as_team(TEAM) as c:
        return team_tasks.deploy_release(c, chosen, cls.inventory, source, cache_dir=WHEEL_CACHE,
                                         ssh_options=SSH_OPTIONS)


def in_background(function, *args):
    """Run function(*args) in a thread; join() returns what it returned or the exception it raised."""
    outcome = {}

    def run():
        try:
            outcome["value"] = function(*args)
        except Exception as error:      # the test looks at it
            outcome["value"] = error
    thread = threading.Thread(target=run)
    thread.start()

    def join(seconds=300):
        thread.join(seconds)
        assert not thread.is_alive(), f"{function.__name__} still running after {seconds}s"
        return outcome["value"]
    return join


def live_release(root):
    """The release `current` links to, once no release operation of TEAM holds its lock; and whether it is
    whole (prepared: RELEASE written, its virtualenv complete, not failed)."""
    root.run(f"flock -w 300 {PATHS.run_dir}/release.lock true", hide=True)
    rid = root.run(f"basename $(readlink {PATHS.current})", hide=True).stdout.strip()
    whole = root.run(f"d={PATHS.releases}/{rid}; test \"$(cat $d/RELEASE)\" = {rid} "
                     f"&& test -f $d/rapid-env/.hacknode-complete && test ! -e $d/.hacknode-failed",
                     hide=True, warn=True).ok
    return rid, whole


@pytest.mark.parametrize("stage, probe, change", [
    # 40 MB of new data: the transfer lasts long enough for the cut to land in it (a small tree's rsync could end
    # between the probe seeing it and the cut, and Fabric's next command then simply reconnected)
    ("rsync", f"pgrep -u {TEAM} -x rsync >/dev/null", "ballast"),
    # the installer's own process by its name: release.sh's command line holds its whole text, "pip install" too
    ("virtualenv", f"pgrep -u {TEAM} -x 'pip|uv' >/dev/null", "requirements"),
    ("switch", "[ \"$(readlink {current})\" != \"{before}\" ]", "slow start"),
])
def test_ssh_cut_in_the_middle_of_a_deploy_leaves_one_whole_release(team, tmp_path, stage, probe, change):
    cls, _ = team
    source = copy_of_repo(tmp_path / "tree")
    if change == "requirements":       # a new virtualenv is built: pip runs on the server
        with open(source / "requirements.txt", "a") as f:
            f.write("# the fault suite's own virtualenv\n")    # fixed: its wheels are cached after one run
    if change == "ballast":
        (source / "app" / "static" / "ballast.bin").write_bytes(os.urandom(40 * 2**20))
    if change == "slow start":         # the new release takes 6 s to start: the cut lands between switch and health
        wsgi = source / "app" / "wsgi.py"
        wsgi.write_text("import time\ntime.sleep(6)\n" + wsgi.read_text())
    with cls.as_root(TEAM) as root:
        before = root.run(f"readlink {PATHS.current}", hide=True).stdout.strip()
        started = time.monotonic()
        finished = in_background(deploy, team, source)
        cut = cut_ssh_when(root, TEAM, probe.format(current=PATHS.current, before=before))
        outcome = finished()
        assert cut, f"the deploy never reached the {stage}: {outcome}"
        assert isinstance(outcome, Exception), f"the deploy finished despite the cut at the {stage}"
        rid, whole = live_release(root)
    assert whole, f"the live release {rid} is not whole after a cut at the {stage}"
    wait_for_release(cls, rid, 60)
    took, seen, tracebacks = watch_until_all_answer(cls, TEAMS)
    assert tracebacks == []
    which = "the old one" if f"releases/{rid}" == before else "the new one"
    record(f"SSH cut during fab deploy, at the {stage}", f"live release: {which}, whole; the deploy ends with "
           "an SSH error", 0, time.monotonic() - started)
    wait_for_release(cls, deploy(team, REPO))          # the next deploy succeeds


def tree_of(tmp_path, letter):
    """A copy of the repo whose two marker files both say `letter`: a release mixing two trees shows."""
    source = copy_of_repo(tmp_path / letter)
    for name in ("app/static/member.txt", "member.txt"):
        (source / name).write_text(letter)
    return source


def test_two_members_deploying_at_once_make_one_whole_release(team, tmp_path):
    cls, _ = team
    started = time.monotonic()
    trees = [tree_of(tmp_path, letter) for letter in "ABC"]
    first = in_background(deploy, team, trees[0])
    second = in_background(deploy, team, trees[1])       # the same second: its id taken, it takes the next second's
    time.sleep(1.5)
    third = in_background(deploy, team, trees[2])        # a moment later: waits for the release lock
    outcomes = [first(), second(), third()]
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert len(set(outcomes)) == 3, outcomes             # three releases, each its own id
    with cls.as_root(TEAM) as root:
        rid, whole = live_release(root)
        markers = root.run(f"cat {PATHS.current}/member.txt {PATHS.current}/app/static/member.txt",
                           hide=True).stdout
    assert whole and markers in ("AA", "BB", "CC"), (rid, markers)
    wait_for_release(cls, rid)
    record("three deploys by members of one team at once", "none refused (one whose release id was taken in the "
           "same second takes the next second's); they wait for the release lock in turn; the site serves one whole "
           "release", 0, time.monotonic() - started)
    wait_for_release(cls, deploy(team, REPO))


def test_a_full_disk_during_a_deploy_keeps_the_live_release_and_leaves_nothing_half_written(team, tmp_path):
    cls, _ = team
    source = copy_of_repo(tmp_path / "big")
    (source / "app" / "static" / "big.bin").write_bytes(os.urandom(12 * 2**20))   # more than the disk has left
    releases, copy = PATHS.releases, "/root/releases-before-the-full-disk"
    with cls.as_root(TEAM) as root:
        before, _ = live_release(root)
        listing = root.run(f"ls {releases}", hide=True).stdout
        # a small disk holding the team's releases as they are: a copy on a tmpfs 4 MB larger than them
        owner = root.run(f"stat -c 'uid=%u,gid=%g,mode=%a' {releases}", hide=True).stdout.strip()
        megabytes = int(root.run(f"du -sm {releases}", hide=True).stdout.split()[0]) + 4
        root.run(f"rm -rf {copy} && cp -a {releases} {copy} && mount -t tmpfs -o size={megabytes}m,{owner} "
                 f"hn-full {releases} && cp -a {copy}/. {releases}/", hide=True)
        try:
            started = time.monotonic()
            outcome = in_background(deploy, team, source)()
            assert cls.http(TEAM, "/healthz")[0] == 200
            after, whole = live_release(root)
            left = root.run(f"ls {releases}", hide=True).stdout
        finally:
            root.run(f"umount -l {releases}; rm -rf {copy}", hide=True)
    assert isinstance(outcome, Exception) and "the live release is unchanged" in str(outcome), outcome
    assert "\n" not in str(outcome), str(outcome)          # one line
    assert (after, whole) == (before, True) and left == listing, (after, left)
    record("the disk full during fab deploy (at the rsync)", "the site keeps serving the live release; the "
           "deploy ends with one line, no half-written release remains", 0, time.monotonic() - started)
    wait_for_release(cls, deploy(team, REPO))          # the next deploy succeeds


def test_a_deploy_while_the_instructor_provisions_both_finish(team, provisioned_class):
    cls = provisioned_class
    marker = f"together{int(time.time())}"
    submit_marked(cls, TEAM, marker, 5)
    started = time.monotonic()
    provisioning = in_background(cls.provision)
    deployed = deploy(team, REPO)
    provisioned = provisioning()
    assert not isinstance(provisioned, Exception), provisioned
    wait_for_release(cls, deployed)
    took, seen, tracebacks = watch_until_all_answer(cls, TEAMS)
    assert tracebacks == [] and count_marked(cls, TEAM, marker) == 5
    record("a team deploys while the instructor provisions", "both finish; " + seen_as_text(seen), 0,
           time.monotonic() - started)


def test_ssh_cut_in_the_middle_of_provisioning_then_a_rerun_finishes(provisioned_class):
    cls = provisioned_class
    with cls.as_root("main") as root:
        root.run("service nginx stop", hide=True)          # gives the run work to do on the server
        started = time.monotonic()
        provisioning = in_background(cls.provision)
        cut = cut_ssh_when(root, "root", "pgrep -f '/apply[.]sh' >/dev/null")
        outcome = provisioning()
    assert cut, f"provisioning never reached its bundle: {outcome}"
    assert isinstance(outcome, Exception), outcome
    lines, _ = cls.provision()
    assert any("provision: 1 servers" in line for line in lines) and not any("FAILED" in line for line in lines)
    took, seen, tracebacks = watch_until_all_answer(cls, TEAMS)
    assert tracebacks == []
    record("SSH cut during fab provision (at the bundle; nginx stopped before, to give it work)",
           f"the run ends with \"{str(outcome)[:60]}...\"; the rerun finishes and starts nginx", 0,
           time.monotonic() - started)


def test_a_rebooted_server_brings_every_team_back_with_its_data_by_itself(host_factory, make_class, tmp_path):
    host = host_factory("boot", boot=True)
    teams = ("hacknode1", "hacknode2")
    cls = make_class(tmp_path, {"main": host}, {team: "main" for team in teams})
    _, steps = cls.provision()
    boot = step_named(steps, "start at boot")
    assert (boot.changed, boot.why) == (True, "not enabled: supervisor nginx")
    marker = f"reboot{int(time.time())}"
    for team in teams:
        submit_marked(cls, team, marker, 5)
    started = time.monotonic()
    with host.connection() as root:
        root.run("systemctl restart supervisor", hide=True)
    took, seen, tracebacks = watch_until_all_answer(cls, teams)
    assert tracebacks == [] and all(count_marked(cls, team, marker) == 5 for team in teams)
    record("supervisord restarted (systemctl restart supervisor)", seen_as_text(seen), 0, time.monotonic() - started)
    started = time.monotonic()
    testhost.reboot_host(host.name)            # nobody runs a command after it
    took, seen, tracebacks = watch_until_all_answer(cls, teams)
    assert tracebacks == [] and all(count_marked(cls, team, marker) == 5 for team in teams)
    _, steps = cls.provision()                 # and the check finds everything enabled
    assert not step_named(steps, "start at boot").changed
    record("the server rebooted (stopped, started again)", seen_as_text(seen) + " until systemd has started "
           "supervisor and nginx", 0, time.monotonic() - started)

