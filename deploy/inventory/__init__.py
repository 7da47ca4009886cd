"""Load inventory.yml into deploy.model objects, or refuse it with every problem at once.

Each problem names the file, the line and the field ("inventory.yml:12: teams[1].name: ...").
Nothing is rendered or sent anywhere until the whole file is valid.

One module per job: yaml_lines reads YAML keeping line numbers, checker collects problems,
names/values/ssh_keys judge single values, and each section_* module checks one top-level
section. A new section is a new section_* module, its key in TOP_KEYS and its line in
load_inventory (and its field in deploy.model.Inventory).
"""
import os

from deploy.inventory.checker import Checker
from deploy.inventory.errors import InventoryError
from deploy.inventory.model import Inventory
from deploy.inventory.names import NAME_RE, NAME_RULE, RESERVED_NAMES, team_name_problem
from deploy.inventory.section_backups import check_backups
from deploy.inventory.section_class import check_class
from deploy.inventory.section_defaults import check_defaults
from deploy.inventory.section_forges import check_forges
from deploy.inventory.section_mongodb import check_mongodb
from deploy.inventory.section_servers import check_servers
from deploy.inventory.section_teams import check_teams
from deploy.inventory.section_tls import check_tls
from deploy.inventory.ssh_keys import public_key_problem
from deploy.inventory.yaml_lines import parse_yaml

__all__ = ["load_inventory", "inventory_of_text", "InventoryError", "public_key_problem",
           "NAME_RE", "NAME_RULE", "RESERVED_NAMES", "team_name_problem"]

TOP_KEYS = ("class", "mongodb", "tls", "backups", "forges", "defaults", "servers", "teams")


def read_text(path):
    """The file's text; a missing or unreadable file raises InventoryError."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise InventoryError(path, [f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise InventoryError(path, [f"{path}: cannot be read: {getattr(error, 'strerror', None) or error}"]) from None


def load_inventory(path):
    """The class described by the YAML file at `path`, as a deploy.model.Inventory.

    Raises InventoryError listing every problem (file:line: field: message) when the file
    is missing, is not valid YAML, or describes an invalid class."""
    path = os.fspath(path)
    return inventory_of_text(read_text(path), path)


def inventory_of_text(text, path):
    """The class the YAML `text` describes, as if read from `path` (key files relative to its folder): what
    load_inventory returns, for a text not written yet (`fab roster` checks its result before writing it)."""
    doc = parse_yaml(text, path)
    if doc is None:
        raise InventoryError(path, [f"{path}: the file is empty; it must describe class, servers and teams"])
    check = Checker(path)
    if check.mapping(doc, 1, "", TOP_KEYS, required=("class", "servers", "teams")) is None:
        raise InventoryError(path, check.problems)
    # one fixed order, the order of the documented file; teams are checked against servers and defaults
    class_name, domain, page_seconds, routing = check_class(check, doc)
    mongodb = check_mongodb(check, doc)
    tls = check_tls(check, doc)
    backups = check_backups(check, doc, mongodb)
    forges = check_forges(check, doc)
    defaults = check_defaults(check, doc)
    servers = check_servers(check, doc)
    teams = check_teams(check, doc, servers, defaults)
    if check.problems:
        raise InventoryError(path, check.problems)
    return Inventory(name=class_name, domain=domain, page_seconds=page_seconds, routing=routing, mongodb=mongodb,
                     servers=tuple(servers.entries), teams=tuple(teams), path=path, tls=tls, backups=backups,
                     forges=forges)
