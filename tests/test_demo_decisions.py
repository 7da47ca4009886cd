"""The demo's pure decisions: which names get keys, what counts as the demo's addresses being taken,
and the /etc/hosts block it adds and removes (lab/demo_machine.py)."""
import dataclasses
import os
import shutil

import pytest

from deploy.inventory import load_inventory
from deploy.inventory.model import TlsSettings
from lab import demo_class, demo_machine

HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n"


def test_team_names_come_from_the_inventory_text_and_only_valid_names_count():
    text = "teams:\n  - name: hacknode1\n  - name: ../etc\n  - {name: b2}\n  - keys: []\n"
    assert demo_machine.team_names(text) == ["hacknode1", "b2"]
    assert demo_machine.team_names("teams: [unclosed") == []     # the loader reports that one, with its line


@pytest.fixture
def shipped_inventory(tmp_path):
    """The shipped inventory.yml with the team keys the demo makes beside it (a fresh clone has none)."""
    path = tmp_path / "inventory.yml"
    shutil.copyfile("inventory.yml", path)
    assert demo_machine.ensure_team_keys(path, tmp_path / ".hacknode" / "keys", (os.getuid(), os.getgid())) == \
        ["hacknode1", "hacknode2", "hacknode3"]
    return load_inventory(str(path))


def test_the_shipped_inventory_is_the_demos_one_server_at_the_demo_address(shipped_inventory):
    inventory = shipped_inventory
    assert [s.address for s in inventory.servers] == [f"10.131.{demo_machine.HOST_INDEX}.2"]
    assert demo_machine.team_names(open("inventory.yml").read()) == [t.name for t in inventory.teams]


def interface(name, *addresses):
    return {"ifname": name, "addr_info": [{"family": "inet", "local": a.split("/")[0], "prefixlen": int(a.split("/")[1])}
                                          for a in addresses]}


def test_an_address_in_the_demos_network_on_another_interface_is_a_conflict():
    interfaces = [interface("lo", "127.0.0.1/8"), interface("eth0", "10.131.0.5/16"), interface("hnv1", "10.131.1.1/30")]
    assert demo_machine.address_conflicts(interfaces, 1, "hnv1") == ["eth0 10.131.0.5/16"]
    assert demo_machine.address_conflicts(interfaces, 1, None) == ["eth0 10.131.0.5/16", "hnv1 10.131.1.1/30"]
    assert demo_machine.address_conflicts([interface("eth0", "192.168.1.4/24")], 1, None) == []


def test_the_hosts_block_is_added_once_and_removed_exactly():
    block = demo_machine.hosts_block("10.131.1.2", ["a.hacknode.test", "b.hacknode.test"])
    once = demo_machine.hosts_with_block(HOSTS, block)
    assert once == HOSTS + block
    assert demo_machine.hosts_with_block(once, block) == once
    assert demo_machine.hosts_without_block(once + "10.0.0.9\tmine\n") == HOSTS + "10.0.0.9\tmine\n"
    assert demo_machine.hosts_with_block("127.0.0.1 localhost", block) == "127.0.0.1 localhost\n" + block


def test_each_team_gets_its_urls_and_its_deploy_command(shipped_inventory):
    inventory = shipped_inventory
    lines = demo_class.team_lines(inventory, inventory.servers[0], inventory.teams[1])
    text = "\n".join(lines)
    assert "https://hacknode2.hacknode.test/" in text
    assert "by path" not in text and "/hacknode2/" not in text     # its own origin only (routing: subdomain)
    assert ("curl --cacert .hacknode/class-ca/ca.crt --resolve hacknode2.hacknode.test:443:10.131.1.2 "
            "https://hacknode2.hacknode.test/") in text
    assert ".venv/bin/fab deploy --team hacknode2" in text


def test_without_tls_the_curl_resolves_port_80_and_path_routing_adds_its_shared_origin_url(shipped_inventory):
    plain = dataclasses.replace(shipped_inventory, tls=TlsSettings(), routing="path")
    text = "\n".join(demo_class.team_lines(plain, plain.servers[0], plain.teams[0]))
    assert "curl --resolve hacknode1.hacknode.test:80:10.131.1.2 http://hacknode1.hacknode.test/" in text
    assert "by path       http://10.131.1.2/hacknode1/   (routing: path, one origin for all teams)" in text
