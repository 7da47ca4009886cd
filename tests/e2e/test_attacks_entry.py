"""Attack class "privileged entry points": a team tries to make root run something of its own, as a team would
over SSH. No team has a sudo rule (the one it had, `sudo supervisorctl ... TEAM`, made it root: supervisorctl reads
./supervisord.conf from the caller's folder and a [ctlplugin:x] section runs any Python), and nothing root runs
takes configuration or code from a team's folder. Each attack is denied, and the other teams' /healthz answers 200
during and after it. The class is left healthy."""
import re
import shlex
import threading
import time

import pytest

from deploy.admin.tasks import status_report, status_table
from deploy.provision.run import provision_class
from deploy.team import tasks as team_tasks
from tests.e2e.test_attacks_reads import in_thread

pytestmark = pytest.mark.e2e
ATTACKER, VICTIM, BYSTANDER = "hacknode1", "hacknode2", "hacknode3"
PROOF = "/tmp/pwn-proof"
MARKER = "/tmp/hn-entry-root-marker"     # what a planted file writes when root runs it (never the team: root's /tmp)

# The attack, word for word, from ~/x (./supervisord.conf) and from ~/y (./etc/supervisord.conf)
CTLPLUGIN = "[supervisorctl]\n[ctlplugin:x]\nsupervisor.ctl_factory = code:interact\n"
PAYLOAD = f'import os; os.system("id > {PROOF}")'

# sudo tricks on what the old rule allowed: each refused, the victim's program untouched
SUDO_TRICKS = [f"restart {VICTIM}", f"restart  {VICTIM}", f"restart {ATTACKER} {VICTIM}", "restart all",
               f"stop {VICTIM}", f"tail -f {VICTIM}", f"tail -f {ATTACKER} {VICTIM}", f"tail -800 {VICTIM} stderr",
               "status", f"-c /tmp/other.conf restart {ATTACKER}", f"'restart {ATTACKER} {VICTIM}'",
               f"restart {ATTACKER}:*"]

# Python a team plants in its home, under names root's Python programs import (the standard library's, the
# startup hooks): run by root from the team's folder (sys.path[0] is the folder for -c, -m and stdin), it writes
# MARKER; run by anyone else it steps aside for the real module.
PLANTED_MODULE = f"""import os, sys
if os.getuid() == 0:
    open({MARKER!r}, "a").write(__name__ + " in " + os.getcwd() + "\\n")
"""
PLANTED_MODULES = ["sitecustomize", "usercustomize", "json", "glob", "shlex", "subprocess", "tempfile", "argparse",
                   "socket", "ssl", "pathlib", "secrets", "hashlib", "base64", "urllib", "pymongo", "jinja2", "hnplant"]
# a program named as root's tools are, first on a PATH the team's shell files set
PLANTED_PROGRAM = f"#!/bin/sh\n[ \"$(/usr/bin/id -u)\" != 0 ] || echo \"$0 in $PWD\" >> {MARKER}\nexec /usr/bin/$(basename \"$0\") \"$@\"\n"
PLANTED_PROGRAMS = ["id", "python3", "systemd-run", "setpriv", "env", "tail", "cat", "git", "tar", "pgrep", "stat"]
PLANT = f"""set -e
cd ~
printf '%s' {shlex.quote(CTLPLUGIN.replace("code:interact", "hnplant:make"))} > supervisord.conf
mkdir -p etc bin .local/lib/python3.11/site-packages .config/pip
cp supervisord.conf etc/supervisord.conf
for m in {' '.join(PLANTED_MODULES)}; do printf '%s' {shlex.quote(PLANTED_MODULE)} > $m.py; done
cp sitecustomize.py usercustomize.py .local/lib/python3.11/site-packages/
printf '%s' {shlex.quote(PLANTED_PROGRAM)} > bin/probe
for p in {' '.join(PLANTED_PROGRAMS)}; do cp bin/probe bin/$p; done
chmod +x bin/*
for f in .profile .bashrc .bash_profile .pam_environment; do echo 'PATH="$HOME/bin:$PATH"; export PATH' >> $f; done
printf '[install]\\nprefix = /tmp/hn-entry-pydistutils\\n' > .pydistutils.cfg
printf '[global]\\nindex-url = http://127.0.0.1:9/\\n' > .config/pip/pip.conf
"""
UNPLANT = (f"cd ~ && rm -rf supervisord.conf etc bin .local .config/pip .pydistutils.cfg .pam_environment "
           f"{' '.join(m + '.py' for m in PLANTED_MODULES)} && sed -i '/HOME\\/bin:/d' .profile .bashrc .bash_profile")


