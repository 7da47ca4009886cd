"""`fab config`'s decisions, pure: which names a team may set, what the server is sent, what is printed."""
import pytest

from deploy.core import commands
from deploy.core.layout import TeamPaths
from deploy.team import settings
from deploy.team.settings import SettingsError


@pytest.mark.parametrize("name", ["FLASK_FRONT_PAGE_SIZE", "A", "MY_API_2"])
def test_names_of_capitals_digits_and_underscores_are_accepted(name):
    assert settings.name_problem(name) is None


@pytest.mark.parametrize("name, why", [
    ("flask_debug", "capital letters"), ("MY NAME", "capital letters"), ("A=B", "capital letters"),
    ("2FA", "starting with a letter"), ("", "capital letters"), ("FLASK_MONGO_URI", "reserved"),
    ("FLASK_SECRET_KEY", "reserved"), ("PATH", "reserved"), ("UWSGI_MASTER", "reserved"),
    ("LD_PRELOAD", "reserved"), ("PYTHONPATH", "reserved"), ("HACKNODE_SETTINGS_ID", "reserved")])
def test_bad_or_reserved_names_are_refused_in_one_line_naming_them(name, why):
    with pytest.raises(SettingsError) as refused:
        settings.changes([], [name])         # --unset NAME; --set NAME=1 checks the same way
    message = str(refused.value)
    assert why in message and repr(name) in message and "\n" not in message


def test_changes_are_lines_for_the_server_sets_then_removals():
    text = settings.changes(["FLASK_FRONT_PAGE_SIZE=2", "GREETING=hello world = yes"], ["OLD_FLAG"])
    assert text == "FLASK_FRONT_PAGE_SIZE=2\nGREETING=hello world = yes\nOLD_FLAG\n"
    assert settings.changes(["EMPTY="]) == "EMPTY=\n"


@pytest.mark.parametrize("assignments, removals, says", [
    ([], [], "nothing to change"), (["NOEQUALS"], [], "write NAME=value"),
    (["A=one\ntwo"], [], "one line"), (["A=1"], ["A"], "both --set and --unset"),
    ([], ["bad name"], "capital letters"), (["my name=x"], [], "capital letters"),
    (["FLASK_SECRET_KEY=x"], [], "reserved")])
def test_what_cannot_be_sent_is_refused_before_anything_is_sent(assignments, removals, says):
    with pytest.raises(SettingsError, match=says):
        settings.changes(assignments, removals)


def test_listing_masks_secrets_and_hacknodes_own_and_skips_removal_marks():
    text = ("FLASK_MONGO_URI=mongodb://hacknode1:pw@127.0.0.1:27017/hacknode1\nFLASK_SECRET_KEY=abc\n"
            "FLASK_FRONT_PAGE_SIZE=2\nSTRIPE_API_KEY=sk_live_1\nOLD_FLAG\nHACKNODE_SETTINGS_ID=1764640000.1\n")
    lines = settings.listing(text)
    assert lines == ["FLASK_FRONT_PAGE_SIZE=2", "FLASK_MONGO_URI=********   (set by hacknode)",
                     "FLASK_SECRET_KEY=********   (set by hacknode)", "STRIPE_API_KEY=********"]
    assert not any("pw@" in line or "sk_live" in line or "abc" in line for line in lines)


def test_values_travel_on_stdin_never_in_the_command_line():
    command = commands.change_settings(TeamPaths("hacknode1"), "hacknode1.class.example.org", "TOKEN=s3cret\n")
    assert command.stdin == "TOKEN=s3cret\n" and "s3cret" not in command.line()
    assert "settings hacknode1.class.example.org" in command.line() and not command.root
    assert "settings=/home/hacknode1/.hacknode/mongo_uri" in command.line()
