"""A class roster, pure: a CSV file of `team,member,key` rows (the key: an OpenSSH public key, a .pub file, or an
account `github:NAME` / `gitlab:NAME`; `github` and `gitlab` columns may give bare account names instead) read into
each team's members and key entries, or refused with one line per bad row naming file:line.

A row is refused for a missing column, a bad team name, a member already in another team, a row or a key given twice,
or a key that is not one (checked as the inventory checks it: deploy/inventory/ssh_keys.py, forges.py).
"""
import csv
import difflib
import io
import os
import unicodedata
from dataclasses import dataclass

import yaml

from deploy.inventory import InventoryError, inventory_of_text
from deploy.inventory.forges import FORGES, account_of_entry, is_account_entry
from deploy.inventory.names import team_name_problem
from deploy.inventory.roster_text import RewriteError, rewrite_teams
from deploy.inventory.ssh_keys import keys_of_entry

KEY_COLUMNS = ("key",) + FORGES


class RosterError(Exception):
    """Bad rows of a roster; str() lists them one per line."""


@dataclass(frozen=True)
class Member:
    """One key entry of a team, as the inventory's `keys` will hold it, and whose it is."""
    entry: str              # "ssh-ed25519 AAAA... ada@laptop" | "keys/ada.pub" | "github:alice"
    member: str
    line: int               # its row in the roster


def header_columns(row):
    """{column name: index} of the header row, or why it is not one."""
    names = [name.strip().lower() for name in row]
    found = {name: index for index, name in reversed(list(enumerate(names))) if name}
    if "team" not in found or "member" not in found or not any(c in found for c in KEY_COLUMNS):
        return None, (f"the first row must name the columns: team, member and key (or {' or '.join(FORGES)} for "
                      f"account names), not {', '.join(n for n in names if n) or 'nothing'}")
    return found, ""


def entry_of(column, value, base_dir):
    """(the inventory's entry for a key column's value, '') or (None, why not)."""
    if column in FORGES and not value.startswith(f"{column}:"):
        value = f"{column}:{value}"
    if is_account_entry(value):
        account, why = account_of_entry(value)
        return (account.name, "") if account else (None, why)
    keys, why = keys_of_entry(value, base_dir)
    return (" ".join(value.split()), "") if keys else (None, why)


def identity(entry):
    """What makes two entries the same key: a key's type and data, an account's name in any case."""
    return entry.lower() if is_account_entry(entry) else " ".join(entry.split()[:2])


def row_entries(row, columns, base_dir):
    """(team, member, [entries]) of one row, or (None, why not)."""
    if len(row) < len(columns) or len(row) < max(columns.values()) + 1:
        return None, f"{len(row)} columns where the first row names {max(columns.values()) + 1}: a column is missing"
    if len(row) > max(columns.values()) + 1 and any(v.strip() for v in row[max(columns.values()) + 1:]):
        return None, "more columns than the first row names (a key with a comma in it? put it in double quotes)"
    team, member = row[columns["team"]].strip(), row[columns["member"]].strip()
    if not team or not member:
        return None, f"the {'team' if not team else 'member'} is missing"
    why = team_name_problem(team)
    if why:
        return None, f"team: {why}"
    if any(unicodedata.category(c) == "Cc" for c in member):
        return None, f"member {member[:40]!r}: a name without control characters (line breaks, tabs)"
    entries = []
    for column in (c for c in KEY_COLUMNS if c in columns and row[columns[c]].strip()):
        entry, why = entry_of(column, row[columns[column]].strip(), base_dir)
        if why:
            return None, f"{column}: {why}"
        entries.append(entry)
    if not entries:
        return None, f"{member}: no key: give an SSH public key, or an account in {', '.join(KEY_COLUMNS)}"
    return (team, member, entries), ""