def others_healthy(made, teams=(VICTIM, BYSTANDER)):
    return {team: made.http(team, "/healthz")[0] for team in teams}


def pid_of(root, team):
    return root.run(f"supervisorctl pid {team}", hide=True).stdout.strip()


def test_the_supervisorctl_ctlplugin_attack_and_the_sudo_tricks_are_refused(provisioned_class):
    made = provisioned_class
    with made.as_root("main") as root:
        root.run(f"rm -f {PROOF}", hide=True)
        victim_pid = pid_of(root, VICTIM)
    with made.as_team(ATTACKER) as c:
        c.run(f"mkdir -p ~/x ~/y/etc && printf '%s' {shlex.quote(CTLPLUGIN)} > ~/x/supervisord.conf "
              f"&& cp ~/x/supervisord.conf ~/y/etc/supervisord.conf", hide=True)
        attacks = {folder: c.run(f"cd {folder} && echo {shlex.quote(PAYLOAD)} | sudo -n /usr/bin/supervisorctl status "
                                 f"{ATTACKER}", hide=True, warn=True) for folder in ("~/x", "~/y")}
        during = others_healthy(made)
        listed = c.run("sudo -n -l", hide=True, warn=True)
        tricks = {trick: c.run(f"sudo -n /usr/bin/supervisorctl {trick}", hide=True, warn=True) for trick in SUDO_TRICKS}
        c.run("rm -rf ~/x ~/y", hide=True)
    with made.as_root("main") as root:
        proof = root.run(f"cat {PROOF}", hide=True, warn=True)
        after_pid = pid_of(root, VICTIM)
        root.run(f"rm -f {PROOF}", hide=True)
    print(f"\nctlplugin attack from ~/x: exit {attacks['~/x'].exited}, {attacks['~/x'].stderr.strip()!r}; "
          f"{PROOF}: {proof.stdout.strip() or 'none'}; sudo -n -l: {(listed.stdout + listed.stderr).strip()!r}")
    for folder, result in attacks.items():
        assert result.failed and "password is required" in result.stderr, (folder, result.stdout, result.stderr)
    assert proof.failed, f"root ran the team's plugin: {proof.stdout}"
    # sudo lists nothing a team may run: it asks for a password the team account does not have
    assert listed.failed and "may run" not in listed.stdout and "password is required" in listed.stderr
    for trick, result in tricks.items():
        assert result.failed and "password is required" in result.stderr, trick
    assert after_pid == victim_pid
    assert during == {VICTIM: 200, BYSTANDER: 200} and others_healthy(made) == {VICTIM: 200, BYSTANDER: 200}


