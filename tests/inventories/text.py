"""Inventories written at test time: KEY becomes a valid public key made now, and a first line ONE_SERVER
becomes the three lines most cases share, and a line ONE_TEAM the two of a team (so their problems' line numbers
count those lines)."""
import textwrap

import pytest

from deploy.inventory import InventoryError, load_inventory
from inventories.keys import ed25519_key

KEY = ed25519_key("ada@laptop")
ONE_SERVER = """class: {name: c, domain: example.org}
servers:
  - {name: main, address: 192.0.2.10}"""
ONE_TEAM = """teams:
  - {name: team1, keys: ["KEY"]}"""


def write(folder, text, name="class.yml"):
    path = folder / name
    text = textwrap.dedent(text).lstrip("\n").replace("ONE_SERVER", ONE_SERVER, 1)
    text = text.replace("ONE_TEAM", ONE_TEAM, 1)
    path.write_text(text.replace("KEY", KEY))
    return path


def problems_of(path):
    with pytest.raises(InventoryError) as caught:
        load_inventory(str(path))
    return caught.value.problems
