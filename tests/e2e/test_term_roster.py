"""A term's start, end to end: a class of six teams written into the inventory by `fab roster class.csv`, its keys
from the members' forge accounts (the lab's keys server: HTTPS on this machine with a CA of its own, the inventory's
forges.github and forges.ca_bundle), provisioned; a member logs in with the key of their account. With the forge down,
the cached keys provision; --refresh-keys takes a key changed on the forge; an account never fetched, with the forge
down, is one line and nothing changes on the server."""
import subprocess
import sys
from pathlib import Path

import paramiko
import pytest
from invoke import Context

import fabfile
from deploy.inventory import load_inventory
from deploy.provision.run import provision_class
from lab.keys_server import KeysServer

REPO = Path(__file__).resolve().parents[2]
FAB = str(Path(sys.executable).parent / "fab")
# six teams; team1 has two members: both their accounts' keys log in as team1
ROSTER = [("team1", "Ada", "ada"), ("team1", "Bo", "bo"), ("team2", "Cy", "cy"), ("team3", "Di", "di"),
          ("team4", "Ed", "ed"), ("team5", "Fay", "fay"), ("team6", "Gus", "gus")]


def new_key(folder, name):
    path = folder / name
    path.unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)], check=True)
    return str(path), (folder / f"{name}.pub").read_text()


def logs_in_as(host, key):
    """The user `whoami` names after logging in as team1 with `key`, or None when the server refuses the key."""
    try:
        with host.connection(user="team1", key=key) as c:
            return c.run("whoami", hide=True).stdout.strip()
    except paramiko.AuthenticationException:
        return None


def authorized_keys(host, team):
    with host.connection() as c:
        return c.run(f"cat /home/{team}/.ssh/authorized_keys", hide=True).stdout


@pytest.fixture(scope="module")
def term(host_factory, tmp_path_factory):
    folder = tmp_path_factory.mktemp("roster")
    keys = {user: new_key(folder, user) for _, _, user in ROSTER}
    forge = KeysServer(folder / "forge", {user: public for user, (_, public) in keys.items()}).start()
    host = host_factory("roster")
    (folder / "inventory.yml").write_text(f"""\
# the spring term
class: {{name: spring, domain: hacknode.test, page_seconds: 10}}
mongodb: {{mode: secantus}}
forges:                       # the lab's keys server stands in for GitHub
  github: {forge.base_url}
  ca_bundle: forge/ca.crt
servers:
  - {{name: main, address: {host.address}}}
teams: []                     # fab roster fills this in
""")
    (folder / "class.csv").write_text("team,member,github\n" + "".join(f"{t},{m},{u}\n" for t, m, u in ROSTER))
    yield folder, forge, host, keys
    forge.stop()


def test_a_class_from_a_roster_is_provisioned_and_its_members_log_in_with_their_accounts_keys(term, capsys):
    folder, forge, host, keys = term
    inventory = str(folder / "inventory.yml")
    fabfile.roster(Context(), str(folder / "class.csv"), inventory=inventory, yes=True)
    assert "+      - github:bo  # Bo\n" in capsys.readouterr().out
    lines = []
    provision_class(load_inventory(inventory), host.root_key, say=lines.append)
    assert "keys from accounts: 7 fetched, 0 from the cache" in lines
    assert logs_in_as(host, keys["ada"][0]) == "team1" and logs_in_as(host, keys["bo"][0]) == "team1"
    assert logs_in_as(host, keys["cy"][0]) is None          # team2's member is not one of team1's
    fabfile.roster(Context(), str(folder / "class.csv"), inventory=inventory, yes=True)
    assert "its teams match" in capsys.readouterr().out


def test_with_the_forge_down_the_cached_keys_provision(term):
    folder, forge, host, keys = term
    forge.stop()
    try:
        lines = []
        provision_class(load_inventory(folder / "inventory.yml"), host.root_key, say=lines.append)
        assert any(line.startswith("keys from accounts: 0 fetched, 7 from the cache (the oldest fetched 20")
                   for line in lines)
        assert lines[-1].endswith("nothing to change")
    finally:
        forge.start()
    assert logs_in_as(host, keys["ada"][0]) == "team1"


def test_refresh_keys_takes_a_key_changed_on_the_forge(term, capsys):
    folder, forge, host, keys = term
    old = keys["ada"][0]
    keys["ada"] = new_key(folder, "ada-new")
    forge.accounts["ada"] = keys["ada"][1]
    fabfile.provision(Context(), inventory=str(folder / "inventory.yml"), key=host.root_key, refresh_keys=True)
    assert "keys from accounts: 7 fetched, 0 from the cache" in capsys.readouterr().out
    assert logs_in_as(host, keys["ada"][0]) == "team1"
    assert logs_in_as(host, old) is None


def test_an_account_never_fetched_with_the_forge_down_is_one_line_and_nothing_changes(term):
    folder, forge, host, keys = term
    with open(folder / "class.csv", "a") as roster:
        roster.write("team2,Hal,hal\n")
    fabfile.roster(Context(), str(folder / "class.csv"), inventory=str(folder / "inventory.yml"), yes=True)
    before = authorized_keys(host, "team2")
    forge.stop()
    try:
        done = subprocess.run([FAB, "provision", "--inventory", str(folder / "inventory.yml"), "--key", host.root_key],
                              cwd=REPO, capture_output=True, text=True, timeout=300)
    finally:
        forge.start()
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"error: team2: github:hal: cannot reach {forge.base_url}/hal.keys: [Errno 111] Connection refused "
        f"({folder}/inventory.yml:17: teams[1].keys[1]); nothing was sent to any server"]
    assert authorized_keys(host, "team2") == before