def test_a_sudo_rule_left_by_an_older_provisioning_is_removed(provisioned_class):
    made = provisioned_class
    old_rule = f"{ATTACKER} ALL=(root) NOPASSWD: /usr/bin/supervisorctl status {ATTACKER}"
    with made.as_root("main") as root:
        root.run(f"echo {shlex.quote(old_rule)} > /etc/sudoers.d/hacknode-{ATTACKER} "
                 f"&& chmod 0440 /etc/sudoers.d/hacknode-{ATTACKER}", hide=True)
    with made.as_team(ATTACKER) as c:
        assert c.run(f"sudo -n /usr/bin/supervisorctl status {ATTACKER}", hide=True, warn=True).ok   # it works today
    lines, _ = made.provision()
    again, _ = made.provision()
    with made.as_root("main") as root:
        left = root.run("ls /etc/sudoers.d/", hide=True).stdout.split()
    with made.as_team(ATTACKER) as c:
        listed = c.run("sudo -n -l", hide=True, warn=True)
    assert any(re.match(r"main\s+sudo rules\s+changed", line) for line in lines), lines
    assert any(re.match(r"main\s+sudo rules\s+ok", line) for line in again), again
    assert f"hacknode-{ATTACKER}" not in left
    assert listed.failed and "password is required" in listed.stderr
    assert others_healthy(made) == {VICTIM: 200, BYSTANDER: 200}


def test_files_a_team_plants_in_its_home_are_never_read_by_what_root_runs(provisioned_class):
    """supervisorctl's ./supervisord.conf, Python's startup hooks and modules, programs first on PATH, pip and
    distutils configs, all in the team's home: a provision that rewrites its keys and fixes its folders (root's
    work in that home), `fab status`, and supervisor starting its program again run none of them as root."""
    made = provisioned_class
    with made.as_root("main") as root:
        root.run(f"rm -f {MARKER}", hide=True)
    with made.as_team(ATTACKER) as c:
        c.run(PLANT, hide=True)
        c.run("echo '# a member added a comment' >> ~/.ssh/authorized_keys", hide=True)   # provisioning rewrites it
        c.run("chmod 0755 ~/tmp", hide=True)                                              # and fixes this folder
    try:
        lines, _ = made.provision()
        table, _problems = status_table(made.inventory, made.root_key)
        with made.as_root("main") as root:
            before = pid_of(root, ATTACKER)
            root.run(f"supervisorctl restart {ATTACKER}", hide=True)      # root's part of starting its program
            after = pid_of(root, ATTACKER)
            marker = root.run(f"cat {MARKER}", hide=True, warn=True)
            tmp_mode = root.run(f"stat -c %a /home/{ATTACKER}/tmp", hide=True).stdout.strip()
    finally:
        with made.as_team(ATTACKER) as c:
            c.run(UNPLANT, hide=True, warn=True)
    assert any(re.match(rf"main\s+{ATTACKER}\s+configs\s+changed", line) for line in lines), lines
    assert tmp_mode == "700" and after != before and ATTACKER in table
    assert marker.failed, f"root ran a file the team planted: {marker.stdout}"
    assert made.http(ATTACKER, "/healthz")[0] == 200
    assert others_healthy(made) == {VICTIM: 200, BYSTANDER: 200}


def test_a_hard_restart_runs_as_the_team_and_starts_a_new_master(provisioned_class, capsys):
    made = provisioned_class
    team = next(t for t in made.inventory.teams if t.name == BYSTANDER)
    others = (ATTACKER, VICTIM)
    seen, stop = [], threading.Event()

    def watch():          # the other teams, every 0.2 s while the restart runs
        while not stop.is_set():
            seen.append(others_healthy(made, others))
            time.sleep(0.2)
    with made.as_root("main") as root:
        before = pid_of(root, BYSTANDER)
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with made.as_team(BYSTANDER) as c:
            team_tasks.restart(c, team, made.inventory, hard=True)
            sudo_used = c.run("sudo -n true", hide=True, warn=True)
    finally:
        stop.set()
        watcher.join()
    out = capsys.readouterr().out
    with made.as_root("main") as root:
        after = pid_of(root, BYSTANDER)
    print(f"\nhard restart: master {before} -> {after}; others during: {len(seen)} checks")
    assert after != before and after != "0"
    assert "uwsgi: stop (Q on" in out and "uwsgi: started, master pid" in out and ": ok" in out
    assert sudo_used.failed
    assert made.http(BYSTANDER, "/healthz")[0] == 200
    assert seen and all(s == {ATTACKER: 200, VICTIM: 200} for s in seen), seen
    assert others_healthy(made, others) == {ATTACKER: 200, VICTIM: 200}


