"""The inventory's `backups:` section: what it makes on each server (the nightly program's supervisor config) and every
mistake refused with file:line: field."""
import pytest

from deploy.configs.render import render_server
from deploy.core import layout
from deploy.inventory import load_inventory
from inventories.text import ONE_SERVER, ONE_TEAM, problems_of, write

BAD = [
    ("time-sexagesimal", "backups: {at: 3:00}", "4: backups.at: must be a time of day HH:MM, as \"03:00\" "
                                                 "(YAML read this one as the number 180)"),
    ("time-not-a-time", "backups: {at: '25:00'}", "4: backups.at: '25:00' is not a time of day HH:MM (00:00 to 23:59)"),
    ("keep-zero", "backups: {at: '03:00', keep: 0}", "4: backups.keep: 0 is out of range 1..365"),
    ("time-missing", "backups: {keep: 3}", "4: backups: 'at' is required"),
    ("key-unknown", "backups:\n  at: '03:00'\n  kep: 3", "6: backups.kep: unknown key; did you mean 'keep'?"),
    ("mode-external", "mongodb: {mode: external, admin_uri_env: ADMIN, hosts: 'db:27017'}\nbackups: {at: '03:00'}",
     "5: backups: needs mongodb mode mongod or secantus (in mode external the servers keep no admin URI to dump the "
     "teams' databases with)"),
]


@pytest.mark.parametrize("section, expected", [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_a_mistake_in_backups_is_named_by_its_line_and_field(tmp_path, section, expected):
    path = write(tmp_path, f"{ONE_SERVER}\n{section}\n{ONE_TEAM}\n")
    assert problems_of(path) == [f"{path}:{expected}"]


def program(tmp_path, section):
    inventory = load_inventory(write(tmp_path, f"{ONE_SERVER}\n{section}\n{ONE_TEAM}\n"))
    return inventory, render_server(inventory.view("main"))[layout.NIGHTLY_CONF]


def test_backups_at_a_time_make_a_program_at_the_lowest_priority_that_runs_then(tmp_path):
    inventory, conf = program(tmp_path, "backups: {at: '02:30', keep: 3}")
    assert (inventory.backups.at, inventory.backups.keep) == ("02:30", 3)
    assert "autostart = true" in conf
    assert ("command = /usr/bin/nice -n 19 /usr/bin/ionice -c 3 /opt/hacknode/venv/bin/python "
            "/opt/hacknode/bin/nightly-backups run --at 02:30 --keep 3 ") in conf
    assert "mongo-admin" in conf and "mongodb://" not in conf     # the file's name, never the URI


def test_no_backups_section_leaves_the_program_off(tmp_path):
    inventory, conf = program(tmp_path, "")
    assert not inventory.backups.on and "autostart = false" in conf
