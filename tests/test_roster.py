"""`fab roster class.csv`: the roster's rows read into teams (bad rows one line each, naming file:line, nothing
written), then written into the inventory's teams: line by line, comments and order kept, idempotent."""
import textwrap

import pytest
from invoke import Context, Exit

import fabfile
from deploy.inventory import load_inventory
from deploy.inventory.roster import RosterError, parse_roster
from deploy.inventory.roster_text import rewrite_teams
from inventories.keys import ed25519_key

KEY = ed25519_key("ada@laptop")
INVENTORY = """\
# the class of spring
class: {name: spring, domain: example.org}
servers:
  - {name: main, address: 192.0.2.10}   # the lab's server

teams:                  # one per project
  - name: team1         # the first
    keys:               # its members
      - "KEY"           # Ada's laptop
    processes: 4        # a bigger app
  # team2 joins in week 3
  - name: team2
    keys: [github:old]

# after the teams: notes
""".replace("KEY", KEY)


def write(text, folder):
    path = folder / "inventory.yml"
    path.write_text(text)
    return str(path)


def roster(text, tmp_path=None):
    return parse_roster(textwrap.dedent(text).lstrip("\n"), "class.csv", str(tmp_path or "."))


def refusals(text, tmp_path=None):
    with pytest.raises(RosterError) as caught:
        roster(text, tmp_path)
    return str(caught.value).splitlines()


def test_a_team_of_several_members_gets_all_their_keys_in_the_rosters_order(tmp_path):
    (tmp_path / "bo.pub").write_text(ed25519_key("bo@desk") + "\n")
    teams = roster(f"""
        Team,Member,Key,Email
        team1,Ada,{KEY},ada@example.org
        team1,Bo,bo.pub,
        team1,Cy,github:cy-99,
        team3,Di,gitlab:di.x,
        """, tmp_path)
    assert list(teams) == ["team1", "team3"]
    assert [(m.entry, m.member, m.line) for m in teams["team1"]] == [
        (KEY, "Ada", 2), ("bo.pub", "Bo", 3), ("github:cy-99", "Cy", 4)]
    assert [m.entry for m in teams["team3"]] == ["gitlab:di.x"]


def test_github_and_gitlab_columns_give_bare_account_names():
    teams = roster("""
        team,member,github,gitlab
        team1,Ada,ada,
        team1,Bo,,bo
        team1,Cy,cy,cy2
        """)
    assert [m.entry for m in teams["team1"]] == ["github:ada", "gitlab:bo", "github:cy", "gitlab:cy2"]


def test_every_bad_row_is_one_line_naming_the_file_and_line():
    lines = refusals(f"""
        team,member,key
        team1,Ada,github:ada
        Team_2,Bo,github:bo
        team2,Ada,github:ada2
        team1,Ada,github:ada
        team3,Cy
        team3,Di,ssh-ed25519 AAAAbroken
        team3,,github:ed
        team3,Fay,github:ada
        team3,Gus,github:bad/name
        team3,Hal,
        team3,Ida,"{KEY}",extra
        """)
    assert lines == [
        "class.csv:3: team: 'Team_2' must match ^[a-z][a-z0-9-]{0,30}$",
        "class.csv:4: member 'Ada' is in team team1 already (line 2); a member is in one team",
        "class.csv:5: duplicate of line 2",
        "class.csv:6: 2 columns where the first row names 3: a column is missing",
        "class.csv:7: key: the key data is not valid base64",
        "class.csv:8: the member is missing",
        "class.csv:9: 'github:ada' is given already at line 2",
        "class.csv:10: key: github:'bad/name': not a github user name (letters, digits, '-', '_', '.'), "
        "e.g. github:alice",
        "class.csv:11: Hal: no key: give an SSH public key, or an account in key, github, gitlab",
        "class.csv:12: more columns than the first row names (a key with a comma in it? put it in double quotes)"]


def test_the_same_key_for_two_members_is_a_duplicate_whatever_its_comment():
    other_comment = " ".join(KEY.split()[:2]) + " ada@desk"
    assert refusals(f"team,member,key\nteam1,Ada,{KEY}\nteam2,Bo,{other_comment}\n") == [
        "class.csv:3: '" + other_comment[:50] + "' is given already at line 2"]


def test_a_roster_without_its_header_or_rows_is_refused():
    assert refusals("team1,Ada,github:ada\n") == [
        "class.csv:1: the first row must name the columns: team, member and key (or github or gitlab for account "
        "names), not team1, ada, github:ada"]
    assert refusals("team,member,key\n\n") == ["class.csv: no team: add rows team,member,key"]


def test_blank_and_comment_rows_are_skipped_and_lines_still_count():
    teams = roster("""
        # spring class, exported from the LMS
        team,member,key

        team1,Ada,github:ada
        """)
    assert teams["team1"][0].line == 4


# --- the inventory rewritten --------------------------------------------------------------

