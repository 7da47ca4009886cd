"""Teams that name no server are spread over the class's servers by uwsgi processes, and never move by
themselves (deploy/inventory/placement.py). Pure, except one inventory loaded from a file."""
import threading
from collections import Counter

import pytest

from deploy.core.errors import ProvisionError
from deploy.inventory import load_inventory
from deploy.inventory.model import Team
from deploy.inventory.placement import PlacementCheck, moved_teams, place
from tests.test_inventory import write

SERVERS = ["a", "b", "c"]


def teams(*specs):
    """Teams from "name", "name:processes" or "name:processes@server" strings."""
    made = []
    for spec in specs:
        spec, _, server = spec.partition("@")
        name, _, processes = spec.partition(":")
        made.append(Team(name=name, server=server, processes=int(processes or 2)))
    return made


def where(placed):
    return {t.name: t.server for t in placed}


def load(placed):
    result = Counter()
    for t in placed:
        result[t.server] += t.processes
    return result


def test_teams_that_name_no_server_go_where_the_fewest_processes_run():
    placed = place(teams("t1:4", "t2", "t3", "t4", "t5:1", "t6"), SERVERS)
    assert where(placed) == {"t1": "a", "t2": "b", "t3": "c", "t4": "b", "t5": "c", "t6": "c"}
    assert load(placed) == {"a": 4, "b": 4, "c": 5}
    assert all(t.placed for t in placed)


def test_teams_that_name_their_server_stay_and_count_first():
    placed = place(teams("big:8@a", "t1", "t2", "t3", "t4@b"), SERVERS)
    assert where(placed) == {"big": "a", "t1": "c", "t2": "b", "t3": "c", "t4": "b"}   # b before c on a tie
    assert [t.placed for t in placed] == [False, True, True, True, False]


def test_a_hundred_teams_over_three_servers_are_balanced():
    specs = [f"t{n}:{1 + n % 3}" for n in range(100)]
    counts = load(place(teams(*specs), SERVERS))
    assert max(counts.values()) - min(counts.values()) <= 3      # at most one team's processes apart


def test_appending_teams_never_moves_a_team():
    specs = [f"t{n}:{1 + (n * 7) % 4}" for n in range(40)]
    before = where(place(teams(*specs[:10]), SERVERS))
    for count in range(11, 41):
        now = where(place(teams(*specs[:count]), SERVERS))
        assert {name: now[name] for name in before} == before
        before = now


def test_a_team_the_rule_would_move_is_named_with_the_line_that_keeps_it():
    first = place(teams("t1", "t2", "t3", "t4"), SERVERS)
    present = {"a": {"t1", "t4"}, "b": {"t2"}, "c": {"t3"}}
    assert moved_teams(first, present) == []
    inserted = place(teams("t0:4", "t1", "t2", "t3", "t4"), SERVERS)        # a team inserted at the top
    assert moved_teams(inserted, present) == [
        "team t1 runs on a but the placement rule now puts it on b (teams above it changed): add `server: a` to it",
        "team t2 runs on b but the placement rule now puts it on c (teams above it changed): add `server: b` to it",
        "team t3 runs on c but the placement rule now puts it on b (teams above it changed): add `server: c` to it",
        "team t4 runs on a but the placement rule now puts it on c (teams above it changed): add `server: a` to it"]
    pinned = place(teams("t0:4", "t1@a", "t2@b", "t3@c", "t4@a"), SERVERS)   # after adding those lines
    assert moved_teams(pinned, present) == []


def check_on_servers(check, reports):
    """Each server thread reports its teams (or fails to, with None); each one's error or None."""
    errors = {}

    def one(server, present):
        try:
            if present is None:
                check.abort()
            else:
                check.check(server, present)
            errors[server] = None
        except ProvisionError as e:
            errors[server] = str(e)

    threads = [threading.Thread(target=one, args=item) for item in reports.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_every_server_waits_for_the_others_facts_and_stops_when_a_team_would_move():
    placed = place(teams("t0:4", "t1", "t2"), SERVERS)
    ok = check_on_servers(PlacementCheck(placed, 3), {"a": {"t0"}, "b": {"t1"}, "c": {"t2"}})
    assert ok == {"a": None, "b": None, "c": None}
    moved = check_on_servers(PlacementCheck(placed, 3), {"a": {"t0"}, "b": {"t2"}, "c": {"t1"}})
    assert all(e.startswith("nothing was changed: team t1 runs on c") for e in moved.values())


def test_a_server_that_cannot_report_its_teams_stops_the_others():
    errors = check_on_servers(PlacementCheck(place(teams("t1", "t2"), SERVERS), 3), {"a": set(), "b": None, "c": set()})
    assert errors["a"] == errors["c"] == ("another server could not report its teams, so where placed teams run "
                                          "could not be checked; nothing was changed")


def test_an_inventory_of_several_servers_may_leave_placement_to_hacknode(tmp_path):
    inventory = load_inventory(write(tmp_path, """
        class: {name: c, domain: example.org}
        servers:
          - {name: a, address: 192.0.2.10}
          - {name: b, address: 192.0.2.11}
        teams:
          - {name: team1, keys: ["KEY"], processes: 4}
          - {name: team2, keys: ["KEY"], server: a}
          - {name: team3, keys: ["KEY"]}
          - {name: team4, keys: ["KEY"]}
    """))
    assert where(inventory.teams) == {"team1": "b", "team2": "a", "team3": "a", "team4": "a"}
    assert [t.name for t in inventory.view("a").teams] == ["team2", "team3", "team4"]


@pytest.mark.parametrize("count", [1, 2])
def test_one_server_takes_every_team_unplaced(tmp_path, count):
    inventory = load_inventory(write(tmp_path, """
        class: {name: c, domain: example.org}
        servers:
          - {name: main, address: 192.0.2.10}
        teams:
          - {name: team1, keys: ["KEY"]}
          - {name: team2, keys: ["KEY"], server: main}
    """))
    assert [(t.server, t.placed) for t in inventory.teams] == [("main", False)] * 2