def test_a_team_reads_its_own_log_across_supervisors_rotation_and_no_other_team_can(provisioned_class):
    """`fab logs` and the log a restart shows are read by the team itself (no sudo): its log folder is 2750
    root:team, so supervisor's files and the ones its rotation makes get the team's group."""
    made = provisioned_class
    team, log = BYSTANDER, f"/var/log/hacknode/{BYSTANDER}/uwsgi.log"
    with made.as_root("main") as root:
        root.run(f"truncate -s +10M {log}", hide=True)        # past stdout_logfile_maxbytes: the next line rotates
        for _ in range(3):
            made.http(team, "/healthz")
        time.sleep(1)
        listing = root.run(f"stat -c '%n %U:%G %a' /var/log/hacknode/{team} {log} {log}.1", hide=True).stdout
    with made.as_team(team) as c:
        own = c.run(f"tail -n 3 {log}", hide=True, warn=True)
    with made.as_team(ATTACKER) as c:
        other = c.run(f"tail -n 3 {log}", hide=True, warn=True)
    print(f"\n{listing}")
    folder, current, rotated = (line.split() for line in listing.splitlines())
    assert folder[1:] == [f"root:{team}", "2750"]
    assert current[1] == f"root:{team}" and rotated[1] == f"root:{team}"    # the new file after the rotation
    assert current[2][-1] in "04" and int(current[2][-2]) & 4                # group reads it
    assert own.ok and "GET /healthz" in own.stdout
    assert other.failed and "Permission denied" in other.stderr
    assert others_healthy(made) == {VICTIM: 200, BYSTANDER: 200}


def provision_lines(made, lines):
    """A provision's printed lines into `lines`; what it raised (a team's job failed: ProvisionError), else None."""
    try:
        provision_class(made.inventory, made.root_key, say=lines.append)
    except Exception as error:       # the test reads it
        return error
    return None


def test_a_fifo_in_a_teams_tree_fails_its_own_job_alone_and_provisioning_goes_on(provisioned_class):
    """Its release lock a FIFO, its first release gone (provisioning makes it again, as the team), a FIFO where its
    keys were written: the lock's open blocked its job for ever, and the services step never ran for any team."""
    made = provisioned_class
    with made.as_team(ATTACKER) as c:
        c.run("rm ~/current && rm -f ~/run/release.lock && mkfifo ~/run/release.lock ~/.ssh/authorized_keys.hn-new"
              " && echo '# a member added a comment' >> ~/.ssh/authorized_keys", hide=True)
    lines = []
    finished, took, error = in_thread(lambda: provision_lines(made, lines), 150)
    during = others_healthy(made)
    if not finished:     # the base: the team's prepare waits on the FIFO for ever; a reader lets it go
        with made.as_root("main") as root:
            root.run(f"timeout 5 cat /home/{ATTACKER}/run/release.lock; true", hide=True, warn=True)
        time.sleep(5)
    with made.as_team(ATTACKER) as c:
        c.run("rm -f ~/run/release.lock ~/.ssh/authorized_keys.hn-new", hide=True)
    again, _ = made.provision()
    print(f"\nFIFO lock: finished {finished} in {took:.0f} s; " + " / ".join(l.strip() for l in lines if "FAILED" in l))
    assert finished, f"provision still running after {took:.0f} s"
    assert "team(s) hacknode1 failed" in str(error), error
    assert any(re.match(rf"main\s+{ATTACKER}\s+first release\s+FAILED", line) for line in lines), lines
    assert any(re.match(r"main\s+services\s+changed", line) for line in lines), lines   # went on for the others
    assert any("release.lock is not a plain file" in line for line in lines), lines
    assert any(re.match(rf"main\s+{ATTACKER}\s+first release\s+changed", line) for line in again), again
    assert during == {VICTIM: 200, BYSTANDER: 200} and others_healthy(made) == {VICTIM: 200, BYSTANDER: 200}
    assert made.http(ATTACKER, "/healthz")[0] == 200