def test_the_rewrite_changes_only_the_keys_and_appends_new_teams_keeping_every_comment(tmp_path):
    teams = roster("""
        team,member,key
        team2,Bo,github:bo
        team2,Cy,gitlab:cy
        team1,Ada,KEY
        team3,Di,github:di
        """.replace("KEY", KEY))
    text, left_out = rewrite_teams(INVENTORY, teams)
    assert left_out == []
    assert text == INVENTORY.replace(
        "keys: [github:old]", "keys: [github:bo, gitlab:cy]").replace(
        "    keys: [github:bo, gitlab:cy]\n", "    keys: [github:bo, gitlab:cy]\n  - name: team3\n    keys:\n"
        "      - github:di  # Di\n")
    assert [(t.name, t.keys, [a.name for a in t.accounts]) for t in load_inventory(write(text, tmp_path)).teams] == [
        ("team1", (KEY,), []), ("team2", (), ["github:bo", "gitlab:cy"]), ("team3", (), ["github:di"])]


def test_block_keys_are_replaced_line_by_line_with_each_members_name():
    teams = roster(f"team,member,key\nteam1,Ada,github:ada\nteam1,Bo,\"{KEY}\"\n")
    text, left_out = rewrite_teams(INVENTORY, teams)
    assert left_out == ["team2"]
    assert text == INVENTORY.replace(f'      - "{KEY}"           # Ada\'s laptop\n',
                                     f"      - github:ada  # Ada\n      - {KEY}  # Bo\n")


def test_the_rewrite_is_idempotent_and_leaves_a_matching_file_as_it_is():
    teams = roster("team,member,key\nteam2,Bo,github:bo\nteam4,Di,github:di\n")
    once, _ = rewrite_teams(INVENTORY, teams)
    assert rewrite_teams(once, teams)[0] == once
    assert rewrite_teams(INVENTORY, roster(f"team,member,key\nteam1,Ada,{KEY}\n"))[0] == INVENTORY


def test_teams_written_one_a_line_get_new_teams_the_same_way():
    text = "class: {name: c, domain: example.org}\nteams:\n  - {name: team1, keys: [github:ada]}  # Ada\n"
    new, _ = rewrite_teams(text, roster("team,member,key\nteam1,Ada,github:ada\nteam2,Bo,github:bo\n"))
    assert new == text + "  - {name: team2, keys: [github:bo]}\n"


# --- fab roster ---------------------------------------------------------------------------

def test_fab_roster_shows_the_diff_writes_with_yes_and_then_has_nothing_to_change(tmp_path, capsys):
    inventory = write(INVENTORY, tmp_path)
    (tmp_path / "class.csv").write_text("team,member,key\nteam2,Bo,github:bo\n")
    fabfile.roster(Context(), str(tmp_path / "class.csv"), inventory=inventory, yes=True)
    out = capsys.readouterr().out
    assert "note: team1 is in " in out
    assert "-    keys: [github:old]\n+    keys: [github:bo]\n" in out
    assert open(inventory).read() == INVENTORY.replace("github:old", "github:bo")
    fabfile.roster(Context(), str(tmp_path / "class.csv"), inventory=inventory, yes=True)
    assert "its teams match" in capsys.readouterr().out


def test_fab_roster_writes_nothing_when_a_row_is_bad_or_the_answer_is_no(tmp_path, monkeypatch):
    inventory = write(INVENTORY, tmp_path)
    (tmp_path / "class.csv").write_text("team,member,key\nteam2,Bo,github:bo\nteam2,Bo,github:bo\n")
    with pytest.raises(Exit) as caught:
        fabfile.roster(Context(), str(tmp_path / "class.csv"), inventory=inventory, yes=True)
    assert caught.value.message == f"{tmp_path}/class.csv:3: duplicate of line 2"
    (tmp_path / "class.csv").write_text("team,member,key\nteam2,Bo,github:bo\n")
    monkeypatch.setattr("builtins.input", lambda question: "n")
    with pytest.raises(Exit):
        fabfile.roster(Context(), str(tmp_path / "class.csv"), inventory=inventory)
    assert open(inventory).read() == INVENTORY


def test_a_roster_that_would_make_the_inventory_invalid_writes_nothing(tmp_path):
    inventory = write(INVENTORY.replace("address: 192.0.2.10}", "address: 192.0.2.10, admin_user: team5}"), tmp_path)
    before = open(inventory).read()
    (tmp_path / "class.csv").write_text("team,member,key\nteam5,Bo,github:bo\n")
    with pytest.raises(Exit) as caught:
        fabfile.roster(Context(), str(tmp_path / "class.csv"), inventory=inventory, yes=True)
    assert "as the roster would write it has problems (nothing written)" in caught.value.message
    assert "teams[2].name" in caught.value.message
    assert open(inventory).read() == before


def test_an_empty_teams_list_becomes_the_rosters_teams_its_comment_kept():
    text = "class: {name: c, domain: example.org}\nteams: []      # from the roster\n# the end\n"
    new, _ = rewrite_teams(text, roster("team,member,key\nteam1,Ada,github:ada\n"))
    assert new == ("class: {name: c, domain: example.org}\nteams:       # from the roster\n"
                   "  - name: team1\n    keys:\n      - github:ada  # Ada\n# the end\n")
