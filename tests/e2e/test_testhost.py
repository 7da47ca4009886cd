"""The isolated class servers themselves: what the other end-to-end tests and `./inv demo` rely on."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import testinfra

from lab import testhost

# testinfra's paramiko backend warns about every new host key; test hosts make theirs at first start.
pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore:Unknown ssh-.* host key")]
REPO = Path(__file__).resolve().parents[2]


def infra(host):
    return testinfra.get_host(f"paramiko://root@{host.address}", ssh_identity_file=host.root_key, ssh_config=os.devnull)


def test_root_logs_in_with_the_generated_key_and_the_host_is_its_own_machine(host_factory):
    host = host_factory("1")
    assert host.address == f"10.131.{host.index}.2" and 100 <= host.index <= 199
    assert oct(os.stat(host.root_key).st_mode & 0o777) == "0o600"
    with host.connection() as c:
        assert c.run("whoami", hide=True).stdout.strip() == "root"
        assert c.run("hostname", hide=True).stdout.strip() == host.name
    inside = infra(host)
    assert inside.file("/etc/machine-id").content_string != Path("/etc/machine-id").read_text()
    assert inside.socket("tcp://0.0.0.0:22").is_listening
    assert inside.file("/tmp").is_directory and inside.mount_point("/tmp").filesystem == "tmpfs"


def test_files_written_inside_stay_inside(host_factory):
    host = host_factory("1")
    with host.connection() as c:
        c.run("echo probe > /etc/hacknode-probe")
        assert c.run("cat /etc/hacknode-probe", hide=True).stdout == "probe\n"
        # nor does a host see this repository or the state (keys) of hosts: code reaches it over SSH only
        assert c.run(f"find {REPO} {testhost.STATE_DIR} -mindepth 1 | wc -l", hide=True).stdout.strip() == "0"
    assert not Path("/etc/hacknode-probe").exists()


def test_root_has_a_stock_home_not_this_machines(host_factory):
    host = host_factory("1")
    ours = sorted(set(os.listdir("/root")) - {".bashrc", ".profile", ".ssh"})
    with host.connection() as c:
        assert c.run("cat /root/.ssh/authorized_keys", hide=True).stdout == Path(host.root_key + ".pub").read_text()
        for name in ours:
            assert c.run(f"test -e /root/{name}", warn=True, hide=True).failed, f"/root/{name} of this machine is visible"


def test_two_hosts_have_their_own_addresses_and_do_not_reach_each_other(host_factory):
    a, b = host_factory("1"), host_factory("2")
    assert a.address != b.address
    with a.connection() as ca, b.connection() as cb:
        assert ca.run("hostname", hide=True).stdout.strip() == a.name
        assert cb.run("hostname", hide=True).stdout.strip() == b.name
        reach_b = ca.run(f"timeout 5 bash -c '</dev/tcp/{b.address}/22'", warn=True, hide=True)
        assert reach_b.failed and "unreachable" in reach_b.stderr


def test_services_run_inside_without_systemd(host_factory):
    host = host_factory("1")
    with host.connection() as c:
        c.run("service nginx start", hide=True)
        c.run("service supervisor start", hide=True)
        assert c.run("curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1/", hide=True).stdout == "200"
        c.run("for i in $(seq 50); do supervisorctl status >/dev/null && break; sleep 0.1; done; supervisorctl status")
        c.run("id student1 || useradd --create-home --shell /bin/bash student1", hide=True)
        c.run("echo 'student1 ALL=(root) NOPASSWD: /usr/bin/supervisorctl' > /etc/sudoers.d/student1"
              " && chmod 0440 /etc/sudoers.d/student1 && visudo -cq")
        assert c.run("su - student1 -c 'sudo -n /usr/bin/supervisorctl status >/dev/null && whoami'",
                     hide=True).stdout.strip() == "student1"
    # this machine reaches the host's nginx at the host's address
    reply = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", f"http://{host.address}/"],
                           capture_output=True, text=True)
    assert reply.stdout == "200"
    assert subprocess.run(["id", "student1"], capture_output=True).returncode != 0


def test_start_host_returns_a_running_host_as_it_is(host_factory):
    host = host_factory("1")
    key = Path(host.root_key).read_text()
    with host.connection() as c:
        c.run("touch /root/still-here")
    again = testhost.start_host(host.name, host.index)
    assert again == host and Path(again.root_key).read_text() == key
    with again.connection() as c:
        c.run("test -e /root/still-here")
    assert host in testhost.running_hosts()


def test_a_host_outlives_the_process_that_started_it(host_factory):
    reserved = host_factory("3")   # reserves its name and index; stopped at the end of the session
    testhost.stop_host(reserved.name)
    subprocess.run([sys.executable, "-c", f"from lab import testhost; testhost.start_host({reserved.name!r}, "
                    f"{reserved.index})"], cwd=REPO, check=True)
    [host] = [h for h in testhost.running_hosts() if h.name == reserved.name]
    with host.connection() as c:
        assert c.run("hostname", hide=True).stdout.strip() == reserved.name


def test_stop_host_leaves_nothing_behind(host_factory):
    host = host_factory("4")
    state = Path(testhost.STATE_DIR) / host.name
    testhost.stop_host(host.name)
    assert str(state) not in Path("/proc/mounts").read_text()
    assert host.name not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    assert not Path(f"/sys/class/net/hnv{host.index}").exists()
    assert not state.exists()
    assert host not in testhost.running_hosts()
    testhost.stop_host(host.name)   # nothing left to stop is fine


def test_an_index_in_use_or_out_of_range_is_refused(host_factory):
    host = host_factory("1")
    other = host.name[:-1] + "5"
    with pytest.raises(testhost.HostError, match=f"index {host.index} is already used by host {host.name}"):
        testhost.start_host(other, host.index)
    assert not (Path(testhost.STATE_DIR) / other).exists()
    with pytest.raises(testhost.HostError, match="index 0 is not in 1..250"):
        testhost.start_host(other, 0)
