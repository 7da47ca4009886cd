"""Attacks of the classes "names", "scheduled jobs" and "removal" (issue 21, items 3, 6 and 7), on a class of its own
(teams are removed here): a team named after a group of the server is refused before anything changes; a team's
crontab and at jobs are refused; removing a team leaves nothing of its uid (processes, files outside its home,
crontab, SysV IPC), so the next team given that uid owns nothing old. The other teams answer 200 throughout.
The removed team's archive: tests/e2e/test_attacks_removed_archive.py."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.admin.tasks import remove_team
from deploy.core import layout
from deploy.core.errors import ProvisionError
from deploy.inventory import load_inventory
from deploy.team import tasks as team_tasks
from tests.e2e.test_team_tasks import SSH_OPTIONS, WHEEL_CACHE, copy_of_repo

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
FAB = str(Path(sys.executable).parent / "fab")
KEEPERS = {"hacknode1": "main", "hacknode2": "main"}
LEAVER, NEWCOMER, HOARDER, CUTTER = "leaver", "newcomer", "hoarder", "cutter"
# where a team can leave files outside its home, and the root filesystem (its home's)
LOOK_IN = "/ /tmp /var/tmp /dev/shm /run /var/spool /var/mail"


@pytest.fixture(scope="module")
def names_class(host_factory, tmp_path_factory, make_class):
    """hacknode1 and hacknode2, then `leaver` in a second run: the newest user, so the next team made gets its uid."""
    made = make_class(tmp_path_factory.mktemp("names"), {"main": host_factory("names")}, dict.fromkeys(
        [*KEEPERS, LEAVER, NEWCOMER, HOARDER, CUTTER], "main"))
    made.provision(load_inventory(made.write_inventory(KEEPERS, "keepers.yml")))
    made.provision(load_inventory(made.write_inventory({**KEEPERS, LEAVER: "main"}, "with-leaver.yml")))
    return made


def keepers_healthy(made):
    return {team: made.http(team, "/healthz")[0] for team in KEEPERS} == {team: 200 for team in KEEPERS}


def root_run(made, command):
    with made.as_root("main") as c:
        return c.run(command, hide=True, warn=True)


def fab(*args, key):
    return subprocess.run([FAB, *args, "--key", key], cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HACKNODE_ADMIN_KEY": ""})


# ---------- names ----------

@pytest.mark.parametrize("setup, group", [
    ("groupadd hn-grp", "hn-grp"),                                              # a group the admin made
    ("groupadd hn-crew && useradd --system -M -N -G hn-crew hn-member", "hn-crew"),       # a group with a member
    ("groupadd --system hn-sys", "hn-sys"),                                      # a system group a package made
])
def test_a_team_named_after_a_group_of_the_server_is_refused_before_anything_changes(names_class, setup, group):
    made = names_class
    root_run(made, f"getent group {group} >/dev/null || {{ {setup}; }}")
    before = root_run(made, f"getent group {group}").stdout
    teams = {**KEEPERS, LEAVER: "main", group: "main"}
    inventory = made.write_inventory(teams, f"with-{group}.yml")
    Path(made.directory / "keys" / f"{group}.pub").write_text(Path(made.key[LEAVER] + ".pub").read_text())
    with pytest.raises(ProvisionError) as refused:
        made.provision(load_inventory(inventory))
    assert f"team {group}" in str(refused.value) and f"group {group}" in str(refused.value), refused.value
    print(f"\n{setup}: {refused.value}")
    assert root_run(made, f"getent group {group}").stdout == before               # the group as it was
    assert root_run(made, f"getent passwd {group}; ls -d /home/{group} /etc/hacknode/teams/{group}").stdout == ""
    assert keepers_healthy(made)


@pytest.mark.parametrize("name", ["disk", "shadow", "docker", "ssl-cert", "kvm"])
def test_a_team_named_after_a_debian_system_group_is_refused_by_the_inventory_in_one_line(names_class, name):
    made = names_class
    before = root_run(made, f"getent group {name}; getent passwd {name}").stdout
    Path(made.directory / "keys" / f"{name}.pub").write_text(Path(made.key[LEAVER] + ".pub").read_text())
    inventory = made.write_inventory({**KEEPERS, name: "main"}, f"system-{name}.yml")
    done = fab("provision", "--inventory", inventory, key=made.root_key)
    said = done.stdout + done.stderr
    assert done.returncode == 2 and "Traceback" not in said, said
    assert f"system-{name}.yml:" in said and "teams[2].name" in said and "group" in said, said
    done = fab("remove_team", "--team", name, "--inventory", made.path, key=made.root_key)
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0, done.stderr
    assert f"{name!r} is not a team name" in done.stderr
    print(f"\n{name}: {said.strip().splitlines()[-1]!r}; remove_team: {done.stderr.strip()!r}")
    assert root_run(made, f"getent group {name}; getent passwd {name}").stdout == before     # nothing changed


# ---------- scheduled jobs ----------

def test_a_team_can_neither_install_a_crontab_nor_queue_an_at_job(names_class):
    made = names_class
    with made.as_team("hacknode2") as c:
        tries = {"crontab -l": c.run("crontab -l", hide=True, warn=True),
                 "crontab -": c.run("echo '* * * * * id > /tmp/cron-ran' | crontab -", hide=True, warn=True),
                 "at": c.run("echo 'id > /tmp/at-ran' | at now + 1 hour", hide=True, warn=True),
                 "batch": c.run("echo 'id > /tmp/at-ran' | batch", hide=True, warn=True)}
    for attempt, result in tries.items():
        assert result.failed, (attempt, result.stdout, result.stderr)
    assert "not allowed" in tries["crontab -"].stderr and "permission" in tries["at"].stderr, tries
    print("".join(f"\n{attempt}: {result.stderr.strip()!r}" for attempt, result in tries.items()))
    assert root_run(made, "ls /var/spool/cron/crontabs; atq").stdout.strip() == ""
    assert keepers_healthy(made)


# ---------- removal ----------

LEAVE_BEHIND = r"""
nohup bash -c 'trap "" TERM HUP INT; while :; do sleep 1; done' >/dev/null 2>&1 &
nohup sleep 100000 >/dev/null 2>&1 &
setsid bash -c 'trap "" TERM HUP; exec sleep 100001' >/dev/null 2>&1 < /dev/null &
nohup bash -c 'trap "" TERM; while :; do (trap "" TERM; exec sleep 3) & sleep 0.2; done' >/dev/null 2>&1 &
mkdir -m 1777 /tmp/leaver-shared
echo x > /tmp/leaver-t; mkdir /tmp/leaver-dir; echo y > /tmp/leaver-dir/f
echo z > /var/tmp/leaver-vt; echo w > /dev/shm/leaver-shm; ln -s /etc/passwd /tmp/leaver-link
ln -s /etc /var/tmp/leaver-etc
ipcmk -M 4096 >/dev/null; ipcmk -Q >/dev/null; ipcmk -S 1 >/dev/null
sleep 1; pgrep -u leaver -c
"""


# a SysV IPC object's owner and creator: columns uid and cuid (5 and 7 for semaphores, 8 and 10 for the others)
SYSVIPC_OF_UID = 'FNR > 1 { n = FILENAME ~ /sem$/ ? 5 : 8; if ($n == u || $(n + 2) == u) print FILENAME ": " $0 }'


def plant_jobs(made):
    """A crontab and an at job of the leaver's, as made before its name was denied (the denial lifted a moment)."""
    root_run(made, f"sed -i '/^{LEAVER}$/d' /etc/cron.deny /etc/at.deny")
    with made.as_team(LEAVER) as c:
        c.run("echo '* * * * * sleep 5' | crontab - && echo 'sleep 5' | at now + 1 hour", hide=True)
    root_run(made, f"echo {LEAVER} >> /etc/cron.deny && echo {LEAVER} >> /etc/at.deny")


