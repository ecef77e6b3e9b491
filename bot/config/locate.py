"""Where in feeds.yaml a problem is: YAML nodes remember their line; errors become file:line: key: what."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from bot.config.schema import _MODEL_AT
from bot.config.units import _show

# --- locating problems in the YAML ----------------------------------------------------------------

_Loc = tuple[str | int, ...]


def _format_path(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(root: yaml.Node | None, loc: Sequence[str | int]) -> int:
    """1-based line of the key (or list item) at `loc`; the deepest existing parent's line if it is absent."""
    if root is None:
        return 1
    node: yaml.Node = root
    line = root.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):  # the last duplicate is the one the data holds
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _duplicate_keys(node: yaml.Node, loc: _Loc, found: list[tuple[int, _Loc, str]]) -> None:
    """Collect keys given twice in one mapping: YAML would silently keep only the last value."""
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = key.start_mark.line + 1
                if key.value in first:
                    message = f"duplicate key (also on line {first[key.value]})"
                    found.append((line, (*loc, key.value), message))
                else:
                    first[key.value] = line
                _duplicate_keys(value, (*loc, key.value), found)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _duplicate_keys(item, (*loc, i), found)




def _error_message(err: Mapping[str, Any], loc: _Loc) -> str:
    """A pydantic error as a short sentence a maintainer editing feeds.yaml can act on."""
    kind = err["type"]
    value = err.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        model = _MODEL_AT.get(tuple("*" if isinstance(p, int) else p for p in loc[:-1]))
        allowed = list(model.model_fields) if model else []
        text = "unknown key"
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        if close:
            text += f"; did you mean {close[0]!r}?"
        return text + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    if kind == "value_error":
        return str(err["ctx"]["error"])
    if kind in ("dict_type", "model_type"):
        return f"must be a mapping of keys to values (got {_show(value)})"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return f"must have at least {err['ctx']['min_length']} item(s)"
    if kind == "list_type" and len(loc) == 4 and loc[0] == "topics" and loc[2] == "require":
        return f"each require group must be a list of terms, e.g. [north korea*, dprk] (got {_show(value)})"
    text = str(err["msg"]).replace("Input should be", "must be")
    text += f" (got {_show(value)})"
    if kind == "string_type" and isinstance(value, bool):
        text += "; YAML reads unquoted yes/no/on/off as true/false, so quote it"
    return text


