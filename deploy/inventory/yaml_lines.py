"""YAML with line numbers: mappings and lists that remember the line of each of their entries.

PyYAML's safe loader forgets where things were; problems must name the line, so the loader
builds LineDict/LineList instead of dict/list. Scalars stay plain Python values.
"""
import yaml

from deploy.inventory.errors import InventoryError


class LineDict(dict):
    """A YAML mapping that remembers where it and each of its values start."""
    line = 0
    lines = None
    duplicates = ()


class LineList(list):
    """A YAML list that remembers where it and each of its items start."""
    line = 0
    lines = None


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node):
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.lines = {}
    result.duplicates = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain word", key_node.start_mark)
        # a plain dict would silently keep the last one; the collector reports it instead
        if key in result:
            result.duplicates.append((key, key_node.start_mark.line + 1))
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader, node):
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def parse_yaml(text, path):
    """The YAML document as LineDict/LineList/scalars; a syntax error raises InventoryError naming the line."""
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f"{mark.line + 1}" if mark else "?"
        column = f" (column {mark.column + 1})" if mark else ""
        what = error.problem or error.context or "invalid YAML"
        raise InventoryError(path, [f"{path}:{line}: YAML syntax error: {what}{column}"]) from None
    except yaml.YAMLError as error:
        raise InventoryError(path, [f"{path}: YAML error: {error}"]) from None
