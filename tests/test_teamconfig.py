"""How a member's commands pick their team, key and inventory; what ssh_config prints."""
from pathlib import Path

import pytest

from deploy.inventory.model import Inventory, MongoSettings, Server, Team
from deploy.team import choice as team_choice, tasks as team_tasks


def inventory():
    return Inventory(
        name="spring", domain="class.example.org", mongodb=MongoSettings(mode="mongod"),
        servers=(Server(name="main", address="203.0.113.7"), Server(name="second", address="b.example", ssh_port=2222)),
        teams=(Team(name="hacknode1", server="main"), Team(name="hacknode2", server="main"),
               Team(name="hacknode3", server="second")),
        path="inventory.yml")


def test_option_beats_environment_beats_file(tmp_path):
    team_choice.save_choice("hacknode3", config_dir=tmp_path)
    env = {"HACKNODE_TEAM": "hacknode2"}
    assert team_choice.resolve_team(inventory(), "hacknode1", env, tmp_path).name == "hacknode1"
    assert team_choice.resolve_team(inventory(), None, env, tmp_path).name == "hacknode2"
    assert team_choice.resolve_team(inventory(), None, {}, tmp_path).name == "hacknode3"


def test_no_team_chosen_says_how_and_lists_teams(tmp_path):
    with pytest.raises(team_choice.TeamChoiceError) as e:
        team_choice.resolve_team(inventory(), None, {}, tmp_path)
    assert "fab use_team --team NAME" in str(e.value)
    assert "hacknode1, hacknode2, hacknode3" in str(e.value)


def test_unknown_team_names_its_source_and_the_teams(tmp_path):
    with pytest.raises(team_choice.TeamChoiceError) as e:
        team_choice.resolve_team(inventory(), None, {"HACKNODE_TEAM": "hacknode9"}, tmp_path)
    assert str(e.value) == ("team 'hacknode9' (from HACKNODE_TEAM) is not in inventory.yml; "
                            "its teams: hacknode1, hacknode2, hacknode3")


def test_key_option_beats_environment_beats_key_file(tmp_path):
    assert team_choice.resolve_key("hacknode1", None, {}, tmp_path) is None
    key = tmp_path / "id_team"
    key.write_text("private")
    team_choice.save_choice("hacknode1", key=str(key), config_dir=tmp_path)
    assert Path(team_choice.resolve_key("hacknode1", None, {}, tmp_path)).read_text() == "private"
    assert team_choice.resolve_key("hacknode1", None, {"HACKNODE_KEY": "/e"}, tmp_path) == "/e"
    assert team_choice.resolve_key("hacknode1", "/o", {"HACKNODE_KEY": "/e"}, tmp_path) == "/o"


def test_use_team_never_replaces_a_key_file(tmp_path):
    generated = team_choice.key_link("hacknode1", tmp_path)
    generated.parent.mkdir(parents=True)
    generated.write_text("demo key")
    other = tmp_path / "other"
    other.write_text("x")
    with pytest.raises(team_choice.TeamChoiceError):
        team_choice.save_choice("hacknode1", key=str(other), config_dir=tmp_path)
    assert generated.read_text() == "demo key"


def test_inventory_path_from_environment():
    assert team_choice.inventory_path({}) == "inventory.yml"
    assert team_choice.inventory_path({"HACKNODE_INVENTORY": "/c/spring.yml"}) == "/c/spring.yml"


def test_ssh_config_entry_logs_in_as_the_team():
    inv = inventory()
    assert team_choice.ssh_config_entry(inv, inv.teams[0]) == (
        "Host hacknode1\n    HostName 203.0.113.7\n    User hacknode1\n")
    entry = team_choice.ssh_config_entry(inv, inv.teams[2], key="/keys/h3")
    assert "    Port 2222\n" in entry and "    IdentityFile /keys/h3\n" in entry


def test_team_connection_goes_to_the_team_server_as_the_team():
    inv = inventory()
    c = team_choice.team_connection(inv, inv.teams[2], key="/keys/h3")
    assert (c.host, c.port, c.user) == ("b.example", 2222, "hacknode3")
    assert c.connect_kwargs["key_filename"] == ["/keys/h3"]


def test_dev_server_ports_differ_between_teams_of_a_server():
    inv = inventory()
    assert [team_tasks.devserver_port(inv, t) for t in inv.teams] == [8000, 8001, 8000]