def uid_left(made, uid):
    """Every process, file (the root filesystem and the shared folders) and SysV IPC object of `uid`, a line each."""
    return root_run(made, f"pgrep -u {uid} -a; pgrep -U {uid} -a; find {LOOK_IN} -xdev -uid {uid} 2>/dev/null; "
                          f"awk -v u={uid} '{SYSVIPC_OF_UID}' /proc/sysvipc/shm /proc/sysvipc/msg /proc/sysvipc/sem"
                    ).stdout.split("\n")


def test_removing_a_team_leaves_nothing_of_its_uid_for_the_next_team(names_class, tmp_path):
    made = names_class
    uid = root_run(made, f"id -u {LEAVER}").stdout.strip()
    tree = copy_of_repo(tmp_path / "with-a-worker")                  # its own app: a worker and a cron job running
    (tree / "Procfile").write_text("web: app.wsgi:app\nhealth: /healthz\nworker: sleep 10000\n"
                                   "cron: * * * * * sleep 10000\n")
    leaver = next(t for t in made.inventory.teams if t.name == LEAVER)
    with made.as_team(LEAVER) as c:
        team_tasks.deploy_release(c, leaver, made.inventory, tree, cache_dir=WHEEL_CACHE, ssh_options=SSH_OPTIONS)
        assert c.run("pgrep -u leaver -x sleep && pgrep -u leaver -f 'team-procs cron'", hide=True).ok
        running = c.run(LEAVE_BEHIND, hide=True, warn=True)
        cron = c.run("echo '* * * * * true' | crontab -", hide=True, warn=True)
    assert int(running.stdout.split()[-1]) >= 5, running
    with made.as_team("hacknode2") as c:              # another team's file in a 1777 folder of the leaver's
        c.run("echo mine > /tmp/leaver-shared/hacknode2-file", hide=True)
    # a crontab and an at job from before its name was denied: the next provisioning removes them, and removal too
    for provision_first in (True, False):
        plant_jobs(made)
        assert root_run(made, f"ls {layout.CRONTABS}; atq").stdout.split().count(LEAVER) == 2
        if provision_first:
            lines, steps = made.provision(load_inventory(made.write_inventory({**KEEPERS, LEAVER: "main"}, "jobs.yml")))
            jobs = next(step for step in steps["main"] if step.name == "scheduled jobs")
            assert jobs.changed and jobs.why == "jobs removed: leaver", jobs
            assert root_run(made, f"ls {layout.CRONTABS}; atq").stdout.strip() == ""
    left_before = [line for line in uid_left(made, uid) if line]
    assert keepers_healthy(made)
    lines = []
    remove_team(made.inventory, LEAVER, "main", made.root_key, say=lines.append)
    assert lines[-1] == f"main: removed {LEAVER}", lines
    left = [line for line in uid_left(made, uid) if line]
    print(f"\nuid {uid} before removal ({len(left_before)} things): {left_before[:12]}\nafter: {left}"
          f"\ncrontab as the team: {cron.stderr.strip()!r}")
    assert left == [], left
    assert root_run(made, f"getent passwd {LEAVER}; getent group {LEAVER}").stdout == ""
    assert root_run(made, "getent passwd root && test -d /etc/ssh").ok          # the links were not followed
    kept = root_run(made, "stat -c '%U %a' /tmp/leaver-shared; cat /tmp/leaver-shared/hacknode2-file").stdout
    assert kept.split("\n")[:2] == ["root 1777", "mine"], kept       # the folder becomes root's, hacknode2's file stays
    denied = root_run(made, "cat /etc/cron.deny /etc/at.deny").stdout.split()
    assert LEAVER not in denied and "hacknode1" in denied and "daemon" in denied      # at's own lines are kept
    assert keepers_healthy(made)

    lines, _ = made.provision(load_inventory(made.write_inventory({**KEEPERS, NEWCOMER: "main"}, "newcomer.yml")))
    assert root_run(made, f"id -u {NEWCOMER}").stdout.strip() == uid                # the same uid, handed on
    theirs = root_run(made, f"find {LOOK_IN} -xdev -uid {uid} -not -path '/home/{NEWCOMER}*' 2>/dev/null").stdout
    assert theirs == "", theirs                                                      # nothing of the old team
    with made.as_team(NEWCOMER) as c:
        assert c.run("ls /tmp/leaver-t /var/tmp/leaver-vt /dev/shm/leaver-shm", hide=True, warn=True).failed
        assert c.run("pgrep -u newcomer -f 'sleep 10000'", hide=True, warn=True).failed
    assert keepers_healthy(made) and made.http(NEWCOMER, "/healthz")[0] == 200


