"""The problem collector: what every section's check shares.

A Checker gathers problems as 'file:line: field: message' instead of stopping at the first,
so the user sees every mistake at once. Each helper returns the value when it is fine and
None after reporting why not; sections then build a model object only from fine values.
"""
import difflib

from deploy.inventory.names import name_problem
from deploy.inventory.yaml_lines import LineDict, LineList


class Checker:
    """The problems found so far in one inventory file, and the checks sections share."""

    def __init__(self, path):
        self.path = path
        self.problems = []

    def problem(self, line, field, message):
        where = f"{self.path}:{line}" if line else self.path
        self.problems.append(f"{where}: {field}: {message}" if field else f"{where}: {message}")

    def mapping(self, value, line, field, known, required=()):
        """`value` as a LineDict with only `known` keys, or None after reporting why not."""
        if not isinstance(value, LineDict):
            self.problem(line, field, f"must be a mapping with keys {', '.join(known)}")
            return None
        for key, key_line in value.duplicates:
            self.problem(key_line, f"{field}.{key}" if field else str(key), "given twice")
        for key in value:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"
                self.problem(value.lines[key], f"{field}.{key}" if field else str(key),
                             f"unknown key{hint}")
        for key in required:
            if key not in value:
                self.problem(value.line, field or None, f"{key!r} is required")
        return value

    def sequence(self, value, line, field):
        if not isinstance(value, LineList):
            self.problem(line, field, "must be a list")
            return None
        return value

    def string(self, mapping, key, field, default=None, why_not=None):
        """The string at mapping[key] (stripped), `default` when absent, None if invalid.

        `why_not(value)` says why a given string is refused, or ''; defaults are not checked."""
        if key not in mapping:
            return default
        value = mapping[key]
        if not isinstance(value, str) or not value.strip():
            self.problem(mapping.lines[key], field, f"must be a non-empty string, not {value!r}")
            return None
        why = why_not(value.strip()) if why_not else ""
        if why:
            self.problem(mapping.lines[key], field, why)
            return None
        return value.strip()

    def integer(self, mapping, key, field, default, low, high):
        if key not in mapping:
            return default
        value = mapping[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(mapping.lines[key], field, f"must be a whole number, not {value!r}")
            return None
        if not low <= value <= high:
            self.problem(mapping.lines[key], field, f"{value} is out of range {low}..{high}")
            return None
        return value

    def name(self, mapping, key, field):
        """The class or server name at mapping[key], None if absent or invalid."""
        return self.string(mapping, key, field, why_not=name_problem)

    def first_use(self, entry, field, name, seen, kind):
        """`name`, or None (with a problem) when an earlier entry has it; `seen` records where each was first."""
        if name is None:
            return None
        if name in seen:
            self.problem(entry.lines["name"], f"{field}.name",
                         f"duplicate {kind} name {name!r} (first at line {seen[name]})")
            return None
        seen[name] = entry.lines["name"]
        return name
