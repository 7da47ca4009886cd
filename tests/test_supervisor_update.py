"""Provisioning's hn_supervisor_update (apply-lib.sh, through deploy/remote/supervisor_update.py) against a real
supervisord of this test's own: a config supervisor cannot read changes nothing and is put back; a good one goes
live; a changed one is taken, a removed one stops."""
import os
import subprocess
import time

import pytest

from deploy.core.commands import remote_file, remote_program

APPLY_LIB = remote_program("apply-lib.sh")
UPDATE_TOOL = remote_file("supervisor_update.py")     # the bundle carries it beside apply.sh
PROGRAM = "[program:{name}]\ncommand = /bin/sleep 600\nstartsecs = {startsecs}\n"


@pytest.fixture
def supervisor(tmp_path):
    """A supervisord with its socket and conf.d in tmp_path; `supervisorctl` on PATH talks to it."""
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    (conf_d / "good.conf").write_text(PROGRAM.format(name="good", startsecs=0))
    conf = tmp_path / "supervisord.conf"
    conf.write_text(f"[unix_http_server]\nfile = {tmp_path}/s.sock\n[supervisord]\nlogfile = {tmp_path}/log\n"
                    f"pidfile = {tmp_path}/pid\nchildlogdir = {tmp_path}\n"
                    "[rpcinterface:supervisor]\n"
                    "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
                    f"[supervisorctl]\nserverurl = unix://{tmp_path}/s.sock\n[include]\nfiles = {conf_d}/*.conf\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "supervisorctl").write_text(f'#!/bin/sh\nexec /usr/bin/supervisorctl -c {conf} "$@"\n')
    (bin_dir / "supervisorctl").chmod(0o755)
    subprocess.run(["/usr/bin/supervisord", "-c", str(conf)], check=True, timeout=30)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "HN_SUPERVISOR_SOCKET": f"{tmp_path}/s.sock"}
    for _ in range(50):
        if subprocess.run(["supervisorctl", "pid"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    yield conf_d, env
    subprocess.run(["supervisorctl", "shutdown"], env=env, capture_output=True, timeout=30)


def run_helpers(env, lines, *args):
    """apply-lib.sh's helpers, the bundle's supervisor_update.py in the stage, then `lines` ($2... are `args`)."""
    script = (f'{APPLY_LIB}\nHN_STAGE=$(mktemp -d)\nprintf %s "$1" > "$HN_STAGE/supervisor_update.py"\n'
              f'{lines}\necho updated')
    return subprocess.run(["bash", "-c", script, "bash", UPDATE_TOOL, *args], capture_output=True, text=True,
                          env=env, timeout=60)


def install_and_update(conf_d, env, name, text):
    """hn_install of one program's config into conf.d, then hn_supervisor_update, as a provisioning script does."""
    return run_helpers(env, 'printf %s "$3" > "$HN_STAGE/new.conf"\nhn_install "$HN_STAGE/new.conf" "$2" root root 0644\n'
                            'hn_supervisor_update', str(conf_d / f"{name}.conf"), text)


def status(env):
    return subprocess.run(["supervisorctl", "status"], env=env, capture_output=True, text=True).stdout


def test_a_config_supervisor_cannot_read_is_put_back_and_changes_nothing(supervisor):
    conf_d, env = supervisor
    done = install_and_update(conf_d, env, "broken", PROGRAM.format(name="broken", startsecs="soon"))
    assert done.returncode == 3 and "updated" not in done.stdout
    assert "CANT_REREAD: invalid literal for int() with base 10: 'soon' in section 'program:broken'" in done.stderr
    assert "HN-FAIL supervisor refused the new config" in done.stderr
    assert not (conf_d / "broken.conf").exists()                 # put back: the next run starts from the old state
    assert "good" in status(env) and "broken" not in status(env)


def test_a_good_config_goes_live(supervisor):
    conf_d, env = supervisor
    done = install_and_update(conf_d, env, "added", PROGRAM.format(name="added", startsecs=0))
    assert done.returncode == 0 and done.stdout.strip() == "updated", done.stderr
    assert "added" in status(env)


def test_a_changed_config_restarts_its_program_and_a_removed_one_stops_it(supervisor):
    conf_d, env = supervisor
    pid = subprocess.run(["supervisorctl", "pid", "good"], env=env, capture_output=True, text=True).stdout.strip()
    changed = PROGRAM.format(name="good", startsecs=0).replace("sleep 600", "sleep 601")
    assert install_and_update(conf_d, env, "good", changed).returncode == 0
    new_pid = subprocess.run(["supervisorctl", "pid", "good"], env=env, capture_output=True, text=True).stdout.strip()
    assert new_pid.isdigit() and new_pid != pid and "sleep 601" in open(f"/proc/{new_pid}/cmdline").read().replace("\0", " ")
    (conf_d / "good.conf").unlink()
    done = run_helpers(env, "hn_supervisor_update")
    assert done.returncode == 0 and "good" not in status(env), done.stderr


def pid_of(env, name):
    return subprocess.run(["supervisorctl", "pid", name], env=env, capture_output=True, text=True).stdout.strip()


def test_a_program_left_for_later_keeps_running_until_it_is_named(supervisor):
    """An upgrade restarts the teams whose program changed one at a time: the first update leaves them running."""
    conf_d, env = supervisor
    (conf_d / "team.conf").write_text(PROGRAM.format(name="team", startsecs=0))
    assert run_helpers(env, "hn_supervisor_update").returncode == 0
    good, team = pid_of(env, "good"), pid_of(env, "team")
    for name in ("good", "team"):
        (conf_d / f"{name}.conf").write_text(PROGRAM.format(name=name, startsecs=0).replace("sleep 600", "sleep 601"))
    assert run_helpers(env, "hn_supervisor_update --except team").returncode == 0
    assert pid_of(env, "good") != good and pid_of(env, "team") == team     # only the other one restarted
    assert run_helpers(env, "hn_supervisor_update team").returncode == 0
    assert pid_of(env, "team") not in (team, "")