def test_on_a_server_systemd_runs_removal_ends_the_teams_session_manager_and_runtime_folder(host_factory,
                                                                                           tmp_path_factory, make_class):
    # where systemd runs, an SSH login starts the team's own systemd --user and mounts /run/user/UID (pam_systemd)
    made = make_class(tmp_path_factory.mktemp("names-boot"), {"main": host_factory("names-boot", boot=True)},
                      {"hacknode1": "main", LEAVER: "main"})
    made.provision()
    uid = root_run(made, f"id -u {LEAVER}").stdout.strip()
    with made.as_team(LEAVER) as c:
        c.run(LEAVE_BEHIND, hide=True, warn=True)
        c.run("echo r > $XDG_RUNTIME_DIR/leaver-run; systemd-run --user sleep 100002 || true", hide=True, warn=True)
    session = root_run(made, f"pgrep -u {uid} -a; mountpoint /run/user/{uid}").stdout
    lines = []
    remove_team(made.inventory, LEAVER, "main", made.root_key, say=lines.append)
    left = [line for line in uid_left(made, uid) if line]
    print(f"\nbooted: uid {uid} before removal: {session.strip().splitlines()[-3:]}\nafter: {left}")
    assert lines[-1] == f"main: removed {LEAVER}" and left == [], (lines, left)
    assert root_run(made, f"mountpoint -q /run/user/{uid}").failed
    assert made.http("hacknode1", "/healthz")[0] == 200

