"""The inventory's `teams:` rewritten from a roster, line by line, pure: each team of the roster gets the roster's key
entries (its `keys` list replaced where they differ, nothing else of it touched) and a team new to the file is
appended after the last one, in the style of those before. Every other line stays as it was, comments and order
included: this edits the text at the places YAML's parser says, it never dumps the document again.
"""
import json

import yaml


class RewriteError(Exception):
    """The file's `teams:` has a shape this rewrite does not edit; the message says which and what to do."""


def scalar(value, flow=False):
    """`value` as YAML writes it in a list: plain when it reads back the same, else double-quoted."""
    plain = f"[{value}]" if flow else f"- {value}"
    try:
        if yaml.safe_load(plain) == [value] and " #" not in value:
            return value
    except yaml.YAMLError:
        pass
    return json.dumps(value)


def content_end(node):
    """Where a node's own text ends: a block collection's end mark lies past the comments after it."""
    if isinstance(node, yaml.ScalarNode) or node.flow_style or not node.value:
        return node.end_mark.index
    last = node.value[-1]
    return content_end(last[1] if isinstance(node, yaml.MappingNode) else last)


def line_start(text, index):
    return text.rfind("\n", 0, index) + 1


def line_end(text, index):
    end = text.find("\n", index)
    return len(text) if end < 0 else end


def dash_column(text, node):
    """The column of the '-' in front of a block list's item."""
    start = line_start(text, node.start_mark.index)
    return text.rfind("-", start, node.start_mark.index) - start


def value_of(mapping, key):
    return next((v for k, v in mapping.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)


def teams_node(text):
    root = yaml.compose(text)
    teams = value_of(root, "teams") if isinstance(root, yaml.MappingNode) else None
    if not isinstance(teams, yaml.SequenceNode):
        raise RewriteError("teams: must be a list to write a roster into")
    if teams.flow_style and teams.value:
        raise RewriteError("teams: is written as one [...] list; write it one team a line ('  - name: ...') first")
    return teams


def keys_lines(members, indent):
    return [f"{' ' * indent}- {scalar(m.entry)}  # {m.member}" for m in members]


def keys_edit(text, item, members):
    """(start, end, new text) replacing a team's `keys` value, or None when it holds the roster's entries already."""
    keys = value_of(item, "keys")
    if not isinstance(keys, yaml.SequenceNode):
        raise RewriteError(f"team {value_of(item, 'name').value}: its keys: is not a list of keys")
    if [getattr(k, "value", None) for k in keys.value] == [m.entry for m in members]:
        return None
    if keys.flow_style or not keys.value or item.flow_style:
        return keys.start_mark.index, keys.end_mark.index, "[" + ", ".join(scalar(m.entry, True) for m in members) + "]"
    first = keys.value[0]
    start, end = line_start(text, first.start_mark.index), line_end(text, content_end(keys))
    return start, end, "\n".join(keys_lines(members, dash_column(text, first)))


def new_team_lines(team, members, teams, text):
    """A team new to the file, in the style of the items before it (one {...} a line, or a block)."""
    if teams.value and teams.value[-1].flow_style:
        indent = dash_column(text, teams.value[-1])
        entries = ", ".join(scalar(m.entry, True) for m in members)
        return [f"{' ' * indent}- {{name: {team}, keys: [{entries}]}}"]
    indent = dash_column(text, teams.value[-1]) if teams.value else 2
    return [f"{' ' * indent}- name: {team}", f"{' ' * indent}  keys:"] + keys_lines(members, indent + 4)


def empty_list_removal(text, node):
    """The edit taking `[]` away (and the blanks before it when nothing else follows on its line)."""
    start, end = node.start_mark.index, node.end_mark.index
    if not text[end:line_end(text, end)].strip():
        start, end = len(text[:start].rstrip(" ")), line_end(text, end)
    return start, end, ""


def rewrite_teams(text, roster):
    """(the inventory's text with the roster's teams written in, the names of its teams the roster leaves out)."""
    teams = teams_node(text)
    items = {value_of(item, "name").value: item for item in teams.value
             if isinstance(item, yaml.MappingNode) and isinstance(value_of(item, "name"), yaml.ScalarNode)}
    edits = [edit for edit in (keys_edit(text, items[team], members) for team, members in roster.items()
                               if team in items) if edit]
    added = [line for team, members in roster.items() if team not in items
             for line in new_team_lines(team, members, teams, text)]
    if added and not teams.value:      # `teams: []`: the brackets go, the list comes on the lines after
        edits.append(empty_list_removal(text, teams))
    if added:
        end = line_end(text, content_end(teams))
        edits.append((end, end, "\n" + "\n".join(added)))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text, [name for name in items if name not in roster]