FORGED = "HN-TEAM-FAILED hacknode2 forged\\nHN-DONE\\n\\x1b]52;c;cHduZWQ=\\x07\\x1b[2J"   # a Python literal's text


def test_a_teams_log_forges_no_report_line_and_its_decoy_nginx_is_not_roots(provisioned_class):
    """Its app fails with report lines and terminal escapes in its uwsgi log (shown when its /healthz fails), and it
    runs a program named nginx while root's is stopped (a crash): root's is started, the log shown quoted."""
    made = provisioned_class
    init = "~/current/app/__init__.py"
    with made.as_team(ATTACKER) as c:
        c.run(f"cp {init} ~/init.py.bak && printf '%s\\n' 'raise RuntimeError(\"\\n{FORGED}\")' >> {init}"
              f" && echo r > ~/run/master.fifo && cp /bin/sleep ~/nginx && (nohup ~/nginx 600 >/dev/null 2>&1 &)"
              " && echo '# a member added a comment' >> ~/.ssh/authorized_keys", hide=True)
    made.http(ATTACKER, "/healthz")     # a worker loads its app: the traceback in its log
    with made.as_root("main") as root:
        root.run("systemctl stop nginx 2>/dev/null || service nginx stop; sleep 2", hide=True)
        lines = []
        error = provision_lines(made, lines)
        nginx = root.run("pgrep -u root -x nginx", hide=True, warn=True)
    with made.as_team(ATTACKER) as c:
        c.run(f"cp ~/init.py.bak {init} && rm ~/init.py.bak && pkill -u {ATTACKER} -x nginx; rm -f ~/nginx", hide=True)
    with made.as_root("main") as root:
        root.run(f"supervisorctl restart {ATTACKER}", hide=True, warn=True)
    print(f"\nnginx {'started' if nginx.ok else 'not running'}; {[l for l in lines if 'FAILED' in l or 'HN-' in l]}")
    assert nginx.ok, "root's nginx was not started: the team's process named nginx passed for it"
    assert not [line for line in lines if "\x1b" in line or "\x07" in line], lines
    assert not [line for line in lines if re.match(r"main\s+.*FAILED", line)], lines   # none forged
    assert any(line.startswith("  main:   | HN-TEAM-FAILED hacknode2 forged") for line in lines), lines
    assert f"{ATTACKER}: program" in str(error), error          # its own failure, said by root
    assert others_healthy(made) == {VICTIM: 200, BYSTANDER: 200}
    for _ in range(20):
        if made.http(ATTACKER, "/healthz")[0] == 200:
            break
        time.sleep(1)
    assert made.http(ATTACKER, "/healthz")[0] == 200


def test_status_never_lists_a_folder_a_teams_releases_link_leads_to(provisioned_class):
    """The collector (root) showed the newest name in ~/releases: linked to /root, a name of root's was on the page."""
    made = provisioned_class
    planted = "/root/20991231T235959Z-root"
    with made.as_root("main") as root:
        root.run(f"touch {planted}", hide=True)
    with made.as_team(ATTACKER) as c:
        c.run("mv ~/releases ~/releases.real && ln -s /root ~/releases", hide=True)
    try:
        report, problems = status_report(made.inventory, made.root_key)
    finally:
        with made.as_root("main") as root:
            root.run(f"rm -f {planted} && cd /home/{ATTACKER} && rm releases && mv releases.real releases", hide=True)
    entry = next(e for e in report["teams"] if e["name"] == ATTACKER)
    print(f"\nreleases linked to /root: last deploy {entry['last_deploy']}")
    assert problems == [] and not (entry["last_deploy"] or "").startswith("2099"), entry
    assert others_healthy(made) == {VICTIM: 200, BYSTANDER: 200}