def parse_roster(text, path, base_dir):
    """{team: [Member]} in the roster's order; RosterError listing every bad row (file:line: why)."""
    reader = csv.reader(io.StringIO(text))
    columns, problems, teams = None, [], {}
    member_team, seen_rows, seen_keys = {}, {}, {}
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise RosterError(f"{path}:{line}: not CSV: {e}") from None
        if not any(field.strip() for field in row) or row[0].lstrip().startswith("#"):
            continue
        if columns is None:
            columns, why = header_columns(row)
            if why:
                raise RosterError(f"{path}:{line}: {why}")
            continue
        found, why = row_entries(row, columns, base_dir)
        why = why or row_conflict(found, line, member_team, seen_rows, seen_keys)
        if why:
            problems.append(f"{path}:{line}: {why}")
            continue
        team, member, entries = found
        teams.setdefault(team, []).extend(Member(entry, member, line) for entry in entries)
    if columns is None:
        problems.append(f"{path}: no rows: the first names the columns team, member, key")
    elif not teams and not problems:
        problems.append(f"{path}: no team: add rows team,member,key")
    if problems:
        raise RosterError("\n".join(problems))
    return teams


def row_conflict(found, line, member_team, seen_rows, seen_keys):
    """Why a well-formed row clashes with an earlier one (same row, same key, member in another team), or ''."""
    team, member, entries = found
    row_id = (team, member.casefold(), tuple(identity(e) for e in entries))
    if row_id in seen_rows:
        return f"duplicate of line {seen_rows[row_id]}"
    other = member_team.get(member.casefold())
    if other and other[0] != team:
        return f"member {member!r} is in team {other[0]} already (line {other[1]}); a member is in one team"
    for entry in entries:
        if identity(entry) in seen_keys:
            return f"{entry[:50]!r} is given already at line {seen_keys[identity(entry)]}"
    seen_rows[row_id] = line
    member_team.setdefault(member.casefold(), (team, line))
    seen_keys.update({identity(e): line for e in entries})
    return ""


def read(path, what):
    try:
        with open(path, encoding="utf-8-sig") as handle:    # a spreadsheet's CSV may start with a BOM
            return handle.read()
    except FileNotFoundError:
        raise RosterError(f"{path}: no such file ({what})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RosterError(f"{path}: cannot be read: {getattr(e, 'strerror', None) or e}") from None


def roster_change(inventory_path, roster_path):
    """(the inventory's text, its text with the roster's teams written in, the teams the roster leaves out).
    RosterError when a row is bad or the result would not be a valid inventory: nothing is written here."""
    text = read(inventory_path, "the inventory")
    roster = parse_roster(read(roster_path, "the roster"), roster_path,
                          os.path.dirname(os.path.abspath(inventory_path)))   # .pub paths: the inventory's
    try:
        new, left_out = rewrite_teams(text, roster)
        inventory_of_text(new, inventory_path)
    except (RewriteError, yaml.YAMLError) as e:
        raise RosterError(f"{inventory_path}: {e}") from None
    except InventoryError as e:
        raise RosterError(f"{inventory_path} as the roster would write it has problems "
                          f"(nothing written):\n" + "\n".join(f"  {p}" for p in e.problems)) from None
    return text, new, left_out


def write_inventory(path, text):
    """The inventory replaced by `text` at once (a temporary file renamed over it), its mode kept."""
    mode = os.stat(path).st_mode & 0o777
    with open(path + ".roster-tmp", "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path + ".roster-tmp", mode)
    os.replace(path + ".roster-tmp", path)


def apply_roster(inventory_path, roster_path, confirm, say=print):
    """`fab roster`: the change shown as a diff, written once `confirm(question)` says yes. Whether it was written
    (or nothing was to change); RosterError for a bad roster."""
    old, new, left_out = roster_change(inventory_path, roster_path)
    for team in left_out:
        say(f"note: {team} is in {inventory_path} but not in {roster_path}: kept as it is")
    if new == old:
        say(f"{inventory_path}: its teams match {roster_path} already; nothing to change")
        return True
    say("".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), inventory_path, inventory_path))
        .rstrip("\n"))
    if not confirm(f"write these changes to {inventory_path}?"):
        return False
    write_inventory(inventory_path, new)
    say(f"wrote {inventory_path}; fab provision sets the teams up")
    return True
