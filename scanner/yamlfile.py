"""YAML documents that remember where each value came from, for error messages that name the line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scanner.errors import InputError

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class LocatedDocument:
    """A parsed YAML document plus the line of every mapping key and sequence item in it."""

    path: Path
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, loc: Iterable[str | int]) -> int | None:
        """The line of ``loc``, or of its nearest ancestor that has one."""
        parts = tuple(loc)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return None

    def describe(self, loc: Iterable[str | int]) -> str:
        """``file:line: at a.b[0]``, the prefix of an error message."""
        parts = tuple(loc)
        line = self.line_of(parts)
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        dotted = dotted_path(parts)
        return f"{where}: at {dotted}" if dotted else where


def dotted_path(parts: Iterable[str | int]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def load_located_yaml(path: Path, *, what: str) -> LocatedDocument:
    """Read ``path`` (``what`` names the kind of file in messages); malformed YAML raises InputError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"{path}: {what} not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read {what}: {exc}") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "malformed YAML"
        raise InputError(f"{path}{line}: {what} is not valid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: {what} is not valid YAML: {exc}") from exc
    lines: dict[PathKey, int] = {}
    reader = _Reader(path, lines)
    data = reader.to_python(node, ()) if node is not None else None
    return LocatedDocument(path=path, data=data, lines=lines)


_MAX_DEPTH = 64


class _Reader:
    def __init__(self, path: Path, lines: dict[PathKey, int]) -> None:
        self.path = path
        self.lines = lines
        # Resolves scalars exactly as yaml.safe_load would (ints, bools, dates, nulls, strings).
        self.constructor = yaml.constructor.SafeConstructor()

    def to_python(self, node: yaml.Node, loc: PathKey) -> Any:
        path, lines = self.path, self.lines
        if len(loc) > _MAX_DEPTH:
            raise InputError(f"{path}:{node.start_mark.line + 1}: nested deeper than {_MAX_DEPTH} levels")
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    raise InputError(f"{path}:{line}: mapping keys must be plain strings")
                key = str(self.scalar(key_node, loc))
                if key in result:
                    raise InputError(f"{path}:{line}: at {dotted_path((*loc, key))}: duplicate key")
                lines[(*loc, key)] = line
                result[key] = self.to_python(value_node, (*loc, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                lines[(*loc, index)] = item.start_mark.line + 1
                items.append(self.to_python(item, (*loc, index)))
            return items
        return self.scalar(node, loc)

    def scalar(self, node: yaml.Node, loc: PathKey = ()) -> Any:
        where = f"{self.path}:{node.start_mark.line + 1}"
        if loc:
            where += f": at {dotted_path(loc)}"
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise InputError(f"{where}: {exc}") from exc
        except ValueError as exc:  # well-formed but impossible, e.g. the date 2027-02-30
            raise InputError(f"{where}: not a valid date or number: {node.value!r} ({exc})") from exc
