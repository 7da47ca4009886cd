"""The server roots test hosts run on (lab/serverroots.py): which OSes, what a Debian 13 root holds, and that a root
made once is used as it is (offline) while one made otherwise, or left unfinished, is not."""
from pathlib import Path

import pytest

from lab import localhost, serverroots, testhost
from lab.serverroots import RootError


def test_debian_12_is_this_machines_root_and_debian_13_a_root_of_its_own(tmp_path):
    assert serverroots.root_path("debian12", tmp_path) == Path("/")
    assert serverroots.root_path("debian13", tmp_path) == tmp_path / "trixie"


@pytest.mark.parametrize("server_os", ["ubuntu24", "debian", ""])
def test_an_unknown_server_os_is_refused_in_one_line_naming_the_supported_ones(server_os, tmp_path):
    with pytest.raises(RootError) as refused:
        serverroots.ensure_root(server_os, tmp_path)
    assert str(refused.value) == f"server OS {server_os!r}: say one of debian12, debian13"
    with pytest.raises(RootError):    # before a host's network or files are made (and without root)
        testhost.start_host("hn-never", 250, state_dir=tmp_path, server_os=server_os)
    assert list(tmp_path.iterdir()) == []


def test_a_debian_13_root_holds_what_the_debian_12_hosts_run_and_a_booted_servers_base():
    packages = serverroots.root_packages()
    for package in ("nginx", "supervisor", "openssh-server", "sudo", "python3-venv", "rsync", "git", "certbot",
                    "systemd", "systemd-sysv", "libpam-systemd", "procps"):
        assert package in packages
    assert set(localhost.HOST_PACKAGES) - set(packages) == {"systemd-container", "wrk", "debootstrap"}   # used here
    assert "debootstrap" in localhost.HOST_PACKAGES     # installed as the project's other packages are


def test_a_root_made_once_is_used_as_it_is_and_one_made_otherwise_or_unfinished_is_not(tmp_path):
    root = tmp_path / "trixie"
    root.mkdir()
    assert not serverroots.is_complete(root)            # unfinished: made again
    (root / serverroots.COMPLETE).write_text(serverroots.made_as().replace("nginx", "apache2"))
    assert not serverroots.is_complete(root)            # made with other packages: made again
    (root / serverroots.COMPLETE).write_text(serverroots.made_as())
    assert serverroots.ensure_root("debian13", tmp_path, say=pytest.fail) == root   # nothing fetched, nothing said


def test_the_packages_are_installed_by_the_roots_own_apt_without_recommends_and_no_service_starts():
    command = serverroots.install_command("/roots/trixie.partial", ["nginx", "sudo"])
    assert command[:3] == ["systemd-nspawn", "--quiet", "--directory=/roots/trixie.partial"]
    assert command[-1].startswith("apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx sudo ")
    assert "exit 101" in serverroots.NO_SERVICES      # policy-rc.d's "not allowed", while the root is made
